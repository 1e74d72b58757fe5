"""The web view: a static page and a small JavaScript module (api/ui/) that drive the /v1 API,
with plotly.js served from the installed plotly package (nothing fetched from the internet,
no build step). Not part of the OpenAPI schema."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response

from ..errors import ApiError
from ..sample import SampleMissing, sample_plan

UI = Path(__file__).resolve().parents[1] / "ui"
STATIC = {"app.js": "text/javascript", "app.css": "text/css"}

router = APIRouter(include_in_schema=False)


def _plotly_js() -> Path:
    import plotly

    return Path(plotly.__file__).parent / "package_data" / "plotly.min.js"


@router.get("/")
def root():
    return RedirectResponse("/ui", status_code=307)


@router.get("/ui")
def page():
    return FileResponse(UI / "index.html", media_type="text/html", headers={"Cache-Control": "no-cache"})


@router.get("/ui/static/{name}")
def static(name: str):
    if name not in STATIC:
        raise ApiError(404, "not_found", f"no file {name!r}")
    return FileResponse(UI / name, media_type=STATIC[name], headers={"Cache-Control": "no-cache"})


@router.get("/ui/vendor/plotly.min.js")
def plotly_js():
    return FileResponse(_plotly_js(), media_type="text/javascript", headers={"Cache-Control": "max-age=86400"})


@router.get("/ui/config")
def config(request: Request):
    """What the page needs to know before the first call: whether to ask for an API key."""
    return JSONResponse({"auth": request.app.state.auth.enabled})


@router.get("/ui/sample-plan")
async def sample():
    """The sample site as a POST /v1/plans body (public sample data: no key needed)."""
    try:
        body = await run_in_threadpool(sample_plan)
    except SampleMissing as exc:
        raise ApiError(404, "no_sample_data", str(exc)) from None
    import orjson

    return Response(orjson.dumps(body), media_type="application/json")
