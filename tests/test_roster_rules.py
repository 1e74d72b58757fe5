"""Every hard rule of `wfm.roster.rules`, held to the validator and the model: a roster that
breaks the rule is named by the validator under the rule's name, and each rule has such a case
here (a rule added without one fails `test_every_rule_has_a_case`)."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pandas as pd
import pytest

from wfm.domain import Horizon
from wfm.roster.domain import (Agent, Break, BreakRule, Contract, QueueRequirement, Roster, RosterInput, Rules,
                               Segment, Shift, ShiftTemplate, SolverParams)
from wfm.roster.model import explain_infeasibility
from wfm.roster.rules import MEANING, Rule, rule_of
from wfm.roster.validator import validate

TZ = "Europe/Berlin"
MON = date(2026, 1, 5)
WEEK = [MON + timedelta(days=k) for k in range(7)]


def at(day: date, hour: int) -> datetime:
    return pd.Timestamp(datetime.combine(day, time(hour)), tz=TZ).to_pydatetime()


def shift(day: date, start=8, lunch=12, template="D", length=8, queue="q", filed: date | None = None) -> Shift:
    s, e, b0, b1 = at(day, start), at(day, start) + timedelta(hours=length), at(day, lunch), at(day, lunch + 1)
    return Shift(agent="a", day=filed or day, template=template, start=s, end=e,
                 breaks=[Break(name="lunch", start=b0, end=b1)],
                 segments=[Segment(start=s, end=b0, queue=queue), Segment(start=b1, end=e, queue=queue)])


def site(contract: dict | None = None, rules: dict | None = None, agent: dict | None = None,
         templates: list[ShiftTemplate] | None = None) -> RosterInput:
    """One agent, a week of 60-minute intervals, 8-hour day shifts starting 08:00 or 09:00 with an
    unpaid hour of lunch 3 to 5 hours in (7 paid hours)."""
    h = Horizon(start=MON, days=7, interval_minutes=60, timezone=TZ)
    lunch = BreakRule(name="lunch", minutes=60, earliest_minutes=180, latest_minutes=300, paid=False)
    day = ShiftTemplate(id="D", start_times=[time(8), time(9)], length_minutes=480, breaks=[lunch])
    a = Agent(id="a", skills=["q"], contract=Contract(**(contract or {})), **(agent or {}))
    return RosterInput(horizon=h, requirements=[QueueRequirement(queue="q", agents=[0.0] * (7 * 24))],
                       templates=templates or [day], agents=[a], rules=Rules(**(rules or {})),
                       solver=SolverParams(time_limit_seconds=5, workers=1))


WEEKDAYS = [shift(d) for d in WEEK[:5]]  # Monday to Friday, 35 paid hours: valid under site()


def replaced(k: int, new: Shift | None) -> list[Shift]:
    return [new if i == k else s for i, s in enumerate(WEEKDAYS) if not (i == k and new is None)]


NIGHT = ShiftTemplate(id="N", start_times=[time(20)], length_minutes=480)
DAY = site().templates[0]

# rule -> (input, roster that breaks it)
CASES = {
    Rule.HORIZON: (site(), WEEKDAYS + [shift(MON - timedelta(days=1))]),
    Rule.UNKNOWN: (site(), replaced(0, shift(MON, template="Z"))),
    Rule.SHIFT_DAY: (site(), replaced(4, shift(WEEK[4], filed=WEEK[5]))),
    Rule.START_TIME: (site(), replaced(2, shift(WEEK[2], start=10, lunch=14))),
    Rule.SHIFT_LENGTH: (site(), replaced(1, shift(WEEK[1], length=7))),
    Rule.CROSSES_MIDNIGHT: (site(templates=[DAY, NIGHT]),
                            replaced(4, Shift(agent="a", day=WEEK[4], template="N", start=at(WEEK[4], 20),
                                              end=at(WEEK[4], 20) + timedelta(hours=8), breaks=[],
                                              segments=[Segment(start=at(WEEK[4], 20),
                                                                end=at(WEEK[4], 20) + timedelta(hours=8),
                                                                queue="q")]))),
    Rule.BREAKS: (site(), replaced(3, shift(WEEK[3], lunch=10))),
    Rule.SEGMENTS: (site(), replaced(0, WEEKDAYS[0].model_copy(update={"segments": [
        Segment(start=at(MON, 8), end=at(MON, 16), queue="q")]}))),
    Rule.SKILLS: (site(), replaced(0, shift(MON, queue="r"))),
    Rule.ONE_SHIFT_PER_DAY: (site(contract={"max_hours": 60}, rules={"min_rest_hours": 0}),
                             WEEKDAYS + [shift(MON, start=9, lunch=13)]),
    Rule.UNAVAILABLE: (site(agent={"unavailable_days": [MON]}), WEEKDAYS),
    Rule.FIXED_DAY_OFF: (site(agent={"fixed": {WEEK[1]: None}}), WEEKDAYS),
    Rule.FIXED_SHIFT: (site(contract={"max_days": 6, "max_hours": 48}, agent={"fixed": {WEEK[5]: "D"}}), WEEKDAYS),
    Rule.CONTRACT_MAX_HOURS: (site(contract={"max_hours": 30}), WEEKDAYS),
    Rule.CONTRACT_MIN_HOURS: (site(contract={"min_hours": 38}), WEEKDAYS),
    Rule.CONTRACT_MAX_DAYS: (site(contract={"max_days": 4, "max_hours": 40}), WEEKDAYS),
    Rule.CONTRACT_MIN_DAYS: (site(contract={"min_days": 6, "max_days": 6}), WEEKDAYS),
    Rule.CONTRACT_HORIZON_MAX_HOURS: (site(contract={"horizon_max_hours": 30}), WEEKDAYS),
    Rule.CONTRACT_HORIZON_MIN_HOURS: (site(contract={"horizon_min_hours": 38}), WEEKDAYS),
    Rule.TEMPLATE_CAP: (site(contract={"template_caps": {"D": 4}}), WEEKDAYS),
    Rule.MIN_REST: (site(rules={"min_rest_hours": 17}), WEEKDAYS),
    Rule.NOT_FOLLOWED_BY: (site(templates=[DAY.model_copy(update={"not_followed_by": ["D"]})]), WEEKDAYS),
    Rule.START_TIME_STABILITY: (site(rules={"start_time_tolerance_minutes": 0}),
                                replaced(1, shift(WEEK[1], start=9, lunch=13))),
    Rule.MAX_CONSECUTIVE_DAYS: (site(rules={"max_consecutive_days": 4}), WEEKDAYS),
    Rule.MIN_CONSECUTIVE_DAYS: (site(rules={"min_consecutive_days": 3}), replaced(2, None)),
    Rule.MIN_CONSECUTIVE_DAYS_OFF: (site(rules={"min_consecutive_days_off": 2}), replaced(2, None)),
    Rule.MAX_WEEKENDS: (site(contract={"max_days": 6, "max_hours": 48}, rules={"max_weekends": 0}),
                        WEEKDAYS + [shift(WEEK[5])]),
}


def test_the_cases_roster_is_valid_before_it_is_broken():
    report = validate(site(), Roster(shifts=WEEKDAYS))
    assert report.feasible, [str(v) for v in report.violations]


def test_every_rule_has_a_case_and_a_meaning():
    assert set(CASES) == set(Rule)
    assert all(MEANING.get(rule) for rule in Rule)


@pytest.mark.parametrize("rule", list(CASES), ids=[r.value for r in CASES])
def test_the_validator_names_the_rule_a_roster_breaks(rule):
    data, shifts = CASES[rule]
    report = validate(data, Roster(shifts=shifts))
    named = {rule_of(v.rule) for v in report.violations}
    assert rule in named, [str(v) for v in report.violations]


@pytest.mark.parametrize("contract, agent, expected", [
    ({"min_hours": 40, "max_days": 2}, {}, {Rule.CONTRACT_MIN_HOURS, Rule.CONTRACT_MAX_DAYS}),
    ({"max_days": 5}, {"fixed": {d: "D" for d in WEEK[:6]}}, {Rule.FIXED_SHIFT, Rule.CONTRACT_MAX_DAYS}),
    ({}, {"fixed": {MON: "D"}, "unavailable_days": [MON]}, {Rule.FIXED_SHIFT, Rule.UNAVAILABLE}),
])
def test_the_model_names_the_rules_an_impossible_input_sets_against_each_other(contract, agent, expected):
    conflicts = explain_infeasibility(site(contract=contract, agent=agent))
    assert {rule_of(c) for c in conflicts} & expected, conflicts


@pytest.mark.parametrize("name, rule", [("min rest", Rule.MIN_REST), ("min rest (a7)", Rule.MIN_REST),
                                        ("template cap T3", Rule.TEMPLATE_CAP),
                                        ("min consecutive days off", Rule.MIN_CONSECUTIVE_DAYS_OFF),
                                        ("max consecutive days (previous roster)", Rule.MAX_CONSECUTIVE_DAYS)])
def test_a_name_with_a_qualifier_names_its_rule(name, rule):
    assert rule_of(name) is rule


def test_a_name_of_no_rule_is_refused():
    with pytest.raises(ValueError, match="names no hard rule"):
        rule_of("min rested")
