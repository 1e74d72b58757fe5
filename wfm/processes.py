"""Child processes that end when the process that started them ends, however it ends.

A process-pool worker waits on its task queue, both ends of which it holds, so it never notices
that its parent was killed (SIGKILL, out of memory); and the multiprocessing fork server that
forked it stays up as long as any of its children does. So every process started through a
context from `context()` gets the reading end of a pipe whose writing end only its creator holds,
plus a thread that ends the child as soon as the pipe reports end-of-file. A pipe rather than a
pid: no race with pid reuse, no polling, and the same on Linux and macOS. The fork server and the
resource tracker then exit by themselves: they run while a process holds their pipes.
"""

from __future__ import annotations

import multiprocessing as mp
import multiprocessing.connection
import multiprocessing.context
import os
import threading

ORPHANED_EXIT_CODE = 3  # a child that ended because its creator had gone
_lock = threading.Lock()
_lifeline: tuple[int, mp.connection.Connection, mp.connection.Connection] | None = None


def _creator_lifeline() -> mp.connection.Connection:
    """The reading end of this process's lifeline; the writing end lives (unused) until this
    process ends, so the kernel closes it exactly then."""
    global _lifeline
    with _lock:
        if _lifeline is None or _lifeline[0] != os.getpid():  # made in a parent that forked us: not ours
            reader, writer = mp.Pipe(duplex=False)
            _lifeline = (os.getpid(), reader, writer)
        return _lifeline[1]


def exit_when_closed(lifeline, on_close=None) -> threading.Thread:
    """Start a daemon thread that waits for end-of-file on `lifeline` (a Connection or a file
    descriptor that nothing writes to), then calls `on_close`
    (default: leave at once, without cleanup: nobody is there to receive results)."""

    def watch():
        try:
            mp.connection.wait([lifeline])
        except OSError:
            pass
        (on_close or _leave)()

    thread = threading.Thread(target=watch, name="wfm-lifeline", daemon=True)
    thread.start()
    return thread


def _leave() -> None:
    os._exit(ORPHANED_EXIT_CODE)


class _EndsWithCreator:
    """Mixin for a multiprocessing Process class: pickled with the process object, the lifeline
    reaches the child, whose `run` starts watching it before the target runs."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._creator_lifeline = _creator_lifeline()

    def run(self):
        exit_when_closed(self._creator_lifeline)
        super().run()


class ForkServerProcess(_EndsWithCreator, mp.context.ForkServerProcess):
    pass


class SpawnProcess(_EndsWithCreator, mp.context.SpawnProcess):
    pass


class _ForkServerContext(mp.context.ForkServerContext):
    Process = ForkServerProcess


class _SpawnContext(mp.context.SpawnContext):
    Process = SpawnProcess


def context(preload: list[str] | None = None) -> mp.context.BaseContext:
    """A multiprocessing context (for `Process` or `ProcessPoolExecutor(mp_context=...)`) whose
    processes end with their creator. A fork server where there is one (Linux, macOS): cheap,
    safe starts from a threaded process, `preload` imported once in it; else spawn."""
    if "forkserver" in mp.get_all_start_methods():
        ctx = _ForkServerContext()
        if preload:
            ctx.set_forkserver_preload(preload)
        return ctx
    return _SpawnContext()
