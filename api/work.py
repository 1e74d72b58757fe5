"""What the service computes: forecasts, roster jobs and plan jobs, from validated input to
JSON-ready results. Plain functions (no HTTP); roster and plan jobs run in worker processes
started by `api.runner`, forecasts in a process pool.

Domain failures are raised as `JobError(reason, message, details)`; the runner stores them on
the job and the API shows them as 4xx with the reason.
"""

from __future__ import annotations

import json
import math
import os
import tempfile
import threading
import time
from pathlib import Path

import numpy as np
import orjson
import pandas as pd

from wfm.errors import InputError


class JobError(Exception):
    def __init__(self, reason: str, message: str, **details):
        super().__init__(message)
        self.reason, self.message, self.details = reason, message, details

    def __reduce__(self):  # crosses process boundaries (the forecast pool) intact
        return (_job_error, (self.reason, self.message, self.details))

    def as_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, **self.details}


def _job_error(reason, message, details):
    return JobError(reason, message, **details)


def _clean(value):
    """JSON-safe scalars: NaN/inf become null, numpy scalars become Python ones."""
    if isinstance(value, (np.integer,)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def records(frame: pd.DataFrame) -> list[dict]:
    out = frame.copy()
    offsets = out.pop("utc_offset_minutes") if "utc_offset_minutes" in out else None
    from wfm.io import format_timestamps

    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = format_timestamps(out[col], offsets)
    return [{k: _clean(v) for k, v in row.items()} for row in out.to_dict("records")]


# --- forecasts ------------------------------------------------------------------------------

def forecast_history(history: bytes | list[dict], suffix: str, options: dict) -> dict:
    """Forecast from a history file's bytes (CSV, TSV, .gz or Parquet, told by `suffix`) or
    from JSON rows.

    options: timezone, interval_minutes, days, model, level, folds, country, subdivision,
    columns (forecasts.ingest.ColumnMap fields), timestamp_format, on_bad_row, special_days.
    """
    if isinstance(history, list):
        history = rows_to_csv(history)
    result, report = _run_forecast(history, suffix, options)
    return _forecast_json(result, report)


def history_options(options: dict):
    """forecasts.service.HistoryOptions from a request's forecast options."""
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions

    return HistoryOptions(timezone=options["timezone"], interval_minutes=options["interval_minutes"],
                          columns=ColumnMap(**(options.get("columns") or {})),
                          timestamp_format=options.get("timestamp_format"),
                          on_bad_row=options.get("on_bad_row", "error"))


def history_intervals(history: list[dict], options: dict) -> pd.DataFrame:
    """JSON history rows aggregated to the forecast's intervals (what the forecast was fitted on)."""
    from forecasts.service import load_intervals

    with tempfile.TemporaryDirectory(prefix="wfm-history-") as folder:
        path = Path(folder) / "history.csv"
        path.write_bytes(rows_to_csv(history))
        return load_intervals(path, history_options(options))[0]


def _run_forecast(history: bytes, suffix: str, options: dict):
    from forecasts.calendar import Calendar
    from forecasts.service import run_forecast

    with tempfile.TemporaryDirectory(prefix="wfm-history-") as folder:
        path = Path(folder) / f"history{suffix}"
        path.write_bytes(history)
        opts = history_options(options)
        special = {pd.Timestamp(d).date(): f for d, f in (options.get("special_days") or {}).items()}
        calendar = Calendar(country=options.get("country"), subdivision=options.get("subdivision"),
                            special_days=special)
        try:
            return run_forecast(path, opts, options["days"], options.get("model", "auto"), calendar,
                                options.get("level", 0.9), options.get("folds", 4))
        except InputError as exc:
            value = "history" if exc.value == str(path) else exc.value
            raise JobError("invalid_history", str(InputError(exc.field, value, exc.reason, exc.row, exc.line)),
                           field=exc.field, line=exc.line) from None
        except ValueError as exc:  # e.g. an unknown country for holidays
            raise JobError("invalid_history", str(exc)) from None


def _forecast_json(result, report) -> dict:
    return {"first_day": result.first_day.isoformat(), "chosen_models": result.chosen,
            "ingest": {"rows_read": report.rows_read, "rows_kept": report.rows_kept, "dropped": report.dropped,
                       "summary": report.summary()},
            "outlier_days": {q: [str(d) for d in days] for q, days in result.outliers.items()},
            "intervals": records(result.forecast), "backtest": records(result.scores)}


def rows_to_csv(rows: list[dict]) -> bytes:
    """JSON history rows as CSV bytes for the file-level forecasting entry."""
    return pd.DataFrame(rows).to_csv(index=False).encode()


# --- rosters --------------------------------------------------------------------------------

class Throttled:
    """Progress callback that reports at most every `every` seconds (and always the first)."""

    def __init__(self, send, every: float = 0.5):
        self.send, self.every, self.last = send, every, 0.0

    def __call__(self, objective, bound, seconds):
        now = time.monotonic()
        if now - self.last >= self.every:
            self.last = now
            self.send({"objective": _clean(objective), "bound": _clean(bound), "seconds": round(seconds, 3)})


def solve_roster_json(input_json: str, progress=None) -> dict:
    from wfm.roster.domain import RosterInput

    return roster_result(RosterInput.model_validate_json(input_json), progress)


def roster_result(data, progress=None) -> dict:
    from wfm.roster.report import evaluate_roster, roster_frame
    from wfm.roster.solver import solve_roster

    started = time.perf_counter()
    try:
        solved = solve_roster(data, progress)
    except InputError as exc:
        raise JobError("invalid_roster_input", str(exc), field=exc.field) from None
    solve_end = time.perf_counter()
    if solved.roster is None:
        if solved.status == "INFEASIBLE":
            raise JobError("infeasible", "no roster satisfies the hard rules: " + "; ".join(solved.conflicts),
                           conflicts=solved.conflicts, solver_status=solved.status)
        raise JobError("no_roster", f"no roster found within the time limit (solver status {solved.status})",
                       solver_status=solved.status)
    report, coverage, totals, why = evaluate_roster(data, solved.roster)
    shifts, coverage_rows = records(roster_frame(data, solved.roster)), records(coverage)
    timings = {"solve_seconds": round(solve_end - started, 3),
               "report_seconds": round(time.perf_counter() - solve_end, 3)}
    return {
        "status": solved.status, "objective": _clean(report.objective), "solver_objective": _clean(solved.objective),
        "bound": _clean(solved.bound), "gap": _clean(solved.gap), "seconds": round(solved.seconds, 3),
        "feasible": report.feasible, "violations": [str(v) for v in report.violations],
        "kpis": {k: _clean(totals[k]) for k in ("under_hours", "over_hours", "paid_hours", "cost", "shifts")},
        "penalties": {k: _clean(v) for k, v in report.penalties.items()},
        "explanation": [{k: _clean(v) for k, v in row.items()} for row in why],
        "agents": [{k: _clean(v) for k, v in row.items()} for row in totals["agents"]],
        "shifts": shifts, "coverage": coverage_rows, "roster": solved.roster.model_dump(mode="json"),
        "timings": timings,
    }


# --- plans: history -> forecast -> requirements -> roster -----------------------------------

def run_plan(plan: dict, progress=None) -> dict:
    """plan: history (rows), forecast options, targets per queue (and a default), roster setup
    (templates, agents, rules, weights, solver). The roster covers the forecast days."""
    from wfm.domain import Horizon, ServiceTarget
    from wfm.roster.build import roster_input
    from wfm.staffing.frames import staff_by_queue, summarize

    options = plan["forecast"]
    result, report = _run_forecast(rows_to_csv(plan["history"]), ".csv", options)
    targets = {q: ServiceTarget(**t) for q, t in plan["targets"].items()}
    default = ServiceTarget(**plan["default_target"]) if plan.get("default_target") else None
    minutes = options["interval_minutes"]
    to_staff = result.forecast.assign(open=result.forecast["volume_upper"] > 0)
    try:
        req = staff_by_queue(to_staff, minutes, targets, default)
    except InputError as exc:
        raise JobError("invalid_targets", str(exc), field=exc.field) from None
    horizon = Horizon(start=result.first_day, days=options["days"], interval_minutes=minutes,
                      timezone=options["timezone"])
    setup = {k: plan[k] for k in ("templates", "agents", "rules", "weights", "solver") if plan.get(k) is not None}
    try:
        data = roster_input(req, horizon, setup, {**{q: default for q in req["queue"].unique()
                                                      if default is not None}, **targets})
    except (InputError, ValueError) as exc:
        raise JobError("invalid_roster_input", str(exc)) from None
    return {"forecast": _forecast_json(result, report), "requirements": records(req),
            "staffing_summary": records(summarize(req, minutes)), "roster": roster_result(data, progress)}


# --- the worker process ---------------------------------------------------------------------

JOBS = {"roster": lambda payload, progress: solve_roster_json(payload, progress),
        "plan": lambda payload, progress: run_plan(json.loads(payload), progress)}


def worker_main(kind: str, payload: str, conn, parent_pid: int) -> None:
    """Entry point of a job's worker process: run the job, send progress and the outcome
    through `conn`. Exits by itself if the server process goes away (killed with -9), so a
    crashed server leaves no orphan solver eating the cores."""
    threading.Thread(target=_exit_with_parent, args=(parent_pid, os.getppid()), daemon=True).start()
    lock = threading.Lock()

    def send(message):
        with lock:
            conn.send(message)

    try:
        result = JOBS[kind](payload, Throttled(lambda p: send(("progress", p))))
        # orjson: any NaN or infinity left in a result is written as null, never as invalid JSON
        send(("result", orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY).decode()))
    except JobError as exc:
        send(("error", exc.as_dict()))
    except Exception as exc:  # a bug, not bad input: report it without a traceback to the client
        send(("crash", {"reason": "internal_error", "message": f"{type(exc).__name__}: {exc}"}))
    finally:
        conn.close()


def _exit_with_parent(server_pid: int, parent_pid: int) -> None:
    # The direct parent is the server or its forkserver (which exits with the server): when
    # either goes, this process is re-parented and stops.
    while True:
        time.sleep(0.5)
        if os.getppid() != parent_pid or not _alive(server_pid):
            os._exit(3)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
