"""A lower bound on the roster objective from one linear program (HiGHS), for sites where column
generation cannot converge within the time limit.

Agents identical in everything the model reads form a group (as in column generation); the LP
counts, per group, how many of its agents work each shift option, take each break position and
stand on each queue in each interval, as non-negative reals. Every agent-level rule is summed over
the group's agents, which any real roster satisfies too, so every roster is a point of this LP
and its optimum bounds the objective from below:

* at most one shift a day per agent, so at most |g| shifts of the group a day;
* rest: the model's per-agent clique (shifts ending late on day d, shifts starting too early on a
  later day) summed over the group is at most |g|;
* weekly and horizon hours and days, template caps, max consecutive days: the agent's limit
  times |g|;
* each whole week: |g| paths through (paid time, days worked) so far, one agent's week each, so
  the group's hours are sums of weeks an agent can really work;
* breaks: per (day, template, break rule), as many break starts as shifts, each start allowed only
  where one of those shifts has it in its window; on-break time comes off on-queue time;
* coverage: on-queue agents per queue and interval with under/over slack, as in the model; shift
  demand per (day, template) likewise.

Costs, preferences and shift demand are linear in the counts; fairness and change penalties are
non-negative and left out, which keeps the bound valid. Intervals are chained as running sums
(present(i) = present(i-1) + starting(i) - ending(i)) so each row has a handful of entries.
"""

from __future__ import annotations

import math
import time as clock
import warnings
from collections import defaultdict

import numpy as np
from scipy.optimize import linprog
from scipy.sparse import coo_matrix

from ..costs import cost_term
from ..domain import RosterInput
from ..options import Grid, ShiftOption, allowed_options


class _LP:
    """Rows and columns of a sparse LP, added as we go."""

    def __init__(self):
        self.cost: list[float] = []
        self.upper: list[float] = []
        self.rows, self.cols, self.vals = [], [], []
        self.eq_rhs: list[float] = []
        self.le_rhs: list[float] = []
        self.le_rows, self.le_cols, self.le_vals = [], [], []

    def var(self, cost: float = 0.0, upper: float | None = None) -> int:
        self.cost.append(cost)
        self.upper.append(np.inf if upper is None else upper)
        return len(self.cost) - 1

    def eq(self, terms: list[tuple[int, float]], rhs: float) -> None:
        r = len(self.eq_rhs)
        for j, v in terms:
            self.rows.append(r), self.cols.append(j), self.vals.append(v)
        self.eq_rhs.append(rhs)

    def le(self, terms: list[tuple[int, float]], rhs: float) -> None:
        r = len(self.le_rhs)
        for j, v in terms:
            self.le_rows.append(r), self.le_cols.append(j), self.le_vals.append(v)
        self.le_rhs.append(rhs)

    def solve(self, seconds: float) -> tuple[float, np.ndarray] | None:
        """(optimum, column values) by HiGHS' interior point without crossover, or None if it did
        not finish in time. No vertex is needed: only the value (a bound) and the counts (a guide
        for the greedy), and crossover took more than half the time (200 agents: 25 s -> 11 s, the
        same bound; 1,000 agents: 18.5 s -> 11.4 s). If it ends without a verdict ("unknown", seen
        on a week with no demand at all), the simplex method decides in the time left. SciPy's own
        copy of HiGHS, not highspy's: this solve runs in a thread beside column generation's and
        the day re-plan's highspy models (threads=1), and highspy's instances share one task
        scheduler, which fails a threads=1 solve once another instance started it with more."""
        n = len(self.cost)
        a_eq = coo_matrix((self.vals, (self.rows, self.cols)), shape=(len(self.eq_rhs),
                                                                      n)).tocsc() if self.eq_rhs else None
        a_ub = coo_matrix((self.le_vals, (self.le_rows, self.le_cols)), shape=(len(self.le_rhs), n)).tocsc() \
            if self.le_rhs else None
        began = clock.perf_counter()
        for method, extra in (("highs-ipm", {"run_crossover": "off"}), ("highs-ds", {})):
            left = seconds - (clock.perf_counter() - began)
            if left <= 0:
                return None
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message="Unrecognized options")  # passed to HiGHS as they are
                res = linprog(self.cost, A_ub=a_ub, b_ub=self.le_rhs or None, A_eq=a_eq, b_eq=self.eq_rhs or None,
                              bounds=list(zip([0.0] * n, self.upper)), method=method,
                              options={"time_limit": max(left, 1.0), "presolve": True, **extra})
            if res.status == 0:
                return float(res.fun), np.asarray(res.x)
        return None


