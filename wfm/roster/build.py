"""Roster input from a requirements frame (the staffing stage's output) plus a site setup."""

from __future__ import annotations

import pandas as pd

from ..domain import Horizon, ServiceTarget
from ..errors import InputError
from .domain import QueueRequirement, RosterInput


def roster_input(requirements: pd.DataFrame, horizon: Horizon, setup: dict,
                 targets: dict[str, ServiceTarget] | None = None) -> RosterInput:
    """`requirements`: interval_start, queue, agents (on-queue), optional volume and aht_seconds.
    `setup`: templates, agents, and optionally rules, weights, solver (as in RosterInput JSON).
    Intervals of the horizon missing from the frame need 0 agents."""
    grid = horizon.interval_starts().tz_convert("UTC")
    reqs = []
    for queue, part in requirements.groupby("queue", sort=True):
        idx = pd.DatetimeIndex(pd.to_datetime(part["interval_start"], utc=True))
        outside = ~idx.isin(grid)
        if outside.any():
            raise InputError("interval_start", str(idx[outside][0]), "not an interval of the roster horizon")
        frame = part.set_index(idx)
        target = (targets or {}).get(queue)
        reqs.append(QueueRequirement(queue=queue, agents=_on_grid(frame, "agents", grid),
                                     volume=_on_grid(frame, "volume", grid),
                                     aht_seconds=_on_grid(frame, "aht_seconds", grid), target=target))
    return RosterInput(horizon=horizon, requirements=reqs, **setup)


def _on_grid(frame: pd.DataFrame, name: str, grid) -> list[float] | None:
    """The column on every horizon interval (0 where the frame has none), or None if absent."""
    return frame[name].reindex(grid).fillna(0.0).astype(float).tolist() if name in frame else None
