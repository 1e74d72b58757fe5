"""What a finished plan job offers besides its JSON: the scenario comparison, roster.xlsx and
report.html, made from the job's stored input and result (plain functions, no HTTP)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import pandas as pd

from wfm.domain import ServiceTarget
from wfm.whatif import WhatIf, compare_whatifs


@dataclass
class Plan:
    """A plan job's input and result as the frames the output builders read."""

    timezone: str
    interval_minutes: int
    targets: dict[str, ServiceTarget]
    demand: pd.DataFrame        # forecast intervals with `open`, as the plan staffed them
    requirements: pd.DataFrame
    shifts: pd.DataFrame
    coverage: pd.DataFrame
    agents: list[str]
    plan_input: dict
    result: dict


def load_plan(plan_input: dict, result: dict) -> Plan:
    options = plan_input["forecast"]
    forecast = pd.DataFrame(result["forecast"]["intervals"])
    demand = forecast.assign(open=forecast["volume_upper"].fillna(0) > 0)  # as api.work.run_plan staffs it
    default = plan_input.get("default_target")
    queues = sorted(forecast["queue"].astype(str).unique())
    targets = {q: ServiceTarget(**(plan_input.get("targets") or {}).get(q, default or {})) for q in queues}
    roster = result["roster"]
    shifts = pd.DataFrame(roster["shifts"], columns=["agent", "day", "template", "start", "end", "paid_hours",
                                                     "breaks", "queues"])
    return Plan(timezone=options["timezone"], interval_minutes=options["interval_minutes"], targets=targets,
                demand=demand, requirements=pd.DataFrame(result["requirements"]), shifts=shifts,
                coverage=pd.DataFrame(roster["coverage"]), agents=[a["id"] for a in plan_input["agents"]],
                plan_input=plan_input, result=result)


def scenario_table(plan: Plan, scenarios: list[WhatIf]) -> pd.DataFrame:
    """The base and each what-if, served by the plan's roster (see wfm.whatif)."""
    return compare_whatifs(plan.demand, plan.interval_minutes, plan.targets, scenarios, on_queue=plan.coverage)


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
    from wfm.whatif import SAMPLE_WHATIFS

    from .work import history_intervals

    roster, forecast = plan.result["roster"], plan.result["forecast"]
    return render_report(ReportInput(
        first_day=date.fromisoformat(forecast["first_day"]), timezone=plan.timezone,
        interval_minutes=plan.interval_minutes,
        history=history_intervals(plan.plan_input["history"], plan.plan_input["forecast"]),
        forecast=pd.DataFrame(forecast["intervals"]), scores=pd.DataFrame(forecast["backtest"]),
        chosen=forecast["chosen_models"], requirements=plan.requirements, coverage=plan.coverage,
        shifts=plan.shifts, timeline=timeline_frame(Roster.model_validate(roster["roster"]), plan.timezone),
        agents=plan.agents, explanation=roster["explanation"],
        solve={"status": roster["status"], "gap": roster["gap"], "seconds": roster["seconds"],
               "feasible": roster["feasible"], "violations": len(roster["violations"])},
        scenarios=scenario_table(plan, SAMPLE_WHATIFS),
        scenario_note="Requirements-only what-ifs: each scenario's demand staffed again (FTE needed); service "
                      "and under-coverage are what this roster delivers against it if nothing else changes."))
