"""Submitting jobs, server-set limits, and how a job is shown (plain functions, no routing)."""

from __future__ import annotations

from datetime import datetime, timezone

from .errors import ApiError, Invalid
from .settings import Settings
from .store import FINISHED, IdempotencyConflict, Job, SolverTimeExhausted, Store, TooManyJobs


class Limits:
    """Sizes the server accepts (WFM_MAX_*), checked field by field; `raise_any` answers 422
    naming each field over its limit."""

    def __init__(self, settings: Settings):
        self.settings, self.problems = settings, []

    def over(self, field: str, value: float, limit: float, env: str, what: str) -> None:
        if value > limit:
            self.problems.append({"field": f"body.{field}", "type": "limit_exceeded",
                                  "message": f"{value:g} {what}; this server accepts at most {limit:g} ({env})"})

    def days(self, field: str, days: int) -> None:
        self.over(field, days, self.settings.max_horizon_days, "WFM_MAX_HORIZON_DAYS", "days")

    def agents(self, field: str, agents: int, what: str = "agents") -> None:
        self.over(field, agents, self.settings.max_agents, "WFM_MAX_AGENTS", what)

    def templates(self, field: str, templates: int) -> None:
        self.over(field, templates, self.settings.max_templates, "WFM_MAX_TEMPLATES", "shift templates")

    def solver(self, field: str, time_limit_seconds: float, workers: int) -> None:
        s = self.settings
        self.over(f"{field}.time_limit_seconds", time_limit_seconds, s.max_solve_seconds, "WFM_MAX_SOLVE_SECONDS",
                  "seconds")
        self.over(f"{field}.workers", workers, s.max_solver_threads, "WFM_MAX_SOLVER_THREADS", "solver threads")

    def raise_any(self) -> None:
        if self.problems:
            raise Invalid(self.problems)


def check_limits(settings: Settings, *, days: int, agents: int, templates: int, solver,
                 days_field: str = "horizon.days", option_pairs: int | None = None,
                 replications: int | None = None) -> None:
    """Sizes the server accepts (WFM_MAX_*): a 422 naming each field over its limit.
    `option_pairs` (agents x shift options) bounds the roster model's size, and so its memory,
    before a worker builds it."""
    limits = Limits(settings)
    limits.days(days_field, days)
    limits.agents("agents", agents)
    limits.templates("templates", templates)
    limits.solver("solver", solver.time_limit_seconds, solver.workers)
    if option_pairs is not None and option_pairs > settings.max_option_pairs:
        limits.problems.append({"field": "body.agents", "type": "limit_exceeded", "message":
                                f"{agents:,} agents x {option_pairs // max(agents, 1):,} shift options (every start "
                                f"of every template on every day) = {option_pairs:,} pairs; this server solves at "
                                f"most {settings.max_option_pairs:,} (WFM_MAX_OPTION_PAIRS): fewer agents, templates, "
                                "start times or days make it smaller"})
    if replications is not None:
        limits.over("simulation.replications", replications, settings.max_replications, "WFM_MAX_REPLICATIONS",
                    "replications")
    limits.raise_any()


def submit(store: Store, tenant: str, kind: str, input_json: str, time_limit: float,
           idempotency_key: str | None) -> tuple[Job, bool]:
    try:
        return store.submit(tenant, kind, input_json, time_limit, idempotency_key)
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was already used with a different "
                                                      "request; use a new key for a new request") from None
    except TooManyJobs as exc:
        raise ApiError(429, "too_many_jobs", f"this tenant has {exc.active} jobs queued or running, the most this "
                                             f"server takes (WFM_MAX_JOBS_PER_TENANT={exc.limit}); wait for one "
                                             "to finish or cancel one", limit=exc.limit) from None
    except SolverTimeExhausted as exc:
        raise ApiError(429, "solver_quota_exceeded", (
            f"this job may solve for {exc.asked:g} s; this tenant's jobs have solved for {exc.used:.0f} s in the last "
            f"hour and those queued or running may take {exc.committed:.0f} s more, past the quota of "
            f"{exc.limit:g} solver seconds per hour (WFM_MAX_SOLVER_SECONDS_PER_HOUR); ask for a shorter "
            "solver.time_limit_seconds or try again later"),
            limit=exc.limit, used_seconds=round(exc.used, 1), committed_seconds=round(exc.committed, 1),
            headers={"Retry-After": "60"}) from None


