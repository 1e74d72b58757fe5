"""Run many independent tasks: in this process, on a local process pool, or on a Dask cluster.

Scenario sets and simulation replications go through `Executor.map` and nothing else knows
which backend runs them. `make_executor` chooses: a Dask scheduler address (`--dask
tcp://host:8786` or the WFM_DASK_SCHEDULER environment variable) wins; otherwise a local
process pool with `workers` processes, or this process when `workers` is 1.

Every task is run through `_call`, which turns an exception into an `Outcome` with the
reason, so one failing task never sinks the others. Tasks and their functions must be
picklable (module-level functions and pydantic models are); on a Dask cluster every worker
needs the same `wfm` version installed.
"""

from __future__ import annotations

import os
import time
import traceback
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Protocol

from . import processes
from .errors import InputError

DASK_ENV = "WFM_DASK_SCHEDULER"

# Modules a process-pool worker imports once in the fork server, not once per task.
_PRELOAD = ["numpy", "pandas", "wfm.simulate", "wfm.scenarios"]


@dataclass
class Outcome:
    """One task's result (`value`) or the reason it failed (`error`), in input order (`index`)."""

    index: int
    value: Any = None
    error: str | None = None
    seconds: float = 0.0
    unexpected: bool = False  # the error is a bug or a resource problem, not the input's fault

    @property
    def ok(self) -> bool:
        return self.error is None


OnDone = Callable[[Outcome], None]


class Executor(Protocol):
    name: str
    parallelism: int  # tasks that can run at once: how finely to split work

    def map(self, fn: Callable, tasks: Iterable, on_done: OnDone | None = None) -> list[Outcome]:
        """fn(task) for every task; `on_done` sees each outcome as it finishes (any order);
        the returned list is in task order."""

    def __enter__(self) -> "Executor": ...

    def __exit__(self, *exc) -> None: ...


def _call(fn: Callable, index: int, task) -> Outcome:
    started = time.perf_counter()
    try:
        return Outcome(index, fn(task), seconds=time.perf_counter() - started)
    except InputError as exc:  # the user's input: the message says what to fix
        return Outcome(index, error=str(exc), seconds=time.perf_counter() - started)
    except Exception as exc:  # a bug or a resource problem: keep the place it happened
        where = traceback.extract_tb(exc.__traceback__)[-1]
        reason = f"{type(exc).__name__}: {exc} (at {os.path.basename(where.filename)}:{where.lineno})"
        return Outcome(index, error=reason, seconds=time.perf_counter() - started, unexpected=True)


def _collect(outcomes: list[Outcome | None], outcome: Outcome, on_done: OnDone | None) -> None:
    outcomes[outcome.index] = outcome
    if on_done is not None:
        on_done(outcome)


class SequentialExecutor:
    """Tasks one after another in this process (workers=1, and the reference for the others)."""

    name = "sequential"
    parallelism = 1

    def map(self, fn, tasks, on_done=None):
        tasks = list(tasks)
        outcomes: list[Outcome | None] = [None] * len(tasks)
        for i, task in enumerate(tasks):
            _collect(outcomes, _call(fn, i, task), on_done)
        return outcomes

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None


class ProcessExecutor:
    """A local pool of `workers` processes. Started by a fork server (a clean process forked on
    demand), so workers never inherit the threads of a solver that ran in the parent."""

    def __init__(self, workers: int):
        self.parallelism = workers
        self.name = f"process pool ({workers})"
        self._pool: ProcessPoolExecutor | None = None
        self._depth = 0  # nested `with`: the outermost one owns the pool

    def __enter__(self):
        if self._depth == 0:
            # workers end with this process, even when it is killed (a cancelled API job)
            self._pool = ProcessPoolExecutor(max_workers=self.parallelism, mp_context=processes.context(_PRELOAD))
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0 and self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def map(self, fn, tasks, on_done=None):
        if self._pool is None:
            with self:
                return self.map(fn, tasks, on_done)
        tasks = list(tasks)
        outcomes: list[Outcome | None] = [None] * len(tasks)
        futures = {self._pool.submit(_call, fn, i, task): i for i, task in enumerate(tasks)}
        for future in as_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the worker process died (out of memory, killed)
                outcome = Outcome(futures[future], error=f"worker process failed: {type(exc).__name__}: {exc}",
                                  unexpected=True)
            _collect(outcomes, outcome, on_done)
        return outcomes


class DaskExecutor:
    """Tasks on a Dask distributed cluster (`tcp://host:8786`). Each task is one Dask future;
    results come back as they finish."""

    def __init__(self, address: str):
        self.address = address
        self.name = f"dask ({address})"
        self.parallelism = 1
        self._client = None
        self._depth = 0

    def __enter__(self):
        if self._depth == 0:
            from distributed import Client

            try:
                self._client = Client(self.address, timeout="10s")
            except (OSError, TimeoutError) as exc:
                raise InputError("dask", self.address, f"cannot reach the Dask scheduler: {exc}") from None
            self.parallelism = max(sum(self._client.nthreads().values()), 1)
        self._depth += 1
        return self

    def __exit__(self, *exc):
        self._depth -= 1
        if self._depth == 0 and self._client is not None:
            self._client.close()
            self._client = None

    def map(self, fn, tasks, on_done=None):
        if self._client is None:
            with self:
                return self.map(fn, tasks, on_done)
        from distributed import as_completed as dask_completed

        tasks = list(tasks)
        outcomes: list[Outcome | None] = [None] * len(tasks)
        futures = [self._client.submit(_call, fn, i, task, pure=False) for i, task in enumerate(tasks)]
        index = {f.key: i for i, f in enumerate(futures)}
        for future in dask_completed(futures):
            try:
                outcome = future.result()
            except Exception as exc:  # the worker died or the task could not be shipped
                outcome = Outcome(index[future.key], error=f"dask worker failed: {type(exc).__name__}: {exc}",
                                  unexpected=True)
            _collect(outcomes, outcome, on_done)
        return outcomes


def make_executor(workers: int | None = None, dask: str | None = None) -> Executor:
    """Dask when an address is given (argument, else WFM_DASK_SCHEDULER); else a process pool
    of `workers` (default: CPU count), or this process for workers=1."""
    address = dask or os.environ.get(DASK_ENV) or None
    if address:
        if "://" not in address:
            raise InputError("dask", address, "give the scheduler address as tcp://host:8786")
        return DaskExecutor(address)
    if workers is None:
        workers = os.cpu_count() or 1
    if workers < 1:
        raise InputError("processes", workers, "must be >= 1")
    return SequentialExecutor() if workers == 1 else ProcessExecutor(workers)
