import io

from fastapi import APIRouter, Depends, Request
from fastapi.responses import Response

from wfm.scenarios import ScenarioReport

from ..auth import current_tenant
from ..jobs import check_scenario_limits, finished_result, scenario_time_limit, submit
from ..schemas import ErrorBody, JobView, ScenarioJobRequest
from .rosters import ERRORS, IDEMPOTENCY, accepted, wants_csv

router = APIRouter(tags=["scenarios"])


@router.post("/v1/scenarios", status_code=202, response_model=JobView, responses=ERRORS,
             summary="Queue a what-if scenario set; poll the job, then fetch the comparison")
def create_scenarios(body: ScenarioJobRequest, request: Request, tenant: str = Depends(current_tenant),
                     idempotency_key: str | None = IDEMPOTENCY):
    """The scenario file of `wfm scenario run`, with the base plan's data inline: contact
    history in `base.history.rows` (forecast in the job) or a forecast in `base.forecast.rows`;
    agents and templates in `base.roster`. File paths are refused: they would name files on the
    server. `mode`: `requirements` (seconds; the base roster stays in force) or `roster` (every
    scenario rerostered). The job's progress counts finished scenarios; a failing scenario is
    reported in the result with its reason."""
    state = request.app.state
    check_scenario_limits(state.settings, body)
    job, created = submit(state.store, tenant, "scenarios", body.model_dump_json(exclude_unset=True),
                          scenario_time_limit(body), idempotency_key)
    return accepted(request, job, created)


@router.get("/v1/scenarios/{job_id}", response_model=ScenarioReport,
            responses={**ERRORS, 409: {"model": ErrorBody, "description": "not finished, failed or cancelled"},
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="The comparison: every scenario's metrics and deltas against the base (JSON or CSV)")
def get_scenarios(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    """JSON: the base and each scenario with status, error, metrics and deltas. `Accept:
    text/csv`: the comparison table, one row per result (base first), every metric and its
    delta. A null figure is not applicable (no roster, no patience) or unbounded (ASA with
    fewer agents than the load)."""
    job = request.app.state.store.get(job_id, tenant, with_result=True)
    result = finished_result(job, job_id, kinds=("scenarios",))
    if wants_csv(request):
        buffer = io.StringIO()
        ScenarioReport.model_validate_json(result).table().to_csv(buffer, index=False)
        return Response(buffer.getvalue(), media_type="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="scenarios-{job_id[:8]}.csv"'})
    return Response(result, media_type="application/json")
