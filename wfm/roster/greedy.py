"""A greedy starting roster, given to CP-SAT as a solution hint.

Agents are taken in turn (fewest skills first, so specialists take their queues before the
flexible agents fill gaps); each picks, one at a time, the shift option that covers the most
still-uncovered demand on its queues, until its contract is met and nothing useful is left,
never breaking its own hard rules (one shift a day, leave, fixed days, rest, consecutive days,
days off in a row, weekends, start-time stability, weekly hours and days, template caps).
Breaks and queue choice are left to the solver. The hint is only a start: CP-SAT repairs or
improves it, and a bad hint costs nothing but time.

Guided by the LP relaxation's fractional roster (`search/relaxation.py`), agents take the shifts the LP
gives their group first and stop at their contract minimum, as every agent does in the LP's
optimum: a start with the LP's shape of the week for the local search on a large site.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import timedelta

import numpy as np

from .breaks import best_breaks
from .domain import Agent, Contract, Roster, RosterInput
from .options import Grid, ShiftOption, allowed_options, worked_shift


# Guided by an LP roster, an option the LP still has an agent of the group on outranks any
# coverage score (a score counts intervals, at most a day's worth).
PLANNED = 1000.0


def greedy_choice(data: RosterInput, grid: Grid, options: list[ShiftOption],
                  allowed: dict[str, list[ShiftOption]],
                  guide: dict[str, dict[int, float]] | None = None, spread: bool = False
                  ) -> dict[str, list[ShiftOption]]:
    """Each agent's shift options. With a `guide` (per agent, how many agents of its group the LP
    relaxation still puts on each option; agents of a group share one dict, counted down as they
    take options), an agent takes options only up to its contract minimum, the LP's first. With
    `spread`, an agent takes shifts no longer than `spread_cap` allows while another fits, so its
    weekly minimum is spread over its most days (longer ones only when no shorter one keeps the
    minimum reachable)."""
    residual = {r.queue: np.ceil(np.asarray(r.agents, float) - 1e-9) for r in data.requirements}
    size = grid.size
    templates = {t.id: t for t in data.templates}
    order = sorted(data.agents, key=lambda a: (len(a.skills), -a.contract.min_hours))
    chosen: dict[str, list[ShiftOption]] = {}
    every = _OptionArrays(options, templates)
    rest = data.rules.min_rest_hours * 60
    for a in order:
        mine = _Schedule(data, a, grid, templates)
        covered: dict[int, list] = {}  # day -> (queue, interval) cells its shift took
        queues = [q for q in a.skills if q in residual]
        for day, template in a.fixed.items():
            if template is not None:
                opts = [o for o in allowed[a.id] if o.template == template and grid.days[o.day] == day]
                if opts:
                    mine.take(opts[0])
                    _cover(opts[0], queues, residual, size)  # fixed: never dropped
        pool = allowed[a.id]
        arrays = _Pool(pool, every, size)
        first, last = arrays.first, arrays.last
        free = ~np.isin(arrays.days, list(mine.by_day))  # one shift a day
        longest = int(arrays.paid.max(initial=0))
        cap = spread_cap(a.contract, arrays.paid) if spread else None
        planned = guide.get(a.id, {}) if guide is not None else None
        position = {o.index: k for k, o in enumerate(pool)} if planned else {}

        def choose(limit: int | None, reach: int, need_more: bool):
            """The best-scoring option paid at most `limit` minutes (None: any) that fits and keeps
            the week's minimum reachable with shifts paid up to `reach`; None if there is none."""
            candidates = mine.minimum_reachable(np.flatnonzero(free), arrays, reach)
            if limit is not None:
                candidates = candidates[arrays.paid[candidates] <= limit]
            cum = np.concatenate([[0.0], np.cumsum(_useful(queues, residual, size))])
            scores = cum[last[candidates]] - cum[first[candidates]]
            if planned:
                bonus = np.zeros(len(pool))
                bonus[[position[oi] for oi, n in planned.items() if n >= 0.5 and oi in position]] = PLANNED
                scores = scores + bonus[candidates]
            # Best score first; only the options tried are checked against the rules.
            return next((candidates[k] for k in np.argsort(-scores, kind="stable")
                         if (scores[k] > 0 or need_more) and mine.fits(pool[candidates[k]])
                         and mine.keeps_minimum_reachable(pool[candidates[k]], reach)), None)

        while free.any():
            need_more = mine.below_minimum()
            if planned is not None and not need_more:
                break  # the LP put the group at its minimum hours; the rest is the search's
            best = choose(cap, cap if cap is not None else longest, need_more)
            if best is None and cap is not None and need_more:
                best = choose(None, longest, need_more)  # no shorter shift keeps the minimum reachable
            if best is None:
                break
            taken = pool[best]
            if planned and taken.index in planned:
                planned[taken.index] -= 1
            mine.take(taken)
            covered[taken.day] = _cover(taken, queues, residual, size)
            free[arrays.on_days(taken.day, taken.day + 1)] = False
            free[mine.refused_after(taken, arrays, rest)] = False
        if mine.own.min_consecutive_days > 1:
            by_day = _by_day(pool)
            if _mend_short_runs(mine, by_day, queues, residual, size, covered):
                _lengthen_runs(mine, by_day, queues, residual, size, covered)
        chosen[a.id] = mine.taken
    return chosen


