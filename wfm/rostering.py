"""A roster solved and checked: `solve_checked` runs CP-SAT and the independent validator,
`roster_summary` is the one JSON-ready summary of it that `wfm roster`, `wfm plan` and the API
show (plain functions: no HTTP, no command line)."""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

KPIS = ("under_hours", "over_hours", "paid_hours", "cost", "shifts")


@dataclass
class RosterOutcome:
    data: object = None          # RosterInput
    roster: object = None        # Roster, or None when none was found
    status: str = ""
    reason: str | None = None    # why there is no usable roster (none found, or a broken rule)
    coverage: pd.DataFrame | None = None
    totals: dict | None = None
    explanation: list = field(default_factory=list)
    seconds: float = 0.0
    gap: float | None = None
    contract_floor: float | None = None  # the labour cost every valid roster pays (None: cost not weighed)
    solved: object = None        # the solver's result: objective, bound, conflicts
    check: object = None         # the validator's report: objective, feasible, violations, penalties
    timings: dict = field(default_factory=dict)

    @property
    def changeable_gap(self) -> float | None:
        """The gap on the part of the objective the roster can change (`changeable_gap`)."""
        if self.check is None or self.solved is None:
            return None
        return clean(changeable_gap(self.check.objective, self.solved.bound, self.contract_floor))


def solve_checked(data, progress=None) -> RosterOutcome:
    """Solve `data` (a RosterInput) with CP-SAT and score the roster with the independent validator."""
    from .roster.costs import contract_floor
    from .roster.options import Grid
    from .roster.report import evaluate_roster
    from .roster.solver import solve_roster

    started = time.perf_counter()
    solved = solve_roster(data, progress)
    solve_end = time.perf_counter()
    timings = {"solve_seconds": round(solve_end - started, 3)}
    floor = contract_floor(data, Grid(data))
    if solved.roster is None:
        reason = "; ".join(solved.conflicts) or "no roster found within the time limit"
        return RosterOutcome(data, None, solved.status, reason, seconds=solved.seconds, gap=solved.gap,
                             contract_floor=floor, solved=solved, timings=timings)
    check, coverage, totals, why = evaluate_roster(data, solved.roster)
    timings["report_seconds"] = round(time.perf_counter() - solve_end, 3)
    reason = None if check.feasible else (
        f"the validator found {len(check.violations)} broken rule(s), e.g. {check.violations[0]}")
    return RosterOutcome(data, solved.roster, solved.status, reason, coverage, totals, why, solved.seconds,
                         solved.gap, floor, solved, check, timings)


def clean(value):
    """A JSON-safe scalar: NaN and infinity become None, numpy scalars Python ones."""
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else None
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    return value


def changeable_gap(objective: float | None, bound: float | None, floor: float | None) -> float | None:
    """The gap on the part of the objective a roster can change: (objective - bound) over (objective -
    contract floor), the floor being the labour cost every valid roster pays. Where paid hours dominate
    the objective the plain gap looks small however far the rest is from its best; this one does not."""
    if objective is None or bound is None:
        return None
    changeable = objective - (floor or 0.0)
    if changeable <= 1e-9:
        return 0.0
    return max(objective - bound, 0.0) / changeable


def roster_summary(outcome: RosterOutcome) -> dict:
    """Status, the validator's objective beside the solver's, bound and gap, the hard-rule check,
    the KPIs, the penalty per rule, which rule cost what, and hours and cost per agent.
    Strict JSON: no NaN or infinity. Needs a roster (`outcome.roster` not None)."""
    solved, check, totals = outcome.solved, outcome.check, outcome.totals
    return {
        "status": solved.status, "objective": clean(check.objective), "solver_objective": clean(solved.objective),
        "bound": clean(solved.bound), "bound_source": getattr(solved, "bound_source", None), "gap": clean(solved.gap),
        "contract_floor": clean(outcome.contract_floor),
        "changeable_gap": clean(changeable_gap(check.objective, solved.bound, outcome.contract_floor)),
        "seconds": round(solved.seconds, 3),
        "feasible": check.feasible, "violations": [str(v) for v in check.violations],
        "kpis": {k: clean(totals[k]) for k in KPIS},
        "penalties": {k: clean(v) for k, v in check.penalties.items()},
        "explanation": [{k: clean(v) for k, v in row.items()} for row in outcome.explanation],
        "agents": [{k: clean(v) for k, v in row.items()} for row in totals["agents"]],
    }
