import asyncio
import json
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.exceptions import RequestValidationError
from fastapi.responses import Response
from pydantic import ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from forecasts.upload import UploadLimits, UploadTooLarge, check_upload

from .. import work
from ..auth import current_tenant
from ..errors import ApiError
from ..runner import process_context
from wfm.errors import InputError
from ..schemas import ErrorBody, ForecastOptions, ForecastRequest, ForecastResponse, parse_body

router = APIRouter(tags=["forecasts"])
SUFFIXES = (".csv.gz", ".tsv.gz", ".csv", ".tsv", ".parquet", ".gz")
UPLOAD_FIELDS = {"file": {"type": "string", "format": "binary",
                          "description": "history: CSV, TSV, .gz or Parquet (by file name)"}}
for _name, _spec in ForecastOptions.model_json_schema()["properties"].items():
    if _name not in ("columns", "special_days"):
        UPLOAD_FIELDS[_name] = {k: v for k, v in _spec.items() if k in ("type", "enum", "description", "anyOf",
                                                                        "minimum", "maximum", "default")}
UPLOAD_FIELDS["columns"] = {"type": "string", "description": "JSON object mapping column roles to names"}
UPLOAD_FIELDS["special_days"] = {"type": "string", "description": "JSON object date -> factor"}

OPENAPI_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/ForecastRequest"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "timezone"],
                                       "properties": UPLOAD_FIELDS}}}}}


@router.post("/v1/forecasts", response_model=ForecastResponse, openapi_extra=OPENAPI_BODY,
             responses={401: {"model": ErrorBody}, 413: {"model": ErrorBody}, 415: {"model": ErrorBody},
                        422: {"model": ErrorBody}},
             summary="Contact history -> interval forecast with prediction intervals and backtest scores")
async def create_forecast(request: Request, tenant: str = Depends(current_tenant)):
    """JSON (`history` rows and options) or a multipart upload (`file` plus the options as form
    fields). Runs in a worker process; answers when the forecast is done. An upload is held to
    the row, byte and decompression-ratio limits while it is read, before the forecast starts."""
    history, suffix, options = await read_history_body(request)
    try:
        result = await in_pool(request.app, tenant, work.forecast_history, history, suffix, options)
    except work.JobError as exc:
        raise ApiError(422, exc.reason, exc.message, **exc.details) from None
    # orjson: a NaN anywhere (say, an AHT nobody handled) becomes null instead of breaking JSON
    return Response(orjson.dumps(result, option=orjson.OPT_SERIALIZE_NUMPY), media_type="application/json")


async def in_pool(app, tenant: str, func, *args):
    """`func(*args)` in the forecast process pool, once the tenant's turn comes (api.fairness:
    one tenant's big forecast never takes every process); a pool whose worker died (say, out of
    memory) is replaced and the call tried once more."""
    async with app.state.forecast_gate.slot(tenant):
        return await _in_pool(app, func, *args)


async def _in_pool(app, func, *args):
    for attempt in (1, 2):
        pool = app.state.forecast_pool
        try:
            return await asyncio.wrap_future(pool.submit(func, *args))
        except BrokenProcessPool:
            if attempt == 2:
                raise
            if app.state.forecast_pool is pool:
                app.state.forecast_pool = ProcessPoolExecutor(pool._max_workers, mp_context=process_context())
                pool.shutdown(wait=False)


async def read_history_body(request: Request, options_model=ForecastOptions, request_model=ForecastRequest
                            ) -> tuple[bytes | list[dict], str, dict]:
    """(history bytes or JSON rows, file suffix, options) from a JSON body or a multipart upload,
    validated against `options_model` / `request_model` (which has the `history` rows)."""
    kind = request.headers.get("content-type", "").split(";")[0].strip().lower()
    limit = request.app.state.settings.max_history_rows
    if kind == "multipart/form-data":
        form = await _form(request)
        upload = form.get("file")
        if upload is None or isinstance(upload, str):
            raise _invalid("body.file", "missing: upload the history as the form field 'file'", "missing")
        fields = {k: _form_value(v) for k, v in form.items() if k != "file" and isinstance(v, str)}
        options = _validate(options_model, fields)
        name = (upload.filename or "history.csv").lower()
        suffix = next((s for s in SUFFIXES if name.endswith(s)), ".csv")
        data = await upload.read()
        await _check_size(request.app.state.settings, data, suffix)
        return data, suffix, options.model_dump(mode="json")
    if kind not in ("application/json", ""):
        raise ApiError(415, "unsupported_media_type", "send application/json (history rows) or "
                                                      "multipart/form-data (a history file)")
    body = await request.body()
    req = _validate(request_model, body, json_text=True)
    if len(req.history) > limit:
        raise _invalid("body.history", f"{len(req.history)} rows; at most {limit} (WFM_MAX_HISTORY_ROWS)",
                       "limit_exceeded")
    options = req.model_dump(mode="json", exclude={"history"})
    return req.history, ".csv", options


async def _check_size(settings, data: bytes, suffix: str) -> None:
    """The upload's rows, decompressed bytes and ratio, counted in bounded pieces (a thread: a
    large .gz takes a moment to inflate, the event loop keeps serving)."""
    limits = UploadLimits(rows=settings.max_history_rows, bytes=settings.max_history_bytes,
                          ratio=settings.max_decompression_ratio)
    try:
        await run_in_threadpool(check_upload, data, suffix, limits)
    except UploadTooLarge as exc:
        raise _invalid("body.file", exc.reason, "limit_exceeded") from None
    except InputError as exc:
        raise _invalid("body.file", exc.reason, "file_invalid") from None


async def _form(request: Request):
    """The multipart form; a body that is not valid multipart (say, a part without headers) is a
    422 on `body`, like JSON that cannot be read, not the framework's undocumented 400."""
    try:
        return await request.form()
    except StarletteHTTPException as exc:
        if exc.status_code != 400:
            raise
        raise _invalid("body", f"cannot be read as multipart/form-data: {exc.detail}", "multipart_invalid") from None


def _form_value(text: str):
    """Form fields are text: numbers and JSON objects (columns, special_days) are read as JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return text


def _validate(model, data, json_text: bool = False):
    if json_text:
        return parse_body(model, data)
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


def _invalid(field: str, message: str, kind: str) -> RequestValidationError:
    return RequestValidationError([{"loc": tuple(field.split(".")), "msg": message, "type": kind}])
