"""Processes started through `wfm.processes.context()` end when their creator is killed: a pool
worker blocked on its task queue, and the fork server that forked it."""

import multiprocessing as mp
import os
import signal
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import pytest

from wfm import processes


def _running(pid: int) -> bool:
    """Alive and not a zombie waiting for a parent that may never reap it."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    if stat.exists():
        try:
            return stat.read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except OSError:
            return False
    return True


def _start_a_pool_and_wait(report) -> None:
    from multiprocessing import forkserver

    pool = ProcessPoolExecutor(1, mp_context=processes.context())
    worker = pool.submit(os.getpid).result()
    report.put((worker, forkserver._forkserver._forkserver_pid))
    time.sleep(120)


@pytest.mark.skipif("forkserver" not in mp.get_all_start_methods(), reason="needs a fork server")
def test_a_pool_worker_and_its_fork_server_end_when_the_creator_is_killed():
    spawn = mp.get_context("spawn")
    report = spawn.Queue()
    creator = spawn.Process(target=_start_a_pool_and_wait, args=(report,))
    creator.start()
    worker = server = None
    try:
        worker, server = report.get(timeout=60)
        assert _running(worker) and _running(server) and worker != server
        os.kill(creator.pid, signal.SIGKILL)
        creator.join(10)
        deadline = time.time() + 10
        while (_running(worker) or _running(server)) and time.time() < deadline:
            time.sleep(0.1)
        assert not _running(worker), "the pool worker outlived its killed creator"
        assert not _running(server), "the fork server outlived its killed creator"
    finally:
        for pid in (creator.pid, worker, server):
            if pid is not None and _running(pid):
                os.kill(pid, signal.SIGKILL)
        creator.join(10)


def test_a_child_runs_normally_while_its_creator_lives():
    with ProcessPoolExecutor(2, mp_context=processes.context()) as pool:
        assert list(pool.map(abs, [-1, -2, 3])) == [1, 2, 3]
