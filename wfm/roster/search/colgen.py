"""Column generation: a lower bound on the roster objective and a roster built from it.

The roster problem splits into agents (each with its own contract and working-time rules) tied
together only by coverage. Column generation keeps that split:

* a *column* is one agent's whole schedule for the horizon: its shifts, with breaks placed and
  an on-queue queue chosen for every interval, so it covers a known set of coverage rows;
* the *master LP* picks a convex mix of columns per group of identical agents (same skills,
  contract, availability, wishes) and pays under/over-coverage per row (HiGHS, kept warm between
  rounds: `MasterLP`);
* *pricing* asks, per group, for the schedule with the most negative reduced cost under the
  master's duals: the agent's own CP-SAT model (`RosterModel(pricing=True)`, the very rules the
  full model uses) with one value per shift option. Break placement and queue choice are exact
  inside an option (a small DP), so pricing is exact whenever CP-SAT proves its optimum.

Every pricing round gives a Lagrangian lower bound on the true optimum: with the master's row
duals pi, bound = sum(pi * need) + sum over groups of size x (best reduced cost found, as a
proven lower bound), valid whether or not the LP has converged. Dual smoothing (Wentges) keeps
the duals from oscillating. The columns then seed the integer roster (see `master_roster`).

Terms the master does not model (fairness spreads) are left to the full model; they are
non-negative, so the bound stays valid.
"""

from __future__ import annotations

import json
import math
import time as clock
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from .. import service_goal
from ..breaks import best_breaks, least_break_loss
from ..budget import Budget
from ..costs import cost_term
from ..domain import Agent, Roster, RosterInput
from ..options import Grid, ShiftOption, worked_shift
from .highs import new_highs

SCALE = 1000  # pricing objective units per objective unit (duals are fractional)
# Deterministic-limit accounting of a master LP solve (HiGHS simplex iterations; measured 0.1-0.4 ms
# each on a 200-agent week).
LP_SECONDS_PER_ITERATION = 2e-4
# New columns keep the basis primal feasible, a dive's raised bounds keep it dual feasible.
PRIMAL_SIMPLEX, DUAL_SIMPLEX = 4, 1
DIVE_STEP = 0.15  # of the free agents fixed per dive step
DIVE_REPAIR_ROUNDS = 10  # pricing rounds after each dive step, at most


def applies(data: RosterInput) -> bool:
    """Column generation models under/over coverage, shift demand and per-agent terms; service-goal
    queues price coverage non-linearly and are left to the full model."""
    return not any(service_goal.applies(data, r) for r in data.requirements)


def cost(data: RosterInput, options: list[ShiftOption]) -> int:
    """Work per pricing round, as (group of identical agents, shift option) pairs."""
    return len(group_agents(data)) * len(options)


# -- coverage rows ---------------------------------------------------------------------------------
class Rows:
    """Coverage rows of the master: one per (queue, interval), then one per (day, template) demand."""

    def __init__(self, data: RosterInput, grid: Grid):
        self.n = grid.size
        self.queues = [r.queue for r in data.requirements]
        need, under, over = [], [], []
        for r in data.requirements:
            need.append(np.ceil(np.asarray(r.agents, float) - 1e-9))
            under.append(np.asarray(r.under_weights if r.under_weights is not None
                                    else [data.weights.under] * self.n, float))
            over.append(np.full(self.n, float(data.weights.over)))
        days = {day: d for d, day in enumerate(grid.days)}
        self.demand: dict[tuple[int, str], int] = {}
        for r in data.shift_requirements:
            if r.day in days:
                self.demand[days[r.day], r.template] = len(self.queues) * self.n + len(self.demand)
                need.append([r.count])
                under.append([r.under_weight])
                over.append([r.over_weight])
        self.need = np.concatenate(need) if need else np.zeros(0)
        self.under = np.concatenate(under) if under else np.zeros(0)
        self.over = np.concatenate(over) if over else np.zeros(0)

    def __len__(self) -> int:
        return len(self.need)

    def interval_row(self, queue_index: int, i: int) -> int:
        return queue_index * self.n + i


# -- columns ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Placement:
    """One worked shift of a column: its option, break starts and queue per on-queue interval."""

    option: int
    breaks: tuple[int, ...]
    queues: tuple[tuple[int, int], ...]   # (interval, queue index)


