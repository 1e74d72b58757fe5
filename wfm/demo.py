"""`make demo` / `wfm demo`: the pipeline on sample_data/, outputs in out/.

Today the pipeline is staffing (interval reports -> requirements); forecasting and rostering
join it as they land.
"""

from __future__ import annotations

import json
from pathlib import Path

from rich.console import Console
from rich.table import Table

from .domain import ServiceTarget
from .io import infer_interval_minutes, read_interval_csv, write_csv
from .staffing.frames import staff_frame, summarize


def run_demo(data: Path, out: Path, console: Console) -> dict[str, Path]:
    target = ServiceTarget(**json.loads((data / "staffing.json").read_text()))
    frame = read_interval_csv(data / "interval_volumes.csv")
    minutes = infer_interval_minutes(frame["interval_start"], frame["queue"])
    req = staff_frame(frame, minutes, target)
    written = {"requirements": write_csv(req, out / "requirements.csv")}
    summary = summarize(req, minutes)
    write_csv(summary, out / "staffing_summary.csv")
    written["summary"] = out / "staffing_summary.csv"

    table = Table(title=f"Staffing to {target.service_level:.0%} in {target.answer_seconds:g} s, "
                        f"shrinkage {target.shrinkage:.0%}")
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
