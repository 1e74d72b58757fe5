"""A small seeded discrete-event simulation of an FCFS M/M/N+M queue (test reference).

FCFS with abandonment reduces to one recursion over callers in arrival order: a caller's
offered wait is the time until the earliest agent frees up after every earlier *served*
caller; they are served if that wait is shorter than their patience, otherwise they leave
and occupy nobody. Agents' free times live in a heap.
"""

from __future__ import annotations

import heapq

import numpy as np


def simulate(n: int, arrival_rate: float, aht: float, patience: float | None, answer_seconds: float,
             callers: int, seed: int, warmup: float = 0.1) -> dict:
    rng = np.random.default_rng(seed)
    arrivals = np.cumsum(rng.exponential(1.0 / arrival_rate, callers))
    service = rng.exponential(aht, callers)
    patience_draws = np.full(callers, np.inf) if patience is None else rng.exponential(patience, callers)
    free = [0.0] * n
    served_within = abandoned = 0
    wait_served = []
    start = int(warmup * callers)
    for i in range(callers):
        t = arrivals[i]
        wait = max(free[0] - t, 0.0)
        if wait < patience_draws[i]:
            heapq.heapreplace(free, t + wait + service[i])
            if i >= start:
                served_within += wait <= answer_seconds
                wait_served.append(wait)
        elif i >= start:
            abandoned += 1
    counted = callers - start
    return {"service_level": served_within / counted, "abandon_rate": abandoned / counted,
            "asa_seconds": float(np.mean(wait_served))}
