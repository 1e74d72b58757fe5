"""Independent roster validator: checks any roster against the input and scores it.

It reads only the input and the roster (never the solver's model or variables) and
re-derives everything from timestamps: allowed starts, lengths, breaks, rest, contracts,
coverage per interval, and each objective term. Tests run every solver output through it,
and benchmarks report its score, so a solver bug cannot grade itself.
"""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

import pandas as pd

from ..domain import zone
from . import service_goal
from .domain import Roster, RosterInput, Shift
from .rules import Rule


@dataclass
class Violation:
    rule: str
    agent: str | None
    detail: str

    def __str__(self) -> str:
        who = f" [{self.agent}]" if self.agent else ""
        return f"{self.rule}{who}: {self.detail}"


@dataclass
class Report:
    violations: list[Violation]
    coverage: pd.DataFrame                      # queue, interval_start, required, on_queue, under, over
    penalties: dict[str, float]                 # rule -> weighted penalty
    per_agent: dict[str, dict[str, float]] = field(default_factory=dict)

    @property
    def feasible(self) -> bool:
        return not self.violations

    @property
    def objective(self) -> float:
        return float(sum(self.penalties.values()))


def _in_utc(roster: Roster) -> Roster:
    """All times in UTC, so arithmetic is elapsed time. (Python subtracts two datetimes that share
    a tzinfo by wall clock, which is wrong across a DST change.) A roster has few distinct instants
    (starts and ends on a grid), so each is converted once."""
    seen: dict = {}

    def utc(t):
        got = seen.get(t)
        if got is None:
            got = t.astimezone(timezone.utc)
            if isinstance(got, pd.Timestamp) and not got.nanosecond:  # plain datetimes: faster arithmetic
                got = got.to_pydatetime()
            seen[t] = got
        return got

    shifts = [s.model_copy(update={
        "start": utc(s.start), "end": utc(s.end),
        "breaks": [b.model_copy(update={"start": utc(b.start), "end": utc(b.end)}) for b in s.breaks],
        "segments": [g.model_copy(update={"start": utc(g.start), "end": utc(g.end)}) for g in s.segments],
    }) for s in roster.shifts]
    return Roster(shifts=shifts)


def validate(data: RosterInput, roster: Roster) -> Report:
    roster = _in_utc(roster)
    data = data.model_copy(update={"previous_shifts": _in_utc(Roster(shifts=data.previous_shifts)).shifts})
    tz = zone(data.horizon.timezone)
    starts = data.horizon.interval_starts()
    step = timedelta(minutes=data.horizon.interval_minutes)
    templates = {t.id: t for t in data.templates}
    agents = {a.id: a for a in data.agents}
    v: list[Violation] = []
    by_agent: dict[str, list[Shift]] = defaultdict(list)
    horizon_days = set(data.horizon.dates())

    localized = _Localized(tz, data.horizon.interval_minutes)
    for s in roster.shifts:
        a, t = agents.get(s.agent), templates.get(s.template)
        if a is None or t is None:
            v.append(Violation(Rule.UNKNOWN, s.agent, f"agent or template {s.template!r} not in the input"))
            continue
        by_agent[s.agent].append(s)
        if s.day not in horizon_days:
            v.append(Violation(Rule.HORIZON, s.agent, f"shift on {s.day} is outside the planning horizon"))
        _check_shift(s, a, t, localized, step, data.horizon.interval_minutes, v)

    for agent_id, shifts in by_agent.items():
        _check_agent(data, agents[agent_id], sorted(shifts, key=lambda s: s.start), templates, v)
    for a in data.agents:
        if a.id not in by_agent:
            _check_agent(data, a, [], templates, v)

    coverage = _coverage(data, roster, starts, step)
    penalties, per_agent = _penalties(data, roster, coverage, templates)
    return Report(v, coverage, penalties, per_agent)


