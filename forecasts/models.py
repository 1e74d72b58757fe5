"""Volume and AHT forecasting models behind one small interface.

    model.fit(history, calendar) -> model
    model.predict(starts)        -> frame interval_start, queue, volume

`history` is the long interval frame from `forecasts.ingest.aggregate` (interval_start in
local time, queue, volume, aht_seconds, handled), complete days, zero-filled. A day with
nothing recorded on a weekday that is normally open is a gap (an export that left the day
out, an outage), not a day without demand: every model leaves gaps out of its fit. `starts` are
tz-aware interval starts of the days to forecast (e.g. `Horizon.interval_starts()`).
Days are local calendar days and intervals are keyed by local clock time, so a 23- or
25-hour DST day borrows the pattern of its weekday and is renormalized to its own intervals.
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd

from .calendar import PRIOR_FACTOR, Calendar, SpecialDay


_FITS: ContextVar[dict | None] = ContextVar("forecast_fits", default=None)


@contextmanager
def shared_fits():
    """Within this block a model fitted twice on the same history and calendar is fitted once:
    a backtest fits each model on each fold's history, and the ensemble fits the same parts
    on the same weeks for its weights. Nested blocks share the outer block's fits."""
    token = _FITS.set({}) if _FITS.get() is None else None
    try:
        yield
    finally:
        if token is not None:
            _FITS.reset(token)


def fit_model(model_type, history: pd.DataFrame, calendar: Calendar | None = None) -> "Forecaster":
    """`model_type().fit(history, calendar)`, reused inside a `shared_fits` block. The history
    is keyed by its content hash: the folds are different prefixes of one frame."""
    fits = _FITS.get()
    if fits is None:
        return model_type().fit(history, calendar)
    key = (model_type, id(calendar), len(history), int(pd.util.hash_pandas_object(history, index=False).sum()))
    if key not in fits:
        fits[key] = model_type().fit(history, calendar)
    return fits[key]


def local_dates(starts: pd.DatetimeIndex) -> np.ndarray:
    """`starts.date` (local calendar dates as `date` objects), converting each distinct day once."""
    wall = starts.tz_localize(None) if starts.tz is not None else starts  # local wall clock, always valid
    codes, days = pd.factorize(wall.normalize())
    return np.array([d.date() for d in days] + [None], dtype=object)[codes]


def time_keys(starts) -> pd.DataFrame:
    """Local date, weekday (Mon=0) and clock slot (minutes after midnight) per interval."""
    starts = pd.DatetimeIndex(starts)
    return pd.DataFrame({"date": local_dates(starts), "dow": starts.day_of_week.to_numpy(),
                         "slot": (starts.hour * 60 + starts.minute).to_numpy()})


@dataclass
class DayMatrix:
    """One queue's history as days x clock slots, plus daily totals."""

    days: list[date]
    slots: np.ndarray
    values: np.ndarray    # days x slots; NaN where a slot does not exist that day (DST)
    totals: np.ndarray    # true daily totals (a repeated DST hour counted once each)
    dow: np.ndarray
    missing: np.ndarray = None   # per day: a gap in the data, not a day without demand

    @classmethod
    def build(cls, history: pd.DataFrame, column: str = "volume") -> "DayMatrix":
        starts = pd.DatetimeIndex(history["interval_start"])
        value = history[column].to_numpy(float)
        day_index, days = pd.factorize(local_dates(starts), sort=True)
        slot_index, slots = pd.factorize((starts.hour * 60 + starts.minute).to_numpy(), sort=True)
        shape = (len(days), len(slots))
        sums, counts = np.zeros(shape), np.zeros(shape)
        np.add.at(sums, (day_index, slot_index), np.nan_to_num(value))
        np.add.at(counts, (day_index, slot_index), ~np.isnan(value))
        present = np.zeros(shape, bool)
        present[day_index, slot_index] = True
        # A repeated DST hour: its slot holds the mean of the two, the day's total both.
        with np.errstate(invalid="ignore", divide="ignore"):
            values = np.where(present & (counts > 0), sums / counts, np.nan)
        totals = sums.sum(axis=1)
        days = list(days)
        dow = np.array([d.weekday() for d in days])
        missing = gap_days(totals, dow)
        values[missing] = np.nan
        return cls(days, np.asarray(slots), values, totals, dow, missing)

    def with_holes_filled(self, skip: np.ndarray) -> "DayMatrix":
        """A copy whose empty intervals inside open days (see `interval_gaps`) hold their weekday
        and slot's typical count, days marked in `skip` (special days: a holiday closes at noon) left alone."""
        holes, fill = interval_gaps(self.values, self.dow, self.missing | skip)
        if not holes.any():
            return self
        values = np.where(holes, fill, self.values)
        totals = self.totals + np.where(holes, fill, 0.0).sum(axis=1)
        return DayMatrix(self.days, self.slots, values, totals, self.dow, self.missing)

    def divided(self, per_day: np.ndarray) -> "DayMatrix":
        """A copy with each day's intervals and total divided by its entry of `per_day`."""
        per_day = np.asarray(per_day, float)
        return DayMatrix(self.days, self.slots, self.values / per_day[:, None], self.totals / per_day, self.dow,
                         self.missing)


