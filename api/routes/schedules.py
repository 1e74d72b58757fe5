"""Published schedules over HTTP: publish a finished roster or plan job for a site, list the
versions, a version and its diff, and one agent's schedule as JSON or iCalendar. Thin: api.schedules
does the work."""

from datetime import date

from fastapi import APIRouter, Depends, Header, Query, Request
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field

from ..schedules import Schedules, to_ical, version_etag
from .sites import READ, WRITE, Caller, _run, caller

router = APIRouter(tags=["schedules"])
CALENDAR = {200: {"description": "JSON, or iCalendar with `Accept: text/calendar` or `format=ics`",
                  "content": {"application/json": {}, "text/calendar": {"schema": {"type": "string"}}}}}


class Publish(BaseModel):
    model_config = ConfigDict(extra="forbid")

    job_id: str = Field(min_length=1, max_length=64, description="a succeeded roster or plan job of yours")


def _schedules(request: Request) -> Schedules:
    return Schedules(request.app.state.store)


@router.post("/v1/sites/{site_id}/schedules", status_code=201, responses=WRITE,
             summary="Publish a finished roster or plan job's roster as the site's next schedule version")
def publish(site_id: str, body: Publish, request: Request, who: Caller = Depends(caller),
            if_match: str | None = Header(None, description="the latest version's ETag, to publish over it only")):
    view = _run(_schedules(request).publish, who.tenant, site_id, body.job_id, if_match, who.key_id(request))
    return JSONResponse(view, status_code=201, headers={
        "ETag": version_etag(view["version"]), "Location": f"/v1/sites/{site_id}/schedules/{view['version']}"})


@router.get("/v1/sites/{site_id}/schedules", responses=READ, summary="The site's published versions, oldest first")
def versions(site_id: str, request: Request, who: Caller = Depends(caller)):
    found = _run(_schedules(request).versions, who.tenant, site_id)
    return JSONResponse(found, headers={"ETag": version_etag(found[-1]["version"] if found else 0)})


@router.get("/v1/sites/{site_id}/schedules/{version}", responses=READ, summary="A published version with its shifts")
def version(site_id: str, version: int, request: Request, who: Caller = Depends(caller)):
    view = _run(_schedules(request).version, who.tenant, site_id, version)
    return JSONResponse(view, headers={"ETag": version_etag(view["version"])})


@router.get("/v1/sites/{site_id}/schedules/{version}/diff", responses=READ,
            summary="What a version changed from the one before: shifts added, removed, changed")
def diff(site_id: str, version: int, request: Request, who: Caller = Depends(caller)):
    return JSONResponse(_run(_schedules(request).diff, who.tenant, site_id, version))


@router.get("/v1/sites/{site_id}/agents/{agent_id}/schedule", responses={**READ, **CALENDAR},
            summary="One agent's published shifts (latest version) as JSON or iCalendar (site TZID)")
def agent_schedule(site_id: str, agent_id: str, request: Request, who: Caller = Depends(caller),
                   first: date | None = Query(None, alias="from", description="first day (local), inclusive"),
                   last: date | None = Query(None, alias="to", description="last day (local), inclusive"),
                   version: int | None = Query(None, ge=1, description="a version (default: the latest)"),
                   format: str | None = Query(None, pattern="^(json|ics)$"), accept: str = Header("")):
    found = _run(_schedules(request).agent_schedule, who.tenant, site_id, agent_id, first, last, version)
    if format == "ics" or (format is None and "text/calendar" in accept):
        return Response(to_ical(found, f"{agent_id} at {site_id}"), media_type="text/calendar",
                        headers={"Content-Disposition": f'inline; filename="{agent_id}.ics"'})
    return JSONResponse(found)
