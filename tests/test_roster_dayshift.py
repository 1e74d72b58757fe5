"""Day-shift column generation and Lagrangian bound (wfm/roster/search/dayshift.py): on small
Curtois-Qu instances CP-SAT proves optimal, every bound it reports is at most that optimum, and the
agent re-plans keep every rule (the independent validator's word) and say truly what they changed."""

from __future__ import annotations

import random
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from wfm.roster import curtois
from wfm.roster.greedy import greedy_roster
from wfm.roster.model import RosterModel
from wfm.roster.options import Grid, expand_options
from wfm.roster.search import dayshift
from wfm.roster.solver import solve_roster
from wfm.roster.strategy import Tuning
from wfm.roster.validator import validate


def instance_text(seed: int, employees: int, days: int, shifts: int) -> str:
    """A small instance in the benchmark's format with every rule of the format in play."""
    rng = random.Random(seed)
    ids = [f"S{k}" for k in range(shifts)]
    lines = ["SECTION_HORIZON", str(days), "", "SECTION_SHIFTS"]
    for k, s in enumerate(ids):
        banned = [t for t in ids if t != s and rng.random() < 0.4]
        lines.append(f"{s},{rng.choice([240, 480, 600])},{'|'.join(banned)}")
    lines += ["", "SECTION_STAFF"]
    for e in range(employees):
        caps = "|".join(f"{s}={rng.choice([0, days, days, max(1, days // 4)])}" for s in ids)
        most = rng.randint(days // 3, days) * 480
        least = rng.randint(0, most // 2)
        lines.append(f"E{e},{caps},{most},{least},{rng.randint(2, 5)},{rng.randint(1, 3)},{rng.randint(1, 3)},"
                     f"{rng.randint(0, max(1, days // 7))}")
    lines += ["", "SECTION_DAYS_OFF"]
    for e in range(employees):
        lines.append(",".join([f"E{e}"] + [str(d) for d in rng.sample(range(days), rng.randint(0, 2))]))
    for section in ("SECTION_SHIFT_ON_REQUESTS", "SECTION_SHIFT_OFF_REQUESTS"):
        lines += ["", section]
        for e in range(employees):
            for _ in range(rng.randint(0, 2)):
                lines.append(f"E{e},{rng.randrange(days)},{rng.choice(ids)},{rng.randint(1, 3)}")
    lines += ["", "SECTION_COVER"]
    for d in range(days):
        for s in ids:
            lines.append(f"{d},{s},{rng.randint(0, 2)},{rng.choice([1, 10, 100])},{rng.choice([1, 5])}")
    return "\n".join(lines) + "\n"


def load(tmp_path: Path, seed: int, employees: int, days: int, shifts: int):
    path = tmp_path / f"instance-{seed}-{employees}-{days}-{shifts}.txt"
    path.write_text(instance_text(seed, employees, days, shifts))
    data = curtois.load(path, time_limit=20, workers=1, seed=0)
    grid = Grid(data)
    return data, grid, expand_options(data, grid)


def proven_optimum(data) -> float | None:
    result = RosterModel(data).solve()
    return result.objective if result.status == "OPTIMAL" else None


def solvable(tmp_path: Path, employees: int, days: int, shifts: int):
    """The first generated instance (seeds 0, 1, ...) whose greedy roster keeps every rule and whose
    optimum CP-SAT proves: (data, grid, options, greedy roster, optimum)."""
    for seed in range(50):
        data, grid, options = load(tmp_path, seed, employees, days, shifts)
        start = greedy_roster(data, grid, options)
        if validate(data, start).feasible:
            optimum = proven_optimum(data)
            if optimum is not None:
                return data, grid, options, start, optimum
    pytest.fail("no solvable instance among 50 seeds")


sizes = st.tuples(st.integers(0, 10_000), st.integers(1, 4), st.sampled_from([7, 10, 14]), st.integers(1, 3))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=sizes)
def test_every_bound_is_at_most_the_proven_optimum(tmp_path, size):
    data, grid, options = load(tmp_path, *size)
    assert dayshift.applies(data, options)
    optimum = proven_optimum(data)
    assume(optimum is not None)
    try:
        lp = dayshift.DayShiftColumns(data, grid, options)
        outcome = lp.run(30.0)
        subgradient = dayshift.DayShiftColumns(data, grid, options).lagrangian(1.0, upper=optimum + 100)
    except dayshift.Infeasible:  # an agent with no schedule keeping its sequence rules: no roster either
        pytest.fail("pricing found no schedule on an instance CP-SAT solved")
    assert outcome.bound is not None and outcome.bound <= optimum + 1e-6
    assert subgradient is not None and subgradient <= optimum + 1e-6
    if outcome.converged:  # the LP over every schedule can only be at most the optimum too
        assert outcome.lp_value <= optimum + 1e-6


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(size=sizes)
def test_agent_replans_keep_every_rule_and_report_their_change(tmp_path, size):
    data, grid, options = load(tmp_path, *size)
    start = greedy_roster(data, grid, options)
    before = validate(data, start)
    assume(before.feasible)
    gen = dayshift.DayShiftColumns(data, grid, options)
    roster, change = dayshift.reoptimise(gen, start, seconds=5.0, seed=size[0])
    after = validate(data, roster)
    assert after.feasible, after.violations[:3]
    assert change <= 1e-9
    assert after.objective == pytest.approx(before.objective + change)


def test_the_integer_master_from_a_valid_roster_keeps_every_rule_and_does_no_worse(tmp_path):
    data, grid, options, start, _ = solvable(tmp_path, 4, 14, 2)
    gen = dayshift.DayShiftColumns(data, grid, options)
    gen.run(10.0)
    roster = gen.roster(5.0, start=start)
    assert roster is not None
    report = validate(data, roster)
    assert report.feasible
    assert gen.proven() - 1e-6 <= report.objective <= validate(data, start).objective + 1e-6


def test_large_day_shift_sites_report_the_lagrangian_bound_as_theirs(tmp_path):
    """A site counted large and past pricing (low `full_model_limit` and `colgen_limit`), wall clock: the
    day-shift path, its bound
    at most CP-SAT's proven optimum, and named."""
    data, grid, options, _, optimum = solvable(tmp_path, 3, 14, 2)
    data = data.model_copy(update={"solver": data.solver.model_copy(update={"time_limit_seconds": 4.0})})
    result = solve_roster(data, tuning=Tuning(full_model_limit=1, day_shift_colgen_limit=0))
    assert validate(data, result.roster).feasible
    assert result.bound is not None and result.bound <= optimum + 1e-6
    assert result.bound_source is not None
    if result.bound > 0:
        assert "Lagrangian" in result.bound_source or "floor" in result.bound_source


def test_sites_with_interval_cover_or_several_starts_are_not_day_shift_sites():
    from wfm.roster.domain import RosterInput

    sample = Path(__file__).resolve().parents[1] / "bench" / "sites" / "sample-30.json"
    if not sample.exists():
        pytest.skip("bench/sites/sample-30.json is not in this checkout")
    data = RosterInput.model_validate_json(sample.read_text())
    grid = Grid(data)
    assert not dayshift.applies(data, expand_options(data, grid))


def test_the_day_shift_paths_are_for_large_day_shift_sites_under_wall_clock_limits_only():
    from wfm.roster.strategy import Site, choose_path

    def path(start_valid=True, **kw):
        facts = dict(agents=150, option_pairs=150 * 896, shifts_each=40, moves_apply=True,
                     days_replan_moves_days=False, columns_apply=True, column_cost=10**6, deterministic=False,
                     time_limit=60.0, day_shift=True)
        return choose_path(Site(**{**facts, **kw}), start_valid, 0.1, 55.0, 60.0)

    assert path().day_shift and path().lagrangian_bound  # past any pricing: agent re-plans
    for priced in (path(column_cost=200_000), path(column_cost=50_000)):  # columns, the bound by shortest paths
        assert priced.column_generation and priced.lagrangian_bound and not priced.day_shift
        assert not priced.lp_bound and not priced.lp_start
    for same in (path(deterministic=True), path(day_shift=False),
                 path(option_pairs=500, column_cost=500), path(start_valid=False)):
        assert not same.day_shift and not same.lagrangian_bound  # the paths as they were
