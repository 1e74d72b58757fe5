"""Whole-day re-plan: every shift of one day re-chosen at once, by a MIP (HiGHS).

The local search (`local.py`) moves one or two agents' shifts at a time. Some gains need many at
once: covering the dip between two peaks without over-coverage takes several agents ending earlier,
others starting later and a part-timer taking only the peak, each step alone a loss. This re-plan
keeps every agent's days as they are and re-chooses, for all agents working day d together, which
shift option of that day each works and where its breaks go; every agent's other days stay fixed,
so its own rules (hours, rest, caps, start-time stability) are checked agent by agent.

On smaller sites (DAYS_MOVE_AGENTS) an agent may also take the day off, or work it when off,
where its working pattern allows: the day's workforce changes size, not only shape.

The model counts agents, not names:
* a *class* is the agents working day d with the same candidates (options that keep their rules,
  each with the same own cost and pool); y[c, o] of class c work option o, and sum_o y[c, o] = |c|;
* breaks are counted per (pool, option, break, start), z, adding up to the shifts of that pool and
  option (break windows that do not overlap make every combination of starts a valid placement);
* on-queue agents per pool and interval (those of other days plus these) are routed to queues by
  flows, with under- and over-coverage slack per queue and interval, as the validator scores them.

Solved in three steps, each small:
1. the LP over every candidate (interior point with crossover: a vertex, so each class spreads
   over few options; about 1.5 s for a 200-agent day, 4 s for a 600-agent one);
2. a MIP over the options the LP uses, each class's counts between the LP's rounded down and up
   (RENS) and break counts left fractional: HiGHS reaches within MIP_GAP of the LP in a second or
   two, where the MIP with integer breaks over all options found nothing better in 20 s;
3. break counts rounded (largest remainder) and handed to the agents, then each re-placed
   agent's breaks placed afresh where coverage can best spare it.
The result is applied only if the search's own exact score (own terms plus coverage under the best
routing) is better than the day as it was. A 200-agent day re-planned after the moves had slowed:
-264 to -1,190 a day (a 118,750 week to 115,679 in 24 s, every day gaining).
"""

from __future__ import annotations

import time as clock
from collections import defaultdict
from dataclasses import dataclass

import numpy as np

from .highs import new_highs
from .local import Placed

# The rounding MIP's time, and the least left to start it: past ~2.5 s HiGHS only proves.
MIP_SECONDS, MIP_MIN_SECONDS = 3.0, 0.5
MIP_GAP = 0.002       # the rounding MIP stops this close to its bound
SUPPORT = 1e-6        # LP counts within this of an integer count as that integer
OFF = -1              # the day off, as a candidate
# Up to this many agents a re-plan may also move days on and off (beyond it each day's LP is too slow).
DAYS_MOVE_AGENTS = 500


@dataclass
class _Class:
    agents: list[int]       # agent indices
    options: list[int]      # option indices it may work
    pools: list[int]        # per option: the pool it stands on (-1: none)
    own: list[float]        # per option: the agents' own terms (cost, preferences)
    low: list[float] | None = None    # per option: bounds on its count (None: 0 to the class size)
    high: list[float] | None = None


def applies(search) -> bool:
    """Terms the model leaves out (shift demand, fairness) are absent, and every option's break
    windows follow one another without overlap."""
    return applies_to(search.data, search.options)


def applies_to(data, options) -> bool:
    """`applies` from the input alone (the solver asks before any search exists)."""
    if data.shift_requirements:
        return False
    unwanted = any(not p.want and p.template is not None and p.weight for a in data.agents for p in a.preferences)
    if data.weights.fairness and len(data.agents) > 1 and (any(t.night for t in data.templates) or unwanted):
        return False
    return all(a.latest + a.length <= b.earliest for o in options for a, b in zip(o.breaks, o.breaks[1:]))


