"""What the service computes: forecasts, roster jobs, plan jobs and scenario sets, from validated
input to JSON-ready results. Plain functions (no HTTP); roster, plan and scenario jobs run in
worker processes started by `api.runner`, forecasts in a process pool. A plan job is
`wfm.plan.run_plan` on the request's data; a scenario job is `wfm.scenarios.run_scenarios`.

Domain failures are raised as `JobError(reason, message, details)`; the runner stores them on
the job and the API shows them as 4xx with the reason. A reason is one of `REASONS` (stable, for
programs); the message is written for the user from the input's field, line and value, never an
exception's own text (which can hold a library's internals or a server path): anything
unexpected is `internal_error` with an incident id, its traceback in the server's log.
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import orjson
import pandas as pd

from wfm.errors import InputError
from wfm.rostering import clean as _clean


log = logging.getLogger("wfm.api")

# Every reason a failed job (or a forecast's 422) can carry, and what it means to the user.
REASONS = {
    "invalid_history": "the history cannot be read or forecast: the message names the line and column",
    "invalid_input": "the job's input does not validate (a field path says where)",
    "invalid_roster_input": "the roster's input is inconsistent (agents, templates, rules, requirements)",
    "invalid_targets": "a plan's service targets cannot be met or read",
    "invalid_simulation": "a plan's simulation cannot run on these inputs (say, handle times from a history "
                          "that has none)",
    "invalid_base": "a scenario set's base plan cannot be prepared",
    "infeasible": "no roster satisfies the hard rules; `conflicts` names the contradictions",
    "no_roster": "the solver found no roster within the time limit",
    "invalid_now": "an intraday re-plan's `now` is not a time on the plan's days",
    "rules_broken": "a re-plan broke a hard rule in the independent validator (a solver bug; nothing published)",
    "executor_unavailable": "the Dask cluster for scenario sets cannot be reached",
    "internal_error": "an unexpected failure on the server; the incident id finds it in the server's log",
    "cancelled": "cancelled on request",
    "time_limit_exceeded": "stopped after the solver time limit plus the grace time without a result",
    "worker_died": "the job's worker process ended unexpectedly (say, out of memory) too many times",
    "worker_lost": "the job's server stopped while it ran, too many times",
}


class JobError(Exception):
    def __init__(self, reason: str, message: str, **details):
        if reason not in REASONS:
            raise ValueError(f"job error reason {reason!r} is not in api.work.REASONS")
        super().__init__(message)
        self.reason, self.message, self.details = reason, message, details

    def __reduce__(self):  # crosses process boundaries (the forecast pool) intact
        return (_job_error, (self.reason, self.message, self.details))

    def as_dict(self) -> dict:
        return {"reason": self.reason, "message": self.message, **self.details}


def _job_error(reason, message, details):
    return JobError(reason, message, **details)


def input_error(reason: str, exc: ValueError) -> JobError:
    """A ValueError that is not one of ours: pydantic's names field paths (their messages are
    written for users); anything else keeps only the reason's own text."""
    from pydantic import ValidationError

    if isinstance(exc, ValidationError):
        problems = [(".".join(str(p) for p in e["loc"]) or "input", e["msg"].removeprefix("Value error, "))
                    for e in exc.errors(include_url=False, include_input=False)]
        message = "; ".join(f"{where}: {what}" for where, what in problems[:5])
        return JobError(reason, message, field=problems[0][0])
    incident = uuid.uuid4().hex[:12]
    log.warning("job input refused by a library (incident %s): %s: %s", incident, type(exc).__name__, exc)
    return JobError(reason, f"{REASONS[reason]} (incident {incident})", incident=incident)


def unexpected_error(exc: BaseException) -> dict:
    """A bug or a resource problem as a job's error: a stable reason and an incident id; the
    exception and its traceback go to the server's log only."""
    incident = uuid.uuid4().hex[:12]
    log.error("job failed unexpectedly (incident %s)", incident, exc_info=exc)
    return {"reason": "internal_error", "incident": incident,
            "message": f"the job failed on an unexpected error (incident {incident}); it has been logged"}


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
    return forecast_json(result.first_day, result.chosen, report, result.outliers, result.forecast, result.scores)


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
        except ValueError as exc:  # a library's own complaint about the input
            raise input_error("invalid_history", exc) from None


