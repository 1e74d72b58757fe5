"""The manager-facing outputs on small hand-made inputs: roster.xlsx, the tables behind the
report, the report's sections (what-ifs: tests/test_scenarios.py)."""

from __future__ import annotations

import math
import re
from datetime import date, datetime, timedelta, timezone

import numpy as np
import openpyxl
import pandas as pd
import pytest
from hypothesis import given, strategies as st

from wfm.domain import Horizon
from wfm.outputs.report import SECTIONS, ReportInput, render_report
from wfm.outputs.tables import daily_kpis, timeline_frame, weighted_sl
from wfm.outputs.workbook import weeks_of, write_roster_workbook
from wfm.roster.domain import Break, Roster, Shift

TZ = "Europe/Berlin"


def _coverage(start: date, days: int, minutes: int = 60) -> pd.DataFrame:
    starts = Horizon(start=start, days=days, interval_minutes=minutes, timezone=TZ).interval_starts()
    return pd.DataFrame({"queue": "q", "interval_start": starts, "required": 1, "scheduled": 1, "on_queue": 1,
                         "under": 0, "over": 0, "service_level": 0.9, "volume": 10.0})


def _shift_row(agent, day, start, end, template="D", breaks="lunch 12:00-12:30", paid=7.5):
    return {"agent": agent, "day": day, "template": template, "start": start, "end": end, "paid_hours": paid,
            "breaks": breaks, "queues": "q"}


# --- roster.xlsx --------------------------------------------------------------------------

def test_workbook_has_a_sheet_per_week_agents_as_rows_and_shift_times_in_cells(tmp_path):
    # Thu 22 Oct to Mon 26 Oct 2026: two ISO weeks; Sunday 25 Oct has 25 hours in Berlin.
    shifts = pd.DataFrame([
        _shift_row("ann", "2026-10-22", "2026-10-22T08:00:00+02:00", "2026-10-22T16:30:00+02:00"),
        # Saturday night over the DST change: 22:00 CEST to 06:00 CET is nine hours of work.
        _shift_row("bob", "2026-10-24", "2026-10-24T20:00:00Z", "2026-10-25T05:00:00Z", template="N",
                   breaks="break 02:00-02:30", paid=8.5),
        _shift_row("ann", "2026-10-26", "2026-10-26T07:00:00Z", "2026-10-26T15:00:00Z"),
    ])
    path = write_roster_workbook(shifts, _coverage(date(2026, 10, 22), 5), TZ, tmp_path / "r.xlsx",
                                 agents=["ann", "bob", "cy"])
    book = openpyxl.load_workbook(path)
    assert book.sheetnames == ["Week 2026-10-22", "Week 2026-10-26", "Coverage", "Shifts"]
    week = [list(r) for r in book["Week 2026-10-22"].iter_rows(values_only=True)]
    assert week[0] == ["agent", "Thu 22 Oct", "Fri 23 Oct", "Sat 24 Oct", "Sun 25 Oct", "paid hours"]
    assert [r[0] for r in week[1:]] == ["ann", "bob", "cy"]          # an agent without shifts is listed too
    assert week[1][1:] == ["08:00-16:30", None, None, None, 7.5]
    assert week[2][1:] == [None, None, "22:00-06:00 (+1)", None, 8.5]
    assert week[3][1:] == [None, None, None, None, 0]
    note = book["Week 2026-10-22"]["D3"].comment.text
    assert "break 02:00-02:30" in note and "N shift" in note
    assert [list(r) for r in book["Week 2026-10-26"].iter_rows(values_only=True)][1][1] == "08:00-16:00"
    cov = list(book["Coverage"].iter_rows(values_only=True))
    assert len(cov) == 1 + 24 * 5 + 1                                # the 25-hour Sunday keeps its extra hour
    sunday = [r for r in cov[1:] if r[0].date() == date(2026, 10, 25)]
    assert [r[0].hour for r in sunday].count(2) == 2 and {r[1] for r in sunday} == {"+0200", "+0100"}
    assert len(list(book["Shifts"].iter_rows())) == 4


@given(st.dates(min_value=date(2000, 1, 1), max_value=date(2100, 1, 1)), st.integers(1, 60))
def test_weeks_cover_every_day_once_within_monday_to_sunday(first, days):
    all_days = [first + timedelta(days=k) for k in range(days)]
    weeks = weeks_of(all_days)
    assert [d for w in weeks for d in w] == all_days
    for w in weeks:
        monday = w[0] - timedelta(days=w[0].weekday())
        assert all(0 <= (d - monday).days < 7 for d in w)
    assert all(len(w) == 7 for w in weeks[1:-1])


# --- tables -------------------------------------------------------------------------------