def replan(search, d: int, seconds: float) -> float:
    """Day d of `search` (a `local.CoverageSearch`) re-planned; applied when better. Returns the
    objective change (negative when applied, else 0)."""
    began = clock.perf_counter()
    lp = day_model(search, d)
    if lp is None:
        return 0.0
    left = seconds - (clock.perf_counter() - began) - MIP_MIN_SECONDS
    if left < MIP_MIN_SECONDS:
        return 0.0
    y = lp.solve(integer=False, seconds=left)
    if y is None:
        return 0.0
    if np.all(np.abs(y[lp.integer] - np.round(y[lp.integer])) <= SUPPORT):
        # every count already whole: the rounding MIP could only find this LP's value again (a
        # restriction of the LP that still holds its optimum), after solving its root from scratch
        # (2.6 s on a 200-agent day)
        return _apply_if_better(search, d, lp.placements(d, y), lp.lo, lp.hi)
    rounded = [_around(c, y[lp.y_at[j]:lp.y_at[j] + len(c.options)]) for j, c in enumerate(lp.classes)]
    mip = _Model(search, rounded, lp.base, lp.lo, lp.hi)
    left = seconds - (clock.perf_counter() - began)
    if left < MIP_MIN_SECONDS:
        return 0.0
    x = mip.solve(integer=True, seconds=min(left, MIP_SECONDS))
    if x is None:
        return 0.0
    return _apply_if_better(search, d, mip.placements(d, x), lp.lo, lp.hi)


def day_model(search, d: int) -> "_Model | None":
    """The LP of day d: every agent working it (days fixed by the input aside) with every option
    its rules allow; None when fewer than two agents work it."""
    # a day off or on changes weekends worked, which fairness counts
    days_move = len(search.agents) <= DAYS_MOVE_AGENTS and not search.fair
    agents = [k for k in range(len(search.agents))
              if search.allowed[k].get(d) and (days_move or d in search.shift[k])]
    if len(agents) < 2:
        return None
    classes = _classes(search, d, agents, days_move)
    spans = [search.options[o] for c in classes for o in c.options if o != OFF]
    if not spans:
        return None
    lo = min(o.first for o in spans)
    hi = min(max(o.end_index for o in spans), search.grid.size)
    if hi <= lo:
        return None
    base = search.count[:, lo:hi].copy()   # on-queue agents of other days (and fixed ones)
    for k in agents:
        p = search.shift[k].get(d)
        if p is not None and p.pool >= 0:
            base[p.pool, p.cells - lo] -= 1
    return _Model(search, classes, base, lo, hi)


def _classes(search, d: int, agents: list[int], days_move: bool) -> list[_Class]:
    by_key: dict[tuple, _Class] = {}
    for k in agents:
        current = search.shift[k].get(d)
        old = search.options[current.option] if current is not None else None
        picks = search.options_keeping_rules(k, d, search.allowed[k][d])
        if days_move and (current is None or search.keeps_rules(k, d, old, None)):
            picks.append(OFF)
        pools = [search.pool_of[k][search.options[o].template] if o != OFF else -1 for o in picks]
        own = [round(search.own_terms(k, d, search.options[o] if o != OFF else None), 9) for o in picks]
        key = (tuple(picks), tuple(pools), tuple(own))
        c = by_key.get(key)
        if c is None:
            c = by_key[key] = _Class([], picks, pools, own)
        c.agents.append(k)
    return list(by_key.values())


def _around(c: _Class, y: np.ndarray) -> _Class:
    """Class c with only the options the LP uses, each between its LP count rounded down and up."""
    keep = np.flatnonzero(y > SUPPORT)
    return _Class(c.agents, [c.options[m] for m in keep], [c.pools[m] for m in keep], [c.own[m] for m in keep],
                  np.floor(y[keep] + SUPPORT).tolist(), np.ceil(y[keep] - SUPPORT).tolist())


