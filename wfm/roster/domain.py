"""Roster input and output (pydantic, JSON-serializable, shared with the CLI and the API).

Times: shift starts are local clock times on a planning day (the day the shift starts);
a shift lasts its length in real minutes, so on a DST day an 8-hour shift still covers 8 hours
of intervals. Requirements are given per horizon interval (`Horizon.interval_starts()`).
"""

from __future__ import annotations

from datetime import date, datetime, time
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ..domain import Horizon, ServiceTarget

# Numbers are never read from strings or (for counts) from fractions, and every bound below holds
# before any work starts: a value the solver would choke on is a validation error naming its field.
Count = Annotated[int, Field(strict=True)]
Number = Annotated[float, Field(strict=True)]
MINUTES_A_DAY = 24 * 60
WEIGHT_MAX = 1_000_000  # objective weights: far beyond any real use, far below CP-SAT's int64 objective


class Model(BaseModel):
    """An input model: an unknown field is an error (a misspelt rule would otherwise be ignored),
    numbers are finite."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class BreakRule(Model):
    """One break within a shift: `minutes` long, starting between `earliest_minutes` and
    `latest_minutes` after the shift starts. Breaks of a template are taken in list order."""

    name: str = "break"
    minutes: Count = Field(gt=0, le=MINUTES_A_DAY)
    earliest_minutes: Count = Field(ge=0, le=MINUTES_A_DAY)
    latest_minutes: Count = Field(ge=0, le=MINUTES_A_DAY)
    paid: bool = True

    @model_validator(mode="after")
    def _window(self) -> "BreakRule":
        if self.latest_minutes < self.earliest_minutes:
            raise ValueError(f"break {self.name!r}: latest_minutes={self.latest_minutes} < "
                             f"earliest_minutes={self.earliest_minutes}")
        return self


class ShiftTemplate(Model):
    id: str = Field(min_length=1)
    start_times: list[time] = Field(default_factory=list, description="allowed local start times")
    earliest_start: time | None = None
    latest_start: time | None = None
    step_minutes: Count | None = Field(None, ge=1, le=MINUTES_A_DAY)
    length_minutes: Count = Field(gt=0, le=MINUTES_A_DAY)
    crosses_midnight: bool = False
    breaks: list[BreakRule] = Field(default_factory=list)
    skills: list[str] = Field(default_factory=list, description="queues it may work; empty = any")
    night: bool = Field(False, description="counts as a night shift for fairness")
    not_followed_by: list[str] = Field(default_factory=list, description=(
        "templates that may not be worked on the day after this one (e.g. no early after a late)"))

    @model_validator(mode="after")
    def _starts(self) -> "ShiftTemplate":
        windowed = self.earliest_start is not None and self.latest_start is not None
        if not self.start_times and not windowed:
            raise ValueError(f"template {self.id!r}: give start_times or earliest_start/latest_start")
        for b in self.breaks:
            if b.latest_minutes + b.minutes > self.length_minutes:
                raise ValueError(f"template {self.id!r}: break {b.name!r} can end after the shift")
        return self

    def starts(self, interval_minutes: int) -> list[time]:
        if self.start_times:
            return sorted(set(self.start_times))
        step = self.step_minutes or interval_minutes
        first = self.earliest_start.hour * 60 + self.earliest_start.minute
        last = self.latest_start.hour * 60 + self.latest_start.minute
        return [time(m // 60, m % 60) for m in range(first, last + 1, step)]

    @property
    def paid_minutes(self) -> int:
        return self.length_minutes - sum(b.minutes for b in self.breaks if not b.paid)


class Contract(Model):
    min_hours: Number = Field(0, ge=0, le=168, description="paid hours per week, at least")
    max_hours: Number = Field(40, gt=0, le=168, description="paid hours per week, at most")
    max_days: Count = Field(5, ge=0, le=7)
    min_days: Count = Field(0, ge=0, le=7)
    template_caps: dict[str, Annotated[int, Field(strict=True, ge=0, le=366)]] = Field(
        default_factory=dict, description="template id -> max shifts")
    horizon_min_hours: Number | None = Field(None, ge=0, le=24 * 366,
                                             description="paid hours over the whole horizon, at least")
    horizon_max_hours: Number | None = Field(None, ge=0, le=24 * 366,
                                             description="paid hours over the whole horizon, at most")
    # Working-pattern rules of this contract; None = the roster-wide rule (RosterInput.rules).
    max_consecutive_days: Count | None = Field(None, ge=1, le=366)
    min_consecutive_days: Count | None = Field(None, ge=1, le=366)
    min_consecutive_days_off: Count | None = Field(None, ge=1, le=366)
    max_weekends: Count | None = Field(None, ge=0, le=53)

    @model_validator(mode="after")
    def _ranges(self) -> "Contract":
        if self.min_hours > self.max_hours:
            raise ValueError(f"min_hours {self.min_hours:g} > max_hours {self.max_hours:g}: no week can keep both")
        if self.min_days > self.max_days:
            raise ValueError(f"min_days {self.min_days} > max_days {self.max_days}: no week can keep both")
        return self


class Preference(Model):
    """A wish with a weight: a day off (`template` None) or a template on a date; `want`
    False means the agent would rather not."""

    day: date
    template: str | None = None
    want: bool = True
    weight: Count = Field(1, ge=0, le=WEIGHT_MAX)


class Period(Model):
    start: datetime
    end: datetime

    @model_validator(mode="after")
    def _order(self) -> "Period":
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period times must be timezone-aware")
        if self.end <= self.start:
            raise ValueError(f"period ends {self.end} before it starts {self.start}")
        return self


class Agent(Model):
    id: str = Field(min_length=1)
    skills: list[str] = Field(min_length=1)
    contract: Contract = Contract()
    unavailable_days: list[date] = Field(default_factory=list, description="approved leave / not available")
    unavailable_periods: list[Period] = Field(default_factory=list,
                                              description="times the agent cannot work (no shift may overlap them)")
    fixed: dict[date, str | None] = Field(default_factory=dict,
                                          description="date -> template id to work that day, "
                                                      "or None for a fixed day off")
    preferences: list[Preference] = Field(default_factory=list)
    cost_per_hour: Number = Field(0, ge=0, le=WEIGHT_MAX)

    def rules(self, roster_rules: "Rules") -> "AgentRules":
        """The working-pattern rules that bind this agent: its contract's where set, else the roster's."""
        c = self.contract

        def pick(name):
            own = getattr(c, name)
            return own if own is not None else getattr(roster_rules, name)

        return AgentRules(max_consecutive_days=pick("max_consecutive_days"),
                          min_consecutive_days=pick("min_consecutive_days"),
                          min_consecutive_days_off=pick("min_consecutive_days_off"),
                          max_weekends=pick("max_weekends"))


class AgentRules(BaseModel):
    max_consecutive_days: int
    min_consecutive_days: int
    min_consecutive_days_off: int
    max_weekends: int | None


class Rules(Model):
    min_rest_hours: Number = Field(11, ge=0, le=168)
    max_consecutive_days: Count = Field(6, ge=1, le=366)
    min_consecutive_days: Count = Field(1, ge=1, le=366, description=(
        "working days in a row, at least (runs cut by the horizon's first or last day are exempt)"))
    min_consecutive_days_off: Count = Field(1, ge=1, le=366, description=(
        "days off in a row, at least (runs cut by the horizon's first or last day are exempt)"))
    max_weekends: Count | None = Field(None, ge=0, le=53, description="weekends (Sat or Sun worked) in the horizon")
    start_time_tolerance_minutes: Count | None = Field(None, ge=0, le=MINUTES_A_DAY, description=(
        "on consecutive working days, local start times differ by at most this much"))


class Weights(Model):
    under: Count = Field(100, ge=0, le=WEIGHT_MAX, description="per agent-interval below requirement")
    over: Count = Field(10, ge=0, le=WEIGHT_MAX, description="per agent-interval above requirement")
    cost: Number = Field(0.0, ge=0, le=WEIGHT_MAX, description="per unit of paid cost")
    preference: Count = Field(1, ge=0, le=WEIGHT_MAX, description="multiplies each preference's own weight")
    fairness: Count = Field(0, ge=0, le=WEIGHT_MAX, description=(
        "per unit of spread (max - min over agents) of weekends worked, night shifts, and unwanted shifts worked"))
    change: Count = Field(0, ge=0, le=WEIGHT_MAX,
                          description="repair mode: per shift changed from the reference roster")
    service_goal: Count = Field(0, ge=0, le=WEIGHT_MAX, description=(
        "service-goal mode: per contact expected to miss the service target, replacing under-coverage "
        "for queues whose requirement has volume, AHT and target (0 = off)"))


class SolverParams(Model):
    time_limit_seconds: Number = Field(30, gt=0, le=86_400)
    workers: Count = Field(1, ge=1, le=64)
    seed: Count = Field(0, ge=-2**31, le=2**31 - 1, description="CP-SAT's random seed (a 32-bit integer)")
    deterministic_limit: Number | None = Field(None, gt=0, le=86_400, description=(
        "CP-SAT deterministic time limit; with workers=1 and a seed, a solve stopped by it gives the same "
        "roster on any machine load (a wall-clock limit may stop at a different point)"))


class QueueRequirement(Model):
    queue: str
    agents: list[Annotated[float, Field(strict=True, ge=0, le=100_000)]] = Field(
        description="required on-queue agents per horizon interval")
    under_weights: list[Annotated[int, Field(strict=True, ge=0, le=WEIGHT_MAX)]] | None = Field(None,
                                            description="per-interval under-coverage weight (overrides weights.under)")
    volume: list[Annotated[float, Field(strict=True, ge=0, le=1e9)]] | None = Field(
        None, description="forecast contacts per interval (for projected SL)")
    aht_seconds: list[Annotated[float, Field(strict=True, ge=0, le=1e7)]] | None = Field(
        None, description="forecast AHT per interval (for projected SL)")
    target: ServiceTarget | None = Field(None, description="service target (for projected SL)")


class ShiftRequirement(Model):
    """Demand expressed as a number of shifts of a template on a day (as published rostering
    benchmarks state it), with its own penalty weights."""

    day: date
    template: str
    count: Count = Field(ge=0, le=100_000)
    under_weight: Count = Field(100, ge=0, le=WEIGHT_MAX)
    over_weight: Count = Field(1, ge=0, le=WEIGHT_MAX)


class RosterInput(Model):
    horizon: Horizon
    requirements: list[QueueRequirement] = Field(default_factory=list)
    shift_requirements: list[ShiftRequirement] = Field(default_factory=list)
    templates: list[ShiftTemplate] = Field(min_length=1)
    agents: list[Agent] = Field(min_length=1)
    rules: Rules = Rules()
    weights: Weights = Weights()
    solver: SolverParams = SolverParams()
    previous_shifts: list["Shift"] = Field(
        default_factory=list, description="last shifts before the horizon: rest and consecutive days carry over")
    reference: "Roster | None" = Field(
        None, description="warm start; with weights.change > 0, repair: keep as many of its shifts as possible")

    @model_validator(mode="after")
    def _consistent(self) -> "RosterInput":
        n = len(self.horizon.interval_starts())
        for r in self.requirements:
            if len(r.agents) != n:
                raise ValueError(f"requirements[{r.queue!r}]: {len(r.agents)} values for {n} horizon intervals")
            if any(v < 0 for v in r.agents):
                raise ValueError(f"requirements[{r.queue!r}]: negative requirement")
            for name in ("volume", "aht_seconds", "under_weights"):
                values = getattr(r, name)
                if values is not None and len(values) != n:
                    raise ValueError(f"requirements[{r.queue!r}].{name}: {len(values)} values for {n} intervals")
        ids = [t.id for t in self.templates]
        if len(set(ids)) != len(ids):
            raise ValueError("templates: duplicate id")
        for r in self.shift_requirements:
            if r.template not in ids:
                raise ValueError(f"shift_requirements: unknown template {r.template!r}")
        if not self.requirements and not self.shift_requirements:
            raise ValueError("give requirements (per interval) or shift_requirements (per day and template)")
        agent_ids = [a.id for a in self.agents]
        if len(set(agent_ids)) != len(agent_ids):
            raise ValueError("agents: duplicate id")
        for a in self.agents:
            for d, t in a.fixed.items():
                if t is not None and t not in ids:
                    raise ValueError(f"agent {a.id!r}: fixed {d} names unknown template {t!r}")
            for t in a.contract.template_caps:
                if t not in ids:
                    raise ValueError(f"agent {a.id!r}: template_caps names unknown template {t!r}")
            c = a.contract
            if c.horizon_min_hours is not None and c.horizon_max_hours is not None \
                    and c.horizon_min_hours > c.horizon_max_hours:
                raise ValueError(f"agent {a.id!r}: horizon_min_hours {c.horizon_min_hours:g} > "
                                 f"horizon_max_hours {c.horizon_max_hours:g}")
        for t in self.templates:
            for other in t.not_followed_by:
                if other not in ids:
                    raise ValueError(f"templates[{t.id!r}].not_followed_by names unknown template {other!r}")
        return self


class Break(Model):
    name: str
    start: datetime
    end: datetime


class Segment(Model):
    """On-queue work: from start to end on one queue."""

    start: datetime
    end: datetime
    queue: str


class Shift(Model):
    agent: str
    day: date
    template: str
    start: datetime
    end: datetime
    breaks: list[Break] = Field(default_factory=list)
    segments: list[Segment] = Field(default_factory=list)

    @field_validator("start", "end")
    @classmethod
    def _aware(cls, v: datetime) -> datetime:
        if v.tzinfo is None:
            raise ValueError("shift times must be timezone-aware")
        return v


class Roster(Model):
    shifts: list[Shift]


RosterInput.model_rebuild()
