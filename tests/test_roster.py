"""Roster solver and its independent validator."""

from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest

from wfm.domain import Horizon
from wfm.errors import InputError
from wfm.roster.domain import (Agent, Break, BreakRule, Contract, Preference, QueueRequirement, Roster,
                               RosterInput, Rules, Segment, Shift, ShiftTemplate, SolverParams, Weights)
from wfm.roster.solver import solve_roster
from wfm.roster.validator import validate

TZ = "Europe/Berlin"
MON = date(2026, 1, 5)


def horizon(days=7, start=MON, minutes=60):
    return Horizon(start=start, days=days, interval_minutes=minutes, timezone=TZ)


def day_template(**kw):
    args = dict(id="D", start_times=[time(8), time(9)], length_minutes=480,
                breaks=[BreakRule(name="lunch", minutes=60, earliest_minutes=180, latest_minutes=300, paid=False)])
    args.update(kw)
    return ShiftTemplate(**args)


def requirement(h, need_by_hour: dict[int, int], queue="q", days=None):
    starts = h.interval_starts()
    values = [need_by_hour.get(ts.hour, 0) if (days is None or ts.date() in days) else 0 for ts in starts]
    return QueueRequirement(queue=queue, agents=values)


def make_input(agents, h=None, templates=None, reqs=None, rules=None, weights=None, seconds=10):
    h = h or horizon()
    return RosterInput(horizon=h, requirements=reqs or [requirement(h, {h_: 1 for h_ in range(9, 16)})],
                       templates=templates or [day_template()], agents=agents, rules=rules or Rules(),
                       weights=weights or Weights(), solver=SolverParams(time_limit_seconds=seconds, workers=1))


def solved(data):
    res = solve_roster(data)
    assert res.roster is not None, (res.status, res.conflicts)
    report = validate(data, res.roster)
    assert report.feasible, [str(v) for v in report.violations]
    assert report.objective == pytest.approx(res.objective)  # the solver cannot grade itself
    return res, report


def local(day, hour, minute=0):
    return pd.Timestamp(datetime.combine(day, time(hour, minute)), tz=TZ).to_pydatetime()


def hand_shift(agent, day, start_hour=8, lunch_hour=12, template="D", length=8, queue="q"):
    s, e = local(day, start_hour), local(day, start_hour) + timedelta(hours=length)
    b0, b1 = local(day, lunch_hour), local(day, lunch_hour + 1)
    return Shift(agent=agent, day=day, template=template, start=s, end=e,
                 breaks=[Break(name="lunch", start=b0, end=b1)],
                 segments=[Segment(start=s, end=b0, queue=queue), Segment(start=b1, end=e, queue=queue)])


# -- known optimum -------------------------------------------------------------------------------

def test_known_optimum_single_day():
    # One agent, 09:00-16:00 needs 1 on queue. A 08:00 or 09:00 8-hour shift with a one-hour
    # lunch at 11:00-14:00 always leaves exactly one hour of the 7 uncovered: optimum = 1 under.
    h = horizon(days=1)
    data = make_input([Agent(id="a", skills=["q"])], h=h, weights=Weights(under=100, over=1))
    res, report = solved(data)
    assert res.status == "OPTIMAL"
    assert report.coverage["under"].sum() == 1
    # Over-coverage: 8 h shift - 1 h lunch = 7 on-queue hours, 6 inside the window -> 1 hour over.
    assert report.coverage["over"].sum() == 1 and res.objective == 101


def test_two_agents_cover_everything_and_breaks_are_staggered():
    h = horizon(days=1)
    data = make_input([Agent(id="a", skills=["q"]), Agent(id="b", skills=["q"])], h=h,
                      reqs=[requirement(h, {hh: 1 for hh in range(9, 16)})], weights=Weights(under=100, over=0))
    res, report = solved(data)
    assert report.coverage["under"].sum() == 0
    lunches = {s.breaks[0].start for s in res.roster.shifts}
    assert len(lunches) == 2  # they do not go to lunch together


# -- every rule both ways --------------------------------------------------------------------------

def _rules(report):
    return {v.rule for v in report.violations}


def test_validator_accepts_a_correct_hand_roster():
    data = make_input([Agent(id="a", skills=["q"])])
    assert validate(data, Roster(shifts=[hand_shift("a", MON)])).feasible


