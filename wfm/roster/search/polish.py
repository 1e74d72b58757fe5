"""The coverage moves (`local.py`) and whole-day re-plans (`dayplan.py`) together: moves until they
slow, then every day re-planned at once, then moves again from the result."""

from __future__ import annotations

import time as clock

from ..domain import Roster, RosterInput
from ..options import Grid, ShiftOption
from . import dayplan
from .local import CoverageSearch, applies

MOVES_PER_SECOND = 5000  # deterministic-limit accounting: moves counted as one unit of time
# With `replan`, once the moves stall, whole days are re-planned (`dayplan.py`) when this many
# seconds are left, and the moves go on from the result.
REPLAN_MIN_SECONDS = 2.0


def improve(data: RosterInput, grid: Grid, options: list[ShiftOption], roster: Roster, seconds: float,
            seed: int = 0, budget=None, report=None, patience: int | None = None,
            began: float | None = None, replan: bool = False, slow: float | None = None, kick: int = 0,
            kick_week: int = 0) -> tuple[Roster, "CoverageSearch | None"]:
    """Local search for `seconds` units of `budget` (wall-clock seconds unless the input sets a
    deterministic limit) from a valid roster; returns the best roster it saw (never worse than the
    start) and the search (its `value` is the objective change, its `stats` the moves). Wall-clock
    time counts from `began` (default: now), so loading the roster is part of it; `patience` stops
    the search after that many moves without a new best. With `replan` (wall-clock limits only: a
    MIP's time limit is not deterministic), whenever the best gains less than `slow` a second the
    days are re-planned whole (`dayplan.py`) and the moves go on, until a round of days gains
    nothing or the time is up. With `kick`, the search starts from the roster with one day of that
    many agents ruined and recreated (`CoverageSearch.perturb`), with `kick_week` from the roster
    with that many agents' shifts moved to a day off (`CoverageSearch.perturb_week`); its `value`
    counts from the roster given, and the days the kick changed are re-planned after the moves."""
    began = clock.perf_counter() if began is None else began
    if not applies(data) or seconds <= 0:
        return roster, None
    search = CoverageSearch(data, grid, options, roster, seed)
    kicked = {search.perturb(kick)} if kick else search.perturb_week(kick_week) if kick_week else None
    if budget is not None and budget.deterministic:
        search.run(budget.wall_left(), moves=int(seconds * MOVES_PER_SECOND), report=report, patience=patience)
        budget.charge_work(search.stats.moves / MOVES_PER_SECOND)
    elif kicked is not None:  # moves, the ruined days re-planned whole, moves again
        end = began + seconds
        search.run(end - clock.perf_counter(), report=report, patience=patience)
        if replan and dayplan.applies(search):
            gained = 0.0
            for d in sorted(kicked):
                if end - clock.perf_counter() < REPLAN_MIN_SECONDS:
                    break
                gained += dayplan.replan(search, d, end - clock.perf_counter())
            if gained < 0:
                search.run(end - clock.perf_counter(), report=report, patience=patience)
    else:
        end = began + seconds
        replan = replan and dayplan.applies(search)
        while True:
            search.run(end - clock.perf_counter(), report=report, patience=patience, slow=slow if replan else None)
            if not replan or end - clock.perf_counter() < REPLAN_MIN_SECONDS:
                break
            if dayplan.replan_days(search, end - clock.perf_counter()) >= 0:
                break
            if report is not None:
                report(search.best_value)
    return search.roster(), search
