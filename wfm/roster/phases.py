"""The phases of a roster solve, each a function the solver calls in the order its path gives
(`strategy.choose_path`): the greedy start, column generation, the full CP-SAT model, the LP's
roster as a start, the coverage moves with day re-plans, and neighbourhood search. Each returns a
`SolveResult` scored by the independent validator."""

from __future__ import annotations

import math
import multiprocessing as mp
import threading
import time as clock
from typing import NamedTuple

import pandas as pd

from .. import processes
from . import greedy
from .budget import Budget
from .domain import Roster, RosterInput
from .options import Grid, expand_options
from .model import RosterModel, SolveResult, explain_infeasibility
from .search import colgen, dayshift, lns, local, polish, relaxation
from .strategy import TUNING, Tuning
from .validator import validate


def greedy_start(data, grid, options, started, progress, spread: bool = False):
    """(greedy roster or None, None if it keeps every rule else the agents whose schedules do,
    its validated objective, seconds one validation of a whole roster takes). With `spread`, agents
    spread their weekly minimum over their most days (`greedy.spread_cap`); should that roster break
    a rule, the plain greedy's is taken."""
    roster = greedy.greedy_roster(data, grid, options, spread=spread)
    checked = clock.perf_counter()
    report = validate(data, roster)
    check_seconds = clock.perf_counter() - checked
    if spread and not report.feasible:
        return greedy_start(data, grid, options, started, progress)
    if report.feasible:
        if progress is not None:
            progress(report.objective, 0.0, clock.perf_counter() - started)
        return roster, None, report.objective, check_seconds
    broken = {v.agent for v in report.violations}
    if None in broken:  # a roster-wide rule is broken: no agent's schedule can be trusted alone
        return roster, set(), None, check_seconds
    return roster, {a.id for a in data.agents} - broken, None, check_seconds




def better(a: SolveResult, b: SolveResult) -> SolveResult:
    """The result with the lower objective (ties: the later one), keeping the best bound. A status
    of OPTIMAL from a restricted search proves nothing beyond it, so it is kept only at the bound."""
    if b.roster is None or b.objective is None:
        return a
    best = b if a.objective is None or b.objective <= a.objective + 1e-9 else a
    bounds = [x for x in (a.bound, b.bound) if x is not None]
    bound = max(bounds) if bounds else None
    status = "OPTIMAL" if bound is not None and best.objective <= bound + 1e-9 else "FEASIBLE"
    return SolveResult(status, best.roster, best.objective, bound, best.seconds)


def full_model(data, grid, options, start, bound, fixings, seconds, budget, progress, built=None,
               linearization: int = TUNING.rins_linearization) -> SolveResult:
    """The whole model, started from `start` (else a greedy roster), under `fixings`; with a known
    lower bound CP-SAT stops as soon as it reaches it. Without fixings, its own bound counts.
    Building the model counts against `seconds` (wall-clock budgets); `built`, a list, hears how
    long the build took."""
    building = clock.perf_counter()
    model = RosterModel(data, grid=grid, options=options, start=start)
    if fixings and start is not None:
        fixings = agreeing(fixings, model.choices(start))
    for key, value in fixings.items():
        if key in model.x:
            model.m.Add(model.x[key] == value)
    if fixings:
        model.linearization = linearization
    if bound is not None:
        model.m.Add(sum(w * e for _, w, e in model.penalties) >= math.ceil(bound - 1e-9))  # integral objective
    build = clock.perf_counter() - building
    if built is not None:
        built.append(build)
    if not budget.deterministic:
        seconds -= build
    elapsed = clock.perf_counter() - budget.started

    def shifted(objective, b, t):  # progress in time since the whole solve started
        # under fixings CP-SAT's bound holds for the restricted problem only
        progress(objective, (bound or 0.0) if fixings else b, t + elapsed)

    result = model.solve(shifted if progress else None, seconds=max(seconds, 1.0), budget=budget)
    result.seconds = clock.perf_counter() - budget.started
    if fixings and result.status == "OPTIMAL":
        result.status = "FEASIBLE"  # optimal under the fixings only
    if fixings:
        result.bound = None
    if bound is not None:
        result.bound = bound if result.bound is None else max(result.bound, bound)
    if result.status == "OPTIMAL" and result.bound is not None and result.objective is not None \
            and result.objective > result.bound + 1e-9:
        result.status = "FEASIBLE"
    return result