@pytest.mark.parametrize("mutate,rule", [
    (lambda s: s.model_copy(update={"start": s.start + timedelta(minutes=30), "end": s.end + timedelta(minutes=30)}),
     "start time"),
    (lambda s: s.model_copy(update={"end": s.end + timedelta(hours=1)}), "shift length"),
    (lambda s: s.model_copy(update={"breaks": []}), "breaks"),
    (lambda s: s.model_copy(update={"breaks": [Break(name="lunch", start=local(MON, 9), end=local(MON, 10))]}),
     "breaks"),
    (lambda s: s.model_copy(update={"segments": [Segment(start=s.start, end=s.end, queue="q")]}), "segments"),
    (lambda s: s.model_copy(update={"segments": [Segment(start=s.start, end=local(MON, 12), queue="other")]}),
     "skills"),
    (lambda s: s.model_copy(update={"day": MON + timedelta(days=1)}), "shift day"),
])
def test_validator_rejects_broken_shifts(mutate, rule):
    data = make_input([Agent(id="a", skills=["q"])])
    report = validate(data, Roster(shifts=[mutate(hand_shift("a", MON))]))
    assert rule in _rules(report)


def _week(agent, days, **kw):
    return [hand_shift(agent, MON + timedelta(days=d), **kw) for d in days]


@pytest.mark.parametrize("agent_kw,rules_kw,days,rule", [
    ({"contract": Contract(max_hours=30)}, {}, [0, 1, 2, 3, 4], "contract max hours"),
    ({"contract": Contract(max_days=3, max_hours=60)}, {}, [0, 1, 2, 3], "contract max days"),
    ({"contract": Contract(min_hours=30)}, {}, [0, 1], "contract min hours"),
    ({"contract": Contract(min_days=3)}, {}, [0, 1], "contract min days"),
    ({"unavailable_days": [MON]}, {}, [0], "unavailable"),
    ({"fixed": {MON: None}}, {}, [0], "fixed day off"),
    ({"fixed": {MON + timedelta(days=1): "D"}}, {}, [0], "fixed shift"),
    ({"contract": Contract(max_hours=60, max_days=7)}, {"max_consecutive_days": 3}, [0, 1, 2, 3],
     "max consecutive days"),
    ({}, {"min_consecutive_days_off": 2}, [0, 2], "min consecutive days off"),
    ({"contract": Contract(max_hours=60, max_days=7)}, {"max_weekends": 0}, [5], "max weekends"),
    ({"contract": Contract(template_caps={"D": 1})}, {}, [0, 1], "template cap D"),
])
def test_validator_rejects_rule_breaking_rosters(agent_kw, rules_kw, days, rule):
    data = make_input([Agent(id="a", skills=["q"], **agent_kw)], rules=Rules(**rules_kw))
    report = validate(data, Roster(shifts=_week("a", days)))
    assert rule in _rules(report)


def test_validator_judges_weekly_contract_rules_week_by_week():
    # Three weeks: too many hours and days in the second only, too few hours in the third only.
    h = horizon(days=21)
    data = make_input([Agent(id="a", skills=["q"], contract=Contract(min_hours=16, max_hours=32, max_days=4))], h=h)
    days = [0, 1] + [7, 8, 9, 10, 11] + [14]
    report = validate(data, Roster(shifts=_week("a", days)))
    weeks = {v.rule: v.detail for v in report.violations}
    assert set(weeks) == {"contract max hours", "contract max days", "contract min hours"}
    assert str(MON + timedelta(days=7)) in weeks["contract max hours"]
    assert str(MON + timedelta(days=7)) in weeks["contract max days"]
    assert str(MON + timedelta(days=14)) in weeks["contract min hours"]


def test_validator_rejects_short_rest_and_two_shifts_a_day():
    late = ShiftTemplate(id="L", start_times=[time(20)], length_minutes=480, crosses_midnight=True)
    data = make_input([Agent(id="a", skills=["q"])], templates=[day_template(), late])
    night = Shift(agent="a", day=MON, template="L", start=local(MON, 20), end=local(MON, 20) + timedelta(hours=8),
                  segments=[Segment(start=local(MON, 20), end=local(MON, 20) + timedelta(hours=8), queue="q")])
    report = validate(data, Roster(shifts=[night, hand_shift("a", MON + timedelta(days=1))]))
    assert "min rest" in _rules(report)  # 04:00 -> 08:00 is 4 h
    report = validate(data, Roster(shifts=[hand_shift("a", MON), hand_shift("a", MON, start_hour=9, lunch_hour=13)]))
    assert "one shift per day" in _rules(report)


def test_solver_respects_binding_rules():
    # Demand every day all week; the rules, not the demand, must limit the roster.
    h = horizon()
    rules = Rules(max_consecutive_days=3, min_consecutive_days_off=2, max_weekends=0, min_rest_hours=11)
    agents = [Agent(id="a", skills=["q"], contract=Contract(max_hours=60, max_days=7), unavailable_days=[MON]),
              Agent(id="b", skills=["q"], contract=Contract(max_hours=60, max_days=7),
                    fixed={MON + timedelta(days=2): None})]
    data = make_input(agents, h=h, rules=rules, reqs=[requirement(h, {hh: 2 for hh in range(9, 16)})])
    res, report = solved(data)
    worked = {(s.agent, s.day) for s in res.roster.shifts}
    assert ("a", MON) not in worked and ("b", MON + timedelta(days=2)) not in worked
    assert not any(d.weekday() >= 5 for _, d in worked)
    assert len(worked) >= 4  # and it still works where it may