@dataclass
class Column:
    group: int
    shifts: tuple[Placement, ...]
    rows: np.ndarray          # coverage row of each covered unit (repeats allowed)
    cost: float               # the agent's own penalty terms (preferences, cost, changes)

    @property
    def key(self):
        return self.shifts


@dataclass
class Group:
    """Agents the master may treat as interchangeable: identical in everything the model reads."""

    agents: list[Agent]
    model: object = None                       # pricing RosterModel of the first agent
    usable: dict[str, list[int]] = field(default_factory=dict)   # template -> queue indices
    options: list[ShiftOption] = field(default_factory=list)     # options it may work


def agent_signature(data: RosterInput, a: Agent) -> str:
    """Everything about an agent that the model reads, except its id."""
    body = a.model_dump(mode="json", exclude={"id"})
    if data.weights.cost <= 0:
        body.pop("cost_per_hour")
    prev = [s.model_dump(mode="json", exclude={"agent"}) for s in data.previous_shifts if s.agent == a.id]
    ref = ([s.model_dump(mode="json", exclude={"agent"}) for s in data.reference.shifts if s.agent == a.id]
           if data.reference is not None else [])
    return json.dumps([body, prev, ref], sort_keys=True)


def group_agents(data: RosterInput) -> list[list[Agent]]:
    groups: dict[str, list[Agent]] = {}
    for a in data.agents:
        groups.setdefault(agent_signature(data, a), []).append(a)
    return list(groups.values())


# -- pricing values ---------------------------------------------------------------------------------
class Pricer:
    """Values of every option of a group under given row duals, and columns from chosen options.

    Options are valued in batches of one shape (queues the agent may take on it, length, break
    windows relative to the start), all at once with numpy: a round prices thousands of options per
    group, and per-option Python was three quarters of a round on a 15-minute week. How an option
    is worked (breaks, queue per interval) is only worked out for the options a column takes."""

    def __init__(self, rows: Rows, group: Group, group_index: int, horizon_size: int):
        self.rows, self.group, self.group_index, self.n = rows, group, group_index, horizon_size
        shapes: dict[tuple, list[ShiftOption]] = {}
        for o in group.options:
            windows = tuple((w.earliest - o.first, w.latest - o.first, w.length) for w in o.breaks)
            shapes.setdefault((self.usable(o), o.length, windows), []).append(o)
        self.batches = []  # (usable queues, option indices, first intervals, length, windows, demand rows)
        for (usable, length, windows), opts in shapes.items():
            demand = [rows.demand.get((o.day, o.template), -1) for o in opts]
            self.batches.append((usable, np.array([o.index for o in opts]), np.array([o.first for o in opts]),
                                 length, windows, np.array(demand, dtype=np.int64)))
        self.size = max((o.index for o in group.options), default=-1) + 1
        # The objective: the model's shift choices, each at its own cost (fixed) less its value
        # (per round); the group's other terms (preferences and the like) as one fixed expression.
        model = group.model
        pairs = list(model.x.items()) if model is not None else []
        self.x_vars = [var for _, var in pairs]
        self.x_options = np.array([oi for (_, oi), _ in pairs], dtype=np.int64)
        position = {var.Index(): j for j, var in enumerate(self.x_vars)}
        self.x_cost = np.zeros(len(pairs), dtype=np.int64)
        others = []
        for _, w, e in (model.penalties if model is not None else []):
            j = position.get(e.Index()) if isinstance(e, cp_model.IntVar) else None
            if j is not None and float(SCALE * w).is_integer():
                self.x_cost[j] += int(SCALE * w)
            else:
                others.append(SCALE * w * e)
        self.others = sum(others)

    def usable(self, o: ShiftOption) -> tuple[int, ...]:
        return tuple(self.group.usable.get(o.template, []))

    def interval_values(self, duals: np.ndarray, usable: list[int]) -> tuple[np.ndarray, np.ndarray]:
        """Per interval: the best dual among the usable queues, and which queue that is."""
        if not usable:
            return np.zeros(self.n), np.full(self.n, -1)
        block = np.stack([duals[q * self.n:(q + 1) * self.n] for q in usable])
        best = block.argmax(axis=0)
        return block[best, np.arange(self.n)], np.asarray(usable)[best]

    def values(self, duals: np.ndarray) -> tuple[np.ndarray, dict]:
        """Each option's value under `duals` (indexed by option index: the duals of the rows it
        covers, its breaks where they give up least), and the interval values per set of usable
        queues that the placements of chosen options are worked out from."""
        out = np.zeros(self.size)
        by_queues: dict[tuple, tuple] = {}
        for usable, index, first, length, windows, demand in self.batches:
            if usable not in by_queues:
                value, queue = self.interval_values(duals, list(usable))
                by_queues[usable] = (value, queue, np.concatenate([[0.0], np.cumsum(value)]))
            cum = by_queues[usable][2]
            total = cum[np.minimum(first + length, self.n)] - cum[np.minimum(first, self.n)]
            if windows:
                total = total - least_break_loss(cum, first, windows)
            has = demand >= 0
            total[has] += duals[demand[has]]
            out[index] = total
        return out, by_queues

    def placement(self, o: ShiftOption, by_queues: dict) -> Placement:
        """How option o is worked under the duals `by_queues` came from: breaks where they give up
        least, each on-queue interval on its most valuable queue."""
        _, queue, cum = by_queues[self.usable(o)]
        last = min(o.end_index, self.n)
        starts, _ = best_breaks(o, cum)
        on_break = {i for p, w in zip(starts, o.breaks) for i in range(p, p + w.length)}
        queues = tuple((i, int(queue[i])) for i in range(o.first, last) if i not in on_break and queue[i] >= 0)
        return Placement(o.index, starts, queues)

    def column(self, chosen: list[Placement], cost: float, options: list[ShiftOption]) -> Column:
        rows = []
        for p in chosen:
            rows.extend(self.rows.interval_row(q, i) for i, q in p.queues)
            o = options[p.option]
            demand = self.rows.demand.get((o.day, o.template))
            if demand is not None:
                rows.append(demand)
        return Column(self.group_index, tuple(sorted(chosen, key=lambda p: p.option)),
                      np.asarray(rows, dtype=np.int64), cost)


