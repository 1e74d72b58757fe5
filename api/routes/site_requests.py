"""Time-off and shift-swap requests of a site over HTTP: file (checked at once against the latest
published schedule), list, read, approve (a new schedule version), deny. Thin: api.site_requests
does the work."""

from typing import Literal

from fastapi import APIRouter, Body, Depends, Header, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from ..errors import ApiError
from ..site_requests import Conflict, Requests, ScheduleRequest
from .sites import ERR, READ, WRITE, Caller, _run, caller

router = APIRouter(tags=["requests"])
DECIDE = {**WRITE, 409: {**ERR, "description": "already decided, or (approve) the request breaks a rule now"}}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: str = Field("", max_length=1000, description="why (shown to the agent)")


class Denial(Decision):
    reason: str = Field(min_length=1, max_length=1000, description="why (shown to the agent)")


def _requests(request: Request) -> Requests:
    return Requests(request.app.state.store)


def _answer(view: dict, status: int = 200, site_id: str | None = None) -> JSONResponse:
    headers = {"ETag": view["etag"]} | ({"Location": f"/v1/sites/{site_id}/requests/{view['id']}"} if site_id else {})
    return JSONResponse(view, status_code=status, headers=headers)


def _decided(work, *args):
    try:
        return _run(work, *args)
    except Conflict as exc:
        raise ApiError(409, "request_breaks_rules", f"{exc}: {'; '.join(exc.reasons[:5])}" if exc.reasons
                       else str(exc), reasons=exc.reasons) from None


@router.post("/v1/sites/{site_id}/requests", status_code=201, responses=READ,
             summary="File a time-off or swap request: checked at once against the latest published schedule")
def file_request(site_id: str, request: Request, body: ScheduleRequest, who: Caller = Depends(caller)):
    """The answer is the pending request with its `check`: the hard-rule violations it would
    bring (independent validator), the per-day time-off allotments it uses, the shifts it
    changes, and the coverage impact (each changed interval's under-coverage and projected service
    level, before and after). 404 when the site has no published schedule yet."""
    view = _run(_requests(request).file, who.tenant, site_id, body, who.key_id(request))
    return _answer(view, 201, site_id)


@router.get("/v1/sites/{site_id}/requests", responses=READ, summary="The site's requests, oldest first")
def list_requests(site_id: str, request: Request, who: Caller = Depends(caller),
                  status: Literal["pending", "approved", "denied"] | None = Query(None)):
    return JSONResponse(_run(_requests(request).list, who.tenant, site_id, status))


@router.get("/v1/sites/{site_id}/requests/{request_id}", responses=READ, summary="One request with its check")
def get_request(site_id: str, request_id: str, request: Request, who: Caller = Depends(caller)):
    return _answer(_run(_requests(request).get, who.tenant, site_id, request_id))


@router.post("/v1/sites/{site_id}/requests/{request_id}/approve", responses=DECIDE,
             summary="Approve: checked again, then applied as the next schedule version (If-Match optional)")
def approve(site_id: str, request_id: str, request: Request, body: Decision = Body(Decision()),
            who: Caller = Depends(caller), if_match: str | None = Header(None)):
    return _answer(_decided(_requests(request).approve, who.tenant, site_id, request_id, if_match,
                            who.key_id(request), body.reason))


@router.post("/v1/sites/{site_id}/requests/{request_id}/deny", responses=DECIDE,
             summary="Deny with a reason (If-Match optional)")
def deny(site_id: str, request_id: str, body: Denial, request: Request, who: Caller = Depends(caller),
         if_match: str | None = Header(None)):
    return _answer(_decided(_requests(request).deny, who.tenant, site_id, request_id, if_match,
                            who.key_id(request), body.reason))