def test_solver_meets_contract_minimums_when_demand_is_low():
    data = make_input([Agent(id="a", skills=["q"], contract=Contract(min_hours=21, max_hours=40, min_days=3))],
                      reqs=[requirement(horizon(), {10: 1}, days={MON})])
    res, report = solved(data)
    assert len(res.roster.shifts) >= 3


# -- multi-skill, night shifts, DST --------------------------------------------------------------

def test_multi_skill_agent_splits_time_between_queues():
    h = horizon(days=1)
    reqs = [requirement(h, {9: 1, 10: 1}, queue="sales"), requirement(h, {14: 1, 15: 1}, queue="care")]
    data = make_input([Agent(id="a", skills=["sales", "care"])], h=h, reqs=reqs, weights=Weights(under=100, over=1))
    res, report = solved(data)
    assert report.coverage["under"].sum() == 0
    assert {g.queue for g in res.roster.shifts[0].segments} == {"sales", "care"}


def test_night_shift_across_midnight_and_dst_week():
    # The week of the spring DST change: Sunday 2026-03-29 has 23 hours.
    h = Horizon(start=date(2026, 3, 23), days=7, interval_minutes=30, timezone=TZ)
    night = ShiftTemplate(id="N", start_times=[time(22)], length_minutes=480, crosses_midnight=True,
                          breaks=[BreakRule(minutes=30, earliest_minutes=180, latest_minutes=300)])
    starts = h.interval_starts()
    need = [1 if (ts.hour >= 22 or ts.hour < 6) else 0 for ts in starts]
    data = make_input([Agent(id=f"n{k}", skills=["q"], contract=Contract(max_hours=40, max_days=5)) for k in range(2)],
                      h=h, templates=[night], reqs=[QueueRequirement(queue="q", agents=need)], seconds=20)
    res, report = solved(data)
    sat = [s for s in res.roster.shifts if s.day == date(2026, 3, 28)]
    for s in sat:  # 22:00 Saturday + 8 real hours = 07:00 on the 23-hour Sunday
        assert pd.Timestamp(s.end).tz_convert(TZ).hour == 7
    assert all(s.end - s.start == timedelta(hours=8) for s in res.roster.shifts)


# -- explanations, determinism -------------------------------------------------------------------

def test_infeasible_input_names_the_rules_and_agent():
    agent = Agent(id="x", skills=["q"], contract=Contract(min_hours=32, max_hours=40, max_days=5),
                  unavailable_days=[MON + timedelta(days=d) for d in range(3)])
    res = solve_roster(make_input([agent]))
    assert res.status == "INFEASIBLE" and res.roster is None
    text = " ".join(res.conflicts)
    assert "(x)" in text and "contract min hours" in text and "unavailable" in text


def test_same_seed_same_roster():
    agents = [Agent(id=f"a{k}", skills=["q"]) for k in range(3)]
    data = make_input(agents, reqs=[requirement(horizon(), {hh: 2 for hh in range(8, 18)})], seconds=5)
    one = solve_roster(data).roster.model_dump()
    two = solve_roster(data).roster.model_dump()
    assert one == two


def test_preferences_are_honoured_when_free():
    h = horizon(days=2)
    agents = [Agent(id="a", skills=["q"], preferences=[Preference(day=MON, want=True, weight=500)]),
              Agent(id="b", skills=["q"])]
    data = make_input(agents, h=h, reqs=[requirement(h, {hh: 1 for hh in range(9, 16)})])
    res, report = solved(data)
    # A wanted day off (500) outweighs the uncovered lunch hour (100) it costs.
    assert not any(s.agent == "a" and s.day == MON for s in res.roster.shifts)
    assert report.penalties.get("preferences", 0) == 0
    cheap = data.model_copy(update={"agents": [agents[0].model_copy(update={
        "preferences": [Preference(day=MON, want=True, weight=5)]}), agents[1]]})
    res, report = solved(cheap)  # now covering the lunch hour is worth more than the wish
    assert any(s.agent == "a" and s.day == MON for s in res.roster.shifts)
    assert report.penalties["preferences"] == 5


def test_template_off_the_grid_is_a_clear_error():
    bad = day_template(start_times=[time(8, 15)])
    with pytest.raises(InputError, match="grid"):
        solve_roster(make_input([Agent(id="a", skills=["q"])], templates=[bad]))


# -- start-time stability, previous roster, fairness, warm start and repair ------------------------

