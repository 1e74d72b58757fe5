"""Brute-force reference for M/M/N and M/M/N+M, written independently of wfm.staffing.

The birth-death chain is truncated far in the tail, its generator matrix is solved for
the stationary distribution with dense linear algebra, and each arriving caller's fate
(by PASTA, in the state it finds) is an absorbing chain over its queue position, solved
with a matrix exponential (for P(answered within T)) and matrix inverses (for the mean
wait). No incomplete gamma functions, no Erlang formulas. Only for small N.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.linalg import expm


@dataclass
class Reference:
    p_wait: float
    abandon_rate: float
    service_level: float
    asa_seconds: float  # mean wait of answered callers


def stationary(n: int, lam: float, mu: float, theta: float, max_queue: int) -> np.ndarray:
    size = n + max_queue + 1
    q = np.zeros((size, size))
    for s in range(size):
        if s + 1 < size:
            q[s, s + 1] = lam
        if s > 0:
            q[s, s - 1] = min(s, n) * mu + max(s - n, 0) * theta
        q[s, s] = -q[s].sum()
    # Solve pi Q = 0 with sum(pi) = 1 by replacing one equation.
    lhs = np.vstack([q.T[:-1], np.ones(size)])
    rhs = np.zeros(size)
    rhs[-1] = 1.0
    return np.linalg.solve(lhs, rhs)


def caller_fate(n: int, mu: float, theta: float, ahead: int, t: float) -> tuple[float, float, float]:
    """(P(served), P(served within t), E[wait; served]) for a caller with `ahead` in queue."""
    # Transient states: position j = ahead..0 (callers still ahead of us); absorbing: served.
    k = ahead + 1
    qt = np.zeros((k, k))
    to_served = np.zeros(k)
    for i in range(k):
        j = ahead - i
        move = n * mu + j * theta
        qt[i, i] = -(move + theta)
        if j == 0:
            to_served[i] = move
        else:
            qt[i, i + 1] = move
    start = np.zeros(k)
    start[0] = 1.0
    inv = np.linalg.inv(-qt)
    p_served = start @ inv @ to_served
    p_by_t = start @ (np.eye(k) - expm(qt * t)) @ inv @ to_served
    wait_served = start @ inv @ inv @ to_served
    return float(p_served), float(p_by_t), float(wait_served)


def reference(n: int, volume: float, aht: float, interval_seconds: float, answer_seconds: float,
              patience_seconds: float | None, max_queue: int = 400) -> Reference:
    lam = volume / interval_seconds
    mu = 1.0 / aht
    theta = 0.0 if patience_seconds is None else 1.0 / patience_seconds
    pi = stationary(n, lam, mu, theta, max_queue)
    p_wait = float(pi[n:].sum())
    served = 1.0 - p_wait  # callers who find a free agent
    within = 1.0 - p_wait
    wait_served = 0.0
    for ahead in range(max_queue):
        w = pi[n + ahead]
        if w < 1e-16:
            continue
        ps, pt, ws = caller_fate(n, mu, theta, ahead, answer_seconds)
        served += w * ps
        within += w * pt
        wait_served += w * ws
    return Reference(p_wait=p_wait, abandon_rate=1.0 - served, service_level=within,
                     asa_seconds=wait_served / served)
