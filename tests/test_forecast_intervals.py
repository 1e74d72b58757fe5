"""Prediction bands: calibrated on enough weeks of the chosen model's backtest errors (issue 30)."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.pipeline import backtest, calibration_errors, forecast
from wfm.domain import Horizon

TZ = "Europe/Berlin"
START = date(2026, 1, 5)


def weekly_level_history(weeks: int, seed: int = 1) -> pd.DataFrame:
    """Hourly calls 08-18 whose weekly level moves by ~8% at once, with Poisson noise."""
    rng = np.random.default_rng(seed)
    starts = Horizon(start=START, days=7 * weeks, interval_minutes=60, timezone=TZ).interval_starts()
    week = np.array([(d - START).days // 7 for d in starts.date])
    level = np.exp(rng.normal(0, 0.08, weeks))[week]
    mean = np.where((starts.hour >= 8) & (starts.hour < 18), 80.0, 0.0) * level
    return pd.DataFrame({"interval_start": starts, "queue": "q", "volume": rng.poisson(mean).astype(float),
                         "aht_seconds": 300.0, "handled": 0.0})


def test_the_band_uses_eight_weeks_of_errors_the_same_as_an_eight_week_backtest():
    hist = weekly_level_history(14)
    choice = backtest(hist, ["weekly_profile", "seasonal_naive"], folds=4)
    extended = calibration_errors(hist, choice, "weekly_profile", None, weeks=8)
    direct = backtest(hist, ["weekly_profile"], folds=8)
    key = ["interval_start", "queue"]
    a, b = extended.sort_values(key).reset_index(drop=True), direct.sort_values(key).reset_index(drop=True)
    assert extended["fold"].nunique() == 8
    assert (a["interval_start"] == b["interval_start"]).all()
    assert a["forecast"].to_numpy() == pytest.approx(b["forecast"].to_numpy())
    assert a["actual"].to_numpy() == pytest.approx(b["actual"].to_numpy())


def test_a_short_history_calibrates_on_the_weeks_it_has():
    hist = weekly_level_history(5)  # 35 days: 3 one-week folds after 14 days of training
    choice = backtest(hist, ["weekly_profile"], folds=4)
    assert calibration_errors(hist, choice, "weekly_profile", None, weeks=8)["fold"].nunique() == 3


def test_forecast_band_is_calibrated_on_the_longer_backtest():
    hist = weekly_level_history(14)
    res = forecast(hist, 7, TZ, 60, model="weekly_profile", folds=4, calibration_weeks=8)
    bt = backtest(hist, ["weekly_profile"], folds=8)
    active = ((bt["actual"] > 0) | (bt["forecast"] > 0)).sum()
    assert len(res.residuals["q"]) == active
    assert res.scores.set_index("model").loc["weekly_profile", "folds"] == 4  # the reported backtest stays 4 weeks


def test_days_around_a_closure_in_the_forecast_week_get_a_wider_band():
    # Calls held back or brought forward move to the days around a closure (issue 30: holiday
    # weeks were covered 23-75% at nominal 90%); days further away keep their band.
    from forecasts.calendar import Calendar

    hist = weekly_level_history(10)
    first = START + timedelta(days=70)  # the Monday after the history
    closed = Calendar(special_days={first + timedelta(days=4): 0.0})  # Friday closed
    plain = forecast(hist, 7, TZ, 60, model="weekly_profile").forecast
    near = forecast(hist, 7, TZ, 60, model="weekly_profile", calendar=closed).forecast
    width = lambda f: (f["volume_upper"] - f["volume_lower"]).groupby(f["interval_start"].dt.date).sum()  # noqa: E731
    wider = width(near) / width(plain)
    assert (wider[[first + timedelta(days=d) for d in (1, 2, 3, 5, 6)]] > 1.05).all()
    assert wider[first] == pytest.approx(1.0)  # four days before the closure
