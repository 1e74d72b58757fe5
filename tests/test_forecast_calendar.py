"""Special days: country calendars with eves and observances, declared days, learned and pooled factors,
applied by every model."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.calendar import PRIOR_FACTOR, Calendar, read_calendar_file
from forecasts.models import MODELS, make_model
from forecasts.pipeline import forecast
from wfm.domain import Horizon

TZ = "Europe/Berlin"
START = date(2026, 1, 5)  # a Monday


def flat_history(weeks=8, per_day=240.0, special=None):
    """Hourly, 08:00-20:00, the same volume every day; `special` maps a day to its factor."""
    starts = Horizon(start=START, days=7 * weeks, interval_minutes=60, timezone=TZ).interval_starts()
    open_ = (starts.hour >= 8) & (starts.hour < 20)
    factor = np.array([(special or {}).get(d, 1.0) for d in starts.date])
    vol = np.where(open_, per_day / 12.0, 0.0) * factor
    return pd.DataFrame({"interval_start": starts, "queue": "q", "volume": vol, "aht_seconds": 300.0,
                         "handled": vol})


def next_week(weeks=8):
    return Horizon(start=START + timedelta(days=7 * weeks), days=7, interval_minutes=60, timezone=TZ).interval_starts()


def day_total(fc, day):
    return fc.loc[(fc["interval_start"].dt.date == day).to_numpy(), "volume"].sum()


@pytest.mark.parametrize("model_name", sorted(MODELS))
@pytest.mark.parametrize("factor", [0.0, 0.25])
def test_a_declared_day_in_the_forecast_week_changes_every_models_forecast(model_name, factor):
    day = START + timedelta(days=8 * 7 + 2)
    plain = make_model(model_name).fit(flat_history()).predict(next_week())
    fc = make_model(model_name).fit(flat_history(), Calendar(special_days={day: factor})).predict(next_week())
    assert day_total(plain, day) == pytest.approx(240.0, rel=0.02)
    assert day_total(fc, day) == pytest.approx(factor * 240.0, abs=0.5)
    other = (fc["interval_start"].dt.date != day).to_numpy()
    assert fc.loc[other, "volume"].to_numpy() == pytest.approx(plain.loc[other, "volume"].to_numpy())


def test_closed_in_the_calendar_file_is_forecast_zero_with_auto(tmp_path):
    day = START + timedelta(days=8 * 7 + 3)
    path = tmp_path / "cal.csv"
    path.write_text(f"date,name,factor\n{day},inventory,closed\n")
    days, names = read_calendar_file(path)
    assert days == {day: 0.0} and names == {day: "inventory"}
    res = forecast(flat_history(), 7, TZ, 60, model="auto", calendar=Calendar(special_days=days, names=names))
    on = (res.forecast["interval_start"].dt.date == day).to_numpy()
    assert (res.forecast.loc[on, ["volume", "volume_upper"]].to_numpy() == 0).all()
    assert res.forecast.loc[~on, "volume"].sum() == pytest.approx(6 * 240.0, rel=0.02)


def test_a_factor_is_learned_from_past_days_of_the_same_name():
    past = [START + timedelta(days=9), START + timedelta(days=30)]
    coming = START + timedelta(days=8 * 7 + 1)
    names = {d: "stocktaking" for d in (*past, coming)}
    cal = Calendar(special_days={d: None for d in names}, names=names)
    for name in MODELS:
        fc = make_model(name).fit(flat_history(special={d: 0.4 for d in past}), cal).predict(next_week())
        assert 0.37 * 240 <= day_total(fc, coming) <= 0.45 * 240  # near 0.4, a little toward the prior


def test_a_special_day_never_seen_is_pooled_from_other_special_days_then_from_the_prior():
    past, coming = START + timedelta(days=16), START + timedelta(days=8 * 7 + 2)
    cal = Calendar(special_days={past: None, coming: None}, names={past: "strike", coming: "team event"})
    fc = make_model("weekly_profile").fit(flat_history(special={past: 0.1}), cal).predict(next_week())
    pooled = day_total(fc, coming) / 240
    assert 0.1 < pooled < PRIOR_FACTOR["declared"] - 0.1  # the one past special day pulls it down
    only = Calendar(special_days={coming: None}, names={coming: "team event"})
    unseen = make_model("weekly_profile").fit(flat_history(), only).predict(next_week())
    assert day_total(unseen, coming) / 240 == pytest.approx(PRIOR_FACTOR["declared"], abs=0.01)


def test_country_calendar_has_eves_observances_and_observed_days():
    days = [date(1999, 3, 31) + timedelta(days=i) for i in range(4)] + [date(1999, 4, 20)]
    il = Calendar(country="IL").describe(days)
    assert {d: s.kind for d, s in il.items()} == {date(1999, 3, 31): "eve", date(1999, 4, 1): "holiday",
                                                  date(1999, 4, 2): "after", date(1999, 4, 3): "observance",
                                                  date(1999, 4, 20): "eve"}
    us = Calendar(country="US").describe([date(2021, 12, 23), date(2021, 12, 24), date(2021, 12, 25)])
    assert us[date(2021, 12, 24)].name == "Christmas Day"  # observed on the Friday
    assert date(2021, 12, 23) not in us  # no eves where holidays start at midnight
    may = Calendar(country="US").describe([date(2003, 5, 23), date(2003, 5, 26), date(2003, 5, 27)])
    assert {d: s.kind for d, s in may.items()} == {date(2003, 5, 26): "holiday", date(2003, 5, 27): "after"}


def _israeli_spring(start: date, days: int) -> pd.DataFrame:
    """100 calls an hour 08-20 every day; eves of holidays (Israel) close at 14:00."""
    cal = Calendar(country="IL")
    starts = Horizon(start=start, days=days, interval_minutes=60, timezone="Asia/Jerusalem").interval_starts()
    eves = {d for d, s in cal.describe(set(starts.date)).items() if s.kind == "eve"}
    close = np.array([14 if d in eves else 20 for d in starts.date])
    volume = np.where((starts.hour >= 8) & (starts.hour < close), 100.0, 0.0)
    return pd.DataFrame({"interval_start": starts, "queue": "q", "volume": volume, "aht_seconds": 300.0,
                         "handled": volume})


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_an_eve_gets_the_intraday_shape_of_past_eves(model_name):
    # Three eves in the history (Pesach, its seventh day, Independence Day), all closing at
    # 14:00; the eve of Shavuot in the forecast week gets their shape, shrunk toward the
    # model's own (a Thursday open to 20:00) by one pseudo-day: (3 x 1/6 + 1/12) / 4 an hour
    # before 14:00, (1/12) / 4 after (issue 30: an eve was forecast with its weekday's hours).
    hist = _israeli_spring(date(2026, 2, 2), 105)  # to Sunday 17 May
    starts = Horizon(start=date(2026, 5, 18), days=7, interval_minutes=60, timezone="Asia/Jerusalem").interval_starts()
    fc = make_model(model_name).fit(hist, Calendar(country="IL")).predict(starts)
    eve = fc[fc["interval_start"].dt.date == date(2026, 5, 21)]
    share = (eve["volume"] / eve["volume"].sum()).to_numpy()
    hour = eve["interval_start"].dt.hour.to_numpy()
    assert share[(hour >= 8) & (hour < 14)] == pytest.approx((3 / 6 + 1 / 12) / 4)
    assert share[(hour >= 14) & (hour < 20)] == pytest.approx((1 / 12) / 4)
    assert share[(hour < 8) | (hour >= 20)] == pytest.approx(0.0)
    ordinary = fc[fc["interval_start"].dt.date == date(2026, 5, 20)]  # Wednesday: its own hours
    assert (ordinary["volume"] / ordinary["volume"].sum()).to_numpy()[8:20] == pytest.approx(1 / 12)
