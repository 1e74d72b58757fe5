"""`make demo` / `wfm demo`: the plan of sample_data/plan.yaml, outputs in out/.

The plan pipeline (`wfm.plan.run_plan`: ticket history -> interval forecast, backtested, with
prediction intervals -> agents needed per interval -> a validated roster for the named agents
-> simulation -> metrics) writes the files of `wfm plan`; the demo adds a few what-if scenarios
(the scenario runner against this roster), roster.xlsx and report.html for the support manager.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console

from .io import write_csv
from .live import SolverDisplay

SCENARIO_NOTE = ("Requirements-only what-ifs ({source}): each scenario's demand is staffed again (FTE needed); "
                 "service, under-coverage and the simulated SL are what this week's roster delivers against it if "
                 "nothing else changes.")


@dataclass
class DemoResult:
    written: dict[str, Path] = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    roster_ok: bool = False      # a roster was found and every hard rule holds
    reason: str = ""             # why not, when not
    roster: object = None        # the solved roster (wfm.roster.domain.Roster), when there is one


def run_demo(data: Path, out: Path, console: Console, time_limit: float | None = None,
             seed: int | None = None, progress_console: Console | None = None) -> DemoResult:
    from .errors import InputError
    from .kpi import plan_history_kpis
    from .outputs.report import ReportInput, summary_headline, write_report
    from .outputs.tables import accuracy_table
    from .plan import load_config, run_plan
    from .plan_files import write_plan

    config = load_config(data / "plan.yaml", time_limit=time_limit, seed=seed)
    if config.history is None:
        raise InputError("history", None, f"the demo forecasts from history: {data / 'plan.yaml'} needs history.file")
    limit = config.roster.solver.time_limit_seconds if config.roster and config.roster.solver else None
    with SolverDisplay(progress_console or console, limit, "rostering", lazy=True) as show:
        result = run_plan(config, progress=show)
    base, details, outcome = result.base, result.details, result.roster
    console.print(details.ingest.summary(), highlight=False)
    res = DemoResult(written=write_plan(result, out))
    # how the history's last week went: the KPIs a support manager is judged by
    res.written["kpi"] = write_csv(plan_history_kpis(config).table, out / "kpi.csv")

    report = ReportInput(first_day=base.horizon.start, timezone=base.horizon.timezone,
                         interval_minutes=base.horizon.interval_minutes, history=details.history,
                         forecast=base.forecast, scores=base.backtest, chosen=details.chosen,
                         requirements=result.requirements.drop(columns=["open"], errors="ignore"),
                         targets=base.targets, fte_hours=base.fte_hours)
    _roster_step(result, out, res, report)
    _review_step(result, config, out, res, report)

    scenarios, note = demo_scenarios(data, config, base, res.roster)
    res.written["scenarios"] = write_csv(scenarios, out / "scenarios.csv")
    report.scenarios, report.scenario_note = scenarios, note
    res.written["report"] = write_report(report, out / "report.html")

    res.headline = summary_headline(report)
    if outcome is None:
        res.reason = "the plan has no roster section"
    _print_summary(console, accuracy_table(base.backtest, details.chosen), res, report, scenarios)
    return res


def demo_scenarios(data: Path, config, base, roster) -> tuple[pd.DataFrame, str]:
    """The demo's scenario step: the comparison table (base first) and a sentence on what it means.

    The sample scenario set (`scenarios.yaml` of the data folder; else `wfm.scenarios.SAMPLE_SCENARIOS`)
    runs through the scenario runner in requirements mode against the demo's roster, on the demo's
    own forecast; without a roster, service is that of each scenario's own requirement."""
    from .scenarios import SAMPLE_SCENARIOS, ScenarioRequest, load_request, run_scenarios

    path = data / "scenarios.yaml"
    if path.exists():
        request, source = load_request(path, mode="requirements"), f"{data.name}/scenarios.yaml"
    else:
        request, source = ScenarioRequest(base=config, scenarios=SAMPLE_SCENARIOS), "the sample set"
    request = request.model_copy(update={"base_roster": roster})
    in_force = base if roster is not None else dataclasses.replace(base, setup=None)  # nothing to solve again
    return run_scenarios(request, base=in_force).table(), SCENARIO_NOTE.format(source=source)


