"""Required agents: minimal (one fewer misses a target), monotone, and safe on bad input."""

import numpy as np
import pytest
from hypothesis import assume, given, settings, strategies as st

from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.staffing import evaluate, required_agents

targets_c = st.fixed_dictionaries(dict(
    service_level=st.one_of(st.none(), st.floats(0.05, 0.99)),
    answer_seconds=st.floats(0, 120),
    max_asa_seconds=st.one_of(st.none(), st.floats(1, 300)),
    max_occupancy=st.one_of(st.none(), st.floats(0.5, 1.0)),
    shrinkage=st.floats(0, 0.6),
    concurrency=st.sampled_from([1, 1, 2, 3]),
)).filter(lambda k: any(k[f] is not None for f in ("service_level", "max_asa_seconds", "max_occupancy"))
          ).map(lambda k: ServiceTarget(**k))


def _meets(servers, vol, aht, interval, target):
    """Independent re-check of the targets from the evaluated metrics."""
    load = np.asarray(vol) * np.asarray(aht) / (interval * 60.0)
    m = evaluate(np.asarray(servers, float), np.asarray(vol) / (interval * 60.0), np.asarray(aht), target)
    ok = np.ones(np.shape(servers), bool)
    if target.patience_seconds is None:  # Erlang C: no steady state unless N > A
        ok &= np.asarray(servers) > load
    if target.service_level is not None:
        ok &= m["service_level"] >= target.service_level - 1e-9
    if target.max_asa_seconds is not None:
        ok &= m["asa_seconds"] <= target.max_asa_seconds + 1e-9
    if target.max_occupancy is not None:
        ok &= m["occupancy"] <= target.max_occupancy + 1e-9
    if target.max_abandon_rate is not None:
        ok &= m["abandon_rate"] <= target.max_abandon_rate + 1e-9
    return ok


@settings(deadline=None)
@given(data=st.data(), target=targets_c)
def test_required_is_minimal_erlang_c(data, target):
    vol = np.array(data.draw(st.lists(st.floats(0.01, 3000), min_size=1, max_size=20)))
    aht = np.array(data.draw(st.lists(st.floats(5, 1500), min_size=len(vol), max_size=len(vol))))
    interval = data.draw(st.sampled_from([15, 30, 60]))
    res = required_agents(vol, aht, interval, target)
    k = target.concurrency
    assert np.all(_meets(res.agents * k, vol, aht, interval, target))
    assert not np.any(_meets((res.agents - 1) * k, vol, aht, interval, target))
    assert np.all(res.scheduled_agents == np.ceil(res.agents / (1 - target.shrinkage) - 1e-9))
    assert np.all(res.scheduled_agents >= res.agents)


@settings(deadline=None)
@given(vol=st.floats(0.5, 800), aht=st.floats(20, 900), patience=st.floats(10, 900),
       sl=st.one_of(st.none(), st.floats(0.5, 0.95)), ab=st.one_of(st.none(), st.floats(0.01, 0.2)),
       asa=st.one_of(st.none(), st.floats(5, 120)))
def test_required_is_minimal_erlang_a(vol, aht, patience, sl, ab, asa):
    assume(any(v is not None for v in (sl, ab, asa)))
    target = ServiceTarget(service_level=sl, answer_seconds=20, max_abandon_rate=ab, max_asa_seconds=asa,
                           patience_seconds=patience)
    res = required_agents([vol], [aht], 30, target)
    assert _meets(res.agents, [vol], [aht], 30, target).all()
    assert not _meets(res.agents - 1, [vol], [aht], 30, target).any()
    if ab is not None:
        assert res.abandon_rate[0] <= ab + 1e-9


@settings(deadline=None)
@given(vol=st.floats(0.1, 5000), aht=st.floats(5, 1200), grow=st.floats(1.0, 1.5), target=targets_c)
def test_required_never_falls_when_volume_or_aht_grows(vol, aht, grow, target):
    base = required_agents([vol], [aht], 30, target).agents[0]
    assert required_agents([vol * grow], [aht], 30, target).agents[0] >= base
    assert required_agents([vol], [aht * grow], 30, target).agents[0] >= base