def test_start_time_stability_both_ways():
    wide = day_template(start_times=[time(6), time(8), time(10)])
    data = make_input([Agent(id="a", skills=["q"])], templates=[wide], rules=Rules(start_time_tolerance_minutes=60))
    jumpy = [hand_shift("a", MON, start_hour=6, lunch_hour=10), hand_shift("a", MON + timedelta(days=1),
                                                                           start_hour=10, lunch_hour=14)]
    assert "start time stability" in _rules(validate(data, Roster(shifts=jumpy)))
    # Demand early on Monday and late on Tuesday: the solver may not jump 4 hours.
    h = horizon(days=2)
    reqs = [QueueRequirement(queue="q", agents=[1 if (ts.date() == MON and 6 <= ts.hour < 10) or
                                                 (ts.date() != MON and 14 <= ts.hour < 18) else 0
                                                 for ts in h.interval_starts()])]
    data = make_input([Agent(id="a", skills=["q"])], h=h, templates=[wide], reqs=reqs,
                      rules=Rules(start_time_tolerance_minutes=60, min_rest_hours=0))
    res, report = solved(data)
    starts = sorted(pd.Timestamp(s.start).tz_convert(TZ).hour for s in res.roster.shifts)
    assert len(starts) < 2 or abs(starts[1] - starts[0]) <= 1


def test_previous_roster_rest_and_consecutive_days_carry_over():
    late = ShiftTemplate(id="L", start_times=[time(16)], length_minutes=480, crosses_midnight=True)
    sunday = MON - timedelta(days=1)
    prev = [Shift(agent="a", day=sunday - timedelta(days=k), template="L",
                  start=local(sunday - timedelta(days=k), 16), end=local(sunday - timedelta(days=k),
                                                                         16) + timedelta(hours=8))
            for k in range(5)]  # worked Wed..Sun until midnight
    h = horizon(days=3)
    data = make_input([Agent(id="a", skills=["q"])], h=h, templates=[day_template(), late],
                      reqs=[requirement(h, {hh: 1 for hh in range(8, 16)})],
                      rules=Rules(max_consecutive_days=6, min_rest_hours=11))
    data = data.model_copy(update={"previous_shifts": prev})
    early = Roster(shifts=[hand_shift("a", MON, start_hour=8, lunch_hour=12)])  # 8 h after midnight
    assert "min rest" in _rules(validate(data, early))
    res, report = solved(data)
    days = sorted(s.day for s in res.roster.shifts)
    assert MON not in days and len([d for d in days if d <= MON + timedelta(days=1)]) <= 1


def test_fairness_spreads_weekends():
    h = horizon(days=14)
    weekend_need = [1 if ts.weekday() >= 5 and 9 <= ts.hour < 16 else 0 for ts in h.interval_starts()]
    agents = [Agent(id=f"a{k}", skills=["q"], contract=Contract(max_hours=40, max_days=5)) for k in range(2)]
    data = make_input(agents, h=h, reqs=[QueueRequirement(queue="q", agents=weekend_need)],
                      weights=Weights(under=100, over=1, fairness=50), seconds=20)
    res, report = solved(data)
    counts = [len({s.day - timedelta(days=s.day.weekday() - 5) for s in res.roster.shifts
                   if s.agent == a.id and s.day.weekday() >= 5}) for a in agents]
    assert max(counts) - min(counts) == 0 and report.penalties["fairness: weekends"] == 0


def test_repair_keeps_most_shifts_when_an_agent_calls_in_sick():
    h = horizon(days=5)
    agents = [Agent(id=f"a{k}", skills=["q"]) for k in range(3)]
    base = make_input(agents, h=h, reqs=[requirement(h, {hh: 2 for hh in range(9, 16)})], seconds=10)
    first, _ = solved(base)
    sick = MON + timedelta(days=2)
    victim = next(s.agent for s in first.roster.shifts if s.day == sick)
    changed_agents = [a.model_copy(update={"unavailable_days": [sick]}) if a.id == victim else a for a in agents]
    repair = base.model_copy(update={"agents": changed_agents, "reference": first.roster,
                                     "weights": Weights(under=100, over=10, change=1000)})
    res, report = solved(repair)
    before = {(s.agent, s.day, s.template, pd.Timestamp(s.start)) for s in first.roster.shifts}
    after = {(s.agent, s.day, s.template, pd.Timestamp(s.start)) for s in res.roster.shifts}
    assert (victim, sick) not in {(a, d) for a, d, _, _ in after}
    # Only the sick shift goes, plus at most one replacement that day.
    assert len(before - after) == 1 and len(after - before) <= 1
    assert report.penalties["changed shifts"] == 1000 * (len(before - after) + len(after - before))


