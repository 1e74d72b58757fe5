"""`wfm demo` end to end on sample_data/ (5-second roster): every output file, the printed
summary, the workbook's sheets and cells, the report's sections, the scenario table."""

from __future__ import annotations

import re
from pathlib import Path

import openpyxl
import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.outputs.report import SECTIONS

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"
FILES = ["forecast.csv", "backtest.csv", "requirements.csv", "staffing_summary.csv", "roster.csv", "coverage.csv",
         "roster.xlsx", "scenarios.csv", "report.html", "kpi.csv", "actual_week.csv", "review_days.csv",
         "review_intervals.csv"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    res = CliRunner().invoke(app, ["demo", "--out", str(out), "--data", str(SAMPLE), "--time-limit", "5",
                                   "--seed", "1"])
    return out, res


def test_demo_writes_every_file_and_says_where(demo):
    out, res = demo
    assert res.exit_code == 0, res.output
    for name in FILES:
        assert (out / name).stat().st_size > 0, name
        assert str(out / name) in res.stdout.replace("\n", ""), name


def test_demo_prints_the_managers_summary(demo):
    out, res = demo
    text = re.sub(r"\s+", " ", res.stdout)
    for phrase in ("forecast accuracy billing", "forecast accuracy tech", "WAPE", "on-queue hours needed / rostered",
                   "shrinkage", "30%", "paid hours to employ", "projected service level", "worst interval:",
                   "under-coverage", "agent-hours"):
        assert phrase in text, phrase
    cov = pd.read_csv(out / "coverage.csv")
    req = pd.read_csv(out / "requirements.csv")
    under = cov["under"].sum() * 0.5   # 30-minute intervals
    assert f"under-coverage: {under:.1f} h" in text
    # needed and rostered on one basis (on-queue agent-hours), recomputed from the files
    assert f"{req['agents'].sum() * 0.5:,.0f} / {cov['on_queue'].sum() * 0.5:,.0f}" in text
    assert "inf" not in text.lower().replace("information", "")
    assert "gap" not in text.split("1. Solver")[0]       # the optimality gap is a footnote only


def test_demo_tables_agree_with_each_other(demo):
    out, _ = demo
    req = pd.read_csv(out / "requirements.csv")
    assert {"billing", "tech"} == set(req["queue"]) and req["scheduled_agents"].max() > 0
    fc = pd.read_csv(out / "forecast.csv")
    assert len(fc) == len(req) and (fc["volume"].round(6) == req["volume"].round(6)).all()
    roster = pd.read_csv(out / "roster.csv")
    assert roster["agent"].nunique() > 10 and roster["breaks"].str.contains("lunch").any()
    assert not roster.duplicated(["agent", "day"]).any()      # one row per agent shift
    cov = pd.read_csv(out / "coverage.csv")
    assert set(cov["queue"]) == {"billing", "tech"} and cov["service_level"].notna().any()


def test_demo_workbook_has_the_week_with_each_shift_in_its_cell(demo):
    out, _ = demo
    book = openpyxl.load_workbook(out / "roster.xlsx")
    assert book.sheetnames == ["Week 2026-05-25", "Coverage", "Shifts"]
    rows = list(book["Week 2026-05-25"].iter_rows(values_only=True))
    header, body = rows[0], {r[0]: r for r in rows[1:]}
    assert header[0] == "agent" and header[1] == "Mon 25 May" and header[7] == "Sun 31 May"
    assert len(body) == 30                                      # every agent of roster_setup.json
    roster = pd.read_csv(out / "roster.csv")
    for r in roster.itertuples():
        column = 1 + (pd.Timestamp(r.day).date() - pd.Timestamp("2026-05-25").date()).days
        assert body[r.agent][column] == f"{r.start[11:16]}-{r.end[11:16]}"   # local times of the CSV
    paid = roster.groupby("agent")["paid_hours"].sum()
    assert all(body[a][8] == pytest.approx(paid.get(a, 0.0)) for a in body)
    coverage = list(book["Coverage"].iter_rows(values_only=True))
    assert len(coverage) - 1 == len(pd.read_csv(out / "coverage.csv"))


def test_demo_report_has_every_section_with_charts_and_needs_no_network(demo):
    out, _ = demo
    page = (out / "report.html").read_text()
    for key, title in SECTIONS:
        assert f'<section id="{key}"><h2>{title}</h2>' in page, key
    sections = {key: page.split(f'<section id="{key}">')[1].split("</section>")[0] for key, _ in SECTIONS}
    for key in ("forecast", "coverage", "roster", "explanation", "scenarios"):
        assert "Plotly.newPlot" in sections[key], key
    assert sections["coverage"].count("Plotly.newPlot") == 2                  # heat map and line chart
    assert '"type":"heatmap"' in sections["coverage"]
    assert "prediction band" in sections["forecast"] and '"name":"breaks"' in sections["roster"]
    assert "under-coverage" in sections["explanation"]
    for day in ("Mon 2026-05-25", "Sun 2026-05-31", "week"):
        assert f">{day}<" in sections["daily-kpis"]
    assert re.search(r"<script[^>]*\bsrc\s*=", page, re.I) is None


def test_demo_scenarios_compare_with_the_base(demo):
    out, _ = demo
    table = pd.read_csv(out / "scenarios.csv").set_index("scenario")
    # the sample set of sample_data/scenarios.yaml, through the scenario runner, against the demo's roster
    assert table.index[0] == "base" and (table["status"] == "ok").all()
    assert table.loc["monday +15%", "contacts"] > table.loc["base", "contacts"]
    assert table.loc["monday +15%", "service_level"] < table.loc["base", "service_level"]
    assert table.loc["shrinkage 35%, occupancy cap 85%", "required_fte"] > table.loc["base", "required_fte"]
    # the base's under-coverage is the roster's, as in coverage.csv
    cov = pd.read_csv(out / "coverage.csv")
    assert table.loc["base", "under_hours"] == pytest.approx(cov["under"].sum() * 0.5)


def test_demo_refuses_a_bad_time_limit_with_exit_2(tmp_path):
    res = CliRunner().invoke(app, ["demo", "--out", str(tmp_path), "--time-limit", "0"])
    assert res.exit_code == 2 and "--time-limit" in res.output


def test_demo_report_headline_is_the_consoles_and_the_gap_is_a_footnote(demo):
    out, res = demo
    page = (out / "report.html").read_text()
    summary = page.split('<section id="summary">', 1)[1].split("</section>", 1)[0]
    cards = summary.split('<p class="footnote">')[0]
    assert "on-queue hours needed / rostered" in cards and "worst interval:" in cards
    assert "gap" not in cards and "inf" not in cards.lower()
    assert "optimality gap" in summary.split('<p class="footnote">')[1]
    text = re.sub(r"\s+", " ", res.stdout)
    worst = re.search(r"worst interval: ([^<]*?)</div>", cards).group(1)
    assert worst.split(",")[0] in text      # the same worst interval in both


def test_demo_kpis_are_the_history_s_last_week(demo):
    out, _ = demo
    kpi = pd.read_csv(out / "kpi.csv")
    assert sorted(kpi["period_start"].str[:10].unique()) == [f"2026-05-{d}" for d in range(18, 25)]
    assert set(kpi["queue"]) == {"all", "billing", "tech"} and kpi["service_level"].between(0, 1).all()


def test_demo_reviews_the_plan_against_a_simulated_actual_week(demo):
    out, _ = demo
    week = pd.read_csv(out / "actual_week.csv")
    days = pd.read_csv(out / "review_days.csv")
    # the review counts the simulated week's contacts, per day and queue
    week["day"] = week["created_at"].str[:10]
    counted = week.groupby(["day", "queue"]).size()
    per_queue = days[days["queue"] != "all"].set_index(["day", "queue"])["actual_volume"]
    assert per_queue.sort_index().to_dict() == {k: float(v) for k, v in counted.sort_index().items()}
    answered = week[week["abandoned"] == False]  # noqa: E712 (a CSV column of true/false)
    assert (answered["wait_seconds"] >= 0).all() and (week.loc[week["abandoned"], "handle_seconds"] == 0).all()
    assert days["achieved_service_level"].between(0, 1).all()
    page = (out / "report.html").read_text()
    review = page.split('<section id="review">')[1].split("</section>")[0]
    assert "SL achieved" in review and "simulated" in review and ">2026-05-25<" in review
