"""Ingest: column mapping, errors that name line and column, counted drops, DST aggregation."""

from datetime import date

import numpy as np
import pandas as pd
import pytest

from forecasts.ingest import ColumnMap, aggregate, read_history
from wfm.errors import InputError

TZ = "Europe/Berlin"


def write(tmp_path, text, name="h.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_fall_back_day_keeps_both_copies_of_the_repeated_hour(tmp_path):
    # 2026-10-25 in Berlin: 02:00-03:00 happens twice (+02:00, then +01:00).
    rows = ["created_at,handle_seconds",
            "2026-10-25T02:10:00+02:00,100", "2026-10-25T02:20:00+02:00,300",  # first 02:00-02:30
            "2026-10-25T02:10:00+01:00,200",                                     # second 02:00 hour
            "2026-10-25T23:50:00+01:00,50", "2026-10-24T23:59:59+02:00,10"]
    rec, report = read_history(write(tmp_path, "\n".join(rows)), TZ)
    agg = aggregate(rec, 30, TZ)
    assert report.rows_kept == 5 and agg["volume"].sum() == 5
    per_day = agg.groupby(agg["interval_start"].dt.date).size()
    assert per_day[date(2026, 10, 24)] == 48 and per_day[date(2026, 10, 25)] == 50  # 25 hours
    hits = agg[agg["volume"] > 0].set_index("interval_start")
    first = pd.Timestamp("2026-10-25T02:00:00+02:00")
    second = pd.Timestamp("2026-10-25T02:00:00+01:00")
    assert hits.loc[first, "volume"] == 2 and hits.loc[first, "aht_seconds"] == 200  # volume-weighted
    assert hits.loc[second, "volume"] == 1 and hits.loc[second, "aht_seconds"] == 200


def test_spring_forward_day_has_23_hours_and_naive_times_in_the_gap_move_to_the_next_valid_time(tmp_path):
    good = write(tmp_path, "created_at\n2026-03-29 01:59:00\n2026-03-29 03:00:00\n", "good.csv")
    agg = aggregate(read_history(good, TZ)[0], 60, TZ)
    assert len(agg) == 23 and agg["volume"].sum() == 2
    gap = write(tmp_path, "created_at\n2026-03-29 01:59:00\n2026-03-29 02:30:00\n", "gap.csv")
    rec, report = read_history(gap, TZ)
    agg = aggregate(rec, 60, TZ).set_index("interval_start")["volume"]
    assert agg[pd.Timestamp("2026-03-29T03:00:00+02:00")] == 1 and agg.sum() == 2
    assert "moved 1 rows" in report.summary() and "line 3" in report.summary()


def test_wall_clock_interval_report_with_rows_inside_the_gap(tmp_path):
    # Every day has 24 rows, as exports that print the wall clock do: 02:00 on 29 March does not exist.
    rows = ["interval_start,volume"]
    for day in ("2026-03-28", "2026-03-29"):
        rows += [f"{day}T{h:02d}:00:00,{0 if (day, h) == ('2026-03-29', 2) else 10 + h}" for h in range(24)]
    rec, report = read_history(write(tmp_path, "\n".join(rows)), TZ)
    agg = aggregate(rec, 60, TZ)
    assert agg["volume"].sum() == sum(10 + h for h in range(24)) * 2 - 12
    assert report.dropped == {"interval_start: inside the spring-forward gap with 0 contacts": 1}
    assert report.examples[next(iter(report.dropped))] == [24 + 2 + 2]
    # A gap row that holds contacts is not lost: it joins 03:00.
    rows[24 + 3] = "2026-03-29T02:00:00,7"
    rec, report = read_history(write(tmp_path, "\n".join(rows), "moved.csv"), TZ)
    agg = aggregate(rec, 60, TZ).set_index("interval_start")["volume"]
    assert agg[pd.Timestamp("2026-03-29T03:00:00+02:00")] == 13 + 7 and "moved 1 rows (7 contacts)" in report.summary()


def test_wall_clock_interval_report_repeated_autumn_hour_assigned_by_order(tmp_path):
    rows = ["interval_start,volume,queue"]
    for queue in ("a", "b"):  # queue by queue: the order that matters is within each queue
        rows += [f"2026-10-25T{h:02d}:00:00,{h + 1},{queue}" for h in (0, 1, 2, 2, 3)]
    rec, report = read_history(write(tmp_path, "\n".join(rows)), TZ)
    agg = aggregate(rec, 60, TZ)
    a = agg[agg["queue"] == "a"].set_index("interval_start")["volume"]
    assert a[pd.Timestamp("2026-10-25T02:00:00+02:00")] == 3 and a[pd.Timestamp("2026-10-25T02:00:00+01:00")] == 3
    assert "placed 4 rows of the repeated autumn hour by row order" in report.summary()


def test_nothing_lost_on_a_random_dst_month(tmp_path):
    rng = np.random.default_rng(5)
    utc = pd.Timestamp("2026-10-10", tz="UTC") + pd.to_timedelta(rng.uniform(0, 30 * 86400, 5000), unit="s")
    text = "created_at,queue\n" + "\n".join(f"{t.tz_convert(TZ).isoformat()},{'ab'[i % 2]}"
                                           for i, t in enumerate(utc))
    rec, _ = read_history(write(tmp_path, text), TZ)
    for minutes in (15, 30, 60):
        agg = aggregate(rec, minutes, TZ)
        assert agg["volume"].sum() == 5000
        assert agg.groupby("queue")["volume"].sum().to_dict() == {"a": 2500, "b": 2500}
        assert not agg.duplicated(["queue", "interval_start"]).any()


def test_column_mapping_combined_timestamp_and_drop_filter(tmp_path):
    text = ("day\tclock\ttype\tser\toutcome\n990105\t7:00:10\tPS\t120\tAGENT\n"
            "990105\t7:10:00\tPS\t0\tHANG\n990105\t7:20:00\tNW\t60\tPHANTOM\n")
    path = write(tmp_path, text, "calls.tsv")
    cols = ColumnMap(timestamp="day+clock", queue="type", handle_seconds="ser")
    rec, report = read_history(path, "Asia/Jerusalem", cols, timestamp_format="%y%m%d %H:%M:%S",
                               drop_if={"outcome": ["PHANTOM"]})
    assert report.rows_kept == 2 and report.dropped == {"outcome in ['PHANTOM']": 1}
    assert "line 4" in report.summary()
    agg = aggregate(rec, 60, "Asia/Jerusalem")
    row = agg[agg["volume"] > 0].iloc[0]
    # Both calls are offered volume; only the answered one has a handle time.
    assert row["volume"] == 2 and row["handled"] == 1 and row["aht_seconds"] == 120


def test_interval_report_with_z_labels_read_as_local_wall_time(tmp_path):
    text = "interval_start,calls\n2003-04-07T09:00:00Z,10\n2003-04-07T09:05:00Z,5\n2003-04-07T10:00:00Z,7\n"
    rec, report = read_history(write(tmp_path, text), "America/New_York", ignore_offset=True)
    agg = aggregate(rec, 60, "America/New_York")
    by_hour = agg.set_index(agg["interval_start"].dt.hour)["volume"]
    assert report.kind == "interval-report" and by_hour[9] == 15 and by_hour[10] == 7


@pytest.mark.parametrize("text,field,line,reason", [
    ("when,queue\n2026-01-05T08:00:00+01:00,a\n", "columns", None, "need a contact timestamp column 'created_at'"),
    ("created_at\n2026-01-05T08:00:00+01:00\nnot a time\n", "created_at", 3, "unparseable timestamp"),
    ("created_at,handle_seconds\n2026-01-05T08:00:00+01:00,-5\n", "handle_seconds", 2, ">= 0"),
    ("created_at,handle_seconds\n2026-01-05T08:00:00+01:00,90000\n", "handle_seconds", 2, "above the cap"),
    ("created_at,handle_seconds\n2026-01-05T08:00:00+01:00,abc\n", "handle_seconds", 2, "not a number"),
    ("interval_start,volume\n2026-01-05T08:00:00+01:00,-1\n", "volume", 2, ">= 0"),
    ("", "history", None, "empty"),
    ("created_at\n", "history", None, "no rows"),
])
def test_malformed_files_name_line_and_column(tmp_path, text, field, line, reason):
    with pytest.raises(InputError) as exc:
        read_history(write(tmp_path, text), TZ)
    assert exc.value.field == field and exc.value.line == line and reason in str(exc.value)


def test_drop_mode_counts_every_bad_row(tmp_path):
    text = ("created_at,handle_seconds\n2026-01-05T08:00:00+01:00,100\nbad,100\n"
            "2026-01-05T08:01:00+01:00,-3\n2026-01-05T08:02:00+01:00,99999\nworse,1\n")
    rec, report = read_history(write(tmp_path, text), TZ, on_bad_row="drop")
    assert report.rows_read == 5 and report.rows_kept == 1 and len(rec) == 1
    assert sum(report.dropped.values()) == 4
    assert "line 3, 6" in report.summary()


def test_parquet_input(tmp_path):
    frame = pd.DataFrame({"created_at": ["2026-01-05T08:00:00+01:00", "2026-01-05T08:40:00+01:00"],
                          "handle_seconds": [100, 300]})
    path = tmp_path / "h.parquet"
    frame.to_parquet(path)
    agg = aggregate(read_history(path, TZ)[0], 60, TZ)
    assert agg["volume"].sum() == 2 and agg.loc[agg["volume"] > 0, "aht_seconds"].iloc[0] == 200


def test_handle_if_keeps_volume_but_only_the_handle_times_of_matching_rows(tmp_path):
    rows = ["created_at,handle_seconds,outcome",
            "2026-01-05T08:10:00+01:00,200,AGENT", "2026-01-05T08:20:00+01:00,400,AGENT",
            "2026-01-05T08:30:00+01:00,35,HANG",  # an abandoned call with a service time: not handled
            "2026-01-05T08:40:00+01:00,0,HANG"]
    rec, report = read_history(write(tmp_path, "\n".join(rows)), TZ, handle_if={"outcome": ["AGENT"]})
    hit = aggregate(rec, 60, TZ).set_index("interval_start").loc[pd.Timestamp("2026-01-05T08:00:00+01:00")]
    assert hit["volume"] == 4 and hit["handled"] == 2 and hit["aht_seconds"] == 300
    plain = aggregate(read_history(write(tmp_path, "\n".join(rows), "p.csv"), TZ)[0], 60, TZ)
    assert plain.set_index("interval_start").loc[pd.Timestamp("2026-01-05T08:00:00+01:00"), "handled"] == 3
    with pytest.raises(InputError, match="no such column"):
        read_history(write(tmp_path, "\n".join(rows), "q.csv"), TZ, handle_if={"result": ["AGENT"]})
