"""Service-goal mode: the value of each extra agent in an interval, from the staffing engine.

Instead of a fixed headcount, an interval is charged for the contacts expected to miss the
service target: shortfall(n) = volume x (1 - SL(n)). Its marginal values
u_k = volume x (SL(k) - SL(k-1)), k = 1..K, linearise it; the solver earns u_k for its k-th agent
there, so scarce agents go where they buy the most service. Units are 1/100 contact, rounded,
and the validator uses the same function, so solver and validator agree exactly.

Note the shape: with Erlang C an interval gets no credit until its queue is stable (N > A),
so one agent in an interval that needs three earns nothing there and the solver rightly puts it
where it does help. Give the target a patience (Erlang A) for partial credit in overloaded
intervals.
"""

from __future__ import annotations

import math

import numpy as np

from ..staffing import evaluate
from .domain import QueueRequirement, RosterInput

EXTRA_AGENTS = 10  # marginal values are tracked up to ceil(requirement) + this many agents


def applies(data: RosterInput, req: QueueRequirement) -> bool:
    return data.weights.service_goal > 0 and None not in (req.volume, req.aht_seconds, req.target)


def marginal_units(data: RosterInput, req: QueueRequirement) -> list[list[int]]:
    """Per interval: integer value of the 1st, 2nd, ... K-th agent (weight x 1/100 contacts)."""
    step_s = data.horizon.interval_minutes * 60.0
    out = []
    for need, vol, aht in zip(req.agents, req.volume, req.aht_seconds):
        if vol <= 0:
            out.append([])
            continue
        k = int(math.ceil(need - 1e-9)) + EXTRA_AGENTS
        servers = np.arange(0, k + 1) * req.target.concurrency
        sl = evaluate(servers.astype(float), np.full(k + 1, vol / step_s), np.full(k + 1, aht),
                      req.target)["service_level"]
        gains = np.maximum(np.diff(sl), 0.0) * vol
        out.append([int(round(data.weights.service_goal * 100 * g)) for g in gains])
    return out


def shortfall_units(units: list[int], staffed: int) -> int:
    """Objective units of an interval staffed with `staffed` agents."""
    return int(sum(units[staffed:]))
