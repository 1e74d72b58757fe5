"""`make demo` / `wfm demo`: the pipeline on sample_data/, outputs in out/.

ticket history -> interval forecast (backtested, with prediction intervals) -> agents needed
per interval -> a validated roster for the named agents of sample_data/roster_setup.json.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .domain import ServiceTarget
from .io import write_csv
from .staffing.frames import staff_by_queue, summarize


def run_demo(data: Path, out: Path, console: Console, roster_seconds: float | None = None) -> dict[str, Path]:
    from forecasts.service import HistoryOptions, make_calendar, run_forecast

    config = json.loads((data / "staffing.json").read_text())
    minutes, tz = config["interval_minutes"], config["timezone"]
    targets = {q: ServiceTarget(**t) for q, t in config["queues"].items()}

    opts = HistoryOptions(timezone=tz, interval_minutes=minutes)
    result, report = run_forecast(data / "tickets.csv.gz", opts, config["forecast_days"],
                                  calendar=make_calendar(calendar_file=data / "calendar.csv"))
    console.print(report.summary())
    written = {"forecast": write_csv(result.forecast, out / "forecast.csv"),
               "backtest": write_csv(result.scores, out / "backtest.csv")}
    # Closed where the forecast is sure nothing comes (its upper band is 0): no minimum staffing there.
    to_staff = result.forecast.assign(open=result.forecast["volume_upper"] > 0)
    req = staff_by_queue(to_staff, minutes, targets)
    written["requirements"] = write_csv(req, out / "requirements.csv")
    summary = summarize(req, minutes)
    written["summary"] = write_csv(summary, out / "staffing_summary.csv")

    written.update(_roster(data, out, result, req, targets, minutes, tz, console, roster_seconds))

    acc = Table(title="Forecast accuracy (backtest, last 4 weeks)")
    for col in ("queue", "model chosen", "WAPE", "seasonal naive WAPE", "band coverage"):
        acc.add_column(col, justify="left" if col in ("queue", "model chosen") else "right")
    for queue, model in result.chosen.items():
        s = result.scores.set_index(["queue", "model"])
        acc.add_row(queue, model, f"{100 * s.loc[(queue, model), 'wape']:.1f}%",
                    f"{100 * s.loc[(queue, 'seasonal_naive'), 'wape']:.1f}%",
                    f"{100 * s.loc[(queue, model), 'coverage']:.0f}%")
    console.print(acc)

    table = Table(title=f"Staffing for the week from {result.first_day}")
    for col in ("queue", "contacts", "peak on-queue", "peak scheduled", "scheduled hours", "FTE (40 h)", "SL"):
        table.add_column(col, justify="left" if col == "queue" else "right")
    for r in summary.to_dict("records"):
        table.add_row(r["queue"], f"{r['contacts']:,.0f}", str(r["peak_agents"]), str(r["peak_scheduled"]),
                      f"{r['scheduled_hours']:,.1f}", f"{r['scheduled_hours'] / 40:.1f}",
                      f"{100 * r['service_level']:.1f}%")
    console.print(table)
    for name, path in written.items():
        console.print(f"{name:>13}: {path}")
    return written


def _roster(data: Path, out: Path, result, req, targets, minutes: int, tz: str, console: Console,
            seconds: float | None) -> dict[str, Path]:
    from .domain import Horizon
    from .roster.build import roster_input
    from .roster.report import evaluate_roster, roster_frame
    from .roster.solver import solve_roster

    setup = json.loads((data / "roster_setup.json").read_text())
    if seconds is not None:
        setup["solver"] = {**setup.get("solver", {}), "time_limit_seconds": seconds}
    horizon = Horizon(start=result.first_day, days=7, interval_minutes=minutes, timezone=tz)
    data_in = roster_input(req, horizon, setup, targets)
    console.print(f"rostering {len(data_in.agents)} agents for the week "
                  f"(time limit {data_in.solver.time_limit_seconds:g} s) ...")
    solved = solve_roster(data_in)
    if solved.roster is None:
        console.print(f"[bold red]no roster:[/] {solved.status} {'; '.join(solved.conflicts)}")
        return {}
    report, cov, tot, why = evaluate_roster(data_in, solved.roster)
    written = {"roster": write_csv(roster_frame(data_in, solved.roster), out / "roster.csv"),
               "coverage": write_csv(cov, out / "coverage.csv")}
    table = Table(title=f"Roster: {solved.status}, {tot['shifts']} shifts, gap {100 * (solved.gap or 0):.1f}%, "
                        f"validator: {'all rules hold' if report.feasible else 'VIOLATIONS'}")
    for col in ("rule", "penalty", "mostly"):
        table.add_column(col, justify="right" if col == "penalty" else "left")
    for row in why:
        table.add_row(row["rule"], f"{row['penalty']:,.0f}", row["mostly"])
    console.print(table)
    console.print(f"under-coverage {tot['under_hours']:.1f} agent-hours, over-coverage {tot['over_hours']:.1f}, "
                  f"paid {tot['paid_hours']:.0f} h, cost {tot['cost']:,.0f}")
    return written
