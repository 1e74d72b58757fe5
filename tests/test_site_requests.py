"""What a time-off or swap request changes in a published schedule (api.site_requests'
request_changes and apply_changes), and what the independent validator then finds: shifts are
never lost or duplicated, a swap trades shifts between two agents, a give-away to an agent who
already works that day is refused, a contract the change breaks is named."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.site_requests import Swap, TimeOff, apply_changes, new_violations, request_changes
from api.sites import Invalid
from wfm.domain import Horizon
from wfm.roster.domain import Agent, Contract, QueueRequirement, RosterInput, ShiftTemplate

BERLIN = ZoneInfo("Europe/Berlin")
MON = date(2026, 3, 23)
AGENTS = ["a", "b", "c"]


def shift(agent: str, day: date, hour: int = 9) -> dict:
    start = datetime.combine(day, time(hour), BERLIN)
    end = start + timedelta(hours=8)
    return {"agent": agent, "day": day.isoformat(), "template": "D", "start": start.isoformat(),
            "end": end.isoformat(), "breaks": [],
            "segments": [{"start": start.isoformat(), "end": end.isoformat(), "queue": "q"}]}


schedules = st.sets(st.tuples(st.sampled_from(AGENTS), st.integers(0, 4)), max_size=15).map(
    lambda keys: [shift(agent, MON + timedelta(days=k)) for agent, k in sorted(keys)])


def keys(shifts: list[dict]) -> list[tuple[str, str]]:
    return sorted((s["agent"], s["day"]) for s in shifts)


@settings(max_examples=60, deadline=None)
@given(schedules, st.sampled_from(AGENTS), st.integers(0, 4), st.integers(0, 4))
def test_time_off_removes_exactly_the_agent_s_shifts_on_those_days(published, agent, first, span):
    days = {(MON + timedelta(days=k)).isoformat() for k in range(first, min(first + span, 4) + 1)}
    request = TimeOff(type="time_off", agent=agent, first_day=min(days), last_day=max(days))
    after = apply_changes(published, request_changes(request, published))
    assert keys(after) == keys([s for s in published if not (s["agent"] == agent and s["day"] in days)])


@settings(max_examples=80, deadline=None)
@given(schedules, st.permutations(AGENTS), st.integers(0, 4), st.integers(0, 4))
def test_a_swap_trades_the_two_shifts_and_loses_none(published, order, day, other_day):
    giver, taker = order[0], order[1]
    d1, d2 = MON + timedelta(days=day), MON + timedelta(days=other_day)
    request = Swap(type="swap", agent=giver, day=d1, with_agent=taker, with_day=d2)
    held = {(s["agent"], s["day"]) for s in published}
    try:
        changes = request_changes(request, published)
    except Invalid as exc:
        # Refused only when the giver has no shift that day, or a shift would land on a day already worked.
        taken = (taker, d2.isoformat()) in held
        assert (giver, d1.isoformat()) not in held or (d1 != d2 and (
            (taker, d1.isoformat()) in held or (taken and (giver, d2.isoformat()) in held))), exc
        return
    after = apply_changes(published, changes)
    assert len(after) == len(published) and len(set(keys(after))) == len(after)
    expected = held - {(giver, d1.isoformat()), (taker, d2.isoformat())} | {(taker, d1.isoformat())}
    if (taker, d2.isoformat()) in held:
        expected |= {(giver, d2.isoformat())}
    assert set(keys(after)) == expected
    moved = next(s for s in after if (s["agent"], s["day"]) == (taker, d1.isoformat()))
    original = next(s for s in published if (s["agent"], s["day"]) == (giver, d1.isoformat()))
    assert moved == {**original, "agent": taker}  # the same times, breaks and queue work


def test_a_give_away_that_breaks_a_contract_or_a_skill_is_named_by_the_validator():
    horizon = Horizon(start=MON, days=7, interval_minutes=60, timezone="Europe/Berlin")
    data = RosterInput(
        horizon=horizon, requirements=[QueueRequirement(queue="q", agents=[0] * len(horizon.interval_starts()))],
        templates=[ShiftTemplate(id="D", start_times=[time(9)], length_minutes=480)],
        agents=[Agent(id="a", skills=["q"]), Agent(id="b", skills=["q"], contract=Contract(max_hours=8)),
                Agent(id="c", skills=["other"])])
    published = [shift("a", MON), shift("a", MON + timedelta(days=1)), shift("b", MON + timedelta(days=2))]
    to_b = apply_changes(published, request_changes(Swap(type="swap", agent="a", day=MON, with_agent="b"), published))
    assert [v.split(":")[0] for v in new_violations(data, published, to_b)] == ["contract max hours [b]"]
    to_c = apply_changes(published, request_changes(Swap(type="swap", agent="a", day=MON, with_agent="c"), published))
    assert new_violations(data, published, to_c) and all("[c]" in v for v in new_violations(data, published, to_c))
    with pytest.raises(Invalid):
        request_changes(Swap(type="swap", agent="b", day=MON, with_agent="a"), published)  # b has no Monday shift
