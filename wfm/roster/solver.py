"""Roster solver: the phases of a solve (`phases.py`) in the order `strategy.choose_path` picks for
the site, keeping the best roster by the independent validator's score, with the best bound.

A greedy roster first (valid within seconds on any site). Small sites where the moves and day
re-plans apply, from a valid start (above `proof_first_limit` pairs): the moves and day re-plans
until they stall, with the LP bound solving in the background, then iterated local search (a day
of a few agents ruined and recreated, the moves again, the best kept) for the time left; with two
workers the same search runs in a second process with another seed, and the better roster wins.
Other small sites: column generation for a lower bound and a better roster (the integer master's,
or a price-and-dive's), then the full CP-SAT model (first under the choices the LP is unanimous
about, then, after a short neighbourhood search, free). Large sites: from a valid greedy start the
moves and day re-plans at once, else column generation and its dive (no integer master) for a
better start when the time allows it; the LP relaxation for a lower bound in the background from
the start; then the coverage moves alternating with neighbourhood search whenever the moves stall.
Large day-shift sites (one shift a day, cover per day and template: the Curtois-Qu format) under a
wall-clock limit: the Lagrangian bound by shortest paths over days in the background
(`search/dayshift.py`), with column generation and its dive, or past its reach agent re-plans by
the same shortest paths, then the moves and neighbourhood search. Every result names its bound's
source (`SolveResult.bound_source`).
"""

from __future__ import annotations

import math
import time as clock

from . import strategy
from .budget import Budget
from .costs import contract_floor
from .domain import Roster, RosterInput
from .model import Progress, SolveResult, explain_infeasibility
from .options import Grid, ShiftOption, expand_options
from .phases import (DAY_SHIFT_BOUND, LagrangianBound, LpBound, SecondSearch, better, column_generation,
                     day_shift_site, full_model, greedy_start, large_site,
                     lp_start, moves_then_kicks, neighbourhood_search)
from .search import colgen, dayplan, dayshift, local
from .strategy import TUNING, Site, Tuning
from .validator import validate

__all__ = ["SolveResult", "solve_roster", "site_facts"]

CONTRACT_FLOOR = "contract floor (each agent's contract minimum at its rate)"
COLUMN_GENERATION = "column generation's Lagrangian bound (CP-SAT pricing)"
LP_RELAXATION = "LP relaxation (search/relaxation.py)"


