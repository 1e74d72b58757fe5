"""The site registry over HTTP: /v1/sites and each site's agents, templates, rules, weights and
audit log. Thin: api.sites does the work.

Concurrency: every answer carries the resource's ETag. PUT on an existing resource, PATCH and
DELETE must send it back in If-Match (428 without; 412 when the resource changed since). Creating
(POST, PUT of a new agent or template, bulk upsert, CSV import) needs no If-Match; when one is sent,
it is checked against the collection's ETag (GET of the list).
"""

from dataclasses import dataclass
from typing import Any

from fastapi import APIRouter, Body, Depends, Header, Path, Query, Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse, Response

from wfm.errors import InputError
from wfm.roster.domain import Agent, Rules, ShiftTemplate, Weights

from .. import sites as registry
from ..auth import api_key_header, authenticate
from ..errors import ApiError
from ..schemas import ErrorBody, JobView
from ..site_plans import SitePlanRequest, site_plan_request
from ..sites import Registry, Site
from .plans import queue_plan
from .rosters import IDEMPOTENCY

router = APIRouter(tags=["sites"])
ERR = {"model": ErrorBody}
READ = {401: ERR, 404: ERR, 422: ERR}
WRITE = {**READ, 409: ERR, 412: {**ERR, "description": "If-Match names an ETag the resource no longer has"}}
GUARDED = {**WRITE, 428: {**ERR, "description": "If-Match is required: send the ETag of your last read"}}
MERGE_PATCH = {"requestBody": {"content": {"application/merge-patch+json": {"schema": {"type": "object"}}}}}


class SiteCreate(Site):
    rules: Rules | None = None
    weights: Weights | None = None


@dataclass
class Caller:
    tenant: str
    key: str | None

    def key_id(self, request: Request) -> str | None:
        return _registry(request).key_id(self.key) if request.app.state.auth.enabled else None


async def caller(request: Request, key: str | None = Security(api_key_header)) -> Caller:
    return Caller(await authenticate(request, key), key)


def _registry(request: Request) -> Registry:
    return Registry(request.app.state.store.engine)


def _answer(stored: registry.Stored, status: int = 200, location: str | None = None) -> JSONResponse:
    headers = {"ETag": stored.etag} | ({"Location": location} if location else {})
    return JSONResponse(stored.body, status_code=status, headers=headers)


def _run(work, *args, path_prefix: str = "body.", required_match: bool = False, if_match: str | None = None):
    """Registry errors as answers: 404, 409, 412, 422 with field paths, 428."""
    if required_match and if_match is None:
        raise ApiError(428, "precondition_required", "send If-Match with the ETag of your last GET of this resource")
    try:
        return work(*args)
    except registry.NotFound as exc:
        raise ApiError(404, "not_found", str(exc)) from None
    except registry.AlreadyExists as exc:
        raise ApiError(409, "conflict", str(exc)) from None
    except registry.TooMany as exc:
        raise ApiError(409, "too_many", str(exc)) from None
    except registry.MatchRequired as exc:
        raise ApiError(428, "precondition_required", str(exc)) from None
    except registry.PreconditionFailed as exc:
        raise ApiError(412, "precondition_failed", f"{exc}: read it again, reapply your change, send the new ETag",
                       etag=exc.current) from None
    except registry.Invalid as exc:
        fields = [{**f, "field": _prefixed(path_prefix, f["field"])} for f in exc.fields]
        message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
        raise ApiError(422, "validation_error", message, fields=fields) from None


def _prefixed(prefix: str, field: str) -> str:
    if not field:
        return prefix.rstrip(".")
    return prefix.rstrip(".") + field if field.startswith("[") else prefix + field


# --- sites ------------------------------------------------------------------------------------

@router.get("/v1/sites", response_model=list[Site], responses=READ, summary="The tenant's sites")
def list_sites(request: Request, who: Caller = Depends(caller)):
    return JSONResponse([s.body for s in _registry(request).list_sites(who.tenant)])


@router.post("/v1/sites", response_model=Site, status_code=201, responses=WRITE,
             summary="Create a site from id, name, timezone and interval_minutes (queues, rules, weights optional)")
def create_site(body: SiteCreate, request: Request, who: Caller = Depends(caller)):
    data = body.model_dump(mode="json", exclude_none=True)
    stored = _run(_registry(request).create_site, who.tenant, data, who.key_id(request))
    return _answer(stored, 201, f"/v1/sites/{stored.body['id']}")


@router.get("/v1/sites/{site_id}", response_model=Site, responses=READ, summary="A site, with its ETag")
def get_site(site_id: str, request: Request, who: Caller = Depends(caller)):
    return _answer(_run(_registry(request).get_site, who.tenant, site_id))


