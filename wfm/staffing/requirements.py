"""Required agents per interval for a combination of service targets.

One call staffs a whole horizon: every step below is a numpy operation over all intervals
still short of their targets, never a Python loop per interval.

* Erlang C (no patience given): start each interval at its lower bound
  max(floor(A) + 1, ceil(A / max_occupancy)), evaluate Erlang B there in closed form,
  then add one agent at a time with the stable recursion B(n+1) = A B / (n + 1 + A B)
  to the intervals that still miss a target. Service level grows and ASA and occupancy
  fall with every agent, so the first staffing that meets every target is the minimum.
  The loop runs about beta * sqrt(A) times (square-root staffing), not N times.
* Erlang A (patience given): gallop to a staffing that meets every target, then bisect.
* Chat (concurrency k > 1): sessions are the servers of the queue model (N k slots with
  the per-session handle time); agents = ceil(slots / k). See `wfm.staffing` docs for limits.

Then shrinkage: scheduled = ceil(on-queue / (1 - shrinkage)); minimum staffing and closed
intervals are applied on the on-queue figure.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..domain import ServiceTarget
from ..errors import InputError
from .erlang import asa_c, erlang_b, erlang_c_from_b, occupancy, service_level_c
from .erlang_a import erlang_a_metrics

_EPS = 1e-9  # tolerance when comparing achieved metrics with targets
MAX_LOAD = 1e7  # Erlangs per interval; far beyond any site, and keeps the searches finite
MAX_STEPS = 1_000_000


@dataclass
class StaffingResult:
    """Per-interval staffing and the service it achieves (arrays of equal length)."""

    volume: np.ndarray
    aht_seconds: np.ndarray
    load_erlangs: np.ndarray
    agents: np.ndarray            # on-queue agents
    scheduled_agents: np.ndarray  # after shrinkage
    service_level: np.ndarray
    asa_seconds: np.ndarray
    occupancy: np.ndarray
    abandon_rate: np.ndarray | None = None
    extras: dict = field(default_factory=dict)

    def to_frame(self) -> pd.DataFrame:
        cols = {
            "volume": self.volume, "aht_seconds": self.aht_seconds,
            "agents": self.agents, "scheduled_agents": self.scheduled_agents,
            "service_level": self.service_level, "asa_seconds": self.asa_seconds,
            "occupancy": self.occupancy,
        }
        if self.abandon_rate is not None:
            cols["abandon_rate"] = self.abandon_rate
        return pd.DataFrame(cols)


def validate_intervals(volume, aht_seconds) -> tuple[np.ndarray, np.ndarray]:
    """Check volume/AHT arrays; raise InputError naming the first bad row and value.

    AHT may be 0 (or missing) only where the volume is 0: ACD exports report it that way.
    """
    vol = np.atleast_1d(np.asarray(volume, dtype=float))
    aht = np.atleast_1d(np.asarray(aht_seconds, dtype=float))
    vol, aht = np.broadcast_arrays(vol, aht)
    for name, arr in (("volume", vol), ("aht_seconds", aht)):
        bad = np.flatnonzero(np.isinf(arr) | (np.isnan(arr) & (name == "volume")))
        if bad.size:
            raise InputError(name, float(arr[bad[0]]), "must be a finite number", row=_row(bad[0], arr))
    neg = np.flatnonzero(vol < 0)
    if neg.size:
        raise InputError("volume", float(vol[neg[0]]), "must be >= 0", row=_row(neg[0], vol))
    bad_aht = np.flatnonzero((vol > 0) & ~(aht > 0) | (aht < 0))
    if bad_aht.size:
        i = bad_aht[0]
        raise InputError("aht_seconds", float(aht[i]), f"must be > 0 (volume is {vol[i]:g})", row=_row(i, aht))
    return vol, np.where(vol > 0, aht, np.nan_to_num(aht, nan=0.0))


def _row(i, arr):
    return int(i) if arr.size > 1 else None


def _bool_mask(mask, shape) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype != bool:
        raise InputError("open_mask", str(arr.dtype), "must be booleans (True = open)")
    return np.broadcast_to(arr, shape)


def _floor(min_agents, shape) -> np.ndarray:
    arr = np.broadcast_to(np.asarray(min_agents, dtype=float), shape)
    bad = np.flatnonzero(~np.isfinite(arr) | (arr < 0))
    if bad.size:
        raise InputError("min_agents", float(arr[bad[0]]), "must be a finite number >= 0", row=_row(bad[0], arr))
    return np.ceil(arr - _EPS).astype(np.int64)  # a floor of 2.5 agents means 3


def required_agents(volume, aht_seconds, interval_minutes: int, target: ServiceTarget,
                    open_mask=None, min_agents=None) -> StaffingResult:
    """Fewest on-queue agents meeting every target of `target`, per interval.

    volume: contacts offered per interval; aht_seconds: mean handle time per contact
    (for chat, per session at the configured concurrency); open_mask: False marks closed
    intervals (0 agents); min_agents: per-interval floor for open intervals (overrides
    `target.min_agents` when given).
    """
    if not (isinstance(interval_minutes, (int, float)) and math.isfinite(interval_minutes) and interval_minutes > 0):
        raise InputError("interval_minutes", interval_minutes, "must be a number > 0")
    vol, aht = validate_intervals(volume, aht_seconds)
    interval_s = interval_minutes * 60.0
    lam = vol / interval_s
    load = lam * aht
    too_big = np.flatnonzero(load > MAX_LOAD)
    if too_big.size:
        i = too_big[0]
        raise InputError("volume", float(vol[i]), f"offered load {load[i]:.3g} Erlangs exceeds the supported "
                         f"{MAX_LOAD:g}; check the volume and AHT units", row=_row(i, vol))
    k = target.concurrency

    if target.patience_seconds is None:
        slots, p_wait = _slots_erlang_c(load, aht, target)
    else:
        slots = _slots_erlang_a(lam, aht, target)
    agents = np.ceil(slots / k - _EPS).astype(np.int64)

    is_open = np.ones(vol.shape, bool) if open_mask is None else _bool_mask(open_mask, vol.shape)
    floor = target.min_agents if min_agents is None else _floor(min_agents, vol.shape)
    agents = np.where(is_open, np.maximum(agents, floor), 0).astype(np.int64)
    scheduled = np.ceil(agents / (1.0 - target.shrinkage) - _EPS).astype(np.int64)

    if target.patience_seconds is None:
        metrics = _metrics_c((agents * k).astype(float), slots, p_wait, load, aht, target)
    else:
        metrics = evaluate(agents * k, lam, aht, target)
        metrics.pop("stable", None)
    return StaffingResult(vol, aht, load, agents, scheduled, **metrics)


def evaluate(servers, arrival_rate, aht, target: ServiceTarget) -> dict:
    """Service achieved with `servers` (agents x concurrency) on each interval."""
    servers = np.asarray(servers, dtype=float)
    load = arrival_rate * aht
    if target.patience_seconds is None:
        b = erlang_b(servers, load)
        c = erlang_c_from_b(servers, load, b)
        return {
            "service_level": service_level_c(servers, load, np.where(aht > 0, aht, 1.0), target.answer_seconds, c),
            "asa_seconds": asa_c(servers, load, np.where(aht > 0, aht, 1.0), c),
            "occupancy": occupancy(servers, load),
            "stable": (servers > load) | (load == 0),  # Erlang C has no steady state otherwise
        }
    m = erlang_a_metrics(servers, arrival_rate, np.where(aht > 0, aht, 1.0),
                         target.patience_seconds, target.answer_seconds)
    return {"service_level": m.service_level, "asa_seconds": m.asa_seconds,
            "occupancy": m.occupancy, "abandon_rate": m.abandon_rate}


def meets_targets(metrics: dict, target: ServiceTarget) -> np.ndarray:
    """Whether each interval's metrics (from `evaluate`) meet every target that is set."""
    ok = np.ones(np.shape(metrics["occupancy"]), bool) & metrics.get("stable", True)
    if target.service_level is not None:
        ok &= metrics["service_level"] >= target.service_level - _EPS
    if target.max_asa_seconds is not None:
        ok &= metrics["asa_seconds"] <= target.max_asa_seconds + _EPS
    if target.max_occupancy is not None:
        ok &= metrics["occupancy"] <= target.max_occupancy + _EPS
    if target.max_abandon_rate is not None:
        ok &= metrics["abandon_rate"] <= target.max_abandon_rate + _EPS
    return ok