def test_progress_callback_reports_objective_and_bound():
    seen = []
    agents = [Agent(id=f"a{k}", skills=["q"]) for k in range(3)]
    data = make_input(agents, reqs=[requirement(horizon(), {hh: 2 for hh in range(8, 18)})], seconds=3)
    res = solve_roster(data, progress=lambda obj, bound, t: seen.append((obj, bound, t)))
    assert seen and seen[-1][0] == pytest.approx(res.objective) and all(b <= o + 1e-6 for o, b, _ in seen)


# -- demand per (day, template), service-goal mode -----------------------------------------------

def test_shift_requirements_per_day_and_template():
    from wfm.roster.domain import ShiftRequirement

    h = horizon(days=2)
    agents = [Agent(id=f"a{k}", skills=["q"]) for k in range(3)]
    data = RosterInput(horizon=h, templates=[day_template()], agents=agents,
                       shift_requirements=[ShiftRequirement(day=MON, template="D", count=2, under_weight=50,
                                                            over_weight=7)],
                       solver=SolverParams(time_limit_seconds=5, workers=1))
    res, report = solved(data)
    assert sum(s.day == MON for s in res.roster.shifts) == 2 and res.objective == 0
    three = Roster(shifts=[hand_shift(f"a{k}", MON) for k in range(3)])
    assert validate(data, three).penalties["shift demand over"] == 7
    assert validate(data, Roster(shifts=[])).penalties["shift demand under"] == 100


@pytest.mark.parametrize("busy_morning", [True, False])
def test_service_goal_sends_the_scarce_agent_where_volume_is(busy_morning):
    from wfm.domain import ServiceTarget

    h = horizon(days=1)
    shifts = ShiftTemplate(id="S", start_times=[time(6), time(14)], length_minutes=480)
    starts = h.interval_starts()
    morning = [6 <= ts.hour < 14 for ts in starts]
    open_ = [6 <= ts.hour < 22 for ts in starts]
    # 10/h x 240 s: one agent lifts SL from 0 to ~35% of 10 contacts; 2/h: to ~88% of 2 contacts.
    volume = [(10.0 if m == busy_morning else 2.0) if o else 0.0 for m, o in zip(morning, open_)]
    req = QueueRequirement(queue="q", agents=[1.0 if o else 0.0 for o in open_], volume=volume,
                           aht_seconds=[240.0] * len(starts), target=ServiceTarget(service_level=0.8,
                                                                                   answer_seconds=20))
    data = make_input([Agent(id="a", skills=["q"])], h=h, templates=[shifts], reqs=[req],
                      weights=Weights(under=100, over=1, service_goal=1))
    res, report = solved(data)
    start = pd.Timestamp(res.roster.shifts[0].start).tz_convert(TZ).hour
    assert start == (6 if busy_morning else 14)
    assert report.penalties["service shortfall"] > 0 and report.penalties["under-coverage"] == 0


def test_unavailable_period_within_a_day():
    from wfm.roster.domain import Period

    blocked = Period(start=local(MON, 12), end=local(MON, 13))
    data = make_input([Agent(id="a", skills=["q"], unavailable_periods=[blocked])])
    assert "unavailable" in _rules(validate(data, Roster(shifts=[hand_shift("a", MON)])))
    res, _ = solved(data)
    assert MON not in {s.day for s in res.roster.shifts}  # every Monday shift covers 12:00-13:00


@pytest.mark.parametrize("afternoon_matters", [True, False])
def test_under_coverage_weight_can_vary_by_interval(afternoon_matters):
    h = horizon(days=1)
    shifts = ShiftTemplate(id="S", start_times=[time(6), time(14)], length_minutes=480)
    starts = h.interval_starts()
    need = [1.0 if 6 <= ts.hour < 22 else 0.0 for ts in starts]
    weights = [(300 if (ts.hour >= 14) == afternoon_matters else 100) for ts in starts]
    req = QueueRequirement(queue="q", agents=need, under_weights=weights)
    res, report = solved(make_input([Agent(id="a", skills=["q"])], h=h, templates=[shifts], reqs=[req]))
    assert pd.Timestamp(res.roster.shifts[0].start).tz_convert(TZ).hour == (14 if afternoon_matters else 6)
    assert report.penalties["under-coverage"] == 8 * 100


def test_fairness_of_unwanted_shifts_is_scored():
    agents = [Agent(id="a", skills=["q"], preferences=[Preference(day=MON + timedelta(days=d), template="D", want=False)
                                                       for d in range(3)]),
              Agent(id="b", skills=["q"])]
    data = make_input(agents, weights=Weights(fairness=10))
    report = validate(data, Roster(shifts=_week("a", [0, 1, 2])))
    assert report.penalties["fairness: unwanted shifts"] == 30


