"""A real `wfm serve` process killed with SIGKILL in the middle of a solve: its solver worker
goes with it, and after a restart the job is run again and completes. Plus the CLI contract
of `wfm serve` and `wfm apikey create`."""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.store import Store
from api_helpers import busy_input, roster_input
from wfm.cli import app

WFM = str(Path(sys.executable).parent / "wfm")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _call(method, url, key, body: bytes | None = None):
    req = urllib.request.Request(url, data=body, method=method,
                                 headers={"X-API-Key": key, "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


class Server:
    def __init__(self, env, port, log: Path, workers: int = 1, ready_seconds: float = 30):
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen([WFM, "serve", "--port", str(port), "--log-level", "warning",
                                      "--http-processes", str(workers)], env=env,
                                     stdout=subprocess.DEVNULL, stderr=open(log, "a"), start_new_session=True)
        deadline = time.time() + ready_seconds
        while time.time() < deadline:
            assert self.proc.poll() is None, log.read_text()
            try:
                if _call("GET", self.url + "/readyz", "")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.1)
        raise AssertionError("server not ready: " + log.read_text())

    def job(self, job_id, key) -> dict:
        return _call("GET", f"{self.url}/v1/jobs/{job_id}", key)[1]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def servers():
    """Every server a test starts is stopped, whatever the test's outcome."""
    started = []
    yield started
    for server in started:  # the server's session: its HTTP workers and solver processes too
        try:
            os.killpg(server.proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        server.proc.wait(10)


def test_sigkill_mid_solve_then_restart_completes_the_job(tmp_path, servers):
    db = tmp_path / "jobs.db"
    env = {**os.environ, "WFM_DATABASE_URL": f"sqlite:///{db}", "WFM_LEASE_SECONDS": "1", "WFM_POLL_SECONDS": "0.1"}
    key = subprocess.run([WFM, "apikey", "create", "--tenant", "acme"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    assert key.startswith("wfm_") and key not in db.read_bytes().decode(errors="ignore")
    port, log = _free_port(), tmp_path / "server.log"
    store = Store(f"sqlite:///{db}")

    server = Server(env, port, log)
    servers.append(server)
    status, job = _call("POST", server.url + "/v1/rosters", key,
                        busy_input(agents=12, seconds=2).model_dump_json().encode())
    assert status == 202, job
    deadline = time.time() + 20
    while time.time() < deadline and not store.get(job["id"]).worker_pid:
        time.sleep(0.05)
    worker = store.get(job["id"]).worker_pid
    time.sleep(0.5)  # into the model build or the solve (2 s)
    view = server.job(job["id"], key)
    assert view["status"] == "running" and _alive(worker), view

    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    deadline = time.time() + 5
    while _alive(worker) and time.time() < deadline:
        time.sleep(0.1)
    assert not _alive(worker), "the solver outlived its killed server"
    assert store.get(job["id"]).status == "running"  # nobody has told the database yet

    server = Server(env, port, log)
    servers.append(server)
    deadline = time.time() + 40
    while time.time() < deadline:
        view = server.job(job["id"], key)
        if view["status"] in ("succeeded", "failed", "cancelled"):
            break
        time.sleep(0.2)
    assert view["status"] == "succeeded" and view["attempts"] == 2, (view["attempts"], view["error"])
    status, roster = _call("GET", f"{server.url}/v1/rosters/{job['id']}", key)
    assert status == 200 and roster["feasible"] and roster["kpis"]["shifts"] > 0
    server.proc.terminate()
    server.proc.wait(10)
    store.dispose()


def _children(pid: int) -> list[int]:
    return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]


@pytest.mark.skipif(not Path("/proc/self/task").exists(), reason="needs Linux /proc to see the worker processes")
def test_two_http_workers_share_one_job_store(tmp_path, servers):
    """`wfm serve --http-processes 2`: two HTTP processes (each with its own job runner) on one SQLite
    store; every job is solved exactly once (no two runners claim it) and staffing answers."""
    db = tmp_path / "jobs.db"
    env = {**os.environ, "WFM_DATABASE_URL": f"sqlite:///{db}", "WFM_POLL_SECONDS": "0.1"}
    key = subprocess.run([WFM, "apikey", "create", "--tenant", "acme"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    server = Server(env, _free_port(), tmp_path / "server.log", workers=2)
    servers.append(server)
    deadline = time.time() + 30
    while len(_children(server.proc.pid)) < 2 and time.time() < deadline:
        time.sleep(0.1)
    http_workers = set(_children(server.proc.pid))
    assert len(http_workers) >= 2, "uvicorn did not start two worker processes"

    ids = []
    for k in range(3):
        status, job = _call("POST", server.url + "/v1/rosters", key,
                            roster_input(agents=3, seconds=2, seed=k).model_dump_json().encode())
        assert status == 202, job
        ids.append(job["id"])
    body = json.dumps({"interval_minutes": 30, "target": {"service_level": 0.8, "answer_seconds": 20},
                       "queues": [{"queue": "q", "volume": [100], "aht_seconds": [180]}]}).encode()
    for _ in range(20):
        status, answer = _call("POST", server.url + "/v1/staffing", key, body)
        assert status == 200 and answer["queues"][0]["agents"] == [14]
    store = Store(f"sqlite:///{db}")
    deadline = time.time() + 60
    while time.time() < deadline and any(store.get(i).status in ("queued", "running") for i in ids):
        time.sleep(0.2)
    for i in ids:
        job = store.get(i)
        assert job.status == "succeeded" and job.attempts == 1, (job.status, job.attempts, job.error)
    store.dispose()
    server.proc.terminate()  # a clean stop ends the HTTP workers with the supervisor
    server.proc.wait(20)
    deadline = time.time() + 10
    while any(_alive(pid) for pid in http_workers) and time.time() < deadline:
        time.sleep(0.1)
    assert not any(_alive(pid) for pid in http_workers), "HTTP workers outlived their stopped server"


def test_no_auth_refuses_a_network_address_and_apikey_needs_a_tenant(tmp_path):
    runner = CliRunner()
    res = runner.invoke(app, ["serve", "--no-auth", "--host", "0.0.0.0"])
    assert res.exit_code == 2 and "refuses to bind 0.0.0.0" in res.output
    res = runner.invoke(app, ["serve", "--no-auth", "--host", "192.168.1.10"])
    assert res.exit_code == 2
    res = runner.invoke(app, ["serve", "--no-auth", "--http-processes", "2"])
    assert res.exit_code == 2 and "one HTTP process" in res.output
    res = runner.invoke(app, ["apikey", "create", "--tenant", " ", "--database-url", f"sqlite:///{tmp_path / 'k.db'}"])
    assert res.exit_code == 2 and "--tenant" in res.output
