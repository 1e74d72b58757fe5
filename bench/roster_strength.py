"""Roster solver strength: four tables.

    .venv-bench/bin/python bench/roster_strength.py                 # all of them (about 50 minutes)
    .venv-bench/bin/python bench/roster_strength.py --part curtois  # or curtois-large, week1, scale
    .venv-bench/bin/python bench/roster_strength.py --part curtois --instances 1,5 --time-limit 20
    .venv-bench/bin/python bench/roster_strength.py --part scale --sizes 200 --limits 60 --seeds 0,1,2,3,4

1. Curtois-Qu instances 1-12 (../shared/benchmarks/curtois), each through the scripts' contract
   `wfm roster curtois InstanceN.txt --time-limit 60 --solver-threads 2 --out roster.csv` in its own
   process: the validated objective against the published best known, and, as the baseline of the
   same run, the plain CP-SAT model of the same input (the full model from a greedy hint, no
   column generation or neighbourhood search) with the same limits.
   Then generated instances in the same format at its largest sizes (bench/curtois_generate.py, up
   to 150 employees, 364 days, 32 shift types) through the same CLI, with each run's peak memory.
2. ../shared/benchmarks/week1.json with pyworkforce (anonymous shift counts, no agents, no labour
   rules, no breaks: a bound on what any named roster can reach) and with our solver rostering named
   agents under contracts and rules, without and then with breaks. Coverage error = sum over the
   week's periods of |scheduled - required| agent-periods.
3. Generated 15-minute weeks of 200 and 1,000 agents (bench/scale_instance.py: 50 templates,
   breaks, 25% multi-skill, pay grades): time to the first valid roster, validated objective, lower
   bound and gap at 10, 60 and 300 s, and peak memory, each solve in its own process.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SHARED = ROOT.parent / "shared" / "benchmarks"
WFM = Path(sys.executable).parent / "wfm"


# -- 1. Curtois-Qu ------------------------------------------------------------------------------------------
def curtois_table(instances: list[int], limit: float, workers: int, baseline: bool) -> None:
    from wfm.roster import curtois

    print(f"\n### Curtois-Qu instances, {limit:g} s, {workers} workers (validated objective; gap to best known)\n")
    head = ["instance", "employees x days x shifts", "best known", "ours", "gap", "bound", "status", "s"]
    if baseline:
        head += ["plain CP-SAT", "plain gap"]
    print(" | ".join(head))
    print(" | ".join(["---"] * len(head)))
    for i in instances:
        path = SHARED / "curtois" / f"Instance{i}.txt"
        data = curtois.load(path)
        size = f"{len(data.agents)} x {len(data.horizon.dates())} x {len(data.templates)}"
        best = curtois.best_known(path)
        with tempfile.TemporaryDirectory() as tmp:
            out = subprocess.run([str(WFM), "roster", "curtois", str(path), "--time-limit", str(limit),
                                  "--solver-threads", str(workers), "--out", f"{tmp}/roster.csv"],
                                 capture_output=True, text=True)
        line = json.loads(out.stdout.strip().splitlines()[-1])
        row = [f"Instance{i}", size, f"{best:,}", f"{line['objective']:,.0f}",
               f"{100 * line['gap_to_best_known']:.1f}%",
               "-" if line["bound"] is None else f"{line['bound']:,.0f}", line["status"], f"{line['seconds']:.0f}"]
        if baseline:
            plain = _plain(path, limit, workers)
            row += [f"{plain:,.0f}" if plain is not None else "none",
                    f"{100 * (plain - best) / best:.1f}%" if plain is not None else "-"]
        print(" | ".join(row), flush=True)


def _plain(path: Path, limit: float, workers: int) -> float | None:
    """The plain model (full CP-SAT model, greedy hint, nothing else), in its own process."""
    code = ("import sys, json; from pathlib import Path; from wfm.roster import curtois; "
            "from wfm.roster.solver import RosterModel; from wfm.roster.validator import validate; "
            f"d = curtois.load(Path({str(path)!r}), time_limit={limit}, workers={workers}); "
            "r = RosterModel(d).solve(); "
            "print(json.dumps(validate(d, r.roster).objective if r.roster else None))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


LARGE_CURTOIS = ((100, 56, 10), (150, 364, 32))  # employees, days, shift types; the second is the format's largest


def curtois_large_table(limit: float, workers: int) -> None:
    """Generated instances in the benchmark's format at its largest sizes (bench/curtois_generate.py),
    through the same CLI contract: that they import, build within memory and give a valid roster."""
    from curtois_generate import generate

    print(f"\n### Curtois format at its largest sizes (generated), {limit:g} s, {workers} workers\n")
    head = ["employees x days x shifts", "objective", "bound", "status", "feasible", "s", "peak memory MB"]
    print(" | ".join(head))
    print(" | ".join(["---"] * len(head)))
    for employees, days, shifts in LARGE_CURTOIS:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "instance.txt"
            path.write_text(generate(employees, days, shifts))
            line, peak = _run_measured([str(WFM), "roster", "curtois", str(path), "--time-limit", str(limit),
                                        "--solver-threads", str(workers), "--out", f"{tmp}/roster.csv"])
        objective = "-" if line.get("objective") is None else f"{line['objective']:,.0f}"
        bound = "-" if line.get("bound") is None else f"{line['bound']:,.0f}"
        print(f"{employees} x {days} x {shifts} | {objective} | {bound} | {line.get('status')} | "
              f"{line.get('feasible')} | {line.get('seconds', 0):.0f} | {peak:,.0f}", flush=True)


def _run_measured(command: list[str]) -> tuple[dict, float]:
    """The command's last JSON line and its own peak resident memory in MB (from wait4)."""
    import os

    with tempfile.TemporaryFile("w+") as out:
        child = subprocess.Popen(command, stdout=out, stderr=subprocess.DEVNULL, text=True)
        _, _, usage = os.wait4(child.pid, 0)
        out.seek(0)
        lines = out.read().strip().splitlines()
    return (json.loads(lines[-1]) if lines else {}), usage.ru_maxrss / 1024