def test_coverage_reports_scheduled_and_on_queue():
    h = horizon(days=1)
    data = make_input([Agent(id="a", skills=["q"])], h=h)
    cov = validate(data, Roster(shifts=[hand_shift("a", MON)])).coverage
    at_lunch = cov[cov["interval_start"].dt.hour == 12].iloc[0]
    assert at_lunch["scheduled"] == 1 and at_lunch["on_queue"] == 0
    assert (cov["scheduled"] >= cov["on_queue"]).all() and cov["scheduled"].sum() == 8


def test_deterministic_limit_reproduces_a_roster_stopped_early():
    from wfm.domain import ServiceTarget  # noqa: F401  (kept close to the instance it builds)

    h = horizon(days=7, minutes=30)
    agents = [Agent(id=f"a{k}", skills=["q"], contract=Contract(min_hours=24, max_hours=40)) for k in range(8)]
    need = [3 if 8 <= ts.hour < 18 else 0 for ts in h.interval_starts()]
    data = make_input(agents, h=h, reqs=[QueueRequirement(queue="q", agents=need)], seconds=60)
    data = data.model_copy(update={"solver": SolverParams(time_limit_seconds=60, workers=1, seed=7,
                                                          deterministic_limit=0.5)})
    one, two = solve_roster(data), solve_roster(data)
    assert one.roster.model_dump() == two.roster.model_dump() and one.objective == two.objective


def ten_agent_week(seconds: float) -> RosterInput:
    """Ten interchangeable agents on a 30-minute week with a morning peak (the large-site tests
    run it with FULL_MODEL_LIMIT at 0)."""
    h = horizon(days=7, minutes=30)
    agents = [Agent(id=f"a{k}", skills=["q"], contract=Contract(min_hours=16, max_hours=40)) for k in range(10)]
    need = [4 if 8 <= ts.hour < 12 else 2 if 12 <= ts.hour < 18 else 0 for ts in h.interval_starts()]
    return make_input(agents, h=h, reqs=[QueueRequirement(queue="q", agents=need)], seconds=seconds)


@pytest.mark.parametrize("path", ["full model", "neighbourhood search"])
def test_deterministic_limit_reproduces_every_solve_path(path):
    """With a deterministic limit every phase counts CP-SAT's deterministic time, not the clock:
    the large-site path (LP bound, local and neighbourhood search) repeats exactly too, even when the
    machine is busy (a second solve runs while another process keeps a core busy). (A busy thread
    in the same process is another matter: the local search is pure Python and shares the
    interpreter lock with it, so it can slow down past the wall-clock cap.)"""
    import subprocess
    import sys

    from wfm.roster.strategy import Tuning

    tuning = Tuning(full_model_limit=0) if path == "neighbourhood search" else Tuning()
    data = ten_agent_week(seconds=60)
    data = data.model_copy(update={"solver": SolverParams(time_limit_seconds=60, workers=1, seed=3,
                                                          deterministic_limit=2.0)})
    one = solve_roster(data, tuning=tuning)
    busy = subprocess.Popen([sys.executable, "-c", "while True: pass"])
    try:
        two = solve_roster(data, tuning=tuning)
    finally:
        busy.kill()
        busy.wait()
    assert one.roster is not None and validate(data, one.roster).feasible
    assert one.roster.model_dump() == two.roster.model_dump() and one.objective == two.objective


def test_large_site_starts_its_lp_bound_before_pricing_and_skips_the_integer_master(monkeypatch):
    """On a large site the LP bound (a background solve of tens of seconds) starts before column
    generation prices, so it arrives within a short limit (200 agents, 60 s: it did not when it
    waited for pricing). The integer master is skipped there (its roster loses to the dive's); the
    bound comes and the roster is valid."""
    import threading

    from wfm.roster.search import colgen, relaxation
    from wfm.roster.strategy import Tuning

    events, solving = [], threading.Event()
    real_run, real_bound = colgen.ColumnGenerator.run, relaxation.lower_bound

    def run(self, *args, **kwargs):
        # the LP bound's thread is running, or has run, by the time pricing starts
        started = solving.is_set() or any(t.name == "roster-lp-bound" for t in threading.enumerate())
        events.append("pricing after the lp bound started" if started else "pricing first")
        return real_run(self, *args, **kwargs)

    def bound(*args, **kwargs):
        solving.set()
        events.append("lp bound")
        return real_bound(*args, **kwargs)

    def master(*args, **kwargs):
        events.append("master")
        return None

    monkeypatch.setattr(colgen.ColumnGenerator, "run", run)
    monkeypatch.setattr(colgen, "master_roster", master)
    monkeypatch.setattr(relaxation, "lower_bound", bound)
    data = ten_agent_week(seconds=12)
    # large, and the path of a start the moves cannot take
    result = solve_roster(data, tuning=Tuning(full_model_limit=0, moves_first=False))
    assert "pricing first" not in events and "pricing after the lp bound started" in events, events
    assert events.count("lp bound") == 1 and "master" not in events
    assert validate(data, result.roster).feasible and result.bound is not None