def schedule_cost(data: RosterInput, agent: Agent, chosen: list[ShiftOption], grid: Grid) -> float:
    """An agent's own penalty terms for a schedule: cost, preferences and changes from the
    reference, as the model (and the validator) count them."""
    w = data.weights
    total = sum(cost_term(o, agent.cost_per_hour, w.cost) for o in chosen) if w.cost > 0 else 0
    on = {grid.days[o.day]: o for o in chosen}
    days = set(grid.days)
    for p in agent.preferences:
        if p.day not in days or p.weight == 0:
            continue
        working = p.day in on
        if p.template is None:
            missed = working if p.want else not working
        else:
            has = working and on[p.day].template == p.template
            missed = not has if p.want else has
        total += w.preference * p.weight * missed
    if data.reference is not None and w.change > 0:
        ref = {s.day: (s.template, pd.Timestamp(s.start)) for s in data.reference.shifts
               if s.agent == agent.id and s.day in days}
        now = {d: (o.template, o.start) for d, o in on.items()}
        total += w.change * sum(ref.get(d) != now.get(d) for d in set(ref) | set(now))
    return float(total)


class MasterLP:
    """The master LP, kept in one HiGHS instance: columns are appended as pricing finds them and
    every solve starts from the last optimal basis. (Solved afresh each round, the LP was most of
    column generation's time on 1,000 agents: about a second a solve.)

    Rows: one per coverage row (schedules + under - over = need), one per group (its schedules add
    up to its agents). Columns: the under and over slacks of every coverage row, then the schedules
    in the order added."""

    def __init__(self, rows: Rows, sizes: list[int]):
        self.h = h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        self.nrows = nrows = len(rows)
        b = np.concatenate([rows.need, np.asarray(sizes, float)])
        h.addRows(len(b), b, b, 0, np.zeros(0, np.int32), np.zeros(0, np.int32), np.zeros(0))
        index = np.arange(nrows, dtype=np.int32)
        for cost, sign in ((rows.under, 1.0), (rows.over, -1.0)):
            h.addCols(nrows, cost, np.zeros(nrows), np.full(nrows, np.inf), nrows, index, index, np.full(nrows, sign))
        self.size = 0               # schedule columns so far
        self.low = np.zeros(0)      # their lower bounds (a dive's fixings)

    def add(self, columns: list[Column]) -> None:
        if not columns:
            return
        starts, index, values = [], [], []
        for c in columns:
            rows, times = np.unique(c.rows, return_counts=True)
            starts.append(len(index))
            index.extend(rows.tolist() + [self.nrows + c.group])
            values.extend(times.tolist() + [1])
        k = len(columns)
        self.h.addCols(k, np.array([c.cost for c in columns], float), np.zeros(k), np.full(k, np.inf), len(index),
                       np.array(starts, np.int32), np.array(index, np.int32), np.array(values, float))
        self.size += k

    def solve(self, lower: np.ndarray | None = None) -> tuple[float, np.ndarray, int, np.ndarray]:
        """(value, row duals, simplex iterations, schedule column values), each schedule column at
        least its `lower` count (default 0)."""
        from highspy import HighsModelStatus

        h, offset = self.h, 2 * self.nrows
        low = np.zeros(self.size) if lower is None else np.asarray(lower, float)[:self.size]
        known = len(self.low)
        if (low[:known] != self.low).any() or low[known:].any():
            cols = np.arange(offset, offset + self.size, dtype=np.int32)
            h.changeColsBounds(self.size, cols, low, np.full(self.size, np.inf))
            h.setOptionValue("simplex_strategy", DUAL_SIMPLEX)  # raised bounds: the basis stays dual feasible
        else:
            h.setOptionValue("simplex_strategy", PRIMAL_SIMPLEX)  # new columns: it stays primal feasible
        self.low = low
        h.run()
        if h.getModelStatus() != HighsModelStatus.kOptimal:
            raise RuntimeError(f"master LP: {h.modelStatusToString(h.getModelStatus())}")
        solution = h.getSolution()
        x = np.asarray(solution.col_value)[offset:]
        return (h.getInfo().objective_function_value, np.asarray(solution.row_dual),
                h.getInfo().simplex_iteration_count, x)