def spread_cap(contract: Contract, paid: np.ndarray) -> int | None:
    """The shortest paid length (minutes) among `paid` that reaches the contract's weekly minimum on
    its most days, for the greedy start to keep to while another fits; None without a weekly
    minimum, when no length reaches it, or when that is the shortest length of all (a cap there
    would hold the agent to its shortest shifts alone).

    Why: picking the shifts that cover most, an agent fills its minimum with the longest shifts in
    the fewest days, and that week shape stays: undoing it takes many agents' whole weeks at once,
    which no move or day re-plan does. The LP relaxation spreads full-timers over their most days
    with shorter shifts (generated 200-agent week: 4.9 days each in the LP, 4.1 from the plain
    greedy). That week, moves and day re-plans for 60 s from each start, same session: seeds 0-4,
    113,187 mean from the plain greedy, 111,946 with full-timers held to 8 h (of 4-10 h) while they
    fit; seeds 0-3, holding part-timers to 4 h as well (12-24 h on 5 days: their cap is the shortest
    length) 112,598 against 112,023 without, so a cap at the shortest length is none."""
    if contract.min_hours <= 0 or contract.max_days <= 0 or not len(paid):
        return None
    per_day = contract.min_hours * 60 / contract.max_days
    reaching = paid[paid >= per_day - 1e-9]
    if not len(reaching) or reaching.min() <= paid.min():
        return None
    return int(reaching.min())


class _OptionArrays:
    """Every option's first and end interval, day, paid minutes and template (as a code), by
    option index, and which templates may not follow which."""

    def __init__(self, options: list[ShiftOption], templates: dict):
        at = [o.index for o in options]
        self.first, self.end, self.day, self.paid, self.template = (
            np.zeros(max(at, default=-1) + 1, dtype=np.int64) for _ in range(5))
        self.first[at] = [o.first for o in options]
        self.end[at] = [o.end_index for o in options]
        self.day[at] = [o.day for o in options]
        self.paid[at] = [o.paid_minutes for o in options]
        self.code = {t: k for k, t in enumerate(templates)}
        self.template[at] = [self.code[o.template] for o in options]
        # banned[t][u]: template u may not follow template t on the next day
        self.banned = np.zeros((len(templates), len(templates)), dtype=bool)
        for t, template in templates.items():
            for u in template.not_followed_by:
                if u in self.code:
                    self.banned[self.code[t], self.code[u]] = True


class _Pool:
    """One agent's options as arrays (first and end interval, the same within the grid, day, paid
    minutes), and the positions of its options by day, for the rules that look at nearby days."""

    def __init__(self, pool: list[ShiftOption], every: _OptionArrays, size: int):
        at = np.fromiter((o.index for o in pool), dtype=np.int64, count=len(pool))
        self.start, self.end, self.days, self.paid = every.first[at], every.end[at], every.day[at], every.paid[at]
        self.template, self.code, self.banned = every.template[at], every.code, every.banned
        self.first, self.last = np.minimum(self.start, size), np.minimum(self.end, size)
        self._by_day = np.argsort(self.days, kind="stable")
        self._sorted_days = self.days[self._by_day]

    def on_any(self, days: list[int]) -> np.ndarray:
        """Positions of the options on any of these days."""
        return np.concatenate([self.on_days(d, d + 1) for d in days]) if days else np.zeros(0, dtype=np.int64)

    def on_days(self, lo: int, hi: int) -> np.ndarray:
        """Positions of the options on days lo .. hi - 1."""
        a, b = np.searchsorted(self._sorted_days, [lo, hi])
        return self._by_day[a:b]


def _useful(queues, residual, size) -> np.ndarray:
    """Per interval: 1 where one of the queues still lacks an agent."""
    if not queues:
        return np.zeros(size)
    return np.max([residual[q] > 0 for q in queues], axis=0).astype(float)