# -- 2. week1 side by side with pyworkforce ----------------------------------------------------------------
def week1_table(limit: float, workers: int) -> None:
    week = json.loads((SHARED / "week1.json").read_text())
    week["templates"] = [{"id": k, **v} for k, v in week["templates"].items()]  # id -> start, length
    required = week["required"]
    print(f"\n### week1.json: pyworkforce vs named agents ({limit:g} s, {workers} workers)\n")
    pyw = _pyworkforce(week, limit, workers)
    print("solver | agents / shifts | coverage error (agent-periods) | under | over | vs pyworkforce | rules | s")
    print(" | ".join(["---"] * 8))
    print(f"pyworkforce MinAbsDifference | {pyw['shifts']} anonymous shifts | {pyw['error']} | {pyw['under']} | "
          f"{pyw['over']} | 1.00 | none (no agents, no breaks) | {pyw['seconds']:.0f}")
    for breaks in (False, True):
        r = _ours_week1(week, required, pyw, breaks, limit, workers)
        print(f"wfm, named agents{', breaks on' if breaks else ''} | {r['agents']} agents, {r['shifts']} shifts | "
              f"{r['error']} | {r['under']} | {r['over']} | {r['error'] / pyw['error']:.2f} | "
              f"{r['rules']} | {r['seconds']:.0f}", flush=True)
    print(f"\nAgents: {AGENT_MIX}. Coverage counts on-queue agents (an agent on a break is not on the queue).")


def _pyworkforce(week, limit, workers) -> dict:
    import numpy as np
    from pyworkforce.scheduling import MinAbsDifference

    periods = week["periods_per_day"]
    coverage = {}
    for t in week["templates"]:
        cover = [0] * periods
        for p in range(t["start_period"], t["start_period"] + t["length_periods"]):
            cover[p] = 1
        coverage[t["id"]] = cover
    started = time.perf_counter()
    solver = MinAbsDifference(num_days=week["days"], periods=periods, shifts_coverage=coverage,
                              required_resources=week["required"], max_period_concurrency=200,
                              max_shift_concurrency=100, max_search_time=float(limit), num_search_workers=workers)
    solution = solver.solve()
    seconds = time.perf_counter() - started
    have = np.zeros((week["days"], periods))
    shifts = 0
    for item in solution["resources_shifts"]:
        have[item["day"]] += item["resources"] * np.array(coverage[item["shift"]])
        shifts += item["resources"]
    need = np.array(week["required"])
    return {"error": int(abs(have - need).sum()), "under": int(np.clip(need - have, 0, None).sum()),
            "over": int(np.clip(have - need, 0, None).sum()), "shifts": shifts, "seconds": seconds,
            "solution": solution["resources_shifts"]}


