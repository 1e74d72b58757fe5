"""Regression tests for forecasting problems found in review."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from forecasts.ingest import aggregate, read_history
from forecasts.models import DailyProfile
from forecasts.pipeline import forecast
from forecasts.service import HistoryOptions, load_intervals
from wfm.domain import Horizon
from wfm.errors import InputError

TZ = "Europe/Berlin"


def daily_history(days=84, start=date(2026, 1, 5), per_day=lambda d: 240, queue="q"):
    """Hourly interval frame: 08:00-20:00, per_day(d) contacts on day d spread evenly."""
    h = Horizon(start=start, days=days, interval_minutes=60, timezone=TZ)
    starts = h.interval_starts()
    day_index = np.array([(d - start).days for d in starts.date])
    open_ = (starts.hour >= 8) & (starts.hour < 20)
    vol = np.where(open_, [per_day(int(i)) / 12.0 for i in day_index], 0.0)
    return pd.DataFrame({"interval_start": starts, "queue": queue, "volume": vol,
                         "aht_seconds": 300.0, "handled": vol})


@pytest.mark.parametrize("factor", [0.0, 0.5, 2.0])
def test_a_new_level_at_the_end_of_history_is_followed(factor):
    hist = daily_history(per_day=lambda d: 240 * (factor if d >= 84 - 6 else 1.0))
    starts = Horizon(start=date(2026, 1, 5) + timedelta(days=84), days=7, interval_minutes=60,
                     timezone=TZ).interval_starts()
    fc = DailyProfile().fit(hist).predict(starts)
    assert fc["volume"].sum() == pytest.approx(7 * 240 * factor, rel=0.1, abs=1.0)


def test_a_single_odd_day_is_still_an_outlier():
    hist = daily_history(per_day=lambda d: 40 if d == 80 else 240)
    model = DailyProfile().fit(hist)
    assert model.state["q"].level_shift is None and date(2026, 1, 5) + timedelta(days=80) in model.state["q"].outliers


def test_a_queue_that_starts_late_is_not_dragged_by_zeros_before_it():
    hist = daily_history(per_day=lambda d: 0 if d < 42 else 240)
    starts = Horizon(start=date(2026, 1, 5) + timedelta(days=84), days=7, interval_minutes=60,
                     timezone=TZ).interval_starts()
    fc = DailyProfile().fit(hist).predict(starts)
    assert fc["volume"].sum() == pytest.approx(7 * 240, rel=0.05)


def test_band_always_contains_the_forecast():
    growing = daily_history(days=70, per_day=lambda d: 100 + 4 * d)
    res = forecast(growing, days=7, timezone=TZ, interval_minutes=60, model="weekly_profile", level=0.8)
    fc = res.forecast
    assert (fc["volume_lower"] <= fc["volume"]).all() and (fc["volume"] <= fc["volume_upper"]).all()


def test_short_history_band_follows_the_level():
    short = daily_history(days=10)
    bands = {lvl: forecast(short, 2, TZ, 60, model="weekly_profile", level=lvl).forecast for lvl in (0.5, 0.99)}
    assert (bands[0.5]["volume_upper"] <= bands[0.99]["volume_upper"]).all()
    assert (bands[0.5]["volume_upper"] < bands[0.99]["volume_upper"]).any()


def _write(tmp_path, text, name="h.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_half_hour_dst_zone_with_hourly_intervals_is_refused():
    with pytest.raises(InputError, match="Lord_Howe"):
        Horizon(start=date(2024, 4, 6), days=3, interval_minutes=60, timezone="Australia/Lord_Howe").interval_starts()
    assert len(Horizon(start=date(2024, 4, 6), days=3, interval_minutes=30,
                       timezone="Australia/Lord_Howe").interval_starts()) == 3 * 48 + 1


def test_infinite_volume_is_a_bad_row(tmp_path):
    path = _write(tmp_path, "interval_start,volume\n2026-01-05T08:00:00+01:00,4\n2026-01-05T09:00:00+01:00,inf\n")
    with pytest.raises(InputError) as exc:
        read_history(path, TZ)
    assert exc.value.line == 3 and exc.value.field == "volume"


def test_format_with_offset_directive(tmp_path):
    path = _write(tmp_path, "created_at\n2026-01-05T08:10:00+0100\n2026-03-30T08:10:00+0200\n")
    rec, _ = read_history(path, TZ, timestamp_format="%Y-%m-%dT%H:%M:%S%z")
    assert rec["ts"].dt.tz_convert(TZ).dt.hour.tolist() == [8, 8]


def test_naive_times_in_the_repeated_autumn_hour_are_kept(tmp_path):
    rows = ["2026-10-25 01:50:00", "2026-10-25 02:10:00", "2026-10-25 02:40:00", "2026-10-25 02:10:00",
            "2026-10-25 02:50:00", "2026-10-25 03:10:00"]  # time-ordered: the second 02:10 is after the shift
    rec, report = read_history(_write(tmp_path, "created_at\n" + "\n".join(rows) + "\n"), TZ)
    assert report.rows_kept == 6
    agg = aggregate(rec, 60, TZ)
    assert agg["volume"].sum() == 6
    assert agg[agg["volume"] > 0]["volume"].tolist() == [1, 2, 2, 1]


def test_coarser_interval_report_than_requested_is_an_error(tmp_path):
    rows = [f"2026-01-05T{h:02d}:00:00+01:00,{h}" for h in range(8, 12)]
    path = _write(tmp_path, "interval_start,volume\n" + "\n".join(rows) + "\n")
    with pytest.raises(InputError, match="60-minute rows"):
        load_intervals(path, HistoryOptions(timezone=TZ, interval_minutes=15))


def test_empty_queue_or_time_part_is_a_bad_row(tmp_path):
    path = _write(tmp_path, "created_at,queue\n2026-01-05T08:00:00+01:00,a\n2026-01-05T08:05:00+01:00,\n")
    with pytest.raises(InputError, match="queue is empty"):
        read_history(path, TZ)
    path = _write(tmp_path, "d,t\n2026-01-05,08:00:00\n2026-01-05,\n", "dt.csv")
    from forecasts.ingest import ColumnMap

    with pytest.raises(InputError) as exc:
        read_history(path, TZ, ColumnMap(timestamp="d+t"))
    assert exc.value.line == 3


@pytest.mark.parametrize("kwargs,field", [({"folds": 0}, "folds"), ({"days": 400}, "days")])
def test_bad_forecast_settings(kwargs, field):
    args = {"days": 7, "folds": 4, **kwargs}
    with pytest.raises(InputError) as exc:
        forecast(daily_history(days=28), args["days"], TZ, 60, folds=args["folds"])
    assert exc.value.field == field
