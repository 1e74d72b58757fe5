"""The files of a plan (`wfm plan --out`, `wfm demo`): a `wfm.plan.PlanResult` written to a folder.

forecast.csv, backtest.csv (when forecast from history), requirements.csv, staffing_summary.csv;
with a roster section roster_input.json, and when a roster was found roster.csv, roster.json and
coverage.csv; simulation.csv and simulation_summary.csv when simulated; summary.json always.
"""

from __future__ import annotations

from pathlib import Path

from .jsonout import strict_json
from .outputs.headline import plan_headline
from .plan import PlanResult


def write_plan(result: PlanResult, out: Path) -> dict[str, Path]:
    """Every file of the plan in `out`; returns what was written, by name."""
    from .io import write_csv
    from .staffing.frames import summarize

    out, base, outcome = Path(out), result.base, result.roster
    written: dict[str, Path] = {"forecast": write_csv(base.forecast, out / "forecast.csv")}
    if base.backtest is not None:
        written["backtest"] = write_csv(base.backtest, out / "backtest.csv")
    req = result.requirements.drop(columns=["open"], errors="ignore")
    written["requirements"] = write_csv(req, out / "requirements.csv")
    written["staffing_summary"] = write_csv(summarize(req, base.horizon.interval_minutes),
                                            out / "staffing_summary.csv")
    if outcome is not None:
        written["roster_input"] = write_text(out / "roster_input.json", outcome.data.model_dump_json(indent=1))
        if outcome.roster is not None:
            from .roster.report import roster_frame

            written["roster"] = write_csv(roster_frame(outcome.data, outcome.roster), out / "roster.csv")
            written["roster_json"] = write_text(out / "roster.json", outcome.roster.model_dump_json(indent=1))
            written["coverage"] = write_csv(outcome.coverage, out / "coverage.csv")
    if result.simulation is not None:
        written["simulation"] = write_csv(result.simulation.intervals, out / "simulation.csv")
        written["simulation_summary"] = write_csv(result.simulation.summary, out / "simulation_summary.csv")
    written["summary"] = write_text(out / "summary.json", strict_json(summary(result), indent=1, default=str))
    return written


def summary(result: PlanResult) -> dict:
    """summary.json: the horizon, the plan's metrics, how the roster went, the forecast's notes and
    the headline figures (wfm.outputs.headline, as report.html and the console show them)."""
    from .rostering import clean

    outcome = result.roster
    roster = None
    if outcome is not None:
        roster = {"status": outcome.status, "problem": outcome.reason, "seconds": round(outcome.seconds, 2),
                  "gap": clean(outcome.gap), "changeable_gap": outcome.changeable_gap,
                  "explanation": [{k: clean(v) for k, v in row.items()} for row in outcome.explanation],
                  "objective": None if outcome.check is None else clean(outcome.check.objective)}
    return {"horizon": result.base.horizon.model_dump(mode="json"), "metrics": metrics_json(result.metrics),
            "roster": roster, "notes": result.base.notes, "headline": plan_headline(result)}


def metrics_json(metrics) -> dict:
    """PlanMetrics as strict JSON (an unbounded ASA is null, never Infinity), as the API sends them."""
    from .rostering import clean

    return {k: clean(v) for k, v in metrics.model_dump().items()}


def write_text(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path
