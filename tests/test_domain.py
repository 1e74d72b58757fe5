"""Domain model: time zones, DST days and validation messages."""

from datetime import date, datetime, timedelta, timezone

import pytest
from pydantic import ValidationError

from wfm.domain import Horizon, IntervalSeries


@pytest.mark.parametrize("tz,spring,fall", [("Europe/Berlin", date(2026, 3, 29), date(2026, 10, 25)),
                                           ("America/New_York", date(2026, 3, 8), date(2026, 11, 1))])
@pytest.mark.parametrize("minutes", [15, 30, 60])
def test_dst_days_have_23_and_25_hours_of_intervals(tz, spring, fall, minutes):
    per_hour = 60 // minutes
    for day, hours in ((spring, 23), (fall, 25)):
        h = Horizon(start=day - timedelta(days=1), days=3, interval_minutes=minutes, timezone=tz)
        counts = h.intervals_per_day()
        assert counts[day] == hours * per_hour
        assert sum(counts.values()) == (48 + hours) * per_hour
        starts = h.interval_starts()
        assert starts.is_unique and starts.is_monotonic_increasing and str(starts.tz) == tz
        assert (starts[1:] - starts[:-1]).unique().tolist() == [starts[1] - starts[0]]


def test_week_crossing_midnight_starts_at_local_midnight():
    h = Horizon(start=date(2026, 10, 19), days=7, interval_minutes=60, timezone="Europe/Berlin")
    starts = h.interval_starts()
    assert starts[0].hour == 0 and starts[-1].hour == 23 and starts[-1].day == 25


def test_unknown_timezone_is_named():
    with pytest.raises(ValidationError, match="Mars/Olympus"):
        Horizon(start=date(2026, 1, 1), days=1, timezone="Mars/Olympus")


def test_interval_series_rejects_naive_timestamps_and_length_mismatch():
    aware = datetime(2026, 1, 5, 8, tzinfo=timezone.utc)
    with pytest.raises(ValidationError, match="row 1"):
        IntervalSeries(interval_minutes=30, interval_start=[aware, datetime(2026, 1, 5, 8, 30)],
                       volume=[1, 2], aht_seconds=[100, 100])
    with pytest.raises(ValidationError, match="volume"):
        IntervalSeries(interval_minutes=30, interval_start=[aware], volume=[1, 2], aht_seconds=[100])
    with pytest.raises(ValidationError):
        IntervalSeries(interval_minutes=20, interval_start=[aware], volume=[1], aht_seconds=[100])