def interval_gaps(values: np.ndarray, dow: np.ndarray, missing: np.ndarray, radius_days: int = 35,
                  min_typical: float = 10.0, max_share: float = 0.25) -> tuple[np.ndarray, np.ndarray]:
    """Empty intervals inside an open day (something recorded before and after them that day)
    whose weekday and slot normally have at least `min_typical` contacts within `radius_days`:
    an export or outage hole, not a quiet hour. Returns the mask and the fill, that median.
    Empty intervals at either end of a day are left alone: opening hours change there, and so
    is a day whose holes would hold over `max_share` of its volume (an outage day: see `unusual_days`)."""
    v = np.nan_to_num(values)
    before = np.cumsum(v, axis=1) - v > 0
    after = np.cumsum(v[:, ::-1], axis=1)[:, ::-1] - v > 0
    candidates = (values == 0) & before & after & ~missing[:, None]
    fill = np.zeros(values.shape)
    rows = np.flatnonzero(candidates.any(axis=1))
    if len(rows) == 0:
        return candidates, fill
    offsets = np.array([o for o in range(-radius_days, radius_days + 1) if o and o % 7 == 0])
    j = rows[:, None] + offsets[None, :]
    jc = np.clip(j, 0, len(dow) - 1)
    ok = (j >= 0) & (j < len(dow)) & ~missing[jc] & (dow[jc] == dow[rows][:, None])
    near = np.where(ok[:, :, None], values[jc], np.nan)  # rows x offsets x slots
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # a slot with no neighbour: NaN, no hole
        typical = np.nanmedian(near, axis=1)
    fill[rows] = np.nan_to_num(typical)
    holes = candidates & (fill >= min_typical)
    # A day missing more than `max_share` of its volume is an outage day, left out whole and reported.
    filled = np.where(holes, fill, 0.0).sum(axis=1)
    holes &= (filled <= max_share * (v.sum(axis=1) + filled))[:, None]
    return holes, np.where(holes, fill, 0.0)


def hole_rows(history: pd.DataFrame, calendar: Calendar | None = None) -> np.ndarray:
    """Per row of `history`, whether its interval is a hole the models fill (`interval_gaps`:
    empty inside an open ordinary day that normally has calls then): missing data, not a zero."""
    out = np.zeros(len(history), bool)
    calendar = calendar or Calendar()
    for _, part in history.groupby("queue", sort=False):
        starts = pd.DatetimeIndex(part["interval_start"])
        day_index, _ = pd.factorize(local_dates(starts), sort=True)  # the rows and columns `build` makes
        slot_index, _ = pd.factorize((starts.hour * 60 + starts.minute).to_numpy(), sort=True)
        m = DayMatrix.build(part)
        described = calendar.describe(m.days)
        skip = np.array([d in described for d in m.days], bool)
        holes, _ = interval_gaps(m.values, m.dow, m.missing | skip)
        out[history.index.get_indexer(part.index)] = holes[day_index, slot_index]
    return out


def gap_days(totals: np.ndarray, dow: np.ndarray, radius_days: int = 35, min_typical: float = 10.0) -> np.ndarray:
    """Days with nothing recorded although the same weekday around them normally has at least
    `min_typical` contacts (a Poisson zero then has odds below 1 in 20,000): missing data."""
    totals = np.asarray(totals, float)
    pos = np.arange(len(totals))
    out = np.zeros(len(totals), bool)
    for i in np.flatnonzero(totals == 0):
        near = (dow == dow[i]) & (np.abs(pos - i) <= radius_days) & (pos != i)
        out[i] = near.any() and np.median(totals[near]) >= min_typical
    return out


def _same_weekday_median(m: DayMatrix, usable: np.ndarray, radius: int) -> np.ndarray:
    """Per day, the median total of the other usable days of its weekday within `radius`
    positions; NaN where fewer than two such days exist."""
    n = len(m.days)
    offsets = np.array([o for o in range(-radius, radius + 1) if o != 0])
    j = np.arange(n)[:, None] + offsets[None, :]
    inside = (j >= 0) & (j < n)
    jc = np.clip(j, 0, n - 1)
    ok = inside & usable[jc] & (m.dow[jc] == m.dow[:, None])
    near = np.where(ok, m.totals[jc], np.nan)
    out = np.full(n, np.nan)
    enough = ok.sum(axis=1) >= 2
    if enough.any():
        out[enough] = np.nanmedian(near[enough], axis=1)
    return out


