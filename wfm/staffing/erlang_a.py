"""Erlang A: M/M/N+M, a queue whose callers abandon after an exponential patience.

Formulation: Garnett, Mandelbaum & Reiman, "Designing a call center with impatient
customers", Manufacturing & Service Operations Management 4(3), 2002, section 2.
With arrival rate lambda, service rate mu = 1/AHT, abandonment rate theta =
1/mean patience, A = lambda/mu, and

    a = N mu / theta,   x = lambda / theta,
    J(a, x) = sum_{k>=0} x^k / prod_{j=1..k} (a + j)  = a e^x x^-a gamma_lower(a, x),
    E = Erlang B(N, A),

the stationary quantities are

    P(wait)            = E J / (1 - E + E J)
    P(served | wait)   = H(x),   H(y) = gamma_lower(a + 1, y) / (x gamma_lower(a, x))
    P(abandon)         = P(wait) (1 - H(x))
    P(wait offered <= t and served | wait) = H(x) - H(x e^{-theta t})

The last line integrates GMR's offered-wait density P(V > t | wait) =
gamma(a, x e^{-theta t}) / gamma(a, x) against the caller's own survival e^{-theta t}.

Definitions used here (state them in reports):

* service level = contacts answered within T / contacts offered. Abandoned contacts,
  including those that hang up before T, count against it (the strictest common ACD
  definition).
* ASA = mean wait of answered contacts. Its closed form (derived from the same density) is
  E[W; served] = P(wait) H(x) [1/(a+1) - d/da log J(a+1, x)] / theta, where the derivative
  is taken by a central difference.
* abandon rate = abandoned / offered.

Everything is evaluated in log space through the regularized incomplete gamma function,
with a geometric series where that underflows, so no factorial ever appears.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.special import gammainc, gammaln

from .erlang import _UNDERFLOW, _as_float_arrays, _geometric_series, asa_c, erlang_b, erlang_c, service_level_c

LARGE_A = 1e5          # above this, P(a, x) in the lower tail comes from the series instead
ERLANG_C_LIMIT = 1e9   # patience beyond this many handle times: abandonment is nil, use Erlang C


def log_j(a, x) -> np.ndarray:
    """log J(a, x) with J(a, x) = sum_{k>=0} x^k / prod_{j=1..k}(a + j); a > 0, x >= 0."""
    a, x = _as_float_arrays(a, x)
    out = np.zeros(a.shape)
    pos = x > 0
    if not pos.any():
        return out
    ap, xp = a[pos], x[pos]
    p = gammainc(ap, xp)
    # The closed form needs P(a, x) with good relative accuracy. scipy loses it in the lower
    # tail (x < a) once a is large, so those points, like underflowed ones, take the series,
    # whose terms x / (a + k) < 1 fall monotonically there.
    closed = (p > _UNDERFLOW) & ~((ap > LARGE_A) & (xp < ap))
    res = np.empty(ap.shape)
    # gammaln(a+1) + x - a log x, regrouped so that no two large terms cancel:
    # [gammaln(a+1) - a log a + a] + a (u - log(1 + u)),  u = x/a - 1.
    ac, xc = ap[closed], xp[closed]
    ratio = xc / ac
    u = ratio - 1.0
    # log1p is accurate near x = a; far below it u -> -1 and log1p(u) loses everything, but there
    # log(x/a) itself is exact.
    log_ratio = np.where(ratio > 0.5, np.log1p(np.maximum(u, -0.5)), np.log(xc) - np.log(ac))
    res[closed] = np.log(p[closed]) + _stirling_remainder(ac) + ac * (u - log_ratio)
    if (~closed).any():  # x far below a: terms x/(a+k) fall fast
        a_s, x_s = ap[~closed], xp[~closed]
        res[~closed] = np.log(_geometric_series(x_s / (a_s + 1.0), lambda k: x_s / (a_s + k)))
    out[pos] = res
    return out


def _stirling_remainder(a):
    """gammaln(a + 1) - (a log a - a), without cancellation for large a."""
    big = a > 20.0
    safe = np.where(big, a, 1.0)
    series = 0.5 * np.log(2 * np.pi * safe) + 1 / (12 * safe) - 1 / (360 * safe**3) + 1 / (1260 * safe**5)
    small = np.where(big, 1.0, a)
    direct = gammaln(small + 1.0) - (small * np.log(small) - small)
    return np.where(big, series, direct)


@dataclass(frozen=True)
class ErlangAMetrics:
    """Per-interval results of the M/M/N+M model (arrays of equal shape)."""

    p_wait: np.ndarray
    abandon_rate: np.ndarray
    service_level: np.ndarray
    asa_seconds: np.ndarray
    occupancy: np.ndarray


def erlang_a_metrics(agents, arrival_rate, aht_seconds, patience_seconds, answer_seconds) -> ErlangAMetrics:
    """Evaluate M/M/N+M at the given staffing. Rates are per second; all inputs broadcast.

    Zero arrivals give p_wait = abandon = 0, SL = 1, ASA = 0. Zero agents with arrivals give
    p_wait = abandon = 1 and SL = 0.
    """
    n, lam, aht, pat, t = _as_float_arrays(agents, arrival_rate, aht_seconds, patience_seconds, answer_seconds)
    shape = n.shape
    p_wait = np.zeros(shape)
    abandon = np.zeros(shape)
    sl = np.ones(shape)
    asa = np.zeros(shape)
    load = lam * aht
    occ = np.zeros(shape)

    nobody = (lam > 0) & (n <= 0)
    p_wait[nobody], abandon[nobody], sl[nobody] = 1.0, 1.0, 0.0
    asa[nobody] = np.inf  # nobody is ever answered

    m = (lam > 0) & (n > 0)
    limit = m & (pat > ERLANG_C_LIMIT * aht)  # the exact limit, not a float-precision loss
    if limit.any():
        c = erlang_c(n[limit], load[limit])
        p_wait[limit], abandon[limit] = c, 0.0
        sl[limit] = service_level_c(n[limit], load[limit], aht[limit], t[limit], c)
        asa[limit] = asa_c(n[limit], load[limit], aht[limit], c)
        occ[limit] = np.minimum(load[limit] / n[limit], 1.0)
    m &= ~limit
    if m.any():
        res = _erlang_a_core(n[m], lam[m], aht[m], pat[m], t[m])
        p_wait[m], abandon[m], sl[m], asa[m], occ[m] = res
    return ErlangAMetrics(p_wait, abandon, sl, asa, occ)


def _erlang_a_core(n, lam, aht, pat, t):
    theta = 1.0 / pat
    a = n / aht / theta           # N mu / theta
    x = lam / theta
    big_a = lam * aht
    e = erlang_b(n, big_a)
    lj = log_j(a, x)
    lj1 = log_j(a + 1.0, x)
    # P(wait) = 1 / (1 + (1 - E) / (E J)), written to avoid overflow of J. E underflows to 0
    # only when N is far above A; the exp(+inf) -> P(wait) = 0 limit is then exact.
    with np.errstate(divide="ignore", over="ignore"):
        p_wait = 1.0 / (1.0 + (1.0 - e) * np.exp(-(np.log(e) + lj)))
    log_ratio = np.log(a / (a + 1.0)) - lj
    h_x = np.exp(log_ratio + lj1)                  # P(served | wait)
    y = x * np.exp(-theta * t)
    log_h_y = (-(a + 1.0) * theta * t - x * np.expm1(-theta * t) + log_ratio + log_j(a + 1.0, y))
    h_y = np.exp(log_h_y)
    h_x = np.clip(h_x, 0.0, 1.0)
    served_wait = np.clip(h_x - h_y, 0.0, 1.0)
    abandon = np.clip(p_wait * (1.0 - h_x), 0.0, 1.0)
    sl = np.clip(1.0 - p_wait + p_wait * served_wait, 0.0, 1.0)

    dlog_j = _dlog_j_da(a + 1.0, x)
    wait_served = p_wait * h_x * np.maximum(1.0 / (a + 1.0) - dlog_j, 0.0) / theta
    served = 1.0 - abandon
    asa = np.where(served > 0, wait_served / np.maximum(served, 1e-300), np.inf)
    occ = np.minimum(big_a * served / n, 1.0)  # answered load over agents
    return p_wait, abandon, sl, asa, occ


def _dlog_j_da(a, x):
    """d/da log J(a, x) by a Richardson-extrapolated central difference (error O(h^4))."""
    h = 2e-2 * np.sqrt(a)

    def central(step):
        return (log_j(a + step, x) - log_j(a - step, x)) / (2.0 * step)

    return (4.0 * central(h / 2.0) - central(h)) / 3.0