def _meets_c(n, a, aht, b, target: ServiceTarget) -> tuple[np.ndarray, np.ndarray]:
    """(meets every target, Erlang C) for n servers above the load a > 0 each (the search's
    case: plain formulas, none of the general functions' guards for empty or unstable queues)."""
    excess = n - a
    c = np.minimum(n * b / (n - a * (1.0 - b)), 1.0)
    ok = np.ones(n.shape, bool)
    if target.max_occupancy is not None:
        ok &= a / n <= target.max_occupancy + _EPS
    if target.service_level is not None:
        ok &= 1.0 - c * np.exp(-excess * target.answer_seconds / aht) >= target.service_level - _EPS
    if target.max_asa_seconds is not None:
        ok &= c * aht / excess <= target.max_asa_seconds + _EPS
    return ok, c


def _slots_erlang_c(load, aht, target: ServiceTarget) -> tuple[np.ndarray, np.ndarray]:
    """Fewest servers meeting the targets per interval, and Erlang C there (0 with no load)."""
    n, p_wait = np.zeros(load.shape), np.zeros(load.shape)
    busy = np.flatnonzero(load > 0)
    if busy.size == 0:
        return n, p_wait
    a, h = load[busy], aht[busy]
    s = np.floor(a) + 1.0
    if target.max_occupancy is not None:
        s = np.maximum(s, np.ceil(a / target.max_occupancy - _EPS))
    b = erlang_b(s, a)
    steps = 0
    while True:
        ok, c = _meets_c(s, a, h, b, target)
        n[busy[ok]], p_wait[busy[ok]] = s[ok], c[ok]
        more = ~ok
        if not more.any():
            return n, p_wait
        steps += 1
        if steps > MAX_STEPS:
            raise InputError("target", target.model_dump(), "no staffing meets it (search did not converge)")
        busy, a, h, s, b = busy[more], a[more], h[more], s[more] + 1.0, b[more]
        ab = a * b
        b = ab / (s + ab)


