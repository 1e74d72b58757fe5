"""Erlang B / C against published examples and references computed another way."""

from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from reference_ctmc import reference
from wfm.staffing import asa_c, erlang_b, erlang_c, occupancy, service_level_c


def exact_erlang_c(n: int, a: Fraction) -> Fraction:
    """Textbook Erlang C with factorial sums in exact rational arithmetic."""
    term, total = Fraction(1), Fraction(0)
    for k in range(n):
        total += term
        term = term * a / (k + 1)  # a^(k+1) / (k+1)!
    top = term * n / (n - a)
    return top / (total + top)


def recursion_erlang_b(n: int, a: float) -> float:
    """The classic stable recursion from B(0) = 1, in plain Python."""
    b = 1.0
    for k in range(1, n + 1):
        b = a * b / (k + a * b)
    return b


def test_published_delay_probability_example():
    # 600 calls/hour of 120 s = 20 Erlangs: 26 agents keep delay probability under 15%,
    # with about 3 s average delay per call; 30 agents bring it to 2.5%.
    c = erlang_c([25, 26, 30], 20.0)
    assert c[0] > 0.15 >= c[1]
    assert c[2] == pytest.approx(0.025, abs=5e-4)
    assert asa_c(26, 20.0, 120.0) == pytest.approx(3.0, abs=0.2)


def test_classic_100_calls_per_half_hour():
    # 100 calls per 30 min, AHT 180 s -> 10 Erlangs; 80% in 20 s needs 14 agents (13 gives
    # 79.6%), and 20 scheduled with 30% shrinkage.
    from wfm.domain import ServiceTarget
    from wfm.staffing import required_agents

    assert service_level_c(13, 10.0, 180, 20) == pytest.approx(0.796, abs=1e-3)
    assert service_level_c(14, 10.0, 180, 20) == pytest.approx(0.888, abs=1e-3)
    res = required_agents([100], [180], 30, ServiceTarget(service_level=0.8, answer_seconds=20, shrinkage=0.3))
    assert (res.agents[0], res.scheduled_agents[0]) == (14, 20)


@settings(deadline=None)
@given(n=st.integers(1, 60), num=st.integers(1, 10_000), den=st.integers(1, 200))
def test_erlang_c_matches_exact_rational(n, num, den):
    a = Fraction(num, den)
    if a >= n:
        assert erlang_c(n, float(a)) == 1.0
        return
    assert erlang_c(n, float(a)) == pytest.approx(float(exact_erlang_c(n, a)), rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("a", [0.3, 7.5, 250.0, 5_000.0, 50_000.0])
def test_erlang_b_matches_recursion_across_scales(a):
    for n in sorted({1, max(int(a * 0.5), 1), int(a), int(a) + 1, int(a * 1.1) + 3}):
        assert erlang_b(n, a) == pytest.approx(recursion_erlang_b(n, a), rel=1e-9)


@pytest.mark.parametrize("n,volume,aht,t", [(3, 40, 120, 20), (11, 100, 180, 20), (14, 100, 180, 20),
                                            (25, 300, 120, 30), (18, 90, 300, 60)])
def test_erlang_c_metrics_match_markov_chain(n, volume, aht, t):
    ref = reference(n, volume, aht, 1800, t, patience_seconds=None, max_queue=400)
    load = volume * aht / 1800
    assert erlang_c(n, load) == pytest.approx(ref.p_wait, rel=1e-8)
    assert service_level_c(n, load, aht, t) == pytest.approx(ref.service_level, rel=1e-8)
    assert asa_c(n, load, aht) == pytest.approx(ref.asa_seconds, rel=1e-6)


def test_no_nan_or_overflow_up_to_50000_erlangs():
    loads = np.array([1e-9, 0.5, 10.0, 1e3, 1e4, 5e4])
    for a in loads:
        n = np.unique(np.concatenate([np.arange(0, 5), np.linspace(0, 2 * a + 10, 300).round()]))
        b, c = erlang_b(n, a), erlang_c(n, a)
        sl, asa = service_level_c(n, a, 300, 20), asa_c(n, a, 300)
        for arr in (b, c, sl):
            assert np.all(np.isfinite(arr)) and np.all((arr >= 0) & (arr <= 1))
        assert not np.any(np.isnan(asa))
        assert np.all(np.diff(b) <= 1e-15)  # blocking falls as agents are added


def test_zero_load_and_unstable_queue():
    assert erlang_c(0, 0.0) == 0.0 and service_level_c(3, 0.0, 180, 20) == 1.0
    assert erlang_c(10, 10.0) == 1.0 and service_level_c(10, 10.0, 180, 20) == 0.0
    assert asa_c(9, 10.0, 180) == np.inf
    assert occupancy(0, 0.0) == 0.0 and occupancy(20, 10.0) == 0.5


@settings(deadline=None)
@given(a=st.floats(0.01, 2_000), t=st.floats(0, 120), aht=st.floats(10, 1200))
def test_service_level_rises_with_agents_and_c_at_least_b(a, t, aht):
    n = np.arange(int(a) + 1, int(a) + 60)
    sl = service_level_c(n, a, aht, t)
    assert np.all(np.diff(sl) >= -1e-12)
    assert np.all(erlang_c(n, a) >= erlang_b(n, a) - 1e-15)
