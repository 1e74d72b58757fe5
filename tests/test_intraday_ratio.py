"""`wfm.intraday.volume_multiplier`: the rest of the day's multiplier from the morning's evidence."""

from hypothesis import given
from hypothesis import strategies as st

from wfm.intraday import IntradayOptions, volume_multiplier

OPTIONS = IntradayOptions()
expected = st.floats(min_value=0.5, max_value=1e5, allow_nan=False)
seen = st.floats(min_value=0, max_value=200_000, allow_nan=False)


@given(expected, seen)
def test_it_moves_towards_the_ratio_never_past_it_nor_past_the_bounds(e, a):
    m = volume_multiplier(e, a, OPTIONS)
    ratio = min(max(a / e, 0.5), 2.0)
    assert m.ratio == a / e
    assert min(1.0, ratio) - 1e-12 <= m.value <= max(1.0, ratio) + 1e-12
    assert 1 + 0.8 * (0.5 - 1) - 1e-12 <= m.lower <= m.value <= m.upper <= 1 + 0.8 * (2.0 - 1) + 1e-12
    assert m.weight == min(0.8, e / (e + 50))


@given(expected, st.floats(min_value=0.0, max_value=3.0, allow_nan=False), st.floats(min_value=1.01, max_value=50))
def test_more_evidence_weighs_more_and_once_trusted_narrows_the_interval(e, ratio, more):
    few = volume_multiplier(e, e * ratio, OPTIONS)
    many = volume_multiplier(e * more, e * more * ratio, OPTIONS)
    assert many.weight >= few.weight
    # (while the weight grows the shrunk interval widens from nothing: the forecast's band speaks then)
    if few.weight == 0.8:
        assert many.upper - many.lower <= few.upper - few.lower + 1e-9


def test_the_sample_wednesday():
    m = volume_multiplier(188.10122, 225, OPTIONS)  # billing, 20% over by 11:00 (tests/test_intraday.py)
    assert abs(m.weight - 188.10122 / 238.10122) < 1e-12
    assert abs(m.value - (1 + m.weight * (225 / 188.10122 - 1))) < 1e-12 and 1.15 < m.value < 1.16
    assert volume_multiplier(0, 5, OPTIONS).value == 1.0  # nothing forecast yet: no evidence either way