def _roster_step(result, out: Path, res: DemoResult, report) -> None:
    from .outputs.tables import timeline_frame
    from .outputs.workbook import write_roster_workbook
    from .roster.report import roster_frame

    outcome, tz = result.roster, result.base.horizon.timezone
    if outcome is None:
        return
    report.agents = [a.id for a in outcome.data.agents]
    if outcome.roster is None:
        res.reason = f"{outcome.status}: {outcome.reason}"
        report.solve = {"status": outcome.status, "reason": res.reason}
        return
    res.roster = outcome.roster
    check, cov = outcome.check, outcome.coverage
    shifts = roster_frame(outcome.data, outcome.roster)
    res.written["roster_xlsx"] = write_roster_workbook(shifts, cov, tz, out / "roster.xlsx", report.agents)
    res.roster_ok = check.feasible
    if not check.feasible:
        res.reason = f"the roster breaks {len(check.violations)} hard rules: {check.violations[0]}"
    report.coverage, report.shifts = cov, shifts
    report.timeline = timeline_frame(outcome.roster, tz)
    report.explanation = outcome.explanation
    report.solve = {"status": outcome.status, "gap": outcome.gap, "changeable_gap": outcome.changeable_gap,
                    "seconds": outcome.seconds,
                    "feasible": check.feasible, "violations": len(check.violations), "shifts": outcome.totals["shifts"]}


REVIEW_NOTE = ("The 'actual' week here is simulated (actual_week.csv): the forecast with a seeded day-to-day "
               "error, served contact by contact by this roster; with your own history, run wfm review.")


def _review_step(result, config, out: Path, res: DemoResult, report) -> None:
    """Plan vs actual against a simulated actual week (there is no real one yet): its contacts
    in actual_week.csv, the review in review_days.csv and review_intervals.csv and report.html."""
    from .review import review_plan
    from .simulate import SimulationOptions, demands_from_coverage, simulated_week

    outcome = result.roster
    if outcome is None or outcome.roster is None:
        return
    demands = demands_from_coverage(outcome.coverage, outcome.data.requirements, SimulationOptions())
    seed = config.simulation.seed if config.simulation is not None else 0
    week = simulated_week(result.base.horizon, demands, seed=seed)
    res.written["actual_week"] = write_csv(week, out / "actual_week.csv")
    review = review_plan(out, out / "actual_week.csv")
    res.written["review_days"] = write_csv(review.days, out / "review_days.csv")
    res.written["review_intervals"] = write_csv(review.intervals, out / "review_intervals.csv")
    report.review, report.review_note = review.days, REVIEW_NOTE


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.1f}%"


def _print_summary(console: Console, accuracy: pd.DataFrame, res: DemoResult, report, scenarios) -> None:
    """One line per figure, never wrapped mid-phrase (a script or a narrow terminal reads it whole)."""
    from .outputs.headline import headline_rows

    h, s = res.headline, report.solve
    lines = [(f"forecast accuracy {r['queue']}",
              f"WAPE {_pct(r['wape'])} ({r['model']}; seasonal naive {_pct(r['seasonal_naive_wape'])})")
             for r in accuracy.to_dict("records")]
    lines += [(label, f"{value}  [dim]({note})[/]") for label, value, note in headline_rows(h)]
    if report.shifts is not None:
        lines.append(("roster", f"{s['status']}, {len(report.shifts)} shifts for {len(report.agents)} agents, "
                                f"{'all hard rules hold' if s['feasible'] else 'RULES BROKEN'} (note 1)"))
    else:
        lines.append(("roster", f"[bold red]none[/] ({res.reason})"))
    worst = scenarios.iloc[1:].sort_values("service_level").head(1).to_dict("records")
    if worst:
        w = worst[0]
        lines.append(("hardest scenario", f"{w['scenario']}: needs {w['required_fte']:.1f} FTE to employ, "
                                          f"projected SL {_pct(w['service_level'])}"))
    console.print(f"[bold]The week from {report.first_day:%a %d %b %Y}[/]")
    for label, text in lines:
        console.print(f"  [bold]{label}[/]: {text}", highlight=False, soft_wrap=True)
    if h.get("solver"):
        console.print(f"  1. {h['solver']}", highlight=False, soft_wrap=True)
    console.print("Files", highlight=False)  # one line each, as `wfm plan` lists them: a path is never wrapped
    for name, path in res.written.items():
        console.print(f"{name:>18}: {path}", highlight=False, soft_wrap=True)