# -- the generator ------------------------------------------------------------------------------------
@dataclass
class Outcome:
    columns: list[Column]
    groups: list[Group]
    lp_value: float | None
    bound: float | None            # best Lagrangian bound (valid lower bound on the objective)
    iterations: int
    seconds: float
    converged: bool
    lp_mix: np.ndarray | None = None   # LP weight of each column at the end


class ColumnGenerator:
    def __init__(self, data: RosterInput, grid: Grid, options: list[ShiftOption], model_factory, workers: int = 1):
        """`model_factory(agents)` builds a pricing RosterModel for a group's agents."""
        self.data, self.grid, self.options = data, grid, options
        self.rows = Rows(data, grid)
        self.groups: list[Group] = []
        self.pricers: list[Pricer] = []
        queues = self.rows.queues
        for g, agents in enumerate(group_agents(data)):
            model = model_factory(agents[:1])
            a = agents[0]
            usable = {t.id: [queues.index(q) for q in a.skills if q in queues and (not t.skills or q in t.skills)]
                      for t in data.templates}
            opts = sorted({o.index for (_, oi), _ in model.x.items() for o in [options[oi]]})
            group = Group(agents, model, usable, [options[i] for i in opts])
            self.groups.append(group)
            self.pricers.append(Pricer(self.rows, group, g, grid.size))
        self.columns: list[Column] = []
        self.seen: set = set()
        self.workers = max(1, workers)
        self.budget: Budget | None = None
        self.master: MasterLP | None = None

    # -- master LP --------------------------------------------------------------------------------
    def solve_lp(self, lower: np.ndarray | None = None):
        """Master LP over the current columns, each at least its `lower` count (a dive's fixings;
        default 0): (value, row duals, group duals, column weights)."""
        if self.master is None:
            self.master = MasterLP(self.rows, [len(g.agents) for g in self.groups])
        self.master.add(self.columns[self.master.size:])
        value, duals, iterations, x = self.master.solve(lower)
        if self.budget is not None:
            self.budget.charge_work(LP_SECONDS_PER_ITERATION * iterations)
        nrows = len(self.rows)
        return value, duals[:nrows], duals[nrows:], x

    # -- pricing ------------------------------------------------------------------------------------
    def price(self, g: int, duals: np.ndarray, seconds: float, seed: int, budget: Budget):
        """Columns of negative-looking reduced cost for group g and a proven lower bound on the
        group's least reduced cost (without the group dual)."""
        group, pricer = self.groups[g], self.pricers[g]
        model = group.model
        values, by_queues = pricer.values(duals)
        agent = group.agents[0].id
        net = pricer.x_cost - np.rint(SCALE * values[pricer.x_options]).astype(np.int64)
        model.m.Minimize(pricer.others + cp_model.LinearExpr.WeightedSum(pricer.x_vars, net.tolist()))
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 1
        budget.limit(solver, seconds)
        solver.parameters.random_seed = seed
        solver.parameters.linearization_level = 2  # measured: pricing ~30% faster on these small models
        collect = _Collect(model, agent)
        status = solver.Solve(model.m, collect)
        budget.charge(solver)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return [], None, status
        slack = 0.5 * len(self.grid.days) / SCALE  # rounding of the option values, at most
        bound = solver.BestObjectiveBound() / SCALE - slack
        found = []
        for chosen, cost in collect.solutions[-3:]:
            found.append(pricer.column([pricer.placement(self.options[oi], by_queues) for oi in chosen], cost,
                                       self.options))
        return found, bound, status

    def seed(self, roster: Roster) -> int:
        """Columns from a roster (each agent's schedule in it): the LP then starts from that roster's
        value instead of from nothing. Returns how many were new."""
        lookup = {(o.day, o.template, o.first): o for o in self.options}
        days = {day: d for d, day in enumerate(self.grid.days)}
        group_of = {a.id: g for g, group in enumerate(self.groups) for a in group.agents}
        agents = {a.id: a for a in self.data.agents}
        by_agent: dict[str, list] = {a.id: [] for a in self.data.agents}
        for sh in roster.shifts:
            by_agent.setdefault(sh.agent, []).append(sh)
        queue_index = {q: k for k, q in enumerate(self.rows.queues)}
        added = 0
        for agent, shifts in by_agent.items():
            placements, chosen = [], []
            for sh in shifts:
                o = lookup.get((days.get(sh.day), sh.template, self.grid.index_of(pd.Timestamp(sh.start))))
                if o is None:
                    break
                starts = tuple(self.grid.index_of(pd.Timestamp(b.start)) for b in sh.breaks)
                queues = tuple((i, queue_index[g.queue]) for g in sh.segments
                               for i in range(self.grid.index_of(pd.Timestamp(g.start)),
                                              self.grid.index_of(pd.Timestamp(g.end))) if i < self.grid.size)
                placements.append(Placement(o.index, starts, queues))
                chosen.append(o)
            else:
                g = group_of[agent]
                cost = schedule_cost(self.data, agents[agent], chosen, self.grid)
                added += self.add(self.pricers[g].column(placements, cost, self.options))
        return added

    def add(self, column: Column) -> bool:
        key = (column.group, column.key)
        if key in self.seen:
            return False
        self.seen.add(key)
        self.columns.append(column)
        return True

    def reduced_cost(self, column: Column, duals: np.ndarray, group_duals: np.ndarray) -> float:
        return column.cost - float(duals[column.rows].sum()) - float(group_duals[column.group])

    def run(self, seconds: float, seed: int = 0, alpha: float = 0.5, tolerance: float = 1e-4,
            start: Roster | None = None, budget: Budget | None = None, resume: bool = False) -> Outcome:
        """Price and solve the master for `seconds` units of `budget` (or until converged). With
        `resume`, go on from the columns of an earlier run (no first columns)."""
        budget = self.budget = budget or Budget(self.data.solver)
        started = clock.perf_counter()
        deadline = budget.elapsed() + seconds
        pool = ThreadPoolExecutor(self.workers)
        best_bound, center, lp = -math.inf, None, None
        iterations, converged = 0, False
        try:
            # First columns: each group's best schedule with nothing covered yet (coverage valued
            # at the under-coverage weight, so the first columns already work where demand is).
            first = np.where(self.rows.need > 0, self.rows.under, 0.0)
            if start is not None:
                self.seed(start)
            each = max(min(5.0, seconds / max(1, len(self.groups)) * self.workers), 0.05)
            unpriced = [] if resume else range(len(self.groups))
            for found, _, status in pool.map(lambda g: self.price(g, first, each, seed, budget), unpriced):
                if not found and status == cp_model.INFEASIBLE:
                    raise Infeasible(status)
                for c in found:
                    self.add(c)
            if {c.group for c in self.columns} != set(range(len(self.groups))):
                raise OutOfTime()
            while budget.elapsed() < deadline:
                lp, duals, group_duals, _ = self.solve_lp()
                center = duals if center is None else center
                point = np.clip(alpha * center + (1 - alpha) * duals, -self.rows.over, self.rows.under)
                left = deadline - budget.elapsed()
                each = max(min(2.0, left / max(1, len(self.groups)) * self.workers), 0.05)
                results = list(pool.map(lambda g: self.price(g, point, each, seed + iterations, budget),
                                        range(len(self.groups))))
                bound, added = self._lagrangian(point, results), 0
                for found, _, _ in results:
                    for c in found:
                        if self.reduced_cost(c, duals, group_duals) < -1e-6 and self.add(c):
                            added += 1
                iterations += 1
                if bound > best_bound:
                    best_bound, center = bound, point
                if bound_meets_lp(lp, best_bound, tolerance):
                    converged = True
                    break
                if not added:
                    if np.allclose(point, duals, rtol=0, atol=1e-9) and all(s == cp_model.OPTIMAL for *_, s in results):
                        # Nothing prices out at the LP's own duals, each pricing proven: the LP is
                        # optimal over all schedules. (The Lagrangian bound stays a little below it,
                        # by the rounding of pricing's integer objective: Instance7 1,053.8 against
                        # 1,054.1, and pricing went on to the end of its share.)
                        converged = True
                        break
                    center = duals  # nothing new at the smoothed point: price at the LP duals next
                    if alpha == 0:
                        break
        finally:
            pool.shutdown(wait=True)
        weights = None
        if self.columns:
            lp, _, _, weights = self.solve_lp()
        return Outcome(self.columns, self.groups, lp, best_bound if best_bound > -math.inf else None,
                       iterations, clock.perf_counter() - started, converged, weights)

    def _lagrangian(self, duals: np.ndarray, results) -> float:
        """L(pi) = pi.need + sum_g |g| min_p (c_p - pi.a_p): a lower bound on the objective for any
        pi within [-over, under] (where the under/over slack terms of L vanish)."""
        total = float(duals @ self.rows.need)
        for g, (_, bound, _) in enumerate(results):
            if bound is None:
                return -math.inf
            total += len(self.groups[g].agents) * bound
        return total