def lower_bound(data: RosterInput, grid: Grid, options: list[ShiftOption], groups: list[list],
                seconds: float) -> tuple[float | None, list[dict[int, float]]]:
    """The LP's optimum rounded up (the objective is integral; None if HiGHS did not finish in
    time), and per group how many of its agents work each shift option in the LP optimum (a
    fractional roster with the right shape, which `greedy.greedy_roster` given it as a guide turns into a
    real one)."""
    lp = _LP()
    step, n_days = grid.minutes, len(grid.days)
    queues = [r.queue for r in data.requirements]
    templates = {t.id: t for t in data.templates}
    w = data.weights
    staffed: dict[tuple[int, int], list[tuple[int, float]]] = defaultdict(list)   # (queue, i) -> terms
    shift_count: dict[tuple[int, str], list[tuple[int, float]]] = defaultdict(list)
    rest = max(data.rules.min_rest_hours * 60, 0.0)
    constant, ys = 0.0, []
    by_skills: dict[tuple, dict] = {}  # agents' queues -> their shift variables (summed over groups)
    for agents in groups:
        a, size = agents[0], float(len(agents))
        own, c = a.rules(data.rules), a.contract
        opts = [o for o in allowed_options(data, a, options) if grid.days[o.day] not in a.unavailable_days
                and a.fixed.get(grid.days[o.day], o.template) == o.template]
        y = {o.index: lp.var(_option_cost(data, a, o, w, cost_term)) for o in opts}
        ys.append(y)
        by_day = defaultdict(list)
        for o in opts:
            by_day[o.day].append(o)
            shift_count[o.day, o.template].append((y[o.index], 1.0))
        for d in range(n_days):
            if by_day[d]:
                lp.le([(y[o.index], 1.0) for o in by_day[d]], size)
        constant += _preferences(lp, data, a, by_day, y, grid, size)
        _week_limits(lp, c, by_day, y, size, n_days)
        _week_paths(lp, c, by_day, y, size, n_days)
        _consecutive(lp, own.max_consecutive_days, by_day, y, size, n_days)
        for t_id, cap in c.template_caps.items():
            uses = [(y[o.index], 1.0) for o in opts if o.template == t_id]
            if uses and cap < len(uses):
                lp.le(uses, cap * size)
        _rest(lp, by_day, y, size, rest, step, templates, n_days)
        if queues:
            skills = tuple(queues.index(q) for q in a.skills if q in queues)
            pool = by_skills.setdefault(skills, {"size": 0.0, "shifts": []})
            pool["size"] += size
            pool["shifts"] += [(o, y[o.index]) for o in opts]
    for skills, pool in by_skills.items():
        _on_queue(lp, skills, pool["shifts"], pool["size"], grid, templates, staffed)
    for qi, req in enumerate(data.requirements):
        for i, need in enumerate(req.agents):
            need = math.ceil(need - 1e-9)
            under = req.under_weights[i] if req.under_weights is not None else w.under
            u, v = lp.var(under), lp.var(w.over)
            lp.eq(staffed.get((qi, i), []) + [(u, 1.0), (v, -1.0)], need)
    days = {day: d for d, day in enumerate(grid.days)}
    for r in data.shift_requirements:
        if r.day in days:
            u, v = lp.var(r.under_weight), lp.var(r.over_weight)
            lp.eq(shift_count.get((days[r.day], r.template), []) + [(u, 1.0), (v, -1.0)], r.count)
    solved = lp.solve(seconds)
    if solved is None:
        return None, []
    value, x = solved[0] + constant, solved[1]
    counts = [{oi: float(x[j]) for oi, j in y.items() if x[j] > 1e-6} for y in ys]
    return float(math.ceil(value - 1e-6 * max(1.0, abs(value)))), counts


def _option_cost(data, a, o, w, cost_term) -> float:
    return float(cost_term(o, a.cost_per_hour, w.cost)) if w.cost > 0 else 0.0