def _cover(option, queues, residual, size) -> list[tuple[str, int]]:
    """Count the option against the residual demand; returns the (queue, interval) cells it took."""
    took = []
    for i in range(option.first, min(option.end_index, size)):
        lacking = [q for q in queues if residual[q][i] > 0]
        if lacking:
            q = max(lacking, key=lambda q: residual[q][i])
            residual[q][i] -= 1
            took.append((q, i))
    return took


def _mend_short_runs(mine: "_Schedule", by_day: dict, queues, residual, size, covered: dict) -> bool:
    """Runs of work shorter than the minimum (bounded by days off on both sides, as the rule
    reads): taken one day at a time, the greedy leaves some. Each is extended by the best fitting
    shift on the day after (else before) while it can be, else its shifts are dropped (unless one is
    fixed). Returns whether any was dropped."""
    need, n_days = mine.own.min_consecutive_days, len(mine.grid.days)
    dropped, d = False, 1
    while d < n_days - 1:
        if d not in mine.by_day or d - 1 in mine.by_day:
            d += 1
            continue
        end = d
        while end + 1 in mine.by_day:
            end += 1
        while end - d + 1 < need and end < n_days - 1:
            side = next((e for e in (end + 1, d - 1) if 0 <= e < n_days and e not in mine.by_day
                         and _extend(mine, by_day.get(e, []), queues, residual, size, covered)), None)
            if side is None:
                break
            d, end = min(d, side), max(end, side)
            while end + 1 in mine.by_day:
                end += 1
        if end - d + 1 < need and end < n_days - 1 and d > 0 and all(k in covered for k in range(d, end + 1)):
            for day in range(d, end + 1):
                _release(mine, day, residual, covered)
            dropped = True
        d = end + 1
    return dropped


def _lengthen_runs(mine: "_Schedule", by_day: dict, queues, residual, size, covered: dict) -> None:
    """Back up to the contract minimum after runs were dropped: shifts on days next to a run only
    (never a new short run), the most useful first; failing that, a worked shift swapped for a
    longer one, or a new run of the minimum length where the days off allow it."""
    while mine.below_minimum():
        edges = {e for d in mine.by_day for e in (d - 1, d + 1)} - set(mine.by_day)
        if any(_extend(mine, by_day.get(e, []), queues, residual, size, covered) for e in sorted(edges)):
            continue
        if any(_longer(mine, d, by_day.get(d, []), queues, residual, size, covered) for d in sorted(covered)):
            continue
        if not any(_new_run(mine, d, by_day, queues, residual, size, covered) for d in range(len(mine.grid.days))):
            return


def _new_run(mine: "_Schedule", d: int, by_day: dict, queues, residual, size, covered: dict) -> bool:
    """A whole run of the minimum length from day d, inside a long enough stretch off; rolled back
    unless every day of it fits."""
    need = max(mine.own.min_consecutive_days, 1)
    days = range(d, d + need)
    if any(k in mine.by_day or k >= len(mine.grid.days) for k in days):
        return False
    for k in days:
        if not _extend(mine, by_day.get(k, []), queues, residual, size, covered):
            for j in range(d, k):
                _release(mine, j, residual, covered)
            return False
    return True


def _longer(mine: "_Schedule", d: int, options, queues, residual, size, covered: dict) -> bool:
    """Swap day d's shift for a longer one that keeps the rules, if there is one."""
    current = mine.by_day[d]
    longer = [o for o in options if o.paid_minutes > current.paid_minutes]
    if not longer:
        return False
    _release(mine, d, residual, covered)
    if _extend(mine, longer, queues, residual, size, covered):
        return True
    mine.take(current)
    covered[d] = _cover(current, queues, residual, size)
    return False


def _release(mine: "_Schedule", d: int, residual, covered: dict) -> None:
    """Drop day d's shift and give back the demand it covered."""
    for q, i in covered.pop(d):
        residual[q][i] += 1
    mine.drop(d)


def _by_day(pool) -> dict[int, list]:
    by_day = defaultdict(list)
    for o in pool:
        by_day[o.day].append(o)
    return by_day


def _extend(mine: "_Schedule", options, queues, residual, size, covered: dict) -> bool:
    fitting = [o for o in options if mine.fits(o)]
    if not fitting:
        return False
    useful = np.concatenate([[0.0], np.cumsum(_useful(queues, residual, size))])
    best = max(fitting, key=lambda o: useful[min(o.end_index, size)] - useful[min(o.first, size)])
    mine.take(best)
    covered[best.day] = _cover(best, queues, residual, size)
    return True


