from fastapi import APIRouter, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse

from ..schemas import Health

router = APIRouter(tags=["health"])


@router.get("/healthz", response_model=Health, summary="The process is up")
async def healthz() -> dict:
    return {"status": "ok", "checks": {}}


@router.get("/readyz", response_model=Health, responses={503: {"model": Health}},
            summary="The database answers and the job runner is alive")
async def readyz(request: Request):
    checks = {}
    try:
        await run_in_threadpool(request.app.state.store.ping)
        checks["database"] = "ok"
    except Exception as exc:
        checks["database"] = f"unreachable: {type(exc).__name__}"
    runner = request.app.state.runner
    checks["workers"] = "ok" if runner.alive() else "not running"
    if runner.last_error:
        checks["workers"] = f"error: {runner.last_error}"
    ok = all(v == "ok" for v in checks.values())
    return JSONResponse({"status": "ok" if ok else "unavailable", "checks": checks}, status_code=200 if ok else 503)