def forecast_json(first_day, chosen, report, outliers, forecast, scores) -> dict:
    return {"first_day": first_day.isoformat(), "chosen_models": chosen,
            "ingest": {"rows_read": report.rows_read, "rows_kept": report.rows_kept, "dropped": report.dropped,
                       "summary": report.summary()},
            "outlier_days": {q: [str(d) for d in days] for q, days in outliers.items()},
            "intervals": records(forecast), "backtest": records(scores)}


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
    from wfm.rostering import solve_checked

    try:
        outcome = solve_checked(data, progress)
    except InputError as exc:
        raise JobError("invalid_roster_input", str(exc), field=exc.field) from None
    return roster_json(outcome)


def roster_json(outcome) -> dict:
    """A roster job's answer (and a plan's `roster`): `wfm.rostering.roster_summary` with the shifts,
    the coverage and the roster itself; no roster is a job error."""
    from wfm.roster.report import roster_frame
    from wfm.rostering import roster_summary

    if outcome.roster is None:
        solved = outcome.solved
        if solved.status == "INFEASIBLE":
            raise JobError("infeasible", "no roster satisfies the hard rules: " + "; ".join(solved.conflicts),
                           conflicts=solved.conflicts, solver_status=solved.status)
        raise JobError("no_roster", f"no roster found within the time limit (solver status {solved.status})",
                       solver_status=solved.status)
    return {**roster_summary(outcome), "shifts": records(roster_frame(outcome.data, outcome.roster)),
            "coverage": records(outcome.coverage), "roster": outcome.roster.model_dump(mode="json"),
            "timings": outcome.timings}


# --- plans: wfm.plan.run_plan on the request's data ----------------------------------------

# The plan's readers take files: the job writes the request's rows to a private folder under
# these names, and says the request's field wherever a message would show the file.
PLAN_FILES = {"history.csv": "history", "calendar.csv": "forecast.special_days", "forecast.csv": "forecast_rows"}
# What a plan step's bad input is called in a failed job.
PLAN_REASONS = {"forecast": "invalid_history", "requirements": "invalid_targets", "roster": "invalid_roster_input",
                "simulation": "invalid_simulation"}


def plan_job(payload: str, progress=None) -> dict:
    """A plan job: the `PlanRequest` (history rows, forecast options, targets, roster setup,
    simulation) through `wfm.plan.run_plan` -> forecast, requirements, staffing summary,
    roster, the plan's metrics and the simulation summary. The roster covers the forecast days."""
    from wfm.plan import run_plan
    from wfm.plan_files import metrics_json
    from wfm.staffing.frames import summarize

    from .schemas import PlanRequest

    request = PlanRequest.model_validate_json(payload)
    with tempfile.TemporaryDirectory(prefix="wfm-plan-") as folder:
        scrub = Scrubber(Path(folder), PLAN_FILES)
        try:
            result = run_plan(plan_config(request, Path(folder)), progress=progress)
        except InputError as exc:
            raise _plan_error(exc, scrub) from None
    base, details = result.base, result.details
    req = result.requirements.drop(columns=["open"], errors="ignore")
    ingest = details.ingest or GivenForecast(len(request.forecast_rows or []))
    backtest = base.backtest if base.backtest is not None else pd.DataFrame(columns=["model", "queue", "folds"])
    return {"forecast": forecast_json(base.horizon.start, details.chosen, ingest, details.outliers,
                                      base.forecast, backtest),
            "requirements": records(req), "staffing_summary": records(summarize(req, base.horizon.interval_minutes)),
            "roster": roster_json(result.roster),
            "metrics": metrics_json(result.metrics),
            "simulation": None if result.simulation is None else records(result.simulation.summary),
            "headline": headline_json(result)}


