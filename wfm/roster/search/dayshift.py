"""Column generation for day-shift sites, with pricing by dynamic programming over the days: a
lower bound and a roster where the CP-SAT pricing of `colgen` is too slow (the Curtois-Qu format
past a hundred employees and four weeks).

A day-shift site is one where each agent works at most one shift a day, chosen from templates that
have one start a day, and cover is counted per (day, template) (`ShiftRequirement`s, no interval
requirements): the Curtois-Qu format and rosters like it (`applies` says which sites).

* The master LP has a column per agent schedule (a template or nothing per day), one convexity
  row per agent, a row per shift requirement (with under/over slack at its weights), and the
  agent's rules that are *sums over its shifts* as rows of its own: paid minutes per week and over
  the horizon, days per week, per-template caps, weekends worked. (Each row is met by every real
  schedule, so the LP over every schedule is a relaxation of the roster problem. A slack at a
  large price keeps the master feasible while it has few columns: a relaxation still.)
* Pricing is a shortest path over the days per agent through (last day's template or off, length
  of the current run of work or rest, whether that run started on the first day): the sequence
  rules are kept exactly (a template's forbidden successors and rest between days, max/min
  consecutive days worked, min consecutive days off, with the format's exemption of runs that
  touch the horizon's first or last day; leave, fixed days, ineligible templates), the summed rules
  are priced by their rows' duals.
* Each round's duals give a Lagrangian bound, valid whether or not the LP has converged:
  sum(pi * need) + sum(y * rhs) + sum over agents of the cheapest schedule's reduced value, with
  the cover duals pi within [-over, under] and the summed-rule duals y of the right sign.

So the bound is the Dantzig-Wolfe bound with the summed rules in the master (partial
convexification), at most the full one's. The integer master over the columns found
(`roster`) makes a roster: picked one column per agent, every summed rule is exact there.
"""

from __future__ import annotations

import math
import time as clock
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from ..costs import cost_term
from ..domain import Roster, RosterInput
from ..options import Grid, ShiftOption, allowed_options, worked_shift
from .highs import new_highs

INF = math.inf
SLACK_PRICE = 1e4   # per unit of a summed rule the master breaks (only while it lacks columns)
PRIMAL_SIMPLEX = 4


# -- which sites ---------------------------------------------------------------------------------
def applies(data: RosterInput, options: list[ShiftOption]) -> bool:
    """Every term of the objective and every rule of the site is one the master and the pricing
    model: shift-demand cover only, at most one option per (day, template), rest between shifts
    that reaches no further than the next day, no fairness, change or start-time rules, no
    previous roster."""
    w, rules = data.weights, data.rules
    if data.requirements or not data.shift_requirements or data.previous_shifts or data.reference is not None:
        return False
    if w.fairness > 0 or rules.start_time_tolerance_minutes is not None:
        return False
    if any(t.breaks for t in data.templates):
        return False
    seen = set()
    for o in options:
        if (o.day, o.template) in seen:
            return False
        seen.add((o.day, o.template))
    return not _rest_reaches_two_days(data, options)


def _rest_reaches_two_days(data: RosterInput, options: list[ShiftOption]) -> bool:
    rest = max(data.rules.min_rest_hours * 60, 0.0)
    by_day = defaultdict(list)
    for o in options:
        by_day[o.day].append(o)
    return any((p.first - o.end_index) * o.step < rest for d, today in by_day.items() for o in today
               for p in by_day.get(d + 2, []))


# -- the site as arrays ----------------------------------------------------------------------------
@dataclass
class SummedRule:
    """One agent's rule that is a sum over its shifts: coefficient per (day, template) and per
    weekend worked, at most `rhs` (a minimum is kept as its negation)."""
    coef: np.ndarray     # (days, templates)
    weekend: float
    rhs: float
    name: str


