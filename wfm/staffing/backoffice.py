"""Back-office and email work: items that must be finished within a deadline.

Model. Items arriving in interval i bring work W_i = volume_i x AHT_i agent-seconds and
must be finished before the end of interval i + window - 1, where window =
deadline / interval length (at least 1). Each interval's work is spread evenly over the
*open* intervals of its window, so work arriving overnight lands in the morning hours
that can still meet its deadline. The requirement of an interval is the work landing in
it, divided by the interval length and by the productive share of an agent's time
(`utilization`, e.g. 0.85 for the time between items), rounded up to whole agents.

Why this is enough: each item's work is fully scheduled inside its window, so any
earliest-deadline-first order finishes every item on time with this staffing (the tests
check exactly that).

Limits. No queueing randomness (it is a fluid model: fine for deferred work, wrong for
live contacts); items are assumed divisible between agents and across intervals; a
window with no open interval cannot be served and is reported as an error naming the
interval; work whose window runs past the horizon is spread over the part inside it.
"""

from __future__ import annotations

import math

import numpy as np

from ..errors import InputError
from .requirements import validate_intervals


def backoffice_requirement(volume, aht_seconds, interval_minutes: int, deadline_minutes: float,
                           open_mask=None, utilization: float = 1.0, shrinkage: float = 0.0) -> dict:
    """Agents per interval to finish every item within `deadline_minutes` of its arrival.

    Returns a dict of arrays: `workload_agents` (fractional), `agents` (on-queue, whole),
    `scheduled_agents` (after shrinkage).
    """
    vol, aht = validate_intervals(volume, aht_seconds)
    if not (math.isfinite(deadline_minutes) and deadline_minutes > 0):
        raise InputError("deadline_minutes", deadline_minutes, "must be a finite number > 0")
    if not (math.isfinite(interval_minutes) and interval_minutes > 0):
        raise InputError("interval_minutes", interval_minutes, "must be a finite number > 0")
    if not 0 < utilization <= 1:
        raise InputError("utilization", utilization, "must be in (0, 1]")
    if not 0 <= shrinkage < 1:
        raise InputError("shrinkage", shrinkage, "must be in [0, 1)")
    n = vol.size
    is_open = np.ones(n, bool) if open_mask is None else np.broadcast_to(np.asarray(open_mask, bool), (n,))
    window = max(int(deadline_minutes // interval_minutes), 1)
    work = vol * aht

    # open_count[i] = open intervals in [i, i + window); prefix sums keep this O(n).
    csum = np.concatenate([[0], np.cumsum(is_open)])
    ends = np.minimum(np.arange(n) + window, n)
    open_count = csum[ends] - csum[np.arange(n)]
    stranded = np.flatnonzero((work > 0) & (open_count == 0))
    if stranded.size:
        i = int(stranded[0])
        raise InputError("volume", float(vol[i]), f"no open interval within the {deadline_minutes:g}-minute "
                         "deadline of this interval's work", row=i)
    rate = np.divide(work, open_count, out=np.zeros(n), where=open_count > 0)
    # Each interval j receives rate[i] from every i with j in [i, i + window) and j open.
    rsum = np.concatenate([[0.0], np.cumsum(rate)])
    j = np.arange(n)
    received = (rsum[j + 1] - rsum[np.maximum(j + 1 - window, 0)]) * is_open
    workload_agents = received / (interval_minutes * 60.0) / utilization
    agents = np.ceil(workload_agents - 1e-9).astype(np.int64)
    scheduled = np.ceil(agents / (1.0 - shrinkage) - 1e-9).astype(np.int64)
    return {"workload_agents": workload_agents, "agents": agents, "scheduled_agents": scheduled}
