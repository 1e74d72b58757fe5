"""`wfm kpi`: achieved KPIs against hand-computed cases, properties, and real per-call data."""

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from forecasts.ingest import ColumnMap
from forecasts.service import HistoryOptions
from wfm.cli import app
from wfm.errors import InputError
from wfm.kpi import KpiColumns, KpiOptions, compute_kpis

TZ = "Europe/Berlin"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
BANK = SHARED / "anonymous_bank_1999_january.tsv"
runner = CliRunner()

# Two queues, 09:00-10:00 and 10:00-11:00 on Monday 2 March 2026 (Berlin, +01:00).
CALLS = """created_at,queue,handle_seconds,wait_seconds,abandoned
2026-03-02T09:01:00+01:00,billing,100,5,false
2026-03-02T09:10:00+01:00,billing,200,25,false
2026-03-02T09:20:00+01:00,billing,0,12,true
2026-03-02T09:30:00+01:00,billing,0,50,true
2026-03-02T09:40:00+01:00,tech,300,20,false
2026-03-02T10:05:00+01:00,tech,400,0,false
"""


def write(tmp_path, text, name="history.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def kpis(path, by="interval", tz=TZ, **options):
    return compute_kpis(path, HistoryOptions(timezone=tz, interval_minutes=60), KpiOptions(by=by, **options))


def row(table, queue, start=None):
    rows = table[table["queue"] == queue]
    if start is not None:
        rows = rows[rows["period_start"] == pd.Timestamp(start)]
    assert len(rows) == 1
    return rows.iloc[0]


def test_hand_computed_calls_per_interval(tmp_path):
    table = kpis(write(tmp_path, CALLS)).table
    billing = row(table, "billing", "2026-03-02T09:00+01:00")
    # 4 offered; 2 abandoned; answered waits 5 and 25: one within 20 s.
    assert (billing["offered"], billing["answered"], billing["abandoned"]) == (4, 2, 2)
    assert billing["answered_within_target"] == 1
    assert billing["service_level"] == pytest.approx(1 / 4)
    assert billing["asa_seconds"] == pytest.approx((5 + 25) / 2)
    assert billing["abandon_rate"] == pytest.approx(2 / 4)
    assert billing["aht_seconds"] == pytest.approx((100 + 200) / 2)
    every = row(table, "all", "2026-03-02T09:00+01:00")
    # billing's 4 and tech's one call at 09:40 (wait 20: within, the threshold is inclusive)
    assert (every["offered"], every["answered_within_target"]) == (5, 2)
    assert every["service_level"] == pytest.approx(2 / 5)
    assert every["asa_seconds"] == pytest.approx((5 + 25 + 20) / 3)
    assert every["aht_seconds"] == pytest.approx((100 + 200 + 300) / 3)
    ten = row(table, "all", "2026-03-02T10:00+01:00")
    assert (ten["offered"], ten["service_level"], ten["asa_seconds"]) == (1, 1.0, 0.0)
    # only periods with contacts: billing has none at 10:00
    assert sorted(zip(table["queue"], table["period_start"].dt.hour)) == [
        ("all", 9), ("all", 10), ("billing", 9), ("tech", 9), ("tech", 10)]


def test_hand_computed_short_abandons_leave_the_denominator(tmp_path):
    # billing's abandons waited 12 and 50 s: with 15 s, the 12 s one leaves the SL denominator only.
    table = kpis(write(tmp_path, CALLS), by="day", exclude_short_abandons=15).table
    billing = row(table, "billing")
    assert billing["service_level"] == pytest.approx(1 / 3)
    assert billing["abandon_rate"] == pytest.approx(2 / 4)
    assert billing["offered"] == 4


def test_hand_computed_answer_threshold(tmp_path):
    table = kpis(write(tmp_path, CALLS), by="day", answer_seconds=30).table
    # waits of answered calls: 5, 25 (billing), 20, 0 (tech): all within 30 s; 6 offered
    assert row(table, "all")["service_level"] == pytest.approx(4 / 6)
    assert row(table, "tech")["service_level"] == pytest.approx(1.0)


TICKETS = """created_at,queue,first_response_at,resolved_at,csat
2026-03-02T09:00:00+01:00,mail,2026-03-02T09:01:00+01:00,2026-03-02T10:00:00+01:00,5
2026-03-02T09:00:00+01:00,mail,2026-03-02T09:02:00+01:00,2026-03-02T11:00:00+01:00,
2026-03-02T09:00:00+01:00,mail,2026-03-02T09:03:00+01:00,,2
2026-03-02T09:00:00+01:00,mail,2026-03-02T09:10:00+01:00,2026-03-02T15:00:00+01:00,4
2026-03-02T09:00:00+01:00,mail,,,
"""


def test_hand_computed_ticket_percentiles(tmp_path):
    result = kpis(write(tmp_path, TICKETS), by="day")
    mail = row(result.table, "mail")
    # first responses 60, 120, 180, 600 s: p50 between 120 and 180; p90 at 2.7 -> 180 + 0.7 * 420
    assert mail["first_response_p50_seconds"] == pytest.approx(150)
    assert mail["first_response_p90_seconds"] == pytest.approx(474)
    # resolutions 3600, 7200, 21600 s: median 7200; 3 of 5 resolved
    assert mail["resolution_p50_seconds"] == pytest.approx(7200)
    assert mail["resolved_rate"] == pytest.approx(3 / 5)
    assert mail["csat_mean"] == pytest.approx((5 + 2 + 4) / 3)
    assert mail["csat_responses"] == 3
    # no abandonment, wait or handle time in this file: those KPIs are left out, each with a note
    assert "service_level" not in result.table and "abandon_rate" not in result.table
    assert any("'abandoned'" in n for n in result.notes) and any("'wait_seconds'" in n for n in result.notes)
    assert sorted(result.table["queue"]) == ["all", "mail"]


def test_missing_columns_leave_kpis_out_with_notes(tmp_path):
    text = "created_at,queue,abandoned\n2026-03-02T09:00:00+01:00,a,false\n2026-03-02T09:05:00+01:00,a,true\n"
    result = kpis(write(tmp_path, text), by="day")
    assert list(result.table.columns) == ["period_start", "queue", "offered", "answered", "abandoned",
                                          "abandon_rate", "aht_seconds"]
    assert row(result.table, "a")["abandon_rate"] == pytest.approx(0.5)
    assert any("wait_seconds" in n and "service_level" in n for n in result.notes)
    assert any("csat" in n for n in result.notes)


def test_abandoned_if_a_column_value(tmp_path):
    text = ("created_at,outcome,q_time\n2026-03-02T09:00:00+01:00,AGENT,10\n"
            "2026-03-02T09:01:00+01:00,HANG,30\n2026-03-02T09:02:00+01:00,AGENT,40\n")
    table = kpis(write(tmp_path, text), by="day", abandoned_if={"outcome": ["HANG"]},
                 columns=KpiColumns(wait_seconds="q_time")).table
    only = row(table, "all")  # no queue column: one series, named `all`, not doubled
    assert (only["offered"], only["abandoned"], only["answered_within_target"]) == (3, 1, 1)
    assert only["asa_seconds"] == pytest.approx(25)


@pytest.mark.parametrize("column,value,reason", [
    ("wait_seconds", "soon", "wait must be a number"),
    ("wait_seconds", "-3", "wait must be a number"),
    ("abandoned", "maybe", "abandoned must be true or false"),
])
def test_bad_row_names_line_and_column(tmp_path, column, value, reason):
    frame = pd.read_csv(write(tmp_path, CALLS), dtype=str)
    frame.loc[2, column] = value  # data row 2 is line 4 (the header is line 1)
    path = tmp_path / "bad.csv"
    frame.to_csv(path, index=False)
    with pytest.raises(InputError, match=reason) as exc:
        kpis(path)
    assert (exc.value.line, exc.value.field, exc.value.value) == (4, column, value)
    dropped = compute_kpis(path, HistoryOptions(timezone=TZ, on_bad_row="drop"), KpiOptions(by="day"))
    assert row(dropped.table, "all")["offered"] == 5
    assert dropped.report.examples and list(dropped.report.examples.values())[0] == [4]


def test_response_before_creation_is_a_bad_row(tmp_path):
    text = TICKETS.replace("2026-03-02T09:03:00+01:00", "2026-03-02T08:03:00+01:00")
    with pytest.raises(InputError, match="earlier than") as exc:
        kpis(write(tmp_path, text))
    assert (exc.value.line, exc.value.field) == (4, "first_response_at")


def test_days_and_weeks_are_local_across_dst(tmp_path):
    # Sunday 29 March 2026 is a 23-hour day in Berlin; Monday 30 March starts a new week.
    text = ("created_at,wait_seconds,abandoned\n2026-03-28T23:30:00+01:00,1,false\n"
            "2026-03-29T00:30:00+01:00,1,false\n2026-03-29T23:30:00+02:00,1,false\n"
            "2026-03-29T22:30:00Z,1,false\n2026-03-30T00:10:00+02:00,1,false\n")
    days = kpis(write(tmp_path, text), by="day").table
    assert [str(t) for t in days["period_start"]] == [
        "2026-03-28 00:00:00+01:00", "2026-03-29 00:00:00+01:00", "2026-03-30 00:00:00+02:00"]
    assert list(days["offered"]) == [1, 2, 2]  # 22:30Z on the 29th is 00:30 on the 30th in Berlin
    weeks = kpis(write(tmp_path, text), by="week").table
    assert [str(t) for t in weeks["period_start"]] == ["2026-03-23 00:00:00+01:00", "2026-03-30 00:00:00+02:00"]
    assert list(weeks["offered"]) == [3, 2]


def test_interval_report_gives_offered_and_aht_only(tmp_path):
    text = "interval_start,volume,aht_seconds\n2026-03-02T09:00:00+01:00,10,200\n2026-03-02T10:00:00+01:00,30,100\n"
    result = kpis(write(tmp_path, text), by="day")
    assert list(result.table.columns) == ["period_start", "queue", "offered", "aht_seconds"]
    assert row(result.table, "all")["aht_seconds"] == pytest.approx((10 * 200 + 30 * 100) / 40)
    assert any("interval report" in n for n in result.notes)


def test_bad_options(tmp_path):
    path = write(tmp_path, CALLS)
    for options, field in ((dict(by="month"), "by"), (dict(answer_seconds=-1), "answer_seconds"),
                           (dict(exclude_short_abandons=0), "exclude_short_abandons"),
                           (dict(abandoned_if={"nope": ["x"]}), "abandoned_if")):
        with pytest.raises(InputError) as exc:
            kpis(path, **{"by": "day", **options})
        assert exc.value.field == field


contact = st.fixed_dictionaries({
    "minute": st.integers(0, 3 * 24 * 60 - 1), "queue": st.sampled_from(["a", "b", "c"]),
    "wait": st.integers(0, 120), "abandoned": st.booleans(), "handle": st.integers(0, 900)})


@given(st.lists(contact, min_size=1, max_size=60), st.sampled_from(["interval", "day", "week"]),
       st.integers(0, 60), st.one_of(st.none(), st.integers(1, 30)))
def test_properties(tmp_path_factory, contacts, by, answer_seconds, short):
    start = pd.Timestamp("2026-03-27", tz=TZ)  # across the spring-forward night
    frame = pd.DataFrame(contacts)
    frame["created_at"] = [(start + pd.Timedelta(minutes=m)).isoformat() for m in frame["minute"]]
    frame = frame.rename(columns={"wait": "wait_seconds", "handle": "handle_seconds"}).drop(columns="minute")
    path = tmp_path_factory.mktemp("kpi") / "h.csv"
    frame.to_csv(path, index=False)
    table = kpis(path, by=by, answer_seconds=answer_seconds, exclude_short_abandons=short).table
    assert (table["offered"] == table["answered"] + table["abandoned"]).all()
    assert ((table["answered_within_target"] >= 0) & (table["answered_within_target"] <= table["answered"])).all()
    assert table["abandon_rate"].between(0, 1).all()
    # SL in [0, 1]; undefined only where every contact was a short abandon (nothing left to measure)
    measured = table["service_level"].notna()
    assert table.loc[measured, "service_level"].between(0, 1).all()
    assert short is not None or measured.all()
    every = table[table["queue"] == "all"].set_index("period_start")
    parts = table[table["queue"] != "all"].groupby("period_start")
    for col in ("offered", "answered", "abandoned", "answered_within_target"):
        pd.testing.assert_series_equal(parts[col].sum(), every[col], check_names=False)
    assert every["offered"].sum() == len(frame)
    # the overall SL is the contact-weighted mix of the queues' (no short-abandon exclusion)
    if short is None:
        mixed = (parts.apply(lambda g: (g["service_level"] * g["offered"]).sum()) / every["offered"])
        np.testing.assert_allclose(mixed.to_numpy(), every["service_level"].to_numpy())


def test_cli(tmp_path):
    out = tmp_path / "kpi.csv"
    res = runner.invoke(app, ["kpi", str(write(tmp_path, TICKETS)), "--timezone", TZ, "--by", "day",
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert table.loc[table["queue"] == "mail", "csat_responses"].item() == 3
    assert table["period_start"].tolist() == ["2026-03-02T00:00:00+01:00"] * 2
    assert "note: no 'abandoned' column" in res.stderr
    bad = runner.invoke(app, ["kpi", str(write(tmp_path, CALLS.replace(",25,", ",x,"))), "--timezone", TZ])
    assert bad.exit_code == 2 and "line 3, wait_seconds='x'" in bad.stderr
    help_text = " ".join(runner.invoke(app, ["kpi", "--help"], env={"COLUMNS": "200"}).stdout.split())
    for definition in ("abandoned contacts count against it", "mean wait of answered contacts",
                       "abandon_rate = abandoned / offered"):
        assert definition in help_text


@pytest.mark.skipif(not BANK.exists(), reason="../shared/data not present (a user's clone): the real-data KPI "
                                              "check needs anonymous_bank_1999_january.tsv")
def test_real_calls_match_plain_pandas():
    """Per day, January 1999: offered, SL within 20 s, ASA, abandon rate and AHT computed here
    from the raw file with plain pandas, against `wfm kpi` through column mapping."""
    raw = pd.read_csv(BANK, sep="\t", dtype=str)
    raw = raw[raw["outcome"].str.strip() != "PHANTOM"]
    q_time, ser_time = pd.to_numeric(raw["q_time"]), pd.to_numeric(raw["ser_time"])
    served = raw["outcome"].str.strip() == "AGENT"
    by_day = pd.DataFrame({
        "offered": raw.groupby("date").size(),
        "within": (served & (q_time <= 20)).groupby(raw["date"]).sum(),
        "asa": q_time[served].groupby(raw["date"][served]).mean(),
        "abandoned": (~served).groupby(raw["date"]).sum(),
        "aht": ser_time[served & (ser_time > 0)].groupby(raw["date"][served & (ser_time > 0)]).mean(),
    })
    expected = pd.DataFrame({"offered": by_day["offered"], "sl": by_day["within"] / by_day["offered"],
                             "asa": by_day["asa"], "abandon_rate": by_day["abandoned"] / by_day["offered"],
                             "aht": by_day["aht"]})
    expected.index = [pd.Timestamp("19" + d).date() for d in expected.index]

    columns = ColumnMap(timestamp="date+vru_exit", queue="type", handle_seconds="ser_time")
    history = HistoryOptions(timezone="Asia/Jerusalem", columns=columns, timestamp_format="%y%m%d %H:%M:%S",
                             drop_if={"outcome": ["PHANTOM"]})
    options = KpiOptions(by="day", answer_seconds=20, abandoned_if={"outcome": ["HANG"]},
                         columns=KpiColumns(wait_seconds="q_time"))
    table = compute_kpis(BANK, history, options).table
    got = table[table["queue"] == "all"].set_index(table.loc[table["queue"] == "all", "period_start"].dt.date)
    assert list(got.index) == list(expected.index) and len(got) == 29  # 11-12 January are missing
    for mine, theirs in (("offered", "offered"), ("service_level", "sl"), ("asa_seconds", "asa"),
                         ("abandon_rate", "abandon_rate"), ("aht_seconds", "aht")):
        np.testing.assert_allclose(got[mine].to_numpy(float), expected[theirs].to_numpy(float), rtol=1e-3,
                                   err_msg=mine)


def test_last_days_keep_the_history_s_last_local_days(tmp_path):
    # the last day is Monday 30 March (Berlin); the last 2 days are 29 and 30 March, whatever the UTC date
    text = ("created_at,wait_seconds,abandoned\n2026-03-28T12:00:00+01:00,1,false\n"
            "2026-03-28T23:30:00Z,1,false\n2026-03-29T12:00:00+02:00,1,false\n2026-03-30T09:00:00+02:00,1,false\n")
    table = kpis(write(tmp_path, text), by="day", last_days=2).table
    assert [str(t.date()) for t in table["period_start"]] == ["2026-03-29", "2026-03-30"]
    assert list(table["offered"]) == [2, 1]  # 23:30Z on the 28th is 00:30 on the 29th in Berlin
    with pytest.raises(InputError):
        kpis(write(tmp_path, text), last_days=0)


def test_plan_history_kpis_cover_the_sample_history_s_last_week():
    from wfm.kpi import plan_history_kpis
    from wfm.plan import load_config

    sample = Path(__file__).resolve().parents[1] / "sample_data"
    result = plan_history_kpis(load_config(sample / "plan.yaml"))
    days = sorted({str(t.date()) for t in result.table["period_start"]})
    assert days == [f"2026-05-{d}" for d in range(18, 25)]  # the history ends on Sunday 24 May 2026
    assert sorted(result.table["queue"].unique()) == ["all", "billing", "tech"]
    assert any("last 7 days" in n for n in result.notes)
