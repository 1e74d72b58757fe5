"""Whole-day re-plan (`wfm/roster/dayplan.py`) against the independent validator and CP-SAT.

The re-plan's model counts agents per class, breaks per (pool, option, start) and routes pools to
queues by flows; the search then applies its rounding and scores it exactly. On random sites the
model must hold the current day as a feasible point scored as the search scores it, and every
re-planned roster must keep every rule, with the validator's objective equal to the search's.
"""

import pytest
from hypothesis import assume, given, settings, strategies as st

from test_roster_local import _busy_site, _valid_start, random_site
from wfm.roster.search import dayplan, local
from wfm.roster.domain import BreakRule, Roster, ShiftRequirement
from wfm.roster.options import Grid, expand_options
from wfm.roster.validator import validate


def _search(seed: int, moves: int = 100):
    data = random_site(seed)
    grid, options, start, report = _valid_start(data)
    assume(report.feasible and start.shifts)
    search = local.CoverageSearch(data, grid, options, start, seed=seed)
    assume(dayplan.applies(search))
    search.run(60.0, moves=moves)
    return data, search, report


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 100_000))
def test_the_current_day_is_a_point_of_the_model_scored_as_the_search_scores_it(seed):
    data, search, _ = _search(seed)
    for d in range(search.n_days):
        model = dayplan.day_model(search, d)
        if model is None:
            continue
        x = model.current(d)
        for key in model.row_keys:
            assert sum(v * x[c] for c, v in model.rows[key]) == pytest.approx(model.rhs[key], abs=1e-9), key
        assert (x >= model.lower - 1e-9).all() and (x <= model.upper + 1e-9).all()
        working = [k for c in model.classes for k in c.agents]
        own = sum(search.own_terms(k, d, search.options[search.shift[k][d].option]) for k in working
                  if d in search.shift[k])  # agents off that day may be in the model too
        coverage = search.routing.penalty(search.count[:, model.lo:model.hi], model.lo, model.hi).sum()
        assert x @ model.cost == pytest.approx(own + coverage, abs=1e-6)


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 100_000))
def test_replanned_rosters_keep_every_rule_and_score_as_the_validator_does(seed):
    data, search, report = _search(seed, moves=50)
    before = search.value
    change = dayplan.replan_days(search, 30.0)
    assert change <= 0
    assert search.value == pytest.approx(before + change, abs=1e-6)
    after = validate(data, search.roster())
    assert after.feasible, [str(v) for v in after.violations]
    assert after.objective == pytest.approx(report.objective + search.value, abs=1e-6)


def test_days_replanned_gain_where_the_moves_have_slowed():
    """A 30-agent week after 20,000 moves: re-planning its days finds gains no one- or two-agent
    move made, and the validator scores the result as the search does."""
    data = _busy_site()
    grid, options, start, report = _valid_start(data)
    search = local.CoverageSearch(data, grid, options, start, seed=0)
    search.run(60.0, moves=20_000)
    moved = search.value
    assert dayplan.replan_days(search, 60.0) < 0
    assert search.value < moved
    after = validate(data, search.roster())
    assert after.feasible
    assert after.objective == pytest.approx(report.objective + search.value)


def test_not_applied_where_the_model_leaves_terms_out():
    """Overlapping break windows (a start for one limits the next), shift demand and fairness over
    night shifts are not in the model: the re-plan is skipped there."""
    data = _busy_site(6)
    grid, options, start, _ = _valid_start(data)
    assert dayplan.applies(local.CoverageSearch(data, grid, options, start))
    overlapping = data.model_copy(update={"templates": [t.model_copy(update={"breaks": [
        BreakRule(name="x", minutes=30, earliest_minutes=60, latest_minutes=180),
        BreakRule(name="y", minutes=30, earliest_minutes=120, latest_minutes=240)]}) for t in data.templates]})
    for changed in (overlapping,
                    data.model_copy(update={"shift_requirements": [ShiftRequirement(
                        day=data.horizon.dates()[0], template="8h", count=1)]}),
                    data.model_copy(update={
                        "weights": data.weights.model_copy(update={"fairness": 5}),
                        "templates": [t.model_copy(update={"night": True}) for t in data.templates]})):
        g = Grid(changed)
        assert not dayplan.applies(local.CoverageSearch(changed, g, expand_options(changed, g), Roster(shifts=[])))
