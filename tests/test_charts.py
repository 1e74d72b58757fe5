"""The roster's Gantt chart carries a time axis a printout can read: ticks every six hours of
the site's wall clock, day names at midnight, covering every shift."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from wfm.outputs.charts import gantt_figure, hour_ticks
from wfm.outputs.tables import timeline_frame
from wfm.roster.domain import Break, Roster, Shift

TZ = "Europe/Berlin"
UTC = timezone.utc


def _shift(agent, start, hours, day):
    return Shift(agent=agent, day=day, template="D", start=start, end=start + timedelta(hours=hours),
                 breaks=[Break(name="lunch", start=start + timedelta(hours=3), end=start + timedelta(hours=3.5))])


def test_gantt_has_hour_ticks_across_the_dst_night():
    # Sat 28 Mar 2026 23:00 CET to Sun 08:00 CEST (a 23-hour day), and a Sunday day shift.
    roster = Roster(shifts=[_shift("a", datetime(2026, 3, 28, 22, tzinfo=UTC), 8, date(2026, 3, 28)),
                            _shift("b", datetime(2026, 3, 29, 7, tzinfo=UTC), 8, date(2026, 3, 29))])
    fig = gantt_figure(timeline_frame(roster, TZ), ["a", "b"])
    axis = fig.layout.xaxis
    ticks = [pd.Timestamp(t) for t in axis.tickvals]
    assert ticks[0] == pd.Timestamp("2026-03-28 00:00") and ticks[-1] == pd.Timestamp("2026-03-30 00:00")
    assert list(axis.ticktext) == ["Sat 28 Mar", "06:00", "12:00", "18:00", "Sun 29 Mar", "06:00", "12:00",
                                   "18:00", "Mon 30 Mar"]
    assert [pd.Timestamp(v) for v in axis.range] == [ticks[0], ticks[-1]]
    assert "site time" in axis.title.text


@settings(max_examples=60, deadline=None)
@given(st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
       st.integers(min_value=0, max_value=14 * 24 * 60))
def test_hour_ticks_cover_the_span_every_six_hours(first, minutes):
    first = pd.Timestamp(first)
    last = first + pd.Timedelta(minutes=minutes)
    ticks, labels = hour_ticks(first, last)
    assert ticks[0] <= first and ticks[-1] >= last
    assert all(b - a == pd.Timedelta(hours=6) for a, b in zip(ticks, ticks[1:]))
    assert ticks[0].hour == 0 and ticks[-1].hour == 0
    for t, label in zip(ticks, labels):
        assert label == (t.strftime("%a %d %b") if t.hour == 0 else f"{t.hour:02d}:00")
