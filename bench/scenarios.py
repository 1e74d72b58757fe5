"""Benchmark: scenario sets and simulation on the 200-agent week, sequential vs process pool vs Dask.

    .venv/bin/python bench/scenarios.py                                  # 50 + 10 scenarios
    .venv/bin/python bench/scenarios.py --roster-scenarios 4 --deterministic-limit 3

Instance: bench/roster.py's generated week (200 agents, two queues, 30-minute intervals), written
out as a forecast file and a roster setup so the scenarios go through the same path as
`wfm scenario run`. Workloads:
* 50 requirements-only scenarios (volume by day/queue/time range, AHT, SL targets, shrinkage,
  occupancy caps), each with 5 simulation replications of the roster in force. The base roster is
  solved once beforehand and passed in, so every backend times the same work. Median of 3 runs.
* 10 full re-roster scenarios plus the base, each a CP-SAT solve with one solver thread
  stopped by a deterministic limit (default 5 units, about 5-10 s of search after a ~20 s model
  build on this machine; a 300 s wall-clock cap), then validated and simulated (5
  replications). The deterministic limit makes every backend do the same work and find the
  same rosters whatever the machine load, so the times compare like with like; a wall-clock
  limit would give contended workers less search and fewer rosters. One run (minutes).
* Simulation throughput: the base roster, 20 replications.
Backends: this process; a local process pool of 2; a Dask LocalCluster of 2 worker processes
(1 thread each). The machine's cores are shared, so absolute times vary; ratios are within a run.
"task s / wall s" is the time spent inside the tasks over the wall time: about 1 in this process,
up to 2 with two workers; when it is near 2 but the speed-up is not, the workers ran at once
and were slowed by other load on the cores.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))

from roster import instance  # noqa: E402

from wfm.executor import DaskExecutor, ProcessExecutor, SequentialExecutor  # noqa: E402
from wfm.plan import build_roster, demand, parse_config, prepare_base, requirements  # noqa: E402
from wfm.scenarios import Scenario, ScenarioRequest, run_scenarios  # noqa: E402
from wfm.simulate import SimulationOptions, simulate_roster  # noqa: E402

DAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


def write_instance(folder: Path, time_limit: float = 300) -> dict:
    data = instance(200, time_limit, 1)
    starts = data.horizon.interval_starts()
    rows = [pd.DataFrame({"interval_start": [t.isoformat() for t in starts], "queue": r.queue,
                          "volume": r.volume, "aht_seconds": r.aht_seconds}) for r in data.requirements]
    pd.concat(rows).to_csv(folder / "forecast.csv", index=False)
    setup = {k: json.loads(getattr(data, k).model_dump_json()) if k in ("rules", "weights", "solver") else
             [json.loads(x.model_dump_json()) for x in getattr(data, k)] for k in ("templates", "agents", "rules",
                                                                                    "weights", "solver")}
    (folder / "setup.json").write_text(json.dumps(setup))
    return {"timezone": data.horizon.timezone, "interval_minutes": 30, "forecast": {"file": "forecast.csv"},
            "queues": {r.queue: json.loads(r.target.model_dump_json()) for r in data.requirements},
            "roster": {"setup": "setup.json"}, "simulation": {"replications": 5}}


def requirement_scenarios(count: int, seed: int = 1) -> list[Scenario]:
    rng = np.random.default_rng(seed)
    out = []
    for k in range(count):
        kind = k % 5
        if kind == 0:
            s = {"volume": [{"multiplier": float(rng.uniform(0.85, 1.3)), "days": [DAYS[k % 7]]}]}
        elif kind == 1:
            s = {"volume": [{"multiplier": float(rng.uniform(1.1, 1.5)), "queues": [["sales", "service"][k % 2]],
                             "start_time": "10:00", "end_time": "14:00"}]}
        elif kind == 2:
            s = {"aht": [{"add_seconds": float(rng.integers(-30, 60))}]}
        elif kind == 3:
            s = {"targets": [{"service_level": float(rng.choice([0.7, 0.85, 0.9])),
                              "answer_seconds": float(rng.choice([15, 20, 30]))}]}
        else:
            s = {"shrinkage": float(rng.uniform(0.2, 0.4)), "max_occupancy": float(rng.choice([0.8, 0.85, 0.9]))}
        out.append(Scenario(name=f"req-{k:02d}", **s))
    return out


def roster_scenarios(count: int) -> list[Scenario]:
    choices = [
        {"volume": [{"multiplier": 1.15, "days": ["monday"]}]},
        {"volume": [{"multiplier": 1.15, "days": ["monday"]}], "aht": [{"add_seconds": 20}],
         "hire": [{"count": 8, "prefix": "pt", "skills": ["sales"], "cost_per_hour": 22,
                   "contract": {"min_hours": 12, "max_hours": 20, "max_days": 5}}]},
        {"remove": {"count": 10}},
        {"rules": {"max_weekends": 2}},
        {"targets": [{"service_level": 0.9}]},
        {"volume": [{"multiplier": 0.9}]},
        {"aht": [{"multiplier": 1.1}]},
        {"hire": [{"count": 5, "prefix": "ms", "skills": ["sales", "service"], "cost_per_hour": 28}]},
        {"volume": [{"multiplier": 1.2, "queues": ["service"]}]},
        {"rules": {"min_rest_hours": 12}},
    ]
    return [Scenario(name=f"roster-{k:02d}", **choices[k % len(choices)]) for k in range(count)]


def backends():
    from distributed import LocalCluster

    yield "sequential", lambda: SequentialExecutor()
    yield "process pool (2)", lambda: ProcessExecutor(2)
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
    try:
        yield "Dask LocalCluster (2 workers)", lambda: DaskExecutor(cluster.scheduler_address)
    finally:
        cluster.close()


def timed_set(request, base, make, repeats, failures):
    times, last = [], None
    for _ in range(repeats):
        executor = make()
        started = time.perf_counter()
        last = run_scenarios(request, executor, base=base)
        times.append(time.perf_counter() - started)
    results = [last.base, *last.scenarios]
    failures.extend(f"{executor.name}, {r.name}: {r.error}" for r in results if r.status != "ok")
    paid = sum(r.metrics.scheduled_paid_hours or 0 for r in results if r.metrics)  # same work on every backend?
    busy = sum(r.seconds for r in results)  # time inside the tasks: busy / wall = tasks running at once
    return statistics.median(times), sum(r.status == "ok" for r in results), len(results), paid, busy


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requirement-scenarios", type=int, default=50)
    parser.add_argument("--roster-scenarios", type=int, default=10)
    parser.add_argument("--deterministic-limit", type=float, default=5.0,
                        help="CP-SAT deterministic time limit per roster (the same search on any load)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="wall-clock cap per roster, seconds")
    parser.add_argument("--replications", type=int, default=20, help="for the throughput row")
    parser.add_argument("--repeats", type=int, default=3, help="runs of the requirements-only set (median)")
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="wfm-bench-"))
    raw = write_instance(folder, args.time_limit)
    raw["roster"]["solver"] = {"time_limit_seconds": args.time_limit, "workers": 1, "seed": 0,
                               "deterministic_limit": args.deterministic_limit}
    config = parse_config(raw, folder)
    base = prepare_base(config)
    t0 = time.perf_counter()
    solved = build_roster(requirements(demand(base), base, base.targets), base, base.setup, base.targets)
    base_seconds = time.perf_counter() - t0
    if solved.roster is None:
        sys.exit(f"no base roster within the limits ({solved.status}); raise --deterministic-limit")
    req_set = ScenarioRequest(base=config, mode="requirements", base_roster=solved.roster,
                              scenarios=requirement_scenarios(args.requirement_scenarios))
    roster_set = args.roster_scenarios and ScenarioRequest(base=config, mode="roster",
                                                           scenarios=roster_scenarios(args.roster_scenarios))
    sim_options = SimulationOptions(replications=args.replications, seed=0)

    rows, failures = {}, []
    for name, make in backends():
        row = rows[name] = {}
        row["req"] = timed_set(req_set, base, make, args.repeats, failures)
        print(f"{name}: {args.requirement_scenarios} requirements-only scenarios in {row['req'][0]:.1f} s", flush=True)
        if args.roster_scenarios:
            row["roster"] = timed_set(roster_set, base, make, 1, failures)
            print(f"{name}: {args.roster_scenarios} roster scenarios in {row['roster'][0]:.1f} s", flush=True)
        with make() as executor:
            started = time.perf_counter()
            sim = simulate_roster(solved.data, solved.roster, sim_options, executor)
            row["sim"] = (time.perf_counter() - started, sim.contacts)
        print(f"{name}: simulation {sim.contacts:,} contacts in {row['sim'][0]:.1f} s", flush=True)

    print()
    import os

    print(f"Scenario benchmark: 200 agents, 7 days x 30-min intervals, 2 queues, {os.cpu_count()} cores "
          f"(load average at the end {os.getloadavg()[0]:.1f}); base roster solved once beforehand in "
          f"{base_seconds:.0f} s; every roster: CP-SAT 1 thread, seed 0, deterministic limit "
          f"{args.deterministic_limit:g} (wall cap {args.time_limit:g} s); "
          "every scenario simulated with 5 replications")
    print()
    print("backend | requirements-only: ok | s (median of %d) | x sequential | task s / wall s | "
          "re-roster (incl. base): ok | s | x sequential | task s / wall s | paid h, all rosters | "
          "simulation: replications | contacts | s | contacts/s" % args.repeats)
    print(" | ".join(["---"] * 14))
    seq = rows["sequential"]
    for name, row in rows.items():
        req_s, req_ok, req_n, _, req_busy = row["req"]
        cells = [name, f"{req_ok}/{req_n}", f"{req_s:.1f}", f"{seq['req'][0] / req_s:.2f}", f"{req_busy / req_s:.2f}"]
        if "roster" in row:
            r_s, r_ok, r_n, paid, r_busy = row["roster"]
            cells += [f"{r_ok}/{r_n}", f"{r_s:.0f}", f"{seq['roster'][0] / r_s:.2f}", f"{r_busy / r_s:.2f}",
                      f"{paid:,.0f}"]
        else:
            cells += ["-", "-", "-", "-", "-"]
        sim_s, contacts = row["sim"]
        cells += [str(args.replications), f"{contacts:,}", f"{sim_s:.1f}", f"{contacts / sim_s:,.0f}"]
        print(" | ".join(cells))
    for line in failures:
        print(f"failed: {line}")


if __name__ == "__main__":
    main()
