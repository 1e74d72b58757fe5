"""Every shift an agent could work: (day, template, start) expanded onto the interval grid.

Intervals are indexed on the horizon grid (`Horizon.interval_starts()`), extended past the
horizon end at the same spacing so a night shift of the last day still has a full length.
A shift covers real elapsed time: on a 23-hour day, a 22:00 start of an 8-hour shift ends at
07:00 local the next morning as on any other day, measured in intervals. Starts that fall in a
DST gap do not exist and are skipped; a start in the repeated hour takes its first occurrence.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd

from ..domain import zone
from ..errors import InputError
from .domain import Break, RosterInput, Segment, Shift, ShiftTemplate


@dataclass(frozen=True)
class BreakWindow:
    name: str
    earliest: int   # absolute interval index of the earliest start
    latest: int     # absolute interval index of the latest start
    length: int     # intervals
    paid: bool


@dataclass(frozen=True)
class ShiftOption:
    index: int
    day: int                 # horizon day index (the day the shift starts)
    template: str
    start: pd.Timestamp      # tz-aware
    first: int               # first interval index covered
    length: int              # intervals
    paid_minutes: int
    breaks: tuple[BreakWindow, ...]
    step: int                # interval minutes

    @property
    def end_index(self) -> int:
        return self.first + self.length

    @property
    def end(self) -> pd.Timestamp:
        """Real elapsed time: tz-aware arithmetic in pandas adds absolute minutes."""
        return self.start + pd.Timedelta(minutes=self.length * self.step)


class Grid:
    """Horizon interval grid with index <-> instant conversion beyond the horizon end."""

    def __init__(self, data: RosterInput):
        self.horizon = data.horizon
        self.minutes = data.horizon.interval_minutes
        self.starts = data.horizon.interval_starts()
        self.size = len(self.starts)
        self.origin = self.starts[0]
        self.tz = zone(data.horizon.timezone)
        self.days = data.horizon.dates()
        self._instants: dict[int, pd.Timestamp] = {}  # pandas tz arithmetic costs ~25 us a call

    def index_of(self, instant: pd.Timestamp) -> int | None:
        """Interval index whose start is exactly `instant` (None if off the grid)."""
        offset = (instant - self.origin).total_seconds() / 60.0
        if offset % self.minutes:
            return None
        return int(offset // self.minutes)

    def instant(self, index: int) -> pd.Timestamp:
        found = self._instants.get(index)
        if found is None:
            instant = self.origin + pd.Timedelta(minutes=self.minutes * index)
            found = self._instants[index] = instant.tz_convert(self.tz)
        return found


def _check_alignment(t: ShiftTemplate, minutes: int) -> None:
    def bad(what, value):
        raise InputError(f"templates[{t.id!r}].{what}", value, f"must be a multiple of the {minutes}-minute interval")

    if t.length_minutes % minutes:
        bad("length_minutes", t.length_minutes)
    for b in t.breaks:
        for what in ("minutes", "earliest_minutes", "latest_minutes"):
            if getattr(b, what) % minutes:
                bad(f"breaks[{b.name!r}].{what}", getattr(b, what))


def local_start(day: date, clock, tz) -> pd.Timestamp | None:
    naive = pd.Timestamp(datetime.combine(day, clock))
    try:
        return naive.tz_localize(tz, ambiguous=True, nonexistent="raise")
    except Exception:  # the clock time does not exist that day (DST gap)
        return None


def expand_options(data: RosterInput, grid: Grid) -> list[ShiftOption]:
    out: list[ShiftOption] = []
    step = grid.minutes
    for t in data.templates:
        _check_alignment(t, step)
        length = t.length_minutes // step
        for d, day in enumerate(grid.days):
            next_midnight = local_start(day + timedelta(days=1), datetime.min.time(), grid.tz)
            for clock in t.starts(step):
                start = local_start(day, clock, grid.tz)
                if start is None:
                    continue
                first = grid.index_of(start)
                if first is None:
                    raise InputError(f"templates[{t.id!r}].start", clock.isoformat(timespec="minutes"),
                                     f"not on the {step}-minute interval grid")
                end = start + pd.Timedelta(minutes=t.length_minutes)
                if not t.crosses_midnight and end > next_midnight:
                    continue
                breaks = tuple(BreakWindow(b.name, first + b.earliest_minutes // step,
                                           first + b.latest_minutes // step, b.minutes // step, b.paid)
                               for b in t.breaks)
                out.append(ShiftOption(len(out), d, t.id, start, first, length, t.paid_minutes, breaks, step))
    return out


def count_options(data: RosterInput) -> int:
    """How many shift options `expand_options` makes at most (every start of every template on
    every day), counted without building them: what a service checks before it accepts a solve."""
    return options_at_most(data.templates, data.horizon.days, data.horizon.interval_minutes)


def options_at_most(templates: list[ShiftTemplate], days: int, interval_minutes: int) -> int:
    return days * sum(len(t.starts(interval_minutes)) for t in templates)


def eligible(data: RosterInput, agent, option: ShiftOption, templates: dict[str, ShiftTemplate]) -> bool:
    """The template lets the agent work at least one of its queues (a required one, when
    requirements are per queue), and the contract does not cap it at zero."""
    return _eligible_template(agent, templates[option.template], {r.queue for r in data.requirements})


def _eligible_template(agent, t: ShiftTemplate, queues: set[str]) -> bool:
    if agent.contract.template_caps.get(t.id) == 0:
        return False
    usable = set(agent.skills) & queues if queues else set(agent.skills)
    return not t.skills or bool(set(t.skills) & usable)


def blocked(agent, option: ShiftOption) -> bool:
    """The option overlaps a period the agent cannot work."""
    return any(option.start < pd.Timestamp(p.end) and pd.Timestamp(p.start) < option.end
               for p in agent.unavailable_periods)


def allowed_options(data: RosterInput, agent, options: list[ShiftOption]) -> list[ShiftOption]:
    """The options an agent may be given at all (eligible and not blocked; leave and fixed days
    are rules, checked where rules are). Eligibility is the template's, decided once per template."""
    queues = {r.queue for r in data.requirements}
    ok = {t.id for t in data.templates if _eligible_template(agent, t, queues)}
    if not agent.unavailable_periods:
        return [o for o in options if o.template in ok]
    return [o for o in options if o.template in ok and not blocked(agent, o)]


def worked_shift(agent: str, o: ShiftOption, grid: Grid, template: ShiftTemplate, break_starts,
                 on_queue) -> Shift:
    """The Shift an agent works on option o: breaks at the given start intervals (template order),
    and on-queue segments merged from (interval, queue) pairs in time order."""
    breaks = [Break(name=r.name, start=grid.instant(p), end=grid.instant(p + w.length))
              for r, w, p in zip(template.breaks, o.breaks, break_starts)]
    segments: list[Segment] = []
    for i, q in on_queue:
        if segments and segments[-1].queue == q and segments[-1].end == grid.instant(i):
            segments[-1].end = grid.instant(i + 1)
        else:
            segments.append(Segment(start=grid.instant(i), end=grid.instant(i + 1), queue=q))
    return Shift(agent=agent, day=grid.days[o.day], template=o.template, start=o.start, end=o.end,
                 breaks=breaks, segments=segments)