class _Localized:
    """Wall-clock facts about instants and days, each worked out once per validation (a roster
    repeats the same few starts thousands of times, and pandas time-zone work is slow)."""

    def __init__(self, tz, minutes: int):
        self.tz, self.minutes = tz, minutes
        self._local: dict = {}
        self._first: dict = {}
        self._starts: dict = {}

    def local(self, ts: datetime) -> datetime:
        got = self._local.get(ts)
        if got is None:
            got = self._local[ts] = ts.astimezone(self.tz)
        return got

    def first_instant(self, day, wall):
        """The first instant of wall-clock time `wall` on `day` (None if DST skips it)."""
        key = (day, wall)
        if key not in self._first:
            naive = pd.Timestamp(datetime.combine(day, wall))
            try:
                self._first[key] = naive.tz_localize(self.tz, ambiguous=True, nonexistent="raise")
            except Exception:
                self._first[key] = None
        return self._first[key]

    def starts(self, t) -> set:
        if t.id not in self._starts:
            self._starts[t.id] = set(t.starts(self.minutes))
        return self._starts[t.id]


def _check_shift(s, a, t, localized: _Localized, step, minutes, v):
    start, end = localized.local(s.start), localized.local(s.end)
    if start.date() != s.day:
        v.append(Violation(Rule.SHIFT_DAY, a.id, f"{s.template} starts {start} but is filed under {s.day}"))
    wall = start.time().replace(tzinfo=None)
    if wall not in localized.starts(t):
        v.append(Violation(Rule.START_TIME, a.id, f"{t.id} may not start at {start.time()}"))
    first = localized.first_instant(s.day, wall)
    if first is None:
        v.append(Violation(Rule.START_TIME, a.id, f"{start.time()} does not exist on {s.day} (DST)"))
    elif first != pd.Timestamp(s.start):
        v.append(Violation(Rule.START_TIME, a.id, f"{s.start} is the second {start.time()} of a DST day; "
                                              "shifts start at the first"))
    for label, t0 in [("break", b.start) for b in s.breaks] + [("break", b.end) for b in s.breaks] + \
            [("segment", g.start) for g in s.segments] + [("segment", g.end) for g in s.segments]:
        if (t0 - s.start) % step:  # both in UTC here: elapsed time
            v.append(Violation(Rule.SEGMENTS if label == "segment" else Rule.BREAKS, a.id,
                               f"{s.day}: {label} time {t0} is not on the {minutes}-minute grid"))
    if (s.end - s.start) != timedelta(minutes=t.length_minutes):
        v.append(Violation(Rule.SHIFT_LENGTH, a.id, f"{t.id} lasts {t.length_minutes} min, not {s.end - s.start}"))
    if not t.crosses_midnight and end.date() != start.date() and end.time() != datetime.min.time():
        v.append(Violation(Rule.CROSSES_MIDNIGHT, a.id, f"{t.id} on {s.day} ends {end}"))
    if t.skills and not set(t.skills) & set(a.skills):
        v.append(Violation(Rule.SKILLS, a.id, f"not eligible for template {t.id}"))
    # Breaks: as the template lists them, inside their windows, in order, not overlapping.
    if len(s.breaks) != len(t.breaks):
        v.append(Violation(Rule.BREAKS, a.id, f"{s.day} {t.id}: {len(s.breaks)} breaks, template has {len(t.breaks)}"))
    previous_end = s.start
    for b, rule in zip(s.breaks, t.breaks):
        offset = (b.start - s.start).total_seconds() / 60
        if b.end - b.start != timedelta(minutes=rule.minutes):
            v.append(Violation(Rule.BREAKS, a.id,
                               f"{s.day} {rule.name} lasts {b.end - b.start}, not {rule.minutes} min"))
        if not rule.earliest_minutes <= offset <= rule.latest_minutes:
            v.append(Violation(Rule.BREAKS, a.id, f"{s.day} {rule.name} starts {offset:g} min into the shift, "
                                               f"window {rule.earliest_minutes}-{rule.latest_minutes}"))
        if b.start < previous_end:
            v.append(Violation(Rule.BREAKS, a.id, f"{s.day} {rule.name} overlaps or precedes the previous break"))
        previous_end = b.end
    # On-queue work: inside the shift, never during a break, on a queue the agent has.
    busy = sorted([(g.start, g.end, g.queue) for g in s.segments])
    for (g0, g1, q) in busy:
        if g0 < s.start or g1 > s.end:
            v.append(Violation(Rule.SEGMENTS, a.id, f"{s.day}: work on {q} outside the shift"))
        if q not in a.skills or (t.skills and q not in t.skills):
            v.append(Violation(Rule.SKILLS, a.id, f"{s.day}: works queue {q} without the skill"))
        for b in s.breaks:
            if g0 < b.end and b.start < g1:
                v.append(Violation(Rule.SEGMENTS, a.id, f"{s.day}: on queue during {b.name}"))
    for (_, p1, _), (n0, _, _) in zip(busy, busy[1:]):
        if n0 < p1:
            v.append(Violation(Rule.SEGMENTS, a.id, f"{s.day}: overlapping work segments"))