def test_timeline_is_the_sites_wall_clock():
    utc = timezone.utc
    shift = Shift(agent="a", day=date(2026, 3, 28), template="D", start=datetime(2026, 3, 28, 22, tzinfo=utc),
                  end=datetime(2026, 3, 29, 6, tzinfo=utc),
                  breaks=[Break(name="lunch", start=datetime(2026, 3, 29, 1, tzinfo=utc),
                                end=datetime(2026, 3, 29, 1, 30, tzinfo=utc))])
    frame = timeline_frame(Roster(shifts=[shift]), TZ)
    assert frame["kind"].tolist() == ["shift", "lunch"]
    # 22:00 UTC is 23:00 CET; 06:00 UTC after the spring change is 08:00 CEST; 01:00 UTC is 03:00 CEST.
    assert frame["start"].tolist() == [pd.Timestamp("2026-03-28 23:00"), pd.Timestamp("2026-03-29 03:00")]
    assert frame["end"].tolist() == [pd.Timestamp("2026-03-29 08:00"), pd.Timestamp("2026-03-29 03:30")]


def test_daily_kpis_add_up_per_day_and_for_the_week():
    cov = _coverage(date(2026, 6, 1), 2)
    cov.loc[cov.index[:24], ["under", "volume", "service_level"]] = [2, 30.0, 0.5]   # Monday
    cov.loc[cov.index[24:], ["over", "volume", "service_level"]] = [1, 10.0, 1.0]    # Tuesday
    shifts = pd.DataFrame([_shift_row("a", "2026-06-01", "x", "y", paid=8),
                           _shift_row("b", "2026-06-02", "x", "y", paid=4),
                           _shift_row("c", "2026-06-02", "x", "y", paid=4)])
    k = daily_kpis(cov, shifts, 60, TZ).set_index("day")
    assert k.loc["Mon 2026-06-01", "under_hours"] == 48 and k.loc["Mon 2026-06-01", "contacts"] == 720
    assert k.loc["Tue 2026-06-02", "over_hours"] == 24 and k.loc["Tue 2026-06-02", "paid_hours"] == 8
    assert k.loc["week", "shifts"] == 3 and k.loc["week", "required_hours"] == 48
    # contact-weighted: 720 contacts at 50%, 240 at 100%
    assert k.loc["week", "service_level"] == pytest.approx((720 * 0.5 + 240 * 1.0) / 960)


def test_weighted_sl_ignores_intervals_without_contacts():
    assert weighted_sl([0.5, np.nan, 1.0, 0.2], [1, 0, 3, 0]) == pytest.approx(0.875)
    assert math.isnan(weighted_sl([np.nan], [0]))


# --- report -------------------------------------------------------------------------------

def test_report_without_a_roster_still_has_every_section_and_says_why():
    starts = Horizon(start=date(2026, 6, 1), days=7, interval_minutes=60, timezone=TZ).interval_starts()
    fc = pd.DataFrame({"interval_start": starts, "queue": "q", "volume": 5.0, "volume_lower": 3.0,
                       "volume_upper": 7.0, "aht_seconds": 200.0})
    hist = fc.assign(interval_start=fc["interval_start"] - pd.Timedelta(days=7))[["interval_start", "queue", "volume"]]
    req = fc.assign(agents=2, scheduled_agents=3)
    scores = pd.DataFrame([{"model": "daily_profile", "queue": "q", "folds": 4, "wape": 0.2, "mase": 0.8,
                            "bias": 0.0, "coverage": 0.9}])
    page = render_report(ReportInput(first_day=date(2026, 6, 1), timezone=TZ, interval_minutes=60, history=hist,
                                     forecast=fc, scores=scores, chosen={"q": "daily_profile"}, requirements=req,
                                     solve={"status": "INFEASIBLE", "reason": "contract min hours (a)"}))
    for key, title in SECTIONS:
        assert f'<section id="{key}"><h2>{title}</h2>' in page
    assert page.count("No roster: contract min hours (a)") == 1 and "No scenarios were run" in page
    assert "20.0%" in page                        # the backtest WAPE in the accuracy table
    assert re.search(r"<script[^>]*\bsrc\s*=", page, re.I) is None   # plotly.js inlined, nothing fetched
    assert "Plotly.newPlot" in page


def test_accuracy_table_of_a_history_too_short_for_any_backtest_says_nothing_rather_than_failing():
    """report.html answered 500 for a plan whose history allowed no backtest fold (no scores)."""
    from wfm.outputs.tables import accuracy_table

    table = accuracy_table(pd.DataFrame(), {"billing": "seasonal_naive"})
    assert list(table["queue"]) == ["billing"] and table["wape"].isna().all()
    assert table["band_coverage"].isna().all()