class _Model:
    """Columns: y per (class, option), then z per (pool, option, break, start), then on-queue P per
    (pool, interval), flows per (pool, queue, interval), under and over per (queue, interval)."""

    def __init__(self, search, classes: list[_Class], base: np.ndarray, lo: int, hi: int):
        self.search, self.classes, self.base, self.lo, self.hi = search, classes, base, lo, hi
        n_pools, span = base.shape
        queues = search.need.shape[0]
        cost, integer, lower, upper = [], [], [], []
        rows = defaultdict(list)        # row key -> [(column, value)]
        rhs: dict[tuple, float] = {}

        def column(c: float, is_int: bool, low: float = 0.0, high: float = np.inf) -> int:
            cost.append(c)
            integer.append(is_int)
            lower.append(low)
            upper.append(high)
            return len(cost) - 1

        def clip(i: int) -> int:
            return min(max(i, lo), hi) - lo

        # y, with each class's agents all placed
        self.y_at = []
        shifts_of = defaultdict(list)   # (pool, option) -> y columns
        for j, c in enumerate(classes):
            self.y_at.append(len(cost))
            n = len(c.options)
            for o, pool, own, low, high in zip(c.options, c.pools, c.own, c.low or [0.0] * n,
                                               c.high or [len(c.agents)] * n):
                col = column(own, True, low, high)
                rows["class", j].append((col, 1.0))
                if pool >= 0:
                    shifts_of[pool, o].append(col)
            rhs["class", j] = len(c.agents)
        # on-queue changes by running differences: a shift adds one from its first interval to its
        # end, a break takes one off for its length
        delta = defaultdict(list)       # (pool, interval in span) -> [(column, value)]
        self.z_of: dict[tuple[int, int, int], list[tuple[int, int]]] = {}  # (pool, option, break) -> [(start, column)]
        for (pool, o), cols in shifts_of.items():
            opt = search.options[o]
            last = min(opt.end_index, search.grid.size)
            for col in cols:
                delta[pool, clip(opt.first)].append((col, 1.0))
                delta[pool, clip(last)].append((col, -1.0))
            for b, w in enumerate(opt.breaks):
                mine = []
                for p in range(w.earliest, w.latest + 1):
                    col = column(0.0, False)  # rounded afterwards (`placements`)
                    mine.append((p, col))
                    rows["breaks", pool, o, b].append((col, 1.0))
                    delta[pool, clip(p)].append((col, -1.0))
                    delta[pool, clip(min(p + w.length, last))].append((col, 1.0))
                rows["breaks", pool, o, b].extend((c, -1.0) for c in cols)
                rhs["breaks", pool, o, b] = 0.0
                self.z_of[pool, o, b] = mine
        self.z_end = len(cost)
        # P[pool, t] - P[pool, t-1] - (its changes) = base[t] - base[t-1]; P = sum of its flows
        pools = sorted({p for p, _ in delta} | set(np.flatnonzero(base.sum(axis=1) > 0).tolist()))
        flows_into = defaultdict(list)  # (queue, t) -> flow columns
        for pool in pools:
            previous = None
            for t in range(span):
                on = column(0.0, False)
                rows["on", pool, t] = [(on, 1.0)] + ([(previous, -1.0)] if previous is not None else []) + \
                    [(col, -v) for col, v in delta.get((pool, t), ())]
                rhs["on", pool, t] = base[pool, t] - (base[pool, t - 1] if t else 0.0)
                rows["route", pool, t] = [(on, -1.0)]
                rhs["route", pool, t] = 0.0
                for q in search.routing.pools[pool]:
                    f = column(0.0, False)
                    rows["route", pool, t].append((f, 1.0))
                    flows_into[q, t].append(f)
                previous = on
        for q in range(queues):
            for t in range(span):
                under = column(float(search.under_w[q, lo + t]), False)
                over = column(search.over_w, False)
                rows["cover", q, t] = [(f, 1.0) for f in flows_into.get((q, t), ())] + [(under, 1.0), (over, -1.0)]
                rhs["cover", q, t] = float(search.need[q, lo + t])
        self.cost, self.integer = np.array(cost), np.array(integer)
        self.lower, self.upper = np.array(lower), np.array(upper)
        self.row_keys = list(rows)
        self.rows, self.rhs = rows, rhs
        self.on_cols = {key[1:]: rows[key][0][0] for key in rows if key[0] == "on"}

    def solve(self, integer: bool, seconds: float) -> np.ndarray | None:
        """Column values (the LP's or the MIP's best), None when HiGHS found nothing in time."""
        from highspy import HighsModelStatus, HighsVarType

        h = new_highs()
        h.setOptionValue("output_flag", False)
        h.setOptionValue("threads", 1)
        h.setOptionValue("time_limit", max(float(seconds), 0.05))
        n = len(self.cost)
        h.addCols(n, self.cost, self.lower, self.upper, 0, np.zeros(0, np.int32), np.zeros(0, np.int32),
                  np.zeros(0))
        starts, index, values, bounds = [], [], [], []
        for key in self.row_keys:
            starts.append(len(index))
            for col, v in self.rows[key]:
                index.append(col)
                values.append(v)
            bounds.append(self.rhs[key])
        b = np.array(bounds, float)
        h.addRows(len(b), b, b, len(index), np.array(starts, np.int32), np.array(index, np.int32),
                  np.array(values, float))
        if integer:
            cols = np.flatnonzero(self.integer).astype(np.int32)
            h.changeColsIntegrality(len(cols), cols, np.full(len(cols), HighsVarType.kInteger))
            h.setOptionValue("mip_rel_gap", MIP_GAP)
            # presolve off: on a 200-agent day HiGHS found its first better roster sooner without it
            h.setOptionValue("presolve", "off")
        else:
            h.setOptionValue("solver", "ipm")
            h.setOptionValue("run_crossover", "on")  # a vertex: few options per class to round between
        h.run()
        status = h.getModelStatus()
        solution = h.getSolution()
        if integer:
            if not solution.value_valid:
                return None
        elif status != HighsModelStatus.kOptimal:
            return None
        return np.asarray(solution.col_value)

    # -- the current day as a solution, and a solution as placements ---------------------------------
    def current(self, d: int) -> np.ndarray:
        search, lo = self.search, self.lo
        x = np.zeros(len(self.cost))
        for j, c in enumerate(self.classes):
            at = {o: m for m, o in enumerate(c.options)}
            for k in c.agents:
                p = search.shift[k].get(d)
                x[self.y_at[j] + at[p.option if p is not None else OFF]] += 1
                if p is None or p.pool < 0:
                    continue
                for b, start in enumerate(p.breaks):
                    for pos, col in self.z_of[p.pool, p.option, b]:
                        if pos == start:
                            x[col] += 1
        for (pool, t), col in self.on_cols.items():
            x[col] = search.count[pool, lo + t]
        self._route(x)
        return x

    def _route(self, x: np.ndarray) -> None:
        """Flows and slacks of `x` for the search's on-queue counts, by its own best routing."""
        search = self.search
        flows = {}
        for key in self.row_keys:
            if key[0] == "route":
                _, pool, t = key
                if t not in flows:
                    flows[t] = search.routing.flows(search.count, self.lo + t)
                for q, (col, _) in zip(search.routing.pools[pool], self.rows[key][1:]):
                    x[col] = flows[t][pool, q]
        for key in self.row_keys:
            if key[0] == "cover":
                _, q, t = key
                terms = self.rows[key]
                covered = sum(x[col] for col, _ in terms[:-2])
                gap = search.need[q, self.lo + t] - covered
                x[terms[-2][0]], x[terms[-1][0]] = max(gap, 0.0), max(-gap, 0.0)

    def placements(self, d: int, x: np.ndarray) -> dict[int, object]:
        """Agent -> its new placement on day d, from the MIP's counts: agents keep their own option
        and break starts where the counts allow."""
        search = self.search
        chosen: dict[int, int] = {}
        for j, c in enumerate(self.classes):
            left = _rounded({o: x[self.y_at[j] + m] for m, o in enumerate(c.options)}, len(c.agents))
            rest = []
            for k in c.agents:
                now = search.shift[k].get(d)
                o = now.option if now is not None else OFF
                if left.get(o, 0) > 0:
                    left[o] -= 1
                    chosen[k] = o
                else:
                    rest.append(k)
            spare = [o for o, n in left.items() for _ in range(n)]
            for k, o in zip(rest, spare):
                chosen[k] = o
        by_pair = defaultdict(list)
        out = {k: None for k, o in chosen.items() if o == OFF}
        for k, o in chosen.items():
            if o == OFF:
                continue
            by_pair[search.pool_of[k][search.options[o].template], o].append(k)
        for (pool, o), ks in by_pair.items():
            opt = search.options[o]
            starts = {k: [] for k in ks}
            for b, w in enumerate(opt.breaks):
                if pool < 0:
                    for k in ks:
                        starts[k].append(w.earliest)
                    continue
                left = _rounded({p: x[col] for p, col in self.z_of[pool, o, b]}, len(ks))
                rest = []
                for k in ks:
                    now = search.shift[k].get(d)
                    p = now.breaks[b] if now is not None and now.option == o else None
                    if p is not None and left.get(p, 0) > 0:
                        left[p] -= 1
                        starts[k].append(p)
                    else:
                        rest.append(k)
                spare = [p for p, n in sorted(left.items()) for _ in range(n)]
                for k, p in zip(rest, spare):
                    starts[k].append(p)
            for k in ks:
                out[k] = Placed(o, tuple(starts[k]), _cells(opt, starts[k], search.grid.size) if pool >= 0
                                else np.zeros(0, int), pool)
        return out


