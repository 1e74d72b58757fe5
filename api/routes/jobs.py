import time
from typing import Literal
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import JSONResponse

from ..auth import current_tenant
from ..errors import ApiError
from ..jobs import job_view
from ..schemas import ErrorBody, JobList, JobView

router = APIRouter(tags=["jobs"])
ERRORS = {401: {"model": ErrorBody}, 404: {"model": ErrorBody}, 422: {"model": ErrorBody}}


@router.get("/v1/jobs", response_model=JobList, responses=ERRORS,
            summary="The tenant's jobs, newest first, a page at a time")
def list_jobs(request: Request, tenant: str = Depends(current_tenant),
              kind: Literal["roster", "plan", "scenarios", "intraday"] | None = Query(
                  None, description="only jobs of this kind"),
              status: Literal["queued", "running", "succeeded", "failed", "cancelled"] | None = Query(
                  None, description="only jobs in this state"),
              limit: int = Query(20, ge=1, le=100, description="jobs per page"),
              before: str | None = Query(None, max_length=64, description="the page after this job id "
                                                                         "(the previous page's `next`)")):
    found = request.app.state.store.list_jobs(tenant, kind, status, limit, before)
    now = time.time()
    page = {"jobs": [job_view(job, now) for job in found], "next": None}
    if len(found) == limit:
        query = {k: v for k, v in (("kind", kind), ("status", status)) if v is not None}
        page["next"] = "/v1/jobs?" + urlencode({**query, "limit": limit, "before": found[-1].id})
    return JSONResponse(page)


@router.get("/v1/jobs/{job_id}", response_model=JobView, responses=ERRORS,
            summary="Status, progress (objective, bound, elapsed) and errors of a job")
def get_job(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    job = request.app.state.store.get(job_id, tenant)
    if job is None:  # another tenant's job is as absent as one that never existed
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    return JSONResponse(job_view(job, time.time()))


@router.delete("/v1/jobs/{job_id}", response_model=JobView, status_code=202,
               responses={**ERRORS, 200: {"model": JobView, "description": "already cancelled"},
                          409: {"model": ErrorBody, "description": "already finished"}},
               summary="Cancel a job: a queued one at once, a running one by stopping its solver")
def cancel_job(job_id: str, request: Request, tenant: str = Depends(current_tenant)):
    store = request.app.state.store
    job = store.get(job_id, tenant)
    if job is None:
        raise ApiError(404, "not_found", f"no job {job_id!r}")
    if job.status in ("succeeded", "failed"):
        raise ApiError(409, "already_finished", f"job {job_id} has already {job.status}", status=job.status)
    job = store.cancel(job_id, tenant)
    request.app.state.runner.wake()
    return JSONResponse(job_view(job, time.time()), status_code=200 if job.status == "cancelled" else 202)
