"""report.html read as a manager reads it: scenarios that need a new roster say so instead of
showing '+0.0'."""

from __future__ import annotations

import re
from datetime import date

import numpy as np
import pandas as pd

from wfm.executor import SequentialExecutor
from wfm.outputs.report import ReportInput, render_report
from wfm.scenarios import Scenario, run_scenarios
from test_scenarios import HORIZON, TZ, forecast_frame, request  # the scenario tests' small site (conftest path)


def scenario_rows(page: str) -> dict[str, list[str]]:
    body = page.split('<table class="scenarios">', 1)[1].split("</table>", 1)[0]
    rows = {}
    for tr in re.findall(r"<tr>(.*?)</tr>", body.split("<tbody>", 1)[1], re.S):
        cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", tr, re.S)]
        rows[cells[0]] = cells[1:]
    return rows


def report_with(table: pd.DataFrame) -> str:
    fc = forecast_frame()
    req = fc.assign(agents=2, scheduled_agents=3)
    scores = pd.DataFrame([{"model": "daily_profile", "queue": q, "folds": 1, "wape": 0.2, "mase": 0.8,
                            "bias": 0.0, "coverage": 0.9} for q in ("calls", "mail")])
    return render_report(ReportInput(
        first_day=date.fromisoformat(str(HORIZON.start)), timezone=TZ, interval_minutes=60,
        history=fc[["interval_start", "queue", "volume"]], forecast=fc, scores=scores,
        chosen={"calls": "daily_profile", "mail": "daily_profile"}, requirements=req,
        solve={"status": "UNKNOWN", "reason": "not rostered here"}, scenarios=table, scenario_note="what-ifs"))


def test_requirements_mode_scenarios_that_need_a_roster_say_so(tmp_path):
    req = request(tmp_path, [
        Scenario(name="lose two agents", remove={"count": 2}),
        Scenario(name="no weekend limit", rules={"max_weekends": 2}),
        Scenario(name="busier, two hires", volume=[{"multiplier": 1.4}], hire=[{"count": 2, "skills": ["calls"]}]),
        Scenario(name="busier", volume=[{"multiplier": 1.4}]),
    ])
    report = run_scenarios(req, SequentialExecutor())
    assert [s.needs_roster_mode for s in report.scenarios] == [["remove"], ["rules"], ["hire"], []]
    table = report.table()
    rows = scenario_rows(report_with(table))
    for name in ("lose two agents", "no weekend limit"):  # nothing but the roster changes
        deltas = [rows[name][i] for i in (2, 4, 6)]
        assert deltas == ["needs roster mode"] * 3, (name, rows[name])
        assert "+0.0" not in " ".join(rows[name])
        assert rows[name][-1].startswith(f"{'remove' if 'lose' in name else 'rules'}: needs roster mode")
    mixed, plain = rows["busier, two hires"], rows["busier"]
    assert mixed[2].startswith("+") and mixed[2] == plain[2]  # the extra volume's FTE is real
    assert mixed[-1].startswith("hire: needs roster mode") and plain[-1] == ""
    assert "needs roster mode" not in " ".join(plain)
    # the CSV the demo and `scenario run --out` write carries the same flag
    assert list(table["needs_roster_mode"]) == ["", "remove", "rules", "hire", ""]


def test_kpis_per_day_name_each_days_worst_interval_in_words():
    from wfm.domain import ServiceTarget

    fc = forecast_frame()   # two days, 08:00-18:00, calls and mail
    req = fc.assign(agents=np.where(fc["volume"] > 0, 3, 0), scheduled_agents=np.where(fc["volume"] > 0, 4, 0))
    cov = req[["queue", "interval_start"]].assign(required=req["agents"], scheduled=req["agents"],
                                                  on_queue=req["agents"], under=0, over=0,
                                                  service_level=0.9, volume=req["volume"])
    first_calls = req.index[(req["queue"] == "calls") & (req["volume"] > 0)][0]   # Monday 08:00
    cov.loc[first_calls, ["on_queue", "under"]] = [0, 3]
    page = render_report(ReportInput(
        first_day=date.fromisoformat(str(HORIZON.start)), timezone=TZ, interval_minutes=60,
        history=fc[["interval_start", "queue", "volume"]], forecast=fc,
        scores=pd.DataFrame([{"model": "m", "queue": q, "folds": 1, "wape": 0.2, "mase": 1, "bias": 0,
                              "coverage": 0.9} for q in ("calls", "mail")]),
        chosen={"calls": "m", "mail": "m"}, requirements=req, coverage=cov,
        shifts=pd.DataFrame(columns=["agent", "day", "template", "start", "end", "paid_hours", "breaks", "queues"]),
        targets={"calls": ServiceTarget(service_level=0.8, answer_seconds=20),
                 "mail": ServiceTarget(service_level=0.8, answer_seconds=60)}))
    kpis = page.split('<table class="kpis">', 1)[1].split("</table>", 1)[0]
    rows = [re.findall(r"<td[^>]*>(.*?)</td>", tr) for tr in re.findall(r"<tr>(.*?)</tr>", kpis.split("<tbody>")[1])]
    monday, tuesday, week = rows
    assert monday[-1] == "Mon 01 Jun 08:00 calls: unstaffed (30 contacts expected, no agent on queue)"
    assert week[-1] == monday[-1] and tuesday[-1].startswith("Tue 02 Jun ") and "ASA" in tuesday[-1]
    assert "inf" not in kpis.lower()


def test_the_coverage_heat_map_hovers_each_intervals_sl_and_asa_in_words():
    from wfm.domain import ServiceTarget
    from wfm.outputs import charts
    from wfm.outputs.report import with_service_text

    fc = forecast_frame()
    req = fc.assign(agents=np.where(fc["volume"] > 0, 3, 0), scheduled_agents=np.where(fc["volume"] > 0, 4, 0))
    cov = req[["queue", "interval_start"]].assign(required=req["agents"], scheduled=req["agents"],
                                                  on_queue=req["agents"], under=0, over=0, service_level=0.9,
                                                  volume=req["volume"])
    busy = req.index[(req["queue"] == "calls") & (req["volume"] > 0)]
    cov.loc[busy[0], "on_queue"] = 0
    data = ReportInput(first_day=date.fromisoformat(str(HORIZON.start)), timezone=TZ, interval_minutes=60,
                       history=fc, forecast=fc, scores=pd.DataFrame(), chosen={}, requirements=req, coverage=cov,
                       targets={"calls": ServiceTarget(service_level=0.8, answer_seconds=20),
                                "mail": ServiceTarget(service_level=0.8, answer_seconds=60)})
    texts = with_service_text(data).set_index(cov.index)["service_text"]
    assert texts[busy[0]] == "unstaffed" and texts[busy[1]].startswith("SL ") and ", ASA " in texts[busy[1]]
    assert texts[req.index[req["volume"] == 0][0]] == "no contacts"
    fig = charts.coverage_heatmap(with_service_text(data), TZ)
    calls = fig.data[0]
    assert "%{customdata[2]}" in calls.hovertemplate
    flat = [cell[2] for row in calls.customdata for cell in row]
    assert "unstaffed" in flat and not any("inf" in str(t) for t in flat)