class Site:
    """The arrays pricing and the master read: per agent the allowed (day, template) pairs, their
    own cost, and the summed rules; the cover rows; the transitions barred between days."""

    def __init__(self, data: RosterInput, grid: Grid, options: list[ShiftOption]):
        self.data, self.grid, self.options = data, grid, options
        self.days = len(grid.days)
        self.templates = [t.id for t in data.templates]
        self.t_index = {t: k for k, t in enumerate(self.templates)}
        self.n_t = len(self.templates)
        self.agents = list(data.agents)
        self.option_at = {(o.day, o.template): o for o in options}
        self.minutes = np.zeros((self.days, self.n_t))
        for o in options:
            self.minutes[o.day, self.t_index[o.template]] = o.paid_minutes
        self.banned = self._banned(data, options)
        self.saturday = np.array([day.weekday() == 5 for day in grid.days])
        self.sunday = np.array([day.weekday() == 6 for day in grid.days])
        # a Sunday counts a new weekend unless the day before it (in the horizon) is its Saturday
        self.new_sunday = np.array([day.weekday() == 6 and (d == 0 or not self.saturday[d - 1])
                                    for d, day in enumerate(grid.days)])
        self.rows = self._cover_rows(data)
        n_a = len(self.agents)
        self.allowed = np.zeros((n_a, self.days, self.n_t), bool)
        self.must_work = np.zeros((n_a, self.days), bool)
        self.own_cost = np.zeros((n_a, self.days, self.n_t))
        self.constant = np.zeros(n_a)
        self.run_max = np.zeros(n_a, int)
        self.work_min = np.zeros(n_a, int)
        self.off_min = np.zeros(n_a, int)
        self.summed: list[list[SummedRule]] = []
        for e, a in enumerate(self.agents):
            self._agent(e, a)

    def _banned(self, data, options) -> np.ndarray:
        """(days - 1, templates, templates): template t on day d may not be followed by t2 on d + 1."""
        rest = max(data.rules.min_rest_hours * 60, 0.0)
        out = np.zeros((max(self.days - 1, 0), self.n_t, self.n_t), bool)
        after = {t.id: set(t.not_followed_by) for t in data.templates}
        for (d, t), o in self.option_at.items():
            for t2 in self.templates:
                p = self.option_at.get((d + 1, t2))
                if p is not None and (t2 in after[t] or (p.first - o.end_index) * o.step < rest):
                    out[d, self.t_index[t], self.t_index[t2]] = True
        return out

    def _cover_rows(self, data):
        days = {day: d for d, day in enumerate(self.grid.days)}
        rows = []  # (day, template index, need, under, over)
        for r in data.shift_requirements:
            if r.day in days and r.template in self.t_index:
                rows.append((days[r.day], self.t_index[r.template], r.count, r.under_weight, r.over_weight))
        return rows

    def _agent(self, e: int, a) -> None:
        data, w = self.data, self.data.weights
        days = {day: d for d, day in enumerate(self.grid.days)}
        for o in allowed_options(data, a, self.options):
            k = self.t_index[o.template]
            self.allowed[e, o.day, k] = True
            if w.cost > 0:
                self.own_cost[e, o.day, k] += cost_term(o, a.cost_per_hour, w.cost)
        for day in a.unavailable_days:
            if day in days:
                self.allowed[e, days[day], :] = False
        for day, template in a.fixed.items():
            if day not in days:
                continue
            d = days[day]
            keep = self.allowed[e, d, self.t_index[template]] if template in self.t_index else False
            self.allowed[e, d, :] = False
            if template is not None:
                self.allowed[e, d, self.t_index[template]] = keep
                self.must_work[e, d] = True
        for p in a.preferences:
            d = days.get(p.day)
            if d is None or p.weight == 0:
                continue
            value = w.preference * p.weight
            hit = slice(None) if p.template is None else self.t_index.get(p.template)
            if hit is None:
                continue
            # as `colgen.schedule_cost` counts it: a wish with no template is a wish for the day off
            against = p.want == (p.template is None)
            if against:
                self.own_cost[e, d, hit] += value
            else:
                self.constant[e] += value
                self.own_cost[e, d, hit] -= value
        own = a.rules(data.rules)
        self.run_max[e] = min(own.max_consecutive_days, self.days)
        self.work_min[e] = own.min_consecutive_days
        self.off_min[e] = own.min_consecutive_days_off
        self.summed.append(self._summed_rules(e, a, own))

    def _summed_rules(self, e, a, own) -> list[SummedRule]:
        c, n = a.contract, self.days
        # paid time counted in shifts of the average length: coefficients of the order of the other rows'
        unit = float(self.minutes[self.minutes > 0].mean()) if (self.minutes > 0).any() else 60.0
        hours = self.minutes / unit
        ones = np.ones((n, self.n_t))
        out = []

        def rule(coef, rhs, name, weekend=0.0):
            coef = np.where(self.allowed[e], coef, 0.0)
            most = coef.clip(min=0).max(axis=1).sum() + max(weekend, 0.0) * n
            if most > rhs + 1e-9:  # a rule no schedule can break is left out
                out.append(SummedRule(coef, weekend, rhs, name))

        for s in range(0, n, 7):
            week = np.zeros((n, 1))
            week[s:s + 7] = 1.0
            rule(hours * week, math.floor(c.max_hours * 60 + 1e-9) / unit, f"week {s // 7} max hours")
            rule(ones * week, c.max_days, f"week {s // 7} max days")
            if s + 7 <= n:
                if c.min_hours > 0:
                    rule(-hours * week, -math.ceil(c.min_hours * 60 - 1e-9) / unit, f"week {s // 7} min hours")
                if c.min_days > 0:
                    rule(-ones * week, -c.min_days, f"week {s // 7} min days")
        if c.horizon_max_hours is not None:
            rule(hours, math.floor(c.horizon_max_hours * 60 + 1e-9) / unit, "horizon max hours")
        if c.horizon_min_hours is not None:
            rule(-hours, -math.ceil(c.horizon_min_hours * 60 - 1e-9) / unit, "horizon min hours")
        for t, cap in c.template_caps.items():
            if t in self.t_index:
                coef = np.zeros((n, self.n_t))
                coef[:, self.t_index[t]] = 1.0
                rule(coef, cap, f"cap {t}")
        if own.max_weekends is not None:
            rule(np.zeros((n, self.n_t)), own.max_weekends, "weekends", weekend=1.0)
        return out


