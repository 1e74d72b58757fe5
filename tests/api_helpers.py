"""Small inputs for the API tests: a one-week roster a solver finishes in a second or two,
and a few weeks of contact history with a known weekly pattern."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, timezone

import numpy as np

from wfm.domain import Horizon
from wfm.roster.domain import (Agent, BreakRule, Contract, QueueRequirement, RosterInput, ShiftTemplate,
                               SolverParams)

MON = date(2026, 1, 5)


def day_template(**kw) -> ShiftTemplate:
    return ShiftTemplate(**{"id": "D", "start_times": [time(8), time(9)], "length_minutes": 480,
                            "breaks": [BreakRule(name="lunch", minutes=60, earliest_minutes=180, latest_minutes=300,
                                                 paid=False)], **kw})


def roster_input(agents: int = 3, seconds: float = 5, need: int = 2, days: int = 7, **solver) -> RosterInput:
    h = Horizon(start=MON, days=days, interval_minutes=60, timezone="Europe/Berlin")
    req = [need if ts.weekday() < 5 and 9 <= ts.hour < 17 else 0 for ts in h.interval_starts()]
    return RosterInput(horizon=h, requirements=[QueueRequirement(queue="q", agents=req)], templates=[day_template()],
                       agents=[Agent(id=f"a{k}", skills=["q"]) for k in range(agents)],
                       solver=SolverParams(time_limit_seconds=seconds, **solver))


def infeasible_input() -> RosterInput:
    """One agent who must work at least 40 h but may work only 2 days: no roster exists."""
    data = roster_input(agents=1, seconds=5)
    agent = Agent(id="solo", skills=["q"], contract=Contract(min_hours=40, max_hours=40, max_days=2))
    return data.model_copy(update={"agents": [agent]})


def busy_input(agents: int = 60, seconds: float = 30) -> RosterInput:
    """A week the solver keeps improving on for the whole time limit (for cancel/kill tests)."""
    import sys
    from pathlib import Path

    # Appended, not first: bench/api.py would otherwise shadow the `api` package for every worker
    # process started afterwards (forkserver children take this process's sys.path).
    bench = str(Path(__file__).resolve().parents[1] / "bench")
    if bench not in sys.path:
        sys.path.append(bench)
    from roster import instance

    return instance(agents, seconds, 1)


def history_rows(weeks: int = 4, start: date = date(2026, 3, 2), seed: int = 0) -> list[dict]:
    """Contacts of one queue, open 8-18 on weekdays, busier on Mondays, in UTC timestamps."""
    rng = np.random.default_rng(seed)
    rows = []
    for d in range(weeks * 7):
        day = start + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for hour in range(8, 18):
            count = rng.poisson(12 if day.weekday() == 0 else 8)
            for _ in range(count):
                ts = datetime.combine(day, time(hour), tzinfo=timezone.utc) + timedelta(seconds=int(rng.integers(3600)))
                rows.append({"created_at": ts.isoformat(), "queue": "billing",
                             "handle_seconds": int(rng.integers(120, 400))})
    return rows


def billing_plan_body(agents: int = 4, contract: dict | None = None) -> dict:
    """A small POST /v1/plans body: four weeks of history, one billing queue, `agents` agents."""
    setup = roster_input(agents=agents, seconds=3)
    agent = {"skills": ["billing"], **({"contract": contract} if contract else {})}
    return {"history": history_rows(weeks=4), "forecast": {"timezone": "Europe/Berlin", "interval_minutes": 60},
            "targets": {"billing": {"service_level": 0.8, "answer_seconds": 20, "shrinkage": 0.3}},
            "templates": [t.model_dump(mode="json") for t in setup.templates],
            "solver": setup.solver.model_dump(mode="json"),
            "agents": [{"id": f"a{k}", **agent} for k in range(agents)]}