class GivenForecast:
    """The ingest summary of a plan from forecast rows: every row read and kept."""

    def __init__(self, rows: int):
        self.rows_read = self.rows_kept = rows
        self.dropped = {}

    def summary(self) -> str:
        return f"{self.rows_read} forecast rows given (no history forecast)"


def headline_json(result) -> dict:
    """The figures report.html and the console show (wfm.outputs.headline), with the rows the
    web view draws as cards."""
    from wfm.outputs.headline import headline_rows, plan_headline

    headline = plan_headline(result)
    headline["rows"] = [{"label": label, "value": value, "note": note}
                        for label, value, note in headline_rows(headline)]
    return headline


def plan_config(request, folder: Path):
    """The `wfm.plan.PlanConfig` of a plan request: its rows written as the files a config names."""
    from wfm.plan import parse_config

    options, columns = request.forecast, request.forecast.columns
    forecast = {"days": options.days, "model": options.model, "level": options.level, "folds": options.folds}
    setup = request.model_dump(mode="json", include={"templates", "agents", "rules", "weights", "solver"})
    raw = {"timezone": options.timezone, "interval_minutes": options.interval_minutes, "forecast": forecast,
           "queues": {q: t.model_dump(mode="json") for q, t in request.targets.items()},
           "default_target": None if request.default_target is None else request.default_target.model_dump(mode="json"),
           "roster": setup, "simulation": None if request.simulation is None else request.simulation.model_dump()}
    if request.forecast_rows is not None:  # a forecast given: the plan reads it as `wfm plan` reads forecast.file
        rows = pd.DataFrame([r.model_dump(mode="json", exclude_none=True) for r in request.forecast_rows])
        forecast["file"] = _write(folder / "forecast.csv", rows.to_csv(index=False).encode())
        return parse_config(raw, source="plan")
    history = {"file": _write(folder / "history.csv", rows_to_csv(request.history)),
               "country": options.country, "subdivision": options.subdivision,
               "timestamp_col": columns.timestamp, "queue_col": columns.queue, "channel_col": columns.channel,
               "handle_col": columns.handle_seconds, "volume_col": columns.volume,
               "interval_start_col": columns.interval_start, "aht_col": columns.aht_seconds,
               "timestamp_format": options.timestamp_format, "on_bad_row": options.on_bad_row}
    if options.special_days:
        history["calendar"] = _write(folder / "calendar.csv", _calendar_csv(options.special_days))
    return parse_config({**raw, "history": history}, source="plan")


def _calendar_csv(special_days: dict) -> bytes:
    days = pd.DataFrame({"date": [d.isoformat() for d in special_days], "name": "special",
                         "factor": list(special_days.values())})
    return days.to_csv(index=False).encode()


def _plan_error(exc: InputError, scrub) -> JobError:
    """Bad input a plan step found, as the job's error: the step's reason, and the field (and
    history line) as the request names them."""
    value = scrub(exc.value) if isinstance(exc.value, str) else exc.value
    message = scrub(str(InputError(exc.field, value, exc.reason, exc.row, exc.line)))
    details = {"field": exc.field} if exc.line is None else {"field": exc.field, "line": exc.line}
    # No stage: the plan's config refused what the request's models accepted (they mirror it field
    # for field, so a gap between the two, not bad data): still the field path of the request.
    return JobError(PLAN_REASONS.get(exc.stage, "invalid_input"), message, **details)


# --- scenario sets: the base plan and its what-ifs, compared --------------------------------

# The plan's readers take files: the job writes the inline data to a private folder under these
# names, and says the request's field wherever a message would show the file.
INLINE_FILES = {"history.csv": "base.history.rows", "calendar.csv": "base.history.special_days",
                "forecast.csv": "base.forecast.rows"}


