"""Roster input from a requirements frame (the staffing stage's output) plus a site setup."""

from __future__ import annotations

import numpy as np
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

        def column(name, fill):
            return frame[name].reindex(grid).fillna(fill).astype(float).tolist() if name in frame else None

        target = (targets or {}).get(queue)
        reqs.append(QueueRequirement(queue=queue, agents=column("agents", 0.0), volume=column("volume", 0.0),
                                     aht_seconds=column("aht_seconds", 0.0), target=target))
    return RosterInput(horizon=horizon, requirements=reqs, **setup)
