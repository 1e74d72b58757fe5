"""Erlang B and Erlang C (M/M/N), vectorized over intervals.

Conventions used throughout `wfm.staffing`:

* ``load`` is the offered load in Erlangs, A = arrival rate x mean handle time.
* ``agents`` is N, the number of agents on the queue (may be an array).
* Every function broadcasts its arguments and returns float arrays.

Numerical approach: no factorials and no recursion from zero. Erlang B is the
truncated-Poisson ratio  B(N, A) = P(X = N) / P(X <= N),  X ~ Poisson(A),
evaluated in log space with the regularized upper incomplete gamma function
(P(X <= N) = Q(N + 1, A)). Where P(X <= N) underflows (N far below A) we switch to
the series 1/B = sum_k prod_{j<k} (N - j)/A, whose terms fall geometrically there.
This is stable for loads far beyond 50,000 Erlangs and never produces NaN.

Erlang C follows from Erlang B:  C = N B / (N - A (1 - B))  for N > A, and 1 when
N <= A (the queue is unstable: everyone waits).
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaincc, gammaln

# Below this, the incomplete gamma value has lost its relative accuracy or underflowed.
_UNDERFLOW = 1e-250


def _as_float_arrays(*values):
    return np.broadcast_arrays(*(np.asarray(v, dtype=float) for v in values))


def _geometric_series(first_ratio, next_ratio, max_terms: int = 1_000_000) -> np.ndarray:
    """Sum 1 + r1 + r1*r2 + ... elementwise, where r_k = next_ratio(k) (< 1 eventually).

    Used only on the few elements where a closed form underflows; there the ratios are
    well below one and a few hundred terms reach machine precision.
    """
    total = np.ones_like(first_ratio)
    term = first_ratio.copy()
    active = np.ones(first_ratio.shape, dtype=bool)
    k = 1
    while active.any() and k < max_terms:
        total[active] += term[active]
        active &= term > 1e-17 * total
        k += 1
        term = np.where(active, term * next_ratio(k), 0.0)
    return total


def erlang_b(agents, load) -> np.ndarray:
    """Blocking probability of M/M/N/N (Erlang B), elementwise."""
    n, a = _as_float_arrays(agents, load)
    out = np.where(n > 0, 0.0, 1.0)  # A = 0: no blocking unless there are no servers
    out[np.isnan(a) | np.isnan(n)] = np.nan  # NaN in, NaN out: never a made-up answer
    pos = (a > 0) & (n > 0)
    if not pos.any():
        return out
    nn, aa = n[pos], a[pos]
    cdf = gammaincc(nn + 1.0, aa)  # P(Poisson(A) <= N)
    log_pmf = nn * np.log(aa) - aa - gammaln(nn + 1.0)
    b = np.exp(log_pmf - np.log(np.maximum(cdf, _UNDERFLOW)))
    low = cdf < _UNDERFLOW
    if low.any():
        n_low, a_low = nn[low], aa[low]
        inv_b = _geometric_series(n_low / a_low, lambda k: np.maximum(n_low - (k - 1), 0.0) / a_low)
        b[low] = 1.0 / inv_b
    out[pos] = np.clip(b, 0.0, 1.0)
    return out


def erlang_c_from_b(agents, load, blocking) -> np.ndarray:
    """Erlang C from an already computed Erlang B value (saves a gamma evaluation)."""
    n, a, b = _as_float_arrays(agents, load, blocking)
    stable = n > a
    denom = np.where(stable, n - a * (1.0 - b), 1.0)
    c = np.where(stable, n * b / denom, 1.0)
    return np.where(np.isnan(b), np.nan, np.where(a > 0, np.clip(c, 0.0, 1.0), 0.0))


def erlang_c(agents, load) -> np.ndarray:
    """Probability that an arriving contact waits in M/M/N (Erlang C), elementwise."""
    return erlang_c_from_b(agents, load, erlang_b(agents, load))


def service_level_c(agents, load, aht_seconds, answer_seconds, p_wait=None) -> np.ndarray:
    """P(wait <= T) in M/M/N: 1 - C exp(-(N - A) T / AHT); 0 when N <= A."""
    n, a, aht, t = _as_float_arrays(agents, load, aht_seconds, answer_seconds)
    c = erlang_c(n, a) if p_wait is None else np.asarray(p_wait, dtype=float)
    excess = np.maximum(n - a, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):  # AHT 0 only comes with zero load
        sl = 1.0 - c * np.exp(-np.where(aht > 0, excess * t / aht, 0.0))
    return np.where(np.isnan(a) | np.isnan(c), np.nan, np.where((n > a) | (a == 0), np.clip(sl, 0.0, 1.0), 0.0))


def asa_c(agents, load, aht_seconds, p_wait=None) -> np.ndarray:
    """Average speed of answer (mean wait over all contacts) in M/M/N: C AHT / (N - A).

    Infinite when N <= A (unstable queue); 0 when there is no load.
    """
    n, a, aht = _as_float_arrays(agents, load, aht_seconds)
    c = erlang_c(n, a) if p_wait is None else np.asarray(p_wait, dtype=float)
    stable = n > a
    asa = np.where(stable, c * aht / np.where(stable, n - a, 1.0), np.inf)
    return np.where(np.isnan(a) | np.isnan(c), np.nan, np.where(a > 0, asa, 0.0))


def occupancy(agents, load) -> np.ndarray:
    """Fraction of agent time busy: min(A / N, 1); 0 with no agents or no load."""
    n, a = _as_float_arrays(agents, load)
    return np.where(n > 0, np.minimum(a / np.where(n > 0, n, 1.0), 1.0), 0.0)
