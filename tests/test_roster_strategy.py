"""The solve path as a pure choice (`strategy.choose_path`), asked directly with site facts."""

from __future__ import annotations

import dataclasses

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wfm.roster import strategy
from wfm.roster.strategy import Site, Tuning

TUNING = Tuning()


def site(**changes) -> Site:
    """A 200-agent week the moves, day re-plans and column generation all apply to."""
    base = Site(agents=200, option_pairs=200 * 3000, shifts_each=5, moves_apply=True, days_replan_moves_days=True,
                columns_apply=True, column_cost=20_000, deterministic=False, time_limit=60.0)
    return dataclasses.replace(base, **changes)


sites = st.builds(Site, agents=st.integers(1, 3000), option_pairs=st.integers(1, 10_000_000),
                  shifts_each=st.integers(1, 300), moves_apply=st.booleans(), days_replan_moves_days=st.booleans(),
                  columns_apply=st.booleans(), column_cost=st.integers(0, 500_000), deterministic=st.booleans(),
                  time_limit=st.floats(1.0, 3600.0))


def test_a_large_site_with_a_valid_start_goes_to_the_moves_first():
    path = strategy.choose_path(site(), True, 0.05, 59.0, 60.0)
    assert path.large and path.moves_first and path.lp_bound
    assert not path.column_generation and not path.lp_start


def test_a_large_site_whose_start_breaks_a_rule_prices_columns_and_may_wait_for_the_lp():
    path = strategy.choose_path(site(), False, 0.05, 59.0, 60.0)
    assert path.column_generation and path.lp_start and not path.moves_first
    assert path.master_share == 0.0 and path.dive_share == TUNING.large_dive_share
    # of the time left after the greedy, not of the whole limit
    assert path.colgen_share == pytest.approx(TUNING.large_colgen_share * 59.0 / 60.0)


@pytest.mark.parametrize("change", [{"days_replan_moves_days": False}, {"moves_apply": False},
                                    {"deterministic": True}, {"option_pairs": TUNING.proof_first_limit}])
def test_no_moves_first_where_the_moves_or_day_replans_cannot_build_the_week(change):
    """Days fixed in the re-plan (shift-demand cover, as Curtois's instances), coverage the moves
    cannot score, a deterministic limit (the re-plan's MIP is timed by the clock) or a site small
    enough for CP-SAT to prove: the start comes from elsewhere, plainly."""
    assert not strategy.plans_moves_first(site(**change))
    assert not strategy.choose_path(site(**change), True, 0.05, 59.0, 60.0).moves_first


def test_a_large_site_with_little_time_for_its_size_skips_column_generation():
    """Column generation's fixed costs grow with the agents: with fewer than `colgen_min_checks`
    validations' worth of time left, the moves get all of it."""
    slow_check = 59.0 / TUNING.colgen_min_checks * 1.01
    assert not strategy.choose_path(site(), False, slow_check, 59.0, 60.0).column_generation
    assert strategy.choose_path(site(deterministic=True), False, slow_check, 59.0, 60.0).column_generation


def test_a_small_site_with_a_valid_start_goes_to_the_moves_first_with_the_lp_bound_behind():
    """The sample site (30 agents, 5,250 pairs): moves first, the LP bound solving in the
    background, no columns; it stays small (the full model follows the moves)."""
    small = site(agents=30, option_pairs=5_250, column_cost=2_000)
    assert strategy.plans_moves_first(small)
    path = strategy.choose_path(small, True, 0.01, 29.8, 30.0)
    assert not path.large and path.moves_first and path.lp_bound
    assert not path.column_generation and not path.lp_start and path.master_share == 0.0


def test_a_small_site_whose_start_breaks_a_rule_keeps_the_full_model_path():
    path = strategy.choose_path(site(agents=30, option_pairs=5_250), False, 0.01, 29.8, 30.0)
    assert not path.moves_first and path.column_generation and not path.lp_bound


