"""`wfm.simulate.simulated_week`: one seeded 'actual' week of contacts served by a roster."""

import numpy as np

from wfm.domain import Horizon
from wfm.simulate import QueueDemand, simulated_week

HORIZON = Horizon(start="2026-03-28", days=2, interval_minutes=60, timezone="Europe/Berlin")  # DST on Sunday


def demand(servers: int, volume: float = 20.0, aht: float = 120.0) -> QueueDemand:
    n = len(HORIZON.interval_starts())
    return QueueDemand(queue="q", servers=np.full(n, servers), volume=np.full(n, volume), aht_seconds=np.full(n, aht))


def test_the_week_is_seeded_local_and_shaped_like_a_history():
    week = simulated_week(HORIZON, [demand(5)], seed=3)
    assert week.equals(simulated_week(HORIZON, [demand(5)], seed=3))
    assert not week.equals(simulated_week(HORIZON, [demand(5)], seed=4))
    assert list(week.columns) == ["created_at", "queue", "handle_seconds", "wait_seconds", "abandoned"]
    assert set(week["created_at"].str[-6:]) == {"+01:00", "+02:00"}  # the wall clock on both sides of the DST change
    n = len(HORIZON.interval_starts())  # 47 hours: ~20 contacts each, day factors near 1
    assert 0.6 * 20 * n < len(week) < 1.4 * 20 * n


def test_enough_agents_answer_at_once_and_none_abandon_for_long():
    ample = simulated_week(HORIZON, [demand(40)], seed=0)
    assert (ample["abandoned"] == "false").all() and (ample["wait_seconds"] == 0).all()
    nobody = simulated_week(HORIZON, [demand(0)], seed=0)
    assert (nobody["abandoned"] == "true").all() and (nobody["handle_seconds"] == 0).all()
    short = simulated_week(HORIZON, [demand(2, volume=60)], seed=0)  # load 2 erlangs on 2 agents: queues build
    assert (short["abandoned"] == "true").mean() > 0.1
