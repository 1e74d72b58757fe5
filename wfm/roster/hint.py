"""A greedy starting roster, given to CP-SAT as a solution hint.

Agents are taken in turn (fewest skills first, so specialists take their queues before the
flexible agents fill gaps); each picks, one at a time, the shift option that covers the most
still-uncovered demand on its queues, until its contract is met and nothing useful is left,
never breaking its own hard rules (one shift a day, leave, fixed days, rest, consecutive days,
days off in a row, weekends, start-time stability, weekly hours and days, template caps).
Breaks and queue choice are left to the solver. The hint is only a start: CP-SAT repairs or
improves it, and a bad hint costs nothing but time.

Guided by the LP relaxation's fractional roster (`relaxation.py`), agents take the shifts the LP
gives their group first and stop at their contract minimum, as every agent does in the LP's
optimum: a start with the LP's shape of the week for the local search on a large site.
"""

from __future__ import annotations

from datetime import timedelta

import numpy as np

from .domain import Agent, Roster, RosterInput
from .options import Grid, ShiftOption, worked_shift


# Guided by an LP roster, an option the LP still has an agent of the group on outranks any
# coverage score (a score counts intervals, at most a day's worth).
PLANNED = 1000.0


def greedy_choice(data: RosterInput, grid: Grid, options: list[ShiftOption],
                  allowed: dict[str, list[ShiftOption]],
                  guide: dict[str, dict[int, float]] | None = None) -> dict[str, list[ShiftOption]]:
    """Each agent's shift options. With a `guide` (per agent, how many agents of its group the LP
    relaxation still puts on each option; agents of a group share one dict, counted down as they
    take options), an agent takes options only up to its contract minimum, the LP's first."""
    residual = {r.queue: np.ceil(np.asarray(r.agents, float) - 1e-9) for r in data.requirements}
    size = grid.size
    order = sorted(data.agents, key=lambda a: (len(a.skills), -a.contract.min_hours))
    chosen: dict[str, list[ShiftOption]] = {}
    for a in order:
        mine: list[ShiftOption] = []
        queues = [q for q in a.skills if q in residual]
        own = a.rules(data.rules)
        for day, template in a.fixed.items():
            if template is not None:
                opts = [o for o in allowed[a.id] if o.template == template and grid.days[o.day] == day]
                if opts:
                    _take(mine, opts[0], queues, residual, size)
        pool = allowed[a.id]
        longest = max((o.paid_minutes for o in pool), default=0)
        planned = guide.get(a.id, {}) if guide is not None else None
        while pool:
            need_more = _below_minimum(a, mine, grid)
            if planned is not None and not need_more:
                break  # the LP put the group at its minimum hours; the rest is the search's
            scores = _scores(pool, queues, residual, size)
            if planned:
                scores = scores + PLANNED * np.array([planned.get(o.index, 0.0) >= 0.5 for o in pool])
            # Best score first; only the options tried are checked against the rules.
            best = next((k for k in np.argsort(-scores, kind="stable")
                         if (scores[k] > 0 or need_more) and _fits(data, a, own, mine, pool[k], grid)
                         and _keeps_minimum_reachable(a, mine, pool[k], grid, longest)), None)
            if best is None:
                break
            if planned and pool[best].index in planned:
                planned[pool[best].index] -= 1
            _take(mine, pool[best], queues, residual, size)
        chosen[a.id] = mine
    return chosen


def _useful(queues, residual, size) -> np.ndarray:
    """Per interval: 1 where one of the queues still lacks an agent."""
    if not queues:
        return np.zeros(size)
    return np.max([residual[q] > 0 for q in queues], axis=0).astype(float)


def _scores(candidates, queues, residual, size) -> np.ndarray:
    cum = np.concatenate([[0.0], np.cumsum(_useful(queues, residual, size))])
    first = np.array([min(o.first, size) for o in candidates])
    last = np.array([min(o.end_index, size) for o in candidates])
    return cum[last] - cum[first]


def _take(mine, option, queues, residual, size):
    mine.append(option)
    for i in range(option.first, min(option.end_index, size)):
        lacking = [q for q in queues if residual[q][i] > 0]
        if lacking:
            residual[max(lacking, key=lambda q: residual[q][i])][i] -= 1


