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


def caller_fates(n: int, mu: float, theta: float, max_ahead: int, t: float):
    """Vectors over j = callers ahead (0..max_ahead-1) of a newly queued caller:
    P(served), P(served within t), E[wait; served].

    One absorbing chain: state j moves to j-1 (or into service from j = 0) at rate
    n mu + j theta, and the caller abandons from any state at rate theta.
    """
    qt = np.zeros((max_ahead, max_ahead))
    to_served = np.zeros(max_ahead)
    for j in range(max_ahead):
        move = n * mu + j * theta
        qt[j, j] = -(move + theta)
        if j == 0:
            to_served[j] = move
        else:
            qt[j, j - 1] = move
    inv = np.linalg.inv(-qt)
    p_served = inv @ to_served
    p_by_t = (np.eye(max_ahead) - expm(qt * t)) @ p_served
    wait_served = inv @ p_served
    return p_served, p_by_t, wait_served


def reference(n: int, volume: float, aht: float, interval_seconds: float, answer_seconds: float,
              patience_seconds: float | None, max_queue: int = 400) -> Reference:
    lam = volume / interval_seconds
    mu = 1.0 / aht
    theta = 0.0 if patience_seconds is None else 1.0 / patience_seconds
    pi = stationary(n, lam, mu, theta, max_queue)
    p_wait = float(pi[n:].sum())
    ps, pt, ws = caller_fates(n, mu, theta, max_queue, answer_seconds)
    w = pi[n:n + max_queue]  # PASTA: an arrival finds j callers waiting ahead
    served = 1.0 - p_wait + w @ ps  # those who find a free agent are served at once
    within = 1.0 - p_wait + w @ pt
    wait_served = w @ ws
    return Reference(p_wait=p_wait, abandon_rate=1.0 - served, service_level=within,
                     asa_seconds=wait_served / served)
