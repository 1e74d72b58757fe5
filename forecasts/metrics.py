"""Forecast accuracy metrics as plain functions of arrays."""

from __future__ import annotations

import numpy as np


def wape(actual, forecast) -> float:
    """Weighted absolute percentage error: sum |y - f| / sum y."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = actual.sum()
    return float(np.abs(actual - forecast).sum() / total) if total > 0 else float("nan")


def bias(actual, forecast) -> float:
    """Signed error relative to volume: sum (f - y) / sum y (positive = over-forecast)."""
    actual, forecast = np.asarray(actual, float), np.asarray(forecast, float)
    total = actual.sum()
    return float((forecast - actual).sum() / total) if total > 0 else float("nan")


def mase(actual, forecast, scale: float) -> float:
    """Mean absolute error over `scale`, the in-sample MAE of the weekly seasonal naive."""
    err = np.abs(np.asarray(actual, float) - np.asarray(forecast, float)).mean()
    return float(err / scale) if scale > 0 else float("nan")


def seasonal_naive_scale(history_values, season: int) -> float:
    """In-sample MAE of y_t - y_{t-season} (the MASE denominator)."""
    y = np.asarray(history_values, float)
    return float(np.abs(y[season:] - y[:-season]).mean()) if y.size > season else float("nan")


def coverage(actual, lower, upper) -> float:
    """Share of actuals inside [lower, upper]."""
    actual = np.asarray(actual, float)
    inside = (actual >= np.asarray(lower)) & (actual <= np.asarray(upper))
    return float(inside.mean()) if actual.size else float("nan")
