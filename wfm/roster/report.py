"""What a planner reads: the roster as rows, coverage per interval with projected service,
totals, and the explanation (which rule cost what, and for whom). Built from the validator's
independent score, never from solver internals."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd

from ..domain import zone
from ..staffing import evaluate
from .domain import Roster, RosterInput
from .validator import Report, validate


def roster_frame(data: RosterInput, roster: Roster) -> pd.DataFrame:
    """One row per agent shift: times in local time, breaks and queues spelled out."""
    tz = zone(data.horizon.timezone)
    paid = {t.id: t.paid_minutes / 60 for t in data.templates}
    rows = []
    for s in roster.shifts:
        rows.append({
            "agent": s.agent, "day": s.day.isoformat(), "template": s.template,
            "start": s.start.astimezone(tz).isoformat(), "end": s.end.astimezone(tz).isoformat(),
            "paid_hours": paid[s.template],
            "breaks": "; ".join(f"{b.name} {b.start.astimezone(tz):%H:%M}-{b.end.astimezone(tz):%H:%M}"
                                for b in s.breaks),
            "queues": ",".join(sorted({g.queue for g in s.segments})),
        })
    return pd.DataFrame(rows, columns=["agent", "day", "template", "start", "end", "paid_hours", "breaks", "queues"])


def coverage_frame(data: RosterInput, report: Report) -> pd.DataFrame:
    """Validator coverage plus projected SL/ASA/occupancy where volume, AHT and target are given."""
    cov = report.coverage.copy()
    cov["service_level"] = np.nan
    step_s = data.horizon.interval_minutes * 60.0
    for req in data.requirements:
        if req.volume is None or req.aht_seconds is None or req.target is None:
            continue
        rows = (cov["queue"] == req.queue).to_numpy()
        servers = cov.loc[rows, "on_queue"].to_numpy() * req.target.concurrency
        vol, aht = np.asarray(req.volume, float), np.asarray(req.aht_seconds, float)
        metrics = evaluate(servers, vol / step_s, np.where(vol > 0, aht, 1.0), req.target)
        cov.loc[rows, "service_level"] = np.where(vol > 0, metrics["service_level"], np.nan)
        cov.loc[rows, "volume"] = vol
    return cov


def totals(data: RosterInput, roster: Roster, report: Report) -> dict:
    hours = data.horizon.interval_minutes / 60.0
    paid_by_agent = defaultdict(float)
    tmpl = {t.id: t for t in data.templates}
    for s in roster.shifts:
        paid_by_agent[s.agent] += tmpl[s.template].paid_minutes / 60
    weeks = max(len(data.horizon.dates()) / 7.0, 1e-9)
    agents = [{"agent": a.id, "paid_hours": paid_by_agent[a.id], "contract_min_hours": a.contract.min_hours * weeks,
               "contract_max_hours": a.contract.max_hours * weeks, "cost": paid_by_agent[a.id] * a.cost_per_hour}
              for a in data.agents]
    cov = report.coverage
    return {"under_hours": float(cov["under"].sum() * hours), "over_hours": float(cov["over"].sum() * hours),
            "paid_hours": float(sum(paid_by_agent.values())), "cost": float(sum(r["cost"] for r in agents)),
            "shifts": len(roster.shifts), "agents": agents}


def explanation(report: Report, top: int = 3) -> list[dict]:
    """Penalty per rule, largest first, with the agents it falls on most (where per agent)."""
    rows = []
    for rule, value in sorted(report.penalties.items(), key=lambda kv: -kv[1]):
        who = sorted(((a, p.get(rule.split(":")[0], 0)) for a, p in report.per_agent.items()), key=lambda x: -x[1])
        rows.append({"rule": rule, "penalty": value,
                     "mostly": ", ".join(f"{a} ({v:g})" for a, v in who[:top] if v > 0)})
    return rows


def evaluate_roster(data: RosterInput, roster: Roster) -> tuple[Report, pd.DataFrame, dict, list[dict]]:
    report = validate(data, roster)
    return report, coverage_frame(data, report), totals(data, roster, report), explanation(report)