@router.put("/v1/sites/{site_id}", response_model=Site, responses=GUARDED, summary="Replace a site (If-Match)")
def replace_site(site_id: str, body: Site, request: Request, who: Caller = Depends(caller),
                 if_match: str | None = Header(None)):
    return _answer(_run(_registry(request).replace_site, who.tenant, site_id, body.model_dump(mode="json"),
                        if_match, who.key_id(request), required_match=True, if_match=if_match))


@router.patch("/v1/sites/{site_id}", response_model=Site, responses=GUARDED, openapi_extra=MERGE_PATCH,
              summary="Change a site by a JSON merge patch (If-Match)")
def patch_site(site_id: str, request: Request, patch: dict[str, Any] = Body(...), who: Caller = Depends(caller),
               if_match: str | None = Header(None)):
    return _answer(_run(_registry(request).patch_site, who.tenant, site_id, patch, if_match, who.key_id(request),
                        required_match=True, if_match=if_match))


@router.delete("/v1/sites/{site_id}", status_code=204, responses=GUARDED,
               summary="Delete a site with its agents, templates, rules and weights (If-Match)")
def delete_site(site_id: str, request: Request, who: Caller = Depends(caller), if_match: str | None = Header(None)):
    _run(_registry(request).delete_site, who.tenant, site_id, if_match, who.key_id(request),
         required_match=True, if_match=if_match)
    return Response(status_code=204)


# --- agents and templates ----------------------------------------------------------------------

def _collection_routes(kind: str, model, item_param: str) -> None:
    singular = kind.rstrip("s")
    base = f"/v1/sites/{{site_id}}/{kind}"
    item = f"{base}/{{{item_param}}}"

    @router.get(base, response_model=list[model], responses=READ, summary=f"The site's {kind} (ETag of the list)",
                name=f"list_{kind}")
    def list_items(site_id: str, request: Request, who: Caller = Depends(caller)):
        found, etag = _run(_registry(request).list_items, who.tenant, site_id, kind)
        return JSONResponse([s.body for s in found], headers={"ETag": etag})

    @router.post(base, responses=WRITE, name=f"upsert_{kind}",
                 summary=f"Create or replace many {kind} at once, all or nothing (If-Match: the list's ETag, optional)")
    def upsert(site_id: str, request: Request, body: list[model], who: Caller = Depends(caller),
               if_match: str | None = Header(None)):
        docs = [b.model_dump(mode="json") for b in body]
        summary = _run(_registry(request).upsert_items, who.tenant, site_id, kind, docs, if_match,
                       who.key_id(request))
        return JSONResponse(summary, headers={"ETag": summary["etag"]})

    @router.get(item, response_model=model, responses=READ, summary=f"One {singular}", name=f"get_{singular}")
    def get_item(site_id: str, request: Request, who: Caller = Depends(caller), item_id: str = Path(alias=item_param)):
        return _answer(_run(_registry(request).get_item, who.tenant, site_id, kind, item_id))

    @router.put(item, response_model=model, responses={**GUARDED, 201: {"model": model}}, name=f"put_{singular}",
                summary=f"Create a {singular} (no If-Match) or replace it (If-Match)")
    def put_item(site_id: str, body: model, request: Request, who: Caller = Depends(caller),
                 if_match: str | None = Header(None),
                 item_id: str = Path(alias=item_param)):
        stored = _run(_registry(request).put_item, who.tenant, site_id, kind, item_id, body.model_dump(mode="json"),
                      if_match, who.key_id(request), "replace", False)
        location = f"/v1/sites/{site_id}/{kind}/{item_id}" if stored.created else None
        return _answer(stored, 201 if stored.created else 200, location)

    @router.patch(item, response_model=model, responses=GUARDED, openapi_extra=MERGE_PATCH,
                  name=f"patch_{singular}", summary=f"Change a {singular} by a JSON merge patch (If-Match)")
    def patch_item(site_id: str, request: Request, patch: dict[str, Any] = Body(...), who: Caller = Depends(caller),
                   if_match: str | None = Header(None),
                 item_id: str = Path(alias=item_param)):
        return _answer(_run(_registry(request).patch_item, who.tenant, site_id, kind, item_id, patch,
                            if_match, who.key_id(request), required_match=True, if_match=if_match))

    @router.delete(item, status_code=204, responses=GUARDED, name=f"delete_{singular}",
                   summary=f"Delete a {singular} (If-Match)")
    def delete_item(site_id: str, request: Request, who: Caller = Depends(caller),
                    if_match: str | None = Header(None),
                 item_id: str = Path(alias=item_param)):
        _run(_registry(request).delete_item, who.tenant, site_id, kind, item_id, if_match,
             who.key_id(request), required_match=True, if_match=if_match)
        return Response(status_code=204)


