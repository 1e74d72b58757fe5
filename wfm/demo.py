"""`make demo` / `wfm demo`: the pipeline on sample_data/, outputs in out/.

ticket history -> interval forecast (backtested, with prediction intervals) -> agents needed
per interval -> a validated roster for the named agents of sample_data/roster_setup.json ->
a few what-if scenarios -> roster.xlsx and report.html for the support manager.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from rich.console import Console
from rich.table import Table

from .domain import ServiceTarget
from .io import write_csv
from .live import SolverDisplay
from .staffing.frames import staff_by_queue, summarize


@dataclass
class DemoResult:
    written: dict[str, Path] = field(default_factory=dict)
    headline: dict = field(default_factory=dict)
    roster_ok: bool = False      # a roster was found and every hard rule holds
    reason: str = ""             # why not, when not
    roster: object = None        # the solved roster (wfm.roster.domain.Roster), when there is one


def run_demo(data: Path, out: Path, console: Console, time_limit: float | None = None,
             seed: int | None = None, progress_console: Console | None = None) -> DemoResult:
    from forecasts.service import HistoryOptions, load_intervals, make_calendar
    from forecasts.pipeline import forecast as make_forecast
    from .outputs.report import ReportInput, write_report

    config = json.loads((data / "staffing.json").read_text())
    minutes, tz = config["interval_minutes"], config["timezone"]
    targets = {q: ServiceTarget(**t) for q, t in config["queues"].items()}
    res = DemoResult()

    history, ingest = load_intervals(data / "tickets.csv.gz", HistoryOptions(timezone=tz, interval_minutes=minutes))
    console.print(ingest.summary(), highlight=False)
    result = make_forecast(history, config["forecast_days"], tz, minutes,
                           calendar=make_calendar(calendar_file=data / "calendar.csv"))
    res.written["forecast"] = write_csv(result.forecast, out / "forecast.csv")
    res.written["backtest"] = write_csv(result.scores, out / "backtest.csv")

    # Closed where the forecast is sure nothing comes (its upper band is 0): no minimum staffing there.
    demand = result.forecast.assign(open=result.forecast["volume_upper"] > 0)
    req = staff_by_queue(demand, minutes, targets)
    res.written["requirements"] = write_csv(req, out / "requirements.csv")
    res.written["staffing_summary"] = write_csv(summarize(req, minutes), out / "staffing_summary.csv")

    report = ReportInput(first_day=result.first_day, timezone=tz, interval_minutes=minutes, history=history,
                         forecast=result.forecast, scores=result.scores, chosen=result.chosen, requirements=req)
    _roster_step(data, out, result.first_day, req, targets, minutes, tz, time_limit, seed,
                 progress_console or console, res, report)

    scenarios, note = demo_scenarios(data, res.roster, demand, minutes, targets, report.coverage)
    res.written["scenarios"] = write_csv(scenarios, out / "scenarios.csv")
    report.scenarios, report.scenario_note = scenarios, note
    res.written["report"] = write_report(report, out / "report.html")

    paid = None if report.shifts is None else float(report.shifts["paid_hours"].sum())
    from .outputs.tables import accuracy_table, week_headline

    res.headline = week_headline(req, report.coverage, paid, minutes)
    _print_summary(console, accuracy_table(result.scores, result.chosen), res, report, scenarios)
    return res


def demo_scenarios(data: Path, roster, demand: pd.DataFrame, minutes: int, targets: dict[str, ServiceTarget],
                   coverage: pd.DataFrame | None) -> tuple[pd.DataFrame, str]:
    """The demo's scenario step: the comparison table (base first) and a sentence on what it means.

    With a roster, the sample scenario set (`sample_data/scenarios.yaml`) runs through the scenario
    runner (`wfm/scenarios.py`, requirements mode) against this very roster; without one, the
    requirements-only stand-in of `wfm/whatif.py` (same table columns) still shows the staffing."""
    from .whatif import SAMPLE_WHATIFS, compare_whatifs

    if roster is not None and (data / "scenarios.yaml").exists():
        from .scenarios import load_request, run_scenarios

        request = load_request(data / "scenarios.yaml").model_copy(update={"base_roster": roster})
        table = run_scenarios(request).table()
        note = ("Requirements-only what-ifs (sample_data/scenarios.yaml): each scenario's demand is staffed "
                "again (FTE needed); service, under-coverage and the simulated SL are what this week's roster "
                "delivers against it if nothing else changes.")
        return table, note
    table = compare_whatifs(demand, minutes, targets, SAMPLE_WHATIFS, on_queue=coverage)
    note = ("Requirements-only what-ifs: each scenario's demand is staffed again (FTE needed); service and "
            "under-coverage are what this week's roster delivers against it if nothing else changes. "
            "Shrinkage changes the FTE to employ, not the roster's on-queue time.")
    return table, note


def _roster_step(data, out, first_day, req, targets, minutes, tz, time_limit, seed, progress_console,
                 res: DemoResult, report) -> None:
    from .domain import Horizon
    from .outputs.tables import timeline_frame
    from .outputs.workbook import write_roster_workbook
    from .roster.build import roster_input
    from .roster.report import evaluate_roster, roster_frame
    from .roster.solver import solve_roster

    setup = json.loads((data / "roster_setup.json").read_text())
    overrides = {k: v for k, v in (("time_limit_seconds", time_limit), ("seed", seed)) if v is not None}
    setup["solver"] = {**setup.get("solver", {}), **overrides}
    horizon = Horizon(start=first_day, days=7, interval_minutes=minutes, timezone=tz)
    data_in = roster_input(req, horizon, setup, targets)
    limit = data_in.solver.time_limit_seconds
    with SolverDisplay(progress_console, limit, f"rostering {len(data_in.agents)} agents") as show:
        solved = solve_roster(data_in, show)
    report.agents = [a.id for a in data_in.agents]
    if solved.roster is None:
        res.reason = f"{solved.status}: {'; '.join(solved.conflicts) or 'no roster within the time limit'}"
        report.solve = {"status": solved.status, "reason": res.reason}
        return
    res.roster = solved.roster
    check, cov, tot, why = evaluate_roster(data_in, solved.roster)
    shifts = roster_frame(data_in, solved.roster)
    res.written["roster"] = write_csv(shifts, out / "roster.csv")
    res.written["coverage"] = write_csv(cov, out / "coverage.csv")
    res.written["roster_xlsx"] = write_roster_workbook(shifts, cov, tz, out / "roster.xlsx", report.agents)
    res.roster_ok = check.feasible
    if not check.feasible:
        res.reason = f"the roster breaks {len(check.violations)} hard rules: {check.violations[0]}"
    report.coverage, report.shifts = cov, shifts
    report.timeline = timeline_frame(solved.roster, tz)
    report.explanation = why
    report.solve = {"status": solved.status, "gap": solved.gap, "seconds": solved.seconds,
                    "feasible": check.feasible, "violations": len(check.violations), "shifts": tot["shifts"]}


def _pct(v) -> str:
    return "-" if v is None or v != v else f"{100 * v:.1f}%"


def _print_summary(console: Console, accuracy: pd.DataFrame, res: DemoResult, report, scenarios) -> None:
    h, s = res.headline, report.solve
    table = Table(title=f"The week from {report.first_day:%a %d %b %Y}", show_header=False, title_justify="left")
    table.add_column(style="bold")
    table.add_column()
    for r in accuracy.to_dict("records"):
        table.add_row(f"forecast accuracy {r['queue']}",
                      f"WAPE {_pct(r['wape'])} ({r['model']}; seasonal naive {_pct(r['seasonal_naive_wape'])})")
    table.add_row("contacts forecast", f"{h['contacts']:,.0f}")
    table.add_row("FTE needed (40 h)", f"{h['required_fte']:.1f} to employ (after shrinkage); "
                                       f"{h['on_queue_fte']:.1f} on queue")
    if report.shifts is not None:
        table.add_row("FTE rostered", f"{h['rostered_fte']:.1f} ({len(report.shifts)} shifts, {len(report.agents)} agents)")
        table.add_row("projected SL", _pct(h["projected_sl"]))
        table.add_row("under-coverage", f"{h['under_hours']:.1f} agent-hours")
        table.add_row("roster", f"{s['status']}, gap {_pct(s['gap'])}, "
                                f"{'all hard rules hold' if s['feasible'] else 'RULES BROKEN'}")
    else:
        table.add_row("roster", f"[bold red]none[/] ({res.reason})")
    worst = scenarios.iloc[1:].sort_values("service_level").head(1).to_dict("records")
    if worst:
        w = worst[0]
        table.add_row("hardest scenario", f"{w['scenario']}: needs {w['required_fte']:.1f} FTE, "
                                          f"projected SL {_pct(w['service_level'])}")
    console.print(table)
    files = Table(title="Files", show_header=False, title_justify="left")
    for name, path in res.written.items():
        files.add_row(name, str(path))
    console.print(files)
