"""`make demo` / `wfm demo`: the pipeline on sample_data/, outputs in out/.

ticket history -> interval forecast (backtested, with prediction intervals) -> agents needed
per interval. The roster stage joins when it lands.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .domain import ServiceTarget
from .io import write_csv
from .staffing.frames import staff_by_queue, summarize


def run_demo(data: Path, out: Path, console: Console) -> dict[str, Path]:
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