def test_a_small_site_prices_with_the_integer_master_and_never_waits_for_an_lp():
    path = strategy.choose_path(site(option_pairs=TUNING.proof_first_limit), True, 0.01, 30.0, 30.0)
    assert not path.large and path.column_generation and not path.lp_bound and not path.lp_start
    assert (path.colgen_share, path.dive_share, path.master_share) == \
        (TUNING.colgen_share, TUNING.dive_share, TUNING.master_share)


def test_tuning_moves_the_boundaries():
    assert not strategy.is_large(site(), Tuning(full_model_limit=10**9))
    assert not strategy.choose_path(site(), True, 0.05, 59.0, 60.0, Tuning(moves_first=False)).moves_first
    assert not strategy.choose_path(site(), False, 0.05, 59.0, 60.0, Tuning(colgen_limit=100)).column_generation
    assert strategy.plans_moves_first(site(option_pairs=5_000))
    assert not strategy.plans_moves_first(site(option_pairs=5_000), Tuning(proof_first_limit=5_000))


@given(sites, st.booleans(), st.integers(0, 10_000_000))
def test_proof_first_limit_decides_for_small_sites_only(site_, valid, limit):
    """At the full model limit it recreates the earlier choice (`--tuning proof_first_limit=20000`):
    no small site goes to the moves first. Large sites take the same path whatever its value."""
    earlier = strategy.choose_path(site_, valid, 0.01, 30.0, 30.0, Tuning(proof_first_limit=TUNING.full_model_limit))
    assert earlier.large or not earlier.moves_first
    if strategy.is_large(site_):
        assert strategy.choose_path(site_, valid, 0.01, 30.0, 30.0, Tuning(proof_first_limit=limit)) == \
            strategy.choose_path(site_, valid, 0.01, 30.0, 30.0)


@given(sites, st.booleans())
def test_moves_first_exactly_where_the_moves_and_day_replans_build_the_week_from_a_valid_start(site_, valid):
    path = strategy.choose_path(site_, valid, 0.01, 30.0, 30.0)
    applies = site_.moves_apply and site_.days_replan_moves_days and not site_.deterministic
    assert path.moves_first == (valid and applies and site_.option_pairs > TUNING.proof_first_limit)


@given(sites, st.booleans(), st.floats(0.0, 5.0), st.floats(0.0, 3600.0))
def test_the_path_is_consistent(site_, valid, check_seconds, left):
    path = strategy.choose_path(site_, valid, check_seconds, left, max(left, 1.0))
    assert path.large == (site_.option_pairs > TUNING.full_model_limit)
    assert not (path.moves_first and path.column_generation)   # moves first means no columns
    assert not (path.moves_first and not valid)                # only from a valid start
    assert not (path.lp_start and not path.lp_bound)           # an LP start needs the LP
    assert not (path.lp_bound and not (path.large or path.moves_first))  # else CP-SAT's or the columns' bound
    assert not (path.column_generation and (not site_.columns_apply or site_.column_cost > TUNING.colgen_limit))
    assert (path.master_share > 0) == (path.column_generation and not path.large)
    assert not (path.moves_first and site_.option_pairs <= TUNING.proof_first_limit)  # CP-SAT proves those
    assert 0.0 <= path.colgen_share <= TUNING.colgen_share


@given(st.floats(0.0, 600.0), st.floats(0.0, 600.0))
def test_the_free_model_runs_only_when_its_build_leaves_it_time_to_search(left, build):
    fits = strategy.free_model_fits(left, build, deterministic=False)
    assert fits == ((1 - TUNING.small_lns_share) * left > build + TUNING.full_model_min_solve)
    assert strategy.free_model_fits(left, build, deterministic=True)  # a deterministic budget has no clock


def test_the_greedy_is_skipped_only_when_it_would_take_over_its_share_of_the_limit():
    fits = site(option_pairs=150 * 364 * 32 * 8, shifts_each=260, time_limit=60.0)
    assert not strategy.greedy_affordable(fits)
    assert strategy.greedy_affordable(dataclasses.replace(fits, time_limit=3600.0))
    assert strategy.greedy_affordable(site())


