"""The roster quality suite's sites: contact-center weeks that look like our users' (bench/roster_quality.py).

    .venv/bin/python bench/site_suite.py            # (re)generate every site into bench/sites/
    .venv/bin/python bench/site_suite.py --sites s30-2q-15-cov

Each site's roster input is stored as JSON in bench/sites/ (with bench/sites/manifest.json saying how it
was made), so the suite does not drift when the forecasting or staffing code changes: the solver is
measured on the stored inputs, and this script is only run again to add or change a site.

Volumes are real: the "Anonymous Bank" per-call records of January 1999 (../shared/data, queues PS, NW,
NE and TT, arrival = date + vru_exit, handle = ser_time of served calls), forecast one week ahead and
staffed per queue by the same path `wfm plan` takes (`wfm.plan.prepare_base` -> `demand` ->
`requirements`, then `wfm.roster.build.roster_input`), with the forecast volume scaled by one factor
per site so that the required on-queue hours are `load` x what the agents can give (their contract's
mid-range hours, less breaks). The agents, templates and rules are drawn from a seeded generator.
The sample site is `wfm plan sample_data/plan.yaml`'s own roster input, at 30 and 15 minutes.
"""

from __future__ import annotations

import argparse
import csv
import json
import subprocess
import tempfile
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SITES = HERE / "sites"
CALLS = ROOT.parent / "shared" / "data" / "anonymous_bank_1999_january.tsv"
QUEUE_ORDER = ("PS", "NW", "NE", "TT")  # by volume in the records: 23k, 5.6k, 1.6k, 1.0k calls


@dataclass(frozen=True)
class SiteSpec:
    name: str
    agents: int
    interval: int        # minutes
    queues: int          # the first `queues` of QUEUE_ORDER
    objective: str       # "coverage" (under 100, over 5, cost 0.1, as the sample) or "cost" (cost 1, under 20)
    load: float          # required on-queue hours / what the agents can give
    seed: int = 0
    max_consecutive_days: int = 6
    min_consecutive_days_off: int = 1


SPECS = (
    SiteSpec("s10-1q-30-cov", 10, 30, 1, "coverage", 0.9, seed=1, max_consecutive_days=5),
    SiteSpec("s30-2q-15-cov", 30, 15, 2, "coverage", 0.9, seed=2),
    SiteSpec("s60-3q-30-cost", 60, 30, 3, "cost", 0.75, seed=3, min_consecutive_days_off=2),
    SiteSpec("s120-4q-15-cov", 120, 15, 4, "coverage", 0.9, seed=4),
    SiteSpec("s300-3q-30-cov", 300, 30, 3, "coverage", 0.9, seed=5),
)
SAMPLE = {"sample-30": 30, "sample-15": 15}
ALL = tuple(SAMPLE) + tuple(s.name for s in SPECS)


def calls_history(path: Path, queues: tuple[str, ...]) -> Path:
    """The per-call records of these queues as the plan's history reader takes them: created_at (local),
    queue, handle_seconds. PHANTOM calls are left out (the data's README: to ignore); unserved calls
    have no handle time."""
    out = Path(tempfile.mkdtemp()) / "calls.csv"
    with path.open() as src, out.open("w", newline="") as dst:
        writer = csv.writer(dst)
        writer.writerow(["created_at", "queue", "handle_seconds"])
        for row in csv.DictReader(src, delimiter="\t"):
            if row["type"] not in queues or row["outcome"] == "PHANTOM":
                continue
            d = row["date"]
            hh, mm, ss = (int(x) for x in row["vru_exit"].split(":"))
            stamp = f"19{d[:2]}-{d[2:4]}-{d[4:6]}T{hh:02d}:{mm:02d}:{ss:02d}"
            served = row["outcome"] == "AGENT" and int(row["ser_time"]) > 0
            writer.writerow([stamp, row["type"], row["ser_time"] if served else ""])
    return out


