import io
import json
import time
from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response

from wfm.roster.domain import RosterInput
from wfm.roster.options import count_options

from ..auth import current_tenant
from ..jobs import check_limits, finished_result, job_view, submit
from ..schemas import ErrorBody, JobView, RosterResult

router = APIRouter(tags=["rosters"])
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 413: {"model": ErrorBody}, 429: {"model": ErrorBody},
          422: {"model": ErrorBody}}
EXAMPLE = {"one_day": {"summary": "two agents, one day, one queue", "value": {
    "horizon": {"start": "2026-06-01", "days": 1, "interval_minutes": 60, "timezone": "Europe/Berlin"},
    "requirements": [{"queue": "sales", "agents": [0] * 8 + [2] * 9 + [1] * 3 + [0] * 4}],
    "templates": [{"id": "day", "start_times": ["08:00", "09:00"], "length_minutes": 480,
                   "breaks": [{"name": "lunch", "minutes": 60, "earliest_minutes": 180, "latest_minutes": 300,
                               "paid": False}]}],
    "agents": [{"id": "ana", "skills": ["sales"]}, {"id": "ben", "skills": ["sales"]}],
    "solver": {"time_limit_seconds": 10}}}}
IDEMPOTENCY = Header(None, alias="Idempotency-Key", min_length=1, max_length=200,
                     description="retrying with the same key and body returns the same job")


def accepted(request: Request, job, created: bool) -> JSONResponse:
    request.app.state.runner.wake()
    headers = {"Location": f"/v1/jobs/{job.id}"}
    if not created:
        headers["Idempotent-Replayed"] = "true"
    return JSONResponse(job_view(job, time.time()), status_code=202, headers=headers)


@router.post("/v1/rosters", status_code=202, response_model=JobView, responses=ERRORS,
             summary="Queue a roster solve; poll the job, then fetch the roster")
def create_roster(request: Request, body: RosterInput = Body(openapi_examples=EXAMPLE),
                  tenant: str = Depends(current_tenant),
                  idempotency_key: str | None = IDEMPOTENCY):
    """The body is a roster input (as for `wfm roster`). Answers 202 with the job and its
    `Location`; the solve runs in a worker process within `solver.time_limit_seconds`."""
    state = request.app.state
    check_limits(state.settings, days=body.horizon.days, agents=len(body.agents), templates=len(body.templates),
                 solver=body.solver, option_pairs=len(body.agents) * count_options(body))
    job, created = submit(state.store, tenant, "roster", body.model_dump_json(), body.solver.time_limit_seconds,
                          idempotency_key)
    return accepted(request, job, created)


@router.get("/v1/rosters/{job_id}", response_model=RosterResult,
            responses={**ERRORS, 409: {"model": ErrorBody, "description": "not finished, failed or cancelled"},
                       200: {"content": {"text/csv": {"schema": {"type": "string"}}}}},
            summary="The roster with coverage, KPIs and explanation (JSON), or one table as CSV")
def get_roster(job_id: str, request: Request, tenant: str = Depends(current_tenant),
               table: Literal["shifts", "coverage", "agents", "explanation"] = Query(
                   "shifts", description="with Accept: text/csv, the table to send")):
    """Also serves the roster of a plan job. `Accept: text/csv` gives one table as CSV
    (`table=shifts` by default)."""
    job = request.app.state.store.get(job_id, tenant, with_result=True)
    result = finished_result(job, job_id, kinds=("roster", "plan"))
    if job.kind == "plan":
        result = json.dumps(json.loads(result)["roster"])
    if wants_csv(request):
        return csv_response(json.loads(result)[table], f"roster-{job_id[:8]}-{table}.csv")
    return Response(result, media_type="application/json")


def wants_csv(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "text/csv" in accept and "application/json" not in accept


def csv_response(rows: list[dict], filename: str) -> Response:
    import pandas as pd

    buffer = io.StringIO()
    pd.DataFrame(rows).to_csv(buffer, index=False)
    return Response(buffer.getvalue(), media_type="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{filename}"'})