_collection_routes("agents", Agent, "agent_id")
_collection_routes("templates", ShiftTemplate, "template_id")


@router.post("/v1/sites/{site_id}/agents/import", responses=WRITE, openapi_extra={"requestBody": {
    "required": True, "content": {"text/csv": {"schema": {"type": "string"}}}}},
    summary="Replace the site's agents by a staff list (CSV, one row per agent), all or nothing")
async def import_agents(site_id: str, request: Request, who: Caller = Depends(caller),
                        if_match: str | None = Header(None)):
    raw = await request.body()
    return await run_in_threadpool(_import, request, who, site_id, raw, if_match)


def _import(request: Request, who: Caller, site_id: str, raw: bytes, if_match: str | None) -> JSONResponse:
    try:
        summary = _run(_registry(request).import_agents_csv, who.tenant, site_id, raw, if_match, who.key_id(request))
    except InputError as exc:
        where = {"line": exc.line, "column": exc.field} if exc.line is not None else {"column": exc.field}
        raise ApiError(422, "validation_error", str(exc), fields=[{"field": "body", **where, "value": str(exc.value),
                                                                   "message": exc.reason, "type": "csv"}]) from None
    return JSONResponse(summary, headers={"ETag": summary["etag"]})


# --- rules and weights ---------------------------------------------------------------------------

def _document_routes(kind: str, model) -> None:
    path = f"/v1/sites/{{site_id}}/{kind}"

    @router.get(path, response_model=model, responses=READ, summary=f"The site's {kind}", name=f"get_{kind}")
    def get_document(site_id: str, request: Request, who: Caller = Depends(caller)):
        return _answer(_run(_registry(request).get_item, who.tenant, site_id, kind, kind))

    @router.put(path, response_model=model, responses=GUARDED, summary=f"Replace the site's {kind} (If-Match)",
                name=f"put_{kind}")
    def put_document(site_id: str, body: model, request: Request, who: Caller = Depends(caller),
                     if_match: str | None = Header(None)):
        return _answer(_run(_registry(request).put_item, who.tenant, site_id, kind, kind, body.model_dump(mode="json"),
                            if_match, who.key_id(request), required_match=True, if_match=if_match))

    @router.patch(path, response_model=model, responses=GUARDED, openapi_extra=MERGE_PATCH,
                  summary=f"Change the site's {kind} by a JSON merge patch (If-Match)", name=f"patch_{kind}")
    def patch_document(site_id: str, request: Request, patch: dict[str, Any] = Body(...),
                       who: Caller = Depends(caller), if_match: str | None = Header(None)):
        return _answer(_run(_registry(request).patch_item, who.tenant, site_id, kind, kind, patch, if_match,
                            who.key_id(request), required_match=True, if_match=if_match))


_document_routes("rules", Rules)
_document_routes("weights", Weights)


# --- audit -----------------------------------------------------------------------------------------

@router.get("/v1/sites/{site_id}/audit", responses=READ,
            summary="Who (which API key id) changed what in the site, and when; oldest first, paged by `after`")
def site_audit(site_id: str, request: Request, who: Caller = Depends(caller),
               after: int = Query(0, ge=0, description="the last `seq` already read"),
               limit: int = Query(100, ge=1, le=1000)):
    entries = _run(_registry(request).audit_log, who.tenant, site_id, after, limit)
    return JSONResponse({"entries": entries, "next_after": entries[-1]["seq"] if entries else after})


# --- plans from the stored site ---------------------------------------------------------------

@router.post("/v1/sites/{site_id}/plans", status_code=202, response_model=JobView,
             responses={**READ, 429: ERR}, summary="Queue a plan of the site as stored now, from history or a forecast")
def create_site_plan(site_id: str, body: SitePlanRequest, request: Request, who: Caller = Depends(caller),
                     idempotency_key: str | None = IDEMPOTENCY):
    """The site's agents, templates, rules, weights, timezone, interval and queue targets as of
    this request (a snapshot kept in the job's input, with the ETags it was taken at) plus the
    body's history or forecast: an ordinary plan job (GET /v1/plans/{job_id}), publishable to
    the site when it succeeds."""
    plan = _run(site_plan_request, _registry(request), who.tenant, site_id, body, path_prefix="")
    return queue_plan(request, who.tenant, plan, idempotency_key)
