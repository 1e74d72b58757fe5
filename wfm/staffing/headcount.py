"""The reverse question: the service a given number of on-queue agents gives, per interval.

Same models as `required_agents` (Erlang C; Erlang A when the target has a patience; chat as
agents x concurrency session slots), evaluated at the headcount instead of searched for it.
Service targets are not used, only the parameters of the model (answer_seconds, patience,
concurrency) and shrinkage, which turns the on-queue agents into the agents to roster.
With fewer agents than the Erlang C load, the queue has no steady state: service level 0,
ASA infinite, occupancy 1 (Erlang A, where callers leave, always has one).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..domain import ServiceTarget
from ..errors import InputError
from .requirements import MAX_LOAD, StaffingResult, evaluate, validate_intervals

_EPS = 1e-9


def validate_agents(agents, shape) -> np.ndarray:
    """Whole numbers of agents >= 0, broadcast to the intervals; InputError names the first bad row."""
    arr = np.atleast_1d(np.asarray(agents, dtype=float))
    try:
        arr = np.broadcast_to(arr, shape)
    except ValueError:
        raise InputError("agents", f"{arr.size} values", f"need one per interval ({shape[0]})") from None
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0) | (arr != np.round(arr)))
    if bad.size:
        row = int(bad[0]) if arr.size > 1 else None
        raise InputError("agents", float(arr[bad[0]]), "must be a whole number of agents >= 0", row=row)
    return arr.astype(np.int64)


def service_for_agents(volume, aht_seconds, interval_minutes: int, agents, target: ServiceTarget) -> StaffingResult:
    """SL, ASA, occupancy (and abandonment under Erlang A) that `agents` on-queue agents give."""
    if not (isinstance(interval_minutes, (int, float)) and math.isfinite(interval_minutes) and interval_minutes > 0):
        raise InputError("interval_minutes", interval_minutes, "must be a number > 0")
    vol, aht = validate_intervals(volume, aht_seconds)
    n = validate_agents(agents, vol.shape)
    lam = vol / (interval_minutes * 60.0)
    load = lam * aht
    too_big = np.flatnonzero(load > MAX_LOAD)
    if too_big.size:
        i = too_big[0]
        raise InputError("volume", float(vol[i]), f"offered load {load[i]:.3g} Erlangs exceeds the supported "
                         f"{MAX_LOAD:g}; check the volume and AHT units", row=int(i) if vol.size > 1 else None)
    metrics = evaluate(n * target.concurrency, lam, aht, target)
    if "stable" in metrics:  # Erlang C beyond its load: everyone waits, for ever, agents never idle
        unstable = ~metrics.pop("stable") & (n > 0)
        metrics["occupancy"] = np.where(unstable, 1.0, metrics["occupancy"])
    scheduled = np.ceil(n / (1.0 - target.shrinkage) - _EPS).astype(np.int64)
    return StaffingResult(vol, aht, load, n, scheduled, **metrics)


def service_frame(frame: pd.DataFrame, interval_minutes: int, target: ServiceTarget, agents=None) -> pd.DataFrame:
    """`service_for_agents` on an interval frame (interval_start, queue, volume, aht_seconds, and
    an `agents` column unless `agents` gives one headcount for every interval)."""
    frame = frame.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)
    if agents is None and "agents" not in frame:
        raise InputError("agents", None, "give a headcount (--agents N) or an agents column")
    headcount = frame["agents"].to_numpy(float) if agents is None else agents
    try:
        res = service_for_agents(frame["volume"], frame["aht_seconds"], interval_minutes, headcount, target)
    except InputError as exc:  # rows of the sorted frame -> lines of the file
        if exc.row is None or "line" not in frame:
            raise
        raise InputError(exc.field, exc.value, exc.reason, line=int(frame["line"].iloc[exc.row])) from None
    keep = ["interval_start", "queue", "volume", "aht_seconds"] + (
        ["utc_offset_minutes"] if "utc_offset_minutes" in frame else [])
    out = frame[keep].copy()
    for col, values in res.to_frame().drop(columns=["volume", "aht_seconds"]).items():
        out[col] = values.to_numpy()
    return out
