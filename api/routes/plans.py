import json
from typing import Literal

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, Response

from wfm.roster.options import options_at_most

from ..auth import current_tenant
from ..errors import ApiError, Invalid
from ..jobs import Limits, check_limits, finished_result, submit
from ..schemas import (ErrorBody, IntradayRequest, JobView, PlanRequest, PlanResult, ReviewRequest, ReviewResponse,
                       WhatIfRequest, WhatIfResponse)
from .rosters import ERRORS, IDEMPOTENCY, accepted, csv_response, wants_csv

router = APIRouter(tags=["plans"])


@router.post("/v1/plans", status_code=202, response_model=JobView, responses=ERRORS,
             summary="Queue forecast -> requirements -> roster -> simulation as one job")
def create_plan(body: PlanRequest, request: Request, tenant: str = Depends(current_tenant),
                idempotency_key: str | None = IDEMPOTENCY):
    """History rows and forecast options, service targets per queue, the roster setup
    (templates, agents, rules, weights, solver) and the simulation (null to skip): `wfm plan` on
    inline data. The roster covers the forecast days."""
    if body.site is not None:
        # Provenance of a stored site's snapshot: only the site's own route may set it.
        raise ApiError(422, "validation_error", "site is set by POST /v1/sites/{site_id}/plans, not by a client",
                       fields=[{"field": "body.site", "message": "set by the server for plans of a stored site",
                               "type": "server_set"}])
    return queue_plan(request, tenant, body, idempotency_key)


def queue_plan(request: Request, tenant: str, body: PlanRequest, idempotency_key: str | None):
    """A plan job from a checked request, sized against the server's limits first (also the
    route of a site's plans)."""
    state = request.app.state
    days = body.forecast.days if body.forecast_rows is None else forecast_days(body)
    pairs = len(body.agents) * options_at_most(body.templates, days, body.forecast.interval_minutes)
    check_limits(state.settings, days=days, agents=len(body.agents), templates=len(body.templates),
                 solver=body.solver, days_field="forecast.days", option_pairs=pairs,
                 replications=None if body.simulation is None else body.simulation.replications)
    rows = len(body.history or body.forecast_rows)
    if rows > state.settings.max_history_rows:
        raise ApiError(422, "validation_error", f"{rows} history or forecast rows; this server accepts at most "
                       f"{state.settings.max_history_rows} (WFM_MAX_HISTORY_ROWS)")
    job, created = submit(state.store, tenant, "plan", body.model_dump_json(), body.solver.time_limit_seconds,
                          idempotency_key)
    return accepted(request, job, created)