class OutOfTime(Exception):
    """The time ran out before every group had a schedule: no master problem to solve."""


class Infeasible(Exception):
    """A group's agents have no schedule that keeps their own rules."""


class _Collect(cp_model.CpSolverSolutionCallback):
    """Every improving pricing solution: its chosen options and its own penalty cost."""

    def __init__(self, model, agent: str):
        super().__init__()
        self.model, self.agent = model, agent
        self.vars = [(oi, var) for (a, oi), var in model.x.items()]
        self.solutions: list[tuple[list[int], float]] = []

    def on_solution_callback(self):
        chosen = [oi for oi, var in self.vars if self.BooleanValue(var)]
        cost = float(sum(w * self.Value(e) for _, w, e in self.model.penalties))
        self.solutions.append((chosen, cost))


# -- integer roster from the columns ----------------------------------------------------------------
def _rounded_mix(gen: ColumnGenerator, outcome: Outcome) -> dict[int, int]:
    """The LP mix rounded so each group's counts still add up to its agents (largest remainders):
    a complete, feasible hint, so the integer master holds a roster from its first moment instead
    of leaving CP-SAT to repair the group sums that rounding each count alone breaks."""
    members: dict[int, list[int]] = {}
    for j, c in enumerate(outcome.columns):
        members.setdefault(c.group, []).append(j)
    hint: dict[int, int] = {}
    for g, js in members.items():
        values = {j: max(float(outcome.lp_mix[j]), 0.0) for j in js}
        counts = {j: int(math.floor(x + 1e-9)) for j, x in values.items()}
        short = len(gen.groups[g].agents) - sum(counts.values())
        while short < 0:  # LP noise above the group size: take from the largest counts
            counts[max(js, key=counts.get)] -= 1
            short += 1
        by_remainder = sorted(js, key=lambda j: counts[j] - values[j])  # largest remainder first
        for i in range(short):
            counts[by_remainder[i % len(js)]] += 1
        hint.update(counts)
    return hint


