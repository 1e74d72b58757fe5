"""`wfm roster` end to end: outputs, JSON line, named infeasibility, bad input."""

import json
from datetime import date, time

import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.domain import Horizon
from wfm.roster.domain import (Agent, BreakRule, Contract, QueueRequirement, RosterInput, ShiftTemplate, SolverParams,
                               Weights)

runner = CliRunner()


def write_input(tmp_path, agents):
    h = Horizon(start=date(2026, 1, 5), days=7, interval_minutes=60, timezone="Europe/Berlin")
    need = [2 if ts.weekday() < 5 and 9 <= ts.hour < 17 else 0 for ts in h.interval_starts()]
    data = RosterInput(horizon=h, requirements=[QueueRequirement(queue="q", agents=need)],
                       templates=[ShiftTemplate(id="D", start_times=[time(8), time(9)], length_minutes=480,
                                                breaks=[BreakRule(name="lunch", minutes=60, earliest_minutes=180,
                                                                  latest_minutes=300, paid=False)])],
                       agents=agents, solver=SolverParams(time_limit_seconds=5))
    path = tmp_path / "in.json"
    path.write_text(data.model_dump_json())
    return path


def test_roster_outputs_and_json_summary(tmp_path):
    path = write_input(tmp_path, [Agent(id=f"a{k}", skills=["q"]) for k in range(3)])
    out, cov = tmp_path / "roster.csv", tmp_path / "cov.csv"
    res = runner.invoke(app, ["roster", str(path), "--out", str(out), "--coverage", str(cov), "--seed", "3"])
    assert res.exit_code == 0, res.output
    roster = pd.read_csv(out)
    assert list(roster.columns) == ["agent", "day", "template", "start", "end", "paid_hours", "breaks", "queues"]
    assert roster["breaks"].str.startswith("lunch ").all() and set(roster["queues"]) == {"q"}
    assert {"required", "scheduled", "on_queue", "under", "over"} <= set(pd.read_csv(cov).columns)
    assert "Which rule cost what" in res.stdout
    res = runner.invoke(app, ["roster", str(path), "--format", "json"])
    summary = json.loads(res.stdout)
    assert summary["feasible"] and summary["objective"] == summary["solver_objective"]
    assert summary["under_hours"] == 0 and summary["status"] in ("OPTIMAL", "FEASIBLE")
    per_agent = {a["agent"]: a for a in summary["agents"]}
    assert sum(a["paid_hours"] for a in per_agent.values()) == summary["paid_hours"]
    assert all(a["paid_hours"] <= a["contract_max_hours"] for a in per_agent.values())


def test_infeasible_roster_exits_1_with_the_conflict(tmp_path):
    path = write_input(tmp_path, [Agent(id="x", skills=["q"], contract=Contract(min_hours=35, max_hours=40,
                                                                                max_days=4))])
    res = runner.invoke(app, ["roster", str(path), "--format", "json"])
    assert res.exit_code == 1
    out = json.loads(res.stdout)
    assert out["status"] == "INFEASIBLE" and any("(x)" in c for c in out["conflicts"])


def test_bad_roster_input_exits_2(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('{"horizon": {"start": "2026-01-05", "days": 7}, "templates": [], "agents": []}')
    res = runner.invoke(app, ["roster", str(path)])
    assert res.exit_code == 2 and "templates" in res.stderr and "Traceback" not in res.output


def test_json_summary_gives_the_gap_on_the_changeable_part(tmp_path):
    """With labour cost weighed, the contract floor (minimum hours at each agent's rate) is part of
    every roster's objective; the changeable gap measures the bound's distance on the rest."""
    agents = [Agent(id=f"a{k}", skills=["q"], cost_per_hour=20.0, contract=Contract(min_hours=16, max_hours=40))
              for k in range(3)]
    path = write_input(tmp_path, agents)
    data = RosterInput.model_validate_json(path.read_text())
    path.write_text(data.model_copy(update={"weights": Weights(under=100, over=1, cost=1)}).model_dump_json())
    res = runner.invoke(app, ["roster", str(path), "--format", "json"])
    summary = json.loads(res.stdout)
    floor = 3 * 16 * 20.0  # at cost weight 1 (less at most half a unit a day for each shift's rounding)
    assert floor - 3 * 7 * 0.5 <= summary["contract_floor"] <= floor
    assert summary["cost"] >= summary["contract_floor"]
    objective, bound = summary["objective"], summary["bound"]
    assert summary["changeable_gap"] == pytest.approx((objective - bound) / (objective - summary["contract_floor"]))
    assert summary["changeable_gap"] >= summary["gap"] - 1e-9
    res = runner.invoke(app, ["roster", str(path)])
    assert "changeable_gap" in res.stdout and "contract_floor" in res.stdout
