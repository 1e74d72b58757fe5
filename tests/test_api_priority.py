"""Job worker processes (the solver) run at a lower CPU priority than the HTTP server, by
WFM_SOLVER_NICENESS (0 keeps them level): staffing answers stay fast while a roster solves."""

import os
import time

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api_helpers import busy_input

pytestmark = pytest.mark.skipif(not hasattr(os, "getpriority"), reason="needs os.getpriority (POSIX)")


def worker_niceness(tmp_path, **settings) -> int:
    """The niceness of a running roster job's worker, relative to the server's own."""
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", poll_seconds=0.05, **settings))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        key = {"X-API-Key": app.state.store.create_api_key("acme")}
        res = client.post("/v1/rosters", content=busy_input(agents=20, seconds=20).model_dump_json(),
                          headers={**key, "Content-Type": "application/json"})
        assert res.status_code == 202, res.text
        deadline = time.time() + 60
        while time.time() < deadline:
            view = client.get(f"/v1/jobs/{res.json()['id']}", headers=key).json()
            running = list(app.state.runner.running.values())
            if view["progress"] and running:  # solving: the worker has set its priority long since
                niceness = os.getpriority(os.PRIO_PROCESS, running[0].process.pid) - os.getpriority(
                    os.PRIO_PROCESS, 0)
                client.delete(f"/v1/jobs/{res.json()['id']}", headers=key)
                return niceness
            time.sleep(0.05)
        raise AssertionError(f"the job never reported progress: {view}")


def test_the_solver_runs_nicer_than_the_server(tmp_path):
    assert worker_niceness(tmp_path) == min(Settings().solver_niceness, 19 - os.getpriority(os.PRIO_PROCESS, 0))


def test_niceness_zero_keeps_the_solver_level_with_the_server(tmp_path):
    assert worker_niceness(tmp_path, solver_niceness=0) == 0
