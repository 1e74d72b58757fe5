"""Pure functions of the web view's script (api/ui/app.js) run in Node and checked against
the report's Python twins: the Gantt chart's time axis is the same in both. Skips without node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from wfm.outputs.charts import hour_ticks

SCRIPT = Path(__file__).resolve().parents[1] / "api" / "ui" / "app.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="no node on PATH")


def script_functions(*names: str) -> str:
    """The source of top-level declarations of app.js by name (const arrows and functions)."""
    text = SCRIPT.read_text()
    parts = []
    for name in names:
        match = re.search(rf"^(const {name} = .*?;|function {name}\(.*?^}})$", text, re.M | re.S)
        assert match, name
        parts.append(match.group(1))
    return "\n".join(parts)


def run_js(body: str):
    code = script_functions("pad", "wallText", "wallMs", "hourTicks") + "\n" + body
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("first,last", [("2026-03-28 23:00", "2026-03-29 08:00"),
                                        ("2026-06-01 07:30", "2026-06-07 22:15"),
                                        ("2026-06-01 00:00", "2026-06-01 00:00")])
def test_web_gantt_ticks_match_the_report(first, last):
    got = run_js(f'console.log(JSON.stringify(hourTicks(wallMs("{first}"), wallMs("{last}"))))')
    ticks, labels = hour_ticks(pd.Timestamp(first), pd.Timestamp(last))
    assert got["labels"] == labels
    assert [pd.Timestamp(v) for v in got["values"]] == ticks


def test_web_scenario_rows_say_needs_roster_mode_instead_of_zero():
    rows = [{"scenario": "lose three", "contacts": 1000.0, "required_fte": 20.0, "required_fte_delta": 0.0,
             "service_level": 0.8, "service_level_delta": 0.0, "under_hours": 4.0, "under_hours_delta": None,
             "needs_roster_mode": "remove"},
            {"scenario": "busier, hires", "contacts": 1200.0, "required_fte": 24.0, "required_fte_delta": 4.0,
             "service_level": 0.7, "service_level_delta": -0.1, "under_hours": 9.0, "under_hours_delta": 5.0,
             "needs_roster_mode": "hire"},
            {"scenario": "same", "contacts": 1000.0, "required_fte": 20.0, "required_fte_delta": 0.0,
             "service_level": 0.8, "service_level_delta": 0.0, "under_hours": 4.0, "under_hours_delta": 0.0}]
    code = script_functions("NEEDS_ROSTER", "fmt", "scenarioCells")
    out = subprocess.run([NODE, "-e", code + f"\nconsole.log(JSON.stringify({json.dumps(rows)}.map(scenarioCells)))"],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    lose, mixed, same = json.loads(out.stdout)
    assert [lose[i] for i in (3, 5, 7)] == ["needs roster mode"] * 3 and lose[8] == "remove: needs roster mode"
    assert [mixed[i] for i in (3, 5, 7)] == ["+4.0", "-10.0 pt", "+5.0"] and mixed[8] == "hire: needs roster mode"
    assert [same[i] for i in (3, 5, 7, 8)] == ["+0.0", "+0.0 pt", "+0.0", ""]


def test_web_upload_tells_a_workbook_by_its_bytes(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    book.save(tmp_path / "history.csv")
    heads = {"xlsx": list((tmp_path / "history.csv").read_bytes()[:8]),
             "xls": [0xD0, 0xCF, 0x11, 0xE0, 0xA1, 0xB1, 0x1A, 0xE1],
             "csv": list(b"created_"), "gzip": [0x1F, 0x8B, 8, 0, 0, 0, 0, 0]}
    code = script_functions("isWorkbook") + (
        f"\nconst heads = {json.dumps(heads)};"
        "\nconsole.log(JSON.stringify(Object.fromEntries(Object.entries(heads).map(([k, v]) => "
        "[k, isWorkbook(new Uint8Array(v))]))))")
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == {"xlsx": True, "xls": True, "csv": False, "gzip": False}


def test_web_review_reads_an_actuals_csv_and_shows_the_days_table():
    text = ("created_at,queue,handle_seconds\r\n2026-05-25T08:00:00+02:00,billing,120\n\n"
            "2026-05-25T08:01:00+02:00,tech,\n")
    day = {"day": "2026-05-25", "queue": "all", "forecast_volume": 967.96, "actual_volume": 1009.0,
           "volume_wape": 0.1613, "volume_bias": -0.0407, "required_hours": 130.5, "rostered_hours": 147.5,
           "needed_hours": 155.5, "promised_service_level": 0.8989, "achieved_service_level": None}
    code = script_functions("fmt", "csvRows", "reviewCells") + (
        f"\nconsole.log(JSON.stringify([csvRows({json.dumps(text)}), reviewCells({json.dumps(day)})]))")
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    rows, cells = json.loads(out.stdout)
    assert rows == [{"created_at": "2026-05-25T08:00:00+02:00", "queue": "billing", "handle_seconds": "120"},
                    {"created_at": "2026-05-25T08:01:00+02:00", "queue": "tech", "handle_seconds": ""}]
    assert cells == ["2026-05-25", "all", "968", "1,009", "16.1%", "-4.1%", "130.5", "147.5", "155.5", "89.9%", "-"]


def test_web_intraday_shows_before_after_and_offers():
    summary = {"forecast_rest_of_day": 617.4, "multipliers": {"billing": 1.155, "tech": 1.128},
               "before": {"service_level": 0.791, "under_hours": 7.5}, "after": {"service_level": 0.916,
                                                                                 "under_hours": 0.0},
               "shifts_changed": 5, "breaks_moved": 2, "feasible": True}
    offer = {"rank": 1, "kind": "vto", "agent": "part-06", "action": "day off", "start": "2026-05-27T17:00:00+02:00",
             "end": "2026-05-27T21:00:00+02:00", "hours_change": -4.0, "service_level_after": 0.9125,
             "service_level_change": -0.0034}
    code = script_functions("fmt", "intradayCards", "offerCells") + (
        f"\nconsole.log(JSON.stringify([intradayCards({json.dumps(summary)}), offerCells({json.dumps(offer)})]))")
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    cards, cells = json.loads(out.stdout)
    assert cards[0] == ["rest-of-day contacts", "617", "billing x1.16, tech x1.13"]
    assert cards[1][1] == "79.1% / 91.6%" and cards[2][1] == "7.5 h / 0.0 h"
    assert cards[3] == ["changes", "5 shifts, 2 breaks", "every hard rule holds"]
    assert cells == [1, "vto", "part-06", "day off", "17:00", "21:00", "-4.0", "91.3%", "-0.3 pt"]