def _metrics_c(servers, searched, p_wait, load, aht, target: ServiceTarget) -> dict:
    """Service at the staffing found: from the search's Erlang C where the staffing is the
    searched one (or nothing is offered), else (floors, closed intervals, concurrency rounding)
    evaluated afresh."""
    sl, asa, occ = np.ones(load.shape), np.zeros(load.shape), np.zeros(load.shape)
    known = (servers == searched) | (load == 0)
    idx = np.flatnonzero(known & (load > 0))
    n, a, h, c = servers[idx], load[idx], aht[idx], p_wait[idx]
    sl[idx] = np.clip(1.0 - c * np.exp(-(n - a) * target.answer_seconds / h), 0.0, 1.0)
    asa[idx], occ[idx] = c * h / (n - a), a / n
    metrics = {"service_level": sl, "asa_seconds": asa, "occupancy": occ}
    other = np.flatnonzero(~known)
    if other.size:
        fresh = evaluate(servers[other], load[other] / aht[other], aht[other], target)
        for name, values in metrics.items():
            values[other] = fresh[name]
    return metrics


def _slots_erlang_a(lam, aht, target: ServiceTarget) -> np.ndarray:
    """Smallest integer n >= 1 meeting the targets under Erlang A, by gallop then bisection."""
    n = np.zeros(lam.shape)
    busy = np.flatnonzero(lam > 0)
    if busy.size == 0:
        return n

    def ok(idx, servers):
        return meets_targets(evaluate(servers, lam[idx], aht[idx], target), target)

    lo = np.zeros(busy.size)  # largest staffing known to fail (0 always fails with arrivals)
    hi = np.maximum(np.ceil(lam[busy] * aht[busy]), 1.0)
    pending = np.flatnonzero(~ok(busy, hi))
    while pending.size:  # gallop: double until every interval meets its targets
        if (hi[pending] > 64 * (MAX_LOAD + 1)).any():
            raise InputError("target", target.model_dump(), "no staffing meets it (search did not converge)")
        lo[pending] = hi[pending]
        hi[pending] *= 2.0
        pending = pending[~ok(busy[pending], hi[pending])]
    gap = np.flatnonzero(hi - lo > 1)
    while gap.size:
        mid = np.floor((lo[gap] + hi[gap]) / 2.0)
        good = ok(busy[gap], mid)
        hi[gap[good]] = mid[good]
        lo[gap[~good]] = mid[~good]
        gap = gap[hi[gap] - lo[gap] > 1]
    n[busy] = hi
    return n