def run_scenario_set(input_json: str, send_progress=None) -> dict:
    """A scenario job: the base plan (data inline), the mode and the scenarios -> the report
    of `wfm.scenarios.run_scenarios`. Runs in this process, or on the Dask cluster named by
    WFM_DASK_SCHEDULER. A failing scenario is reported inside the result; only a base that
    cannot be prepared (bad history, setup or base roster) fails the job."""
    from wfm.scenarios import run_scenarios

    from .schemas import ScenarioJobRequest

    job = ScenarioJobRequest.model_validate_json(input_json)
    with tempfile.TemporaryDirectory(prefix="wfm-scenarios-") as folder, _executor() as ex:
        scrub = Scrubber(Path(folder))
        progress = ScenarioProgress(send_progress or (lambda _: None), scrub)
        try:
            report = run_scenarios(scenario_request(job, Path(folder)), Counting(ex, progress.finished),
                                   progress.message)
        except InputError as exc:
            raise _base_error(exc, job, scrub) from None
        except ValueError as exc:  # a library's own complaint about the input
            raise input_error("invalid_base", exc) from None
    for result in (report.base, *report.scenarios):
        if result.error:
            result.error = scrub(result.error)
    return report.model_dump(mode="json")


def scenario_request(job, folder: Path):
    """The `ScenarioRequest` of `wfm.scenarios`: the inline rows written as the files a plan
    config names."""
    from wfm.plan import parse_config
    from wfm.scenarios import ScenarioRequest

    base = job.base
    raw = base.model_dump(mode="json", exclude_unset=True, exclude={"history", "forecast", "roster"})
    if base.history is not None:
        history = base.history.model_dump(mode="json", exclude_unset=True, exclude={"rows", "special_days", "file",
                                                                                   "calendar"})
        history["file"] = _write(folder / "history.csv", rows_to_csv(base.history.rows))
        if base.history.special_days:
            history["calendar"] = _write(folder / "calendar.csv", _calendar_csv(base.history.special_days))
        raw["history"] = history
    raw["forecast"] = base.forecast.model_dump(mode="json", exclude_unset=True, exclude={"rows", "file"})
    if base.forecast.rows is not None:
        rows = pd.DataFrame([r.model_dump(mode="json", exclude_none=True) for r in base.forecast.rows])
        raw["forecast"]["file"] = _write(folder / "forecast.csv", rows.to_csv(index=False).encode())
    if base.roster is not None:
        raw["roster"] = base.roster.model_dump(mode="json", exclude_unset=True, exclude={"setup"})
    fields = {"base": parse_config(raw, source="base"), "mode": job.mode, "base_roster": job.base_roster,
              "scenarios": job.scenarios}
    if "simulation" in job.model_fields_set:  # unset: the base plan's simulation settings
        fields["simulation"] = job.simulation
    return ScenarioRequest(**fields)


@contextmanager
def _executor():
    """This process, or the Dask cluster of WFM_DASK_SCHEDULER, started: a bad address or an
    unreachable cluster is the server's problem, and said as such."""
    from wfm.executor import make_executor

    try:
        executor = make_executor(workers=1)
        executor.__enter__()
    except InputError as exc:
        raise JobError("executor_unavailable", str(exc)) from None
    try:
        yield executor
    finally:
        executor.__exit__(None, None, None)


def _write(path: Path, data: bytes) -> str:
    path.write_bytes(data)
    return str(path)


def _base_error(exc: InputError, job, scrub) -> JobError:
    """The base cannot be prepared: the reason, named by the request's field (a bad history
    row by its index in `base.history.rows`)."""
    if exc.line is not None and job.base.history is not None:
        field = f"base.history.rows[{exc.line - 2}].{exc.field}"
        reason = "invalid_history"
    else:
        field, reason = _request_field(exc.field), "invalid_base"
    value = scrub(exc.value) if isinstance(exc.value, str) else exc.value
    return JobError(reason, f"{field}={value!r}: {scrub(exc.reason)}", field=field)


# Fields the plan's readers name in their own terms, and what the request calls them.
READER_FIELDS = {"forecast.file": "base.forecast.rows", "history": "base.history.rows",
                 "history.file": "base.history.rows", "columns": "base.history.rows",
                 "calendar": "base.history.special_days", "country": "base.history.country",
                 "subdivision": "base.history.subdivision", "model": "base.forecast.model"}