AGENT_MIX = ("full-time: 5 days x 8 h, 32-40 h a week (4-5 days); part-time: 4-h shifts, 12-20 h (3-5 days); "
             "as many full-timers as pyworkforce's 8-h shifts need (/5) and part-timers for its 4-h shifts (/5), "
             "plus 5% spare; 11 h rest, at most 6 days in a row")


def _ours_week1(week, required, pyw, breaks: bool, limit, workers) -> dict:
    from datetime import time as clock_time

    from wfm.domain import Horizon
    from wfm.roster.domain import (Agent, BreakRule, Contract, QueueRequirement, RosterInput, Rules, ShiftTemplate,
                                   SolverParams, Weights)
    from wfm.roster.solver import solve_roster
    from wfm.roster.validator import validate

    minutes = week["period_minutes"]
    h = Horizon(start="2026-06-01", days=week["days"], interval_minutes=minutes, timezone="UTC")
    templates = []
    for t in week["templates"]:
        start = t["start_period"] * minutes
        length = t["length_periods"] * minutes
        rules = []
        if breaks and length >= 8 * 60:
            rules = [BreakRule(name="lunch", minutes=30, earliest_minutes=180, latest_minutes=300, paid=False)]
        elif breaks:
            rules = [BreakRule(name="break", minutes=30, earliest_minutes=60, latest_minutes=150)]
        templates.append(ShiftTemplate(id=t["id"], start_times=[clock_time(start // 60, start % 60)],
                                       length_minutes=length, breaks=rules))
    full_ids = [t["id"] for t in week["templates"] if t["length_periods"] * minutes >= 8 * 60]
    n_full, n_part = _mix(week, pyw["solution"])
    paid_full = 8 * 60 - (30 if breaks else 0)
    agents = [Agent(id=f"full-{k:03d}", skills=["phone"],
                    contract=Contract(min_hours=4 * paid_full / 60, max_hours=5 * paid_full / 60, min_days=4,
                                      max_days=5,
                                      template_caps={x["id"]: 0 for x in week["templates"] if x["id"] not in full_ids}))
              for k in range(n_full)]
    agents += [Agent(id=f"part-{k:03d}", skills=["phone"],
                     contract=Contract(min_hours=12, max_hours=20, min_days=3, max_days=5,
                                       template_caps={t: 0 for t in full_ids}))
               for k in range(n_part)]
    need = [float(v) for day in required for v in day]
    data = RosterInput(horizon=h, requirements=[QueueRequirement(queue="phone", agents=need)], templates=templates,
                       agents=agents, rules=Rules(min_rest_hours=11, max_consecutive_days=6),
                       weights=Weights(under=1, over=1), solver=SolverParams(time_limit_seconds=limit, workers=workers))
    started = time.perf_counter()
    result = solve_roster(data)
    seconds = time.perf_counter() - started
    report = validate(data, result.roster)
    cov = report.coverage
    under, over = int(cov["under"].sum()), int(cov["over"].sum())
    return {"agents": len(agents), "shifts": len(result.roster.shifts), "error": under + over, "under": under,
            "over": over, "rules": "all hold" if report.feasible else f"{len(report.violations)} broken",
            "seconds": seconds}


def _mix(week, solution) -> tuple[int, int]:
    """Full- and part-timers for the week: pyworkforce's shift counts by length, /5 days, +5%."""
    long = sum(r["resources"] for r in solution if _length(week, r["shift"]) >= 8 * 60)
    short = sum(r["resources"] for r in solution if _length(week, r["shift"]) < 8 * 60)
    return math.ceil(long / 5 * 1.05), math.ceil(short / 5 * 1.05)


def _length(week, shift_id) -> int:
    t = next(t for t in week["templates"] if t["id"] == shift_id)
    return t["length_periods"] * week["period_minutes"]


# -- 3. scale -------------------------------------------------------------------------------------------------
def scale_table(sizes: list[int], limits: list[float], workers: int, seeds: list[int]) -> None:
    """One row per (agents, limit, solver seed); with several seeds, a median row after them (a
    60 s solve of 200 agents varies by about 1.5% of its objective from run to run, seed or not)."""
    print(f"\n### Generated 15-minute weeks (bench/scale_instance.py), {workers} workers, "
          "each solve in its own process\n")
    print("agents | limit s | seed | first valid roster s | validated objective | bound | gap | under h | over h | "
          "status | peak memory MB | s")
    print(" | ".join(["---"] * 12))
    for n in sizes:
        for limit in limits:
            gaps = []
            for seed in seeds:
                r = _scale_run(n, limit, workers, seed)
                if "failed" in r:
                    print(f"{n} | {limit:g} | {seed} | failed: {r['failed']}")
                    continue
                if r["gap"] is not None:
                    gaps.append(r["gap"])
                gap = "-" if r["gap"] is None else f"{100 * r['gap']:.1f}%"
                bound = "-" if r["bound"] is None else f"{r['bound']:,.0f}"
                first = "-" if r["first"] is None else f"{r['first']:.1f}"
                obj = "-" if r["objective"] is None else f"{r['objective']:,.0f}"
                print(f"{n} | {limit:g} | {seed} | {first} | {obj} | {bound} | {gap} | {r['under_h']:.1f} | "
                      f"{r['over_h']:.1f} | {r['status']} | {r['rss_mb']:,.0f} | {r['seconds']:.0f}", flush=True)
            if len(seeds) > 1 and gaps:
                print(f"{n} | {limit:g} | median of {len(gaps)} | | | | {100 * statistics.median(gaps):.1f}% "
                      f"(range {100 * min(gaps):.1f}-{100 * max(gaps):.1f}%) | | | | |", flush=True)


def _scale_run(n: int, limit: float, workers: int, seed: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--run-scale", str(n), "--time-limit", str(limit),
                          "--solver-threads", str(workers), "--seed", str(seed)], capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"failed": out.stderr.strip().splitlines()[-1:]}


def run_scale(n: int, limit: float, workers: int, seed: int) -> None:
    sys.path.insert(0, str(HERE))
    from scale_instance import instance

    from wfm.roster.solver import solve_roster
    from wfm.roster.validator import validate

    data = instance(n, limit, workers)   # the same site whatever the solver's seed
    data.solver.seed = seed
    first = []
    started = time.perf_counter()
    result = solve_roster(data, lambda obj, bound, t: first.append(t) if not first else None)
    seconds = time.perf_counter() - started
    report = validate(data, result.roster) if result.roster is not None else None
    hours = data.horizon.interval_minutes / 60
    objective = report.objective if report else None
    gap = None if objective is None or result.bound is None else (objective - result.bound) / max(objective, 1e-9)
    print(json.dumps({
        "first": first[0] if first else None, "objective": objective, "bound": result.bound, "gap": gap,
        "status": result.status if (report is None or report.feasible) else "RULES BROKEN",
        "under_h": float(report.coverage["under"].sum() * hours) if report else float("nan"),
        "over_h": float(report.coverage["over"].sum() * hours) if report else float("nan"),
        "rss_mb": _peak_mb(), "seconds": seconds}))


def _peak_mb() -> float:
    """This process's peak resident memory. (getrusage's ru_maxrss survives exec on Linux, so a
    child started by a large parent reports the parent's size; VmHWM belongs to the new image.)"""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "curtois", "curtois-large", "week1", "scale"], default="all")
    parser.add_argument("--instances", default="1,2,3,4,5,6,7,8,9,10,11,12")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--no-baseline", action="store_true", help="Curtois: skip the plain-model baseline runs")
    parser.add_argument("--sizes", default="200,1000")
    parser.add_argument("--limits", default="10,60,300")
    parser.add_argument("--seeds", default="0", help="scale: solver seeds, a row each and their median")
    parser.add_argument("--seed", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--run-scale", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run_scale:
        run_scale(args.run_scale, args.time_limit, args.workers, args.seed)
        return
    if args.part in ("all", "curtois"):
        curtois_table([int(i) for i in args.instances.split(",")], args.time_limit, args.workers, not args.no_baseline)
    if args.part in ("all", "curtois-large"):
        curtois_large_table(args.time_limit, args.workers)
    if args.part in ("all", "week1"):
        week1_table(args.time_limit, args.workers)
    if args.part in ("all", "scale"):
        scale_table([int(n) for n in args.sizes.split(",")], [float(t) for t in args.limits.split(",")], args.workers,
                    [int(k) for k in args.seeds.split(",")])


if __name__ == "__main__":
    main()
