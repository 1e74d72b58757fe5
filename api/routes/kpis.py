from typing import Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from .. import work
from ..auth import current_tenant
from ..errors import ApiError
from ..kpis import kpis_from_history
from ..schemas import ErrorBody, KpiOptions, KpiRequest, KpiResponse
from .forecasts import in_pool, read_history_body

router = APIRouter(tags=["kpis"])
UPLOAD_FIELDS = {"file": {"type": "string", "format": "binary",
                          "description": "history: CSV, TSV, .gz or Parquet (by file name), one row per contact"}}
for _name, _spec in KpiOptions.model_json_schema()["properties"].items():
    if _name in ("columns", "kpi_columns", "abandoned_if", "drop_if"):
        UPLOAD_FIELDS[_name] = {"type": "string", "description": "a JSON object, as in the JSON body"}
    else:
        UPLOAD_FIELDS[_name] = {k: v for k, v in _spec.items() if k in ("type", "enum", "description", "anyOf",
                                                                        "minimum", "maximum", "default")}
OPENAPI_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"$ref": "#/components/schemas/KpiRequest"}},
    "multipart/form-data": {"schema": {"type": "object", "required": ["file", "timezone"],
                                       "properties": UPLOAD_FIELDS}}}}}


@router.post("/v1/kpis", response_model=KpiResponse, openapi_extra=OPENAPI_BODY,
             responses={200: {"content": {"text/csv": {}}}, 401: {"model": ErrorBody}, 413: {"model": ErrorBody},
                        415: {"model": ErrorBody}, 422: {"model": ErrorBody}},
             summary="Contact history -> achieved KPIs (SL, ASA, abandonment, AHT, tickets, CSAT) per period and queue")
async def create_kpis(request: Request, format: Literal["json", "csv"] = Query(
        "json", description="json (rows with notes and the ingest summary) or csv (the table as `wfm kpi` writes it)"),
        tenant: str = Depends(current_tenant)):
    """JSON (`history` rows and options) or a multipart upload (`file` plus the options as form
    fields), read as `wfm kpi` reads a file; definitions as in `wfm kpi --help`. Bad rows answer
    422 naming the row and column."""
    history, suffix, options = await read_history_body(request, KpiOptions, KpiRequest)
    try:
        result = await in_pool(request.app, tenant, kpis_from_history, history, suffix, options, format == "csv")
    except work.JobError as exc:
        raise ApiError(422, exc.reason, exc.message, fields=[_field(exc, isinstance(history, list))],
                       **exc.details) from None
    if format == "csv":
        return Response(result, media_type="text/csv")
    return Response(orjson.dumps(result), media_type="application/json")


def _field(exc: "work.JobError", rows: bool) -> dict:
    """Where the bad value is: body.history[i].column for JSON rows, body.file for an upload."""
    column, line = exc.details.get("field"), exc.details.get("line")
    if rows and line is not None:
        where = f"body.history[{line - 2}].{column}"
    elif rows:
        where = "body.history"
    else:
        where = "body.file"
    return {"field": where, "message": exc.message, "type": exc.reason}