# -- pricing: shortest paths over the days ---------------------------------------------------------
@dataclass(frozen=True)
class Schedule:
    agent: int
    days: tuple[int, ...]   # template index per day, -1 off


class Pricing:
    """Shortest schedules of every agent at once. States per agent and day: worked template t with
    a run of k days so far, or off with a rest of k days so far (counted up to the longest minimum
    rest), each flagged if its run began on the horizon's first day (exempt from the minimums)."""

    def __init__(self, site: Site):
        self.site = s = site
        self.K = int(max(s.run_max.max(initial=1), 1))
        self.M = int(max(s.off_min.max(initial=1), 1))
        k = np.arange(1, self.K + 1)
        m = np.arange(1, self.M + 1)
        self.work_ok = k[None, :] <= s.run_max[:, None]                        # (E, K) run length allowed
        self.work_ends = k[None, :] >= s.work_min[:, None]                     # (E, K) may stop here
        self.off_ends = m[None, :] >= np.minimum(s.off_min, self.M)[:, None]   # (E, M) may start work
        self.ban = np.where(s.banned, INF, 0.0)                                # (days - 1, T, T)

    def arc_costs(self, pi_cell: np.ndarray, y_cell: np.ndarray, agents=slice(None)) -> np.ndarray:
        """(agents, days, T): each agent's own cost of a shift less its cover and summed-rule duals;
        inf where not allowed."""
        s = self.site
        cost = s.own_cost[agents] - pi_cell[None] - y_cell
        return np.where(s.allowed[agents], cost, INF)

    def shortest(self, arcs: np.ndarray, weekend: np.ndarray, agents=None):
        """Per agent (of `agents`, default all): the cheapest schedule's value and the schedule.
        `arcs` (one row per agent listed) prices each (day, template), `weekend` each weekend worked."""
        s = self.site
        agents = np.arange(len(s.agents)) if agents is None else np.asarray(agents)
        work_ok, work_ends, off_ends = self.work_ok[agents], self.work_ends[agents], self.off_ends[agents]
        must = s.must_work[agents]
        E, T, K, M = len(agents), s.n_t, self.K, self.M
        W = np.full((E, T, K, 2), INF)
        R = np.full((E, M, 2), INF)
        sat_or_sun = s.saturday | s.sunday  # after a day off, working either day starts a weekend
        W[:, :, 0, 1] = arcs[:, 0, :] + np.where(sat_or_sun[0], weekend, 0.0)[:, None]
        R[:, 0, 1] = np.where(must[:, 0], INF, 0.0)
        history = [(W, R)]
        for d in range(1, s.days):
            W, R = self._step(W, R, d, arcs[:, d, :], weekend, work_ok, work_ends, off_ends, must[:, d], sat_or_sun)
            history.append((W, R))
        W, R = history[-1]
        best_w = W.reshape(E, -1).min(axis=1)
        best_o = R.reshape(E, -1).min(axis=1)
        values = np.minimum(best_w, best_o)
        schedules = [self._back(history, e, arcs[e], weekend[e], work_ok[e], work_ends[e], off_ends[e], must[e],
                                sat_or_sun) if math.isfinite(values[e]) else None for e in range(E)]
        return values, [Schedule(int(a), sch) if sch is not None else None for a, sch in zip(agents, schedules)]

    def _step(self, W, R, d, arc, weekend, work_ok, work_ends, off_ends, must, sat_or_sun):
        E, T, K, _ = W.shape
        extra_off = np.where(sat_or_sun[d], weekend, 0.0)          # a weekend begins with this shift
        # after a worked day only a Saturday starts one (or a Sunday whose Saturday is not in the horizon)
        extra_work = np.where(self.site.saturday[d] or self.site.new_sunday[d], weekend, 0.0)
        new_w = np.full_like(W, INF)
        if K > 1:
            cont = (W[:, :, None, :-1, :] + self.ban[d - 1][None, :, :, None, None]).min(axis=1)  # (E, T', K-1, 2)
            new_w[:, :, 1:, :] = cont + (arc + extra_work[:, None])[:, :, None, None]
        start = np.where(off_ends, R[:, :, 0], INF).min(axis=1)
        start = np.minimum(start, R[:, :, 1].min(axis=1))          # the rest began on day 0: exempt
        new_w[:, :, 0, 0] = start[:, None] + arc + extra_off[:, None]
        new_w = np.where(work_ok[:, None, :, None], new_w, INF)
        new_o = np.full_like(R, INF)
        stop = np.where(work_ends[:, None, :], W[:, :, :, 0], INF).reshape(E, -1).min(axis=1)
        stop = np.minimum(stop, W[:, :, :, 1].reshape(E, -1).min(axis=1))
        new_o[:, 0, 0] = stop
        new_o[:, 1:, :] = R[:, :-1, :]
        new_o[:, -1, :] = np.minimum(new_o[:, -1, :], R[:, -1, :])
        new_o[must] = INF
        return new_w, new_o

    def _back(self, history, e, arc, weekend, work_ok, work_ends, off_ends, must, sat_or_sun) -> tuple[int, ...]:
        """The schedule of agent e (its row in `history`) ending in its cheapest final state."""
        s = self.site
        W, R = history[-1]
        if W[e].min() <= R[e].min():
            state = ("w",) + np.unravel_index(int(np.argmin(W[e])), W[e].shape)
        else:
            state = ("o",) + np.unravel_index(int(np.argmin(R[e])), R[e].shape)
        out = []
        for d in range(s.days - 1, -1, -1):
            out.append(int(state[1]) if state[0] == "w" else -1)
            if d == 0:
                break
            Wp, Rp = history[d - 1]
            Wp, Rp = Wp[e], Rp[e]
            kind, a, b = state[0], int(state[1]), int(state[2]) if len(state) > 2 else None
            if kind == "w":
                t, k, flag = a, b, int(state[3])
                if k > 0:  # continued a run: from the template before it that may precede t
                    values = Wp[:, k - 1, flag] + self.ban[d - 1][:, t]
                    state = ("w", int(np.argmin(values)), k - 1, flag)
                else:  # began a run after rest
                    values = np.concatenate([np.where(off_ends, Rp[:, 0], INF), Rp[:, 1]])
                    j = int(np.argmin(values))
                    state = ("o", j % self.M, j // self.M)
            else:  # rest: the cheapest of the states it can follow (rest costs nothing)
                m, flag = a, b
                options = []
                if m == 0 and flag == 0:  # the first day of rest after a run of work
                    eligible = np.where(work_ends[None, :], Wp[:, :, 0], INF)
                    j = int(np.argmin(eligible))
                    t, k = np.unravel_index(j, eligible.shape)
                    options.append((eligible[t, k], ("w", int(t), int(k), 0)))
                    j = int(np.argmin(Wp[:, :, 1]))
                    t, k = np.unravel_index(j, Wp[:, :, 1].shape)
                    options.append((Wp[t, k, 1], ("w", int(t), int(k), 1)))
                if m >= 1:
                    options.append((Rp[m - 1, flag], ("o", m - 1, flag)))
                if m == self.M - 1:
                    options.append((Rp[m, flag], ("o", m, flag)))
                state = min(options, key=lambda v: v[0])[1]
        return tuple(reversed(out))


# -- the master and the loop -------------------------------------------------------------------------
@dataclass
class Column:
    agent: int
    days: tuple[int, ...]
    cost: float          # the agent's own terms (constant part of its wishes included)
    cover: np.ndarray    # cover rows it counts in (repeats allowed)
    usage: np.ndarray    # per summed rule of its agent


@dataclass
class Outcome:
    bound: float | None        # best Lagrangian bound (valid lower bound on the objective)
    lp_value: float | None
    iterations: int
    converged: bool
    seconds: float


class DayShiftColumns:
    """Column generation for a day-shift site (see the module's docstring); `run` prices until
    converged or out of time, `bound` is the best proven so far, `roster` picks one column each."""

    def __init__(self, data: RosterInput, grid: Grid, options: list[ShiftOption]):
        self.site = Site(data, grid, options)
        self.pricing = Pricing(self.site)
        s = self.site
        self.cell_rows = defaultdict(list)  # (day, template index) -> cover rows
        for r, (d, t, *_rest) in enumerate(s.rows):
            self.cell_rows[d, t].append(r)
        self.need = np.array([r[2] for r in s.rows], float)
        self.under = np.array([r[3] for r in s.rows], float)
        self.over = np.array([r[4] for r in s.rows], float)
        self.n_cover = len(s.rows)
        self.n_agents = len(s.agents)
        self.rule_row = []  # per agent: first row index of its summed rules
        row = self.n_cover + self.n_agents
        for rules in s.summed:
            self.rule_row.append(row)
            row += len(rules)
        self.n_rows = row
        self.columns: list[Column] = []
        self.position: dict[tuple, int] = {}  # (agent, days) -> index in columns
        self.h = None
        self.bound: float | None = None
        self.lp_value: float | None = None
        self.integral = data.weights.cost == 0 or float(data.weights.cost).is_integer()

    # -- columns ---------------------------------------------------------------------------------
    def column(self, schedule: Schedule) -> Column:
        s, e = self.site, schedule.agent
        cover, cost = [], s.constant[e]
        for d, t in enumerate(schedule.days):
            if t >= 0:
                cost += s.own_cost[e, d, t]
                cover.extend(self.cell_rows.get((d, t), []))
        weekends = self._weekends(schedule.days)
        usage = np.array([sum(r.coef[d, t] for d, t in enumerate(schedule.days) if t >= 0) + r.weekend * weekends
                          for r in s.summed[e]])
        return Column(e, schedule.days, float(cost), np.asarray(cover, np.int64), usage)

    def _weekends(self, days: tuple[int, ...]) -> int:
        s = self.site
        count = 0
        for d, t in enumerate(days):
            if t < 0:
                continue
            if s.saturday[d] or s.new_sunday[d]:
                count += 1
            elif d > 0 and s.saturday[d - 1] and days[d - 1] < 0:  # Sunday after a Saturday off
                count += 1
        return count

    def add(self, column: Column) -> bool:
        key = (column.agent, column.days)
        if key in self.position:
            return False
        self.position[key] = len(self.columns)
        self.columns.append(column)
        if self.h is not None:
            self._add_to_lp([column])
        return True

    def seed(self, roster: Roster) -> list[int]:
        """Each agent's schedule in `roster` as a column (a roster the master holds from the start);
        the positions of those columns."""
        s = self.site
        days = {day: d for d, day in enumerate(s.grid.days)}
        by_agent = {a.id: [-1] * s.days for a in s.agents}
        for sh in roster.shifts:
            if sh.agent in by_agent and sh.day in days and sh.template in s.t_index:
                by_agent[sh.agent][days[sh.day]] = s.t_index[sh.template]
        picked = []
        for e, a in enumerate(s.agents):
            column = self.column(Schedule(e, tuple(by_agent[a.id])))
            self.add(column)
            picked.append(self.position[column.agent, column.days])
        return picked

    # -- the master LP ---------------------------------------------------------------------------
    def _build_lp(self) -> None:
        from highspy import HighsModelStatus  # noqa: F401 (import check: highspy is there)

        h = self.h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        s = self.site
        lower = np.concatenate([self.need, np.ones(self.n_agents),
                                np.full(self.n_rows - self.n_cover - self.n_agents, -np.inf)])
        upper = np.concatenate([self.need, np.ones(self.n_agents),
                                np.array([r.rhs for rules in s.summed for r in rules])])
        empty = np.zeros(0, np.int32)
        h.addRows(self.n_rows, lower, upper, 0, empty, empty, np.zeros(0))
        n = self.n_cover
        idx = np.arange(n, dtype=np.int32)
        for cost, sign in ((self.under, 1.0), (self.over, -1.0)):
            h.addCols(n, cost, np.zeros(n), np.full(n, np.inf), n, idx, idx, np.full(n, sign))
        k = self.n_rows - self.n_cover - self.n_agents
        rules_idx = np.arange(self.n_cover + self.n_agents, self.n_rows, dtype=np.int32)
        h.addCols(k, np.full(k, SLACK_PRICE), np.zeros(k), np.full(k, np.inf), k, np.arange(k, dtype=np.int32),
                  rules_idx, np.full(k, -1.0))
        self.first_column = 2 * n + k
        self._add_to_lp(self.columns)

    def _add_to_lp(self, columns: list[Column]) -> None:
        if not columns:
            return
        starts, index, values = [], [], []
        for c in columns:
            rows, times = np.unique(c.cover, return_counts=True)
            starts.append(len(index))
            index.extend(rows.tolist() + [self.n_cover + c.agent])
            values.extend(times.astype(float).tolist() + [1.0])
            first = self.rule_row[c.agent]
            for j, u in enumerate(c.usage):
                if u != 0:
                    index.append(first + j)
                    values.append(float(u))
        k = len(columns)
        self.h.addCols(k, np.array([c.cost for c in columns]), np.zeros(k), np.full(k, np.inf), len(index),
                       np.array(starts, np.int32), np.array(index, np.int32), np.array(values, float))

    def solve_lp(self):
        from highspy import HighsModelStatus

        if self.h is None:
            self._build_lp()
        self.h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)  # new columns keep the basis primal feasible
        self.h.run()
        if self.h.getModelStatus() != HighsModelStatus.kOptimal:
            raise RuntimeError(f"master LP: {self.h.modelStatusToString(self.h.getModelStatus())}")
        sol = self.h.getSolution()
        return self.h.getInfo().objective_function_value, np.asarray(sol.row_dual), \
            np.asarray(sol.col_value)[self.first_column:]

    # -- pricing -------------------------------------------------------------------------------------
    def price(self, duals: np.ndarray):
        """(Lagrangian bound, each agent's cheapest schedule and its reduced value less the agent's
        convexity dual) at `duals` clipped to where the bound holds."""
        s = self.site
        pi = np.clip(duals[:self.n_cover], -self.over, self.under)
        pi_cell = np.zeros((s.days, s.n_t))
        for r, (d, t, *_rest) in enumerate(s.rows):
            pi_cell[d, t] += pi[r]
        y_cell = np.zeros((self.n_agents, s.days, s.n_t))
        weekend = np.zeros(self.n_agents)
        rhs_term = 0.0
        for e, rules in enumerate(s.summed):
            first = self.rule_row[e]
            for j, r in enumerate(rules):
                y = min(max(duals[first + j], -SLACK_PRICE), 0.0)  # a <= row of a minimisation
                y_cell[e] += y * r.coef
                weekend[e] -= y * r.weekend
                rhs_term += y * r.rhs
        arcs = self.pricing.arc_costs(pi_cell, y_cell)
        values, schedules = self.pricing.shortest(arcs, weekend)
        if not np.isfinite(values).all():
            raise Infeasible("an agent has no schedule that keeps its sequence rules")
        bound = float(pi @ self.need) + rhs_term + float((values + s.constant).sum())
        return bound, values + s.constant, schedules

    def reduced_cost(self, c: Column, duals: np.ndarray) -> float:
        first = self.rule_row[c.agent]
        rules = duals[first:first + len(c.usage)]
        return c.cost - float(duals[c.cover].sum()) - float(rules @ c.usage) - float(duals[self.n_cover + c.agent])

    def run(self, seconds: float, roster: Roster | None = None, alpha: float = 0.5,
            tolerance: float = 1e-6) -> Outcome:
        """Price and solve the master for up to `seconds` (wall clock), or until nothing prices out.
        `roster` (valid) seeds the master with its schedules, so its duals mean something from the
        first round. Pricing is at the duals smoothed towards those of the best bound so far
        (Wentges, weight `alpha`): the LP's own duals swing from round to round and each round's
        columns then serve only that round."""
        began = clock.perf_counter()
        if roster is not None:
            self.seed(roster)
        first = np.concatenate([np.where(self.need > 0, self.under, 0.0), np.zeros(self.n_rows - self.n_cover)])
        _, _, schedules = self.price(first)
        for sch in schedules:
            self.add(self.column(sch))
        iterations, converged, center = 0, False, None
        while clock.perf_counter() - began < seconds:
            lp, duals, _ = self.solve_lp()
            self.lp_value = lp
            point = duals if center is None else alpha * center + (1 - alpha) * duals
            bound, _, schedules = self.price(point)
            iterations += 1
            if self.bound is None or bound > self.bound:
                self.bound, center = bound, point
            gap = tolerance * max(1.0, abs(lp))
            added = sum(self.reduced_cost(c, duals) < -gap and self.add(c)
                        for c in (self.column(sch) for sch in schedules))
            if self.bound >= lp - gap:
                converged = True
                break
            if not added:
                if center is None or point is duals:
                    converged = True  # nothing prices out at the LP's own duals: the LP is optimal
                    break
                center = None  # nothing new at the smoothed point: price at the LP's duals next
        return Outcome(self.proven(), self.lp_value, iterations, converged, clock.perf_counter() - began)

    def lagrangian(self, seconds: float, upper, patience: int = 8, keep: int = 30) -> float | None:
        """Subgradient ascent on the Lagrangian dual (cover rows and summed rules dualised, each
        agent's cheapest schedule by the shortest path): a bound each step, no LP to solve, so it
        climbs where the master LP is too slow to re-solve (150 employees x 56 days: seconds a
        round). Polyak steps towards `upper` (any roster's objective, or a callable giving the best
        known as it improves), halved after `patience`
        steps without a better bound. The schedules of the `keep` steps of the best bounds become
        columns of the master (for `roster`): near the dual optimum, schedules that fit together.
        Returns the best bound, rounded up where the objective is integral (also kept in `bound`)."""
        began = clock.perf_counter()
        s = self.site
        duals = np.concatenate([np.where(self.need > 0, self.under, 0.0), np.zeros(self.n_rows - self.n_cover)])
        rule_rows = [(e, self.rule_row[e] + j, r) for e, rules in enumerate(s.summed) for j, r in enumerate(rules)]
        rhs = np.array([r.rhs for _, _, r in rule_rows])
        rule_index = np.array([k for _, k, _ in rule_rows], dtype=np.int64)
        theta, stale, kept = 1.0, 0, []
        while clock.perf_counter() - began < seconds:
            bound, _, schedules = self.price(duals)
            if self.bound is None or bound > self.bound + 1e-9:
                self.bound, stale = bound, 0
            else:
                stale += 1
                if stale >= patience:
                    theta, stale = theta / 2, 0
            columns = [self.column(sch) for sch in schedules]
            kept.append((bound, columns))
            if len(kept) > 4 * keep:
                kept = sorted(kept, key=lambda k: -k[0])[:keep]
            count = np.zeros(self.n_cover)
            for c in columns:
                np.add.at(count, c.cover, 1.0)
            usage = np.concatenate([c.usage for c in columns]) if rule_rows else np.zeros(0)
            g_cover = self.need - count
            g_rules = usage - rhs  # ascent on the multiplier -y of each <= row
            pi = duals[:self.n_cover]
            g_cover = np.where((pi >= self.under - 1e-12) & (g_cover > 0) | (pi <= -self.over + 1e-12) & (g_cover < 0),
                               0.0, g_cover)
            y = duals[rule_index]
            g_rules = np.where((y >= -1e-12) & (g_rules < 0), 0.0, g_rules)
            norm = float(g_cover @ g_cover + g_rules @ g_rules)
            if norm == 0 or theta < 1e-4:
                break  # the schedules meet every dualised row: nothing to climb
            target = upper() if callable(upper) else upper
            step = theta * max(target - bound, 1e-6 * max(1.0, abs(target))) / norm
            duals[:self.n_cover] = np.clip(pi + step * g_cover, -self.over, self.under)
            duals[rule_index] = np.clip(y - step * g_rules, -SLACK_PRICE, 0.0)
        for _, columns in sorted(kept, key=lambda k: -k[0])[:keep]:
            for c in columns:
                self.add(c)
        return self.proven()

    def proven(self) -> float | None:
        """The best bound, rounded up where the objective is integral."""
        if self.bound is None:
            return None
        value = max(self.bound, 0.0)  # every term is non-negative
        return float(math.ceil(value - 1e-6 * max(1.0, abs(value)))) if self.integral else value

    # -- a roster from the columns ---------------------------------------------------------------
    def roster(self, seconds: float, seed: int = 0, start: Roster | None = None) -> Roster | None:
        """The integer master over the columns found: one column per agent (every summed rule exact
        for it), cover slack at its weights; HiGHS's MIP for up to `seconds`, from `start` (a valid
        roster, whose schedules join the columns) if given. None if it finds none."""
        from highspy import HighsModelStatus, HighsVarType

        picked = self.seed(start) if start is not None else []
        if self.h is None:
            self._build_lp()
        h = self.h
        k = self.n_rows - self.n_cover - self.n_agents
        slack = np.arange(2 * self.n_cover, 2 * self.n_cover + k, dtype=np.int32)
        h.changeColsBounds(k, slack, np.zeros(k), np.zeros(k))
        n = len(self.columns)
        cols = np.arange(self.first_column, self.first_column + n, dtype=np.int32)
        h.changeColsIntegrality(n, cols, np.array([HighsVarType.kInteger] * n))
        h.setOptionValue("time_limit", h.getRunTime() + float(max(seconds, 0.1)))  # HiGHS's clock runs on
        h.setOptionValue("random_seed", int(seed) % 2**31)
        h.setOptionValue("mip_rel_gap", 1e-4)
        if picked:  # after the integrality change, which would drop it
            values = np.zeros(n)
            values[picked] = 1.0
            h.setSolution(n, cols, values)
        try:
            h.run()
            status = h.getModelStatus()
            solved = h.getInfo().primal_solution_status
            x = np.asarray(h.getSolution().col_value)[self.first_column:] if solved else None
        finally:  # back to the LP, so pricing may go on
            h.changeColsIntegrality(n, cols, np.array([HighsVarType.kContinuous] * n))
            h.changeColsBounds(k, slack, np.zeros(k), np.full(k, np.inf))
            h.setOptionValue("time_limit", np.inf)
        if x is None or status == HighsModelStatus.kInfeasible:
            return None
        chosen = {}
        for j in np.flatnonzero(x > 0.5):
            chosen.setdefault(self.columns[j].agent, self.columns[j])
        return self.roster_of(chosen)

    def roster_of(self, chosen: dict[int, Column]) -> Roster:
        s = self.site
        tmpl = {t.id: t for t in s.data.templates}
        shifts = []
        for e, c in sorted(chosen.items()):
            for d, t in enumerate(c.days):
                if t >= 0:
                    o = s.option_at[d, s.templates[t]]
                    shifts.append(worked_shift(s.agents[e].id, o, s.grid, tmpl[o.template], (), ()))
        return Roster(shifts=shifts)