def forecast_base(history: Path, interval: int, queues: tuple[str, ...]):
    """The plan's forecast of the week after the history, for these queues (no roster, no simulation)."""
    from wfm.plan import parse_config, prepare_base

    targets = {q: {"service_level": 0.8, "answer_seconds": 20, "max_occupancy": 0.9, "min_agents": 1}
               for q in queues}
    raw = {"timezone": "Asia/Jerusalem", "interval_minutes": interval,
           "history": {"file": str(history), "channel_col": None}, "forecast": {"days": 7},
           "queues": targets, "simulation": None}
    return prepare_base(parse_config(raw, source="site suite"))


def templates(interval: int) -> list[dict]:
    """Full-time 8.5 h (break, lunch) and 10 h (two breaks, lunch), part-time 4 h (a break) and 6 h
    (break, lunch); starts on the site's interval (part-time 4 h on the hour). Break windows do not
    overlap (the day re-plan applies only then: `dayplan.applies_to`)."""
    short = 15 if interval == 15 else 30
    brk = {"name": "break", "minutes": short, "earliest_minutes": 60, "latest_minutes": 150, "paid": True}
    lunch = {"name": "lunch", "minutes": 30, "earliest_minutes": 180, "latest_minutes": 300, "paid": False}
    second = {"name": "break 2", "minutes": short, "earliest_minutes": 360, "latest_minutes": 450, "paid": True}
    return [
        {"id": "full", "earliest_start": "07:00", "latest_start": "15:30", "step_minutes": interval,
         "length_minutes": 510, "breaks": [brk, lunch]},
        {"id": "long", "earliest_start": "07:00", "latest_start": "14:00", "step_minutes": interval,
         "length_minutes": 600, "breaks": [brk, lunch, second]},
        {"id": "part4", "earliest_start": "08:00", "latest_start": "20:00", "step_minutes": 60,
         "length_minutes": 240, "breaks": [{**brk, "earliest_minutes": 90}]},
        {"id": "part6", "earliest_start": "08:00", "latest_start": "18:00", "step_minutes": interval,
         "length_minutes": 360,
         "breaks": [{**brk, "latest_minutes": 120}, {**lunch, "earliest_minutes": 150, "latest_minutes": 240}]},
    ]


def agents(spec: SiteSpec, queues: tuple[str, ...], shares: np.ndarray, days: list[date]) -> tuple[list[dict], float]:
    """Seeded agents and the on-queue hours they can give (contract mid-range, less about 10% for breaks).
    65% full-time (32-40 h, 4-5 days), 35% part-time (12-24 h, 3-5 days); 30% of agents take a second
    queue where there is one; 10% have 1-3 days of leave; a few want a day off (weight 20)."""
    rng = np.random.default_rng(spec.seed)
    people, capacity = [], 0.0
    for k in range(spec.agents):
        full = rng.random() < 0.65
        first = str(rng.choice(queues, p=shares))
        skills = [first]
        if len(queues) > 1 and rng.random() < 0.3:
            skills.append(str(rng.choice([q for q in queues if q != first])))
        if full:
            contract = {"min_hours": 32, "max_hours": 40, "min_days": 4, "max_days": 5,
                        "template_caps": {"part4": 0, "part6": 0}}
            pay = 24.0
        else:
            contract = {"min_hours": 12, "max_hours": 24, "min_days": 3, "max_days": 5,
                        "template_caps": {"full": 0, "long": 0}}
            pay = 22.0
        agent = {"id": f"{'ft' if full else 'pt'}-{k:03d}", "skills": sorted(skills),
                 "cost_per_hour": pay + 2.0 * (len(skills) - 1), "contract": contract}
        if rng.random() < 0.1:
            first_day = int(rng.integers(0, len(days)))
            agent["unavailable_days"] = [d.isoformat() for d in days[first_day:first_day + int(rng.integers(1, 4))]]
        elif rng.random() < 0.05:
            agent["preferences"] = [{"day": days[int(rng.integers(0, len(days)))].isoformat(), "want": False,
                                     "weight": 20}]
        people.append(agent)
        capacity += 0.9 * (contract["min_hours"] + contract["max_hours"]) / 2
    return people, capacity