def site_facts(data: RosterInput, grid: Grid, options: list[ShiftOption]) -> Site:
    """What the strategy reads of a site (each search says whether it applies)."""
    columns_apply = colgen.applies(data)
    return Site(agents=len(data.agents), option_pairs=len(data.agents) * len(options),
                shifts_each=max(1, len(grid.days) * 5 // 7), moves_apply=local.applies(data),
                days_replan_moves_days=len(data.agents) <= dayplan.DAYS_MOVE_AGENTS and dayplan.applies_to(data,
                                                                                                           options),
                columns_apply=columns_apply, column_cost=colgen.cost(data, options) if columns_apply else 0,
                deterministic=data.solver.deterministic_limit is not None,
                time_limit=data.solver.time_limit_seconds, intervals=grid.size,
                day_shift=dayshift.applies(data, options), workers=data.solver.workers)


def solve_roster(data: RosterInput, progress: Progress | None = None, tuning: Tuning = TUNING) -> SolveResult:
    """The best roster found within the input's limits (see the module's docstring for the path),
    with the source of its bound (`SolveResult.bound_source`)."""
    sources: dict = {}
    result = _solve(data, progress, tuning, sources)
    result.bound_source = bound_source(result, sources)
    return result


def bound_source(result: SolveResult, sources: dict) -> str | None:
    """Which computation gave the result's bound: the first of `sources` (name -> bound, or a
    callable giving it) equal to it, else the searches' own (CP-SAT proving its model)."""
    if result.bound is None:
        return None
    for name, value in sources.items():
        value = value() if callable(value) else value
        if value is not None and abs(value - result.bound) <= 1e-6 * max(1.0, abs(value)):
            return name
    return "CP-SAT's bound on its model"


def _solve(data: RosterInput, progress: Progress | None, tuning: Tuning, sources: dict) -> SolveResult:
    progress = _monotone(progress)
    budget = Budget(data.solver)
    started = budget.started
    grid = Grid(data)
    options = expand_options(data, grid)
    site = site_facts(data, grid, options)
    greedy, valid, score, check_seconds = None, set(), None, 0.0
    if strategy.greedy_affordable(site, tuning):
        greedy, valid, score, check_seconds = greedy_start(data, grid, options, started, progress,
                                                           spread=strategy.plans_moves_first(site, tuning))
    greedy_seconds = clock.perf_counter() - started
    best = SolveResult("FEASIBLE", greedy, score, None, 0.0) if valid is None else None
    seed = greedy if valid is None else Roster(shifts=[s for s in greedy.shifts if s.agent in valid]) \
        if greedy is not None else None
    bound, fixings = contract_floor(data, grid), {}
    sources[CONTRACT_FLOOR] = bound
    path = strategy.choose_path(site, best is not None, check_seconds, budget.left(), budget.total, tuning)
    # no thread left behind by a limit too short for the bound to come
    relaxed = LpBound(data, grid, options) if path.lp_bound and (
        budget.deterministic or budget.left() >= tuning.lp_bound_min_seconds) else None
    if relaxed is not None:
        sources[LP_RELAXATION] = relaxed  # its value once the background solve is done
    if path.lagrangian_bound and not path.day_shift:
        # its steps aim at the best roster known here (`best` as rebound below, after column generation)
        relaxed = LagrangianBound(data, grid, options, budget.left() - 2.0 * check_seconds - 0.5,
                                  lambda: best.objective)
        sources[DAY_SHIFT_BOUND] = relaxed
    promising, rins_start = None, None
    if path.column_generation:
        first, lagrangian, priced, fixings, promising, rins_start = column_generation(
            data, grid, options, budget, progress, seed, path.colgen_share, path.dive_share, path.master_share,
            tuning.nearly_converged)
        sources[COLUMN_GENERATION] = lagrangian
        bound = max((b for b in (bound, lagrangian) if b is not None), default=None)
        if first is None and priced is None:  # some agent has no schedule at all within its rules
            return SolveResult("INFEASIBLE", None, seconds=clock.perf_counter() - started,
                               conflicts=explain_infeasibility(data))
        if first is not None:
            best = better(best, first) if best is not None else first
    if path.day_shift:
        result, lagrangian = day_shift_site(data, grid, options, best, bound, budget, progress, check_seconds, tuning)
        sources[DAY_SHIFT_BOUND] = lagrangian
        return result
    if path.large:
        if path.lp_start and promising is None and best is not None and relaxed is not None:
            best = lp_start(data, grid, options, relaxed, budget, best, greedy_seconds, progress,
                            tuning.lp_start_reserve)
        start = best.roster if best is not None else (greedy if greedy is not None else Roster(shifts=[]))
        return large_site(data, grid, options, start, best, bound, budget, progress, promising, relaxed,
                          check_seconds, tuning)
    if path.moves_first:
        return _small_moves_first(data, grid, options, site, path, best, bound, relaxed, budget, progress,
                                  check_seconds, tuning)
    return _small_site(data, grid, options, site, best, bound, fixings, rins_start, budget, progress, tuning)


def _small_moves_first(data, grid, options, site, path, best, bound, relaxed, budget, progress, check_seconds,
                       tuning) -> SolveResult:
    """A small site from a valid start: the moves and day re-plans until a round of days gains
    nothing, then iterated local search for the time left (`phases.iterated_local_search`), with two
    workers in a second process too (another seed, the better roster kept). With
    `tuning.iterated` off (main's path before it): the moves, day re-plans and neighbourhood search
    until a round of them gains nothing; then, if it is cheap enough to build
    (`strategy.model_after_moves`), the full model from their roster for the time left, with the
    best bound known, to improve the roster or prove it optimal; else the moves and neighbourhood
    search go on."""
    started = budget.started
    if tuning.iterated and not budget.deterministic:  # the moves and day re-plans once, then perturbations
        return _moves_then_kicks_twice(data, grid, options, path, best, bound, relaxed, budget, progress,
                                       check_seconds, tuning)
    best = large_site(data, grid, options, best.roster, best, bound, budget, progress, None, relaxed,
                      check_seconds, tuning, until_stalled=True)
    if best.status != "OPTIMAL" and strategy.model_after_moves(site, budget.left(), tuning):
        bound = max((b for b in (best.bound, bound) if b is not None), default=None)
        best = better(best, full_model(data, grid, options, best.roster, bound, {}, budget.left(), budget, progress,
                                       linearization=tuning.rins_linearization))
    elif best.status != "OPTIMAL":
        best = large_site(data, grid, options, best.roster, best, bound, budget, progress, None, relaxed,
                          check_seconds, tuning)
    best.seconds = clock.perf_counter() - started
    return best


def _moves_then_kicks_twice(data, grid, options, path, best, bound, relaxed, budget, progress, check_seconds,
                            tuning) -> SolveResult:
    """`phases.moves_then_kicks` here and, where the path has it, in a second process with another
    seed (`phases.SecondSearch`); the better roster by the validator's score."""
    # this search stops a validation or two before the limit; the second one a little earlier, to send its roster
    ends = clock.monotonic() + budget.left() - 2.0 * check_seconds - 0.5
    second = SecondSearch(data, best.roster, ends - SEND_SECONDS, tuning) if path.second_search else None
    best = moves_then_kicks(data, grid, options, best, budget, progress, relaxed, bound, check_seconds, tuning)
    if second is None:
        return best
    roster = second.roster(max(budget.wall_left() - 2.0 * check_seconds, 0.0))
    if roster is None:
        return best
    report = validate(data, roster)
    if report.feasible and report.objective < best.objective - 1e-9:
        best = better(best, SolveResult("FEASIBLE", roster, report.objective, best.bound, 0.0))
        if progress is not None:
            progress(best.objective, best.bound or 0.0, clock.perf_counter() - budget.started)
    best.seconds = clock.perf_counter() - budget.started
    return best


# Seconds a second search's roster takes to reach this process (pickled through a pipe).
SEND_SECONDS = 0.3


def _small_site(data, grid, options, site, best, bound, fixings, rins_start, budget, progress,
                tuning) -> SolveResult:
    """After column generation: the full model under the LP's fixings (RINS), then a short
    neighbourhood search and the free model, each from the best roster so far."""
    started = budget.started
    if best is not None and bound is not None:
        best.bound = bound
        if best.objective <= bound:
            best.status, best.seconds = "OPTIMAL", clock.perf_counter() - started
            return best
    if best is None:
        if not strategy.model_fits(site, budget.left(), tuning):  # a limit too small for any roster
            return SolveResult("UNKNOWN", None, bound=bound, seconds=clock.perf_counter() - started)
        return full_model(data, grid, options, None, bound, {}, budget.left(), budget, progress,
                          linearization=tuning.rins_linearization)
    built: list[float] = []
    if fixings:
        rins = tuning.rins_share if rins_start is None else tuning.rins_from_lp_share
        start = rins_start if rins_start is not None else best.roster
        best = better(best, full_model(data, grid, options, start, bound, fixings, rins * budget.left(), budget,
                                       progress, built, linearization=tuning.rins_linearization))
    if best.status != "OPTIMAL" or fixings:
        free = strategy.free_model_fits(budget.left(), max(built, default=0.0), budget.deterministic, tuning)
        if tuning.small_lns_share > 0 and best.status != "OPTIMAL":
            with budget.only((tuning.small_lns_share if free else 1.0) * budget.left()):
                best = better(best, neighbourhood_search(data, grid, options, best.roster, bound, budget, progress))
        if free:
            best = better(best, full_model(data, grid, options, best.roster, bound, {}, budget.left(), budget,
                                           progress, linearization=tuning.rins_linearization))
    best.seconds = clock.perf_counter() - started
    return best


def _monotone(progress: Progress | None) -> Progress | None:
    """Progress as a user should see it: the best objective and bound so far. (Each phase starts
    its own search, whose first solutions can be worse than an earlier phase's best.)"""
    if progress is None:
        return None
    best = {"objective": math.inf, "bound": -math.inf}

    def report(objective, bound, seconds):
        objective, bound = min(objective, best["objective"]), max(bound, best["bound"])
        if objective < best["objective"] or bound > best["bound"]:
            best.update(objective=objective, bound=bound)
            progress(objective, bound, seconds)

    return report
