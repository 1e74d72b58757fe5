"""The hard rules a roster keeps, one entry each: the name that the validator's violations and the
model's infeasibility explanations both use, and what the rule means for a manager.

A rule is enforced by the CP-SAT model (`model.py`), checked by the independent validator
(`validator.py`) and kept by the searches that change shifts without CP-SAT: the greedy start
(`greedy.py`: `_Schedule.fits`) and the coverage moves (`search/local.py`: `keeps_rules`,
`options_keeping_rules`, `_pattern_ok`). tests/test_roster_rules.py holds each rule to them: a
roster that breaks only that rule is named by the validator, and an input that makes the rule
impossible is named by the model. docs/architecture.md has the recipe for adding one.
"""

from __future__ import annotations

from enum import StrEnum


class Rule(StrEnum):
    # the shift itself
    HORIZON = "horizon"
    UNKNOWN = "unknown"
    SHIFT_DAY = "shift day"
    START_TIME = "start time"
    SHIFT_LENGTH = "shift length"
    CROSSES_MIDNIGHT = "crosses midnight"
    BREAKS = "breaks"
    SEGMENTS = "segments"
    SKILLS = "skills"
    # the agent's days
    ONE_SHIFT_PER_DAY = "one shift per day"
    UNAVAILABLE = "unavailable"
    FIXED_DAY_OFF = "fixed day off"
    FIXED_SHIFT = "fixed shift"
    # the contract
    CONTRACT_MAX_HOURS = "contract max hours"
    CONTRACT_MIN_HOURS = "contract min hours"
    CONTRACT_MAX_DAYS = "contract max days"
    CONTRACT_MIN_DAYS = "contract min days"
    CONTRACT_HORIZON_MAX_HOURS = "contract horizon max hours"
    CONTRACT_HORIZON_MIN_HOURS = "contract horizon min hours"
    TEMPLATE_CAP = "template cap"
    # the working pattern
    MIN_REST = "min rest"
    NOT_FOLLOWED_BY = "not followed by"
    START_TIME_STABILITY = "start time stability"
    MAX_CONSECUTIVE_DAYS = "max consecutive days"
    MIN_CONSECUTIVE_DAYS = "min consecutive days"
    MIN_CONSECUTIVE_DAYS_OFF = "min consecutive days off"
    MAX_WEEKENDS = "max weekends"


MEANING: dict[Rule, str] = {
    Rule.HORIZON: "every shift lies inside the planning horizon",
    Rule.UNKNOWN: "every shift names an agent and a template of the input",
    Rule.SHIFT_DAY: "a shift is filed under the day it starts",
    Rule.START_TIME: "a shift starts at one of its template's start times, at a wall-clock time that exists",
    Rule.SHIFT_LENGTH: "a shift lasts its template's length",
    Rule.CROSSES_MIDNIGHT: "a shift of a template that may not cross midnight ends the day it starts",
    Rule.BREAKS: "a shift has its template's breaks, each of its length, inside its window, in order",
    Rule.SEGMENTS: "on-queue work lies inside the shift, outside its breaks, never twice at once",
    Rule.SKILLS: "an agent works only templates and queues it has the skills for",
    Rule.ONE_SHIFT_PER_DAY: "an agent works at most one shift a day",
    Rule.UNAVAILABLE: "no shift on an agent's unavailable days or overlapping its unavailable periods",
    Rule.FIXED_DAY_OFF: "an agent is off on the days fixed off for it",
    Rule.FIXED_SHIFT: "an agent works the template fixed for it on that day",
    Rule.CONTRACT_MAX_HOURS: "paid hours in each whole week at most the contract's maximum",
    Rule.CONTRACT_MIN_HOURS: "paid hours in each whole week at least the contract's minimum",
    Rule.CONTRACT_MAX_DAYS: "days worked in each whole week at most the contract's maximum",
    Rule.CONTRACT_MIN_DAYS: "days worked in each whole week at least the contract's minimum",
    Rule.CONTRACT_HORIZON_MAX_HOURS: "paid hours over the whole horizon at most the contract's maximum",
    Rule.CONTRACT_HORIZON_MIN_HOURS: "paid hours over the whole horizon at least the contract's minimum",
    Rule.TEMPLATE_CAP: "an agent works a template at most as often as its contract caps it",
    Rule.MIN_REST: "at least the minimum rest between the end of one shift and the start of the next",
    Rule.NOT_FOLLOWED_BY: "a template is not followed the next day by the templates it may not precede",
    Rule.START_TIME_STABILITY: "an agent's start times within a week stay within the tolerance",
    Rule.MAX_CONSECUTIVE_DAYS: "at most this many days worked in a row (counting the previous roster)",
    Rule.MIN_CONSECUTIVE_DAYS: "a run of days worked is at least this long",
    Rule.MIN_CONSECUTIVE_DAYS_OFF: "a run of days off is at least this long",
    Rule.MAX_WEEKENDS: "at most this many weekends worked",
}


def rule_of(name: str) -> Rule:
    """The rule a violation or conflict names ("template cap T3", "min rest (previous roster)"
    and "min rest (agent a7)" name their rule first)."""
    for rule in sorted(Rule, key=lambda r: -len(r.value)):
        if name == rule.value or name.startswith(rule.value + " "):
            return rule
    raise ValueError(f"{name!r} names no hard rule")