def _check_agent(data, a, shifts, templates, v):
    rules, c = data.rules, a.contract
    days = data.horizon.dates()
    day_index = {d: i for i, d in enumerate(days)}
    worked = {s.day for s in shifts}
    on_day = defaultdict(list)     # day -> templates worked
    by_week = defaultdict(list)    # week of the horizon -> shifts (a year's roster: one pass, not one per week)
    for s in shifts:
        on_day[s.day].append(s.template)
        if s.day in day_index:
            by_week[day_index[s.day] // 7].append(s)
    for day, got in on_day.items():
        if len(got) > 1:
            v.append(Violation(Rule.ONE_SHIFT_PER_DAY, a.id, f"{len(got)} shifts on {day}"))
    for day in a.unavailable_days:
        if day in worked:
            v.append(Violation(Rule.UNAVAILABLE, a.id, f"works on {day}"))
    for p in a.unavailable_periods:
        for s in shifts:
            if s.start < p.end and p.start < s.end:
                v.append(Violation(Rule.UNAVAILABLE, a.id, f"shift {s.start}-{s.end} overlaps {p.start}-{p.end}"))
    for day, template in a.fixed.items():
        if day not in day_index:
            continue
        got = on_day.get(day, [])
        if template is None and got:
            v.append(Violation(Rule.FIXED_DAY_OFF, a.id, f"works on {day}"))
        if template is not None and got != [template]:
            v.append(Violation(Rule.FIXED_SHIFT, a.id, f"{day}: {template} required, got {got or 'day off'}"))
    for w0 in range(0, len(days), 7):
        week = days[w0:w0 + 7]
        ws = by_week.get(w0 // 7, [])
        paid = sum(templates[s.template].paid_minutes for s in ws) / 60
        n = len({s.day for s in ws})
        if paid > c.max_hours + 1e-9:
            v.append(Violation(Rule.CONTRACT_MAX_HOURS, a.id, f"week of {week[0]}: {paid:g} h > {c.max_hours:g} h"))
        if n > c.max_days:
            v.append(Violation(Rule.CONTRACT_MAX_DAYS, a.id, f"week of {week[0]}: {n} days > {c.max_days}"))
        if len(week) == 7 and paid < c.min_hours - 1e-9:
            v.append(Violation(Rule.CONTRACT_MIN_HOURS, a.id, f"week of {week[0]}: {paid:g} h < {c.min_hours:g} h"))
        if len(week) == 7 and n < c.min_days:
            v.append(Violation(Rule.CONTRACT_MIN_DAYS, a.id, f"week of {week[0]}: {n} days < {c.min_days}"))
    for t_id, cap in c.template_caps.items():
        used = sum(s.template == t_id for s in shifts)
        if used > cap:
            v.append(Violation(f"{Rule.TEMPLATE_CAP} {t_id}", a.id, f"{used} > {cap}"))
    rest = timedelta(hours=rules.min_rest_hours)
    previous = sorted((s for s in data.previous_shifts if s.agent == a.id), key=lambda s: s.start)
    timeline = previous[-1:] + shifts
    for prev, nxt in zip(timeline, timeline[1:]):
        if nxt.start - prev.end < rest:
            v.append(Violation(Rule.MIN_REST, a.id, f"{prev.end} -> {nxt.start}: {nxt.start - prev.end} < {rest}"))
    k_start = rules.start_time_tolerance_minutes
    if k_start is not None:
        tz = zone(data.horizon.timezone)
        by_day = {s.day: s.start.astimezone(tz) for s in shifts}
        for d in days:
            nxt = d + timedelta(days=1)
            if d in by_day and nxt in by_day:
                m0 = by_day[d].hour * 60 + by_day[d].minute
                m1 = by_day[nxt].hour * 60 + by_day[nxt].minute
                if abs(m1 - m0) > k_start:
                    v.append(Violation(Rule.START_TIME_STABILITY, a.id,
                                       f"{d} starts {by_day[d].time()}, {nxt} starts {by_day[nxt].time()}"))
    own = a.rules(rules)
    before = {s.day for s in previous}
    carried = 0
    while days[0] - timedelta(days=carried + 1) in before:
        carried += 1
    flags = [d in worked for d in days]
    run = carried
    for d, f in zip(days, flags):
        run = run + 1 if f else 0
        if run > own.max_consecutive_days:
            v.append(Violation(Rule.MAX_CONSECUTIVE_DAYS, a.id, f"{run} days in a row up to {d}"))
    for start, length, working in _runs(flags):
        inside = start > 0 and start + length < len(days)  # runs cut by the horizon edge are exempt
        if inside and working and length < own.min_consecutive_days:
            v.append(Violation(Rule.MIN_CONSECUTIVE_DAYS, a.id, f"only {length} day(s) in a row from {days[start]}"))
        if inside and not working and length < own.min_consecutive_days_off:
            v.append(Violation(Rule.MIN_CONSECUTIVE_DAYS_OFF, a.id,
                               f"only {length} day(s) off after {days[start - 1]}"))
    if own.max_weekends is not None:
        weekends = _weekends_worked(worked)
        if len(weekends) > own.max_weekends:
            v.append(Violation(Rule.MAX_WEEKENDS, a.id, f"{len(weekends)} weekends > {own.max_weekends}"))
    total = sum(templates[s.template].paid_minutes for s in shifts) / 60
    if c.horizon_max_hours is not None and total > c.horizon_max_hours + 1e-9:
        v.append(Violation(Rule.CONTRACT_HORIZON_MAX_HOURS, a.id, f"{total:g} h > {c.horizon_max_hours:g} h"))
    if c.horizon_min_hours is not None and total < c.horizon_min_hours - 1e-9:
        v.append(Violation(Rule.CONTRACT_HORIZON_MIN_HOURS, a.id, f"{total:g} h < {c.horizon_min_hours:g} h"))
    by_day = {s.day: s.template for s in shifts}
    for day, template in by_day.items():
        following = by_day.get(day + timedelta(days=1))
        if following is not None and following in templates[template].not_followed_by:
            v.append(Violation(Rule.NOT_FOLLOWED_BY, a.id, f"{template} on {day} is followed by {following}"))


def _runs(flags):
    """(start, length, working) of each maximal run of equal flags."""
    start = 0
    for i in range(1, len(flags) + 1):
        if i == len(flags) or flags[i] != flags[start]:
            yield start, i - start, flags[start]
            start = i


def _weekends_worked(days) -> set:
    """Weekends with a Saturday or Sunday worked, each named by its Saturday."""
    return {d - timedelta(days=d.weekday() - 5) for d in days if d.weekday() >= 5}


def _coverage(data, roster, starts, step) -> pd.DataFrame:
    # Instants as integer nanoseconds since the epoch, so stepping through a shift is exact
    # integer arithmetic (pandas Timestamp arithmetic was most of a 1,000-agent validation).
    def ns(ts) -> int:
        return int(pd.Timestamp(ts).value)

    index = {ns(ts): i for i, ts in enumerate(starts)}
    every = int(pd.Timedelta(step).value)
    counts = defaultdict(int)
    on_shift = defaultdict(int)  # agents on shift (breaks included) for a queue they work that shift
    for s in roster.shifts:
        queues = {g.queue for g in s.segments}
        for t in range(ns(s.start), ns(s.end), every):
            i = index.get(t)
            if i is not None:
                for q in queues:
                    on_shift[q, i] += 1
        for g in s.segments:
            for t in range(ns(g.start), ns(g.end), every):
                i = index.get(t)
                if i is not None:
                    counts[g.queue, i] += 1
    rows = []
    for req in data.requirements:
        for i, need in enumerate(req.agents):
            need = math.ceil(need - 1e-9)
            have = counts.get((req.queue, i), 0)
            rows.append((req.queue, starts[i], need, on_shift.get((req.queue, i), 0), have,
                         max(need - have, 0), max(have - need, 0)))
    return pd.DataFrame(rows, columns=["queue", "interval_start", "required", "scheduled", "on_queue", "under", "over"])


def _penalties(data, roster, coverage, templates):
    w, days = data.weights, set(data.horizon.dates())
    goal_queues = {r.queue: r for r in data.requirements if service_goal.applies(data, r)}
    plain = ~coverage["queue"].isin(list(goal_queues))
    under_w = pd.concat([pd.Series(r.under_weights if r.under_weights is not None else [w.under] * len(r.agents))
                         for r in data.requirements],
                         ignore_index=True) if data.requirements else pd.Series(dtype=float)
    penalties = {"under-coverage": float((under_w.to_numpy() * coverage["under"].to_numpy())[plain.to_numpy()].sum()),
                 "over-coverage": float(w.over * coverage["over"].sum())}
    if goal_queues:
        total = 0
        for queue, req in goal_queues.items():
            staffed = coverage.loc[coverage["queue"] == queue, "on_queue"].to_numpy()
            units = service_goal.marginal_units(data, req)
            total += sum(service_goal.shortfall_units(u, int(n)) for u, n in zip(units, staffed))
        penalties["service shortfall"] = float(total)
    if data.shift_requirements:
        counts = defaultdict(int)
        for s in roster.shifts:
            counts[s.day, s.template] += 1
        under = over = 0.0
        for r in data.shift_requirements:
            if r.day not in days:
                continue
            n = counts[r.day, r.template]
            under += r.under_weight * max(r.count - n, 0)
            over += r.over_weight * max(n - r.count, 0)
        penalties["shift demand under"], penalties["shift demand over"] = under, over
    per_agent: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    shifts_by = defaultdict(list)
    for s in roster.shifts:
        shifts_by[s.agent].append(s)
    if w.cost > 0:
        total = 0.0
        for a in data.agents:
            for s in shifts_by[a.id]:
                units = round(w.cost * a.cost_per_hour * templates[s.template].paid_minutes / 60.0)
                per_agent[a.id]["cost"] += units
                total += units
        penalties["cost"] = total
    pref_total = 0.0
    for a in data.agents:
        on = defaultdict(set)
        for s in shifts_by[a.id]:
            on[s.day].add(s.template)
        for p in a.preferences:
            if p.day not in days or p.weight == 0:
                continue
            working = bool(on[p.day])
            if p.template is None:
                missed = working if p.want else not working
            else:
                missed = (p.template not in on[p.day]) if p.want else (p.template in on[p.day])
            if missed:
                per_agent[a.id]["preferences"] += w.preference * p.weight
                pref_total += w.preference * p.weight
    if pref_total:
        penalties["preferences"] = pref_total
    if w.fairness > 0 and len(data.agents) > 1:
        weekends = {a.id: len(_weekends_worked(s.day for s in shifts_by[a.id])) for a in data.agents}
        penalties["fairness: weekends"] = float(w.fairness * (max(weekends.values()) - min(weekends.values())))
        if any(t.night for t in templates.values()):
            nights = {a.id: sum(templates[s.template].night for s in shifts_by[a.id]) for a in data.agents}
            penalties["fairness: nights"] = float(w.fairness * (max(nights.values()) - min(nights.values())))
        if any(not p.want and p.template for a in data.agents for p in a.preferences):
            unwanted = {a.id: sum(1 for p in a.preferences if not p.want and p.template and p.day in days
                                  and any(s.day == p.day and s.template == p.template for s in shifts_by[a.id]))
                        for a in data.agents}
            spread = max(unwanted.values()) - min(unwanted.values())
            penalties["fairness: unwanted shifts"] = float(w.fairness * spread)
    if data.reference is not None and w.change > 0:
        ref = {(s.agent, s.day): (s.template, pd.Timestamp(s.start)) for s in data.reference.shifts if s.day in days}
        now = {(s.agent, s.day): (s.template, pd.Timestamp(s.start)) for s in roster.shifts}
        changed = [k for k in set(ref) | set(now) if ref.get(k) != now.get(k)]
        for agent, _ in changed:
            per_agent[agent]["changed shifts"] += w.change
        penalties["changed shifts"] = float(w.change * len(changed))
    return penalties, {k: dict(v) for k, v in per_agent.items()}
