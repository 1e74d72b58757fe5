"""Benchmark: a generated contact-center week rostered with CP-SAT, scored by the validator.

    .venv/bin/python bench/roster.py                      # 200 agents, 60 s, 2 workers
    .venv/bin/python bench/roster.py --agents 50 --time-limit 20

Instance: one week, 30-minute intervals, two queues (sales, service) with a two-peak
intraday profile turned into on-queue requirements by the staffing engine (80% in 20 s);
full-time 8.5 h shifts (paid break + unpaid lunch) starting every 30 min 06:00-14:00 and
part-time 4 h shifts (one break); 60% full-time, 20% part-time, 20% multi-skill; rest, max
consecutive days and weekend rules on. Reported: model build time, time to first feasible,
validated objective (the validator's score, not the solver's), bound, gap, under/over
agent-hours, and whether the validator found any broken rule.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from wfm.domain import Horizon, ServiceTarget
from wfm.roster.domain import (Agent, BreakRule, Contract, QueueRequirement, RosterInput, Rules, ShiftTemplate,
                               SolverParams, Weights)
from wfm.roster.model import RosterModel
from wfm.roster.validator import validate
from wfm.staffing import required_agents


def instance(agents: int, time_limit: float, workers: int, seed: int = 0) -> RosterInput:
    rng = np.random.default_rng(seed)
    h = Horizon(start="2026-06-01", days=7, interval_minutes=30, timezone="Europe/Berlin")
    starts = h.interval_starts()
    hour = starts.hour + starts.minute / 60
    day = np.array([1.15, 1.05, 1.0, 1.0, 0.95, 0.5, 0.3])[starts.day_of_week]
    shape = np.where((hour >= 6) & (hour < 22),
                     np.exp(-((hour - 10.5) ** 2) / 5) + 0.8 * np.exp(-((hour - 15) ** 2) / 6) + 0.1, 0)
    # Scale volume so that required on-queue hours come to ~90% of the agents' on-queue capacity
    # (about 32 h a week per agent after breaks and part-time contracts).
    target_hours = 0.9 * 32 * agents
    scale = 1.0
    for _ in range(4):
        reqs = []
        for queue, share, aht in (("sales", 0.55, 300.0), ("service", 0.45, 420.0)):
            vol = shape * day * share * scale * 1800 / aht
            res = required_agents(vol, np.full(len(vol), aht), 30, ServiceTarget(service_level=0.8, answer_seconds=20))
            reqs.append(QueueRequirement(queue=queue, agents=res.agents.astype(float).tolist(), volume=vol.tolist(),
                                         aht_seconds=[aht] * len(vol), target=ServiceTarget()))
        hours = sum(sum(r.agents) for r in reqs) * 0.5
        scale *= target_hours / hours
    full = ShiftTemplate(id="full", earliest_start="06:00", latest_start="14:00", step_minutes=30, length_minutes=510,
                         breaks=[BreakRule(name="break", minutes=30, earliest_minutes=60, latest_minutes=150),
                                 BreakRule(name="lunch", minutes=30, earliest_minutes=210, latest_minutes=300,
                                           paid=False)])
    part = ShiftTemplate(id="part", earliest_start="08:00", latest_start="18:00", step_minutes=60, length_minutes=240,
                         breaks=[BreakRule(name="break", minutes=30, earliest_minutes=90, latest_minutes=150)])
    people = []
    for k in range(agents):
        kind = rng.choice(["full", "part", "multi"], p=[0.6, 0.2, 0.2])
        skills = ["sales", "service"] if kind == "multi" else [str(rng.choice(["sales", "service"]))]
        contract = (Contract(min_hours=12, max_hours=20, max_days=5) if kind == "part"
                    else Contract(min_hours=32, max_hours=40, max_days=5, min_days=4))
        people.append(Agent(id=f"agent-{k:04d}", skills=skills, contract=contract,
                            cost_per_hour=float(rng.uniform(20, 30))))
    return RosterInput(horizon=h, requirements=reqs, templates=[full, part], agents=people,
                       rules=Rules(min_rest_hours=11, max_consecutive_days=6, max_weekends=1),
                       weights=Weights(under=100, over=5),
                       solver=SolverParams(time_limit_seconds=time_limit, workers=workers, seed=0))


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=60)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()

    data = instance(args.agents, args.time_limit, args.workers)
    t0 = time.perf_counter()
    model = RosterModel(data)
    build = time.perf_counter() - t0
    first = []
    result = model.solve(lambda obj, bound, t: first.append((t, obj)) if not first else None)
    report = validate(data, result.roster) if result.roster else None
    hours = data.horizon.interval_minutes / 60
    required_hours = sum(sum(np.ceil(np.array(r.agents) - 1e-9)) for r in data.requirements) * hours
    print(f"Roster benchmark: {args.agents} agents, 7 days x 30-min intervals, 2 queues, breaks on, "
          f"{args.time_limit:g} s, {args.workers} workers")
    print("agents | options | build s | first feasible s | status | validated objective | bound | gap | "
          "required h | under h | over h | validator")
    print(" | ".join(["---"] * 12))
    if report is None:
        print(f"{args.agents} | {len(model.options)} | {build:.1f} | - | {result.status} | - | - | - | "
              f"{required_hours:.0f} | - | - | -")
        return
    under = report.coverage["under"].sum() * hours
    over = report.coverage["over"].sum() * hours
    gap = abs(report.objective - result.bound) / max(report.objective, 1e-9)
    print(f"{args.agents} | {len(model.options)} | {build:.1f} | {first[0][0]:.1f} | {result.status} | "
          f"{report.objective:,.0f} | {result.bound:,.0f} | {100 * gap:.1f}% | {required_hours:,.0f} | "
          f"{under:,.1f} | {over:,.1f} | {'ok' if report.feasible else f'{len(report.violations)} violations'}")


if __name__ == "__main__":
    main()