def test_erlang_a_needs_fewer_agents_than_erlang_c():
    c = required_agents([300], [240], 30, ServiceTarget(service_level=0.8)).agents[0]
    a = required_agents([300], [240], 30, ServiceTarget(service_level=0.8, patience_seconds=120)).agents[0]
    assert a < c


def test_vectorized_equals_one_interval_at_a_time():
    rng = np.random.default_rng(7)
    vol, aht = rng.uniform(0, 400, 200), rng.uniform(60, 600, 200)
    target = ServiceTarget(service_level=0.8, max_asa_seconds=30, max_occupancy=0.88)
    whole = required_agents(vol, aht, 15, target).agents
    single = [required_agents([v], [a], 15, target).agents[0] for v, a in zip(vol, aht)]
    assert whole.tolist() == single


def test_zero_volume_closed_hours_and_minimum_staffing():
    target = ServiceTarget(min_agents=0)
    res = required_agents([0, 0, 50, 50], [0, 200, 200, 200], 30, target, open_mask=[True, True, True, False])
    assert res.agents.tolist()[0:2] == [0, 0] and res.agents[2] > 0 and res.agents[3] == 0
    res = required_agents([0, 0.2, 0], [0, 200, 0], 30, ServiceTarget(min_agents=1), open_mask=[True, True, False])
    assert res.agents.tolist() == [1, 1, 0]


def test_huge_loads_are_staffed_quickly_and_sensibly():
    # 50,000 Erlangs: square-root staffing says A + beta sqrt(A) with beta around 1.
    vol = 50_000 * 1800 / 300
    res = required_agents([vol], [300], 30, ServiceTarget(service_level=0.8, answer_seconds=20))
    assert 50_000 < res.agents[0] < 50_000 + 3 * np.sqrt(50_000)
    assert res.service_level[0] >= 0.8


@pytest.mark.parametrize("kwargs,field", [
    ({"volume": [-1], "aht_seconds": [100]}, "volume"),
    ({"volume": [10], "aht_seconds": [0]}, "aht_seconds"),
    ({"volume": [10, 5], "aht_seconds": [100, -3]}, "aht_seconds"),
    ({"volume": [float("nan")], "aht_seconds": [100]}, "volume"),
])
def test_bad_intervals_name_the_field_and_value(kwargs, field):
    with pytest.raises(InputError) as exc:
        required_agents(kwargs["volume"], kwargs["aht_seconds"], 30, ServiceTarget())
    assert exc.value.field == field and field in str(exc.value)


@pytest.mark.parametrize("kwargs,field", [
    ({"service_level": 1.0}, "service_level"), ({"service_level": 0.0}, "service_level"),
    ({"answer_seconds": -1}, "answer_seconds"), ({"shrinkage": 1.0}, "shrinkage"),
    ({"max_occupancy": 0.0}, "max_occupancy"), ({"max_occupancy": 1.2}, "max_occupancy"),
    ({"max_abandon_rate": 0.05}, "max_abandon_rate"), ({"patience_seconds": 0}, "patience_seconds"),
    ({"service_level": None}, "no service target"),
])
def test_bad_targets_name_the_field_and_value(kwargs, field):
    with pytest.raises(ValueError, match=field):
        ServiceTarget(**kwargs)


@settings(deadline=None)
@given(st.lists(st.tuples(st.floats(0, 2000), st.floats(1, 1800), st.booleans(), st.integers(0, 4)),
                min_size=1, max_size=30), targets_c)
def test_reported_service_is_the_service_of_the_staffing(rows, target):
    """The SL, ASA and occupancy reported next to each staffing (taken from the search where it
    can) equal the general Erlang C functions' evaluation of that staffing, floors and closed
    intervals included."""
    vol, aht, is_open, floor = (np.array(c) for c in zip(*rows))
    res = required_agents(vol, aht, 30, target, open_mask=is_open.astype(bool), min_agents=floor)
    fresh = evaluate(res.agents * target.concurrency, vol / 1800.0, aht, target)
    for name in ("service_level", "asa_seconds", "occupancy"):
        np.testing.assert_allclose(getattr(res, name), fresh[name], rtol=1e-9, atol=1e-12, err_msg=name)