def nearly_converged(outcome, share: float = TUNING.nearly_converged) -> bool:
    """Pricing stopped within `share` of its LP from its best bound: a few more rounds finish it."""
    if outcome.converged or outcome.bound is None or outcome.lp_value is None:
        return False
    return outcome.lp_value - outcome.bound <= share * max(abs(outcome.lp_value), 1.0)


def agreeing(fixings: dict[tuple[str, int], int], picked: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The fixings the start roster keeps (RINS: fix only where the LP and the incumbent agree),
    so the start stays a solution under them and the search begins from it, not from repairing
    it. (The incumbent can be the dive's, whose late columns the LP's fixings never saw.)"""
    return {key: value for key, value in fixings.items() if (key in picked) == bool(value)}




def large_site(data, grid, options, start, best, bound, budget, progress, promising, relaxed,
               check_seconds: float = 0.0, tuning: Tuning = TUNING, until_stalled: bool = False) -> SolveResult:
    """Local search from a valid start (thousands of one-shift moves a second) until it stalls,
    then neighbourhood search (a few agents re-solved whole by CP-SAT: moves the local search
    cannot make), then the local search again from its result, and so on to the limit (or, with
    `until_stalled`, until a round of both gains nothing). `check_seconds` (one validation of a
    roster) is kept back so the limit holds."""
    started = budget.started
    # the last roster's conversion and validation (wall time: not part of a deterministic limit)
    reserve = 0.0 if budget.deterministic else 2.0 * check_seconds
    if best is None and not budget.deterministic and budget.left() <= reserve + 0.5:
        # no roster yet and no time to repair one: the limit bounds the work
        return SolveResult("UNKNOWN", None, bound=bound, seconds=clock.perf_counter() - started)
    if not local.applies(data):
        return neighbourhood_search(data, grid, options, start, bound, budget, progress, promising, relaxed,
                                    reserve)
    if best is None:  # a start that breaks rules is repaired by the search first, then the moves go on
        best = repaired(data, grid, options, start, bound, budget, progress, promising, relaxed, reserve, tuning)
        if best.roster is None or not validate(data, best.roster).feasible:
            return best
    while budget.left() > reserve + 0.5:
        before = best.objective
        best = improve_by_moves(data, grid, options, best, budget, budget.left() - reserve, progress, relaxed, bound,
                                0.0 if budget.deterministic else check_seconds, tuning)
        slice_ = max(tuning.neighbourhood_share * budget.left(), tuning.neighbourhood_min)
        if budget.left() - reserve < slice_ + 1.0:
            break
        with budget.only(slice_):
            searched = neighbourhood_search(data, grid, options, best.roster, bound, budget, progress, promising,
                                             relaxed)
        best = better(best, searched)
        if until_stalled and best.objective >= before - 1e-9:
            break
    best = with_best_bound(best, bound, relaxed() if relaxed is not None else None)  # the LP's too, if it has come
    best.seconds = clock.perf_counter() - started
    return best


def with_best_bound(best: SolveResult, *bounds: float | None) -> SolveResult:
    """`best` with the highest of its own bound and `bounds` (None: not known), OPTIMAL if it meets it."""
    known = [b for b in (best.bound, *bounds) if b is not None]
    best.bound = max(known) if known else None
    if best.bound is not None and best.objective <= best.bound + 1e-9:
        best.status = "OPTIMAL"
    return best


def repaired(data, grid, options, start, bound, budget, progress, promising, relaxed, reserve,
             tuning: Tuning = TUNING) -> SolveResult:
    """The neighbourhood search from a start that breaks rules (it repairs the agents breaking them
    first), for a slice of the time left; if that slice ends with some agent still broken, for all
    of it, from the start again."""
    slice_ = min(max(tuning.neighbourhood_share * budget.left(), tuning.neighbourhood_min), budget.left() - reserve)
    with budget.only(slice_):
        result = neighbourhood_search(data, grid, options, start, bound, budget, progress, promising, relaxed)
    if result.roster is not None or result.status == "INFEASIBLE":
        return result
    return neighbourhood_search(data, grid, options, start, bound, budget, progress, promising, relaxed, reserve)


def improve_by_moves(data, grid, options, best, budget, seconds, progress, relaxed, bound, check_seconds,
                     tuning: Tuning = TUNING) -> SolveResult:
    """The local search on `best` for `seconds` at most (less if it stalls), scored by the validator."""
    def report(change):
        if progress is not None:
            lp = relaxed() if relaxed is not None else None
            progress(best.objective + change, max([b for b in (bound, lp, 0.0) if b is not None]),
                     clock.perf_counter() - budget.started)

    began = clock.perf_counter()
    roster, search = polish.improve(data, grid, options, best.roster, seconds - check_seconds, seed=data.solver.seed,
                                   budget=budget, report=report, patience=tuning.stall_moves, began=began,
                                   replan=True, slow=tuning.replan_gain_rate * abs(best.objective))
    if search is None or search.value >= -1e-9:
        return best
    result = SolveResult("FEASIBLE", roster, validate(data, roster).objective, best.bound, 0.0)
    return better(best, result)


def iterated_local_search(data, grid, options, best, budget, progress, relaxed, check_seconds,
                          tuning: Tuning = TUNING) -> SolveResult:
    """From a valid `best` the moves stalled on (wall-clock limits): again and again, one day of a
    few agents ruined and recreated, then the moves and day re-plans until they stall, keeping a
    roster only when the validator scores it better than the best, until the limit (less the time
    of a validation or two). Every other round the kick moves a few agents' shifts to one of their
    days off instead (`tuning.kick_week_agents`): the working pattern, which the day re-plan keeps."""
    reserve = 2.0 * check_seconds
    kick = max(1, round(tuning.kick_share * len(data.agents)))
    round_ = 0
    while budget.left() > reserve + 0.5:
        round_ += 1
        week = tuning.kick_week_agents > 0 and round_ % 2 == 0  # every other round, the working pattern
        roster, search = polish.improve(data, grid, options, best.roster, budget.left() - reserve - check_seconds,
                                        seed=data.solver.seed + round_, budget=budget,
                                        patience=tuning.kick_patience, replan=True, kick=0 if week else kick,
                                        kick_week=tuning.kick_week_agents if week else 0,
                                        slow=tuning.replan_gain_rate * abs(best.objective))
        if search is None:
            break
        if search.value >= -1e-9:  # the search's own exact score of its roster against the best's
            continue  # no better: not worth a validation
        report = validate(data, roster)
        if report.feasible and report.objective < best.objective - 1e-9:
            best = better(best, SolveResult("FEASIBLE", roster, report.objective, best.bound, 0.0))
            if progress is not None:
                lp = relaxed() if relaxed is not None else None
                progress(best.objective, max(b for b in (best.bound, lp, 0.0) if b is not None),
                         clock.perf_counter() - budget.started)
    best = with_best_bound(best, relaxed() if relaxed is not None else None)
    best.seconds = clock.perf_counter() - budget.started
    return best


def moves_then_kicks(data, grid, options, best, budget, progress, relaxed, bound, check_seconds,
                     tuning: Tuning = TUNING) -> SolveResult:
    """From a valid `best`: the moves and day re-plans until a round of days gains nothing, then
    iterated local search for the time left (wall-clock limits)."""
    best = improve_by_moves(data, grid, options, best, budget, budget.left() - 2.0 * check_seconds, progress,
                            relaxed, bound, check_seconds, tuning)
    return iterated_local_search(data, grid, options, best, budget, progress, relaxed, check_seconds, tuning)


# A second search's seed: far from the first's, whose rounds take seed + 1, seed + 2, ...
SECOND_SEED = 1_000_003


def _second_search_main(data: RosterInput, start: Roster, deadline: float, tuning: Tuning, sender) -> None:
    """In the second process: `moves_then_kicks` from `start` until `deadline` (time.monotonic), with
    another seed; sends the best roster (None if it found nothing better than the start)."""
    seconds = deadline - clock.monotonic()
    solver = data.solver.model_copy(update={"time_limit_seconds": max(seconds, 0.01),
                                            "seed": data.solver.seed + SECOND_SEED})
    data = data.model_copy(update={"solver": solver})
    budget = Budget(data.solver)
    grid = Grid(data)
    options = expand_options(data, grid)
    checked = clock.perf_counter()
    report = validate(data, start)
    check_seconds = clock.perf_counter() - checked
    best = SolveResult("FEASIBLE", start, report.objective, None, 0.0)
    found = moves_then_kicks(data, grid, options, best, budget, None, None, None, check_seconds, tuning)
    try:
        sender.send(found.roster if found.objective < report.objective - 1e-9 else None)
    except OSError:  # the solve stopped waiting: nobody is there to receive it
        pass
    sender.close()


class SecondSearch:
    """`moves_then_kicks` from the same start with another seed, in a process of its own (the moves
    are Python: threads would share one core), until `deadline` (time.monotonic; the caller leaves
    time after it for the roster to come back). Not started inside a daemon process, which may have
    no children, nor where the process fails to start: `roster()` is then None."""

    def __init__(self, data: RosterInput, start: Roster, deadline: float, tuning: Tuning = TUNING):
        self.process, self.reader, self.starting = None, None, None
        if mp.current_process().daemon:
            return
        # started from a thread: the first start waits for the fork server to import the solver
        self.starting = threading.Thread(target=self._start, args=(data, start, deadline, tuning),
                                         name="roster-second-search-start", daemon=True)
        self.starting.start()

    def _start(self, data, start, deadline, tuning) -> None:
        context = processes.context(["wfm.roster.phases"])
        reader, writer = context.Pipe(duplex=False)
        process = context.Process(target=_second_search_main, args=(data, start, deadline, tuning, writer),
                                  name="roster-second-search", daemon=True)
        try:
            process.start()
            self.process, self.reader = process, reader
        except (OSError, RuntimeError):  # e.g. a calling script without a __main__ guard: one search only
            reader.close()
        finally:
            writer.close()

    def roster(self, wait: float) -> Roster | None:
        """Its best roster, waiting up to `wait` seconds for it; None if none better or not in time.
        The process is ended either way."""
        if self.starting is None:
            return None
        waited = clock.perf_counter()
        self.starting.join(max(wait, 0.0))
        if self.process is None:  # not started, or not yet (then it ends with this process)
            return None
        wait -= clock.perf_counter() - waited
        found = None
        try:
            if self.reader.poll(max(wait, 0.0)):
                found = self.reader.recv()
        except (EOFError, OSError):  # the process died (out of memory, killed)
            found = None
        finally:
            self.reader.close()
            if found is not None:
                self.process.join(0.5)  # it ends once it has sent
            if self.process.is_alive():
                self.process.terminate()
                self.process.join(1.0)
        return found


class LpBound:
    """The LP relaxation of a large site (`search/relaxation.py`), solved in a thread while the search runs
    (HiGHS releases the interpreter lock). Called, it gives the bound once there (else None)."""

    def __init__(self, data, grid, options):
        self.groups = colgen.group_agents(data)
        self.bound, self.counts = None, []

        def run():
            self.bound, self.counts = relaxation.lower_bound(data, grid, options, self.groups,
                                                             data.solver.time_limit_seconds)

        self.thread = threading.Thread(target=run, name="roster-lp-bound", daemon=True)
        self.thread.start()

    def __call__(self) -> float | None:
        return self.bound

    def guide(self, wait: float) -> dict[str, dict[int, float]] | None:
        """Per agent, the LP's count of its group's agents on each option (one dict per group, for
        `greedy.greedy_roster` to count down), after waiting up to `wait` seconds; None if not there."""
        self.thread.join(max(wait, 0.0))
        if self.thread.is_alive() or not self.counts:
            return None
        guide = {}
        for agents, counts in zip(self.groups, self.counts):
            left = dict(counts)
            guide.update({a.id: left for a in agents})
        return guide


def lp_start(data, grid, options, relaxed: LpBound, budget, best, greedy_seconds, progress,
             reserve: float = TUNING.lp_start_reserve) -> SolveResult:
    """The better of `best` and a greedy roster that follows the LP relaxation's roster: agents take
    the shifts the LP gives their group, up to their contract minimum (the LP's optimum has every
    agent at it), so the local search starts from the LP's shape of the week. Measured on the
    generated 1,000-agent week, 60 s without column generation: 696,092 from the plain greedy
    start, 672,864 from this one (built at 38 s, after the LP)."""
    if budget.deterministic:  # the wait and the reserve are wall time: wait for the LP, whatever it takes
        guide = relaxed.guide(budget.wall_left())
    else:
        guide = relaxed.guide(budget.left() - reserve * greedy_seconds)
        if budget.left() < reserve * greedy_seconds:
            return best
    if guide is None:
        return best
    roster = greedy.greedy_roster(data, grid, options, guide)
    report = validate(data, roster)
    if not report.feasible or report.objective >= best.objective:
        return best
    if progress is not None:
        progress(report.objective, relaxed() or 0.0, clock.perf_counter() - budget.started)
    return SolveResult("FEASIBLE", roster, report.objective, best.bound, 0.0)


def neighbourhood_search(data, grid, options, roster, bound, budget, progress, promising=None,
                          relaxed=None, reserve: float = 0.0) -> SolveResult:
    """Large-neighbourhood search from `roster` until `reserve` seconds are left (for the final
    validation); agents whose schedule in it breaks a rule are repaired first. With `promising`
    options per agent (from column generation), neighbourhood models offer an agent only those and
    its current shifts: far smaller models, more steps.
    `relaxed()` gives the LP bound once its background solve is done."""
    params, started = data.solver, budget.started
    report = validate(data, roster)
    broken = {v.agent for v in report.violations if v.agent is not None}
    score = None if broken else report.objective

    lookup = {(o.day, o.template, o.first): o.index for o in options}
    days = {day: d for d, day in enumerate(grid.days)}

    def model(agents, fixed, start, free_days):
        candidates = None
        if promising is not None:
            candidates = {a.id: set(promising.get(a.id, ())) for a in agents}
            for sh in start.shifts:
                key = (days[sh.day], sh.template, grid.index_of(pd.Timestamp(sh.start)))
                candidates[sh.agent].add(lookup[key])
        return RosterModel(data, agents=agents, grid=grid, options=options, start=start, fixed=fixed,
                           free_days=free_days, candidates=candidates)

    def best_bound():
        lp = relaxed() if relaxed is not None else None
        known = [b for b in (bound, lp) if b is not None]
        return max(known) if known else None

    def better(current, gain):
        nonlocal score
        score = validate(data, current).objective if score is None or math.isinf(gain) else score - gain
        if progress is not None:
            progress(score, best_bound() or 0.0, clock.perf_counter() - started)

    try:
        roster, search = lns.improve(data, grid, options, roster, budget.left() - reserve, model, seed=params.seed,
                                     workers=params.workers, on_better=better, broken=broken, budget=budget)
    except lns.Unrepairable:
        return SolveResult("INFEASIBLE", None, seconds=clock.perf_counter() - started,
                           conflicts=explain_infeasibility(data))
    seconds = clock.perf_counter() - started
    if search.broken:  # time ran out before every agent had a valid schedule
        return SolveResult("UNKNOWN", None, seconds=seconds)
    score, bound = validate(data, roster).objective, best_bound()
    status = "OPTIMAL" if bound is not None and score <= bound + 1e-9 else "FEASIBLE"
    return SolveResult(status, roster, score, bound, seconds)


class Priced(NamedTuple):
    """What column generation hands on to the rest of a solve."""
    first: SolveResult | None         # the best roster from the columns (validator's objective)
    bound: int | None                 # Lagrangian lower bound
    size: int | None                  # (agent, option) pairs; None when some agent has no schedule
    fixings: dict                     # (agent, option) -> 0/1 the LP is unanimous about
    promising: dict | None            # per agent: every option some column of its group uses
    rins_start: Roster | None = None  # the LP rounded, when the search under the fixings starts there


def column_generation(data, grid, options, budget, progress, start=None, share: float = 0.4,
                      dive: float = TUNING.dive_share, master: float = TUNING.master_share,
                      nearly: float = TUNING.nearly_converged) -> Priced:
    """The roster is the integer master's (`master` of the time limit; 0 skips it) or, when that is
    not at the bound, the price-and-dive's (`dive` of the time limit, plus what pricing left of its
    own `share` by converging early) if better; when pricing stopped nearly converged, the dive's
    time prices on instead and the LP rounded becomes `rins_start`."""
    params = data.solver

    def pricing_model(agents):
        return RosterModel(data, agents=agents, pricing=True, grid=grid, options=options)

    gen = colgen.ColumnGenerator(data, grid, options, pricing_model, workers=params.workers)
    size = sum(len(g.agents) * len(g.options) for g in gen.groups)
    began = budget.elapsed()
    try:
        outcome = gen.run(share * budget.total, seed=params.seed, start=start, budget=budget)
        unused = max(share * budget.total - (budget.elapsed() - began), 0.0)  # pricing converged early
    except colgen.Infeasible:
        return Priced(None, None, None, {}, None)
    except colgen.OutOfTime:
        return Priced(None, None, size, {}, None)
    rins_start = None
    if dive > 0 and master > 0 and nearly_converged(outcome, nearly):
        # Pricing stopped just short of converging. A dive would not finish on such a site: it
        # fixes the last agents unpriced (Instance12: 8,013 against an LP of 4,047). The dive's
        # time goes to pricing on at the LP's own duals instead, and the search under the LP's
        # fixings starts from the LP rounded (Instance12, 60 s, seeds 0/1/2: 4,041/4,042/4,042,
        # against 4,544/4,752 after the dive).
        earlier = outcome.bound
        outcome = gen.run(dive * budget.total, seed=params.seed + 1, alpha=0.0, budget=budget, resume=True)
        outcome.bound = max((b for b in (earlier, outcome.bound) if b is not None), default=None)
        rounded = colgen.lp_rounded(gen, outcome)
        rins_start = colgen.roster_of(rounded, options, grid, gen.rows.queues, data) if rounded else None
        dive = 0.0
    # Every penalty is non-negative, so 0 bounds the objective too; the Lagrangian bound of an
    # unconverged run can lie below it.
    bound = max(math.ceil(outcome.bound - 1e-6), 0) if outcome.bound is not None else None
    roster, value = None, math.inf

    def consider(candidate: Roster | None):  # keep the better valid roster by the validator's score
        nonlocal roster, value
        if candidate is None:
            return
        # A column of an agent's group can still be the empty schedule of a start that left out
        # agents breaking a rule: a roster with it keeps no contract minimum, however low it scores.
        report = validate(data, candidate)
        score = report.objective if report.feasible else math.inf
        if score < value:
            roster, value = candidate, score

    if master > 0:
        seconds = min(master * budget.total, max(budget.left() * 0.3, 0.5))
        assignment = colgen.master_roster(gen, outcome, seconds=seconds, seed=params.seed, workers=params.workers,
                                          budget=budget)
        consider(colgen.roster_of(assignment, options, grid, gen.rows.queues, data) if assignment else None)
    if dive > 0 and (bound is None or value > bound):
        dived = colgen.dive(gen, dive * budget.total + unused, seed=params.seed, budget=budget)
        consider(colgen.roster_of(dived, options, grid, gen.rows.queues, data) if dived is not None else None)
    consider(rins_start)
    if roster is None:
        return Priced(None, bound, size, {}, None)
    if progress is not None:
        progress(value, bound if bound is not None else 0.0, clock.perf_counter() - budget.started)
    promising = {}  # per agent: every option some column of its group uses (for neighbourhood search)
    for c in outcome.columns:
        for a in gen.groups[c.group].agents:
            promising.setdefault(a.id, set()).update(p.option for p in c.shifts)
    first = SolveResult("FEASIBLE", roster, value, bound, 0.0)
    return Priced(first, bound, size, colgen.lp_fixings(gen, outcome), promising, rins_start)


DAY_SHIFT_BOUND = "Lagrangian relaxation over day-shift paths (search/dayshift.py)"


def day_shift_site(data, grid, options, best, bound, budget, progress, check_seconds, tuning: Tuning = TUNING):
    """A large day-shift site (`dayshift.applies`) from a valid `best`: the Lagrangian bound by
    subgradient steps over shortest paths in a thread for the whole solve (its array work releases
    the interpreter lock), while each agent's whole schedule is re-chosen against the others in
    sweeps (`tuning.day_shift_reoptimise_share` of the time left at most), then the moves and
    neighbourhood search for the rest. Returns (the result, the Lagrangian bound or None).
    Re-plans first: from the greedy start they gained more than the moves did before them
    (bench/RESULTS.md, "Curtois format at 100-150 employees")."""
    reserve = 2.0 * check_seconds
    lagrangian = LagrangianBound(data, grid, options, budget.left() - reserve - 0.5, lambda: best.objective)
    gen = dayshift.DayShiftColumns(data, grid, options)
    best = replanned(data, gen, best, tuning.day_shift_reoptimise_share * (budget.left() - reserve), bound,
                     budget, progress)
    result = large_site(data, grid, options, best.roster, best, bound, budget, progress, None, lagrangian,
                        check_seconds, tuning)
    final = lagrangian()  # read once: the thread may still raise it
    return with_best_bound(result, final), final


class LagrangianBound:
    """`dayshift.DayShiftColumns.lagrangian` in a thread for `seconds`, Polyak steps towards the
    best objective `upper()` knows; called, the best bound so far (None before the first step)."""

    def __init__(self, data, grid, options, seconds: float, upper):
        self.gen = dayshift.DayShiftColumns(data, grid, options)

        def run():
            try:
                self.gen.lagrangian(seconds, upper=upper, keep=0)
            except dayshift.Infeasible:
                pass

        self.thread = threading.Thread(target=run, name="roster-lagrangian-bound", daemon=True)
        self.thread.start()

    def __call__(self) -> float | None:
        return self.gen.proven()


def replanned(data, gen, best, seconds, bound, budget, progress) -> SolveResult:
    """Agent re-plans (`dayshift.reoptimise`) from `best` for up to `seconds`; the better by the validator."""
    roster, change = dayshift.reoptimise(gen, best.roster, seconds, seed=data.solver.seed)
    if change >= -1e-9:
        return best
    report = validate(data, roster)
    if not report.feasible or report.objective >= best.objective - 1e-9:
        return best
    if progress is not None:
        progress(report.objective, bound or 0.0, clock.perf_counter() - budget.started)
    return SolveResult("FEASIBLE", roster, report.objective, best.bound, 0.0)
