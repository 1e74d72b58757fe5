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


def node_json(code: str):
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def interval(start: str, under: tuple[int, int], sl: tuple[float | None, float | None]) -> dict:
    return {"queue": "billing", "interval_start": start, "required": 3, "on_queue_before": 3, "on_queue_after": 2,
            "under_before": under[0], "under_after": under[1], "service_level_before": sl[0],
            "service_level_after": sl[1]}


def request_view(rid: str, body: dict, check: dict, status: str = "pending", decision: dict | None = None) -> dict:
    return {"id": rid, "type": body["type"], "status": status, "request": body, "check": check, "decision": decision,
            "applied_version": None, "key_id": None, "created_at": "2026-03-20T09:00:00Z", "decided_at": None,
            "etag": f'"r-{rid[:4]}"'}


def test_web_requests_table_shows_each_request_s_impact():
    short = [interval("2026-03-23T09:00:00+01:00", (0, 1), (0.91, 0.62)),
             interval("2026-03-23T10:00:00+01:00", (1, 1), (0.55, 0.48)),
             interval("2026-03-23T11:00:00+01:00", (0, 2), (None, 0.3))]
    time_off = request_view("0123456789abcdef", {"type": "time_off", "agent": "a07", "first_day": "2026-03-23",
                                                 "last_day": "2026-03-24", "note": ""},
                            {"ok": True, "reasons": [], "violations": [], "coverage": {
                                "intervals": short, "under_hours_added": 3.0, "leaves_short": True,
                                "lowest_service_level_after": 0.3}})
    swap = request_view("fedcba9876543210", {"type": "swap", "agent": "a01", "day": "2026-03-25",
                                             "with_agent": "a29", "with_day": None, "note": ""},
                        {"ok": False, "reasons": ["a29: 8.0 h over max 5 h", "a29: lacks skill tech"],
                         "violations": ["a29: 8.0 h over max 5 h", "a29: lacks skill tech"],
                         "coverage": {"intervals": [], "under_hours_added": 0.0, "leaves_short": False,
                                      "lowest_service_level_after": None}})
    denied = request_view("aaaabbbbccccdddd", {"type": "swap", "agent": "a01", "day": "2026-03-25",
                                               "with_agent": "a02", "with_day": "2026-03-26", "note": ""},
                          {"ok": True, "reasons": [], "violations": [],
                           "coverage": {"intervals": [], "under_hours_added": 0.0, "leaves_short": False,
                                        "lowest_service_level_after": None}},
                          status="denied", decision={"reason": "team minimum"})
    code = script_functions("fmt", "requestCells") + (
        f"\nconsole.log(JSON.stringify({json.dumps([time_off, swap, denied])}.map(requestCells)))")
    off, bad, done = node_json(code)
    assert off == ["01234567", "time off", "a07 off 2026-03-23 to 2026-03-24", "pending", "0", "2", "3.0",
                   "55.0% / 30.0%", "no rule broken"]
    assert bad == ["fedcba98", "swap", "a01 2026-03-25 to a29", "pending", "2", "0", "0.0", "- / -",
                   "a29: 8.0 h over max 5 h; a29: lacks skill tech"]
    assert done[2] == "a01 2026-03-25 to a02 for 2026-03-26" and done[3] == "denied"
    assert done[8] == "denied: team minimum"


def test_web_decisions_send_the_request_s_etag_and_a_denial_needs_a_reason():
    view = {"id": "r 1/x", "etag": '"r-7"'}
    code = script_functions("decisionCall") + f"""
const view = {json.dumps(view)};
const attempt = (f) => {{ try {{ return f(); }} catch (err) {{ return "error: " + err.message; }} }};
console.log(JSON.stringify([
  decisionCall("ber lin", view, "approve"),
  decisionCall("ber", view, "deny", "  team minimum "),
  attempt(() => decisionCall("ber", view, "deny", "   ")),
  attempt(() => decisionCall("ber", view, "delete")),
  attempt(() => decisionCall("ber", {{ id: "r2" }}, "approve")),
]))"""
    approve, deny, blank, unknown, no_etag = node_json(code)
    url, options = approve
    assert url == "/v1/sites/ber%20lin/requests/r%201%2Fx/approve"
    assert options["method"] == "POST" and options["headers"]["If-Match"] == '"r-7"'
    assert json.loads(options["body"]) == {"reason": ""}
    assert deny[0] == "/v1/sites/ber/requests/r%201%2Fx/deny" and json.loads(deny[1]["body"]) == {
        "reason": "team minimum"}
    assert blank.startswith("error: a denial needs a reason")
    assert unknown.startswith("error: unknown decision") and no_etag.startswith("error: request r2 has no ETag")


def test_web_site_plan_body_is_one_the_server_accepts():
    from api.site_plans import SitePlanRequest

    history = [{"created_at": "2026-03-02T08:10:00+00:00", "queue": "billing", "handle_seconds": "180"}]
    with_queues = {"id": "ber", "name": "Berlin", "timezone": "Europe/Berlin", "interval_minutes": 60,
                   "queues": [{"id": "billing", "target": {"service_level": 0.8, "answer_seconds": 20}}]}
    bare = {**with_queues, "queues": []}
    agents, templates = [{"id": "a0"}, {"id": "a1"}], [{"id": "D"}]
    code = script_functions("siteSummary", "DEFAULT_TARGET", "sitePlanBody") + f"""
const history = {json.dumps(history)};
console.log(JSON.stringify([sitePlanBody({json.dumps(with_queues)}, history, 10, 45),
  sitePlanBody({json.dumps(bare)}, history, 7, 30),
  siteSummary({json.dumps(with_queues)}, {json.dumps(agents)}, {json.dumps(templates)}),
  siteSummary({json.dumps(bare)}, [], [])]))"""
    targeted, defaulted, summary, empty = node_json(code)
    plan = SitePlanRequest.model_validate(targeted)
    assert plan.forecast.days == 10 and plan.solver.time_limit_seconds == 45 and plan.default_target is None
    assert plan.history == history
    fallback = SitePlanRequest.model_validate(defaulted).default_target
    assert (fallback.service_level, fallback.answer_seconds, fallback.shrinkage) == (0.8, 20, 0.3)
    assert summary == ("Berlin (ber): Europe/Berlin, 60-minute intervals; 2 agents, 1 shift templates; "
                       "queues billing")
    assert empty.endswith("0 agents, 0 shift templates; no queue targets (a plan uses a default target)")
