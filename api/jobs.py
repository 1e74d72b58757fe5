"""Submitting jobs, server-set limits, and how a job is shown (plain functions, no routing)."""

from __future__ import annotations

from datetime import datetime, timezone

from .errors import ApiError, Invalid
from .settings import Settings
from .store import FINISHED, IdempotencyConflict, Job, Store


def check_limits(settings: Settings, *, days: int, agents: int, templates: int, solver,
                 days_field: str = "horizon.days") -> None:
    """Sizes the server accepts (WFM_MAX_*): a 422 naming each field over its limit."""
    problems = []

    def over(field, value, limit, env, what):
        if value > limit:
            problems.append({"field": f"body.{field}", "type": "limit_exceeded",
                             "message": f"{value:g} {what}; this server accepts at most {limit:g} ({env})"})

    over(days_field, days, settings.max_horizon_days, "WFM_MAX_HORIZON_DAYS", "days")
    over("agents", agents, settings.max_agents, "WFM_MAX_AGENTS", "agents")
    over("templates", templates, settings.max_templates, "WFM_MAX_TEMPLATES", "shift templates")
    over("solver.time_limit_seconds", solver.time_limit_seconds, settings.max_solve_seconds,
         "WFM_MAX_SOLVE_SECONDS", "seconds")
    over("solver.workers", solver.workers, settings.max_solver_threads, "WFM_MAX_SOLVER_THREADS", "solver threads")
    if problems:
        raise Invalid(problems)


def submit(store: Store, tenant: str, kind: str, input_json: str, time_limit: float,
           idempotency_key: str | None) -> tuple[Job, bool]:
    try:
        return store.submit(tenant, kind, input_json, time_limit, idempotency_key)
    except IdempotencyConflict:
        raise ApiError(422, "idempotency_key_reused", "this Idempotency-Key was already used with a different "
                                                      "request; use a new key for a new request") from None


def _iso(ts: float | None) -> str | None:
    return None if ts is None else datetime.fromtimestamp(ts, timezone.utc).isoformat()


def job_view(job: Job, now: float) -> dict:
    elapsed = None
    if job.started_at is not None:
        end = job.finished_at if job.status in FINISHED and job.finished_at else now
        elapsed = round(max(end - job.started_at, 0.0), 3)
    result = f"/v1/{'plans' if job.kind == 'plan' else 'rosters'}/{job.id}"
    return {"id": job.id, "kind": job.kind, "status": job.status, "cancel_requested": job.cancel_requested,
            "attempts": job.attempts, "created_at": _iso(job.created_at), "started_at": _iso(job.started_at),
            "finished_at": _iso(job.finished_at), "elapsed_seconds": elapsed,
            "time_limit_seconds": job.time_limit_seconds, "progress": job.progress, "error": job.error,
            "links": {"self": f"/v1/jobs/{job.id}", "result": result}}


def finished_result(job: Job | None, job_id: str) -> str:
    """The stored result JSON of a succeeded job, or the 404/409 that says why there is none."""
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    if job.status == "succeeded":
        return job.result
    if job.status in ("queued", "running"):
        raise ApiError(409, "not_ready", f"job {job_id} is {job.status}; poll /v1/jobs/{job_id}", status=job.status)
    error = job.error or {}
    raise ApiError(409, f"job_{job.status}", f"job {job_id} {job.status}: {error.get('message', '')}".strip(),
                   status=job.status, job_error=error)
