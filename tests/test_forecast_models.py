"""Forecast models and pipeline on synthetic series whose truth is known."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from forecasts import metrics
from forecasts.calendar import Calendar
from forecasts.models import (
    MODELS,
    AhtProfile,
    DailyProfile,
    DayMatrix,
    SeasonalNaive,
    WeeklyProfile,
    fit_model,
    make_model,
    shared_fits,
)
from forecasts.pipeline import backtest, forecast
from wfm.domain import Horizon

TZ = "Europe/Berlin"
DOW = np.array([1.3, 1.1, 1.0, 1.0, 0.9, 0.5, 0.2])


def intraday(starts) -> np.ndarray:
    h = starts.hour + starts.minute / 60.0
    return np.where((h >= 7) & (h < 21), np.exp(-((h - 11) ** 2) / 8.0) + 0.3, 0.0)


def expected(start: date, days: int, level=500.0, trend=2.0, day0: int = 0, interval=60):
    """Exact expected volume per interval: (level + trend t) x weekday factor x shares."""
    starts = Horizon(start=start, days=days, interval_minutes=interval, timezone=TZ).interval_starts()
    shape = intraday(starts)
    frame = pd.DataFrame({"interval_start": starts, "queue": "q", "shape": shape, "date": starts.date})
    frame["t"] = frame["date"].map(lambda d: (d - start).days + day0)
    frame["dow"] = frame["date"].map(lambda d: d.weekday())
    share = frame["shape"] / frame.groupby("date")["shape"].transform("sum")
    frame["volume"] = (level + trend * frame["t"]) * DOW[frame["dow"]] * share
    frame["aht_seconds"], frame["handled"] = 300.0, frame["volume"]
    return frame[["interval_start", "queue", "volume", "aht_seconds", "handled"]]


def noisy(frame, seed=0):
    out = frame.copy()
    out["volume"] = np.random.default_rng(seed).poisson(frame["volume"]).astype(float)
    out["handled"] = out["volume"]
    return out


START = date(2026, 1, 5)  # Monday; 16 weeks of history, crossing the March DST change


def test_recovers_known_trend_weekday_factors_and_profile():
    hist = expected(START, 16 * 7)
    model = DailyProfile().fit(hist)
    s = model.state["q"]
    # Weekday factors are normalized to mean 1, so growth is identifiable relative to the level.
    last_t = 16 * 7 - 1
    assert s.trend / s.level == pytest.approx(2.0 / (500 + 2.0 * last_t), rel=0.02)
    assert s.dow_factor / s.dow_factor.mean() == pytest.approx(DOW / DOW.mean(), rel=0.01)
    truth = expected(START + timedelta(days=112), 14, day0=112)
    fc = model.predict(pd.DatetimeIndex(truth["interval_start"]))
    # Damped trend: within 2% over two weeks ahead.
    assert metrics.wape(truth["volume"], fc["volume"]) < 0.02


def test_noisy_series_beats_seasonal_naive_clearly():
    hist = noisy(expected(START, 16 * 7), seed=1)
    truth = noisy(expected(START + timedelta(days=112), 7, day0=112), seed=2)
    starts = pd.DatetimeIndex(truth["interval_start"])
    w = {m.name: metrics.wape(truth["volume"], m.fit(hist).predict(starts)["volume"])
         for m in (SeasonalNaive(), WeeklyProfile(), DailyProfile())}
    assert w["daily_profile"] < 0.8 * w["seasonal_naive"]


def _with_holiday(hist, day: date, factor: float):
    out = hist.copy()
    on_day = out["interval_start"].dt.date == day
    out.loc[on_day, "volume"] *= factor
    return out


def test_holiday_is_not_copied_into_the_next_week():
    last_monday = START + timedelta(days=15 * 7)
    hist = _with_holiday(expected(START, 16 * 7), last_monday, 0.1)
    truth = expected(START + timedelta(days=112), 7, day0=112)
    monday = truth["interval_start"].dt.date == START + timedelta(days=112)
    starts = pd.DatetimeIndex(truth["interval_start"])
    clean = expected(START, 16 * 7)
    cal = Calendar(special_days={last_monday: None})
    for model in (DailyProfile(), WeeklyProfile()):
        fc = model.fit(hist, cal).predict(starts)
        without = type(model)().fit(clean, cal).predict(starts)  # same model, no holiday in history
        assert fc.loc[monday.to_numpy(), "volume"].sum() == pytest.approx(
            without.loc[monday.to_numpy(), "volume"].sum(), rel=0.02)
    # Undeclared, the daily model still finds it (an outlier) and does not copy it.
    fc = DailyProfile().fit(hist).predict(starts)
    assert fc.loc[monday.to_numpy(), "volume"].sum() == pytest.approx(truth.loc[monday, "volume"].sum(), rel=0.05)
    # Seasonal naive takes the Monday before it instead (two weeks of trend behind).
    naive = SeasonalNaive().fit(hist).predict(starts)
    assert naive.loc[monday.to_numpy(), "volume"].sum() == pytest.approx(truth.loc[monday, "volume"].sum(), rel=0.06)


def test_declared_future_special_day_uses_its_factor():
    hist = expected(START, 8 * 7)
    day = START + timedelta(days=8 * 7 + 2)
    truth = expected(START + timedelta(days=56), 7, day0=56)
    starts = pd.DatetimeIndex(truth["interval_start"])
    fc = DailyProfile().fit(hist, Calendar(special_days={day: 0.25})).predict(starts)
    on = (truth["interval_start"].dt.date == day).to_numpy()
    assert fc.loc[on, "volume"].sum() == pytest.approx(0.25 * truth.loc[on, "volume"].sum(), rel=0.03)


def test_dst_day_in_the_horizon_gets_its_own_intervals_and_full_total():
    # History ends Saturday 2026-03-28; the horizon starts with the 23-hour Sunday.
    hist = expected(START, 83)
    truth = expected(date(2026, 3, 28), 3, day0=82)
    truth = truth[truth["interval_start"].dt.date > date(2026, 3, 28)]
    starts = pd.DatetimeIndex(truth["interval_start"])
    fc = DailyProfile().fit(hist).predict(starts)
    sunday = (fc["interval_start"].dt.date == date(2026, 3, 29)).to_numpy()
    assert sunday.sum() == 23
    assert fc.loc[sunday, "volume"].sum() == pytest.approx(truth.loc[sunday, "volume"].sum(), rel=0.03)


def _aht_history(long_call_hour, weeks=6, seed=0):
    """300 s contacts, plus one 3000 s contact a day at `long_call_hour(day index)`."""
    rng = np.random.default_rng(seed)
    hist = expected(START, weeks * 7, trend=0.0)
    hist["volume"] = np.round(hist["volume"])
    hist["handled"] = hist["volume"]
    hist["aht_seconds"] = 300.0
    day = (hist["interval_start"].dt.date - START).map(lambda d: d.days)
    long = hist["interval_start"].dt.hour == day.map(lambda i: long_call_hour(i, rng))
    hist.loc[long, "aht_seconds"] = (hist.loc[long, "handled"] * 300.0 + 3000.0) / (hist.loc[long, "handled"] + 1)
    hist.loc[long, "handled"] += 1
    return hist


def test_aht_shrinkage_is_chosen_by_backtest():
    starts = Horizon(start=START + timedelta(days=42), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    # A real pattern: the long contact always comes at 20:00, a quiet hour. Keep it.
    hist = _aht_history(lambda i, rng: 20)
    fc = AhtProfile().fit(hist).predict(starts).set_index("interval_start")
    last_week = hist[hist["interval_start"].dt.date >= START + timedelta(days=35)].set_index("interval_start")
    truth = last_week[last_week.index.hour == 20]["aht_seconds"].to_numpy()  # the same every week
    assert fc[fc.index.hour == 20]["aht_seconds"].to_numpy() == pytest.approx(truth, rel=0.1)
    assert fc[fc.index.hour == 11]["aht_seconds"].between(290, 320).all()
    # Noise: the long contact comes at a random open hour. Do not chase it.
    hist = _aht_history(lambda i, rng: int(rng.integers(7, 21)))
    model = AhtProfile().fit(hist)
    open_hours = starts.hour.isin(range(7, 21))
    chosen = model.predict(starts)["aht_seconds"].to_numpy()[open_hours]
    trusting = AhtProfile(shrink=(0.0, 0.0)).fit(hist).predict(starts)["aht_seconds"].to_numpy()[open_hours]
    assert model.k[0] > 0
    assert chosen.std() < 0.5 * trusting.std()  # no shrinkage copies the noise into the profile


def test_pipeline_contract_intervals_and_auto_choice():
    hist = noisy(expected(START, 10 * 7), seed=3)
    res = forecast(hist, days=7, timezone=TZ, interval_minutes=60, model="auto", level=0.9)
    fc = res.forecast
    assert list(fc.columns) == ["interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds"]
    assert res.first_day == START + timedelta(days=70)
    assert len(fc) == 7 * 24 and not fc.duplicated(["interval_start"]).any()
    assert (fc["volume_lower"] <= fc["volume"]).all() and (fc["volume"] <= fc["volume_upper"]).all()
    closed = fc["volume"] == 0
    assert (fc.loc[closed, "volume_upper"] == 0).all()
    assert res.chosen["q"] == "ensemble"  # no model outside it wins every fold
    # Honest out-of-fold coverage of the 90% band on Poisson noise.
    cov = res.scores.set_index("model").loc["ensemble", "coverage"]
    assert 0.8 <= cov <= 0.98


def test_metrics_on_hand_computed_values():
    y, f = np.array([10.0, 0.0, 5.0]), np.array([8.0, 1.0, 5.0])
    assert metrics.wape(y, f) == pytest.approx(3 / 15)
    assert metrics.bias(y, f) == pytest.approx(-1 / 15)
    assert metrics.mase(y, f, scale=2.0) == pytest.approx(0.5)
    assert metrics.seasonal_naive_scale([1, 2, 4, 8], season=2) == pytest.approx((3 + 6) / 2)
    assert metrics.coverage(y, f - 1, f + 1) == pytest.approx(2 / 3)


def test_day_matrix_marks_missing_dst_slot():
    hist = expected(date(2026, 3, 28), 3)
    m = DayMatrix.build(hist)
    row = m.days.index(date(2026, 3, 29))
    col = list(m.slots).index(120)  # 02:00 does not exist that day
    assert np.isnan(m.values[row, col]) and not np.isnan(m.values[row - 1, col])


def _drop_day(hist, day: date, hours=range(24)):
    """What aggregate gives for a day the export left out: the intervals are there, zero-filled."""
    out = hist.copy()
    hit = (out["interval_start"].dt.date == day) & out["interval_start"].dt.hour.isin(list(hours))
    out.loc[hit, ["volume", "handled"]] = 0.0
    return out


@settings(max_examples=12, deadline=None)
@given(model_name=st.sampled_from(sorted(MODELS)), day_back=st.integers(1, 21))
def test_a_missing_day_never_lowers_next_weeks_forecast(model_name, day_back):
    hist = expected(START, 8 * 7, trend=0.0)
    missing = START + timedelta(days=8 * 7 - day_back)
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    clean = make_model(model_name).fit(hist).predict(starts)
    gap = make_model(model_name).fit(_drop_day(hist, missing)).predict(starts)
    same_weekday = (clean["interval_start"].dt.day_of_week == missing.weekday()).to_numpy()
    assert gap.loc[same_weekday, "volume"].sum() >= 0.99 * clean.loc[same_weekday, "volume"].sum()
    assert gap["volume"].sum() == pytest.approx(clean["volume"].sum(), rel=0.01)


@settings(max_examples=12, deadline=None)
@given(model_name=st.sampled_from(sorted(MODELS)), day_back=st.integers(1, 14), hours=st.integers(1, 2),
       first=st.integers(13, 18))
def test_an_empty_hour_inside_an_open_day_never_lowers_next_weeks_forecast(model_name, day_back, hours, first):
    # Issue 30: an interval missing inside a day is missing, not zero (the Israeli 6-minute
    # series has single empty hours inside ordinary days, e.g. 1999-01-13 10:00, ~100 a week).
    # Every open hour here is busy enough (>= 27) that an empty one is no Poisson zero; two
    # afternoon hours hold under a quarter of the day (more is an outage day, the next test).
    hist = expected(START, 8 * 7, level=2000.0, trend=0.0)
    day = START + timedelta(days=8 * 7 - day_back)
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    clean = make_model(model_name).fit(hist).predict(starts)["volume"].to_numpy()
    holed = make_model(model_name).fit(_drop_day(hist, day, hours=range(first, first + hours))).predict(starts)
    assert holed["volume"].to_numpy() == pytest.approx(clean, rel=0.01, abs=0.01)


def test_an_outage_inside_the_day_is_still_an_outlier_day_left_out_and_reported():
    # The sample's outage day (10:00-16:00 nothing recorded) is most of the day's volume: not
    # holes to fill but a day to leave out whole, and `outlier_days` names it.
    hist = expected(START, 8 * 7, level=2000.0, trend=0.0)
    outage = START + timedelta(days=8 * 7 - 10)
    hit = _drop_day(hist, outage, hours=range(10, 16))
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    model = DailyProfile().fit(hit)
    assert outage in model.daily_state("q").outliers
    clean = DailyProfile().fit(hist).predict(starts)["volume"].to_numpy()
    assert model.predict(starts)["volume"].to_numpy() == pytest.approx(clean, rel=0.01, abs=0.01)


def test_an_empty_hour_at_the_start_of_the_day_is_a_closed_hour_not_a_gap():
    # Opening hours change at the ends of a day: four weeks opening an hour later are learnt.
    hist = expected(START, 8 * 7, trend=0.0)
    later = hist["interval_start"].dt.date >= START + timedelta(days=4 * 7)
    hist.loc[later & (hist["interval_start"].dt.hour == 7), "volume"] = 0.0
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    fc = make_model("weekly_profile").fit(hist).predict(starts)
    w = 0.8 ** np.arange(8)
    seven = (fc["interval_start"].dt.hour == 7).to_numpy()
    truth = expected(START + timedelta(days=56), 7, trend=0.0)["volume"].to_numpy()
    assert fc["volume"].to_numpy()[seven] == pytest.approx(truth[seven] * w[4:].sum() / w.sum())


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_an_outage_half_a_day_long_is_kept_out_of_the_fit(model_name):
    hist = expected(START, 8 * 7, trend=0.0)
    outage = START + timedelta(days=8 * 7 - 3)
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    clean = make_model(model_name).fit(hist).predict(starts)
    hit = make_model(model_name).fit(_drop_day(hist, outage, hours=range(12, 24))).predict(starts)
    assert hit["volume"].to_numpy() == pytest.approx(clean["volume"].to_numpy(), rel=0.01, abs=0.01)


def test_the_backtest_does_not_score_a_missing_day_as_zero_demand():
    hist = _drop_day(expected(START, 8 * 7, trend=0.0), START + timedelta(days=8 * 7 - 2))
    bt = backtest(hist, ["weekly_profile"], folds=1)
    assert metrics.wape(bt["actual"], bt["forecast"]) < 0.01
    assert len(bt) == 6 * 24  # the missing day is not in the scored rows


def test_the_backtest_does_not_score_an_empty_hour_inside_an_open_day_as_zero_demand():
    # A hole the models fill (an export that lost an hour) is missing, not an actual of 0.
    hist = expected(START, 6 * 7, level=2000.0, trend=0.0)
    hole = START + timedelta(days=6 * 7 - 3)
    bt = backtest(_drop_day(hist, hole, hours=[12]), ["weekly_profile"], folds=2)
    at = pd.DatetimeIndex(bt["interval_start"])
    assert ((at.date == hole) & (at.hour == 12)).sum() == 0
    assert ((at.date == hole) & (at.hour == 11)).sum() == 1


def test_ensemble_weights_follow_the_backtest_and_combine_its_parts():
    # A steady trend: the profiles lag it, the daily model follows it exactly.
    hist = expected(START, 10 * 7, trend=4.0)
    truth = expected(START + timedelta(days=70), 7, trend=4.0, day0=70)
    starts = pd.DatetimeIndex(truth["interval_start"])
    ens = make_model("ensemble").fit(hist)
    names = [p.name for p in ens.parts]
    weights = dict(zip(names, ens.state["q"]))
    assert set(names) == {"weekly_profile", "daily_profile", "level_profile"}
    assert sum(weights.values()) == pytest.approx(1.0)
    assert weights["daily_profile"] > 0.8 and weights["weekly_profile"] < 0.1
    parts = {n: make_model(n).fit(hist).predict(starts)["volume"].to_numpy() for n in names}
    fc = ens.predict(starts)["volume"].to_numpy()
    assert fc == pytest.approx(sum(weights[n] * parts[n] for n in names))
    assert metrics.wape(truth["volume"], fc) < 0.5 * metrics.wape(truth["volume"], parts["weekly_profile"])


def _backtest_frame(wape_by_model_and_fold, special_day=None):
    """A backtest frame whose WAPE per model and fold is exactly as given (actual 100 an hour)."""
    rows = []
    for (model, fold), w in wape_by_model_and_fold.items():
        starts = Horizon(start=START + timedelta(days=7 * fold), days=7, interval_minutes=60, timezone=TZ)
        for ts in starts.interval_starts():
            off = 500.0 if special_day is not None and ts.date() == special_day and model == "seasonal_naive" else w
            rows.append({"interval_start": ts, "queue": "q", "model": model, "fold": fold, "actual": 100.0,
                         "forecast": 100.0 * (1 + off)})
    return pd.DataFrame(rows)


def test_auto_keeps_the_ensemble_unless_a_model_outside_it_wins_every_fold_clearly():
    from forecasts.pipeline import choose_models

    def pick(sn, dp=(0.2, 0.2, 0.2, 0.2), special_day=None, calendar=None):
        table = {("ensemble", f): 0.2 for f in range(4)}
        table.update({("seasonal_naive", f): sn[f] for f in range(4)})
        table.update({("daily_profile", f): dp[f] for f in range(4)})
        return choose_models(_backtest_frame(table, special_day), ["q"], calendar)["q"]

    assert pick(sn=(0.1, 0.1, 0.1, 0.1)) == "seasonal_naive"
    assert pick(sn=(0.1, 0.1, 0.1, 0.3)) == "ensemble"        # not in every fold
    assert pick(sn=(0.19, 0.19, 0.19, 0.19)) == "ensemble"    # not by a margin
    assert pick(sn=(0.3,) * 4, dp=(0.05,) * 4) == "ensemble"  # a part of the ensemble is no challenger
    # A holiday where seasonal naive was far off does not count: the day factors are shared.
    holiday = START + timedelta(days=2)
    cal = Calendar(special_days={holiday: None})
    assert pick(sn=(0.1,) * 4, special_day=holiday, calendar=cal) == "seasonal_naive"
    assert pick(sn=(0.1,) * 4, special_day=holiday) == "ensemble"


def _two_regime_history(weeks=10, seed=4):
    """Quiet hours with Poisson noise, busy hours whose level swings 15% day to day."""
    rng = np.random.default_rng(seed)
    starts = Horizon(start=START, days=7 * weeks, interval_minutes=60, timezone=TZ).interval_starts()
    busy = (starts.hour >= 9) & (starts.hour < 17)
    quiet = (starts.hour >= 6) & ~busy & (starts.hour < 22)
    day_swing = pd.Series(rng.lognormal(0, 0.15, 7 * weeks), index=sorted(set(starts.date)))
    mean = np.where(busy, 400.0 * day_swing.reindex(starts.date).to_numpy(), np.where(quiet, 4.0, 0.0))
    vol = rng.poisson(mean).astype(float)
    return pd.DataFrame({"interval_start": starts, "queue": "q", "volume": vol, "aht_seconds": 300.0,
                         "handled": vol}), busy


def test_intervals_are_calibrated_out_of_fold_in_quiet_and_busy_hours():
    from forecasts.pipeline import Calibration, calibrated_band

    hist, busy = _two_regime_history()
    bt = backtest(hist, ["weekly_profile"], folds=6)
    hits = {True: [], False: []}
    for fold, g in bt.groupby("fold"):
        other = bt[bt["fold"] != fold]
        cal = Calibration.fit(other["actual"], other["forecast"], other["interval_start"])
        lo, hi = calibrated_band(g["forecast"], cal, 0.9, g["interval_start"])
        inside = ((g["actual"] >= lo) & (g["actual"] <= hi)).to_numpy()
        hour = g["interval_start"].dt.hour.to_numpy()
        is_busy = (hour >= 9) & (hour < 17)
        is_quiet = ~is_busy & (hour >= 6) & (hour < 22)
        hits[True].extend(inside[is_busy])
        hits[False].extend(inside[is_quiet])
    # One sqrt(f + 1)-scaled quantile for all hours covered the Poisson hours 99.7%, the swinging ones 79%.
    assert 0.8 <= np.mean(hits[True]) <= 0.97
    assert 0.8 <= np.mean(hits[False]) <= 0.97


def test_a_special_day_in_the_horizon_gets_a_wider_band():
    hist = noisy(expected(START, 10 * 7), seed=5)
    day = START + timedelta(days=70 + 1)
    plain = forecast(hist, 7, TZ, 60, model="weekly_profile").forecast
    special = forecast(hist, 7, TZ, 60, model="weekly_profile", calendar=Calendar(special_days={day: 1.0})).forecast
    on = (plain["interval_start"].dt.date == day).to_numpy() & (plain["volume"] > 20).to_numpy()
    width = lambda fc: ((fc["volume_upper"] - fc["volume_lower"]) / fc["volume"])[on]  # noqa: E731
    assert special.loc[on, "volume"].to_numpy() == pytest.approx(plain.loc[on, "volume"].to_numpy())
    assert (width(special) > 1.5 * width(plain)).all()


def test_without_a_backtest_the_band_follows_the_historys_dispersion():
    hist, busy = _two_regime_history(weeks=6)
    train = hist[hist["interval_start"].dt.date < START + timedelta(days=14)]  # too short for a backtest
    test = hist[hist["interval_start"].dt.date >= START + timedelta(days=14)]
    fc = forecast(train, 28, TZ, 60, model="weekly_profile").forecast
    assert len(fc) == len(test)
    hour = fc["interval_start"].dt.hour
    on = ((hour >= 9) & (hour < 17)).to_numpy()
    actual = test["volume"].to_numpy()
    inside = (actual >= fc["volume_lower"].to_numpy()) & (actual <= fc["volume_upper"].to_numpy())
    # A Poisson band covered 21% of the busy hours, whose level swings 15% a day.
    assert 0.8 <= inside[on].mean() <= 0.98


def test_an_odd_day_short_of_an_outlier_does_not_drag_the_daily_level():
    clean = expected(START, 10 * 7, trend=0.0)
    odd = _with_holiday(clean, START + timedelta(days=10 * 7 - 3), 1.5)  # under the 1.7 outlier bound
    starts = Horizon(start=START + timedelta(days=70), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    base = DailyProfile().fit(clean).predict(starts)["volume"].sum()
    hit = DailyProfile().fit(odd).predict(starts)["volume"].sum()
    assert hit == pytest.approx(base, rel=0.01)


@given(step=st.floats(0.6, 1.6), shrink=st.floats(0.0, 4.0))
@settings(max_examples=15, deadline=None)
def test_level_profile_follows_a_level_step_that_the_weekly_profile_lags(step, shrink):
    # Eight flat weeks, then the last week at `step` times the old level: the level profile
    # keeps the old weeks' pattern at the new level, shrunk toward 1 by `shrink` pseudo-days.
    old = expected(START, 7 * 7, trend=0.0)
    new = expected(START + timedelta(days=49), 7, level=500.0 * step, trend=0.0)
    hist = pd.concat([old, new], ignore_index=True)
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    flat = expected(START + timedelta(days=56), 7, trend=0.0)["volume"].to_numpy()
    model = make_model("level_profile")
    model.level_shrink = shrink
    fc = model.fit(hist).predict(starts)["volume"].to_numpy()
    # The profile over 12 weeks at decay 0.95 gives the old level with the new week mixed in.
    w = 0.95 ** np.arange(8)
    profile_level = (w[0] * step + w[1:].sum()) / w.sum()
    ratio = step / profile_level
    n = 5  # level days
    assert fc == pytest.approx(flat * profile_level * (n * ratio + shrink) / (n + shrink), rel=1e-6, abs=1e-9)
    if abs(step - 1) > 0.1 and shrink < 1:
        weekly = make_model("weekly_profile").fit(hist).predict(starts)["volume"].to_numpy()
        truth = flat * step
        assert metrics.wape(truth, fc) < metrics.wape(truth, weekly)


def test_level_profile_ignores_a_missing_day_in_its_level():
    hist = expected(START, 8 * 7, trend=0.0)
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    clean = make_model("level_profile").fit(hist).predict(starts)["volume"].to_numpy()
    gap = make_model("level_profile").fit(_drop_day(hist, START + timedelta(days=54))).predict(starts)
    assert gap["volume"].to_numpy() == pytest.approx(clean, rel=1e-6)


@pytest.mark.parametrize("model_name", ["weekly_profile", "level_profile"])
def test_a_whole_week_at_a_new_level_is_followed_not_dropped_as_outliers(model_name):
    # The last week at half the level: each day is far from its weekday's median, but so are
    # its neighbours, so the week is a new level (issue 30: a drop at the end of history was
    # left out and the next week forecast at the old level).
    old = expected(START, 8 * 7, trend=0.0)
    new = expected(START + timedelta(days=56), 7, level=250.0, trend=0.0)
    hist = pd.concat([old, new], ignore_index=True)
    starts = Horizon(start=START + timedelta(days=63), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    flat = expected(START + timedelta(days=63), 7, trend=0.0)["volume"].to_numpy()
    fc = make_model(model_name).fit(hist).predict(starts)["volume"].to_numpy()
    if model_name == "weekly_profile":
        w = 0.8 ** np.arange(8)
        assert fc == pytest.approx(flat * (0.5 * w[0] + w[1:].sum()) / w.sum(), rel=1e-6, abs=1e-9)
    else:  # nine weeks at decay 0.95, then at the last 5 days' level shrunk by one pseudo-day
        w = 0.95 ** np.arange(9)
        profile = (0.5 * w[0] + w[1:].sum()) / w.sum()
        assert fc == pytest.approx(flat * profile * (5 * 0.5 / profile + 1) / 6, rel=1e-6, abs=1e-9)


def test_a_single_low_day_inside_a_normal_week_is_still_left_out():
    hist = expected(START, 8 * 7, trend=0.0)
    low = START + timedelta(days=8 * 7 - 4)
    hit = hist.copy()
    on = hit["interval_start"].dt.date == low
    hit.loc[on, "volume"] *= 0.3
    starts = Horizon(start=START + timedelta(days=56), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    clean = make_model("weekly_profile").fit(hist).predict(starts)["volume"].to_numpy()
    assert make_model("weekly_profile").fit(hit).predict(starts)["volume"].to_numpy() == pytest.approx(clean)


def test_ensemble_weights_do_not_score_a_missing_day_in_their_backtest():
    # A gap in the last week: scored as zero demand it cost every part the same and pulled
    # the weights toward equal (each inner week alone had no neighbours to call it a gap).
    hist = _drop_day(expected(START, 10 * 7, trend=4.0), START + timedelta(days=10 * 7 - 3))
    ens = make_model("ensemble").fit(hist)
    weights = dict(zip([p.name for p in ens.parts], ens.state["q"]))
    assert weights["daily_profile"] > 0.8


def test_shared_fits_reuse_a_fit_only_for_the_same_history():
    hist = noisy(expected(START, 6 * 7))
    other = hist.assign(volume=hist["volume"][::-1].to_numpy())  # same rows and length, other counts
    starts = Horizon(start=START + timedelta(days=42), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    assert fit_model(WeeklyProfile, hist) is not fit_model(WeeklyProfile, hist)
    with shared_fits():
        first = fit_model(WeeklyProfile, hist)
        assert fit_model(WeeklyProfile, hist.copy()) is first
        assert fit_model(DailyProfile, hist) is not first
        changed = fit_model(WeeklyProfile, other)
        assert changed is not first
        fresh = WeeklyProfile().fit(other).predict(starts)["volume"].to_numpy()
        assert changed.predict(starts)["volume"].to_numpy() == pytest.approx(fresh)
    assert fit_model(WeeklyProfile, hist) is not first  # the block's fits are gone after it


@given(drift=st.floats(0.6, 1.35).filter(lambda x: abs(x - 1) >= 0.1))
@settings(max_examples=10, deadline=None)
def test_under_five_weeks_the_ensemble_does_not_extrapolate_a_drift_as_a_trend(drift):
    # Two flat weeks, two drifting to `drift` x the level, then a flat week again (issue 30:
    # the Israeli 6-minute fold with 28 days of history, its last days 25-41% low, had 1.11 x
    # the 4-week profile's error). Fitted on under five weeks, the daily model's trend
    # carries the drift on into the next week.
    days = 4 * 7
    hist = expected(START, days, trend=0.0)
    age = hist["interval_start"].dt.date.map(lambda d: (d - START).days).to_numpy()
    hist["volume"] *= np.where(age >= days - 14, 1 + (drift - 1) * (age - (days - 15)) / 14, 1.0)
    truth = expected(START + timedelta(days=days), 7, trend=0.0, day0=days)
    starts = pd.DatetimeIndex(truth["interval_start"])
    ens = make_model("ensemble").fit(hist)
    names = [p.name for p in ens.parts]
    assert names == ["weekly_profile", "level_profile"]
    parts = {n: make_model(n).fit(hist).predict(starts)["volume"].to_numpy() for n in names}
    fc = ens.predict(starts)["volume"].to_numpy()
    assert fc == pytest.approx(sum(w * parts[n] for n, w in zip(names, ens.state["q"])))
    every_part = MODELS["ensemble"](short_history_days=0).fit(hist)
    assert [p.name for p in every_part.parts] == ["weekly_profile", "daily_profile", "level_profile"]
    assert metrics.wape(truth["volume"], fc) < 0.9 * metrics.wape(truth["volume"], every_part.predict(starts)["volume"])


def test_from_five_weeks_on_the_ensemble_has_all_three_parts():
    hist = expected(START, 5 * 7, trend=0.0)
    assert [p.name for p in make_model("ensemble").fit(hist).parts] == [
        "weekly_profile", "daily_profile", "level_profile"]
    assert [p.name for p in make_model("ensemble").fit(hist.iloc[24:]).parts] == ["weekly_profile", "level_profile"]


def _month_start_series(start: date, days: int, factor: float, seed: int) -> pd.DataFrame:
    """Noisy busy series whose days 1-5 of each month get `factor` x the volume."""
    frame = expected(start, days, level=5000.0, trend=0.0)
    frame.loc[(frame["interval_start"].dt.day <= 5).to_numpy(), "volume"] *= factor
    return noisy(frame, seed=seed)


@pytest.mark.parametrize("model_name", sorted(MODELS))
def test_a_month_start_seen_in_history_is_forecast_at_the_next_month_start(model_name):
    # Banks' calls rise on the first days of a month (pay days, statements): every model learns it.
    hist = _month_start_series(START, 12 * 7, 1.25, seed=3)
    week = START + timedelta(days=12 * 7)  # Monday 2026-03-30: April 1-5 inside
    truth = expected(week, 7, level=5000.0, trend=0.0)
    starts = pd.DatetimeIndex(truth["interval_start"])
    fc = make_model(model_name).fit(hist).predict(starts)
    first = (fc["interval_start"].dt.day <= 5).to_numpy()
    ratio = fc["volume"].to_numpy()[first].sum() / truth["volume"].to_numpy()[first].sum()
    assert ratio == pytest.approx(1.25, rel=0.06)
    assert fc["volume"].to_numpy()[~first].sum() == pytest.approx(truth["volume"].to_numpy()[~first].sum(), rel=0.06)


def test_a_history_without_a_month_start_effect_rarely_learns_one_and_then_only_within_noise():
    # A two-standard-error gate lets noise through now and then (about 1 in 12 series here): a
    # property over many seeds, not of any one, which a handful of random examples would flake on.
    factors = np.array([WeeklyProfile().fit(_month_start_series(START, 12 * 7, 1.0, seed=seed)).month_start_factor("q")
                        for seed in range(100)])
    learnt = factors[factors != 1.0]
    assert len(learnt) <= 15
    assert np.all(np.abs(learnt - 1.0) < 0.03)


@settings(max_examples=8, deadline=None)
@given(factor=st.sampled_from([0.7, 0.85, 1.15, 1.3, 1.6]), seed=st.integers(0, 10_000))
def test_the_month_start_factor_learnt_is_the_one_in_the_history(factor, seed):
    model = WeeklyProfile().fit(_month_start_series(START, 12 * 7, factor, seed=seed))
    assert model.month_start_factor("q") == pytest.approx(factor, rel=0.04)


def test_the_forecast_reports_the_month_start_factor_it_used():
    res = forecast(_month_start_series(START, 12 * 7, 1.25, seed=3), 7, TZ, 60, model="ensemble")
    assert res.month_start["q"] == pytest.approx(1.25, rel=0.05)
    assert forecast(_month_start_series(START, 12 * 7, 1.0, seed=4), 7, TZ, 60, model="ensemble").month_start == {}
