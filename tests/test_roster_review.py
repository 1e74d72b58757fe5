"""Regression tests for roster problems found in review: solver and validator must agree."""

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from wfm.domain import Horizon
from wfm.roster.domain import (Agent, Contract, Period, QueueRequirement, Roster, RosterInput, Rules, Shift,
                               ShiftTemplate, SolverParams, Weights)
from wfm.roster.solver import solve_roster
from wfm.roster.validator import validate

TZ = "Europe/Berlin"
MON = date(2026, 1, 5)


def data_for(agents, templates, days=3, rules=None, need=None, weights=None, minutes=60, start=MON, reqs=None):
    h = Horizon(start=start, days=days, interval_minutes=minutes, timezone=TZ)
    starts = h.interval_starts()
    if reqs is None:
        reqs = [QueueRequirement(queue="q", agents=[need(ts) if need else 1 for ts in starts])]
    return RosterInput(horizon=h, requirements=reqs, templates=templates, agents=agents, rules=rules or Rules(),
                       weights=weights or Weights(), solver=SolverParams(time_limit_seconds=10, workers=1))


def agrees(data):
    res = solve_roster(data)
    assert res.roster is not None, res.conflicts
    report = validate(data, res.roster)
    assert report.feasible, [str(v) for v in report.violations]
    assert report.objective == pytest.approx(res.objective)
    return res, report


def test_no_overlapping_shifts_even_without_rest():
    long_ = ShiftTemplate(id="L", start_times=[time(18)], length_minutes=720, crosses_midnight=True)
    early = ShiftTemplate(id="E", start_times=[time(0)], length_minutes=480)
    agent = Agent(id="a", skills=["q", "r"], contract=Contract(max_hours=60, max_days=7))
    data = data_for([agent], [long_, early], rules=Rules(min_rest_hours=0), weights=Weights(under=100, over=0))
    res, _ = agrees(data)
    spans = sorted((s.start, s.end) for s in res.roster.shifts)
    assert all(b[0] >= a[1] for a, b in zip(spans, spans[1:]))


def test_rest_longer_than_two_days_is_enforced():
    late = ShiftTemplate(id="D", start_times=[time(0), time(16)], length_minutes=480)
    agent = Agent(id="a", skills=["q"], contract=Contract(max_hours=60, max_days=7))
    data = data_for([agent], [late], days=5, rules=Rules(min_rest_hours=50))
    agrees(data)


def test_template_skills_respected_for_single_queue_agents():
    both = ShiftTemplate(id="B", start_times=[time(8)], length_minutes=480, skills=["B", "A"])
    b_only = ShiftTemplate(id="X", start_times=[time(8)], length_minutes=480, skills=["B"])
    agent = Agent(id="a", skills=["A", "B"])
    reqs = [QueueRequirement(queue="A", agents=[1] * 72)]
    res, _ = agrees(data_for([agent], [both, b_only], reqs=reqs))
    assert all(s.template == "B" for s in res.roster.shifts)


def test_repair_counts_a_shift_lost_to_an_unavailable_period():
    day = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
    agents = [Agent(id=f"a{k}", skills=["q"]) for k in range(2)]
    base = data_for(agents, [day], need=lambda ts: 2 if 8 <= ts.hour < 16 else 0)
    first, _ = agrees(base)
    tue = MON + timedelta(days=1)
    block = Period(start=datetime(2026, 1, 6, 10, tzinfo=ZoneInfo(TZ)), end=datetime(2026, 1, 6, 11,
                                                                                     tzinfo=ZoneInfo(TZ)))
    changed = [agents[0].model_copy(update={"unavailable_periods": [block]}), agents[1]]
    repair = base.model_copy(update={"agents": changed, "reference": first.roster,
                                     "weights": Weights(under=100, over=10, change=5)})
    res, report = agrees(repair)
    assert ("a0", tue) not in {(s.agent, s.day) for s in res.roster.shifts}


def test_previous_run_longer_than_the_maximum_forces_rest_first():
    day = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
    prev = [Shift(agent="a", day=MON - timedelta(days=k), template="D",
                  start=pd.Timestamp(datetime.combine(MON - timedelta(days=k), time(8)), tz=TZ).to_pydatetime(),
                  end=pd.Timestamp(datetime.combine(MON - timedelta(days=k), time(16)), tz=TZ).to_pydatetime())
            for k in range(1, 8)]
    data = data_for([Agent(id="a", skills=["q"], contract=Contract(max_hours=60, max_days=7))], [day], days=4,
                    rules=Rules(max_consecutive_days=6))
    res, _ = agrees(data.model_copy(update={"previous_shifts": prev}))
    assert MON not in {s.day for s in res.roster.shifts}


def test_fractional_contract_hours_agree():
    day = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
    data = data_for([Agent(id="a", skills=["q"], contract=Contract(max_hours=7.995))], [day])
    res, _ = agrees(data)
    assert not res.roster.shifts


def test_validator_measures_elapsed_time_across_dst_with_zoneinfo_datetimes():
    night = ShiftTemplate(id="N", start_times=[time(22)], length_minutes=480, crosses_midnight=True)
    data = data_for([Agent(id="a", skills=["q"])], [night], days=2, start=date(2026, 3, 28))
    berlin = ZoneInfo(TZ)
    start = datetime(2026, 3, 28, 22, tzinfo=berlin)
    real_8h = Shift(agent="a", day=date(2026, 3, 28), template="N", start=start, end=datetime(2026, 3, 29, 7,
                                                                                              tzinfo=berlin))
    wall_8h = real_8h.model_copy(update={"end": datetime(2026, 3, 29, 6, tzinfo=berlin)})
    assert "shift length" not in {v.rule for v in validate(data, Roster(shifts=[real_8h])).violations}
    assert "shift length" in {v.rule for v in validate(data, Roster(shifts=[wall_8h])).violations}


def test_validator_rejects_shifts_outside_the_horizon():
    day = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
    data = data_for([Agent(id="a", skills=["q"])], [day], days=1)
    later = MON + timedelta(days=5)
    s = Shift(agent="a", day=later, template="D",
              start=datetime(2026, 1, 10, 8, tzinfo=ZoneInfo(TZ)), end=datetime(2026, 1, 10, 16, tzinfo=ZoneInfo(TZ)))
    assert "horizon" in {v.rule for v in validate(data, Roster(shifts=[s])).violations}


def test_infeasibility_names_unavailable_periods():
    day = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
    blocks = [Period(start=datetime(2026, 1, 5 + k, 0, tzinfo=ZoneInfo(TZ)), end=datetime(2026, 1, 5 + k, 23,
                                                                                          tzinfo=ZoneInfo(TZ)))
              for k in range(3)]
    agent = Agent(id="x", skills=["q"], contract=Contract(min_hours=40, max_hours=40), unavailable_periods=blocks)
    res = solve_roster(data_for([agent], [day], days=7))
    assert res.status == "INFEASIBLE" and any(c.startswith("unavailable") for c in res.conflicts)
