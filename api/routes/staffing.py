import orjson
from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import Response

from ..auth import SECURITY, authenticate
from ..errors import ApiError, Invalid
from ..schemas import ErrorBody, StaffingRequest, StaffingResponse, parse_body
from ..staffing import staff_request

router = APIRouter(tags=["staffing"])
ERRORS = {401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 415: {"model": ErrorBody}, 422: {"model": ErrorBody}}
BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/StaffingRequest"}}}}, **SECURITY}


@router.post("/v1/staffing", response_model=StaffingResponse, responses=ERRORS, openapi_extra=BODY,
             summary="Agents needed per interval to meet a service target")
async def staffing(request: Request):
    """Volumes and AHT per interval (any number of queues) -> on-queue and scheduled agents with
    the service level, ASA and occupancy they achieve (Erlang C; Erlang A with patience; chat
    with concurrency; back office with `deadline_minutes`).

    The hottest route, so it skips the framework's dependency and body machinery: the key is
    checked and the body parsed straight into `StaffingRequest` (pydantic's JSON parser)."""
    await authenticate(request, request.headers.get("x-api-key"))
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if kind != "application/json" and not kind.endswith("+json"):
        raise ApiError(415, "unsupported_media_type", f"send the body as application/json, not {kind or 'no type'}")
    body = parse_body(StaffingRequest, await request.body())
    settings = request.app.state.settings
    size = sum(len(q.volume) for q in body.queues)
    if size > settings.max_intervals:
        raise Invalid([{"field": "body.queues", "type": "limit_exceeded", "message":
                        f"{size} intervals; this server staffs at most {settings.max_intervals} per request "
                        "(WFM_MAX_INTERVALS)"}])
    # A week of intervals takes about a millisecond: cheaper on the loop than a thread hop.
    result = staff_request(body) if size <= settings.inline_intervals else await run_in_threadpool(staff_request, body)
    # orjson writes the numpy arrays directly (NaN, i.e. nothing offered, as null): ~10x json.dumps
    return Response(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")