@given(sites, st.integers(1, 5_000), st.floats(0.0, 3600.0))
def test_the_full_model_follows_the_moves_only_when_its_build_is_a_small_share_of_the_time_left(site_, intervals,
                                                                                                left):
    site_ = dataclasses.replace(site_, intervals=intervals)
    build = site_.option_pairs * intervals * TUNING.model_build_seconds
    fits = strategy.model_after_moves(site_, left)
    assert fits == (build <= TUNING.model_after_moves_share * left and left > build + TUNING.full_model_min_solve)
    if fits:  # more time never takes it away
        assert strategy.model_after_moves(site_, left * 2)


def test_the_sample_site_keeps_searching_after_the_moves_stall_and_a_tiny_one_gets_the_full_model():
    """The sample site at 30 minutes (5,250 pairs, 336 intervals: about 5 s to build) with 20 s
    left keeps to the moves; a 1,500-pair day of 48 intervals gets the full model."""
    assert not strategy.model_after_moves(site(option_pairs=5_250, intervals=336), 20.0)
    assert strategy.model_after_moves(site(option_pairs=1_500, intervals=48), 20.0)


@given(column_cost=st.integers(1_000, TUNING.colgen_limit), left=st.floats(0.0, 0.05))
def test_a_tiny_wall_clock_limit_skips_column_generation_but_a_deterministic_one_keeps_it(column_cost, left):
    # a start that breaks a rule: without the limit's bound, this site prices columns
    tiny = site(column_cost=column_cost, time_limit=max(left, 0.01))
    assert not strategy.choose_path(tiny, False, 0.0, left, tiny.time_limit).column_generation
    assert strategy.choose_path(site(column_cost=column_cost), False, 0.0, 60.0, 60.0).column_generation
    fixed = dataclasses.replace(tiny, deterministic=True)
    assert strategy.choose_path(fixed, False, 0.0, left, 60.0).column_generation == \
        strategy.choose_path(dataclasses.replace(fixed, time_limit=60.0), False, 0.0, left, 60.0).column_generation


def test_the_full_model_is_built_only_when_its_estimated_build_fits_the_time_left():
    small = site(agents=30, option_pairs=5_250, intervals=336)
    build = small.option_pairs * small.intervals * TUNING.model_build_seconds
    assert strategy.model_fits(small, 2 * build) and not strategy.model_fits(small, build / 2)
    assert strategy.model_fits(dataclasses.replace(small, deterministic=True), 0.0)


def test_a_small_site_going_moves_first_with_two_workers_searches_in_a_second_process_too():
    """The sample site at 30 s with the default two workers: a second search beside the first."""
    small = site(agents=30, option_pairs=5_250, column_cost=2_000, workers=2)
    assert strategy.choose_path(small, True, 0.01, 29.8, 30.0).second_search
    assert not strategy.choose_path(dataclasses.replace(small, workers=1), True, 0.01, 29.8, 30.0).second_search
    assert not strategy.choose_path(small, True, 0.01, 29.8, 30.0, Tuning(second_search=False)).second_search
    assert not strategy.choose_path(small, True, 0.01, TUNING.second_search_min_seconds / 2, 30.0).second_search


@given(sites, st.booleans(), st.integers(1, 64), st.floats(0.0, 3600.0))
def test_a_second_search_only_beside_iterated_local_search_with_workers_and_time_to_spare(site_, valid, workers,
                                                                                          left):
    """Never under a deterministic limit (which process's roster wins would depend on the machine),
    never on large sites, with one worker, or with too little time for the process to start."""
    site_ = dataclasses.replace(site_, workers=workers)
    path = strategy.choose_path(site_, valid, 0.01, left, max(left, 1.0))
    expected = path.moves_first and not path.large and workers >= 2 and not site_.deterministic \
        and left >= TUNING.second_search_min_seconds
    assert path.second_search == expected