def _preferences(lp, data, a, by_day, y, grid, size: float) -> float:
    """Every agent of the group has the same wishes, so their penalties are linear in the counts:
    a wish against working (a day off wanted, a template not wanted) costs its weight per shift;
    a wish to work (a template wanted, a day not wanted off) costs its weight per agent, minus its
    weight per shift that grants it. Returns the constant part."""
    days = {day: d for d, day in enumerate(grid.days)}
    weight, constant = data.weights.preference, 0.0
    for p in a.preferences:
        d = days.get(p.day)
        if d is None or p.weight == 0:
            continue
        value = weight * p.weight
        hit = [o for o in by_day[d] if p.template is None or o.template == p.template]
        against = p.want == (p.template is None)
        if not against:
            constant += value * size
        for o in hit:
            lp.cost[y[o.index]] += value if against else -value
    return constant


def _week_limits(lp, c, by_day, y, size, n_days):
    for w0 in range(0, n_days, 7):
        week = [o for d in range(w0, min(w0 + 7, n_days)) for o in by_day[d]]
        if not week:
            continue
        paid = [(y[o.index], float(o.paid_minutes)) for o in week]
        count = [(y[o.index], 1.0) for o in week]
        lp.le(paid, math.floor(c.max_hours * 60 + 1e-9) * size)
        lp.le(count, c.max_days * size)
        if w0 + 7 <= n_days:
            if c.min_hours > 0:
                lp.le([(j, -v) for j, v in paid], -math.ceil(c.min_hours * 60 - 1e-9) * size)
            if c.min_days > 0:
                lp.le([(j, -v) for j, v in count], -c.min_days * size)
    every = [o for d in range(n_days) for o in by_day[d]]
    total = [(y[o.index], float(o.paid_minutes)) for o in every]
    if c.horizon_max_hours is not None:
        lp.le(total, math.floor(c.horizon_max_hours * 60 + 1e-9) * size)
    if c.horizon_min_hours is not None:
        lp.le([(j, -v) for j, v in total], -math.ceil(c.horizon_min_hours * 60 - 1e-9) * size)


# A week's paths are skipped past this many arcs (paid time counted finely over many lengths).
PATH_ARCS_LIMIT = 50_000