def test_large_site_with_a_valid_start_goes_to_the_moves_at_once(monkeypatch):
    """A large site whose greedy start is valid neither prices columns nor waits for the LP's
    roster: the moves and day re-plans get the whole limit from the greedy start. The LP bound
    still solves in the background and is reported, and the roster is valid and no worse than the
    greedy start."""
    from wfm.roster import strategy
    from wfm.roster.greedy import greedy_roster
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.search import colgen
    from wfm.roster.solver import site_facts

    def refuse(*args, **kwargs):
        raise AssertionError("priced on a large site whose moves could go first")

    tuning = strategy.Tuning(full_model_limit=0)
    monkeypatch.setattr(colgen.ColumnGenerator, "run", refuse)
    data = ten_agent_week(seconds=8)
    grid = Grid(data)
    options = expand_options(data, grid)
    start = validate(data, greedy_roster(data, grid, options, spread=True))
    assert start.feasible
    path = strategy.choose_path(site_facts(data, grid, options), True, 0.01, 8.0, 8.0, tuning)
    assert path.moves_first and path.lp_bound and not path.column_generation and not path.lp_start
    result = solve_roster(data, tuning=tuning)
    report = validate(data, result.roster)
    assert report.feasible and report.objective <= start.objective
    assert result.bound is not None and result.bound <= report.objective


def _start_leaving_out(data, agents):
    """The greedy roster without `agents`' shifts: a start that breaks their contract minimums, as
    the solver's start is when the greedy breaks a rule for some agents."""
    from wfm.roster.greedy import greedy_roster
    from wfm.roster.options import Grid, expand_options

    grid = Grid(data)
    options = expand_options(data, grid)
    start = Roster(shifts=[s for s in greedy_roster(data, grid, options).shifts if s.agent not in agents])
    assert not validate(data, start).feasible
    return grid, options, start


def test_column_generation_never_hands_on_a_roster_that_breaks_a_rule():
    """Columns seeded from a start that leaves agents out include their empty schedules: a roster of
    such columns scores low but keeps no contract minimum (the suite's s60 site came out of every
    solve breaking four full-timers' minimums, reported as OPTIMAL below its own bound)."""
    from wfm.roster.budget import Budget
    from wfm.roster.phases import column_generation

    data = ten_agent_week(seconds=6)
    grid, options, start = _start_leaving_out(data, {"a0", "a1"})
    priced = column_generation(data, grid, options, Budget(data.solver), None, start, 0.4, 0.2, 0.0)
    assert priced.first is None or validate(data, priced.first.roster).feasible


def test_a_large_site_repairs_a_start_that_breaks_rules_and_then_improves_it():
    """From a start that breaks rules (no valid roster yet) the neighbourhood search repairs it; the
    moves then go on from the repaired roster: the result keeps every rule."""
    from wfm.roster.budget import Budget
    from wfm.roster.costs import contract_floor
    from wfm.roster.phases import large_site

    data = ten_agent_week(seconds=8)
    grid, options, start = _start_leaving_out(data, {"a0", "a1"})
    budget = Budget(data.solver)
    result = large_site(data, grid, options, start, None, contract_floor(data, grid), budget, None, None, None)
    report = validate(data, result.roster)
    assert report.feasible and report.objective == pytest.approx(result.objective)


@pytest.mark.parametrize("large, moves_first", [(True, True), (True, False), (False, False)])
def test_only_a_site_going_to_the_moves_first_starts_from_the_spread_greedy(monkeypatch, large, moves_first):
    """The moves build on their start's week shape, so a large site that goes to them at once
    (`Tuning.moves_first`) starts from the greedy that spreads weekly minimums over the most days
    (`greedy.spread_cap`); a large site whose start comes from column generation or the LP, and a
    small site (its start a hint for CP-SAT), start from the plain greedy."""
    from wfm.roster import greedy
    from wfm.roster.strategy import Tuning

    asked, real = [], greedy.greedy_roster

    def recorded(*args, spread=False, **kwargs):
        asked.append(spread)
        return real(*args, spread=spread, **kwargs)

    monkeypatch.setattr(greedy, "greedy_roster", recorded)
    tuning = Tuning(full_model_limit=0 if large else Tuning().full_model_limit, moves_first=moves_first)
    data = ten_agent_week(seconds=3)
    result = solve_roster(data, tuning=tuning)
    assert asked[0] is moves_first
    assert validate(data, result.roster).feasible