def _keeps_minimum_reachable(a: Agent, mine, o: ShiftOption, grid, longest: int) -> bool:
    """After taking o, the week's minimum hours can still be met within its days left."""
    c = a.contract
    w0 = (o.day // 7) * 7
    if c.min_hours <= 0 or w0 + 7 > len(grid.days):
        return True
    week = [m for m in mine if w0 <= m.day < w0 + 7] + [o]
    short = c.min_hours * 60 - sum(m.paid_minutes for m in week)
    return short <= 0 or short <= (c.max_days - len(week)) * longest


def _below_minimum(a: Agent, mine, grid) -> bool:
    c = a.contract
    if c.horizon_min_hours is not None and sum(o.paid_minutes for o in mine) < c.horizon_min_hours * 60:
        return True
    for w0 in range(0, len(grid.days), 7):
        if w0 + 7 > len(grid.days):
            continue
        week = [o for o in mine if w0 <= o.day < w0 + 7]
        if sum(o.paid_minutes for o in week) < c.min_hours * 60 or len(week) < c.min_days:
            return True
    return False


def _fits(data: RosterInput, a: Agent, own, mine: list[ShiftOption], o: ShiftOption, grid: Grid) -> bool:
    rules, c = data.rules, a.contract
    day = grid.days[o.day]
    if any(m.day == o.day for m in mine) or day in a.unavailable_days or a.fixed.get(day, "x") is None:
        return False
    if day in a.fixed and a.fixed[day] != o.template:
        return False
    rest = rules.min_rest_hours * 60
    for m in mine:
        if abs(m.day - o.day) <= 2:
            first, second = (m, o) if m.first < o.first else (o, m)
            if (second.first - first.end_index) * o.step < rest:  # elapsed minutes on the real-time grid
                return False
        if rules.start_time_tolerance_minutes is not None and abs(m.day - o.day) == 1:
            if abs((m.start.hour * 60 + m.start.minute) - (o.start.hour * 60 + o.start.minute)) > \
                    rules.start_time_tolerance_minutes:
                return False
    w0 = (o.day // 7) * 7
    week = [m for m in mine if w0 <= m.day < w0 + 7]
    if len(week) + 1 > c.max_days or sum(m.paid_minutes for m in week) + o.paid_minutes > c.max_hours * 60:
        return False
    if o.template in c.template_caps and sum(m.template == o.template for m in mine) + 1 > c.template_caps[o.template]:
        return False
    if c.horizon_max_hours is not None and sum(m.paid_minutes for m in mine) + o.paid_minutes > c.horizon_max_hours * 60:
        return False
    templates = {t.id: t for t in data.templates}
    for m in mine:
        if (m.day + 1 == o.day and o.template in templates[m.template].not_followed_by) or \
                (o.day + 1 == m.day and m.template in templates[o.template].not_followed_by):
            return False
    worked = sorted({m.day for m in mine} | {o.day})
    flags = [d in worked for d in range(len(grid.days))]
    run = 0
    for f in flags:
        run = run + 1 if f else 0
        if run > own.max_consecutive_days:
            return False
    for i, j in zip(worked, worked[1:]):
        if 1 < j - i <= own.min_consecutive_days_off:
            return False
    if own.max_weekends is not None:
        weekends = {grid.days[d] - timedelta(days=grid.days[d].weekday() - 5) for d in worked
                    if grid.days[d].weekday() >= 5}
        if len(weekends) > own.max_weekends:
            return False
    return True


def greedy_roster(data: RosterInput, grid: Grid, options: list[ShiftOption],
                  guide: dict[str, dict[int, float]] | None = None) -> Roster:
    """A complete roster from the greedy choice (guided by an LP roster if given): breaks placed
    where coverage can best spare the agent, each on-queue interval on the agent's queue that
    lacks the most. Built in seconds even for a large site, so a valid roster exists long before
    any search has run."""
    from .colgen import best_breaks
    from .options import allowed_options

    allowed = {a.id: allowed_options(data, a, options) for a in data.agents}
    chosen = greedy_choice(data, grid, options, allowed, guide)
    queues = [r.queue for r in data.requirements]
    need = {r.queue: np.ceil(np.asarray(r.agents, float) - 1e-9) for r in data.requirements}
    have = {q: np.zeros(grid.size) for q in queues}
    agents = {a.id: a for a in data.agents}
    templates = {t.id: t for t in data.templates}
    usable = {}
    for a_id, opts in chosen.items():
        for o in opts:
            qs = [q for q in agents[a_id].skills if q in need
                  and (not templates[o.template].skills or q in templates[o.template].skills)]
            usable[a_id, o.index] = qs
            if qs:  # count the whole shift on its neediest queue first; breaks come off below
                last = min(o.end_index, grid.size)
                have[qs[0]][o.first:last] += 1
    shifts = []
    for a_id, opts in chosen.items():
        for o in sorted(opts, key=lambda o: o.first):
            qs = usable[a_id, o.index]
            last = min(o.end_index, grid.size)
            if qs:
                have[qs[0]][o.first:last] -= 1
                spare = np.max([have[q] - need[q] >= 0 for q in qs], axis=0).astype(float)
                cost = 1.0 - spare  # taking the agent away hurts where no queue has one to spare
            else:
                cost = np.zeros(grid.size)
            starts, _ = best_breaks(o, np.concatenate([[0.0], np.cumsum(cost)]))
            on_break = {i for p, w in zip(starts, o.breaks) for i in range(p, p + w.length)}
            worked = []
            for i in range(o.first, last):
                if i in on_break or not qs:
                    continue
                q = max(qs, key=lambda q: need[q][i] - have[q][i])
                have[q][i] += 1
                worked.append((i, q))
            shifts.append(worked_shift(a_id, o, grid, templates[o.template], starts, worked))
    shifts.sort(key=lambda s: (s.agent, s.start))
    return Roster(shifts=shifts)