def generated_site(spec: SiteSpec) -> tuple[dict, dict]:
    """The roster input of a generated site (JSON-able) and what it was made of."""
    from wfm.plan import demand, requirements
    from wfm.roster.build import roster_input

    queues = QUEUE_ORDER[:spec.queues]
    base = forecast_base(calls_history(CALLS, queues), spec.interval, queues)
    volume = base.forecast.groupby("queue")["volume"].sum()
    shares = np.array([volume[q] for q in queues]) / sum(volume[q] for q in queues)
    days = [base.horizon.start + timedelta(days=d) for d in range(base.horizon.days)]
    people, capacity = agents(spec, queues, shares, days)
    target = spec.load * capacity
    hours = spec.interval / 60
    frame = demand(base)

    def staffed(factor: float):
        scaled = frame.copy()
        for band in ("volume", "volume_lower", "volume_upper"):
            if band in scaled:
                scaled[band] = scaled[band] * factor
        req = requirements(scaled, base, base.targets)
        return req, float(req["agents"].sum() * hours)

    low, high = 0.0, 1.0
    while staffed(high)[1] < target:
        high *= 2
    for _ in range(12):  # staffing is not linear in volume (and min_agents is a floor): bisect the factor
        middle = (low + high) / 2
        low, high = (middle, high) if staffed(middle)[1] < target else (low, middle)
    factor = high
    req, _ = staffed(factor)
    weights = ({"under": 100, "over": 5, "cost": 0.1, "preference": 1} if spec.objective == "coverage"
               else {"under": 20, "over": 2, "cost": 1.0, "preference": 1})
    setup = {"templates": templates(spec.interval), "agents": people,
             "rules": {"min_rest_hours": 11, "max_consecutive_days": spec.max_consecutive_days,
                       "min_consecutive_days_off": spec.min_consecutive_days_off, "max_weekends": 1},
             "weights": weights, "solver": {"time_limit_seconds": 30, "workers": 2, "seed": 0}}
    data = roster_input(req, base.horizon, setup, base.targets)
    made = {"spec": asdict(spec), "queues": list(queues), "volume_factor": round(factor, 4),
            "required_on_queue_hours": round(float(req["agents"].sum() * hours), 1),
            "agent_capacity_hours": round(capacity, 1),
            "horizon": base.horizon.model_dump(mode="json")}
    return json.loads(data.model_dump_json()), made


def sample_site(interval: int) -> tuple[dict, dict]:
    """`wfm plan sample_data/plan.yaml --interval N`'s roster input (the plan's own stages, no solve)."""
    from wfm.plan import demand, load_config, prepare_base, requirements
    from wfm.roster.build import roster_input

    config = load_config(ROOT / "sample_data" / "plan.yaml", interval=interval)
    base = prepare_base(config.model_copy(update={"simulation": None}))
    req = requirements(demand(base), base, base.targets)
    data = roster_input(req, base.horizon, base.setup, base.targets)
    made = {"from": "sample_data/plan.yaml", "interval": interval,
            "required_on_queue_hours": round(float(req["agents"].sum() * interval / 60), 1),
            "horizon": base.horizon.model_dump(mode="json")}
    return json.loads(data.model_dump_json()), made


def load_site(name: str):
    """A stored site as a RosterInput."""
    from wfm.roster.domain import RosterInput

    return RosterInput.model_validate_json((SITES / f"{name}.json").read_text())


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default=",".join(ALL), help=f"comma-separated, of {', '.join(ALL)}")
    args = parser.parse_args()
    wanted = args.sites.split(",")
    unknown = sorted(set(wanted) - set(ALL))
    if unknown:
        parser.error(f"unknown site(s) {unknown}; the suite has {list(ALL)}")
    SITES.mkdir(exist_ok=True)
    manifest_path = SITES / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for name in wanted:
        if name in SAMPLE:
            data, made = sample_site(SAMPLE[name])
        else:
            data, made = generated_site(next(s for s in SPECS if s.name == name))
        (SITES / f"{name}.json").write_text(json.dumps(data, indent=None, separators=(",", ":")) + "\n")
        made.update(generated_at_commit=_commit(), agents=len(data["agents"]))
        manifest[name] = made
        print(name, json.dumps(made), flush=True)
    manifest_path.write_text(json.dumps(dict(sorted(manifest.items())), indent=1) + "\n")


if __name__ == "__main__":
    main()
