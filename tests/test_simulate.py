"""The production simulator (wfm.simulate): exact on hand-checked cases, equal to a plain
per-contact loop on random ones, and in agreement with Erlang C / Erlang A on stationary
cases within its own confidence interval (and able to tell a wrong staffing apart)."""

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfm.domain import Horizon, ServiceTarget
from wfm.errors import InputError
from wfm.simulate import QueueDemand, SimulationOptions, replay_arrivals, run_lanes, simulate_demands
from wfm.staffing import erlang_a_metrics, service_level_c

STEP = 1800.0


def one_lane(servers, arrivals, handle, patience=None):
    arrivals = np.asarray(arrivals, float)
    patience = np.full(arrivals.size, np.inf) if patience is None else np.asarray(patience, float)
    return run_lanes(np.array([servers]), arrivals[None], np.asarray(handle, float)[None], patience[None], STEP)[0]


def loop_reference(servers, arrivals, handle, patience):
    """Per contact, per agent slot: walk forward to the slot's next on-duty interval."""
    slots = max(max(servers), 1)
    free = [0.0] * slots
    out = []
    for t, h, p in zip(arrivals, handle, patience):
        best, chosen = math.inf, None
        for j in range(slots):
            ready = max(t, free[j])
            i = int(ready // STEP)
            while i < len(servers) and servers[i] <= j:
                i += 1
            if i >= len(servers):
                continue
            start = ready if i == int(ready // STEP) else i * STEP
            if start < best:
                best, chosen = start, j
        if chosen is not None and best - t <= p:
            free[chosen] = best + h
            out.append(best)
        else:
            out.append(math.nan)
    return np.array(out)


def test_one_agent_serves_in_arrival_order():
    started = one_lane([1, 1], [0, 10, 20], [100, 100, 100])
    assert started.tolist() == [0, 100, 200]


def test_impatient_caller_abandons_and_frees_nobody():
    started = one_lane([1, 1], [0, 10, 20], [100, 100, 100], patience=[5, 50, 500])
    # the second would wait 90 s > 50 s and leaves; the third starts when the first ends
    assert started[0] == 0 and np.isnan(started[1]) and started[2] == 100


def test_break_is_honoured_without_cutting_a_call():
    # One agent, on duty in intervals 0 and 2, on break in 1. A call at 1700 s runs past the break
    # start; a call arriving during the break waits for the agent's return at 3600 s.
    started = one_lane([1, 0, 1], [1700, 2000], [400, 60])
    assert started.tolist() == [1700, 3600]


def test_nobody_on_duty_after_the_horizon():
    started = one_lane([1, 1], [3500], [10_000])
    waits = one_lane([1, 1], [3500, 3550], [10_000, 5])
    assert started.tolist() == [3500] and np.isnan(waits[1])  # the agent is busy until after the horizon


@given(st.lists(st.integers(0, 3), min_size=1, max_size=5),
       st.lists(st.tuples(st.floats(0, 9000), st.floats(1, 3000), st.floats(0, 2000) | st.just(math.inf)),
                min_size=1, max_size=25))
def test_vectorised_kernel_equals_a_plain_loop(servers, contacts):
    contacts.sort()
    arrivals, handle, patience = (np.array(c, float) for c in zip(*contacts))
    got = one_lane(servers, arrivals, handle, patience)
    want = loop_reference(servers, arrivals, handle, patience)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got[~np.isnan(got)], want[~np.isnan(want)])


def stationary(servers, load, aht, patience, answer, days=2, replications=20, seed=1):
    h = Horizon(start="2026-03-02", days=days, interval_minutes=30, timezone="UTC")
    n = len(h.interval_starts())
    target = ServiceTarget(answer_seconds=answer, patience_seconds=patience)
    demand = QueueDemand("q", np.full(n, servers), np.full(n, load * STEP / aht), np.full(n, float(aht)),
                         answer, patience, target)
    options = SimulationOptions(replications=replications, seed=seed, confidence=0.99)
    return simulate_demands(h, [demand], options).summary.iloc[0]


@pytest.mark.parametrize("n,load,aht,t", [(14, 10.0, 180, 20), (6, 4.0, 300, 30), (40, 34.0, 240, 20)])
def test_stationary_erlang_c_lies_in_the_confidence_interval(n, load, aht, t):
    sim = stationary(n, load, aht, None, t)
    promised = service_level_c(n, load, aht, t)
    assert sim.service_level_low <= promised <= sim.service_level_high
    assert math.isclose(sim.erlang_service_level, promised, rel_tol=1e-9)
    assert abs(sim.occupancy - load / n) < 0.01
    assert np.isnan(sim.abandon_rate)  # no patience, no abandonment model


@pytest.mark.parametrize("n,load,aht,patience,t", [(12, 10.0, 180, 120, 20), (8, 10.0, 240, 300, 30)])
def test_stationary_erlang_a_lies_in_the_confidence_interval(n, load, aht, patience, t):
    sim = stationary(n, load, aht, patience, t)
    model = erlang_a_metrics(n, load / aht, aht, patience, t)
    for key in ("service_level", "abandon_rate"):
        assert sim[f"{key}_low"] <= float(getattr(model, key)) <= sim[f"{key}_high"], key


def test_a_wrong_staffing_falls_outside_the_confidence_interval():
    sim = stationary(14, 10.0, 180, None, 20)
    for wrong in (13, 15):  # what Erlang promises for one agent fewer or more
        promised = service_level_c(wrong, 10.0, 180, 20)
        assert not sim.service_level_low <= promised <= sim.service_level_high, wrong


def test_same_seed_same_answer_and_seeds_differ():
    a, b, c = (stationary(6, 4.0, 300, None, 30, days=1, replications=4, seed=s) for s in (5, 5, 6))
    assert a.service_level == b.service_level and a.service_level != c.service_level


def test_dst_week_simulates_the_25_hour_day():
    h = Horizon(start="2026-10-19", days=7, interval_minutes=60, timezone="Europe/Berlin")
    starts = h.interval_starts()
    assert len(starts) == 7 * 24 + 1
    demand = QueueDemand("q", np.full(len(starts), 3), np.full(len(starts), 20.0), np.full(len(starts), 300.0))
    res = simulate_demands(h, [demand], SimulationOptions(replications=4))
    sunday = res.intervals[pd.DatetimeIndex(res.intervals["interval_start"]).date == pd.Timestamp("2026-10-25").date()]
    assert len(sunday) == 25 and (sunday["offered"] > 0).all()
    assert abs(res.summary.iloc[0]["offered"] - 20.0 * len(starts)) < 0.05 * 20 * len(starts)


def test_replayed_arrivals_move_by_whole_weeks_in_local_time():
    h = Horizon(start="2026-03-30", days=7, interval_minutes=30, timezone="Europe/Berlin")  # after the DST change
    history = pd.Series(pd.to_datetime(["2026-03-23T09:00:00+01:00", "2026-03-29T10:15:00+02:00",
                                        "2026-03-20T09:00:00+01:00"], utc=True))
    seconds = replay_arrivals(history, h)
    # 09:00 Monday and 10:15 Sunday, local time, one week later; the Friday lies outside the week
    assert seconds.tolist() == [9 * 3600, 6 * 86400 + 10.25 * 3600]


def test_replay_from_a_history_that_starts_after_the_horizon_is_refused():
    h = Horizon(start="2026-03-02", days=7, interval_minutes=30, timezone="UTC")
    with pytest.raises(InputError, match="after the horizon"):
        replay_arrivals(pd.Series(pd.to_datetime(["2026-04-01T09:00:00Z"])), h)


def test_resampled_handle_times_keep_the_forecast_aht():
    h = Horizon(start="2026-03-02", days=1, interval_minutes=30, timezone="UTC")
    n = len(h.interval_starts())
    pool = np.array([60.0, 60.0, 600.0])  # mean 240, very skewed
    demand = QueueDemand("q", np.full(n, 50), np.full(n, 30.0), np.full(n, 120.0), handle_pool=pool)
    res = simulate_demands(h, [demand], SimulationOptions(replications=3, handle_times="history"))
    # occupancy = offered load / servers = 30 * 120 / 1800 / 50 when nobody waits long
    assert abs(res.summary.iloc[0]["occupancy"] - 30 * 120 / STEP / 50) < 0.004
