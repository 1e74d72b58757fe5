"""One executor interface, three backends: the same answers in the same order, a failing task
reported without sinking the others, and the Dask backend chosen by address or environment."""

import numpy as np
import pytest

from wfm.domain import Horizon
from wfm.errors import InputError
from wfm.executor import DASK_ENV, DaskExecutor, ProcessExecutor, SequentialExecutor, make_executor
from wfm.simulate import QueueDemand, SimulationOptions, simulate_demands


def square_or_fail(x):
    if x == 3:
        raise InputError("x", x, "three is not allowed")
    if x == 5:
        raise ZeroDivisionError("division by zero")
    return x * x


def run(executor, tasks):
    seen = []
    with executor as ex:
        outcomes = ex.map(square_or_fail, tasks, on_done=lambda o: seen.append(o.index))
    return outcomes, seen


@pytest.mark.parametrize("backend", ["sequential", "process", "dask"])
def test_every_backend_returns_results_in_task_order_and_isolates_failures(backend, request):
    executor = {"sequential": lambda: SequentialExecutor(), "process": lambda: ProcessExecutor(2),
                "dask": lambda: DaskExecutor(request.getfixturevalue("dask_address"))}[backend]()
    tasks = list(range(8))
    outcomes, seen = run(executor, tasks)
    assert sorted(seen) == tasks  # progress saw every task once
    assert [o.index for o in outcomes] == tasks
    assert [o.value for o in outcomes if o.ok] == [x * x for x in tasks if x not in (3, 5)]
    assert outcomes[3].error == "x=3: three is not allowed"
    assert outcomes[5].error.startswith("ZeroDivisionError: division by zero (at test_executor.py:")


def test_make_executor_chooses_by_address_environment_and_workers(monkeypatch):
    monkeypatch.delenv(DASK_ENV, raising=False)
    assert isinstance(make_executor(1), SequentialExecutor)
    assert isinstance(make_executor(2), ProcessExecutor)
    monkeypatch.setenv(DASK_ENV, "tcp://scheduler:8786")
    chosen = make_executor(2)
    assert isinstance(chosen, DaskExecutor) and chosen.address == "tcp://scheduler:8786"
    assert make_executor(2, dask="tcp://other:8786").address == "tcp://other:8786"
    with pytest.raises(InputError, match="tcp://host:8786"):
        make_executor(dask="scheduler:8786")
    monkeypatch.delenv(DASK_ENV)
    with pytest.raises(InputError, match="processes"):
        make_executor(0)


def test_simulation_on_dask_equals_the_sequential_run(dask_address):
    # Each replication has its own seed, so splitting replications across workers changes nothing.
    h = Horizon(start="2026-03-02", days=1, interval_minutes=30, timezone="UTC")
    n = len(h.interval_starts())
    demands = [QueueDemand("a", np.full(n, 5), np.full(n, 40.0), np.full(n, 180.0), patience_seconds=90.0),
               QueueDemand("b", np.full(n, 3), np.full(n, 10.0), np.full(n, 300.0))]
    options = SimulationOptions(replications=5, seed=11)
    alone = simulate_demands(h, demands, options)
    with DaskExecutor(dask_address) as ex:
        spread = simulate_demands(h, demands, options, ex)
    assert spread.contacts == alone.contacts
    assert spread.summary.equals(alone.summary)


def test_nested_use_shares_one_pool_until_the_outer_block_ends():
    # run_scenarios enters the executor it is given; a caller that already did must keep its pool.
    executor = ProcessExecutor(2)
    with executor:
        with executor:
            first = executor.map(square_or_fail, [2])
        assert executor._pool is not None
        second = executor.map(square_or_fail, [4])
    assert executor._pool is None and first[0].value == 4 and second[0].value == 16
