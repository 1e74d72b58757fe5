"""A generated contact-center week for the roster solver at scale (bench/roster_strength.py).

One week, 15-minute intervals, Europe/Berlin; three queues (sales, service, tech) with their own
two-peak intraday and weekday profiles, staffed to 80/20 by the staffing engine. 50 shift
templates: lengths of 4, 6, 8, 9 and 10 hours, each with its own start band (a template per start
hour, starts every 15 minutes in it), breaks on (a paid 15-minute break from 4 hours on, an unpaid
30-minute lunch from 6 hours on, a second paid break from 8 hours on), some bands restricted to a
queue. Agents: 65% full-time (32-40 h, 4-5 days), 25% part-time (12-24 h, up to 5 days), 10%
flexible part-time; 25% of all agents take two queues. Pay grades by contract (so agents of one
contract and skill set are interchangeable, as on a real site). Rules: 11 h rest, 6 days in a row at
most, one weekend. Objective: under-coverage 100 and over-coverage 5 per agent-quarter-hour, plus
labour cost (per paid hour, pay grade x 1). Volume is scaled so required on-queue hours are about
85% of what the agents can give at their contract minimum + maximum midpoint.
"""

from __future__ import annotations

from datetime import time

import numpy as np

from wfm.domain import Horizon, ServiceTarget
from wfm.roster.domain import (Agent, BreakRule, Contract, QueueRequirement, RosterInput, Rules, ShiftTemplate,
                               SolverParams, Weights)
from wfm.staffing import required_agents

QUEUES = (("sales", 0.45, 300.0, 10.5, 15.0), ("service", 0.35, 420.0, 11.0, 16.0), ("tech", 0.20, 600.0, 13.0, 18.0))
LENGTHS = {4: range(8, 19, 1), 6: range(7, 16, 1), 8: range(6, 15, 1), 9: range(6, 15, 1), 10: range(6, 18, 1)}


def templates() -> list[ShiftTemplate]:
    out = []
    for hours, bands in LENGTHS.items():
        for start in bands:
            breaks = [BreakRule(name="break", minutes=15, earliest_minutes=90, latest_minutes=150)]
            if hours >= 6:
                breaks.append(BreakRule(name="lunch", minutes=30, earliest_minutes=180, latest_minutes=270, paid=False))
            if hours >= 8:
                breaks.append(BreakRule(name="break 2", minutes=15, earliest_minutes=330, latest_minutes=390))
            skills = ["tech"] if hours == 10 and start >= 15 else []  # late long shifts: tech on-call desk
            out.append(ShiftTemplate(id=f"{hours}h-{start:02d}", earliest_start=time(start),
                                     latest_start=time(start, 45), step_minutes=15, length_minutes=hours * 60,
                                     crosses_midnight=start + hours >= 24, breaks=breaks, skills=skills))
    return out


def instance(agents: int, time_limit: float = 60, workers: int = 2, seed: int = 0) -> RosterInput:
    rng = np.random.default_rng(seed)
    h = Horizon(start="2026-06-01", days=7, interval_minutes=15, timezone="Europe/Berlin")
    starts = h.interval_starts()
    hour = starts.hour + starts.minute / 60
    weekday = np.array([1.15, 1.05, 1.0, 1.0, 0.95, 0.55, 0.35])[starts.day_of_week]
    people, capacity = _agents(agents, rng)
    target = 0.85 * capacity
    scale, reqs = 1.0, []
    for _ in range(5):
        reqs = []
        for queue, share, aht, peak1, peak2 in QUEUES:
            shape = np.where((hour >= 7) & (hour < 22), np.exp(-((hour - peak1) ** 2) / 4)
                             + 0.7 * np.exp(-((hour - peak2) ** 2) / 5) + 0.1, 0.0)
            vol = shape * weekday * share * scale * 900 / aht
            res = required_agents(vol, np.full(len(vol), aht), 15, ServiceTarget(service_level=0.8, answer_seconds=20))
            reqs.append(QueueRequirement(queue=queue, agents=res.agents.astype(float).tolist(), volume=vol.tolist(),
                                         aht_seconds=[aht] * len(vol), target=ServiceTarget()))
        hours = sum(sum(r.agents) for r in reqs) * 0.25
        scale *= target / hours
    return RosterInput(horizon=h, requirements=reqs, templates=templates(), agents=people,
                       rules=Rules(min_rest_hours=11, max_consecutive_days=6, max_weekends=1),
                       weights=Weights(under=100, over=5, cost=1.0),
                       solver=SolverParams(time_limit_seconds=time_limit, workers=workers, seed=seed))


def _agents(n: int, rng) -> tuple[list[Agent], float]:
    people, capacity = [], 0.0
    for k in range(n):
        kind = rng.choice(["full", "part", "flex"], p=[0.65, 0.25, 0.10])
        first = str(rng.choice(["sales", "service", "tech"], p=[0.45, 0.35, 0.20]))
        skills = [first]
        if rng.random() < 0.25:
            skills.append({"sales": "service", "service": "sales", "tech": "service"}[first])
        if kind == "full":
            contract, pay = Contract(min_hours=32, max_hours=40, min_days=4, max_days=5), 24.0
        elif kind == "part":
            contract, pay = Contract(min_hours=12, max_hours=24, max_days=5), 22.0
        else:
            contract, pay = Contract(min_hours=0, max_hours=30, max_days=5), 21.0
        pay += 2.0 * (len(skills) - 1)
        capacity += 0.9 * (contract.min_hours + contract.max_hours) / 2  # on-queue share of paid time
        people.append(Agent(id=f"agent-{k:04d}", skills=sorted(skills), contract=contract, cost_per_hour=pay))
    return people, capacity
