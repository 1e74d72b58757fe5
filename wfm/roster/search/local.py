"""Coverage local search: many small moves on a valid roster, each scored incrementally.

On a large site the CP-SAT neighbourhoods (`lns.py`) improve a roster a few agents at a time, at a
second or more a step. Much of what a greedy or column-generation start leaves is the shape of
coverage: a shift an hour too early, a lunch in the peak, a ten-hour shift where eight would do.
This search tries thousands of such moves a second. A move takes one worked (agent, day) and gives
it another shift option of that day (another start or template, or the same one placed afresh);
the shift's breaks go where coverage can best spare the agent. Coverage is kept as on-queue agents
per pool (agents that may take the same queues) and scored with all of them routed to queues at
their best (`routing.py`), so a move sees what it lets other multi-skill agents hand on; the roster
written out carries one such best routing. The move is scored by its change in the objective
(coverage, labour cost, preferences, fairness, shift demand), checked against the agent's own rules
(allowed options, weekly and horizon hours, template caps, rest, not-followed-by, start-time
stability) and kept if it does not make the roster worse, so the roster stays valid throughout.
Days move too: a shift dropped, one added on a day off, or one moved to another day, each checked
against the agent's working pattern (days and hours per week and horizon, consecutive days and days
off, weekends). When the moves slow down, whole days are re-planned at once (`dayplan.py`): the
gains that need many agents to move together.

Skipped (returns the roster as it is) when coverage is scored by the service goal or the input is
a repair of a reference roster (their terms are not modelled here), and past the queue counts the
routing scores exactly (`routing.supports`: 6 queues with queue-specific under weights, 12 without).
"""

from __future__ import annotations

import math
import random
import time as clock
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .. import routing, service_goal
from ..costs import cost_term
from ..domain import Roster, RosterInput
from ..options import Grid, ShiftOption, allowed_options, worked_shift


HISTORY = 1             # late-acceptance list length (moves); 1 is plain descent, best measured here
CHAIN_SHARE = 0.8       # of the moves on a worked day: two agents' days as one move
NEAR_PICKS = 2          # neighbours of the current shift tried per move, next to the random picks
SNAPSHOT_SECONDS = 0.1  # at most this often the best roster is copied (a copy is a few ms)
# Of the moves: the (agent, day) picked among those on an over-covered interval (elsewhere most lose).
OVER_SHARE = 0.3
# Of the single-agent moves on a worked day: the shift moved to one of the agent's days off.
RELOCATE_SHARE = 0.25


def applies(data: RosterInput) -> bool:
    if any(service_goal.applies(data, r) for r in data.requirements):
        return False
    w = data.weights
    under = np.array([r.under_weights if r.under_weights is not None else [w.under] * len(r.agents)
                      for r in data.requirements], float)
    if data.requirements and not routing.supports(len(data.requirements), under):
        return False
    return not (data.reference is not None and data.weights.change > 0)


@dataclass
class Placed:
    option: int
    breaks: tuple[int, ...]
    cells: np.ndarray     # on-queue interval indices (inside the horizon)
    pool: int             # the queues it may take (`routing.py`); -1: none


@dataclass
class Stats:
    moves: int = 0
    accepted: int = 0
    improved: int = 0