def reoptimise(gen: DayShiftColumns, roster: Roster, seconds: float, seed: int = 0, rounds: int = 3,
               stop=None) -> tuple[Roster, float]:
    """Agent by agent, in a seeded random order until `seconds` run out (or `stop()` says so): the
    agent's whole schedule re-chosen against the others as they are, by the shortest path, where
    each (day, template) is worth exactly what it changes in the cover penalty (its under weight
    while the others leave it short, else its over weight). The agent's summed rules are priced by
    multipliers raised while the path breaks them (`_best_schedule`, `rounds` batches); a schedule replaces the
    agent's only if it keeps every rule and lowers the objective. Returns the roster and the total
    change of the objective (negative: better)."""
    began = clock.perf_counter()
    s, pricing = gen.site, gen.pricing
    rng = np.random.default_rng(seed)
    current = _schedules(s, roster)
    count = np.zeros(gen.n_cover)
    for e in range(len(s.agents)):
        for r in _rows_of(gen, current[e]):
            count[r] += 1
    change, improved = 0.0, True
    while improved and clock.perf_counter() - began < seconds:
        improved = False
        for e in rng.permutation(len(s.agents)):
            if clock.perf_counter() - began >= seconds or (stop is not None and stop()):
                return _roster_from(gen, current), change
            mine = _rows_of(gen, current[e])
            np.subtract.at(count, mine, 1.0)
            value = np.where(count < gen.need, -gen.under, gen.over)  # what one more shift there changes
            cell = np.zeros((s.days, s.n_t))
            for r, (d, t, *_rest) in enumerate(s.rows):
                cell[d, t] += value[r]
            now = gen.column(Schedule(int(e), current[e]))
            now_value = now.cost + float(value[mine].sum())
            best = _best_schedule(gen, pricing, int(e), cell, rounds)
            if best is not None and best[1] < now_value - 1e-9:
                current[e] = best[0]
                change += best[1] - now_value
                improved = True
            np.add.at(count, _rows_of(gen, current[e]), 1.0)
    return _roster_from(gen, current), change