def unusual_days(m: DayMatrix, exclude: np.ndarray, low: float = 0.6, high: float = 1.7,
                 local_days: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Days to leave out of seasonal patterns, and each day's ratio to its reference.

    Gaps (see `gap_days`) first, then days far from the median of the same weekday within
    +-4 weeks (gaps and `exclude`d days left out of the median), both in ratio and beyond
    Poisson noise (4 standard deviations), so a quiet queue's ordinary days are kept:
    partial days, outages, one-off spikes. With `local_days`, a day is unusual only if it
    is also that far from the median ratio of the days within +-`local_days` of it: a whole
    week that moved together is a new level to follow, not a run of outliers.
    """
    n = len(m.days)
    pos = np.arange(n)
    gap = m.missing.copy()
    out = gap.copy()
    ratios = np.where(gap, 0.0, np.nan)
    ref = _same_weekday_median(m, ~exclude & ~gap, radius=28)
    judged = ~gap & (ref > 0)
    ratios[judged] = m.totals[judged] / ref[judged]
    far = (ratios < low) | (ratios > high)
    beyond_noise = np.abs(m.totals - ref) > 4.0 * np.sqrt(np.abs(ref) + 1.0)
    out[judged] = (far & beyond_noise)[judged]
    if local_days:
        for i in np.flatnonzero(out & ~gap):
            near = (np.abs(pos - i) <= local_days) & (pos != i) & ~exclude & ~gap & ~np.isnan(ratios)
            if near.sum() >= 2:
                moved = ratios[i] / np.median(ratios[near])
                out[i] = moved < low or moved > high
    return out, ratios


def _per_queue(history: pd.DataFrame):
    for queue, part in history.groupby("queue", sort=True):
        yield queue, part.sort_values("interval_start")


def _frame(starts, queue, volume) -> pd.DataFrame:
    return pd.DataFrame({"interval_start": pd.DatetimeIndex(starts), "queue": queue,
                         "volume": np.maximum(np.asarray(volume, float), 0.0)})


@dataclass
class DayFactors:
    """Ratios of past special days to a normal day of their weekday, by name and by kind."""

    by_name: dict[str, list[float]] = field(default_factory=dict)
    by_kind: dict[str, list[float]] = field(default_factory=dict)

    def factor(self, day: SpecialDay) -> float:
        """Declared factor, else the day's own past ratios shrunk toward its kind, the kind's
        ratios shrunk toward the kind's prior (one pseudo-observation each)."""
        if day.factor is not None:
            return day.factor
        kind = self.by_kind.get(day.kind, [])
        kind_factor = (sum(kind) + PRIOR_FACTOR.get(day.kind, 1.0)) / (len(kind) + 1)
        own = self.by_name.get(day.name, [])
        return (sum(own) + kind_factor) / (len(own) + 1)


def learn_day_factors(m: DayMatrix, described: dict[date, SpecialDay], radius_days: int = 28) -> DayFactors:
    """Each past special day's total over the median of the same weekday's ordinary days
    within `radius_days` (gaps left out: a day the export lacks teaches nothing)."""
    special = np.array([d in described for d in m.days], bool)
    pos = np.arange(len(m.days))
    out = DayFactors()
    for i in np.flatnonzero(special & ~m.missing):
        ref_days = (m.dow == m.dow[i]) & (np.abs(pos - i) <= radius_days) & ~special & ~m.missing
        if ref_days.sum() < 2:
            continue
        ref = np.median(m.totals[ref_days])
        if ref > 0:
            day = described[m.days[i]]
            ratio = float(m.totals[i] / ref)
            out.by_name.setdefault(day.name, []).append(ratio)
            out.by_kind.setdefault(day.kind, []).append(ratio)
    return out


@dataclass
class DayShapes:
    """Intraday shares of past special days pooled by kind (an eve's calls stop early whatever
    its weekday), with the number of days behind each."""

    slots: np.ndarray
    shares: dict[str, np.ndarray] = field(default_factory=dict)
    days: dict[str, int] = field(default_factory=dict)

    def reshape(self, kind: str, volume: np.ndarray, slots, pseudo_days: float) -> np.ndarray:
        """`volume` of one special day redistributed over its intervals: the learned shares of
        its kind shrunk toward the model's own shape by `pseudo_days`; the day total is kept."""
        n, total = self.days.get(kind, 0), volume.sum()
        if n == 0 or total <= 0:
            return volume
        col = pd.Series(np.arange(len(self.slots)), index=self.slots).reindex(slots).to_numpy()
        learned = np.zeros(len(volume))
        ok = ~np.isnan(col)
        learned[ok] = self.shares[kind][col[ok].astype(int)]
        if learned.sum() <= 0:
            return volume
        mixed = (n * learned / learned.sum() + pseudo_days * volume / total) / (n + pseudo_days)
        return total * mixed


def learn_day_shapes(m: DayMatrix, described: dict[date, SpecialDay]) -> DayShapes:
    """Pooled intraday shares of the past special days of each kind (gaps and empty days left out)."""
    out = DayShapes(m.slots)
    for kind in {s.kind for s in described.values()}:
        rows = np.array([m.days[i] in described and described[m.days[i]].kind == kind and not m.missing[i]
                         and m.totals[i] > 0 for i in range(len(m.days))], bool)
        if rows.any():
            pooled = np.nansum(m.values[rows], axis=0)
            if pooled.sum() > 0:
                out.shares[kind], out.days[kind] = pooled / pooled.sum(), int(rows.sum())
    return out


MONTH_START_DAYS = 5  # days 1-5 of a month: pay days, benefits and statements bring calls


@dataclass
class MonthStart:
    """Volume on the first `MONTH_START_DAYS` days of a calendar month relative to other days
    (a bank's or a biller's calls rise at the start of the month). Fitted by least squares of
    log day totals on weekday, a linear trend and a month-start indicator over the last
    `window_days` ordinary open days (unusual days already left out), the indicator's
    coefficient with a normal prior around 0 of standard deviation `prior_sd` (a ridge of
    residual variance / prior_sd^2). 1.0 until the history spans `min_span_days` (fewer month
    starts cannot be told from a trend) and unless the coefficient is `min_t` standard errors
    from 0 (a queue without the cycle keeps its volume exactly)."""

    factor: float = 1.0

    @classmethod
    def fit(cls, m: DayMatrix, usable: np.ndarray, window_days: int = 112, min_span_days: int = 42,
            prior_sd: float = 0.1, min_t: float = 2.0) -> "MonthStart":
        n = len(m.days)
        # A month start in the last week has no days after it to tell it from a new level.
        judged = usable & (m.totals > 0) & ~(cls.is_start(m.days) & (np.arange(n) >= n - 7))
        idx = np.flatnonzero(judged & (np.arange(n) >= n - window_days))
        if len(idx) < 2 or (m.days[idx[-1]] - m.days[idx[0]]).days < min_span_days:
            return cls()
        start = cls.is_start([m.days[i] for i in idx])
        x, y = cls._design(m, idx)
        if start.all() or not start.any() or len(y) <= x.shape[1]:
            return cls()
        beta = np.linalg.lstsq(x, y, rcond=None)[0]
        # Counts are never known better than Poisson noise (var of log total ~ 1 / total).
        sigma2 = max(((y - x @ beta) ** 2).sum() / (len(y) - x.shape[1]), float(np.mean(1.0 / m.totals[idx])))
        penalty = np.zeros(x.shape[1])
        penalty[-1] = sigma2 / prior_sd ** 2
        try:
            cov = np.linalg.inv(x.T @ x + np.diag(penalty))
        except np.linalg.LinAlgError:  # e.g. every month-start day on the one open weekday
            return cls()
        beta = cov @ x.T @ y
        if abs(beta[-1]) < min_t * np.sqrt(sigma2 * cov[-1, -1]):  # no clear month-start effect: volume left alone
            return cls()
        return cls(float(np.exp(beta[-1])))

    @classmethod
    def _design(cls, m: DayMatrix, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Columns weekday dummies, trend (per 4 weeks), month-start indicator; log day totals."""
        days = [m.days[i] for i in idx]
        weekdays = [(m.dow[idx] == k).astype(float) for k in sorted(set(m.dow[idx]))]
        trend = np.array([(d - days[-1]).days for d in days], float) / 28.0
        return np.column_stack(weekdays + [trend, cls.is_start(days).astype(float)]), np.log(m.totals[idx])

    @staticmethod
    def is_start(days) -> np.ndarray:
        return np.array([d.day <= MONTH_START_DAYS for d in days], bool)

    def of(self, days) -> np.ndarray:
        """The factor of each day (1.0 outside a month start)."""
        return np.where(self.is_start(days), self.factor, 1.0)


def month_start_usable(m: DayMatrix, calendar: Calendar) -> np.ndarray:
    """Days a month-start factor is learnt from: started, not special, not a gap or an unusual day."""
    specials = calendar.special(m.days)
    special = np.array([d in specials for d in m.days], bool)
    started = np.cumsum(m.totals) > 0
    unusual, _ = unusual_days(m, special | ~started, local_days=3)
    return ~special & started & ~unusual


class Forecaster:
    """Base: subclasses implement `_fit_queue` and `_predict_queue` for ordinary days; the base
    scales special days (holidays, eves, declared days) by their day factor, for every model,
    and gives them the intraday shape of past special days of their kind, shrunk toward the
    model's own by `shape_pseudo_days`. Every model also learns and forecasts volume with the
    month-start factor (`MonthStart`) divided out of its history, multiplied back in its forecast."""

    name = "base"
    shape_pseudo_days = 1.0
    shape_kinds = ("eve", "holiday")  # days whose opening hours change; observances keep theirs

    def fit(self, history: pd.DataFrame, calendar: Calendar | None = None) -> "Forecaster":
        self.calendar = calendar or Calendar()
        self.state, self.day_factors, self.day_shapes, self.month_start = {}, {}, {}, {}
        for q, part in _per_queue(history):
            m = DayMatrix.build(part)
            described = self.calendar.describe(m.days)
            m = m.with_holes_filled(np.array([d in described for d in m.days], bool))
            self.month_start[q] = MonthStart.fit(m, month_start_usable(m, self.calendar))
            m = m.divided(self.month_start[q].of(m.days))
            self.state[q] = self._fit_queue(m)
            self.day_factors[q] = learn_day_factors(m, described)
            self.day_shapes[q] = learn_day_shapes(m, described)
        return self

    def predict(self, starts) -> pd.DataFrame:
        keys = time_keys(starts)
        described = self.calendar.describe(set(keys["date"]))
        by_day = keys.groupby("date").indices
        frames = []
        for q, s in self.state.items():
            scale = np.array([self.day_factors[q].factor(described[d]) if d in described else 1.0
                              for d in keys["date"]]) * self.month_start[q].of(keys["date"])
            volume = self._predict_queue(s, keys) * scale
            for d in described.keys() & by_day.keys():
                if described[d].kind not in self.shape_kinds:
                    continue
                idx = by_day[d]
                volume[idx] = self.day_shapes[q].reshape(described[d].kind, volume[idx], keys["slot"].to_numpy()[idx],
                                                         self.shape_pseudo_days)
            frames.append(_frame(starts, q, volume))
        return pd.concat(frames, ignore_index=True)

    def special_days(self, starts) -> dict[date, tuple[SpecialDay, dict[str, float]]]:
        """The special days in `starts`, each with the factor used per queue (for reports)."""
        described = self.calendar.describe(set(time_keys(starts)["date"]))
        return {d: (s, {q: self.day_factors[q].factor(s) for q in self.state}) for d, s in sorted(described.items())}

    def month_start_factor(self, queue) -> float:
        """The factor this model gives `queue`'s days 1-5 of a month (1.0: none learnt)."""
        return self.month_start[queue].factor if queue in self.month_start else 1.0

    def daily_state(self, queue):
        """The daily model's state for `queue` (outliers, level shift) when this model has one."""
        state = self.state.get(queue)
        return state if isinstance(state, _DailyState) else None

    def _fit_queue(self, m: DayMatrix):
        raise NotImplementedError

    def _predict_queue(self, state, keys: pd.DataFrame) -> np.ndarray:
        raise NotImplementedError


def _lookup(m: DayMatrix, target_days, slots) -> np.ndarray:
    index = {d: i for i, d in enumerate(m.days)}
    col = {s: j for j, s in enumerate(m.slots)}
    out = np.full(len(slots), np.nan)
    for i, (d, s) in enumerate(zip(target_days, slots)):
        r, c = index.get(d), col.get(s)
        if r is not None and c is not None:
            out[i] = m.values[r, c]
    return out


class SeasonalNaive(Forecaster):
    """Same interval of the same weekday in the last week of history (repeated for longer
    horizons). A source day that is a gap, an unusual day or a special day is replaced by the same
    weekday one week earlier (up to `max_back` weeks)."""

    name = "seasonal_naive"

    def __init__(self, max_back: int = 4):
        self.max_back = max_back

    def _fit_queue(self, m):
        specials = self.calendar.special(m.days)
        special = np.array([d in specials for d in m.days], bool)
        unusual, _ = unusual_days(m, special)
        bad = unusual | special
        usable = {d for d, b in zip(m.days, bad) if not b}
        return m, usable

    def _predict_queue(self, state, keys):
        m, usable = state
        last = m.days[-1]
        weeks = np.maximum(np.ceil(np.array([(d - last).days for d in keys["date"]]) / 7.0), 1).astype(int)
        source = []
        for d, w in zip(keys["date"], weeks):
            first = d - timedelta(days=7 * int(w))
            back = [first - timedelta(days=7 * j) for j in range(self.max_back + 1)]
            source.append(next((b for b in back if b in usable), first))
        out = _lookup(m, source, keys["slot"])
        older = [d - timedelta(days=7) for d in source]  # a DST-missing slot: one week further back
        fill = _lookup(m, older, keys["slot"])
        return np.nan_to_num(np.where(np.isnan(out), fill, out))


def _recency_weights(m: DayMatrix, usable: np.ndarray, weeks: int, decay: float) -> np.ndarray:
    """Weight decay**age for the last `weeks` usable days of each weekday, 0 elsewhere."""
    w = np.zeros(len(m.days))
    for k in range(7):
        idx = np.flatnonzero((m.dow == k) & usable)[::-1][:weeks]
        w[idx] = decay ** np.arange(len(idx))
    return w


class WeeklyProfile(Forecaster):
    """Recency-weighted average of the same weekday and clock slot over recent weeks
    (declared special days, gaps and unusual days left out)."""

    name = "weekly_profile"
    local_days = 3  # a day is an outlier against its own week too (unusual_days)

    def __init__(self, weeks: int = 8, decay: float = 0.8):
        self.weeks, self.decay = weeks, decay

    def _usable(self, m: DayMatrix) -> np.ndarray:
        """Days the pattern is learnt from: started, not special, not a gap or an unusual day."""
        specials = self.calendar.special(m.days)
        special = np.array([d in specials for d in m.days], bool)
        started = np.cumsum(m.totals) > 0
        unusual, _ = unusual_days(m, special | ~started, local_days=self.local_days)
        return ~special & started & ~unusual

    def _fit_queue(self, m):
        return self._profile(m, self._usable(m))

    def _profile(self, m: DayMatrix, usable: np.ndarray):
        w = _recency_weights(m, usable, self.weeks, self.decay)
        vals = np.nan_to_num(m.values)
        prof = np.zeros((7, len(m.slots)))
        for k in range(7):
            wk = w * (m.dow == k)
            if wk.sum() > 0:
                prof[k] = wk @ vals / wk.sum()
        return m.slots, prof

    def _predict_queue(self, state, keys):
        slots, prof = state
        col = pd.Series(np.arange(len(slots)), index=slots).reindex(keys["slot"]).to_numpy()
        ok = ~np.isnan(col)
        out = np.zeros(len(keys))
        out[ok] = prof[keys["dow"].to_numpy()[ok], col[ok].astype(int)]
        return out


class LevelProfile(WeeklyProfile):
    """A long, smooth profile kept at the recent level: the weekly profile over `weeks` weeks
    with a slow decay (less noise in each weekday's shape and volume), times the ratio of
    the last `level_days` usable days' totals to what that profile gives their weekdays,
    shrunk toward 1 by `level_shrink` pseudo-days (a few days' ratio is itself noisy).
    The weekly profile follows a level change only as fast as its decay lets it; this one
    follows it at once without taking the last weeks' noise into every interval."""

    name = "level_profile"

    def __init__(self, weeks: int = 12, decay: float = 0.95, level_days: int = 5, level_shrink: float = 1.0):
        super().__init__(weeks, decay)
        self.level_days, self.level_shrink = level_days, level_shrink

    def _fit_queue(self, m):
        usable = self._usable(m)
        slots, prof = self._profile(m, usable)
        recent = np.flatnonzero(usable)[-self.level_days:]
        expected = prof.sum(axis=1)[m.dow[recent]]
        n = float((expected > 0).sum())
        if n == 0 or expected.sum() <= 0:
            return slots, prof
        ratio = m.totals[recent].sum() / expected.sum()
        return slots, prof * (n * ratio + self.level_shrink) / (n + self.level_shrink)


@dataclass
class _DailyState:
    slots: np.ndarray
    shares: np.ndarray        # 7 x slots, rows sum to 1 (0 for closed weekdays)
    dow_factor: np.ndarray    # 7
    level: float              # deseasonalized level at the last history day
    trend: float              # per day
    last_day: date
    outliers: list = field(default_factory=list)
    level_shift: tuple | None = None  # (ratio, first day) of a new level at the end of history


def _huber_weights(residuals: np.ndarray, c: float = 1.5) -> np.ndarray:
    """Huber IRLS weights: 1 within c robust standard deviations (1.4826 x MAD), c s / |r| beyond,
    so a day that is odd but not an outlier cannot drag the level and trend."""
    scale = 1.4826 * np.median(np.abs(residuals - np.median(residuals)))
    if not scale > 0:
        return np.ones(len(residuals))
    r = np.abs(residuals) / (c * scale)
    return np.where(r <= 1, 1.0, 1.0 / np.maximum(r, 1e-12))


class DailyProfile(Forecaster):
    """Contact-center model: daily total x intraday profile of its weekday.

    Daily totals = (level + damped trend) x weekday factor (x the special-day factor). Level,
    trend and weekday factors are fitted jointly by recency-weighted, Huber-robust least squares on recent
    days; holidays, declared special days and detected outliers (days far from the median of
    the same weekday around them: outages, system gaps) get zero weight so they do not
    poison the pattern. Intraday shares per weekday are recency-weighted over the same clean
    days.
    """

    name = "daily_profile"

    def __init__(self, window_days: int = 84, half_life_days: float = 28.0, damping: float = 0.97,
                 profile_weeks: int = 8, profile_decay: float = 0.85, profile_pooling: float = 3.0,
                 outlier_low: float = 0.6, outlier_high: float = 1.7, min_trend_days: int = 14):
        self.window_days, self.half_life_days, self.damping = window_days, half_life_days, damping
        self.profile_weeks, self.profile_decay, self.profile_pooling = profile_weeks, profile_decay, profile_pooling
        self.outlier_low, self.outlier_high = outlier_low, outlier_high
        self.min_trend_days = min_trend_days

    @staticmethod
    def level_shift(flags: np.ndarray, ratios: np.ndarray, special: np.ndarray, window: int = 7,
                    min_days: int = 3) -> tuple[float, np.ndarray] | None:
        """A new level at the end of history: the last open days all flagged, all on the same
        side (a queue that stopped, halved or doubled). Returns (ratio, those days) or None.
        Such days are not outliers to ignore but the present to follow."""
        n = len(flags)
        recent = [i for i in range(max(0, n - window), n) if not special[i] and not np.isnan(ratios[i])]
        flagged = [i for i in recent if flags[i]]
        if len(flagged) < min_days or any(not flags[i] for i in recent if i > flagged[0]):
            return None
        r = ratios[flagged]
        if not ((r < 1).all() or (r > 1).all()):
            return None
        return float(np.median(r)), np.array(flagged)

    def _fit_queue(self, m):
        specials = self.calendar.special(m.days)
        special = np.array([d in specials for d in m.days])
        started = np.cumsum(m.totals) > 0  # a queue that opened later: its earlier zeros are not data
        flags, ratios = unusual_days(m, special | ~started, self.outlier_low, self.outlier_high)
        outlier = flags & ~special & started
        shift = self.level_shift(outlier, ratios, special | ~started)
        clean = ~special & ~outlier & started
        n = len(m.days)
        t = np.arange(n, dtype=float)
        w = np.where(clean & (t > n - 1 - self.window_days), 0.5 ** ((n - 1 - t) / self.half_life_days), 0.0)
        # Under two weeks a slope cannot be told apart from the weekly pattern.
        level, trend, factor = self._fit_daily(m.totals, m.dow, t, w, with_trend=n >= self.min_trend_days)

        pw = _recency_weights(m, clean, self.profile_weeks, self.profile_decay)
        shares = self._shares(m, pw)
        shifted = set()
        if shift is not None:  # follow the new level; the pattern comes from before the change
            ratio, days = shift
            level, trend = level * ratio, trend * ratio
            shifted = set(days.tolist())
        return _DailyState(m.slots, shares, factor, level, trend, m.days[-1],
                           [m.days[i] for i in np.flatnonzero(outlier) if i not in shifted],
                           None if shift is None else (shift[0], m.days[int(shift[1][0])]))

    @staticmethod
    def _fit_daily(totals, dow, t, w, with_trend: bool = True, iterations: int = 12):
        factor = np.ones(7)
        open_dow = np.array([(w * (dow == k) * totals).sum() > 0 for k in range(7)])
        factor[~open_dow] = 0.0
        a, b = (totals * w).sum() / max(w.sum(), 1e-12), 0.0
        t0 = t.max()
        robust = np.ones(len(totals))
        for _ in range(iterations):
            f = factor[dow]
            use = (w > 0) & (f > 0)
            if use.sum() >= 2:
                z = totals[use] / f[use]
                ww = w[use] * f[use] ** 2 * robust[use]  # bigger days carry more information
                x = t[use] - t0
                xm, zm = np.average(x, weights=ww), np.average(z, weights=ww)
                var = np.average((x - xm) ** 2, weights=ww)
                b = np.average((x - xm) * (z - zm), weights=ww) / var if var > 0 and with_trend else 0.0
                a = zm - b * xm
                robust[use] = _huber_weights(z - (a + b * x))
            lvl = np.maximum(a + b * (t - t0), 1e-9)
            for k in np.flatnonzero(open_dow):
                sel = (dow == k) & (w > 0)
                if sel.any():
                    rw = w[sel] * robust[sel]
                    factor[k] = (rw * totals[sel]).sum() / (rw * lvl[sel]).sum()
            scale = factor[open_dow].mean() if open_dow.any() else 1.0
            factor = factor / scale if scale > 0 else factor
        return max(a, 0.0), b, factor

    def _shares(self, m: DayMatrix, pw: np.ndarray) -> np.ndarray:
        """Intraday shares per weekday, shrunk toward the profile pooled over all open days:
        (n own + pooling x pooled) / (n + pooling), n = the weekday's effective day count.
        A weekday with few clean days borrows the common shape instead of its own noise."""
        vals = np.nan_to_num(m.values)
        pooled = pw @ vals
        pooled = pooled / pooled.sum() if pooled.sum() > 0 else pooled
        shares = np.zeros((7, len(m.slots)))
        for k in range(7):
            wk = pw * (m.dow == k)
            total = wk @ m.totals
            if total > 0:
                n = wk.sum()
                shares[k] = (n * (wk @ vals / total) + self.profile_pooling * pooled) / (n + self.profile_pooling)
        return shares

    def _predict_queue(self, s: _DailyState, keys):
        out = np.zeros(len(keys))
        col = pd.Series(np.arange(len(s.slots)), index=s.slots).reindex(keys["slot"]).to_numpy()
        for day, idx in keys.groupby("date").indices.items():
            h = (day - s.last_day).days
            damped = sum(self.damping ** i for i in range(1, h + 1)) if h > 0 else h
            total = max(s.level + s.trend * damped, 0.0) * s.dow_factor[day.weekday()]
            ok = ~np.isnan(col[idx])
            share = np.zeros(len(idx))
            share[ok] = s.shares[day.weekday(), col[idx][ok].astype(int)]
            if share.sum() > 0:
                out[idx] = total * share / share.sum()
        return out


@dataclass
class _AhtStats:
    """One queue's recency-weighted handle seconds and handled contacts."""

    slots: np.ndarray
    week_handle: np.ndarray   # 7 x slots
    week_count: np.ndarray
    day_handle: np.ndarray    # slots
    day_count: np.ndarray
    level: float              # AHT over the most recent days


class AhtProfile:
    """AHT per weekday and clock slot, volume-weighted over recent weeks and shrunk in two steps:
    the hour of week toward the hour of day, the hour of day toward the recent level,

        hod = (handle_hod + k_day x level) / (handled_hod + k_day)
        aht = (handle_how + k_week x hod) / (handled_how + k_week),

    k in contacts. (k_week, k_day) are chosen on a rolling-origin backtest over the last
    `folds` weeks (volume-weighted absolute error) from `GRID` x `DAY_GRID`, where 0 trusts the
    finer level and inf replaces it by the coarser; `shrink` fixes them instead. On the shared
    per-call series one week of backtest picked a flat level (k_day = inf) that cost 2 points
    of error against the hour of day, hence no inf in `DAY_GRID`."""

    GRID = (0.0, 10.0, 50.0, 250.0, np.inf)  # k_week
    DAY_GRID = (0.0, 10.0, 50.0, 250.0)      # k_day: a flat level never replaces the daily shape outright

    def __init__(self, weeks: int = 8, decay: float = 0.85, level_days: int = 7, folds: int = 2,
                 shrink: tuple[float, float] | None = None):
        self.weeks, self.decay, self.level_days, self.folds, self.shrink = weeks, decay, level_days, folds, shrink

    def fit(self, history: pd.DataFrame) -> "AhtProfile":
        self.k = self.shrink if self.shrink is not None else self._choose(history)
        self.state = self._stats(history)
        return self

    def _stats(self, history: pd.DataFrame) -> dict[str, _AhtStats]:
        out = {}
        for q, part in _per_queue(history):
            part = part.assign(handle=np.nan_to_num(part["aht_seconds"].to_numpy()) * part["handled"].to_numpy())
            h = DayMatrix.build(part, "handle")
            c = DayMatrix.build(part, "handled")
            w = _recency_weights(c, np.ones(len(c.days), bool), self.weeks, self.decay)
            hs, cs = np.nan_to_num(h.values), np.nan_to_num(c.values)
            week_h = np.array([(w * (c.dow == k)) @ hs for k in range(7)])
            week_c = np.array([(w * (c.dow == k)) @ cs for k in range(7)])
            recent = np.arange(len(c.days)) >= len(c.days) - self.level_days
            handled = cs[recent].sum()
            level = hs[recent].sum() / handled if handled > 0 else (hs.sum() / cs.sum() if cs.sum() > 0 else np.nan)
            out[q] = _AhtStats(c.slots, week_h, week_c, week_h.sum(axis=0), week_c.sum(axis=0), float(level))
        return out

    @staticmethod
    def _combine(st: _AhtStats, k_week: float, k_day: float) -> np.ndarray:
        hod = _shrink(st.day_handle, st.day_count, k_day, st.level)
        return np.array([_shrink(st.week_handle[d], st.week_count[d], k_week, hod) for d in range(7)])

    def _choose(self, history: pd.DataFrame) -> tuple[float, float]:
        day = pd.DatetimeIndex(history["interval_start"]).date
        days = sorted(set(day))
        err = {}
        for f in range(self.folds, 0, -1):
            cutoff = days[-1] - timedelta(days=7 * f - 1)
            if (cutoff - days[0]).days < 14:
                continue
            stats = self._stats(history[day < cutoff])
            test = history[(day >= cutoff) & (day < cutoff + timedelta(days=7))]
            for kw in self.GRID:
                for kd in self.DAY_GRID:
                    fc = self._predict(stats, (kw, kd), test["interval_start"])
                    merged = test.merge(fc, on=["interval_start", "queue"], suffixes=("", "_fc"))
                    h = merged["handled"].to_numpy(float)
                    ok = (h > 0) & np.isfinite(merged["aht_seconds_fc"].to_numpy(float))
                    e = (h * np.abs(merged["aht_seconds_fc"] - merged["aht_seconds"]))[ok].sum()
                    err[kw, kd] = err.get((kw, kd), 0.0) + e
        if not err:
            return (250.0, 50.0)  # too little history to choose: lean on the hour of day
        return min(err, key=err.get)

    def _predict(self, state: dict[str, _AhtStats], k, starts) -> pd.DataFrame:
        keys = time_keys(starts)
        frames = []
        for q, st in state.items():
            prof = self._combine(st, *k)
            col = pd.Series(np.arange(len(st.slots)), index=st.slots).reindex(keys["slot"]).to_numpy()
            ok = ~np.isnan(col)
            aht = np.full(len(keys), np.nan)
            aht[ok] = prof[keys["dow"].to_numpy()[ok], col[ok].astype(int)]
            frames.append(pd.DataFrame({"interval_start": pd.DatetimeIndex(starts), "queue": q, "aht_seconds": aht}))
        return pd.concat(frames, ignore_index=True)

    def predict(self, starts) -> pd.DataFrame:
        return self._predict(self.state, self.k, starts)


def _shrink(handle: np.ndarray, count: np.ndarray, k: float, toward) -> np.ndarray:
    """(handle + k x toward) / (count + k); k = inf gives `toward`, no contacts give `toward`."""
    toward = np.broadcast_to(np.asarray(toward, float), np.shape(handle))
    if np.isinf(k):
        return toward.copy()
    with np.errstate(invalid="ignore", divide="ignore"):
        out = np.where(np.isnan(toward), handle / count, (handle + k * np.nan_to_num(toward)) / (count + k))
    return np.where(count + k > 0, out, toward)


def _gaps(history: pd.DataFrame) -> set[tuple[str, date]]:
    """(queue, day) pairs with nothing recorded on a normally open weekday."""
    out = set()
    for q, part in _per_queue(history):
        m = DayMatrix.build(part)
        out |= {(q, d) for d, g in zip(m.days, m.missing) if g}
    return out


def _ordinary_rows(frame: pd.DataFrame, calendar: Calendar, gaps: set[tuple[str, date]]) -> np.ndarray:
    """Rows on days that are neither special nor a gap of their queue (what a combination
    weight is judged on). Gaps come from the whole history: a week alone has no neighbours
    to tell a gap from a closed day."""
    day = pd.DatetimeIndex(frame["interval_start"]).date
    special = set(calendar.describe(set(day)))
    return np.array([d not in special and (q, d) not in gaps for q, d in zip(frame["queue"], day)], bool)


class Ensemble(Forecaster):
    """Weighted mean of `PARTS` per queue, weights inverse to each part's WAPE on a rolling-origin
    backtest over the last `folds` weeks of the history (ordinary days only; each week forecast
    from the history before it). With too little history the parts count equally.
    Inverse-error weights rather than the best single weight: on three weeks of evidence the
    argmin chases noise (bench/RESULTS.md).

    With fewer than `short_history_days` days of history the parts are `SHORT_PARTS`: the
    daily model's trend, fitted on under five weeks, carries a drift of the last days on
    into the next week (the shared series' early folds, bench/RESULTS.md)."""

    name = "ensemble"

    def __init__(self, folds: int = 3, min_train_days: int = 21, parts: tuple | None = None,
                 short_history_days: int = 35, short_parts: tuple | None = None):
        self.folds, self.min_train_days = folds, min_train_days
        self.all_part_types = parts or PARTS
        self.short_history_days = short_history_days
        self.short_part_types = short_parts or SHORT_PARTS

    def fit(self, history: pd.DataFrame, calendar: Calendar | None = None) -> "Ensemble":
        self.calendar = calendar or Calendar()
        short = len(set(local_dates(pd.DatetimeIndex(history["interval_start"])))) < self.short_history_days
        self.part_types = self.short_part_types if short else self.all_part_types
        self.parts = [fit_model(cls, history, calendar) for cls in self.part_types]
        self.day_factors = self.parts[0].day_factors
        self.state = self._weights(history, calendar)
        return self

    def _weights(self, history: pd.DataFrame, calendar: Calendar | None) -> dict[str, np.ndarray]:
        day = pd.DatetimeIndex(history["interval_start"]).date
        days = sorted(set(day))
        n = len(self.parts)
        errors = {}  # queue -> [abs error per part, volume]
        gaps = _gaps(history)
        for k in range(self.folds, 0, -1):
            cutoff = days[-1] - timedelta(days=7 * k - 1)
            if (cutoff - days[0]).days < self.min_train_days:
                continue
            train = history[day < cutoff]
            test = history[(day >= cutoff) & (day < cutoff + timedelta(days=7))]
            keep = _ordinary_rows(test, self.calendar, gaps)
            starts = pd.DatetimeIndex(test.loc[test["queue"] == test["queue"].iloc[0], "interval_start"])
            merged = test[["interval_start", "queue", "volume"]][keep]
            for i, cls in enumerate(self.part_types):
                fc = fit_model(cls, train, calendar).predict(starts).rename(columns={"volume": f"p{i}"})
                merged = merged.merge(fc, on=["interval_start", "queue"])
            for q, g in merged.groupby("queue"):
                acc = errors.setdefault(q, [np.zeros(n), 0.0])
                acc[0] += [np.abs(g["volume"] - g[f"p{i}"]).sum() for i in range(n)]
                acc[1] += g["volume"].sum()
        out = {}
        for q in self.parts[0].state:
            err, volume = errors.get(q, (np.zeros(n), 0.0))
            if volume > 0 and (err > 0).all():
                inverse = volume / err
                out[q] = inverse / inverse.sum()
            else:
                out[q] = np.full(n, 1.0 / n)
        return out

    def daily_state(self, queue):
        return next((p.daily_state(queue) for p in self.parts if p.daily_state(queue) is not None), None)

    def month_start_factor(self, queue) -> float:
        return self.parts[0].month_start_factor(queue)  # every part learns it from the same days

    def predict(self, starts) -> pd.DataFrame:
        forecasts = [p.predict(starts) for p in self.parts]
        out = forecasts[0].copy()
        w = np.stack(out["queue"].map(self.state).to_list())
        out["volume"] = sum(w[:, i] * f["volume"].to_numpy() for i, f in enumerate(forecasts))
        return out


PARTS = (WeeklyProfile, DailyProfile, LevelProfile)
SHORT_PARTS = (WeeklyProfile, LevelProfile)


MODELS = {cls.name: cls for cls in (SeasonalNaive, WeeklyProfile, DailyProfile, LevelProfile, Ensemble)}


def make_model(name: str) -> Forecaster:
    try:
        return MODELS[name]()
    except KeyError:
        raise ValueError(f"model={name!r}: choose one of {sorted(MODELS)} or 'auto'") from None
