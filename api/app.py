"""The FastAPI application: `create_app(settings)` wires the store, the job runner, the
forecast process pool, auth, limits, error handlers and the routes."""

from __future__ import annotations

import gc
import logging
import multiprocessing as mp
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager

from pathlib import Path

import fastapi_offline
from fastapi import FastAPI
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html, get_swagger_ui_oauth2_redirect_html
from fastapi.openapi.utils import get_openapi
from fastapi.responses import HTMLResponse
from fastapi.staticfiles import StaticFiles

from wfm import processes

from . import errors
from .auth import Authenticator
from .fairness import FairGate
from .middleware import BodyLimit, LoopbackOnly
from .openapi_links import add_links
from .routes import (forecasts, health, jobs, kpis, plans, rosters, scenarios, schedules, site_requests, sites,
                     staffing, ui)
from .runner import JobRunner, process_context, stop_pool
from .schemas import ErrorBody, ForecastRequest, KpiRequest, StaffingRequest
from .settings import Settings
from .store import Store

DESCRIPTION = """Forecast contact volume, staff every interval to a service target, roster named
agents, and compare what-if scenarios. Send your API key in `X-API-Key`. Rosters, plans and
scenario sets are jobs: POST answers 202 with the job, `GET /v1/jobs/{id}` shows progress, the
result is at the job's `links.result`.
Errors are JSON `{"error": reason, "message": ..., "fields": [...]}`."""


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = Store(settings.database_url, settings.database_schema, settings.max_jobs_per_tenant,
                      settings.max_solver_seconds_per_hour)
        runner = JobRunner(store, settings)
        app.state.store, app.state.runner = store, runner
        app.state.auth = Authenticator(store, enabled=settings.auth)
        app.state.forecast_pool = ProcessPoolExecutor(settings.forecast_processes, mp_context=process_context())
        app.state.forecast_gate = FairGate(settings.forecast_processes)
        runner.start()
        _stop_with_supervisor()
        # Everything loaded so far lives as long as the process: keep it out of the collector's
        # full passes, which otherwise pause every request for tens of milliseconds.
        gc.collect()
        gc.freeze()
        try:
            yield
        finally:
            runner.stop()
            stop_pool(app.state.forecast_pool)
            store.dispose()

    app = FastAPI(title="wfm", version="1", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None)
    app.state.settings = settings
    _serve_docs_offline(app)
    errors.install(app)
    for module in (health, staffing, forecasts, kpis, rosters, jobs, plans, scenarios, sites, schedules, site_requests,
                   ui):
        app.include_router(module.router)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    if not settings.auth:
        app.add_middleware(LoopbackOnly)
    app.openapi = lambda: _openapi(app)
    logging.getLogger("wfm.api").setLevel(logging.INFO)
    return app


def _stop_with_supervisor(grace_seconds: float = 30.0) -> None:
    """An HTTP worker of `wfm serve --workers N` stops cleanly (its jobs go back to the queue)
    when the uvicorn supervisor that started it is gone, even killed with SIGKILL; uvicorn's
    workers would otherwise keep serving as orphans. A lone server has no such parent."""
    parent = mp.parent_process()
    if parent is None:
        return

    def stop():
        os.kill(os.getpid(), signal.SIGTERM)  # uvicorn's own handler: a graceful shutdown
        time.sleep(grace_seconds)
        os._exit(processes.ORPHANED_EXIT_CODE)

    processes.exit_when_closed(parent.sentinel, on_close=stop)


def _openapi(app: FastAPI) -> dict:
    """The generated schema, plus the models only referenced by hand (the forecast upload's
    JSON alternative), the error body on every answer FastAPI adds by itself, and the links
    from a created job or site to what can be done with it."""
    if app.openapi_schema:
        return app.openapi_schema
    schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    for model in (ForecastRequest, KpiRequest, StaffingRequest):
        extra = model.model_json_schema(ref_template="#/components/schemas/{model}")
        for name, definition in extra.pop("$defs", {}).items():
            components.setdefault(name, definition)
        components[model.__name__] = extra
    components.setdefault("ErrorBody", ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}"))
    add_links(schema)
    app.openapi_schema = schema
    return schema


# Swagger UI and ReDoc from the installed fastapi-offline package, not from a CDN: /docs and
# /redoc work on a machine with no internet (FastAPI's "self-hosting JavaScript and CSS" recipe).
DOCS_ASSETS = Path(fastapi_offline.__file__).parent / "static"
DOCS_ASSETS_URL = "/docs-assets"


def _serve_docs_offline(app: FastAPI) -> None:
    app.mount(DOCS_ASSETS_URL, StaticFiles(directory=DOCS_ASSETS), name="docs-assets")
    favicon = f"{DOCS_ASSETS_URL}/favicon.png"

    @app.get("/docs", include_in_schema=False)
    def swagger_ui() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url=app.openapi_url, title=f"{app.title} - Swagger UI",
                                   oauth2_redirect_url=app.swagger_ui_oauth2_redirect_url,
                                   swagger_js_url=f"{DOCS_ASSETS_URL}/swagger-ui-bundle.js",
                                   swagger_css_url=f"{DOCS_ASSETS_URL}/swagger-ui.css", swagger_favicon_url=favicon)

    @app.get(app.swagger_ui_oauth2_redirect_url, include_in_schema=False)
    def swagger_ui_redirect() -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    @app.get("/redoc", include_in_schema=False)
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url=app.openapi_url, title=f"{app.title} - ReDoc",
                              redoc_js_url=f"{DOCS_ASSETS_URL}/redoc.standalone.js", redoc_favicon_url=favicon,
                              with_google_fonts=False)
