"""The job runner: a thread of the server process that starts one worker process per roster or
plan job, never more than `solver_processes` at once, and watches them.

* Worker processes come from a forkserver that has imported the solver once, so a job starts
  in milliseconds and the event loop never computes. They end with the server, even one killed
  with SIGKILL (`wfm.processes`). They are not daemons, so a roster job may start its second
  search (a daemon may have no children), which ends with its job the same way; `stop()` ends
  them, so the interpreter's exit never waits for one.
* Cancellation and the per-job time limit terminate the worker process: CP-SAT stops with it,
  whatever it is doing.
* Jobs are claimed from the database under a lease the runner renews. If the server dies, the
  lease runs out and any runner (this server restarted, or another one on the same database)
  queues the job again; a job whose worker keeps dying fails after `max_attempts` starts.
"""

from __future__ import annotations

import logging
import multiprocessing as mp
import multiprocessing.connection
import os
import socket
import threading
import time
import uuid
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field

from wfm import processes

from . import work
from .settings import Settings
from .store import CANCELLED, Store

log = logging.getLogger("wfm.api.runner")
PRELOAD = ["api.work", "api.schemas", "wfm.roster.solver", "wfm.roster.report", "forecasts.service", "wfm.simulate"]


def process_context():
    """Forkserver where there is one (Linux, macOS): cheap, safe starts from a threaded server.
    Its processes end with the server, even one killed with SIGKILL."""
    return processes.context(PRELOAD)


def stop_pool(pool: ProcessPoolExecutor, timeout: float = 5.0) -> None:
    """Shut a process pool down and wait, at most `timeout` seconds, for its workers to leave
    (a forecast still running is killed). Waiting matters: uvicorn ends the server by re-raising
    the stop signal, with no exit handlers, so a pool only told to stop may never get the word."""
    workers = list((pool._processes or {}).values())  # emptied by shutdown
    pool.shutdown(wait=False, cancel_futures=True)
    pending, deadline = {w.sentinel: w for w in workers}, time.monotonic() + timeout
    while pending and time.monotonic() < deadline:
        for sentinel in mp.connection.wait(list(pending), deadline - time.monotonic()):
            pending.pop(sentinel)
    for worker in pending.values():
        worker.kill()


@dataclass
class Running:
    job_id: str
    process: mp.Process
    conn: mp.connection.Connection
    deadline: float
    outcome: tuple | None = None
    cancelling: bool = False
    timed_out: bool = False
    kill_at: float | None = None
    progress: dict | None = field(default=None)