def _request_field(field: str) -> str:
    from wfm.plan import PlanConfig

    if field in READER_FIELDS:
        return READER_FIELDS[field]
    top = field.split(".")[0].split("[")[0]
    return f"base.{field}" if top in PlanConfig.model_fields else field


class Scrubber:
    """Replaces the job's private file paths in a message by the request fields they hold."""

    def __init__(self, folder: Path, files: dict[str, str] | None = None):
        self.folder, self.files = folder, INLINE_FILES if files is None else files

    def __call__(self, text: str) -> str:
        for name, field in self.files.items():
            text = text.replace(str(self.folder / name), field)
        return text.replace(str(self.folder), "(inline data)")


class ScenarioProgress:
    """A scenario job's progress: results finished (and failed) of the total, and the latest step."""

    def __init__(self, send, scrub):
        self.send, self.scrub = send, scrub
        self.state = {"scenarios_done": 0, "scenarios_total": None, "scenarios_failed": 0, "message": None}

    def message(self, text: str) -> None:
        self.state["message"] = self.scrub(text)
        self.send(dict(self.state))

    def finished(self, outcome, total: int) -> None:
        self.state["scenarios_done"] += 1
        self.state["scenarios_failed"] += 0 if outcome.ok else 1
        self.state["scenarios_total"] = total
        self.send(dict(self.state))


class Counting:
    """An executor (`wfm.executor`) that also tells `on_finished(outcome, total)` of every task
    it finishes: progress from the executor interface, whatever the backend. An unexpected
    failure's text goes to the log; the result keeps a user-facing message with its incident id."""

    def __init__(self, inner, on_finished):
        self.inner, self.on_finished = inner, on_finished

    @property
    def name(self) -> str:
        return self.inner.name

    @property
    def parallelism(self) -> int:
        return self.inner.parallelism

    def __enter__(self):
        self.inner.__enter__()
        return self

    def __exit__(self, *exc):
        return self.inner.__exit__(*exc)

    def map(self, fn, tasks, on_done=None):
        tasks = list(tasks)

        def done(outcome):
            if outcome.unexpected:
                logged = unexpected_error(RuntimeError(outcome.error))
                outcome.error = f"{logged['reason']}: {logged['message']}"
            if on_done is not None:
                on_done(outcome)
            self.on_finished(outcome, len(tasks))

        return self.inner.map(fn, tasks, done)


# --- a finished plan against actuals: review and intraday (api.plan_actuals writes its folder) ------

def _history_error(exc: InputError, path: Path) -> JobError:
    value = "history" if exc.value == str(path) else exc.value
    return JobError("invalid_history", str(InputError(exc.field, value, exc.reason, exc.row, exc.line)),
                    field=exc.field, line=exc.line)


def review_json(plan_input: dict, result: dict, options: dict) -> dict:
    """`wfm review` of the plan against the request's history rows: per day and per interval."""
    from wfm.kpi import KpiColumns, KpiOptions
    from wfm.review import review_plan

    from .plan_actuals import reading, write_plan_folder

    kpi = KpiOptions(abandoned_if=options.get("abandoned_if") or {},
                     columns=KpiColumns(**(options.get("kpi_columns") or {})))
    with tempfile.TemporaryDirectory(prefix="wfm-review-") as folder:
        plan = write_plan_folder(plan_input, result, Path(folder) / "plan")
        path = Path(folder) / "history.csv"
        path.write_bytes(rows_to_csv(options["history"]))
        try:
            review = review_plan(plan, path, reading(plan_input, options), kpi)
        except InputError as exc:
            raise _history_error(exc, path) from None
    return {"days": records(review.days), "intervals": records(review.intervals), "notes": review.notes}


