"""Labour cost in objective units, as the CP-SAT model and the searches count it, and the lower
bound it gives with no search at all."""

from __future__ import annotations

import math

from .domain import RosterInput
from .options import Grid, ShiftOption


def cost_term(option: ShiftOption, cost_per_hour: float, weight: float) -> int:
    """Integer objective units for one worked shift's paid cost (the validator counts it on its own)."""
    return int(round(weight * cost_per_hour * option.paid_minutes / 60.0))


def contract_floor(data: RosterInput, grid: Grid) -> int | None:
    """A lower bound no search is needed for: every valid roster pays each agent at least its
    contract minimum (weekly minimums over whole weeks, or the horizon minimum) at its rate, less
    half a unit per day for the rounding of each shift's cost term; every other term is
    non-negative. None when labour cost is not part of the objective."""
    w, n_days = data.weights.cost, len(grid.days)
    if w <= 0:
        return None
    total = 0.0
    for a in data.agents:
        c = a.contract
        minutes = max((n_days // 7) * c.min_hours * 60, (c.horizon_min_hours or 0) * 60)
        total += max(w * a.cost_per_hour * minutes / 60 - 0.5 * n_days, 0.0)
    return math.ceil(total - 1e-6) if total > 0 else None