class _Schedule:
    """One agent's shifts so far, kept by day, week, template and weekend, so checking an option
    against the agent's rules looks at the days around it, not at the whole horizon (a year of
    shifts is otherwise rescanned for every option tried)."""

    def __init__(self, data: RosterInput, a: Agent, grid: Grid, templates: dict):
        self.data, self.a, self.grid, self.templates = data, a, grid, templates
        self.own, self.c = a.rules(data.rules), a.contract
        self.taken: list[ShiftOption] = []
        self.by_day: dict[int, ShiftOption] = {}
        weeks = -(-len(grid.days) // 7)
        self.week_minutes = np.zeros(weeks, dtype=np.int64)  # paid minutes and days worked, by week
        self.week_days = np.zeros(weeks, dtype=np.int64)
        self.per_template: dict[str, int] = defaultdict(int)
        self.total = 0
        self.weekends: set = set()

    def take(self, o: ShiftOption) -> None:
        self.taken.append(o)
        self.by_day[o.day] = o
        self.week_minutes[o.day // 7] += o.paid_minutes
        self.week_days[o.day // 7] += 1
        self.per_template[o.template] += 1
        self.total += o.paid_minutes
        weekend = self._weekend(o.day)
        if weekend is not None:
            self.weekends.add(weekend)

    def drop(self, d: int) -> None:
        o = self.by_day.pop(d)
        self.taken.remove(o)
        self.week_minutes[d // 7] -= o.paid_minutes
        self.week_days[d // 7] -= 1
        self.per_template[o.template] -= 1
        self.total -= o.paid_minutes
        weekend = self._weekend(d)
        if weekend is not None and not any(self._weekend(k) == weekend for k in (d - 1, d + 1) if k in self.by_day):
            self.weekends.discard(weekend)

    def _weekend(self, d: int):
        day = self.grid.days[d]
        return day - timedelta(days=day.weekday() - 5) if day.weekday() >= 5 else None

    def below_minimum(self) -> bool:
        c, n_days = self.c, len(self.grid.days)
        if c.horizon_min_hours is not None and self.total < c.horizon_min_hours * 60:
            return True
        return any(self.week_minutes[w] < c.min_hours * 60 or self.week_days[w] < c.min_days
                   for w in range(n_days // 7))  # whole weeks only

    def keeps_minimum_reachable(self, o: ShiftOption, longest: int) -> bool:
        """After taking o, the week's minimum hours can still be met within its days left."""
        c, w = self.c, o.day // 7
        if c.min_hours <= 0 or (w + 1) * 7 > len(self.grid.days):
            return True
        short = c.min_hours * 60 - self.week_minutes[w] - o.paid_minutes
        return short <= 0 or short <= (c.max_days - self.week_days[w] - 1) * longest

    def refused_after(self, taken: ShiftOption, pool: "_Pool", rest: float) -> np.ndarray:
        """Positions of the pool's options that `fits` refuses for good once `taken` is in, so the
        greedy's next pick finds a fitting one sooner: too little rest before or after it, a template
        that may not follow it or that it may not follow, its week full of days or of hours, its
        template at its cap, the horizon's hours reached, the other weekends once it reaches the
        limit, the days that would make its run of work too long."""
        near = pool.on_days(taken.day - 2, taken.day + 3)  # the days `_rest_ok` looks at
        start, end = pool.start[near], pool.end[near]
        gap = np.where(start < taken.first, taken.first - end, start - taken.end_index) * taken.step
        t, days = pool.code[taken.template], pool.days[near]
        banned = ((days == taken.day + 1) & pool.banned[t][pool.template[near]]) | \
            ((days == taken.day - 1) & pool.banned[:, t][pool.template[near]])
        w, c = taken.day // 7, self.c
        week = pool.on_days(7 * w, 7 * w + 7)
        if self.week_days[w] < c.max_days:
            week = week[pool.paid[week] + self.week_minutes[w] > c.max_hours * 60]
        refused = [near[(gap < rest) | banned], week]
        if taken.template in c.template_caps and self.per_template[taken.template] >= c.template_caps[taken.template]:
            refused.append(np.flatnonzero(pool.template == t))
        if c.horizon_max_hours is not None:
            refused.append(np.flatnonzero(pool.paid + self.total > c.horizon_max_hours * 60))
        if self.own.max_weekends is not None and len(self.weekends) >= self.own.max_weekends and \
                self._weekend(taken.day) is not None:  # the weekend that reached the limit: the others go
            others = [k for k, day in enumerate(self.grid.days) if self._weekend(k) not in self.weekends | {None}]
            refused.append(pool.on_any(others))
        refused.append(pool.on_any(self._too_long_runs(taken.day)))
        return np.concatenate(refused)

    def _too_long_runs(self, d: int) -> list[int]:
        """The days just before and after the run of worked days through d that would, worked,
        make a run longer than the agent's maximum (joined to the run beyond, if any)."""
        worked, n = self.by_day, len(self.grid.days)
        lo = next(k for k in range(d, -2, -1) if k - 1 not in worked)
        hi = next(k for k in range(d, n + 1) if k + 1 not in worked)
        out = []
        for x, beyond in ((lo - 1, range(lo - 2, -1, -1)), (hi + 1, range(hi + 2, n))):
            if 0 <= x < n:
                joined = next((k for k, day in enumerate(beyond) if day not in worked), len(beyond))
                if hi - lo + 2 + joined > self.own.max_consecutive_days:
                    out.append(x)
        return out

    def minimum_reachable(self, candidates: np.ndarray, pool: "_Pool", longest: int) -> np.ndarray:
        """The candidates `keeps_minimum_reachable` accepts, all at once."""
        c, n_weeks = self.c, len(self.grid.days) // 7
        if c.min_hours <= 0 or not n_weeks or not len(candidates):
            return candidates
        week = pool.days[candidates] // 7
        whole = week < n_weeks
        week = np.minimum(week, n_weeks - 1)
        short = c.min_hours * 60 - self.week_minutes[week] - pool.paid[candidates]
        return candidates[~whole | (short <= 0) | (short <= (c.max_days - self.week_days[week] - 1) * longest)]

    def fits(self, o: ShiftOption) -> bool:
        a, c, rules = self.a, self.c, self.data.rules
        day = self.grid.days[o.day]
        if o.day in self.by_day or day in a.unavailable_days or a.fixed.get(day, "x") is None:
            return False
        if day in a.fixed and a.fixed[day] != o.template:
            return False
        if not self._rest_ok(o, rules):
            return False
        w = o.day // 7
        if self.week_days[w] + 1 > c.max_days or self.week_minutes[w] + o.paid_minutes > c.max_hours * 60:
            return False
        if o.template in c.template_caps and self.per_template[o.template] + 1 > c.template_caps[o.template]:
            return False
        if c.horizon_max_hours is not None and self.total + o.paid_minutes > c.horizon_max_hours * 60:
            return False
        return self._pattern_ok(o)

    def _rest_ok(self, o: ShiftOption, rules) -> bool:
        rest, tolerance = rules.min_rest_hours * 60, rules.start_time_tolerance_minutes
        for d in range(o.day - 2, o.day + 3):
            m = self.by_day.get(d)
            if m is None:
                continue
            first, second = (m, o) if m.first < o.first else (o, m)
            if (second.first - first.end_index) * o.step < rest:  # elapsed minutes on the real-time grid
                return False
            if tolerance is not None and abs(m.day - o.day) == 1 and \
                    abs((m.start.hour * 60 + m.start.minute) - (o.start.hour * 60 + o.start.minute)) > tolerance:
                return False
        before, after = self.by_day.get(o.day - 1), self.by_day.get(o.day + 1)
        if before is not None and o.template in self.templates[before.template].not_followed_by:
            return False
        return after is None or after.template not in self.templates[o.template].not_followed_by

    def _pattern_ok(self, o: ShiftOption) -> bool:
        """Consecutive days, days off in a row and weekends, with o's day worked."""
        own, d, worked = self.own, o.day, self.by_day
        left = next(k for k in range(1, d + 2) if d - k not in worked)  # run through d, counting d
        right = next(k for k in range(1, len(self.grid.days) - d + 1) if d + k not in worked)
        if left + right - 1 > own.max_consecutive_days:
            return False
        if own.min_consecutive_days_off > 0:
            before = max((k for k in worked if k < d), default=None)
            after = min((k for k in worked if k > d), default=None)
            for i, j in ((before, d), (d, after)):
                if i is not None and j is not None and 1 < j - i <= own.min_consecutive_days_off:
                    return False
        if own.max_weekends is not None:
            weekend = self._weekend(d)
            if weekend is not None and weekend not in self.weekends and len(self.weekends) + 1 > own.max_weekends:
                return False
        return True


def greedy_roster(data: RosterInput, grid: Grid, options: list[ShiftOption],
                  guide: dict[str, dict[int, float]] | None = None, spread: bool = False) -> Roster:
    """A complete roster from the greedy choice (guided by an LP roster if given): breaks placed
    where coverage can best spare the agent, each on-queue interval on the agent's queue that
    lacks the most. Built in seconds even for a large site, so a valid roster exists long before
    any search has run."""
    allowed = {a.id: allowed_options(data, a, options) for a in data.agents}
    chosen = greedy_choice(data, grid, options, allowed, guide, spread)
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