class JobRunner:
    def __init__(self, store: Store, settings: Settings):
        self.store, self.settings = store, settings
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.ctx = process_context()
        self.running: dict[str, Running] = {}
        self._stop = threading.Event()
        self._wake_r, self._wake_w = mp.Pipe(duplex=False)
        self._wake_lock = threading.Lock()
        self._thread = threading.Thread(target=self._loop, name="wfm-job-runner", daemon=True)
        self.ready = threading.Event()
        self.last_error: str | None = None

    # --- lifecycle ------------------------------------------------------------------------

    def start(self) -> None:
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop taking jobs; give running ones back to the queue (they restart elsewhere or on
        the next start) and end their worker processes."""
        self._stop.set()
        self.wake()
        self._thread.join(timeout)
        for r in list(self.running.values()):
            _end(r.process)
            try:
                self.store.release(r.job_id, self.owner)
            except Exception:  # database gone: the lease expires and recovery re-queues the job
                log.exception("could not release job %s", r.job_id)
        self.running.clear()

    def alive(self) -> bool:
        return self._thread.is_alive() and self.ready.is_set()

    def wake(self) -> None:
        """Look at the database now (a job was submitted or cancelled)."""
        with self._wake_lock:
            try:
                self._wake_w.send_bytes(b"!")
            except OSError:
                pass

    # --- the loop ---------------------------------------------------------------------------

    def _loop(self) -> None:
        if self.ctx.get_start_method() == "forkserver":
            from multiprocessing import forkserver

            forkserver.ensure_running()  # import the solver once, now, not at the first job
        self.ready.set()
        last_renew = last_recover = 0.0
        while not self._stop.is_set():
            try:
                now = time.monotonic()
                if now - last_recover >= max(self.settings.lease_seconds / 2, 0.5):
                    last_recover = now
                    counts = self.store.recover_expired(self.settings.max_attempts, own=self.owner)
                    if any(counts.values()):
                        log.warning("recovered jobs of stopped runners: %s", counts)
                if now - last_renew >= self.settings.lease_seconds / 3:
                    last_renew = now
                    self._renew()
                self._cancel_requested()
                self._enforce_time_limits()
                if self._claim():
                    self._renew()  # starting workers may have taken longer than the lease
                self.last_error = None
            except Exception as exc:  # database down: keep the workers, retry
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("job runner")
            self._wait(self.settings.poll_seconds)

    def _wait(self, timeout: float) -> None:
        waitables = [self._wake_r] + [r.conn for r in self.running.values()] + \
                    [r.process.sentinel for r in self.running.values()]
        ready = mp.connection.wait(waitables, timeout)
        if self._wake_r in ready:
            while self._wake_r.poll():
                self._wake_r.recv_bytes()
        for r in list(self.running.values()):
            try:
                self._drain(r)
                if not r.process.is_alive():
                    self._drain(r)
                    self._finish(r)
            except Exception as exc:
                self.last_error = f"{type(exc).__name__}: {exc}"
                log.exception("job %s", r.job_id)

    def _drain(self, r: Running) -> None:
        while r.outcome is None and r.conn.poll():
            try:
                kind, payload = r.conn.recv()
            except (EOFError, OSError):
                return
            if kind == "progress":
                r.progress = payload
                self.store.set_progress(r.job_id, self.owner, payload)
            else:
                r.outcome = (kind, payload)

    def _finish(self, r: Running) -> None:
        """The worker process has ended: record what it produced, or why it produced nothing."""
        r.process.join()
        r.conn.close()
        self.running.pop(r.job_id, None)
        kind, payload = r.outcome or (None, None)
        if r.cancelling:
            self.store.fail(r.job_id, self.owner, {"reason": "cancelled", "message": "cancelled while running"},
                            status=CANCELLED)
        elif kind == "result":
            self.store.finish(r.job_id, self.owner, payload, r.progress)
        elif kind in ("error", "crash"):
            self.store.fail(r.job_id, self.owner, payload)
        elif r.timed_out:
            self.store.fail(r.job_id, self.owner, {
                "reason": "time_limit_exceeded",
                "message": f"stopped after the job time limit ({self._limit_text(r)}) without a result"})
        else:
            status = self.store.retry_or_fail(r.job_id, self.owner, self.settings.max_attempts, "worker_died",
                                              f"its worker process ended unexpectedly (exit code {r.process.exitcode})")
            log.warning("job %s: worker died (exit %s), now %s", r.job_id, r.process.exitcode, status)

    def _limit_text(self, r: Running) -> str:
        job = self.store.get(r.job_id)
        return f"{job.time_limit_seconds:g} s solve + {self.settings.job_grace_seconds:g} s" if job else "?"

    def _renew(self) -> None:
        held = self.store.renew(self.owner, list(self.running), self.settings.lease_seconds)
        for job_id in set(self.running) - held:  # our lease ran out and the job went elsewhere
            r = self.running.pop(job_id)
            log.warning("job %s: lease lost, stopping its worker", job_id)
            _end(r.process)
            r.conn.close()

    def _cancel_requested(self) -> None:
        for job_id in self.store.cancel_requested(self.owner, list(self.running)):
            r = self.running[job_id]
            if not r.cancelling:
                r.cancelling = True
                _stop(r)

    def _enforce_time_limits(self) -> None:
        now = time.monotonic()
        for r in self.running.values():
            if not r.timed_out and now > r.deadline:
                r.timed_out = True
                _stop(r)
            if r.kill_at is not None and now > r.kill_at and r.process.is_alive():
                r.process.kill()

    def _claim(self) -> bool:
        free = self.settings.solver_processes - len(self.running)
        if free <= 0 or self._stop.is_set():
            return False
        claimed = self.store.claim(self.owner, self.settings.lease_seconds, free)
        for job in claimed:
            reader, writer = self.ctx.Pipe(duplex=False)
            process = self.ctx.Process(target=work.worker_main, args=(job.kind, job.input, writer, os.getpid(),
                                                                          self.settings.solver_niceness),
                                       name=f"wfm-job-{job.id[:8]}", daemon=False)
            process.start()
            writer.close()  # the worker holds the only writing end: its exit closes the pipe
            if self._stop.is_set():  # stop() may have passed: a worker left running would hold up the exit
                _end(process)
            deadline = time.monotonic() + job.time_limit_seconds + self.settings.job_grace_seconds
            self.running[job.id] = Running(job.id, process, reader, deadline)
            self.store.set_worker(job.id, self.owner, process.pid)
            log.info("job %s (%s): started in process %s, attempt %s", job.id, job.kind, process.pid, job.attempts)
        return bool(claimed)


def _stop(r: Running) -> None:
    """SIGTERM ends a CP-SAT solve at once (no Python handler runs in the worker); SIGKILL
    follows if the process is still there two seconds later."""
    if r.process.is_alive():
        r.process.terminate()
    r.kill_at = time.monotonic() + 2.0


def _end(process: mp.Process) -> None:
    if process.is_alive():
        process.terminate()
        process.join(2.0)
    if process.is_alive():
        process.kill()
        process.join(2.0)
