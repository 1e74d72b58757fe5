"""A real `wfm serve` that has served a forecast and a roster job leaves no process behind,
whether it is stopped cleanly (SIGTERM, one or two HTTP workers) or killed with SIGKILL: not
its forecast pool, not a job's solver, not the multiprocessing forkserver or resource tracker.

The server runs in a session of its own; orphans keep that session id when they are re-parented,
so "every live process of the session" is exactly what the server left behind."""

import json
import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from api.store import Store
from api_helpers import busy_input, history_rows
from test_api_restart import WFM, Server, _call, _free_port

pytestmark = pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux /proc to count processes")


def _session_members(sid: int) -> dict[int, str]:
    """Live (not zombie) processes of session `sid`, with their command lines."""
    members = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # ended while we looked
            continue
        state, _ppid, _pgrp, session = stat.rsplit(")", 1)[1].split()[:4]
        if int(session) == sid and state != "Z":
            members[int(entry.name)] = cmdline
    return members


def _left_after(sid: int, seconds: float) -> dict[int, str]:
    deadline = time.time() + seconds
    while (left := _session_members(sid)) and time.time() < deadline:
        time.sleep(0.2)
    return left


def _wait_for(predicate, seconds: float, what: str):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def service(tmp_path):
    """A key, a store and the environment of a server on a fresh SQLite file; whatever the test
    leaves running in a server's session is killed at the end."""
    db = tmp_path / "jobs.db"
    env = {**os.environ, "WFM_DATABASE_URL": f"sqlite:///{db}", "WFM_POLL_SECONDS": "0.1", "WFM_LEASE_SECONDS": "2"}
    key = subprocess.run([WFM, "apikey", "create", "--tenant", "acme"], env=env, capture_output=True, text=True,
                         check=True).stdout.strip()
    store = Store(f"sqlite:///{db}")
    started: list[Server] = []

    def start(workers: int = 1) -> Server:
        # two HTTP workers each start a forkserver that imports the solver: slow on a loaded machine
        server = Server(env, _free_port(), tmp_path / "server.log", workers=workers, ready_seconds=90)
        started.append(server)
        return server

    yield start, key, store
    store.dispose()
    for server in started:
        for pid in _session_members(server.proc.pid):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if server.proc.poll() is None:
            server.proc.kill()
        server.proc.wait(10)


