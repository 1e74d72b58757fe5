"""Staffing on long-format frames (one row per queue and interval): what the CLI and API call."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domain import ServiceTarget
from ..errors import InputError
from .backoffice import backoffice_requirement
from .requirements import required_agents


def staff_frame(frame: pd.DataFrame, interval_minutes: int, target: ServiceTarget,
                deadline_minutes: float | None = None) -> pd.DataFrame:
    """Add agents, scheduled_agents and achieved metrics to an interval frame.

    `frame` has interval_start, queue, volume, aht_seconds and optionally open. All rows are
    staffed in one vectorized call; with `deadline_minutes` the back-office model is used per
    queue instead (its work spreads across intervals, so queues must not mix).
    """
    frame = frame.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)
    is_open = frame["open"].to_numpy(bool) if "open" in frame else None
    lines = frame["line"].to_numpy() if "line" in frame else None
    try:
        return _staff_sorted(frame, interval_minutes, target, deadline_minutes, is_open)
    except InputError as exc:
        if exc.row is None or lines is None:
            raise
        raise InputError(exc.field, exc.value, exc.reason, line=int(lines[exc.row])) from None


def _staff_sorted(frame, interval_minutes, target, deadline_minutes, is_open):
    keep = ["interval_start", "queue", "volume", "aht_seconds"] + (
        ["utc_offset_minutes"] if "utc_offset_minutes" in frame else [])
    out = frame[keep].copy()
    if deadline_minutes is None:
        res = required_agents(frame["volume"], frame["aht_seconds"], interval_minutes, target, open_mask=is_open)
        for col, values in res.to_frame().drop(columns=["volume", "aht_seconds"]).items():
            out[col] = values.to_numpy()
        return out
    parts = []
    for _, idx in frame.groupby("queue", sort=False).indices.items():
        try:
            res = backoffice_requirement(frame["volume"].to_numpy()[idx], frame["aht_seconds"].to_numpy()[idx],
                                         interval_minutes, deadline_minutes,
                                         None if is_open is None else is_open[idx],
                                         utilization=target.max_occupancy or 1.0, shrinkage=target.shrinkage)
        except InputError as exc:  # rows within the queue -> rows of the frame
            if exc.row is None:
                raise
            raise InputError(exc.field, exc.value, exc.reason, row=int(idx[exc.row])) from None
        parts.append(pd.DataFrame(res, index=idx))
    res = pd.concat(parts).sort_index()
    out["agents"] = res["agents"].to_numpy()
    out["scheduled_agents"] = res["scheduled_agents"].to_numpy()
    out["workload_agents"] = res["workload_agents"].to_numpy()
    return out


def staff_by_queue(frame: pd.DataFrame, interval_minutes: int, targets: dict[str, ServiceTarget],
                   default: ServiceTarget | None = None) -> pd.DataFrame:
    """Staff each queue to its own target (`default` for queues not named in `targets`)."""
    parts = []
    for queue, part in frame.groupby("queue", sort=True):
        target = targets.get(queue, default)
        if target is None:
            raise InputError("queue", queue, f"no service target for this queue; targets are for {sorted(targets)}")
        parts.append(staff_frame(part, interval_minutes, target))
    return pd.concat(parts, ignore_index=True)


def summarize(req: pd.DataFrame, interval_minutes: int) -> pd.DataFrame:
    """Per queue: peak agents, agent-hours, and volume-weighted achieved service."""
    hours = interval_minutes / 60.0
    rows = []
    for queue, g in req.groupby("queue", sort=True):
        vol = g["volume"].to_numpy(float)
        row = {
            "queue": queue,
            "contacts": float(vol.sum()),
            "peak_agents": int(g["agents"].max()),
            "peak_scheduled": int(g["scheduled_agents"].max()),
            "agent_hours": float(g["agents"].sum() * hours),
            "scheduled_hours": float(g["scheduled_agents"].sum() * hours),
        }
        agents = g["agents"].to_numpy(float)
        if "occupancy" in g:  # busy agent-time over on-queue agent-time (answered work, open intervals)
            busy = (g["occupancy"].to_numpy(float) * agents).sum()
            row["occupancy"] = float(busy / agents.sum()) if agents.sum() else 0.0
        for metric in ("service_level", "asa_seconds", "abandon_rate"):
            if metric in g:  # contact-weighted; NaN when nothing was offered
                values = g[metric].to_numpy(float)
                ok = ~np.isnan(values) & (vol > 0)  # an unbounded ASA (too few agents given) stays unbounded
                row[metric] = float(np.average(values[ok], weights=vol[ok])) if ok.any() else float("nan")
        rows.append(row)
    return pd.DataFrame(rows)