# Multipliers tried at once on an agent's broken summed rules, per unit of the rule, as shares of the
# largest cover weight (which one shift more or less is worth at most).
SCALES = np.array([0.0, 0.01, 0.03, 0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.5, 2.5, 5.0])


def _best_schedule(gen, pricing, e, cell, rounds):
    """The cheapest schedule of agent e that keeps its summed rules among those the multiplier
    search meets: (days, value) or None. First the path alone; then, on the rules it breaks, every
    multiplier of `SCALES` at once (one batched shortest path), the rules broken at the largest
    joining them, for up to `rounds` batches."""
    s = gen.site
    rules = s.summed[e]
    coef = np.array([r.coef for r in rules]) if rules else np.zeros((0, s.days, s.n_t))
    weekend = np.array([r.weekend for r in rules])
    rhs = np.array([r.rhs for r in rules])
    top = float(np.abs(cell).max(initial=1.0))
    active = np.zeros(len(rules), bool)
    best = None
    for k in range(max(rounds, 1)):
        scales = SCALES[:1] if k == 0 else SCALES[1:] * top
        mult = scales[:, None] * active[None, :]                                   # (B, rules)
        y_cell = -np.tensordot(mult, coef, axes=1) if len(rules) else np.zeros((len(scales), s.days, s.n_t))
        arcs = pricing.arc_costs(-cell, y_cell, agents=np.full(len(scales), e))
        _, schedules = pricing.shortest(arcs, mult @ weekend if len(rules) else np.zeros(len(scales)),
                                        agents=np.full(len(scales), e))
        broken_at_most = np.zeros(len(rules), bool)
        for b, schedule in enumerate(schedules):
            if schedule is None:
                continue
            column = gen.column(schedule)
            broken = column.usage > rhs + 1e-9
            if b == len(schedules) - 1:
                broken_at_most = broken
            if not broken.any():
                worked = [(d, t) for d, t in enumerate(column.days) if t >= 0]
                value = column.cost + float(sum(cell[d, t] for d, t in worked))
                if best is None or value < best[1]:
                    best = (column.days, value)
        if k == 0 and best is not None:
            return best  # the path keeps every rule by itself: it is the best there is
        grown = active | broken_at_most
        if k > 0 and (grown == active).all():
            break
        active = grown
    return best


def _schedules(site: Site, roster: Roster) -> list[tuple[int, ...]]:
    days = {day: d for d, day in enumerate(site.grid.days)}
    out = {a.id: [-1] * site.days for a in site.agents}
    for sh in roster.shifts:
        if sh.agent in out and sh.day in days and sh.template in site.t_index:
            out[sh.agent][days[sh.day]] = site.t_index[sh.template]
    return [tuple(out[a.id]) for a in site.agents]


def _rows_of(gen: DayShiftColumns, days: tuple[int, ...]) -> list[int]:
    return [r for d, t in enumerate(days) if t >= 0 for r in gen.cell_rows.get((d, t), [])]


def _roster_from(gen: DayShiftColumns, schedules: list[tuple[int, ...]]) -> Roster:
    return gen.roster_of({e: Column(e, days, 0.0, np.zeros(0, np.int64), np.zeros(0))
                          for e, days in enumerate(schedules)})


class Infeasible(Exception):
    """Some agent has no schedule keeping its own sequence rules."""
