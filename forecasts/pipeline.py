"""Backtest, model choice and the final forecast with prediction intervals.

Prediction intervals are split-conformal: the backtest's errors, scaled by sqrt(f + 1) so
one set of quantiles serves quiet and busy intervals, give the band f + q * sqrt(f + 1)
at the requested level. Reported coverage uses quantiles from the *other* folds only, so
it is an honest out-of-sample number.
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
from .models import MODELS, AhtProfile, DayMatrix, make_model

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


def _scaled(actual, forecast):
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    keep = _active(actual, forecast)
    return (actual[keep] - forecast[keep]) / np.sqrt(forecast[keep] + 1.0)


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


def quantile_volume(forecast, residuals, p: float) -> np.ndarray:
    """Volume at probability `p` per interval, on the same conformal scale as the band:
    f + q_p * sqrt(f + 1), q_p the p-quantile of the scaled backtest errors (a normal quantile
    when there are fewer than 20 of them). Like the band, it never crosses the forecast and is
    0 where the model is sure nothing comes."""
    if not 0 < p < 1:
        raise InputError("percentile", p, "must be strictly between 0 and 1 (e.g. 0.9)")
    f = np.asarray(forecast, float)
    residuals = np.asarray(residuals, float)
    q = float(norm.ppf(p)) if len(residuals) < 20 else float(np.quantile(residuals, p))
    q = max(q, 0.0) if p >= 0.5 else min(q, 0.0)
    return np.where(f <= 0, 0.0, np.maximum(f + q * np.sqrt(f + 1.0), 0.0))


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


def backtest(history: pd.DataFrame, model_names, calendar: Calendar | None = None, folds: int = 4,
             fold_days: int = 7) -> pd.DataFrame:
    """Rolling-origin backtest: for each of the last `folds` blocks of `fold_days` days, fit on
    everything before it and forecast it. Long frame: fold, model, queue, interval_start,
    actual, forecast, scale (the MASE denominator of that fold's training data)."""
    days = _days(history)
    folds = min(folds, (len(days) - MIN_TRAIN_DAYS) // fold_days)
    if folds < 1:
        raise InputError("history", f"{len(days)} days",
                         f"a backtest needs at least {MIN_TRAIN_DAYS + fold_days} full days")
    rows = []
    per_day = history.groupby("queue").size().iloc[0] / len(days)
    gaps = gap_days_per_queue(history)
    for k in range(folds):
        cutoff = days[-1] - timedelta(days=fold_days * (folds - k) - 1)
        train = _slice(history, None, cutoff)
        test = _slice(history, cutoff, cutoff + timedelta(days=fold_days))
        starts = pd.DatetimeIndex(test[test["queue"] == test["queue"].iloc[0]]["interval_start"])
        scales = {q: metrics.seasonal_naive_scale(p["volume"].to_numpy(), int(round(7 * per_day)))
                  for q, p in train.groupby("queue")}
        actual = test[["interval_start", "queue", "volume"]].rename(columns={"volume": "actual"})
        actual = actual[~_on_gap_days(actual, gaps)]  # nothing recorded is no actual to score against
        for name in model_names:
            fc = make_model(name).fit(train, calendar).predict(starts)
            merged = actual.merge(fc.rename(columns={"volume": "forecast"}), on=["interval_start", "queue"])
            merged["fold"], merged["model"] = k, name
            merged["scale"] = merged["queue"].map(scales)
            rows.append(merged)
    return pd.concat(rows, ignore_index=True)


def score(bt: pd.DataFrame, level: float = 0.9) -> pd.DataFrame:
    """WAPE, MASE, bias and out-of-fold interval coverage per model and queue (coverage over
    intervals where something was forecast or happened, not over closed hours)."""
    out = []
    for (model, queue), g in bt.groupby(["model", "queue"], sort=True):
        covered, n = 0, 0
        for fold, gf in g.groupby("fold"):
            others = g[g["fold"] != fold]
            res = _scaled(others["actual"], others["forecast"]) if len(others) else np.array([])
            lo, hi = _band(gf["forecast"], res, level)
            active = _active(gf["actual"], gf["forecast"])
            covered += int(((gf["actual"] >= lo) & (gf["actual"] <= hi) & active).sum())
            n += int(active.sum())
        mase_folds = [metrics.mase(gf["actual"], gf["forecast"], gf["scale"].iloc[0]) for _, gf in g.groupby("fold")]
        out.append({"model": model, "queue": queue, "folds": g["fold"].nunique(),
                    "wape": metrics.wape(g["actual"], g["forecast"]),
                    "mase": float(np.nanmean(mase_folds)) if np.isfinite(mase_folds).any() else float("nan"),
                    "bias": metrics.bias(g["actual"], g["forecast"]), "coverage": covered / n if n else np.nan})
    return pd.DataFrame(out)


DEFAULT_MODEL = "ensemble"
ENSEMBLE_PARTS = ("ensemble", "weekly_profile", "daily_profile")
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
    residuals: dict[str, np.ndarray] = field(default_factory=dict)  # queue -> scaled backtest errors (any percentile)
    special_days: dict = field(default_factory=dict)  # date -> (SpecialDay, {queue: factor used})


def forecast(history: pd.DataFrame, days: int, timezone: str, interval_minutes: int, model: str = "auto",
             calendar: Calendar | None = None, level: float = 0.9, folds: int = 4) -> ForecastResult:
    """Forecast the `days` after the last day of `history` (an aggregated interval frame)."""
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
        scores = score(bt, level)
    except InputError:
        bt, scores = None, pd.DataFrame(columns=["model", "queue", "folds", "wape", "mase", "bias", "coverage"])

    queues = sorted(history["queue"].unique())
    chosen = {q: model for q in queues} if model != "auto" else choose_models(bt, queues, calendar)

    first = all_days[-1] + timedelta(days=1)
    starts = Horizon(start=first, days=days, interval_minutes=interval_minutes, timezone=timezone).interval_starts()
    aht = AhtProfile().fit(history).predict(starts)
    fitted = {name: make_model(name).fit(history, calendar) for name in set(chosen.values())}
    parts, outliers, shifts, residuals = [], {}, {}, {}
    for q in queues:
        name = chosen[q]
        fc = fitted[name].predict(starts)
        fc = fc[fc["queue"] == q].copy()
        res = np.array([]) if bt is None else _scaled(*bt[(bt["queue"] == q) & (bt["model"] == name)]
                                                    [["actual", "forecast"]].to_numpy().T)
        fc["volume_lower"], fc["volume_upper"] = _band(fc["volume"], res, level)
        residuals[q] = res
        parts.append(fc)
        state = getattr(fitted[name], "state", {}).get(q)
        if hasattr(state, "outliers"):
            outliers[q] = state.outliers
            if state.level_shift is not None:
                shifts[q] = state.level_shift
    out = pd.concat(parts, ignore_index=True).merge(aht, on=["interval_start", "queue"], how="left")
    out = out[["interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds"]]
    specials = next(iter(fitted.values())).special_days(starts)
    return ForecastResult(out, scores, chosen, first, outliers, shifts, residuals, specials)