@router.get("/v1/plans/{job_id}", response_model=PlanResult,
            responses={**ERRORS, 409: {"model": ErrorBody, "description": "not finished, failed or cancelled"},
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="Forecast, requirements, roster and metrics of a plan job")
def get_plan(job_id: str, request: Request, tenant: str = Depends(current_tenant),
             table: Literal["forecast", "requirements", "shifts", "coverage"] = Query(
                 "requirements", description="with Accept: text/csv, the table to send")):
    job = request.app.state.store.get(job_id, tenant, with_result=True)
    result = finished_result(job, job_id, kinds=("plan",))
    if wants_csv(request):
        data = json.loads(result)
        rows = {"forecast": data["forecast"]["intervals"], "requirements": data["requirements"],
                "shifts": data["roster"]["shifts"], "coverage": data["roster"]["coverage"]}[table]
        return csv_response(rows, f"plan-{job_id[:8]}-{table}.csv")
    return Response(result, media_type="application/json")


def forecast_days(body: PlanRequest) -> int:
    """The local days a plan's forecast rows span (its horizon, whatever forecast.days says)."""
    from zoneinfo import ZoneInfo

    local = [r.interval_start.astimezone(ZoneInfo(body.forecast.timezone)).date() for r in body.forecast_rows]
    return (max(local) - min(local)).days + 1


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
FINISHED_ERRORS = {**ERRORS, 409: {"model": ErrorBody, "description": "not finished, failed or cancelled"}}


def _finished_plan(request: Request, job_id: str, tenant: str):
    from ..plan_outputs import load_plan

    job = request.app.state.store.get(job_id, tenant, with_result=True, with_input=True)
    result = finished_result(job, job_id, kinds=("plan",))
    return load_plan(json.loads(job.input), json.loads(result))


@router.post("/v1/plans/{job_id}/scenarios", response_model=WhatIfResponse, responses=FINISHED_ERRORS,
             summary="Compare what-ifs (volume, AHT, shrinkage) with a finished plan")
def plan_scenarios(job_id: str, body: WhatIfRequest, request: Request, tenant: str = Depends(current_tenant)):
    """Each scenario's demand is staffed again (FTE needed); service level and under-coverage
    are what the plan's roster delivers against it (the scenario runner in requirements mode).
    Synchronous: milliseconds per scenario."""
    from wfm.errors import InputError
    from wfm.scenarios import Scenario

    from ..plan_outputs import scenario_table
    from ..work import records

    plan = _finished_plan(request, job_id, tenant)
    try:
        table = scenario_table(plan, [Scenario.simple(**s.model_dump()) for s in body.scenarios])
    except InputError as exc:
        raise ApiError(422, "invalid_scenario", str(exc), field=exc.field) from None
    return {"scenarios": records(table)}


@router.get("/v1/plans/{job_id}/roster.xlsx", response_class=Response, responses={
    **FINISHED_ERRORS, 200: {"content": {XLSX: {"schema": {"type": "string", "format": "binary"}}},
                             "description": "a sheet per week (agents x days), Coverage and Shifts"}},
    summary="The plan's roster as an Excel workbook")
def plan_workbook(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    from ..plan_outputs import workbook_bytes

    data = workbook_bytes(_finished_plan(request, job_id, tenant))
    return Response(data, media_type=XLSX,
                    headers={"Content-Disposition": f'attachment; filename="plan-{job_id[:8]}-roster.xlsx"'})


@router.get("/v1/plans/{job_id}/report.html", response_class=Response, responses={
    **FINISHED_ERRORS, 200: {"content": {"text/html": {"schema": {"type": "string"}}},
                             "description": "one self-contained page (charts' JavaScript inlined)"}},
    summary="The plan as a self-contained HTML report")
def plan_report(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    from ..plan_outputs import report_html

    page = report_html(_finished_plan(request, job_id, tenant))
    return HTMLResponse(page, headers={"Content-Disposition": f'attachment; filename="plan-{job_id[:8]}-report.html"'})


def _history_rows(request: Request, body) -> None:
    limit = request.app.state.settings.max_history_rows
    if len(body.history) > limit:
        raise Invalid([{"field": "body.history", "type": "limit_exceeded", "message": f"{len(body.history)} rows; "
                        f"this server accepts at most {limit} (WFM_MAX_HISTORY_ROWS)"}])


def _history_field(exc) -> dict:
    """Where a bad history value is: body.history[i].column (line 1 of the rows' CSV is its header)."""
    column, line = exc.details.get("field"), exc.details.get("line")
    where = f"body.history[{line - 2}].{column}" if line is not None else "body.history"
    return {"field": where, "message": exc.message, "type": exc.reason}


@router.post("/v1/plans/{job_id}/review", response_model=ReviewResponse, responses=FINISHED_ERRORS,
             summary="A finished plan against what happened (wfm review): per day and interval")
async def plan_review(job_id: str, body: ReviewRequest, request: Request, tenant: str = Depends(current_tenant)):
    """The actual contacts of the plan's days in, `wfm review` out: forecast vs actual volume and
    AHT (WAPE, bias), agents required vs rostered vs needed (the actuals staffed to the same
    targets), promised vs achieved service level where the rows have waits. Synchronous (the
    forecast process pool): a bad row answers 422 naming body.history[i].column."""
    from .. import work
    from ..work import review_json
    from .forecasts import in_pool

    _history_rows(request, body)
    job = request.app.state.store.get(job_id, tenant, with_result=True, with_input=True)
    result = json.loads(finished_result(job, job_id, kinds=("plan",)))
    try:
        answer = await in_pool(request.app, tenant, review_json, json.loads(job.input), result,
                               body.model_dump(mode="json"))
    except work.JobError as exc:
        raise ApiError(422, exc.reason, exc.message, fields=[_history_field(exc)], **exc.details) from None
    return answer


@router.post("/v1/plans/{job_id}/intraday", status_code=202, response_model=JobView, responses=FINISHED_ERRORS,
             summary="Queue an intraday re-plan of a finished plan from the day's actuals so far")
def plan_intraday(job_id: str, body: IntradayRequest, request: Request, tenant: str = Depends(current_tenant),
                  idempotency_key: str | None = IDEMPOTENCY):
    """`wfm intraday` as a job: the day's contacts so far and `now` in; the rest of the day
    reforecast (a ratio whose weight grows with the evidence), its requirements, a re-plan of
    the remaining hours with the fewest changes (checked by the independent validator) and
    ranked overtime and voluntary-time-off offers out, at `/v1/intraday/{id}`."""
    from wfm.errors import InputError

    from ..plan_actuals import check_now

    state = request.app.state
    _history_rows(request, body)
    limits = Limits(state.settings)
    limits.over("time_limit_seconds", body.time_limit_seconds, state.settings.max_solve_seconds,
                "WFM_MAX_SOLVE_SECONDS", "seconds")
    limits.raise_any()
    job = state.store.get(job_id, tenant, with_result=True, with_input=True)
    result = json.loads(finished_result(job, job_id, kinds=("plan",)))
    plan_input = json.loads(job.input)
    try:
        check_now(plan_input, result, body.now)
    except InputError as exc:
        raise Invalid([{"field": "body.now", "type": "value_error", "message": str(exc)}]) from None
    payload = json.dumps({"plan_input": plan_input, "plan_result": result, "plan_id": job_id,
                          "request": body.model_dump(mode="json")})
    job, created = submit(state.store, tenant, "intraday", payload, body.time_limit_seconds + 60, idempotency_key)
    return accepted(request, job, created)


@router.get("/v1/intraday/{job_id}", responses=FINISHED_ERRORS,
            summary="An intraday job's result: reforecast, coverage before/after, offers, the re-plan")
def get_intraday(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    """summary (the rest of the day before and after the re-plan: SL, under-coverage, shifts
    changed), ratios per queue, the reforecast per interval, coverage per interval, the ranked
    offers and the re-planned roster."""
    job = request.app.state.store.get(job_id, tenant, with_result=True)
    return Response(finished_result(job, job_id, kinds=("intraday",)), media_type="application/json")