# job kind -> where its result is
RESULTS = {"roster": "rosters", "plan": "plans", "scenarios": "scenarios", "intraday": "intraday"}


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def job_view(job: Job, now: float) -> dict:
    elapsed = None
    if job.started_at is not None:
        end = job.finished_at if job.status in FINISHED and job.finished_at else now
        elapsed = round(max(end - job.started_at, 0.0), 3)
    result = f"/v1/{RESULTS[job.kind]}/{job.id}"
    return {"id": job.id, "kind": job.kind, "status": job.status, "cancel_requested": job.cancel_requested,
            "attempts": job.attempts, "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at), "elapsed_seconds": elapsed,
            "time_limit_seconds": job.time_limit_seconds, "progress": job.progress, "error": job.error,
            "links": {"self": f"/v1/jobs/{job.id}", "result": result}}


def finished_result(job: Job | None, job_id: str, kinds: tuple[str, ...]) -> str:
    """The stored result JSON of a succeeded job of one of `kinds`, or the 404/409 that says
    why there is none."""
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    if job.kind not in kinds:
        raise ApiError(404, "not_found", f"job {job_id} is a {job.kind} job; see /v1/{RESULTS[job.kind]}/{job_id}")
    if job.status == "succeeded":
        return job.result
    if job.status in ("queued", "running"):
        raise ApiError(409, "not_ready", f"job {job_id} is {job.status}; poll /v1/jobs/{job_id}", status=job.status)
    error = job.error or {}
    raise ApiError(409, f"job_{job.status}", f"job {job_id} {job.status}: {error.get('message', '')}".strip(),
                   status=job.status, job_error=error)


# --- scenario sets ----------------------------------------------------------------------------

SECONDS_PER_SCENARIO = 30.0  # beyond solver time: requirements, simulation, building a roster model


def check_scenario_limits(settings: Settings, body) -> None:
    """A scenario set within the server's sizes: scenarios, horizon, rows, replications, and
    for the roster the agents (with each scenario's hires), templates and solver settings."""
    limits, base = Limits(settings), body.base
    limits.over("scenarios", len(body.scenarios), settings.max_scenarios, "WFM_MAX_SCENARIOS", "scenarios")
    if base.forecast.rows is not None:
        limits.days("base.forecast.rows", forecast_days(base.forecast.rows, base.timezone))
        limits.over("base.forecast.rows", len(base.forecast.rows), settings.max_history_rows, "WFM_MAX_HISTORY_ROWS",
                    "forecast rows")
    else:
        limits.days("base.forecast.days", base.forecast.days)
    if base.history is not None:
        limits.over("base.history.rows", len(base.history.rows), settings.max_history_rows, "WFM_MAX_HISTORY_ROWS",
                    "history rows")
    for field, sim in (("base.simulation", base.simulation), ("simulation", body.simulation)):
        if sim is not None:
            limits.over(f"{field}.replications", sim.replications, settings.max_replications,
                        "WFM_MAX_REPLICATIONS", "replications")
    roster = base.roster
    if roster is not None:
        agents, templates, solver = len(roster.agents or []), len(roster.templates or []), _solver(roster)
        limits.agents("base.roster.agents", agents)
        limits.templates("base.roster.templates", templates)
        limits.solver("base.roster.solver", solver.time_limit_seconds, solver.workers)
        for i, s in enumerate(body.scenarios):
            hired = sum(h.count for h in s.hire)
            if hired:
                limits.agents(f"scenarios[{i}].hire", agents + hired, "agents with the hires")
            if s.templates is not None or s.add_templates:
                kept = len(s.templates) if s.templates is not None else templates
                limits.templates(f"scenarios[{i}].templates", kept + len(s.add_templates))
            if s.solver:
                limits.solver(f"scenarios[{i}].solver", _number(s.solver.get("time_limit_seconds"),
                                                                solver.time_limit_seconds),
                              _number(s.solver.get("workers"), solver.workers))
    limits.raise_any()


def scenario_time_limit(body) -> float:
    """The job's time limit: every roster it solves at its own solver limit, plus a fixed
    allowance per scenario (the base included)."""
    roster = body.base.roster
    solve = _solver(roster).time_limit_seconds if roster is not None else 0.0
    if body.mode == "roster":
        rosters = solve + sum(_number((s.solver or {}).get("time_limit_seconds"), solve) for s in body.scenarios)
    else:  # the base roster is solved once, unless the roster in force is given
        rosters = solve if body.base_roster is None else 0.0
    return rosters + SECONDS_PER_SCENARIO * (len(body.scenarios) + 1)


def forecast_days(rows, timezone: str) -> int:
    """Local days from the first forecast row to the last."""
    from wfm.domain import zone

    tz = zone(timezone)
    days = [r.interval_start.astimezone(tz).date() for r in rows]
    return (max(days) - min(days)).days + 1


def _solver(roster):
    from wfm.roster.domain import SolverParams

    return roster.solver or SolverParams()


def _number(value, default: float) -> float:
    """A solver override's value where it is a number (a bad one fails its scenario later)."""
    return value if isinstance(value, (int, float)) and not isinstance(value, bool) else default
