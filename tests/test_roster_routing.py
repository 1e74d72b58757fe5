"""Best routing of on-queue agents to queues (`wfm/roster/routing.py`) against brute force.

For a handful of agents per pool every routing can be listed: the closed form (min cuts, and the
greedy over queues by weight where under weights differ by queue) must equal the best of them, one
more agent's gain must be the difference of two such optima, and the explicit routing `flows` gives
must reach that optimum while keeping each pool to its own queues and agents.
"""

from itertools import product

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from wfm.roster.routing import Routing


def _splits(count: int, queues: tuple[int, ...]):
    """Every way to send `count` agents to `queues` (per queue counts)."""
    if len(queues) == 1:
        yield {queues[0]: count}
        return
    for here in range(count + 1):
        for rest in _splits(count - here, queues[1:]):
            yield {queues[0]: here, **rest}


def _brute(pools, counts, need, under, over):
    best = np.inf
    for choice in product(*(list(_splits(int(c), p)) for p, c in zip(pools, counts))):
        have = np.zeros(len(need))
        for split in choice:
            for q, c in split.items():
                have[q] += c
        best = min(best, float((under * np.maximum(need - have, 0) + over * np.maximum(have - need, 0)).sum()))
    return best


def _penalty_of(flow, need, under, over):
    have = flow.sum(axis=0)
    return float((under * np.maximum(need - have, 0) + over * np.maximum(have - need, 0)).sum())


@st.composite
def sites(draw):
    n_queues = draw(st.integers(1, 4))
    subsets = [tuple(q for q in range(n_queues) if m >> q & 1) for m in range(1, 1 << n_queues)]
    pools = draw(st.lists(st.sampled_from(subsets), min_size=1, max_size=4, unique=True))
    n = draw(st.integers(1, 3))  # intervals
    counts = np.array(draw(st.lists(st.lists(st.integers(0, 3), min_size=n, max_size=n),
                                    min_size=len(pools), max_size=len(pools))), float)
    need = np.array(draw(st.lists(st.lists(st.integers(0, 4), min_size=n, max_size=n),
                                  min_size=n_queues, max_size=n_queues)), float)
    if draw(st.booleans()):
        under = np.array(draw(st.lists(st.lists(st.sampled_from([10, 50, 100]), min_size=n, max_size=n),
                                       min_size=n_queues, max_size=n_queues)), float)
    else:
        under = np.full((n_queues, n), 100.0)
    over = float(draw(st.sampled_from([0, 1, 5, 20])))
    return pools, counts, need, under, over


@settings(max_examples=300, deadline=None)
@given(sites())
def test_best_routing_matches_brute_force(site):
    pools, counts, need, under, over = site
    routing = Routing(pools, need, under, over)
    penalty = routing.penalty(counts)
    for i in range(need.shape[1]):
        best = _brute(pools, counts[:, i], need[:, i], under[:, i], over)
        assert penalty[i] == pytest.approx(best)
        flow = routing.flows(counts, i)
        assert (flow.sum(axis=1) == counts[:, i]).all()           # every agent routed once
        for p, queues in enumerate(pools):                           # only to its own queues
            assert flow[p, [q for q in range(need.shape[0]) if q not in queues]].sum() == 0
        assert _penalty_of(flow, need[:, i], under[:, i], over) == pytest.approx(best)
    surplus = routing.surplus(counts)
    for i in range(need.shape[1]):
        covered = np.minimum(routing.flows(counts, i).sum(axis=0), need[:, i]).sum()
        assert surplus[i] == pytest.approx(counts[:, i].sum() - covered)


@settings(max_examples=150, deadline=None)
@given(sites(), st.data())
def test_one_more_agent_gains_the_difference_of_two_optima(site, data):
    pools, counts, need, under, over = site
    routing = Routing(pools, need, under, over)
    p = data.draw(st.integers(0, len(pools) - 1))
    n = need.shape[1]
    gain = routing.gains(counts, 0, n, {p})[p]
    more = counts.copy()
    more[p] += 1
    for i in range(n):
        before = _brute(pools, counts[:, i], need[:, i], under[:, i], over)
        after = _brute(pools, more[:, i], need[:, i], under[:, i], over)
        assert gain[i] == pytest.approx(before - after)


def test_a_chain_of_two_skill_agents_is_rerouted():
    """Queue 0 needs one more; its only candidate is busy on queue 1, which a queue-1-and-2 agent
    can take over from queue 2, which a queue-2 agent covers: the best routing follows the chain."""
    pools = [(0, 1), (1, 2), (2,)]
    need = np.array([[1.0], [1.0], [1.0]])
    routing = Routing(pools, need, np.full((3, 1), 100.0), 5.0)
    counts = np.array([[1.0], [1.0], [1.0]])
    assert routing.penalty(counts)[0] == 0
    flow = routing.flows(counts, 0)
    assert flow.tolist() == [[1, 0, 0], [0, 1, 0], [0, 0, 1]]