def _week_paths(lp, c, by_day, y, size, n_days):
    """Each whole week of an agent is a path a day at a time through (paid time so far, days worked
    so far) that ends within the contract's weekly limits, so the group's agents are |g| units of
    flow along such paths; the arcs of day d for paid length L carry the group's shifts of that
    length on d. The summed limits alone let a group mix fractions of shifts into hours no agent
    can work (contract 11-12 h of 4- and 6-hour shifts: 11 h in the sum, 12 h for any agent);
    200 agents: bound 109,840 -> 110,148."""
    for w0 in range(0, n_days - 6, 7):
        days = range(w0, w0 + 7)
        lengths = {o.paid_minutes for d in days for o in by_day[d]} - {0}
        if not lengths:
            continue
        unit = max(math.gcd(*lengths), 1)
        top = math.floor(c.max_hours * 60 + 1e-9) // unit
        low = -(-math.ceil(c.min_hours * 60 - 1e-9) // unit)
        # unpaid shifts take no path step: left out, they are only freer (the bound stays a bound)
        steps = [sorted({o.paid_minutes // unit for o in by_day[d]} - {0}) for d in days]
        states = _path_states(steps, top, low, c.min_days, c.max_days)
        if states is None or sum(len(s) * (1 + len(st)) for s, st in zip(states, steps)) > PATH_ARCS_LIMIT:
            continue  # no path at all (the summed limits say the rest) or too many arcs
        inflow = {(0, 0): []}
        for j, d in enumerate(days):
            arriving, arcs_of = defaultdict(list), defaultdict(list)
            for h, k in states[j]:
                leaving = []
                for s in [0] + steps[j]:
                    target = (h + s, k + (s > 0))
                    if target in states[j + 1]:
                        arc = lp.var()
                        leaving.append((arc, 1.0))
                        arriving[target].append((arc, -1.0))
                        if s:
                            arcs_of[s].append((arc, 1.0))
                lp.eq(leaving + inflow[h, k], size if (h, k) == (0, 0) and j == 0 else 0.0)
            for s, arcs in arcs_of.items():
                lp.eq(arcs + [(y[o.index], -1.0) for o in by_day[d] if o.paid_minutes // unit == s], 0.0)
            inflow = arriving


def _path_states(steps, top, low, min_days, max_days) -> list[set] | None:
    """Per day of the week, the (paid units, days worked) states on some path from (0, 0) that
    ends with low..top units and min_days..max_days days; None if there is none."""
    reach = [{(0, 0)}]
    for day in steps:
        reach.append({(h + s, k + 1) for h, k in reach[-1] for s in day if k < max_days and h + s <= top}
                     | reach[-1])
    alive = [set() for _ in reach]
    alive[-1] = {(h, k) for h, k in reach[-1] if h >= low and k >= min_days}
    for j in range(len(steps) - 1, -1, -1):
        alive[j] = {(h, k) for h, k in reach[j]
                    if (h, k) in alive[j + 1] or any((h + s, k + 1) in alive[j + 1] for s in steps[j])}
    return alive if (0, 0) in alive[0] else None


def _consecutive(lp, limit, by_day, y, size, n_days):
    for s in range(n_days - limit):
        window = [(y[o.index], 1.0) for d in range(s, s + limit + 1) for o in by_day[d]]
        if window:
            lp.le(window, limit * size)


def _rest(lp, by_day, y, size, rest, step, templates, n_days):
    longest = max(t.length_minutes for t in templates.values())
    reach = 1 + math.ceil((longest + rest) / (24 * 60))
    for d in range(n_days):
        today = by_day[d]
        for later in range(d + 1, min(d + reach, n_days - 1) + 1):
            previous = None
            for end in sorted({o.end_index for o in today}):
                clash = [o.index for o in by_day[later] if (o.first - end) * step < rest]
                if not clash:
                    continue
                ending = [o.index for o in today if o.end_index >= end]
                if (ending, clash) != previous:
                    lp.le([(y[i], 1.0) for i in ending + clash], size)
                    previous = (ending, clash)


def _on_queue(lp, skills, shifts, size, grid, templates, staffed):
    """Working minus on-break per interval for all agents with these queues (any group), split over
    the queues. Break starts are counted per (day, template, break rule): as many as shifts there,
    at any start position one of those shifts allows (the exact window per start is relaxed: the
    LP then needs a row per break slot, not per position)."""
    n = grid.size
    if not skills:
        return
    delta = defaultdict(list)  # interval -> (+y at start, -y at end) terms of the running sum
    breaks = defaultdict(list)  # interval -> break-start variables covering it
    by_slot = defaultdict(list)
    for o, var in shifts:
        last = min(o.end_index, n)
        if o.first < last:
            delta[o.first].append((var, 1.0))
            delta[last].append((var, -1.0))
        by_slot[o.day, o.template].append((o, var))
    for (d, t), slot in by_slot.items():
        for k in range(len(templates[t].breaks)):
            length = slot[0][0].breaks[k].length
            positions = sorted({p for o, _ in slot for p in range(o.breaks[k].earliest, o.breaks[k].latest + 1)})
            starts = [lp.var() for _ in positions]
            lp.eq([(b, 1.0) for b in starts] + [(var, -1.0) for _, var in slot], 0.0)
            for p, b in zip(positions, starts):
                for i in range(p, min(p + length, n)):
                    breaks[i].append(b)
    present = None
    for i in range(min(delta, default=n), n):
        if delta.get(i):
            var = lp.var(upper=size)
            lp.eq([(var, 1.0)] + ([(present, -1.0)] if present is not None else []) +
                  [(j, -v) for j, v in delta[i]], 0.0)
            present = var
        if present is None:
            continue
        if len(skills) == 1:
            staffed[skills[0], i] += [(present, 1.0)] + [(b, -1.0) for b in breaks.get(i, [])]
            continue
        split = [lp.var() for _ in skills]
        lp.eq([(z, 1.0) for z in split] + [(present, -1.0)] + [(b, 1.0) for b in breaks.get(i, [])], 0.0)
        for q, z in zip(skills, split):
            staffed[q, i].append((z, 1.0))
