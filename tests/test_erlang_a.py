"""Erlang A (M/M/N+M) against an exact Markov chain and its Erlang C limit."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from reference_ctmc import reference
from wfm.staffing import asa_c, erlang_a_metrics, erlang_c, service_level_c


@pytest.mark.parametrize("n,volume,aht,patience,t", [
    (1, 2, 100, 50, 10), (3, 50, 180, 60, 30), (5, 60, 300, 200, 20), (10, 100, 180, 120, 20),
    (8, 200, 180, 400, 20),   # heavily overloaded: abandonment carries the queue
    (30, 500, 240, 90, 20), (12, 30, 300, 30, 0),
])
def test_matches_markov_chain(n, volume, aht, patience, t):
    ref = reference(n, volume, aht, 1800, t, patience_seconds=patience, max_queue=400)
    m = erlang_a_metrics(n, volume / 1800, aht, patience, t)
    assert m.p_wait == pytest.approx(ref.p_wait, rel=1e-8)
    assert m.abandon_rate == pytest.approx(ref.abandon_rate, rel=1e-7, abs=1e-13)
    assert m.service_level == pytest.approx(ref.service_level, rel=1e-7, abs=1e-13)
    assert m.asa_seconds == pytest.approx(ref.asa_seconds, rel=1e-6)


@settings(deadline=None)
@given(load=st.floats(0.5, 300), slack=st.floats(0.05, 0.5), aht=st.floats(30, 900), t=st.floats(0, 90))
def test_approaches_erlang_c_as_patience_grows(load, slack, aht, t):
    n = int(np.ceil(load * (1 + slack))) + 1
    lam = load / aht
    m = erlang_a_metrics(n, lam, aht, 1e9 * aht, t)
    assert m.p_wait == pytest.approx(erlang_c(n, load), abs=1e-5)
    assert m.service_level == pytest.approx(service_level_c(n, load, aht, t), abs=1e-5)
    assert m.asa_seconds == pytest.approx(asa_c(n, load, aht), rel=1e-4, abs=1e-6)
    assert m.abandon_rate < 1e-5


@settings(deadline=None)
@given(load=st.floats(0.1, 500), aht=st.floats(30, 900), pat_ratio=st.floats(0.1, 10), t=st.floats(0, 60))
def test_more_agents_less_abandonment_better_service(load, aht, pat_ratio, t):
    n = np.arange(1, int(load * 1.5) + 5)
    m = erlang_a_metrics(n, load / aht, aht, pat_ratio * aht, t)
    for arr in (m.p_wait, m.abandon_rate, m.service_level, m.occupancy):
        assert np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr <= 1))
    assert np.all(np.diff(m.abandon_rate) <= 1e-10)
    assert np.all(np.diff(m.service_level) >= -1e-10)


def test_large_site_stays_finite():
    n = np.array([20_000, 45_000, 50_000, 52_000, 60_000])
    m = erlang_a_metrics(n, 50_000 / 300, 300, 180, 20)
    for arr in (m.p_wait, m.abandon_rate, m.service_level, m.asa_seconds):
        assert np.all(np.isfinite(arr))
    assert m.abandon_rate[0] == pytest.approx(1 - 20_000 / 50_000, abs=1e-3)  # N mu / lambda served


def test_no_agents_or_no_calls():
    m = erlang_a_metrics([0, 5], [0.1, 0.0], 180, 60, 20)
    assert m.abandon_rate.tolist() == [1.0, 0.0]
    assert m.service_level.tolist() == [0.0, 1.0]
