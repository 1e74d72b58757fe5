"""What a finished plan job offers besides its JSON: the scenario comparison, roster.xlsx and
report.html, made from the job's stored input and result (plain functions, no HTTP)."""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.scenarios import DELTA_FIELDS, SAMPLE_SCENARIOS, Scenario


@dataclass
class Plan:
    """A plan job's input and result as the frames the output builders read."""

    timezone: str
    interval_minutes: int
    targets: dict[str, ServiceTarget]
    forecast: pd.DataFrame      # the plan's forecast intervals
    requirements: pd.DataFrame
    shifts: pd.DataFrame
    coverage: pd.DataFrame
    agents: list[str]
    plan_input: dict
    result: dict


def load_plan(plan_input: dict, result: dict) -> Plan:
    options = plan_input["forecast"]
    forecast = pd.DataFrame(result["forecast"]["intervals"])
    default = plan_input.get("default_target")
    queues = sorted(forecast["queue"].astype(str).unique())
    targets = {q: ServiceTarget(**(plan_input.get("targets") or {}).get(q, default or {})) for q in queues}
    roster = result["roster"]
    shifts = pd.DataFrame(roster["shifts"], columns=["agent", "day", "template", "start", "end", "paid_hours",
                                                     "breaks", "queues"])
    return Plan(timezone=options["timezone"], interval_minutes=options["interval_minutes"], targets=targets,
                forecast=forecast, requirements=pd.DataFrame(result["requirements"]), shifts=shifts,
                coverage=pd.DataFrame(roster["coverage"]), agents=[a["id"] for a in plan_input["agents"]],
                plan_input=plan_input, result=result)


def scenario_table(plan: Plan, scenarios: list[Scenario]) -> pd.DataFrame:
    """The base and each scenario, served by the plan's roster: the scenario runner in
    requirements mode on the plan's own forecast (`wfm.scenarios`). The base's changes are 0.
    A scenario that cannot be planned raises InputError naming it."""
    from wfm.roster.domain import Roster
    from wfm.scenarios import ScenarioRequest, run_scenarios

    with tempfile.TemporaryDirectory(prefix="wfm-whatif-") as folder:
        request = ScenarioRequest(base=_base_config(plan, Path(folder)), mode="requirements",
                                  base_roster=Roster.model_validate(plan.result["roster"]["roster"]),
                                  simulation=None, scenarios=scenarios)
        report = run_scenarios(request)
    failed = [r for r in (report.base, *report.scenarios) if r.status == "failed"]
    if failed:
        raise InputError(f"scenarios.{failed[0].name}", failed[0].name, failed[0].error or "failed")
    table = report.table()
    table.loc[0, [f"{name}_delta" for name in DELTA_FIELDS]] = 0.0
    return table


def _base_config(plan: Plan, folder: Path):
    """The finished plan as a plan config: its forecast (no forecasting again), targets and roster setup."""
    from wfm.plan import parse_config

    columns = [c for c in ("interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds")
               if c in plan.forecast]
    path = folder / "forecast.csv"
    plan.forecast[columns].to_csv(path, index=False)
    setup = {k: plan.plan_input[k] for k in ("templates", "agents", "rules", "weights", "solver")
             if plan.plan_input.get(k) is not None}
    return parse_config({"timezone": plan.timezone, "interval_minutes": plan.interval_minutes,
                         "forecast": {"file": str(path)},
                         "queues": {q: t.model_dump(mode="json") for q, t in plan.targets.items()},
                         "roster": setup, "simulation": None}, source="plan")


def workbook_bytes(plan: Plan) -> bytes:
    from wfm.outputs.workbook import write_roster_workbook

    buffer = io.BytesIO()
    write_roster_workbook(plan.shifts, plan.coverage, plan.timezone, buffer, plan.agents)
    return buffer.getvalue()


def report_html(plan: Plan) -> str:
    from datetime import date

    from wfm.outputs.report import ReportInput, render_report
    from wfm.outputs.tables import timeline_frame
    from wfm.roster.domain import Roster

    from .work import history_intervals

    roster, forecast = plan.result["roster"], plan.result["forecast"]
    return render_report(ReportInput(
        first_day=date.fromisoformat(forecast["first_day"]), timezone=plan.timezone,
        interval_minutes=plan.interval_minutes,
        history=history_intervals(plan.plan_input["history"], plan.plan_input["forecast"]),
        forecast=pd.DataFrame(forecast["intervals"]), scores=pd.DataFrame(forecast["backtest"]),
        chosen=forecast["chosen_models"], requirements=plan.requirements, coverage=plan.coverage,
        shifts=plan.shifts, timeline=timeline_frame(Roster.model_validate(roster["roster"]), plan.timezone),
        agents=plan.agents, explanation=roster["explanation"], targets=plan.targets,
        solve={"status": roster["status"], "gap": roster["gap"], "seconds": roster["seconds"],
               "feasible": roster["feasible"], "violations": len(roster["violations"])},
        scenarios=scenario_table(plan, SAMPLE_SCENARIOS),
        scenario_note="Requirements-only what-ifs: each scenario's demand staffed again (FTE needed); service "
                      "and under-coverage are what this roster delivers against it if nothing else changes."))