def _serve_a_forecast_and_a_roster(server: Server, key: str, store: Store, seconds: float) -> str:
    """Leaves the server with every kind of child it makes: a forecast pool worker (idle), a
    job's solver (running for `seconds`), the forkserver and the resource tracker."""
    body = json.dumps({"timezone": "UTC", "interval_minutes": 60, "days": 7, "history": history_rows(weeks=3)})
    request = urllib.request.Request(server.url + "/v1/forecasts", data=body.encode(), method="POST",
                                     headers={"X-API-Key": key, "Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=60) as answer:  # a cold worker on a loaded machine
        assert answer.status == 200
    status, job = _call("POST", server.url + "/v1/rosters", key,
                        busy_input(agents=12, seconds=seconds).model_dump_json().encode())
    assert status == 202, job
    _wait_for(lambda: store.get(job["id"]).worker_pid, 30, "the job's worker process")
    return job["id"]


@pytest.mark.parametrize("workers, mid_solve, stop", [(1, False, signal.SIGTERM), (2, True, signal.SIGINT)])
def test_a_clean_stop_leaves_no_process_and_gives_a_running_job_back(service, workers, mid_solve, stop):
    start, key, store = service
    server = start(workers)
    job_id = _serve_a_forecast_and_a_roster(server, key, store, seconds=30 if mid_solve else 1)
    # HTTP workers (with --workers 2), forecast worker, solver, forkserver, resource tracker
    assert len(_session_members(server.proc.pid)) >= 5 + (workers > 1) * 2, _session_members(server.proc.pid)
    if not mid_solve:
        _wait_for(lambda: store.get(job_id).status == "succeeded", 40, "the roster")

    server.proc.send_signal(stop)
    server.proc.wait(30)
    left = _left_after(server.proc.pid, 5)
    assert not left, f"left behind by a clean stop: {left}"
    job = store.get(job_id)
    assert (job.status, job.worker_pid) == (("queued", None) if mid_solve else ("succeeded", job.worker_pid))


@pytest.mark.parametrize("workers", [1, 2])
def test_sigkill_leaves_no_process_behind(service, workers):
    start, key, store = service
    server = start(workers)
    job_id = _serve_a_forecast_and_a_roster(server, key, store, seconds=30)
    assert len(_session_members(server.proc.pid)) >= 5 + (workers > 1) * 2, _session_members(server.proc.pid)

    server.proc.send_signal(signal.SIGKILL)
    server.proc.wait(10)
    left = _left_after(server.proc.pid, 10)
    assert not left, f"left behind by SIGKILL: {left}"
    # One process: nobody told the store, the lease re-queues the job (test_api_restart). Two:
    # the HTTP worker saw its supervisor go and stopped cleanly, giving the job back.
    assert store.get(job_id).status == ("running" if workers == 1 else "queued")


SAMPLE_SITE = Path(__file__).resolve().parents[1] / "bench" / "sites" / "sample-30.json"


def _descendants(root: int) -> dict[int, int]:
    """Live descendants of `root`, each with its depth below it (1: a child)."""
    parents = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if fields[0] != "Z":
                parents[int(entry.name)] = int(fields[1])
    depths, frontier = {}, [(root, 0)]
    while frontier:
        pid, depth = frontier.pop()
        for child in (p for p, parent in parents.items() if parent == pid):
            depths[child] = depth + 1
            frontier.append((child, depth + 1))
    return depths


def _second_search_of(store: Store, job_id: str) -> set[int]:
    """The job's worker process and what it started: its fork server and the second search that
    fork server forked (a grandchild), once there is one."""
    worker = store.get(job_id).worker_pid
    below = _descendants(worker) if worker else {}
    return {worker, *below} if any(depth >= 2 for depth in below.values()) else set()


@pytest.mark.parametrize("end", ["finish", "cancel", "kill the job", "stop the server", "kill the server"])
def test_a_roster_job_with_two_workers_runs_a_second_search_that_ends_with_it(service, end):
    start, key, store = service
    server = start()
    site = json.loads(SAMPLE_SITE.read_text())
    assert site["solver"]["workers"] == 2
    site["solver"]["time_limit_seconds"] = 8.0 if end == "finish" else 30.0
    status, job = _call("POST", server.url + "/v1/rosters", key, json.dumps(site).encode())
    assert status == 202, job
    job_processes = _wait_for(lambda: _second_search_of(store, job["id"]), 40, "the job's second search")

    if end == "finish":
        _wait_for(lambda: store.get(job["id"]).status == "succeeded", 60, "the roster")
    elif end == "cancel":
        assert _call("DELETE", f"{server.url}/v1/jobs/{job['id']}", key)[0] == 202
    elif end == "kill the job":  # what the runner does to a cancelled or timed-out job that ignores SIGTERM
        os.kill(store.get(job["id"]).worker_pid, signal.SIGKILL)
    else:
        server.proc.send_signal(signal.SIGTERM if end == "stop the server" else signal.SIGKILL)
        server.proc.wait(30)  # a clean stop must not wait for the job: it ends it and gives it back
    deadline = time.time() + 10
    while (left := job_processes & set(_session_members(server.proc.pid))) and time.time() < deadline:
        time.sleep(0.2)
    assert not left, f"left behind by {end}: {left}"
    if end.endswith("the server"):
        assert not _left_after(server.proc.pid, 10)
    if end == "stop the server":
        assert store.get(job["id"]).status == "queued"
    if end == "cancel":
        _wait_for(lambda: store.get(job["id"]).status == "cancelled", 10, "the job to be cancelled")
    if end == "kill the job":  # not lost: started again
        _wait_for(lambda: store.get(job["id"]).attempts >= 2, 20, "the job's second attempt")
