"""Backtest, model choice and the final forecast with prediction intervals.

Prediction intervals are split-conformal on the backtest's errors. Each error is scaled by
sqrt(f + 1 + (phi f)^2): Poisson noise for quiet intervals, a share phi of the forecast for
busy ones (day-to-day swings in demand are proportional, not Poisson; phi is fitted to the
errors by moments). The quantiles of the scaled errors are taken per weekday and hour of day,
shrunk toward the hour's and then toward all hours' (`Calibration`), so a volatile hour gets a
wider band than a steady one. Special days (holidays, eves, declared days) widen by the
uncertainty of their day factor, and ordinary days within three days of a holiday, eve or
declared day by `HOLIDAY_WEEK_SPREAD` (calls move between the days around a closure).
Reported coverage uses quantiles from the *other* folds only, so it is an honest out-of-sample
number.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
from scipy.stats import norm

from wfm.domain import Horizon
from wfm.errors import InputError

from . import metrics
from .calendar import Calendar
from .models import MODELS, AhtProfile, DayMatrix, fit_model, hole_rows, make_model, shared_fits, unusual_days

MIN_TRAIN_DAYS = 14


def _days(history: pd.DataFrame) -> list[date]:
    return sorted(set(pd.DatetimeIndex(history["interval_start"]).date))


def _slice(history: pd.DataFrame, start: date | None, end: date | None) -> pd.DataFrame:
    d = pd.Series(pd.DatetimeIndex(history["interval_start"]).date, index=history.index)
    keep = pd.Series(True, index=history.index)
    if start is not None:
        keep &= d >= start
    if end is not None:
        keep &= d < end
    return history[keep]


def _active(actual, forecast) -> np.ndarray:
    """Intervals that carry information: closed hours (both zero) would pile exact zeros
    into the residuals and shrink every band."""
    return (np.asarray(actual) > 0) | (np.asarray(forecast) > 0)


SHRINK = 20.0          # pseudo-observations pulling a group's quantile toward its parent's
SPECIAL_SPREAD = 0.5   # relative uncertainty of a special day's factor (widens its band)
# Relative uncertainty of an ordinary day within HOLIDAY_WEEK_DAYS of a holiday, eve or declared
# day: calls held back or brought forward move between the days around a closure.
HOLIDAY_WEEK_SPREAD = 0.1
HOLIDAY_WEEK_DAYS = 3
MIN_SCORES = 20        # fewer backtest errors than this: a Poisson band


@dataclass
class Calibration:
    """Conformal scores of one queue's backtest: scaled errors of ordinary days' active intervals,
    with their weekday and hour."""

    phi: float
    scores: np.ndarray
    dow: np.ndarray
    hour: np.ndarray

    @classmethod
    def fit(cls, actual, forecast, starts, special=None) -> "Calibration":
        a, f = np.asarray(actual, float), np.asarray(forecast, float)
        starts = pd.DatetimeIndex(starts)
        keep = _active(a, f) & (~np.asarray(special, bool) if special is not None else True)
        a, f, starts = a[keep], f[keep], starts[keep]
        excess = ((a - f) ** 2 - f - 1.0).sum()
        phi = float(np.sqrt(max(excess, 0.0) / (f ** 2).sum())) if (f ** 2).sum() > 0 else 0.0
        scores = (a - f) / np.sqrt(f + 1.0 + (phi * f) ** 2)
        return cls(phi, scores, starts.day_of_week.to_numpy(), starts.hour.to_numpy())

    @classmethod
    def from_history(cls, history: pd.DataFrame) -> "Calibration":
        """Without a backtest: normal quantiles on a scale whose phi is the history's own
        excess dispersion, the variance of each weekday and slot across weeks beyond Poisson
        (var - mean, summed, over the sum of mean^2), inflated by 1 + 1/weeks for the error
        of a mean of that many weeks. Gaps and unusual days are left out."""
        m = DayMatrix.build(history.sort_values("interval_start"))
        unusual, _ = unusual_days(m, np.zeros(len(m.days), bool))
        excess, square, weeks = 0.0, 0.0, []
        for k in range(7):
            rows = m.values[(m.dow == k) & ~unusual]
            counts = np.sum(~np.isnan(rows), axis=0)
            ok = counts >= 2
            if not ok.any():
                continue
            mean = np.nanmean(rows[:, ok], axis=0)
            var = np.nanvar(rows[:, ok], axis=0, ddof=1)
            excess += float((var - mean).sum())
            square += float((mean ** 2).sum())
            weeks.append(int(np.median(counts[ok])))
        phi2 = max(excess, 0.0) / square * (1 + 1 / min(weeks)) if square > 0 else 0.0
        return cls(float(np.sqrt(phi2)), np.array([]), np.array([], int), np.array([], int))

    def __len__(self) -> int:
        return len(self.scores)

    def scale(self, f, special=None) -> np.ndarray:
        """The error scale of forecast `f`; `special` adds a relative spread per interval: a
        float array of spreads (`_spreads`) or a mask of special days (`SPECIAL_SPREAD` each)."""
        f = np.asarray(f, float)
        spread = np.asarray(0.0 if special is None else special)
        if spread.dtype == bool:
            spread = np.where(spread, SPECIAL_SPREAD, 0.0)
        return np.sqrt(f + 1.0 + (self.phi * f) ** 2 + (spread * f) ** 2)

    def quantile(self, p: float, starts=None) -> np.ndarray | float:
        """The p-quantile of the scores: overall, or per interval of `starts` (weekday and hour,
        each level shrunk toward the next coarser one by SHRINK pseudo-observations)."""
        if len(self.scores) < MIN_SCORES:
            return float(norm.ppf(p))
        overall = _conformal_quantile(self.scores, p)
        if starts is None:
            return overall
        starts = pd.DatetimeIndex(starts)
        by_hour, by_slot = {}, {}
        out = np.empty(len(starts))
        for i, (d, h) in enumerate(zip(starts.day_of_week, starts.hour)):
            if h not in by_hour:
                by_hour[h] = _shrunk(self.scores[self.hour == h], p, overall)
            if (d, h) not in by_slot:
                by_slot[d, h] = _shrunk(self.scores[(self.hour == h) & (self.dow == d)], p, by_hour[h])
            out[i] = by_slot[d, h]
        return out


def _conformal_quantile(scores: np.ndarray, p: float) -> float:
    """Split-conformal quantile: the ceil((n + 1) p)-th smallest of n scores (upper tail; the
    mirror for the lower), which covers p of a new score whatever n is; plain quantiles of a
    few scores sit too far inside."""
    n = len(scores)
    ordered = np.sort(scores)
    if p >= 0.5:
        return float(ordered[min(n, int(np.ceil((n + 1) * p))) - 1])
    return float(ordered[max(1, int(np.floor((n + 1) * p))) - 1])


def _shrunk(scores: np.ndarray, p: float, parent: float) -> float:
    n = len(scores)
    return parent if n == 0 else (n * _conformal_quantile(scores, p) + SHRINK * parent) / (n + SHRINK)


def calibrated_band(forecast, calibration: Calibration, level: float, starts=None, special=None):
    """(lower, upper) at `level`: f + q * scale(f) with the weekday/hour quantiles of the scores;
    the band always contains the forecast and is 0 where the model is sure nothing comes."""
    f = np.asarray(forecast, float)
    lo = np.minimum(calibration.quantile((1 - level) / 2, starts), 0.0)
    hi = np.maximum(calibration.quantile(1 - (1 - level) / 2, starts), 0.0)
    scale = calibration.scale(f, special)
    closed = f <= 0
    return (np.where(closed, 0.0, np.maximum(f + lo * scale, 0.0)),
            np.where(closed, 0.0, np.maximum(f + hi * scale, f)))


def _band(forecast, residuals, level):
    f = np.asarray(forecast, float)
    if len(residuals) < 20:  # too little backtest evidence: Poisson band
        z = float(norm.ppf(1 - (1 - level) / 2))
        lo, hi = -z, z
    else:
        lo, hi = np.quantile(residuals, [(1 - level) / 2, 1 - (1 - level) / 2])
    lo, hi = min(lo, 0.0), max(hi, 0.0)  # the band always contains the forecast
    scale = np.sqrt(f + 1.0)
    closed = f <= 0  # the model is sure nothing comes (closed hours, closed weekdays)
    return (np.where(closed, 0.0, np.maximum(f + lo * scale, 0.0)),
            np.where(closed, 0.0, np.maximum(f + hi * scale, f)))


def quantile_volume(forecast, residuals, p: float, starts=None, special=None) -> np.ndarray:
    """Volume at probability `p` per interval, on the same conformal scale as the band:
    f + q_p * scale(f). `residuals` is a queue's `Calibration` (the weekday/hour quantiles when
    `starts` are given) or an array of errors scaled by sqrt(f + 1); fewer than 20 errors give
    a normal quantile. Like the band, it never crosses the forecast and is 0 where the model
    is sure nothing comes."""
    if not 0 < p < 1:
        raise InputError("percentile", p, "must be strictly between 0 and 1 (e.g. 0.9)")
    f = np.asarray(forecast, float)
    if isinstance(residuals, Calibration):
        q, scale = residuals.quantile(p, starts), residuals.scale(f, special)
    else:
        residuals = np.asarray(residuals, float)
        q = float(norm.ppf(p)) if len(residuals) < MIN_SCORES else float(np.quantile(residuals, p))
        scale = np.sqrt(f + 1.0)
    q = np.maximum(q, 0.0) if p >= 0.5 else np.minimum(q, 0.0)
    return np.where(f <= 0, 0.0, np.maximum(f + q * scale, 0.0))


def gap_days_per_queue(history: pd.DataFrame) -> dict[str, set[date]]:
    """Per queue, the days with nothing recorded where the weekday is normally open (missing data)."""
    out = {}
    for q, part in history.groupby("queue"):
        m = DayMatrix.build(part.sort_values("interval_start"))
        out[q] = {d for d, gap in zip(m.days, m.missing) if gap}
    return out


def _on_gap_days(frame: pd.DataFrame, gaps: dict[str, set[date]]) -> np.ndarray:
    day = pd.DatetimeIndex(frame["interval_start"]).date
    return np.array([d in gaps.get(q, ()) for q, d in zip(frame["queue"], day)], bool)


def _without(frame: pd.DataFrame, rows: pd.DataFrame) -> pd.DataFrame:
    """`frame` less the rows whose (interval_start, queue) is in `rows`."""
    if rows.empty:
        return frame
    hit = frame[["interval_start", "queue"]].merge(rows.assign(_hit=True), on=["interval_start", "queue"], how="left")
    return frame[hit["_hit"].isna().to_numpy()]


def backtest(history: pd.DataFrame, model_names, calendar: Calendar | None = None, folds: int = 4,
             fold_days: int = 7) -> pd.DataFrame:
    """Rolling-origin backtest: for each of the last `folds` blocks of `fold_days` days, fit on
    everything before it and forecast it. Long frame: fold, model, queue, interval_start,
    actual, forecast, scale (the MASE denominator of that fold's training data). Missing data
    has no row: days with nothing recorded and holes inside open days (`hole_rows`)."""
    days = _days(history)
    folds = min(folds, (len(days) - MIN_TRAIN_DAYS) // fold_days)
    if folds < 1:
        raise InputError("history", f"{len(days)} days",
                         f"a backtest needs at least {MIN_TRAIN_DAYS + fold_days} full days")
    types = {name: type(make_model(name)) for name in model_names}
    with shared_fits():
        return _backtest(history, types, calendar, folds, fold_days, days)


def _backtest(history, types, calendar, folds, fold_days, days) -> pd.DataFrame:
    rows = []
    per_day = history.groupby("queue").size().iloc[0] / len(days)
    gaps = gap_days_per_queue(history)
    holes = history.loc[hole_rows(history, calendar), ["interval_start", "queue"]]
    for k in range(folds):
        cutoff = days[-1] - timedelta(days=fold_days * (folds - k) - 1)
        train = _slice(history, None, cutoff)
        test = _slice(history, cutoff, cutoff + timedelta(days=fold_days))
        starts = pd.DatetimeIndex(test[test["queue"] == test["queue"].iloc[0]]["interval_start"])
        scales = {q: metrics.seasonal_naive_scale(p["volume"].to_numpy(), int(round(7 * per_day)))
                  for q, p in train.groupby("queue")}
        actual = test[["interval_start", "queue", "volume"]].rename(columns={"volume": "actual"})
        actual = actual[~_on_gap_days(actual, gaps)]  # nothing recorded is no actual to score against
        actual = _without(actual, holes)  # nor is an export's hole inside an open day
        for name, model_type in types.items():
            fc = fit_model(model_type, train, calendar).predict(starts)
            merged = actual.merge(fc.rename(columns={"volume": "forecast"}), on=["interval_start", "queue"])
            merged["fold"], merged["model"] = k, name
            merged["scale"] = merged["queue"].map(scales)
            rows.append(merged)
    return pd.concat(rows, ignore_index=True)


def _special_mask(frame: pd.DataFrame, calendar: Calendar | None) -> np.ndarray:
    day = pd.DatetimeIndex(frame["interval_start"]).date
    special = set((calendar or Calendar()).describe(set(day)))
    return np.array([d in special for d in day], bool)


def _spreads(frame: pd.DataFrame, calendar: Calendar | None) -> np.ndarray:
    """Extra relative spread per row of `frame`: `SPECIAL_SPREAD` on special days,
    `HOLIDAY_WEEK_SPREAD` on ordinary days near a holiday, eve or declared day, else 0."""
    day = pd.DatetimeIndex(frame["interval_start"]).date
    days = set(day)
    near_days = {d + timedelta(days=o) for d in days for o in range(-HOLIDAY_WEEK_DAYS, HOLIDAY_WEEK_DAYS + 1)}
    described = (calendar or Calendar()).describe(days | near_days)
    closures = [d for d, s in described.items() if s.kind in ("holiday", "eve", "declared")]
    near = {d + timedelta(days=o) for d in closures for o in range(-HOLIDAY_WEEK_DAYS, HOLIDAY_WEEK_DAYS + 1)}
    spread = {d: SPECIAL_SPREAD if d in described else (HOLIDAY_WEEK_SPREAD if d in near else 0.0) for d in days}
    return np.array([spread[d] for d in day], float)


def score(bt: pd.DataFrame, level: float = 0.9, calendar: Calendar | None = None) -> pd.DataFrame:
    """WAPE, MASE, bias and out-of-fold interval coverage per model and queue (coverage over
    intervals where something was forecast or happened, not over closed hours), overall and
    on special days alone (`coverage_special`; NaN without any)."""
    out = []
    bt = bt.assign(special=_special_mask(bt, calendar), spread=_spreads(bt, calendar))
    for (model, queue), g in bt.groupby(["model", "queue"], sort=True):
        hits = {False: [0, 0], True: [0, 0]}
        for fold, gf in g.groupby("fold"):
            others = g[g["fold"] != fold]
            cal = Calibration.fit(others["actual"], others["forecast"], others["interval_start"], others["spread"] > 0)
            lo, hi = calibrated_band(gf["forecast"], cal, level, gf["interval_start"], gf["spread"].to_numpy())
            active = _active(gf["actual"], gf["forecast"])
            inside = (gf["actual"] >= lo) & (gf["actual"] <= hi) & active
            for sp in (False, True):
                on = (gf["special"] == sp).to_numpy()
                hits[sp][0] += int(inside[on].sum())
                hits[sp][1] += int(active[on].sum())
        covered, n = hits[False][0] + hits[True][0], hits[False][1] + hits[True][1]
        mase_folds = [metrics.mase(gf["actual"], gf["forecast"], gf["scale"].iloc[0]) for _, gf in g.groupby("fold")]
        out.append({"model": model, "queue": queue, "folds": g["fold"].nunique(),
                    "wape": metrics.wape(g["actual"], g["forecast"]),
                    "mase": float(np.nanmean(mase_folds)) if np.isfinite(mase_folds).any() else float("nan"),
                    "bias": metrics.bias(g["actual"], g["forecast"]), "coverage": covered / n if n else np.nan,
                    "coverage_special": hits[True][0] / hits[True][1] if hits[True][1] else np.nan})
    return pd.DataFrame(out)


DEFAULT_MODEL = "ensemble"
ENSEMBLE_PARTS = ("ensemble", "weekly_profile", "daily_profile", "level_profile")
CHOICE_MARGIN = 0.1  # another model must beat the ensemble's backtest WAPE by 10%: four weeks are noisy


def choose_models(bt: pd.DataFrame | None, queues, calendar: Calendar | None) -> dict[str, str]:
    """Per queue, the ensemble unless a model outside it has a lower WAPE on ordinary days in
    every backtest fold and overall by more than CHOICE_MARGIN. The ensemble's own parts are
    no challengers: its weights already come from a backtest. A few weeks of backtest are
    noisy: picking the lowest WAPE chased noise and did worse than the ensemble on the shared
    series (bench/RESULTS.md). Special days are scaled by the same day factors whichever
    model is chosen, so they would only add the factors' noise to the comparison."""
    if bt is None or bt.empty:
        return {q: DEFAULT_MODEL for q in queues}
    day = pd.DatetimeIndex(bt["interval_start"]).date
    special = set((calendar or Calendar()).describe(set(day)))
    ordinary = bt[[d not in special for d in day]]
    out = {}
    for q in queues:
        g = ordinary[ordinary["queue"] == q]
        per_fold = g.groupby(["model", "fold"]).apply(lambda x: metrics.wape(x["actual"], x["forecast"]),
                                                      include_groups=False).unstack("fold")
        total = {name: metrics.wape(x["actual"], x["forecast"]) for name, x in g.groupby("model")}
        out[q] = DEFAULT_MODEL
        if DEFAULT_MODEL not in per_fold.index:
            continue
        base = per_fold.loc[DEFAULT_MODEL]
        for name in sorted(total, key=total.get):
            if (name not in ENSEMBLE_PARTS and (per_fold.loc[name] < base).all()
                    and total[name] < (1 - CHOICE_MARGIN) * total[DEFAULT_MODEL]):
                out[q] = name
                break
    return out


@dataclass
class ForecastResult:
    forecast: pd.DataFrame           # interval_start, queue, volume, volume_lower, volume_upper, aht_seconds
    scores: pd.DataFrame             # backtest table
    chosen: dict[str, str] = field(default_factory=dict)
    first_day: date | None = None
    outliers: dict[str, list] = field(default_factory=dict)
    level_shifts: dict[str, tuple] = field(default_factory=dict)  # queue -> (ratio, since)
    residuals: dict[str, Calibration] = field(default_factory=dict)  # queue -> backtest calibration (any percentile)
    special_days: dict = field(default_factory=dict)  # date -> (SpecialDay, {queue: factor used})
    month_start: dict[str, float] = field(default_factory=dict)  # queue -> factor of days 1-5, where learnt


CALIBRATION_WEEKS = 8  # weeks of backtest errors behind a band, when the history has them


def calibration_errors(history: pd.DataFrame, bt: pd.DataFrame | None, name: str, calendar: Calendar | None,
                       weeks: int = CALIBRATION_WEEKS) -> pd.DataFrame | None:
    """The backtest rows of model `name`, extended to `weeks` one-week folds by backtesting
    `name` alone on the weeks before the choice folds. A band needs more weeks than a choice:
    a week's level moves all its intervals at once, and four weeks sample few such moves."""
    mine = None if bt is None else bt[bt["model"] == name]
    done = 0 if mine is None else mine["fold"].nunique()
    if done >= weeks:
        return mine
    earlier = history
    if done:
        earlier = _slice(history, None, pd.DatetimeIndex(mine["interval_start"]).min().date())
    try:
        extra = backtest(earlier, [name], calendar, folds=weeks - done).assign(fold=lambda f: f["fold"] - weeks)
    except InputError:  # too little history before the choice folds
        return mine
    return extra if mine is None else pd.concat([extra, mine], ignore_index=True)


def forecast(history: pd.DataFrame, days: int, timezone: str, interval_minutes: int, model: str = "auto",
             calendar: Calendar | None = None, level: float = 0.9, folds: int = 4,
             calibration_weeks: int = CALIBRATION_WEEKS) -> ForecastResult:
    """Forecast the `days` after the last day of `history` (an aggregated interval frame).
    `folds` weeks of backtest choose the model; the band is calibrated on up to
    `calibration_weeks` weeks of the chosen model's backtest errors."""
    with shared_fits():  # the backtests and the final fit share the fits they have in common
        return _forecast(history, days, timezone, interval_minutes, model, calendar, level, folds, calibration_weeks)


def _forecast(history, days, timezone, interval_minutes, model, calendar, level, folds,
              calibration_weeks) -> ForecastResult:
    if not 0 < level < 1:
        raise InputError("level", level, "must be strictly between 0 and 1 (e.g. 0.9)")
    if not 1 <= days <= 366:
        raise InputError("days", days, "must be between 1 and 366")
    if folds < 1:
        raise InputError("folds", folds, "must be >= 1")
    if model != "auto" and model not in MODELS:
        raise InputError("model", model, f"choose one of {sorted(MODELS)} or 'auto'")
    all_days = _days(history)
    if len(all_days) < 7:
        raise InputError("history", f"{len(all_days)} days", "need at least 7 full days of history")
    names = list(MODELS) if model == "auto" else [model]
    try:
        bt = backtest(history, names, calendar, folds=folds)
        scores = score(bt, level, calendar)
    except InputError:
        bt, scores = None, pd.DataFrame(columns=["model", "queue", "folds", "wape", "mase", "bias", "coverage",
                                                 "coverage_special"])

    queues = sorted(history["queue"].unique())
    chosen = {q: model for q in queues} if model != "auto" else choose_models(bt, queues, calendar)

    first = all_days[-1] + timedelta(days=1)
    starts = Horizon(start=first, days=days, interval_minutes=interval_minutes, timezone=timezone).interval_starts()
    aht = AhtProfile().fit(history).predict(starts)
    fitted = {name: fit_model(type(make_model(name)), history, calendar) for name in set(chosen.values())}
    errors = {name: calibration_errors(history, bt, name, calendar, max(calibration_weeks, folds))
              for name in set(chosen.values())}
    parts, outliers, shifts, residuals, month_start = [], {}, {}, {}, {}
    for q in queues:
        name = chosen[q]
        fc = fitted[name].predict(starts)
        fc = fc[fc["queue"] == q].copy()
        mine = errors[name][errors[name]["queue"] == q] if errors[name] is not None else None
        if mine is None or len(mine) < MIN_SCORES:  # no backtest: a band from the history's dispersion
            cal = Calibration.from_history(history[history["queue"] == q])
        else:
            cal = Calibration.fit(mine["actual"], mine["forecast"], mine["interval_start"],
                                  _spreads(mine, calendar) > 0)
        fc["volume_lower"], fc["volume_upper"] = calibrated_band(fc["volume"], cal, level, fc["interval_start"],
                                                                 _spreads(fc, calendar))
        residuals[q] = cal
        parts.append(fc)
        if fitted[name].month_start_factor(q) != 1.0:
            month_start[q] = fitted[name].month_start_factor(q)
        state = fitted[name].daily_state(q)
        if state is not None:
            outliers[q] = state.outliers
            if state.level_shift is not None:
                shifts[q] = state.level_shift
    out = pd.concat(parts, ignore_index=True).merge(aht, on=["interval_start", "queue"], how="left")
    out = out[["interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds"]]
    specials = next(iter(fitted.values())).special_days(starts)
    return ForecastResult(out, scores, chosen, first, outliers, shifts, residuals, specials, month_start)