def intraday_job(payload: str, progress=None) -> dict:
    """An intraday job: {"plan_input", "plan_result", "request"} -> `wfm intraday`'s results."""
    from wfm.intraday import BrokenReplan, IntradayOptions, NoReplan, run_intraday

    from .plan_actuals import reading, write_plan_folder

    job = json.loads(payload)
    plan_input, options = job["plan_input"], job["request"]
    settings = IntradayOptions(prior_contacts=options["prior_contacts"], max_weight=options["max_weight"],
                               change_weight=options["change_weight"], max_offers=options["max_offers"],
                               time_limit_seconds=options["time_limit_seconds"], seed=options["seed"])
    with tempfile.TemporaryDirectory(prefix="wfm-intraday-") as folder:
        plan = write_plan_folder(plan_input, job["plan_result"], Path(folder) / "plan")
        path = Path(folder) / "history.csv"
        path.write_bytes(rows_to_csv(options["history"]))
        try:
            out = run_intraday(plan, path, options["now"], settings, reading(plan_input, options))
        except InputError as exc:
            if exc.field == "now":
                raise JobError("invalid_now", str(exc), field="now") from None
            raise _history_error(exc, path) from None
        except NoReplan as exc:
            raise JobError("no_roster", str(exc)) from None
        except BrokenReplan as exc:
            raise JobError("rules_broken", str(exc)) from None
    tz = out.now.tz
    return {"summary": out.summary, "notes": out.notes, "ratios": records(out.ratios),
            "reforecast": records(out.reforecast.assign(
                interval_start=out.reforecast["interval_start"].dt.tz_convert(tz))),
            "coverage": records(out.coverage), "offers": records(out.offers),
            "roster": out.roster.model_dump(mode="json")}


# --- the worker process ---------------------------------------------------------------------

# Each job gets its payload and a function that records a progress dict on the job.
JOBS = {"roster": lambda payload, send: solve_roster_json(payload, Throttled(send)),
        "plan": lambda payload, send: plan_job(payload, Throttled(send)),
        "scenarios": run_scenario_set,
        "intraday": lambda payload, send: intraday_job(payload)}


def worker_main(kind: str, payload: str, conn, parent_pid: int, niceness: int = 0) -> None:
    """Entry point of a job's worker process: run the job, send progress and the outcome
    through `conn`. Exits by itself if the server process goes away (killed with -9), so a
    crashed server leaves no orphan solver eating the cores. Runs `niceness` lower in CPU
    priority than the server (its solver threads and any process it starts inherit it), so
    HTTP answers stay fast while it solves."""
    lower_priority(niceness)
    threading.Thread(target=_exit_with_parent, args=(parent_pid, os.getppid()), daemon=True).start()
    from pydantic import ValidationError

    lock = threading.Lock()

    def send(message):
        with lock:
            conn.send(message)

    try:
        result = JOBS[kind](payload, lambda p: send(("progress", p)))
        # orjson: any NaN or infinity left in a result is written as null, never as invalid JSON
        send(("result", orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY).decode()))
    except JobError as exc:
        send(("error", exc.as_dict()))
    except ValidationError as exc:  # the stored input no longer validates (say, an older server's job)
        send(("error", input_error("invalid_input", exc).as_dict()))
    except Exception as exc:  # a bug, not bad input: a reason and an incident id, the text in the log
        send(("crash", unexpected_error(exc)))
    finally:
        conn.close()


def lower_priority(niceness: int) -> None:
    """Lower this process's CPU priority by `niceness` (0-19); never raise: a platform without
    nice, or a limit on it, leaves the priority as it is."""
    if niceness > 0 and hasattr(os, "nice"):
        try:
            os.nice(min(niceness, 19))
        except OSError:
            log.warning("could not lower the job worker's CPU priority by %s", niceness)


def _exit_with_parent(server_pid: int, parent_pid: int) -> None:
    # The direct parent is the server or its forkserver (which exits with the server): when
    # either goes, this process is re-parented and stops. A second guard beside wfm.processes'
    # lifeline (which watches only the process that created this one): it also ends the worker
    # when its fork server dies first. Removing it passed the process, restart and HTTP tests.
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