def _cells(opt, starts: list[int], size: int) -> np.ndarray:
    last = min(opt.end_index, size)
    on = np.ones(max(last - opt.first, 0), bool)
    for p, w in zip(starts, opt.breaks):
        on[max(p - opt.first, 0):max(min(p + w.length, last) - opt.first, 0)] = False
    return np.arange(opt.first, last)[on]


def _rounded(values: dict[int, float], total: int) -> dict[int, int]:
    """Non-negative counts adding up to `total`, rounded from `values` by largest remainder."""
    counts = {p: int(np.floor(v + SUPPORT)) for p, v in values.items()}
    short = total - sum(counts.values())
    for p in sorted(values, key=lambda p: counts[p] - values[p])[:max(short, 0)]:
        counts[p] += 1
    return counts


def _apply_if_better(search, d: int, new: dict[int, object], lo: int, hi: int) -> float:
    """The new placements (None: the day off) applied if the search's exact score (own terms plus
    coverage under the best routing) improves; else the day is left as it was. Returns the change
    applied."""
    def same(a, b) -> bool:
        return (a is None and b is None) or (a is not None and b is not None and a.option == b.option
                                             and a.breaks == b.breaks)

    changed = {k: p for k, p in new.items() if not same(p, search.shift[k].get(d))}
    if not changed:
        return 0.0
    old = {k: search.shift[k].get(d) for k in changed}

    def score() -> float:
        own = 0.0
        for k in changed:
            p = search.shift[k].get(d)
            own += search.own_terms(k, d, search.options[p.option] if p is not None else None)
        return own + float(search.routing.penalty(search.count[:, lo:hi], lo, hi).sum())

    before = score()
    for k, p in changed.items():
        search.apply(k, d, old[k], p)
    for k, p in changed.items():  # breaks were rounded from fractional counts: each placed afresh at its best
        if p is None:
            continue
        found = search.evaluate(k, d, [p.option])
        if found is not None and found[0] < -1e-9:
            search.apply(k, d, search.shift[k][d], found[1])
    change = score() - before
    if change < -1e-9:
        search.applied(change)
        search.snapshot()
        return change
    for k in changed:
        search.apply(k, d, search.shift[k].get(d), old[k])
    return 0.0


def replan_days(search, seconds: float) -> float:
    """One round of days re-planned in turn, the most over-covered first, within `seconds`.
    Returns the objective change."""
    deadline = clock.perf_counter() + seconds
    surplus = search.routing.surplus(search.count)
    day_of = np.asarray(search.interval_day)
    total = 0.0
    for d in sorted(range(search.n_days), key=lambda d: -surplus[day_of == d].sum()):
        left = deadline - clock.perf_counter()
        if left < 2 * MIP_MIN_SECONDS:
            break
        change = replan(search, d, left)
        total += change
    return total
