"""Large-neighbourhood search around a roster: free a few agents (all week, or a few days of many),
re-solve just them with CP-SAT while everyone else counts as fixed coverage, keep the result only
if it is strictly better. Each neighbourhood model is small, so CP-SAT solves it to optimality or
close within a second or two whatever the site's size; the model build stays proportional to the
agents freed, not to the site.

Neighbourhoods (chosen in turn, sizes adapt: grow after a proven optimum, shrink after a timeout):
* `skill`: agents sharing a skill set, so the ones freed can trade coverage with each other;
* `gap`: agents who could cover the worst uncovered (or overcovered) interval, whether or not they
  work that day; without interval coverage, agents around a missed (day, template) shift demand;
* `days`: many agents, but only a window of days free (the rest of their week stays as it is).

The start may break hard rules for some agents (an empty or greedy roster on a site too large for
column generation): those agents are freed first, a few at a time, and any schedule that keeps
their rules is taken, until every agent's schedule is valid; improvement follows.
"""

from __future__ import annotations

import math
import random
import time as clock
from collections import defaultdict
from dataclasses import dataclass

import numpy as np
import pandas as pd
from ortools.sat.python import cp_model

from ..budget import Budget
from ..domain import Roster, RosterInput
from ..options import Grid, ShiftOption


# Deterministic-limit accounting of building a neighbourhood model (measured about 20 us per
# variable on a 200-agent week).
BUILD_SECONDS_PER_VARIABLE = 2e-5
STEP_MIN, STEP_DIV = 1.0, 20


@dataclass
class Stats:
    iterations: int = 0
    improvements: int = 0
    gained: float = 0.0


def on_queue(roster: Roster, grid: Grid, queues: list[str]) -> np.ndarray:
    """On-queue agents per queue and interval (queues x intervals)."""
    counts = np.zeros((len(queues), grid.size))
    index = {q: k for k, q in enumerate(queues)}
    for sh in roster.shifts:
        for g in sh.segments:
            if g.queue in index:
                first, last = grid.index_of(pd.Timestamp(g.start)), grid.index_of(pd.Timestamp(g.end))
                counts[index[g.queue], first:min(last, grid.size)] += 1
    return counts


