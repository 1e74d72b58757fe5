"""Errors as answers: every failure becomes a 4xx with a named reason and a human message;
an unexpected one is logged and answered without a traceback."""

from __future__ import annotations

import logging
import uuid

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from wfm.errors import InputError

log = logging.getLogger("wfm.api")

REASONS = {400: "bad_request", 401: "unauthorized", 404: "not_found", 405: "method_not_allowed",
           406: "not_acceptable", 409: "conflict", 413: "body_too_large", 415: "unsupported_media_type",
           422: "validation_error"}


class ApiError(Exception):
    def __init__(self, http_status: int, reason: str, message: str, /, **extra):
        super().__init__(message)
        self.http_status, self.reason, self.message, self.extra = http_status, reason, message, extra


def field_path(loc) -> str:
    """('body', 'queues', 0, 'volume', 3) -> 'body.queues[0].volume[3]'."""
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def error_body(reason: str, message: str, fields=(), **extra) -> dict:
    return {"error": reason, "message": message, "fields": list(fields), **extra}


def invalid(fields: list[dict]) -> JSONResponse:
    message = "; ".join(f"{f['field']}: {f['message']}" for f in fields[:5])
    if len(fields) > 5:
        message += f"; and {len(fields) - 5} more"
    return JSONResponse(error_body("validation_error", message, fields), status_code=422)


def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
    fields = []
    for e in exc.errors():
        msg = str(e.get("msg", "invalid")).removeprefix("Value error, ")
        kind = str(e.get("type", "value_error"))
        if kind == "extra_forbidden":
            msg = "unknown field: not in this request's schema (check its spelling)"
        fields.append({"field": field_path(e.get("loc", ())), "message": msg, "type": kind})
    return invalid(fields)


def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
    headers = exc.extra.pop("headers", None)
    return JSONResponse(error_body(exc.reason, exc.message, **exc.extra), status_code=exc.http_status, headers=headers)


def _input_error(_request: Request, exc: InputError) -> JSONResponse:
    return invalid([{"field": exc.field, "message": str(exc), "type": "input_error"}])


def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):  # e.g. bytes that are not UTF-8
        return invalid([{"field": "body", "message": "cannot be read: not JSON (or not UTF-8 text)",
                         "type": "json_invalid"}])
    reason = REASONS.get(exc.status_code, "error")
    return JSONResponse(error_body(reason, str(exc.detail)), status_code=exc.status_code,
                        headers=getattr(exc, "headers", None))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    incident = uuid.uuid4().hex[:12]
    log.exception("unexpected error %s on %s %s", incident, request.method, request.url.path)
    return JSONResponse(error_body("internal_error", f"unexpected server error (incident {incident}); "
                                   "it has been logged"), status_code=500)


def install(app: FastAPI) -> None:
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(Invalid, _invalid)
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)


class Invalid(ApiError):
    """422 for rules the schema cannot state (limits set by the server), with field paths."""

    def __init__(self, fields: list[dict]):
        super().__init__(422, "validation_error", "")
        self.fields = fields


def _invalid(_request: Request, exc: Invalid) -> JSONResponse:
    return invalid(exc.fields)
