"""How a roster solve spends its time: which phases run on a site, and the shares of the limit each
gets. Pure functions of facts about the site; nothing here searches, so tests ask it directly.

The measurements behind each number are in bench/RESULTS.md ("Solver tuning").
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Tuning:
    """Every knob of the solve path, each with why it is where it is."""

    # Sites up to this many (agent, shift option) pairs are small: CP-SAT can prove their optimum.
    full_model_limit: int = 20_000
    # Sites with a valid greedy start where the moves and day re-plans apply go to them at once (no columns).
    moves_first: bool = True
    # Small sites up to this many pairs go to the full model first: CP-SAT proves such models within
    # seconds. Larger small sites go moves first too where those apply, the full model getting the
    # time the moves leave (the suite's s10, 4,690 pairs, was not proven in 60 s by the full model path).
    proof_first_limit: int = 1_000
    # Column generation may spend this share of the limit (it stops earlier once converged).
    colgen_share: float = 0.4
    # Large sites: of the time left after the greedy; the moves and day re-plans need the rest.
    large_colgen_share: float = 0.2
    # Large sites price only with time for this many validations of a roster left.
    colgen_min_checks: int = 50
    # Past this many (group, shift option) pairs a pricing round costs more than it pays back.
    colgen_limit: int = 100_000
    # Of the limit, the price-and-dive after column generation (small and large sites).
    dive_share: float = 0.2
    large_dive_share: float = 0.08
    # Of the limit, the integer master over the columns (small sites only: large ones lose to the dive).
    master_share: float = 0.05
    # Pricing within this share of the LP from its bound is nearly converged: price on, skip the dive.
    nearly_converged: float = 0.1
    # Of the time left, the search under the LP's fixings (RINS) from a dive's roster ...
    rins_share: float = 0.35
    # ... and from the LP rounded, where that search is what builds the roster.
    rins_from_lp_share: float = 0.95
    # CP-SAT's linearization level under the LP's fixings (every constraint linearized, with cuts).
    rins_linearization: int = 2
    # Small sites: of the time left after RINS, a neighbourhood search before the free model.
    small_lns_share: float = 0.15
    # Seconds the final free model must have beyond its build to be worth starting.
    full_model_min_solve: float = 1.0
    # The full model's build, seconds per (agent, option) pair and interval (measured: bench/RESULTS.md) ...
    model_build_seconds: float = 3e-6
    # ... and after the moves stall on a small site it runs only if its build takes at most this share
    # of the time left (else the moves and neighbourhood search go on, which gain more there).
    model_after_moves_share: float = 0.2
    # A large site waits for its LP roster while this many greedy builds' worth of time is left.
    lp_start_reserve: float = 1.5
    # Large sites: the moves stop after this many moves without a new best ...
    stall_moves: int = 30_000
    # ... and days are re-planned whole once the moves gain less than this share of the objective a second.
    replan_gain_rate: float = 0.002
    # Then a neighbourhood search gets this share of the time left, at least `neighbourhood_min` seconds.
    neighbourhood_share: float = 0.3
    neighbourhood_min: float = 5.0
    # Small sites moves first, once a round of moves, day re-plans and neighbourhood search gains nothing:
    # iterated local search (one day of this share of the agents ruined and recreated, then the moves
    # until `kick_patience` moves without a new best, the best kept by the validator) instead of more
    # of the same from the same roster.
    iterated: bool = True
    kick_share: float = 0.3
    kick_patience: int = 1_000
    # Every other round the kick moves this many agents' shifts to one of their days off instead (0:
    # never): the day re-plan keeps who works which day, and most agents sit at their minimum days.
    kick_week_agents: int = 3
    # With two workers, a second process runs the same moves and iterated local search from the same
    # start with another seed, the better roster kept: the moves are Python on one core, and the
    # local optimum they stall in depends on the seed. Only with this many seconds left (the process
    # and its imports take one or two).
    second_search: bool = True
    second_search_min_seconds: float = 5.0
    # Column generation's set-up (one pricing model per group), seconds per (group, shift option) pair.
    # Under a wall-clock limit it runs only if that set-up fits its share of the time left (a tiny limit
    # must not be spent building models it cannot solve).
    column_setup_seconds: float = 1e-4
    # Under a wall-clock limit the LP bound solves in the background only with this many seconds left.
    lp_bound_min_seconds: float = 1.0
    # The greedy start's speed in (agent, option, shift) units a second; skipped past `greedy_share` of the limit.
    greedy_units_per_second: float = 20_000_000
    greedy_share: float = 0.5
    # Large day-shift sites past `day_shift_colgen_limit` (`search/dayshift.py`, the Curtois-Qu format),
    # wall-clock limits: the Lagrangian bound in the background, the agent re-plans this share of the
    # time left after the greedy start at most, then the moves and neighbourhood search.
    day_shift_reoptimise_share: float = 0.6
    # Day-shift sites price with CP-SAT up to this many (group, option) pairs: without intervals pricing
    # is cheap, and below it the dive rosters better than agent re-plans (bench/RESULTS.md, "Curtois
    # format at 100-150 employees").
    day_shift_colgen_limit: int = 300_000


TUNING = Tuning()


@dataclass(frozen=True)
class Site:
    """What the strategy reads of a site, before any search runs."""

    agents: int
    option_pairs: int            # agents x shift options
    shifts_each: int             # shifts an agent works over the horizon, about (the greedy's work)
    moves_apply: bool            # the coverage moves model every term of the objective (`local.applies`)
    days_replan_moves_days: bool  # the day re-plan applies and may move days on and off
    columns_apply: bool          # column generation models every term (`colgen.applies`)
    column_cost: int             # (group, shift option) pairs pricing would cover
    deterministic: bool          # a deterministic limit: wall-clock estimates must not steer the path
    time_limit: float            # wall-clock seconds
    intervals: int = 0           # of the horizon's grid
    day_shift: bool = False      # one shift a day, cover per (day, template): `dayshift.applies`
    workers: int = 1             # the solver's threads (`solver.workers`)


@dataclass(frozen=True)
class Path:
    """The phases a solve runs, in order: greedy start, then column generation, then (large sites)
    the LP's roster as a start, the moves, day re-plans and neighbourhood search, or (small sites)
    the full CP-SAT model; small sites going moves first run the moves, day re-plans and
    neighbourhood search until they stall, then the full model."""

    large: bool
    moves_first: bool          # straight from the greedy start to the moves (no columns, no LP start)
    column_generation: bool
    lp_bound: bool             # the LP relaxation solves in the background from the start (large / moves first)
    lp_start: bool             # a large site may wait for the LP's roster as its start
    second_search: bool = False  # a second process runs the moves and iterated local search too (small sites)
    colgen_share: float = 0.0  # of the limit
    dive_share: float = 0.0
    master_share: float = 0.0
    day_shift: bool = False    # large day-shift site: agent re-plans by shortest paths
    lagrangian_bound: bool = False  # the day-shift Lagrangian bound solves in the background from the start


def is_large(site: Site, tuning: Tuning = TUNING) -> bool:
    return site.option_pairs > tuning.full_model_limit


def greedy_affordable(site: Site, tuning: Tuning = TUNING) -> bool:
    """Whether the greedy start fits its share of the limit (the largest Curtois sizes it may not)."""
    work = site.option_pairs * site.shifts_each
    return work <= tuning.greedy_units_per_second * tuning.greedy_share * site.time_limit


def plans_moves_first(site: Site, tuning: Tuning = TUNING) -> bool:
    """Before the greedy runs: the site goes to the moves first if its start turns out valid. The
    moves build on their start's week shape, so such a start spreads weekly minimums (`spread`).
    Small sites too above `proof_first_limit` (the full model follows the moves there)."""
    sized = is_large(site, tuning) or site.option_pairs > tuning.proof_first_limit
    return tuning.moves_first and sized and site.moves_apply and not site.deterministic \
        and site.days_replan_moves_days


def choose_path(site: Site, start_valid: bool, check_seconds: float, left: float, total: float,
                tuning: Tuning = TUNING) -> Path:
    """The path once the greedy start is known: `start_valid` (it keeps every rule), `check_seconds`
    (one validation of a roster), and the budget's units `left` of its `total` (seconds, or
    deterministic time under a deterministic limit)."""
    large = is_large(site, tuning)
    priceable = site.columns_apply and site.column_cost <= tuning.colgen_limit
    day_shift = large and site.day_shift and start_valid and not site.deterministic
    if day_shift:
        # The bound comes from the shortest paths in the background (the interval LP is too slow at this
        # size). Pricing a day-shift site's agents is cheap (no intervals): columns and their dive up to
        # `day_shift_colgen_limit`; past it, agent re-plans.
        affordable = left >= tuning.colgen_min_checks * check_seconds and columns_fit(site, left, tuning)
        if site.columns_apply and site.column_cost <= tuning.day_shift_colgen_limit and affordable:
            return Path(large=True, moves_first=False, column_generation=True, lp_bound=False, lp_start=False,
                        colgen_share=tuning.large_colgen_share * left / total, dive_share=tuning.large_dive_share,
                        lagrangian_bound=True)
        return Path(large=True, moves_first=False, column_generation=False, lp_bound=False, lp_start=False,
                    day_shift=True, lagrangian_bound=True)
    moves_first = plans_moves_first(site, tuning) and start_valid
    # On a large site column generation's fixed costs grow with the agents: with little time for its
    # size, the moves do more with all of it.
    affordable = not large or site.deterministic or left >= tuning.colgen_min_checks * check_seconds
    columns = priceable and affordable and not moves_first and columns_fit(site, left, tuning)
    shares = {}
    if columns and large:
        shares = dict(colgen_share=tuning.large_colgen_share * left / total, dive_share=tuning.large_dive_share)
    elif columns:
        shares = dict(colgen_share=tuning.colgen_share, dive_share=tuning.dive_share, master_share=tuning.master_share)
    return Path(large=large, moves_first=moves_first, column_generation=columns,
                lp_bound=(large or moves_first) and priceable,
                lp_start=large and priceable and not moves_first,
                second_search=moves_first and not large and second_search_fits(site, left, tuning), **shares)


def second_search_fits(site: Site, left: float, tuning: Tuning = TUNING) -> bool:
    """Whether a second process may search beside this one: two workers, a wall-clock limit (which
    roster wins would depend on the machine under a deterministic one), iterated local search on,
    and time left for the process to start and search."""
    return tuning.second_search and tuning.iterated and site.workers >= 2 and not site.deterministic \
        and left >= tuning.second_search_min_seconds


def columns_fit(site: Site, left: float, tuning: Tuning = TUNING) -> bool:
    """Whether column generation's set-up fits its share of the `left` seconds (always under a
    deterministic limit, whose path must not depend on the machine)."""
    return site.deterministic or site.column_cost * tuning.column_setup_seconds <= tuning.colgen_share * left


def model_fits(site: Site, left: float, tuning: Tuning = TUNING) -> bool:
    """Whether the full model's estimated build fits in the `left` seconds (always under a
    deterministic limit)."""
    return site.deterministic or site.option_pairs * site.intervals * tuning.model_build_seconds < left


def model_after_moves(site: Site, left: float, tuning: Tuning = TUNING) -> bool:
    """A small site gone moves first, once the moves stall with `left` seconds to go: whether the full
    model (to improve or prove) is cheap enough to build, else the moves and neighbourhood search go on."""
    build = site.option_pairs * site.intervals * tuning.model_build_seconds
    return build <= tuning.model_after_moves_share * left and left > build + tuning.full_model_min_solve


def free_model_fits(left: float, build_seconds: float, deterministic: bool, tuning: Tuning = TUNING) -> bool:
    """Small sites, after the search under the LP's fixings: whether the free model, built again,
    still has time to search once the neighbourhood search has had its share (else that search
    takes all the time left)."""
    return deterministic or (1 - tuning.small_lns_share) * left > build_seconds + tuning.full_model_min_solve
