"""A finished plan job against what happened: the review (`wfm.review`) and the intraday re-plan
(`wfm.intraday`), from the job's stored input and result (plain functions, no HTTP).

Both read a plan folder, so the job's plan is written as the files `wfm plan` writes (summary.json,
forecast.csv, requirements.csv, coverage.csv, roster_input.json, roster.json) to a private folder,
and the request's history rows as history.csv beside it (`api.work` runs them: `review_json`,
`intraday_job`)."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from wfm.errors import InputError



def write_plan_folder(plan_input: dict, result: dict, folder: Path) -> Path:
    """The plan job's files as `wfm plan --out` writes them (those a review and intraday read)."""
    from wfm.domain import Horizon, ServiceTarget
    from wfm.roster.build import roster_input
    from wfm.roster.domain import Roster

    options, forecast = plan_input["forecast"], result["forecast"]
    horizon = Horizon(start=forecast["first_day"], days=options["days"], interval_minutes=options["interval_minutes"],
                      timezone=options["timezone"])
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "summary.json").write_text(json.dumps({"horizon": horizon.model_dump(mode="json")}))
    pd.DataFrame(forecast["intervals"]).to_csv(folder / "forecast.csv", index=False)
    requirements = pd.DataFrame(result["requirements"])
    requirements.to_csv(folder / "requirements.csv", index=False)
    roster = result.get("roster")
    if roster:
        pd.DataFrame(roster["coverage"]).to_csv(folder / "coverage.csv", index=False)
        default = plan_input.get("default_target")
        queues = sorted(requirements["queue"].astype(str).unique())
        targets = {q: ServiceTarget(**(plan_input.get("targets") or {}).get(q, default or {})) for q in queues}
        setup = {k: plan_input[k] for k in ("templates", "agents", "rules", "weights", "solver")
                 if plan_input.get(k) is not None}
        frame = requirements.assign(interval_start=pd.to_datetime(requirements["interval_start"], utc=True))
        data = roster_input(frame, horizon, setup, targets)
        (folder / "roster_input.json").write_text(data.model_dump_json())
        (folder / "roster.json").write_text(Roster.model_validate(roster["roster"]).model_dump_json())
    return folder


def reading(plan_input: dict, options: dict):
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions

    """How the request's rows are read: its column mapping, in the plan's timezone and intervals."""
    return HistoryOptions(timezone=plan_input["forecast"]["timezone"],
                          interval_minutes=plan_input["forecast"]["interval_minutes"],
                          columns=ColumnMap(**(options.get("columns") or {})),
                          timestamp_format=options.get("timestamp_format"),
                          on_bad_row=options.get("on_bad_row", "error"), drop_if=options.get("drop_if") or {})


def check_now(plan_input: dict, result: dict, now: str) -> None:
    """`now` must be a time on one of the plan's days (checked before a job is queued)."""
    from wfm.intraday import parse_now

    instant = parse_now(now, plan_input["forecast"]["timezone"])
    first = pd.Timestamp(result["forecast"]["first_day"]).date()
    days = plan_input["forecast"]["days"]
    if not 0 <= (instant.date() - first).days < days:
        raise InputError("now", now, f"not on the plan's days ({first} and the {days - 1} after)")