class CoverageSearch:
    def __init__(self, data: RosterInput, grid: Grid, options: list[ShiftOption], roster: Roster, seed: int = 0):
        self.data, self.grid, self.options = data, grid, options
        self.rng = random.Random(seed)
        self.stats = Stats()
        w = data.weights
        self.queues = [r.queue for r in data.requirements]
        q_index = {q: k for k, q in enumerate(self.queues)}
        n = grid.size
        self.need = np.array([np.ceil(np.asarray(r.agents, float) - 1e-9) for r in data.requirements]).reshape(-1, n)
        self.under_w = np.array([np.asarray(r.under_weights if r.under_weights is not None else [w.under] * n, float)
                                 for r in data.requirements]).reshape(-1, n)
        self.over_w = float(w.over)
        self.tmpl = {t.id: t for t in data.templates}
        self.agents = list(data.agents)
        self.agent_index = {a.id: k for k, a in enumerate(self.agents)}
        self.rest = max(data.rules.min_rest_hours * 60, 0.0)
        self.tolerance = data.rules.start_time_tolerance_minutes
        self.n_days = len(grid.days)
        self.clock = [o.start.hour * 60 + o.start.minute for o in options]
        self.origin = grid.origin
        days_at = {day: d for d, day in enumerate(grid.days)}
        self.interval_day = [days_at.get(t.date(), 0) for t in grid.starts]
        # Per agent: options it may work per day, the queues it may take per template.
        self.allowed: list[dict[int, list[int]]] = []
        self.pool_of: list[dict[str, int]] = []   # per agent: template -> pool (-1: no queue)
        pools: dict[tuple[int, ...], int] = {}
        self.cost: list[dict[int, int]] = []
        days = {day: d for d, day in enumerate(grid.days)}
        for a in self.agents:
            per_day = defaultdict(list)
            fixed_days = {days[d] for d in a.fixed if d in days}
            off = {days[d] for d in a.unavailable_days if d in days}
            for o in allowed_options(data, a, options):
                if o.day not in fixed_days and o.day not in off:
                    per_day[o.day].append(o.index)
            self.allowed.append(dict(per_day))
            mine = {}
            for t in data.templates:
                takes = tuple(sorted({q_index[q] for q in a.skills if q in q_index and (not t.skills
                                                                                        or q in t.skills)}))
                mine[t.id] = pools.setdefault(takes, len(pools)) if takes else -1
            self.pool_of.append(mine)
            self.cost.append({})
        # Coverage as on-queue agents per pool and interval, routed to queues at its best.
        self.routing = routing.Routing(list(pools), self.need, self.under_w, self.over_w)
        self.count = np.zeros((len(pools), n))
        # A shift's neighbours: options of the same day with the same start or the same end, or
        # the same template a step or two earlier or later. Most improving moves are small changes
        # like these, which random picks among hundreds of options a day rarely hit.
        self.allowed_set = [{d: set(v) for d, v in per.items()} for per in self.allowed]
        self._by_start, self._by_end = defaultdict(list), defaultdict(list)
        self._by_key = {}
        for o in options:
            self._by_start[o.day, o.first].append(o.index)
            self._by_end[o.day, o.end_index].append(o.index)
            self._by_key[o.day, o.template, o.first] = o.index
        self._near: dict[int, list[int]] = {}
        # Per agent: the others sharing one of its queues (only they can take over its coverage).
        by_queue = defaultdict(list)
        for k, a in enumerate(self.agents):
            for q in set(a.skills):
                by_queue[q].append(k)
        self.partners = [sorted({j for q in set(a.skills) for j in by_queue[q]} - {k})
                         for k, a in enumerate(self.agents)]
        # Preferences on (day, template), fairness counts, shift demand counts.
        self.template_prefs: dict[tuple[int, int, str], float] = defaultdict(float)
        self.unwanted: dict[tuple[int, int, str], int] = defaultdict(int)  # not-wanted wishes (each counts)
        for k, a in enumerate(self.agents):
            for p in a.preferences:
                d = days.get(p.day)
                if d is None or p.template is None or p.weight == 0:
                    continue
                value = w.preference * p.weight
                # want: missed unless worked (a penalty avoided by working it); not want: paid if worked
                self.template_prefs[k, d, p.template] += -value if p.want else value
                if not p.want:
                    self.unwanted[k, d, p.template] += 1
        self.day_prefs: dict[tuple[int, int], float] = defaultdict(float)  # paid while working that day
        for k, a in enumerate(self.agents):
            for p in a.preferences:
                d = days.get(p.day)
                if d is not None and p.template is None and p.weight:
                    self.day_prefs[k, d] += w.preference * p.weight * (1 if p.want else -1)
        self.fair = w.fairness if len(self.agents) > 1 else 0
        self.saturday = [day.weekday() == 5 for day in grid.days]
        self.weekend_of = [(d - (day.weekday() - 5)) if day.weekday() >= 5 else None for d, day in enumerate(grid.days)]
        self.demand = {(days[r.day], r.template): r for r in data.shift_requirements if r.day in days}
        self.demand_count: dict[tuple[int, str], int] = defaultdict(int)
        # The roster as placed shifts.
        lookup = {(o.day, o.template, o.first): o.index for o in options}
        given = np.zeros_like(self.need)  # the start's own routing, to credit what rerouting gains
        self.shift: list[dict[int, Placed]] = [dict() for _ in self.agents]
        # per agent and day: the worked shift's (first interval, end interval), -1 when off
        self.worked_span = np.full((len(self.agents), self.n_days, 2), -1, dtype=np.int64)
        self.paid_week = np.zeros((len(self.agents), (self.n_days + 6) // 7))
        self.template_count: list[dict[str, int]] = [defaultdict(int) for _ in self.agents]
        self.nights = np.zeros(len(self.agents))
        self.unwanted_count = np.zeros(len(self.agents))
        for sh in roster.shifts:
            k, d = self.agent_index[sh.agent], days[sh.day]
            oi = lookup[d, sh.template, grid.index_of(pd.Timestamp(sh.start))]
            breaks = tuple(grid.index_of(pd.Timestamp(b.start)) for b in sh.breaks)
            cells = []
            for g in sh.segments:
                for i in range(grid.index_of(pd.Timestamp(g.start)), grid.index_of(pd.Timestamp(g.end))):
                    if i < n:
                        cells.append(i)
                        given[q_index[g.queue], i] += 1
            self.apply(k, d, None, Placed(oi, breaks, np.array(cells, int), self.pool_of[k][sh.template]))
        self.previous_end, self.carried = {}, [0] * len(self.agents)
        worked_before = defaultdict(set)
        for sh in data.previous_shifts:
            k = self.agent_index.get(sh.agent)
            if k is not None:
                end = (pd.Timestamp(sh.end) - self.origin).total_seconds() / 60
                self.previous_end[k] = max(self.previous_end.get(k, -math.inf), end)
                worked_before[k].add(sh.day)
        for k, before in worked_before.items():
            while grid.days[0] - pd.Timedelta(days=self.carried[k] + 1) in before:
                self.carried[k] += 1
        self.weekends = np.array([len(self._weekends(k)) for k in range(len(self.agents))], float)
        as_given = (self.under_w * np.maximum(self.need - given, 0) + self.over_w * np.maximum(given - self.need,
                                                                                               0)).sum()
        # objective change since the start: from the first, what the best routing of its shifts gains
        self.value = self.best_value = float(self.routing.penalty(self.count).sum() - as_given)
        self.history = [0.0] * HISTORY
        self.snapshot()

    # -- bookkeeping --------------------------------------------------------------------------------
    def _nearby(self, k: int, d: int, oi: int, count: int) -> list[int]:
        """`count` random picks (repeats possible) among the neighbours of option `oi` that agent k
        may work on day d; none if it has none."""
        near = self._near.get(oi)
        if near is None:
            o = self.options[oi]
            near = [i for i in self._by_start[o.day, o.first] + self._by_end[o.day, o.end_index] if i != oi]
            for step in (-2, -1, 1, 2):
                i = self._by_key.get((o.day, o.template, o.first + step))
                if i is not None:
                    near.append(i)
            self._near[oi] = near
        mine = self.allowed_set[k].get(d, ())
        near = [i for i in near if i in mine]
        return [near[self.rng.randrange(len(near))] for _ in range(count)] if near else []

    def apply(self, k: int, d: int, old: Placed | None, new: Placed | None) -> None:
        for placed, sign in ((old, -1), (new, 1)):
            if placed is None:
                continue
            if placed.pool >= 0:
                self.count[placed.pool, placed.cells] += sign
            o = self.options[placed.option]
            self.paid_week[k, d // 7] += sign * o.paid_minutes
            self.template_count[k][o.template] += sign
            self.nights[k] += sign * self.tmpl[o.template].night
            self.unwanted_count[k] += sign * self.unwanted.get((k, d, o.template), 0)
            self.demand_count[d, o.template] += sign
        if new is None:
            self.shift[k].pop(d, None)
            self.worked_span[k, d] = -1
        else:
            self.shift[k][d] = new
            o = self.options[new.option]
            self.worked_span[k, d] = (o.first, o.end_index)
        if (old is None) != (new is None) and self.weekend_of[d] is not None and hasattr(self, "weekends"):
            self.weekends[k] = len(self._weekends(k))

    def _weekends(self, k: int, days=None) -> set[int]:
        return {self.weekend_of[d] for d in (self.shift[k] if days is None else days) if self.weekend_of[d] is not None}

    def roster(self) -> Roster:
        queue_of = self._routed()
        shifts = []
        for k, a in enumerate(self.agents):
            for d, p in self.shift[k].items():
                o = self.options[p.option]
                pairs = ((int(i), self.queues[queue_of[k, int(i)]]) for i in sorted(p.cells))
                shifts.append(worked_shift(a.id, o, self.grid, self.tmpl[o.template], p.breaks, pairs))
        shifts.sort(key=lambda s: (s.agent, s.start))
        return Roster(shifts=shifts)

    def _routed(self) -> dict[tuple[int, int], int]:
        """(agent, interval) -> queue: a best routing, interval by interval (`Routing.flows`). An
        agent keeps the queue of its last on-queue interval where the routing allows, so queue
        changes within a shift are only those the coverage needs."""
        on = defaultdict(lambda: defaultdict(list))   # interval -> pool -> agents on-queue
        for k, mine in enumerate(self.shift):
            for p in mine.values():
                for i in p.cells if p.pool >= 0 else ():
                    on[int(i)][p.pool].append(k)
        queue_of, last = {}, {}
        for i in sorted(on):
            flow = self.routing.flows(self.count, i)
            for pool, agents in on[i].items():
                quota = flow[pool].copy()
                rest = []
                for k in agents:
                    q = last.get(k)
                    if q is not None and quota[q] > 0:
                        quota[q] -= 1
                        queue_of[k, i] = q
                    else:
                        rest.append(k)
                for k in rest:
                    q = int(np.flatnonzero(quota > 0)[0])
                    quota[q] -= 1
                    queue_of[k, i] = last[k] = q
                for k in agents:
                    last[k] = queue_of[k, i]
        return queue_of

    # -- rules of one agent -------------------------------------------------------------------------
    def keeps_rules(self, k: int, d: int, old: ShiftOption | None, new: ShiftOption | None) -> bool:
        """Whether agent k's schedule with `new` instead of `old` on day d (None: off) keeps its rules."""
        c = self.agents[k].contract
        if new is not None and (old is None or new.template != old.template):
            cap = c.template_caps.get(new.template)
            if cap is not None and self.template_count[k][new.template] + 1 > cap:
                return False
        change = (new.paid_minutes if new else 0) - (old.paid_minutes if old else 0)
        if (old is None) != (new is None):
            if not self._pattern_ok(k, d, new is not None, change):
                return False
        elif change and not self._hours_ok(k, d, change):
            return False
        if new is None:
            return True
        mine = self.shift[k]
        before = max((x for x in mine if x < d), default=None)
        after = min((x for x in mine if x > d), default=None)
        step = self.grid.minutes
        if before is not None:
            if (new.first - self.options[mine[before].option].end_index) * step < self.rest:
                return False
        elif k in self.previous_end and new.first * step - self.previous_end[k] < self.rest:
            return False
        if after is not None and (self.options[mine[after].option].first - new.end_index) * step < self.rest:
            return False
        if before == d - 1 and new.template in self.tmpl[self.options[mine[before].option].template].not_followed_by:
            return False
        if after == d + 1 and self.options[mine[after].option].template in self.tmpl[new.template].not_followed_by:
            return False
        if self.tolerance is not None:
            for x in (d - 1, d + 1):
                if x in mine and abs(self.clock[mine[x].option] - self.clock[new.index]) > self.tolerance:
                    return False
        return True

    def options_keeping_rules(self, k: int, d: int, candidates: list[int]) -> list[int]:
        """The candidate options (indices) agent k could work on day d instead of what it works
        there now (its current option, if among them, kept): `keeps_rules` for many options at once. Its
        checks split into those of the paid-minutes change (hours, working pattern) and of the
        template (caps, what may follow what), each done once per distinct value, and the rest and
        start-time ones, which compare integers per option. (The day re-plan asks this of every
        option of every agent: 38,000 questions a day on 200 agents.)"""
        current = self.shift[k].get(d)
        old = self.options[current.option] if current is not None else None
        c, mine, step = self.agents[k].contract, self.shift[k], self.grid.minutes
        before = max((x for x in mine if x < d), default=None)
        after = min((x for x in mine if x > d), default=None)
        prev_end = self.options[mine[before].option].end_index if before is not None else None
        next_first = self.options[mine[after].option].first if after is not None else None
        carried_end = self.previous_end.get(k) if before is None else None
        prev_t = self.options[mine[before].option].template if before == d - 1 else None
        next_t = self.options[mine[after].option].template if after == d + 1 else None
        clocks = [self.clock[mine[x].option] for x in (d - 1, d + 1) if x in mine]
        by_change: dict[int, bool] = {}
        by_template: dict[str, bool] = {}
        kept = []
        for i in candidates:
            new = self.options[i]
            if old is not None and i == old.index:
                kept.append(i)
                continue
            if prev_end is not None and (new.first - prev_end) * step < self.rest:
                continue
            if carried_end is not None and new.first * step - carried_end < self.rest:
                continue
            if next_first is not None and (next_first - new.end_index) * step < self.rest:
                continue
            if self.tolerance is not None and any(abs(x - self.clock[i]) > self.tolerance for x in clocks):
                continue
            t = new.template
            ok = by_template.get(t)
            if ok is None:
                cap = c.template_caps.get(t)
                ok = not (cap is not None and (old is None or t != old.template)
                          and self.template_count[k][t] + 1 > cap)
                ok = ok and not (prev_t is not None and t in self.tmpl[prev_t].not_followed_by)
                ok = ok and not (next_t is not None and next_t in self.tmpl[t].not_followed_by)
                by_template[t] = ok
            if not ok:
                continue
            change = new.paid_minutes - (old.paid_minutes if old else 0)
            ok = by_change.get(change)
            if ok is None:
                ok = by_change[change] = self._pattern_ok(k, d, True, change) if old is None else \
                    (not change or self._hours_ok(k, d, change))
            if ok:
                kept.append(i)
        return kept

    def _hours_ok(self, k: int, d: int, change: float) -> bool:
        c = self.agents[k].contract
        w = d // 7
        paid = self.paid_week[k, w] + change
        if paid > math.floor(c.max_hours * 60 + 1e-9):
            return False
        if 7 * (w + 1) <= self.n_days and paid < math.ceil(c.min_hours * 60 - 1e-9):
            return False
        total = self.paid_week[k].sum() + change
        if c.horizon_max_hours is not None and total > math.floor(c.horizon_max_hours * 60 + 1e-9):
            return False
        return c.horizon_min_hours is None or total >= math.ceil(c.horizon_min_hours * 60 - 1e-9)

    def _pattern_ok(self, k: int, d: int, working: bool, change: float) -> bool:
        """Agent k's working pattern with day d switched on or off: days and hours per week and
        horizon, consecutive days (counting a run carried from the previous roster), runs of days
        and days off inside the horizon, weekends."""
        a = self.agents[k]
        c, own = a.contract, a.rules(self.data.rules)
        if not self._hours_ok(k, d, change):
            return False
        flags = [x in self.shift[k] for x in range(self.n_days)]
        flags[d] = working
        w0 = d - d % 7
        days = sum(flags[w0:w0 + 7])
        if days > c.max_days or (w0 + 7 <= self.n_days and days < c.min_days):
            return False
        run = self.carried[k]
        for f in flags:
            run = run + 1 if f else 0
            if run > own.max_consecutive_days:
                return False
        if own.min_consecutive_days > 1 or own.min_consecutive_days_off > 1:
            start = 0
            for i in range(1, self.n_days + 1):
                if i == self.n_days or flags[i] != flags[start]:
                    inside = start > 0 and i < self.n_days
                    if inside and flags[start] and i - start < own.min_consecutive_days:
                        return False
                    if inside and not flags[start] and i - start < own.min_consecutive_days_off:
                        return False
                    start = i
        if own.max_weekends is not None and self.weekend_of[d] is not None:
            worked = [x for x in range(self.n_days) if flags[x]]
            if len(self._weekends(k, worked)) > own.max_weekends:
                return False
        return True

    # -- scoring -------------------------------------------------------------------------------------
    def _place(self, k: int, o: ShiftOption, lo: int, gains: dict[int, np.ndarray]) -> tuple[float, Placed]:
        """Best placement of option o for agent k, `gains` being per pool what one more agent on-queue
        removes from the penalty at each interval from `lo` (against coverage without the agent's
        shift that day, every agent routed at its best): breaks where the agent adds least.
        Returns (penalty removed, placement)."""
        last = min(o.end_index, self.grid.size)
        pool = self.pool_of[k][o.template]
        if o.first >= last or pool < 0:
            return 0.0, Placed(o.index, tuple(w.earliest for w in o.breaks), np.zeros(0, int), pool)
        value = gains[pool][o.first - lo:last - lo]
        span_len = last - o.first
        on = np.ones(span_len, bool)
        starts = []
        # Each break at its cheapest start: a handful of positions, so plain Python on a list
        # (numpy's per-call overhead was half of this function's time).
        cum = [0.0]
        cum.extend(np.cumsum(value).tolist())
        floor = o.first
        windows = o.breaks
        for j, w in enumerate(windows):
            hi = w.latest
            if j + 1 < len(windows):
                hi = min(hi, windows[j + 1].latest - w.length)
            lo_p = max(w.earliest, floor)
            costs = [cum[min(max(q + w.length - o.first, 0), span_len)] - cum[min(max(q - o.first, 0), span_len)]
                     for q in range(lo_p, max(hi, lo_p) + 1)]
            p = lo_p + costs.index(min(costs))  # the first cheapest, as argmin picks
            starts.append(p)
            on[max(p - o.first, 0):max(min(p + w.length, last) - o.first, 0)] = False
            floor = p + w.length
        cells = np.arange(o.first, last)[on]
        return float(value[on].sum()), Placed(o.index, tuple(starts), cells, pool)

    def own_terms(self, k: int, d: int, o: ShiftOption | None) -> float:
        """The agent's own objective terms for working o on day d (0 when off)."""
        if o is None:
            return 0.0
        a = self.agents[k]
        cost = self.cost[k].get(o.index)
        if cost is None:
            cost = self.cost[k][o.index] = cost_term(o, a.cost_per_hour, self.data.weights.cost) \
                if self.data.weights.cost > 0 else 0
        return cost + self.template_prefs.get((k, d, o.template), 0.0) + self.day_prefs.get((k, d), 0.0)

    def _demand_delta(self, d: int, old: str | None, new: str | None) -> float:
        if old == new or not self.demand:
            return 0.0
        total = 0.0
        for t, change in ((old, -1), (new, 1)):
            r = self.demand.get((d, t)) if t is not None else None
            if r is None:
                continue
            n = self.demand_count[d, t]
            before = r.under_weight * max(r.count - n, 0) + r.over_weight * max(n - r.count, 0)
            n += change
            total += r.under_weight * max(r.count - n, 0) + r.over_weight * max(n - r.count, 0) - before
        return total

    def _fairness_delta(self, k: int, d: int, old: str | None, new: str | None) -> float:
        if not self.fair or old == new:
            return 0.0

        def night(t):
            return self.tmpl[t].night if t is not None else 0

        def unwanted(t):
            return self.unwanted.get((k, d, t), 0) if t is not None else 0

        changes = [(self.nights, night(new) - night(old)), (self.unwanted_count, unwanted(new) - unwanted(old))]
        if (old is None) != (new is None) and self.weekend_of[d] is not None:
            days = set(self.shift[k]) - {d} | ({d} if new is not None else set())
            changes.append((self.weekends, len(self._weekends(k, days)) - self.weekends[k]))
        total = 0.0
        for counts, change in changes:
            if change:
                before = counts.max() - counts.min()
                counts[k] += change
                after = counts.max() - counts.min()
                counts[k] -= change
                total += self.fair * (after - before)
        return total

    def evaluate(self, k: int, d: int, candidates: list[int | None], rules: bool = True):
        """(objective change, placement or None for the day off) of the best candidate for agent k
        on day d (an option index, or None: the day off) against what it works there now; None
        when no candidate keeps the rules (with `rules` off, the caller checks them)."""
        current = self.shift[k].get(d)
        old = self.options[current.option] if current is not None else None
        tried = []
        for c in candidates:
            o = self.options[c] if c is not None else None
            same = (o is None and old is None) or (o is not None and old is not None and o.index == old.index)
            if same or not rules or self.keeps_rules(k, d, old, o):
                tried.append(o)
        if not tried:
            return None
        spans = [x for x in [old] + tried if x is not None]
        lo = min(x.first for x in spans)
        hi = max(lo, min(max(x.end_index for x in spans), self.grid.size))
        counts = self.count[:, lo:hi].copy()
        pools = {self.pool_of[k][o.template] for o in tried if o is not None} - {-1}
        worked = current is not None and len(current.cells) and current.pool >= 0
        if worked:
            counts[current.pool, current.cells - lo] -= 1
            pools.add(current.pool)
        gains = self.routing.gains(counts, lo, hi, pools) if pools else {}
        base = self.own_terms(k, d, old)
        if worked:  # minus the penalty the current placement removes (against coverage without it)
            base -= gains[current.pool][current.cells - lo].sum()
        best = None
        old_t = old.template if old is not None else None
        for o in tried:
            gain, placed = self._place(k, o, lo, gains) if o is not None else (0.0, None)
            new_t = o.template if o is not None else None
            delta = self.own_terms(k, d, o) - gain - base + self._demand_delta(d, old_t, new_t) \
                + self._fairness_delta(k, d, old_t, new_t)
            if best is None or delta < best[0] - 1e-9:
                best = (delta, placed)
        return best

    def try_move(self, k: int, d: int, candidates: list[int | None]) -> float | None:
        """The best candidate for agent k on day d, applied if accepted; its objective change."""
        found = self.evaluate(k, d, candidates)
        self.stats.moves += 1
        if found is None:
            return None
        delta, placed = found
        if self.accept(delta):
            self._commit(k, d, placed, delta)
        return delta

    def _commit(self, k: int, d: int, placed: Placed | None, delta: float) -> None:
        self.apply(k, d, self.shift[k].get(d), placed)
        self.applied(delta)

    def applied(self, delta: float) -> None:
        """Books a change already applied (a move, or a whole day re-planned) that changes the
        objective by `delta`."""
        self.stats.accepted += 1
        self.value += delta
        if delta < -1e-9:
            self.stats.improved += 1
        if self.value < self.best_value - 1e-9:
            self.best_value = self.value
            if clock.perf_counter() - self.snapshot_at > SNAPSHOT_SECONDS:
                self.snapshot()

    def _relocate(self, k: int, d: int, candidates: list[int]) -> None:
        """Agent k's shift from day d to one of the `candidates` (options of one day off), judged as
        one move: the drop and the best addition together. Within a week the rules are checked on
        the week after both (an agent at its minimum days or hours may still swap a day off, which
        dropping the day alone would break); across weeks, the drop must keep them alone too."""
        self.stats.moves += 1
        target = self.options[candidates[0]].day
        dropped = self.evaluate(k, d, [None], rules=d // 7 != target // 7)
        if dropped is None:
            return
        current = self.shift[k][d]
        self.apply(k, d, current, None)
        added = self.evaluate(k, target, candidates)
        if added is not None and added[1] is not None and self.accept(dropped[0] + added[0]):
            self._commit(k, target, added[1], dropped[0] + added[0])
        else:
            self.apply(k, d, None, current)

    def _chain(self, k: int, d: int, width: int) -> None:
        """Two agents' days as one move: agent k's shift on day d changes for sure (another option or
        the day off, the best of a few, even if worse alone), then another agent's day d takes its
        best of a few options (random ones and neighbours of its own shift, or the day off) against
        the coverage that leaves; kept if the pair does not make the roster worse. One agent ending
        early and another starting later, or one agent's hours handed to another, are moves no
        single-agent step makes without loss."""
        pool = self.allowed[k].get(d, [])
        current = self.shift[k][d]
        near = self._nearby(k, d, current.option, NEAR_PICKS)
        first = self.evaluate(k, d, [pool[self.rng.randrange(len(pool))] for _ in range(width)] + near + [None])
        self.stats.moves += 1
        if first is None:
            return
        partners = self.partners[k]
        j = partners[self.rng.randrange(len(partners))] if partners else k
        other = self.allowed[j].get(d, [])
        if j == k or not other:
            return
        self.apply(k, d, current, first[1])
        theirs = self.shift[j].get(d)
        picks = [other[self.rng.randrange(len(other))] for _ in range(width)]
        if theirs is not None:
            picks += self._nearby(j, d, theirs.option, NEAR_PICKS)
        second = self.evaluate(j, d, ([theirs.option, None] if theirs is not None else []) + picks)
        if second is not None and self.accept(first[0] + second[0]):
            self.apply(k, d, first[1], current)  # committed below as the pair
            self._commit(k, d, first[1], first[0])
            self._commit(j, d, second[1], second[0])
            self.stats.accepted -= 1
        else:
            self.apply(k, d, first[1], current)

    def _on_at(self, i: int):
        """A random (agent, day) whose shift covers interval i, or None."""
        first = max(self.interval_day[i] - 1, 0)  # yesterday's shift may run past midnight
        span = self.worked_span[:, first:self.interval_day[i] + 1]
        ks, ds = np.nonzero((span[:, :, 0] <= i) & (i < span[:, :, 1]))
        if not len(ks):
            return None
        j = self.rng.randrange(len(ks))
        return int(ks[j]), int(ds[j]) + first

    def perturb(self, agents: int) -> int:
        """Ruin and recreate one random day: up to `agents` random agents' shifts that day change to
        the best of a few random options (or the day off), kept whatever they cost as long as every
        rule holds, so the moves after it descend to another local optimum (iterated local search).
        The perturbed roster becomes the search's start and best; returns the day."""
        d = self.rng.randrange(self.n_days)
        for k in self.rng.sample(range(len(self.agents)), min(agents, len(self.agents))):
            pool = self.allowed[k].get(d, [])
            if not pool:
                continue
            working = d in self.shift[k]
            found = self.evaluate(k, d, [pool[self.rng.randrange(len(pool))] for _ in range(2)]
                                  + ([None] if working else []))
            if found is not None:
                self._commit(k, d, found[1], found[0])
        self.best_value = self.value
        self.history = [self.value] * len(self.history)
        self.snapshot()
        return d

    def perturb_week(self, agents: int) -> set[int]:
        """Ruin and recreate the working pattern: up to `agents` random agents each move one random
        shift to one of their days off (the best of a few options there), kept whatever it costs as
        long as every rule holds (`_relocate`'s check). The perturbed roster becomes the search's
        start and best; returns the days changed."""
        days = set()
        for k in self.rng.sample(range(len(self.agents)), min(agents, len(self.agents))):
            worked = [d for d in self.shift[k] if self.allowed[k].get(d)]
            off = [d for d in self.allowed[k] if d not in self.shift[k]]
            if not worked or not off:
                continue
            d, target = worked[self.rng.randrange(len(worked))], off[self.rng.randrange(len(off))]
            if d // 7 != target // 7:
                continue
            pool = self.allowed[k][target]
            dropped = self.evaluate(k, d, [None], rules=False)
            current = self.shift[k][d]
            self.apply(k, d, current, None)
            added = self.evaluate(k, target, [pool[self.rng.randrange(len(pool))] for _ in range(4)])
            self.apply(k, d, None, current)
            if dropped is None or added is None or added[1] is None:
                continue
            self._commit(k, d, None, dropped[0])
            self._commit(k, target, added[1], added[0])
            days.update((d, target))
        self.best_value = self.value
        self.history = [self.value] * len(self.history)
        self.snapshot()
        return days

    # -- the search ------------------------------------------------------------------------------------
    def accept(self, delta: float) -> bool:
        """Late acceptance: a move is kept if the roster after it is no worse than now or than the
        roster `HISTORY` moves ago, so the search can walk through slightly worse rosters (a long
        shift cut first, the gap it leaves covered by others next) instead of stopping at the first
        local optimum. The best roster seen is kept apart (`snapshot`)."""
        slot = self.stats.moves % len(self.history)
        after = self.value + delta
        ok = delta <= 1e-9 or after <= self.history[slot] + 1e-9
        self.history[slot] = after if ok else self.value
        return ok

    def snapshot(self) -> None:
        self.best = [dict(mine) for mine in self.shift]
        self.snapshot_value, self.snapshot_at = self.value, clock.perf_counter()

    def _restore(self) -> None:
        for k, mine in enumerate(self.shift):
            for d in list(mine):
                self.apply(k, d, mine[d], None)
        for k, mine in enumerate(self.best):
            for d, placed in mine.items():
                self.apply(k, d, None, placed)
        self.value = self.snapshot_value

    def _slowed(self, pace: list[tuple[float, float]], slow: float) -> bool:
        """Whether the best gained less than `slow` a second over the last SLOW_WINDOW seconds;
        `pace` keeps (time, best) samples every SLOW_STEP seconds."""
        now = clock.perf_counter()
        if now < pace[-1][0] + SLOW_STEP:
            return False
        pace.append((now, self.best_value))
        if len(pace) <= SLOW_WINDOW / SLOW_STEP:
            return False
        then, best = pace.pop(0)
        return best - self.best_value < slow * (now - then)

    def run(self, seconds: float, width: int = 4, moves: int | None = None, report=None,
            patience: int | None = None, slow: float | None = None) -> None:
        """Moves for `seconds` (wall clock; or exactly `moves` moves, for a deterministic limit),
        then back to the best roster seen; `report(value)` hears of the best every half second; with
        `patience`, it stops after that many moves without a new best, with `slow` once the best
        gains less than that a second (over SLOW_WINDOW seconds). A move picks a random agent
        and day (OVER_SHARE of them one working an over-covered interval): a worked day tries its
        current option (placed afresh), `width` random others and the day off, or moves to one of
        the agent's days off; a day off tries `width` random options. A fixed day only has its
        breaks and queues placed afresh."""
        n = len(self.agents)
        if not n or not self.n_days:
            return
        deadline = clock.perf_counter() + seconds
        stop = self.stats.moves + moves if moves is not None else None
        self.snapshot()
        reported, told = clock.perf_counter(), self.best_value
        last_best, best_at = self.best_value, self.stats.moves
        pace = [(clock.perf_counter(), self.best_value)]   # (time, best) every SLOW_STEP seconds
        while clock.perf_counter() < deadline and (stop is None or self.stats.moves < stop):
            if self.best_value < last_best - 1e-9:
                last_best, best_at = self.best_value, self.stats.moves
            elif patience is not None and self.stats.moves - best_at > patience:
                break
            if slow is not None and self._slowed(pace, slow):
                break
            if report is not None and self.best_value < told - 1e-9 and clock.perf_counter() - reported > 0.5:
                report(self.best_value)
                reported, told = clock.perf_counter(), self.best_value
            over = np.flatnonzero(self.routing.surplus(self.count) > 0)
            for _ in range(50):
                k, d = self.rng.randrange(n), self.rng.randrange(self.n_days)
                if len(over) and self.rng.random() < OVER_SHARE:
                    picked = self._on_at(int(over[self.rng.randrange(len(over))]))
                    if picked is not None:
                        k, d = picked
                pool = self.allowed[k].get(d, [])
                picks = [pool[self.rng.randrange(len(pool))] for _ in range(width)] if pool else []
                if d not in self.shift[k]:
                    if picks:
                        self.try_move(k, d, picks)
                elif not pool:
                    self.try_move(k, d, [self.shift[k][d].option])
                elif self.rng.random() < CHAIN_SHARE:
                    self._chain(k, d, width)
                elif self.rng.random() < RELOCATE_SHARE:
                    off = [x for x in self.allowed[k] if x not in self.shift[k]]
                    if off:
                        target = self.allowed[k][off[self.rng.randrange(len(off))]]
                        self._relocate(k, d, [target[self.rng.randrange(len(target))] for _ in range(width)])
                else:
                    current = self.shift[k][d].option
                    self.try_move(k, d, [current] + picks + self._nearby(k, d, current, NEAR_PICKS) + [None])
        if self.value > self.snapshot_value + 1e-9:
            self._restore()


# `slow`: the moves count as stalled when the best gained less than `slow` a second over the last
# SLOW_WINDOW seconds (sampled every SLOW_STEP).
SLOW_WINDOW, SLOW_STEP = 2.0, 0.25
