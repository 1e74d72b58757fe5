"""Break placement against a value per interval: where a shift's breaks give up the least.

One dynamic programme over a shift's break rules in order (each inside its window, none
overlapping the one before), for one option (`best_breaks`) or many options of one shape at once
(`least_break_loss`). The greedy start places breaks with it and column generation prices them.
"""

from __future__ import annotations

import numpy as np

from .options import ShiftOption


def best_breaks(option: ShiftOption, value: np.ndarray) -> tuple[tuple[int, ...], float]:
    """Break starts (in list order, inside their windows, not overlapping) that give up the least
    on-queue value, and that loss. `value` is per interval, cumulated with a leading 0."""
    if not option.breaks:
        return (), 0.0
    n = len(value) - 1

    def loss(p, length):
        lo, hi = min(p, n), min(p + length, n)
        return value[hi] - value[lo]

    # DP over the rules: best[k][p] = least loss of rules 0..k with rule k starting at p.
    states = {p: (loss(p, option.breaks[0].length), (p,))
              for p in range(option.breaks[0].earliest, option.breaks[0].latest + 1)}
    for prev_rule, rule in zip(option.breaks, option.breaks[1:]):
        nxt = {}
        for p in range(rule.earliest, rule.latest + 1):
            fits = [s for q, s in states.items() if q + prev_rule.length <= p]
            if fits:
                best = min(fits, key=lambda s: s[0])
                nxt[p] = (best[0] + loss(p, rule.length), best[1] + (p,))
        states = nxt
    if not states:
        raise ValueError(f"template {option.template!r}: its breaks cannot all be placed in order")
    total, starts = min(states.values(), key=lambda s: s[0])
    return starts, total


def least_break_loss(cum: np.ndarray, first: np.ndarray, windows: tuple[tuple[int, int, int], ...]) -> np.ndarray:
    """`best_breaks`' least loss for many options of one shape at once: options starting at
    intervals `first`, break windows (earliest, latest, length) relative to the start. The same
    DP, over arrays (options x start positions); a break's best predecessor is a prefix minimum."""
    n = len(cum) - 1
    states, prev = None, None
    for earliest, latest, length in windows:
        span = np.arange(latest - earliest + 1)
        at = first[:, None] + earliest + span
        loss = cum[np.minimum(at + length, n)] - cum[np.minimum(at, n)]
        if states is None:
            states = loss
        else:
            p_earliest, p_latest, p_length = prev
            best = np.minimum.accumulate(states, axis=1) if states.shape[1] else states
            # the last start of the previous break that ends before this one starts
            k = np.minimum(earliest + span - p_length - p_earliest, p_latest - p_earliest)
            ok = k >= 0
            states = np.full(loss.shape, np.inf)
            states[:, ok] = best[:, k[ok]] + loss[:, ok]
        prev = (earliest, latest, length)
    least = states.min(axis=1) if states.shape[1] else np.full(len(first), np.inf)
    if np.isinf(least).any():
        raise ValueError("a template's breaks cannot all be placed in order")
    return least