class Search:
    def __init__(self, data: RosterInput, grid: Grid, options: list[ShiftOption], seed: int, workers: int,
                 broken: set[str] | None = None):
        self.data, self.grid, self.options = data, grid, options
        self.rng = random.Random(seed)
        self.seed, self.workers = seed, workers
        self.queues = [r.queue for r in data.requirements]
        self.templates = {t.id: t for t in data.templates}
        self.need = np.array([np.ceil(np.asarray(r.agents, float) - 1e-9) for r in data.requirements]) \
            if data.requirements else np.zeros((0, grid.size))
        self.by_skills: dict[tuple, list] = defaultdict(list)
        for a in data.agents:
            self.by_skills[tuple(sorted(a.skills))].append(a)
        n = len(data.agents)
        self.size = {"skill": max(2, min(4, n)), "gap": max(2, min(4, n)), "days": max(2, min(20, n))}
        self.window = 1
        self.stats = Stats()
        self.broken = set(broken or ())  # agents whose current schedule breaks one of their rules
        self.repair_size = 1

    # -- neighbourhoods --------------------------------------------------------------------------
    def _skill(self, roster):
        pool = self.rng.choice([v for v in self.by_skills.values()])
        return self.rng.sample(pool, min(len(pool), self.size["skill"])), None

    def _gap(self, roster):
        if not self.queues:
            return self._demand_gap(roster)
        miss = self.need - on_queue(roster, self.grid, self.queues)
        weight = np.abs(miss)
        if weight.sum() == 0:
            return self._demand_gap(roster)
        flat = weight.ravel() / weight.sum()
        q, i = divmod(int(self.np_rng().choice(len(flat), p=flat)), self.grid.size)
        queue = self.queues[q]
        able = [a for a in self.data.agents if queue in a.skills]
        working = {sh.agent for sh in roster.shifts if any(g.queue == queue for g in sh.segments)}
        # Half from those who could take the interval, half from those on that queue at all.
        picked = self.rng.sample(able, min(len(able), max(1, self.size["gap"] // 2)))
        taken = {a.id for a in picked}
        others = [a for a in able if a.id in working and a.id not in taken]
        picked += self.rng.sample(others, min(len(others), self.size["gap"] - len(picked)))
        return picked, None

    def _demand_gap(self, roster):
        """Agents around a (day, template) whose shift demand is missed: for a shortfall, half who
        could take that shift and do not work it that day, half who do; for a surplus, those who do.
        Without shift demand (or none missed), a skill neighbourhood."""
        worked = defaultdict(set)
        for sh in roster.shifts:
            worked[sh.day, sh.template].add(sh.agent)
        misses = [(r, r.count - len(worked[r.day, r.template])) for r in self.data.shift_requirements]
        weights = [m * r.under_weight if m > 0 else -m * r.over_weight for r, m in misses]
        if not any(w > 0 for w in weights):
            return self._skill(roster)
        r, miss = self.rng.choices(misses, weights)[0]
        on = worked[r.day, r.template]
        template = self.templates[r.template]
        able = [a for a in self.data.agents if r.day not in a.unavailable_days and a.id not in on
                and (not template.skills or set(template.skills) & set(a.skills))]
        size = self.size["gap"]
        picked = self.rng.sample(able, min(len(able), size // 2 if miss > 0 else 0))
        working = [a for a in self.data.agents if a.id in on]
        picked += self.rng.sample(working, min(len(working), size - len(picked)))
        return (picked or self._skill(roster)[0]), None

    def _days(self, roster):
        n = len(self.grid.days)
        start = self.rng.randrange(0, max(1, n - self.window + 1))
        free = set(range(start, min(n, start + self.window)))
        agents = self.rng.sample(self.data.agents, min(len(self.data.agents), self.size["days"]))
        return agents, free

    def np_rng(self):
        return np.random.default_rng(self.rng.randrange(1 << 30))

    # -- one step ----------------------------------------------------------------------------------
    def _repair(self, roster):
        ids = sorted(self.broken)[:self.repair_size]
        return [a for a in self.data.agents if a.id in ids], None

    def step(self, roster: Roster, seconds: float, model_factory, budget: Budget) -> tuple[Roster, float]:
        """Try one neighbourhood; returns the roster (improved or the same) and the gain (inf for a
        repair: the objective of a roster that breaks rules is not comparable)."""
        kind = "repair" if self.broken else ("skill", "gap", "days")[self.stats.iterations % 3]
        agents, free = getattr(self, f"_{kind}")(roster)
        ids = {a.id for a in agents}
        fixed = Roster(shifts=[s for s in roster.shifts if s.agent not in ids])
        mine = Roster(shifts=[s for s in roster.shifts if s.agent in ids])
        model = model_factory(agents, fixed, mine, free)
        budget.charge_work(BUILD_SECONDS_PER_VARIABLE * len(model.m.Proto().variables))
        self.stats.iterations += 1
        current = None if kind == "repair" else _hinted_objective(model, budget)
        if current is None and kind != "repair":
            return roster, 0.0
        solver = cp_model.CpSolver()
        budget.limit(solver, seconds, floor=0.1)
        solver.parameters.num_workers = self.workers
        solver.parameters.random_seed = self.rng.randrange(1 << 20)
        # A repair takes the first schedule that keeps the rules; improving it is the search's job.
        solver.parameters.stop_after_first_solution = kind == "repair"
        # Light presolve: on a neighbourhood of a 15-minute week the default presolve (probing,
        # symmetry) takes seconds before the search even loads the hint (measured: no solution in
        # 4 s with it, 53,136 -> 43,143 in 4 s without).
        solver.parameters.max_presolve_iterations = 1
        solver.parameters.symmetry_level = 0
        solver.parameters.cp_model_probing_level = 0
        status = solver.Solve(model.m)
        budget.charge(solver)
        if kind == "repair":
            if status == cp_model.INFEASIBLE:
                raise Unrepairable(sorted(ids))
            found = status in (cp_model.OPTIMAL, cp_model.FEASIBLE)
            self.repair_size = self.repair_size + 1 if found else max(1, self.repair_size // 2)
            if not found:
                return roster, 0.0
            self.broken -= ids
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            if kind != "repair":
                self._adapt(kind, status, 0.0)
            return roster, 0.0
        # Started from the current schedules (a complete hint), CP-SAT only reports better ones;
        # keep the new schedules only if strictly better.
        gain = math.inf if current is None else current - solver.ObjectiveValue()
        if kind != "repair":
            self._adapt(kind, status, gain)
        if gain <= 1e-9:
            return roster, 0.0
        new = model._extract(solver)
        self.stats.improvements += 1
        self.stats.gained += gain
        shifts = sorted(fixed.shifts + new.shifts, key=lambda s: (s.agent, s.start))
        return Roster(shifts=shifts), gain

    def _adapt(self, kind: str, status, gain: float):
        """Grow a neighbourhood that CP-SAT settles (optimal), keep one that pays, shrink one it
        can do nothing with in the time."""
        n = len(self.data.agents)
        if status != cp_model.OPTIMAL and gain > 0:
            return
        if status == cp_model.OPTIMAL:
            self.size[kind] = min(n, self.size[kind] + 1)
            if kind == "days" and self.size[kind] == n:
                self.window = min(len(self.grid.days), self.window + 1)
        else:
            self.size[kind] = max(2, int(self.size[kind] * 0.8))
            if kind == "days" and self.window > 1:
                self.window -= 1


class Unrepairable(Exception):
    """No schedule keeps these agents' own rules (the input is infeasible)."""


def _hinted_objective(model, budget: Budget | None = None) -> float | None:
    """The neighbourhood model's objective at its hint (the current roster), by a solve with every
    hinted variable fixed. The solution then becomes the model's hint for every variable (slacks,
    day and weekend flags included): CP-SAT starts from a complete feasible solution, where a
    partial hint can leave it without any solution in a short solve."""
    fixed = model.m.clone()
    for var, value in model.hinted:
        fixed.Add(fixed.GetIntVarFromProtoIndex(var.Index()) == value)
    budget = budget or Budget(model.data.solver)
    solver = cp_model.CpSolver()
    budget.limit(solver, 10.0)
    solver.parameters.num_workers = 1
    status = solver.Solve(fixed)
    budget.charge(solver)
    if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return None
    model.m.ClearHints()
    for i in range(len(model.m.Proto().variables)):
        model.m.AddHint(model.m.GetIntVarFromProtoIndex(i), solver.Value(fixed.GetIntVarFromProtoIndex(i)))
    return solver.ObjectiveValue()


def improve(data: RosterInput, grid: Grid, options: list[ShiftOption], roster: Roster, seconds: float,
            model_factory, seed: int = 0, workers: int = 1, on_better=None,
            broken: set[str] | None = None, budget: Budget | None = None) -> tuple[Roster, Search]:
    """Large-neighbourhood search for `seconds` units of `budget` (wall-clock seconds unless the
    input sets a deterministic limit). `model_factory(agents, fixed, start, free_days)` builds a
    neighbourhood model; `on_better(roster, gain)` hears of each improvement; `broken` agents are
    repaired first (`Search.broken` holds those still broken at the end)."""
    budget = budget or Budget(data.solver)
    search = Search(data, grid, options, seed, workers, broken)
    deadline = budget.elapsed() + seconds
    overhead = 0.0  # longest wall time a step spent outside its solve (model build, evaluation)
    while budget.wall_left() > 0.3:
        left = deadline - budget.elapsed() - overhead
        if left < 0.3:
            break
        solve = min(max(STEP_MIN, seconds / STEP_DIV), left)
        began = clock.perf_counter()
        roster, gain = search.step(roster, solve, model_factory, budget)
        if not budget.deterministic:
            overhead = max(overhead, clock.perf_counter() - began - solve)
        if gain > 0 and on_better is not None and not search.broken:
            on_better(roster, gain)
    return roster, search
