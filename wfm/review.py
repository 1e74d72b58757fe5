"""Plan against actuals: how a `wfm plan` folder held up against what happened.

Per interval and queue: forecast vs actual volume and AHT, agents required (the plan's
requirements), rostered (on the queue in the plan's coverage, when it has a roster) and
needed (the actuals staffed to the same service target), and the service level promised (the
roster's projected SL; the requirement's without a roster) vs achieved (from the actuals'
waits, `wfm.kpi`, where the history has them).

Per day and queue, and for all queues together (`all`):

* volume_wape = sum |forecast - actual| / sum actual over the day's intervals (interval errors,
  not the daily total's); volume_bias = (sum forecast - sum actual) / sum actual;
* AHT forecast (forecast-volume weighted) and actual (over handled contacts, as the forecast
  reads history), aht_bias = forecast / actual - 1;
* required, rostered and needed agent-hours;
* promised SL weighted by forecast volume; achieved SL = answered within target / offered.

The actuals are read as `wfm forecast` reads history (same reader and column mapping) in the
plan's timezone and intervals; only the plan's days count.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.ingest import aggregate, read_history
from forecasts.service import HistoryOptions

from .domain import Horizon, ServiceTarget
from .errors import InputError
from .io import parse_timestamps
from .kpi import KpiOptions, compute_kpis
from .staffing.requirements import required_agents

ALL = "all"


@dataclass
class PlanFiles:
    horizon: Horizon
    forecast: pd.DataFrame
    requirements: pd.DataFrame
    coverage: pd.DataFrame | None
    targets: dict[str, ServiceTarget]


@dataclass
class Review:
    intervals: pd.DataFrame
    days: pd.DataFrame
    notes: list[str] = field(default_factory=list)


def read_plan(folder: str | Path) -> PlanFiles:
    """The files of a plan folder that a review needs: summary.json (horizon), forecast.csv,
    requirements.csv, and with a roster coverage.csv and roster_input.json (service targets)."""
    folder = Path(folder)
    if not folder.is_dir():
        raise InputError("plan", str(folder), "not a folder written by `wfm plan`")
    summary = _json(folder / "summary.json")
    horizon = Horizon.model_validate(summary.get("horizon") or {})
    tz = horizon.timezone
    forecast = _table(folder / "forecast.csv", tz, ["interval_start", "queue", "volume", "aht_seconds"])
    req = _table(folder / "requirements.csv", tz, ["interval_start", "queue", "agents", "service_level"])
    coverage = None
    if (folder / "coverage.csv").exists():
        coverage = _table(folder / "coverage.csv", tz, ["interval_start", "queue", "on_queue", "service_level"])
    targets = {}
    if (folder / "roster_input.json").exists():
        for item in _json(folder / "roster_input.json").get("requirements", []):
            if item.get("target"):
                targets[item["queue"]] = ServiceTarget.model_validate(item["target"])
    return PlanFiles(horizon, forecast, req, coverage, targets)


def _json(path: Path) -> dict:
    if not path.exists():
        raise InputError("plan", str(path.parent), f"has no {path.name}: not a folder written by `wfm plan`")
    try:
        return json.loads(path.read_text())
    except ValueError as exc:
        raise InputError(path.name, str(path), f"not JSON: {exc}") from None


def _table(path: Path, timezone: str, needed: list[str]) -> pd.DataFrame:
    if not path.exists():
        raise InputError("plan", str(path.parent), f"has no {path.name}")
    frame = pd.read_csv(path, dtype={"queue": str}, keep_default_na=True)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(path.name, list(frame.columns), f"missing column(s) {missing}")
    frame["interval_start"] = parse_timestamps(frame["interval_start"].astype(str), "interval_start", timezone)
    return frame


def review_plan(plan_folder: str | Path, actuals: str | Path, history: HistoryOptions | None = None,
                kpi: KpiOptions | None = None, default_target: ServiceTarget | None = None) -> Review:
    """Compare a plan folder with the actual history of its days (see the module docstring).

    `history` maps the actuals' columns (its timezone and interval are the plan's); `kpi` maps
    the wait and abandonment columns; `default_target` staffs the actuals of queues the plan has
    no target for (a plan without a roster keeps none)."""
    plan = read_plan(plan_folder)
    h = plan.horizon
    reading = replace(history or HistoryOptions(timezone=h.timezone), timezone=h.timezone,
                      interval_minutes=h.interval_minutes)
    notes: list[str] = []
    actual = _actual_intervals(actuals, reading, h, notes)
    frame = _plan_intervals(plan).merge(actual, on=["interval_start", "queue"], how="left")
    unplanned = sorted(set(actual["queue"]) - set(frame["queue"]))
    if unplanned:
        notes.append(f"queues in the actuals but not in the plan, left out: {', '.join(unplanned)}")
    frame[["actual_volume"]] = frame[["actual_volume"]].fillna(0.0)
    frame["needed_agents"] = _needed(frame, plan, h.interval_minutes, default_target or ServiceTarget(), notes)
    frame["achieved_service_level"] = _achieved(actuals, reading, kpi or KpiOptions(), plan, frame, notes)
    frame = frame.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)
    return Review(_interval_columns(frame, h.timezone), daily(frame, h), notes)


def _plan_intervals(plan: PlanFiles) -> pd.DataFrame:
    keys = ["interval_start", "queue"]
    out = plan.forecast[keys + ["volume", "aht_seconds"]].rename(
        columns={"volume": "forecast_volume", "aht_seconds": "forecast_aht_seconds"})
    req = plan.requirements[keys + ["agents", "service_level"]].rename(
        columns={"agents": "required_agents", "service_level": "promised_service_level"})
    out = out.merge(req, on=keys, how="left")
    if plan.coverage is not None:
        cov = plan.coverage[keys + ["on_queue", "service_level"]].rename(
            columns={"on_queue": "rostered_agents", "service_level": "rostered_service_level"})
        out = out.merge(cov, on=keys, how="left")
        # the roster's projected SL is the promise once there is a roster
        out["promised_service_level"] = out.pop("rostered_service_level").fillna(out["promised_service_level"])
    out["interval_start"] = out["interval_start"].dt.tz_convert("UTC")
    return out


def _actual_intervals(path, reading: HistoryOptions, h: Horizon, notes: list[str]) -> pd.DataFrame:
    records, _ = read_history(path, reading.timezone, reading.columns, reading.timestamp_format,
                              reading.max_handle_seconds, reading.on_bad_row, reading.drop_if, reading.ignore_offset)
    local_day = records["ts"].dt.tz_convert(h.timezone).dt.date
    days = h.dates()
    inside = local_day.isin(days).to_numpy()
    if not inside.any():
        raise InputError("actuals", str(path), f"no contacts on the plan's days ({days[0]} to {days[-1]})")
    if (~inside).any():
        notes.append(f"{int((~inside).sum()):,} contacts outside the plan's days left out")
    agg = aggregate(records[inside], h.interval_minutes, h.timezone, first_day=days[0], last_day=days[-1])
    return pd.DataFrame({"interval_start": agg["interval_start"].dt.tz_convert("UTC"), "queue": agg["queue"],
                         "actual_volume": agg["volume"], "actual_aht_seconds": agg["aht_seconds"],
                         "actual_handled": agg["handled"]})


def _needed(frame: pd.DataFrame, plan: PlanFiles, minutes: int, default: ServiceTarget,
            notes: list[str]) -> np.ndarray:
    """Agents the actual volume and AHT needed, to each queue's target (AHT unknown: the forecast's)."""
    out = np.zeros(len(frame), np.int64)
    defaulted = []
    for queue, idx in frame.groupby("queue").indices.items():
        target = plan.targets.get(queue)
        if target is None:
            target, _ = default, defaulted.append(queue)
        part = frame.iloc[idx]
        aht = part["actual_aht_seconds"].fillna(part["forecast_aht_seconds"]).fillna(0.0).to_numpy(float)
        volume = part["actual_volume"].to_numpy(float)
        out[idx] = required_agents(volume, np.where(volume > 0, aht, 0.0), minutes, target).agents
    if defaulted:
        notes.append(f"no service target in the plan for {', '.join(defaulted)} (a plan without a roster): "
                     f"needed agents use {default.service_level:.0%} in {default.answer_seconds:g} s")
    return out


def _achieved(path, reading: HistoryOptions, kpi: KpiOptions, plan: PlanFiles, frame: pd.DataFrame,
              notes: list[str]) -> np.ndarray:
    """Achieved SL per interval, each queue at its own answer time; NaN where waits are unknown."""
    out = np.full(len(frame), np.nan)
    frame_keys = pd.MultiIndex.from_arrays([frame["interval_start"], frame["queue"]])
    by_seconds: dict[float, list[str]] = {}
    for queue in frame["queue"].unique():
        target = plan.targets.get(queue)
        seconds = target.answer_seconds if target else kpi.answer_seconds
        by_seconds.setdefault(seconds, []).append(queue)
    counts = {}
    for seconds, queues in by_seconds.items():
        options = replace(kpi, answer_seconds=seconds, by="interval", last_days=None)
        result = compute_kpis(path, reading, options)
        if "service_level" not in result.table:
            notes.append("achieved service level left out: " + "; ".join(
                n for n in result.notes if "service_level" in n))
            return out
        table = result.table[result.table["queue"].isin(queues)]
        keys = pd.MultiIndex.from_arrays([table["period_start"].dt.tz_convert("UTC"), table["queue"]])
        counts.update(zip(keys, zip(table["answered_within_target"], table["offered"])))
    within = np.array([counts.get(k, (np.nan, np.nan))[0] for k in frame_keys], float)
    offered = np.array([counts.get(k, (np.nan, np.nan))[1] for k in frame_keys], float)
    frame["_within"], frame["_offered"] = within, offered
    return np.divide(within, offered, out=np.full(len(frame), np.nan), where=offered > 0)


def _interval_columns(frame: pd.DataFrame, timezone: str) -> pd.DataFrame:
    frame = frame.assign(interval_start=frame["interval_start"].dt.tz_convert(timezone))
    cols = ["interval_start", "queue", "forecast_volume", "actual_volume", "forecast_aht_seconds",
            "actual_aht_seconds", "required_agents", "rostered_agents", "needed_agents", "promised_service_level",
            "achieved_service_level"]
    return frame[[c for c in cols if c in frame]]


def daily(frame: pd.DataFrame, h: Horizon) -> pd.DataFrame:
    """Per local day and queue, and all queues together (see the module docstring)."""
    hours = h.interval_minutes / 60.0
    frame = frame.assign(day=frame["interval_start"].dt.tz_convert(h.timezone).dt.date)
    parts = [frame, frame.assign(queue=ALL)] if frame["queue"].nunique() > 1 else [frame]
    rows = []
    for (day, queue), g in pd.concat(parts).groupby(["day", "queue"], sort=True):
        f, a = g["forecast_volume"].to_numpy(float), g["actual_volume"].to_numpy(float)
        handled = g["actual_handled"].fillna(0).to_numpy(float)
        f_aht = _weighted(g["forecast_aht_seconds"], f)
        a_aht = _weighted(g["actual_aht_seconds"], handled)
        row = {"day": day, "queue": queue, "forecast_volume": f.sum(), "actual_volume": a.sum(),
               "volume_wape": np.abs(f - a).sum() / a.sum() if a.sum() else np.nan,
               "volume_bias": (f.sum() - a.sum()) / a.sum() if a.sum() else np.nan,
               "forecast_aht_seconds": f_aht, "actual_aht_seconds": a_aht,
               "aht_bias": f_aht / a_aht - 1 if a_aht and np.isfinite(a_aht) else np.nan,
               "required_hours": g["required_agents"].sum() * hours}
        if "rostered_agents" in g:
            row["rostered_hours"] = g["rostered_agents"].sum() * hours
        row["needed_hours"] = g["needed_agents"].sum() * hours
        row["promised_service_level"] = _weighted(g["promised_service_level"], f)
        offered = g["_offered"].fillna(0).to_numpy(float) if "_offered" in g else np.zeros(len(g))
        row["achieved_service_level"] = (g["_within"].fillna(0).sum() / offered.sum()
                                         if offered.sum() else np.nan)
        rows.append(row)
    return pd.DataFrame(rows)


def _weighted(values: pd.Series, weights: np.ndarray) -> float:
    v = values.to_numpy(float)
    ok = np.isfinite(v) & (weights > 0)
    return float(np.average(v[ok], weights=weights[ok])) if ok.any() else np.nan