def test_spread_start_that_breaks_a_rule_gives_way_to_the_plain_greedy(monkeypatch):
    """Should the spread greedy's roster break a rule, the solver starts from the plain greedy's
    (valid, scored by the validator) rather than repairing it or starting from nothing."""
    from wfm.roster import greedy
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.phases import greedy_start

    real = greedy.greedy_roster
    monkeypatch.setattr(greedy, "greedy_roster", lambda *args, spread=False, **kwargs:
                        Roster(shifts=[]) if spread else real(*args, **kwargs))  # no shifts: minimums missed
    data = ten_agent_week(seconds=3)
    grid = Grid(data)
    options = expand_options(data, grid)
    roster, valid, score, _ = greedy_start(data, grid, options, 0.0, None, spread=True)
    assert valid is None and roster.shifts
    assert score == validate(data, real(data, grid, options)).objective


def test_large_site_with_shift_demand_still_prices_first(monkeypatch):
    """Shift demand is a term the day re-plan leaves out (`dayplan.applies_to`), so such a site does
    not go to the moves first: column generation builds its start as before."""
    from wfm.roster.domain import ShiftRequirement
    from wfm.roster.search import colgen
    from wfm.roster.strategy import Tuning

    priced = []
    real_run = colgen.ColumnGenerator.run

    def run(self, *args, **kwargs):
        priced.append(True)
        return real_run(self, *args, **kwargs)

    monkeypatch.setattr(colgen.ColumnGenerator, "run", run)
    data = ten_agent_week(seconds=8)
    data = data.model_copy(update={"shift_requirements": [
        ShiftRequirement(day=data.horizon.dates()[0], template=data.templates[0].id, count=2)]})
    # large, and priced however slowly a loaded machine validates (colgen_min_checks is another rule)
    result = solve_roster(data, tuning=Tuning(full_model_limit=0, colgen_min_checks=0))
    assert priced and validate(data, result.roster).feasible


def test_progress_under_fixings_never_shows_the_restricted_bound():
    """The first full-model pass fixes the shifts the LP is unanimous about; CP-SAT's bound there
    holds for that restricted problem only. Progress must not show it: here a day off fixed for an
    agent the optimum needs that day makes the restricted optimum dearer than the true one."""
    from wfm.roster.budget import Budget
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.phases import full_model

    agents = [Agent(id=f"a{k}", skills=["q"], contract=Contract(min_hours=0, max_hours=40)) for k in range(2)]
    data = make_input(agents, h=horizon(days=3))
    optimum = solve_roster(data)
    assert optimum.status == "OPTIMAL"
    grid = Grid(data)
    options = expand_options(data, grid)
    assert {o.day for o in options[:2]} == {0}
    budget = Budget(data.solver)
    reported = []
    # a0 off on day 0: a1 alone cannot cover its own lunch hour
    fixings = {("a0", options[0].index): 0, ("a0", options[1].index): 0}
    restricted = full_model(data, grid, options, None, None, fixings, 5.0, budget,
                            lambda objective, bound, seconds: reported.append(bound))
    assert restricted.objective > optimum.objective
    assert reported and max(reported) <= optimum.objective


def test_a_tiny_time_limit_leaves_no_search_running_and_keeps_the_greedy_roster():
    import threading

    from api_helpers import busy_input

    def lp_threads():
        return sum(1 for t in threading.enumerate() if t.name == "roster-lp-bound" and t.is_alive())

    data = busy_input(60, 0.01)  # a 60-agent week, 15-minute intervals
    before = lp_threads()
    heard = []
    result = solve_roster(data, lambda objective, bound, seconds: heard.append(objective))
    assert lp_threads() <= before  # no LP bound left solving in the background
    assert result.roster is not None and validate(data, result.roster).feasible
    assert heard == [validate(data, result.roster).objective]  # the greedy start, and no search after it


def test_two_workers_on_a_small_site_search_twice_and_leave_no_process_behind():
    """The sample site (bench/sites/sample-30.json, the demo's roster input) with two workers goes
    moves first with a second search in its own process; the roster is valid and that process
    has ended when the solve returns."""
    import multiprocessing
    from pathlib import Path

    from wfm.roster import strategy
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.solver import site_facts

    stored = Path(__file__).resolve().parents[1] / "bench" / "sites" / "sample-30.json"
    data = RosterInput.model_validate_json(stored.read_text())
    data = data.model_copy(update={"solver": data.solver.model_copy(update={"time_limit_seconds": 6.0,
                                                                            "workers": 2, "seed": 1})})
    grid = Grid(data)
    site = site_facts(data, grid, expand_options(data, grid))
    assert strategy.choose_path(site, True, 0.05, 6.0, 6.0).second_search
    result = solve_roster(data)
    assert result.roster is not None and validate(data, result.roster).feasible
    assert not [p for p in multiprocessing.active_children() if p.name == "roster-second-search"]