def lp_rounded(gen: ColumnGenerator, outcome: Outcome) -> dict[str, Column] | None:
    """Agent -> column from the LP mix rounded within each group: every column it uses is in the
    LP's support, so it keeps `lp_fixings` and can start a search under them."""
    if outcome.lp_mix is None:
        return None
    mix = _rounded_mix(gen, outcome)
    return _assign(gen, outcome.columns, [mix.get(j, 0) for j in range(len(outcome.columns))])


def master_roster(gen: ColumnGenerator, outcome: Outcome, seconds: float, seed: int = 0,
                  workers: int = 1, budget: Budget | None = None) -> dict[str, Column] | None:
    """Pick one column per agent (an integer count per group) with CP-SAT, hinted by the LP mix."""
    m = cp_model.CpModel()
    count = {}
    cover = [[] for _ in range(len(gen.rows))]
    objective = []
    for j, c in enumerate(outcome.columns):
        size = len(gen.groups[c.group].agents)
        v = m.NewIntVar(0, size, f"n[{j}]")
        count[j] = v
        objective.append(int(round(c.cost)) * v)
        rows, times = np.unique(c.rows, return_counts=True)
        for r, t in zip(rows, times):
            cover[r].append((int(t), v, size))
    if outcome.lp_mix is not None:
        for j, n in _rounded_mix(gen, outcome).items():
            m.AddHint(count[j], n)
    for g, group in enumerate(gen.groups):
        m.Add(sum(v for j, v in count.items() if outcome.columns[j].group == g) == len(group.agents))
    for r, terms in enumerate(cover):
        need = int(gen.rows.need[r])
        if not terms:
            objective.append(int(gen.rows.under[r]) * need)
            continue
        total = sum(t * v for t, v, _ in terms)
        u = m.NewIntVar(0, need, f"u[{r}]")
        o = m.NewIntVar(0, max(sum(t * size for t, _, size in terms) - need, 0), f"o[{r}]")
        m.Add(total + u - o == need)
        objective += [int(gen.rows.under[r]) * u, int(gen.rows.over[r]) * o]
    m.Minimize(sum(objective))
    solver = cp_model.CpSolver()
    budget = budget or Budget(gen.data.solver)
    budget.limit(solver, seconds, floor=0.1)
    solver.parameters.num_workers = workers
    solver.parameters.random_seed = seed
    status = solver.Solve(m)
    budget.charge(solver)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    return _assign(gen, outcome.columns, [solver.Value(count[j]) for j in range(len(outcome.columns))])


def dive(gen: ColumnGenerator, seconds: float, seed: int = 0, budget: Budget | None = None,
         step: float = DIVE_STEP, repair_rounds: int = DIVE_REPAIR_ROUNDS) -> dict[str, Column] | None:
    """Price-and-dive: a roster from the master LP by fixing columns a few at a time. Each step
    fixes, in every group, the agents the LP already gives a whole column, then the columns
    closest to a whole agent (about `step` of the agents still free, at most one per group), and
    prices new columns for the free groups against the LP of what is left (up to `repair_rounds`
    rounds, until none is found), so the fixings are repaired instead of compounding. When the LP
    is tight but fractional (each agent a blend of schedules), the integer master over the columns
    found so far holds no good roster; the dive builds schedules that fit together. Without time
    to price, it fixes the rest from the columns it has. None if the master LP fails."""
    budget = budget or Budget(gen.data.solver)
    gen.budget = budget
    deadline = budget.elapsed() + seconds
    sizes = np.array([len(g.agents) for g in gen.groups])
    lower = np.zeros(len(gen.columns))
    rounds, freed, began = 0, 0, budget.elapsed()
    while True:
        try:
            _, _, _, x = gen.solve_lp(lower)
        except RuntimeError:
            return None
        group_of = np.array([c.group for c in gen.columns])
        lower = np.maximum(lower, np.floor(x + 1e-6))
        fixed = np.bincount(group_of, weights=lower, minlength=len(sizes))
        if (fixed >= sizes - 1e-9).all():
            break
        free = int(round((sizes - fixed).sum()))
        share = dive_step(step, free, budget.elapsed() - began, freed, deadline - budget.elapsed())
        freed += free
        _fix_nearest(x, lower, group_of, fixed < sizes - 1e-9, max(1, math.ceil(share * free)))
        fixed = np.bincount(group_of, weights=lower, minlength=len(sizes))
        open_groups = [g for g in range(len(sizes)) if fixed[g] < sizes[g] - 1e-9]
        for _ in range(repair_rounds):
            if deadline - budget.elapsed() <= 0 or not open_groups:
                break
            added = _price_free(gen, lower, open_groups, deadline - budget.elapsed(), seed + rounds, budget)
            rounds += 1
            lower = np.append(lower, np.zeros(added))
            if not added:
                break
    return _assign(gen, gen.columns, np.round(lower).astype(int))


def _fix_nearest(x: np.ndarray, lower: np.ndarray, group_of: np.ndarray, open_: np.ndarray, picks: int) -> None:
    """Raise by one the `picks` columns whose LP weight is furthest above their fixed count, one
    per open group (fixing one agent of a group moves that group's LP)."""
    picked = set()
    for j in np.argsort(-(x - lower), kind="stable"):
        if len(picked) == picks or x[j] - lower[j] <= 1e-6:
            break
        g = group_of[j]
        if g not in picked and open_[g]:
            lower[j] += 1
            picked.add(g)


def _price_free(gen: ColumnGenerator, lower: np.ndarray, groups: list[int], seconds: float, seed: int,
                budget: Budget) -> int:
    """One pricing round for `groups` against the master LP under the dive's fixings; how many
    columns of negative reduced cost it added."""
    _, duals, group_duals, _ = gen.solve_lp(lower)
    each = max(min(1.0, seconds / max(1, len(groups)) * gen.workers), 0.05)
    with ThreadPoolExecutor(gen.workers) as pool:
        priced = list(pool.map(lambda g: gen.price(g, duals, each, seed, budget)[0], groups))
    return sum(gen.reduced_cost(c, duals, group_duals) < -1e-6 and gen.add(c) for found in priced for c in found)


def _assign(gen: ColumnGenerator, columns: list[Column], counts) -> dict[str, Column]:
    """Agent -> column, from a count per column (each group's counts add up to its agents)."""
    assignment: dict[str, Column] = {}
    waiting = {g: list(group.agents) for g, group in enumerate(gen.groups)}
    for j, n in enumerate(counts):
        for _ in range(int(n)):
            c = columns[j]
            assignment[waiting[c.group].pop().id] = c
    return assignment


def dive_step(step: float, free: int, spent: float, freed: int, left: float) -> float:
    """The share of the `free` agents to fix next: `step`, or more if the time `left` cannot pay
    for steps that small. A step's pricing costs about in proportion to the agents still free
    (`spent` so far over `freed`, the free agents summed over the past steps), so fixing a share s
    a step costs about that rate x free / s until the end. (Without time the rest is fixed unpriced,
    which costs far more quality than larger steps.)"""
    if freed == 0 or free <= 1:
        return step
    if left <= 0:
        return 1.0
    return min(max(step, spent / freed * free / left), 1.0)


def roster_of(assignment: dict[str, Column], options: list[ShiftOption], grid: Grid, queues: list[str],
              data: RosterInput) -> Roster:
    tmpl = {t.id: t for t in data.templates}
    shifts = []
    for agent, column in assignment.items():
        for p in column.shifts:
            o = options[p.option]
            shifts.append(worked_shift(agent, o, grid, tmpl[o.template], p.breaks,
                                       ((i, queues[q]) for i, q in p.queues)))
    shifts.sort(key=lambda s: (s.agent, s.start))
    return Roster(shifts=shifts)


def lp_fixings(gen: ColumnGenerator, outcome: Outcome) -> dict[tuple[str, int], int]:
    """Shift choices the LP is unanimous about (relaxation-induced neighbourhood): an option no
    column in the LP mix uses is ruled out for the group's agents; one every agent of the group
    works in the mix is fixed on. Searching the full model under these fixings first finds good
    rosters fast; the unfixed search follows."""
    if outcome.lp_mix is None:
        return {}
    use: dict[tuple[int, int], float] = {}
    for c, w in zip(outcome.columns, outcome.lp_mix):
        if w > 1e-9:
            for p in c.shifts:
                use[c.group, p.option] = use.get((c.group, p.option), 0.0) + float(w)
    fixings = {}
    for g, group in enumerate(gen.groups):
        size = len(group.agents)
        for o in group.options:
            value = use.get((g, o.index), 0.0)
            if value < 1e-6 or value > size - 1e-6:
                for a in group.agents:
                    fixings[a.id, o.index] = int(value > 1e-6)
    return fixings


def bound_meets_lp(lp: float, bound: float, tolerance: float) -> bool:
    """Whether pricing can stop: the bound is within `tolerance` (relative) of the LP, or, the
    objective being integral, it already rounds up to the LP's value rounded up (no round can
    raise the integral bound further). No bound yet (a round whose pricing ran out of time on some
    group before it proved anything: -inf) is never converged."""
    if not math.isfinite(bound):
        return False
    return math.ceil(bound - 1e-6) >= math.ceil(lp - 1e-6) or lp - bound <= tolerance * max(1.0, abs(lp))
