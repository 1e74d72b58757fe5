"""Rosters recorded under a deterministic limit, to show a refactor changed no roster.

    .venv/bin/python bench/roster_record.py --out before.json            # on the old code
    .venv/bin/python bench/roster_record.py --out after.json --compare before.json

Each input is solved with one worker, seed 0 and `solver.deterministic_limit` (the wall-clock
limit only a safety cap), so the same code gives the same roster on any machine load. Inputs: the
sample site at 30 and 15 minutes (`wfm plan sample_data/plan.yaml`'s roster_input.json, or the
files given by --sample), Curtois-Qu 1-12 (../shared/benchmarks/curtois) and the generated
200-agent week (bench/scale_instance.py). Per input it prints the validated objective, status and a
digest of the roster (every shift with its breaks); with --compare, what differs from a record.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
CURTOIS = ROOT.parent / "shared" / "benchmarks" / "curtois"
sys.path.insert(0, str(HERE))


def digest(roster) -> str:
    rows = sorted(json.dumps(s.model_dump(mode="json"), sort_keys=True) for s in roster.shifts)
    return hashlib.sha256("\n".join(rows).encode()).hexdigest()[:16]


def sample_inputs(paths: list[str]) -> dict[str, Path]:
    if paths:
        return {Path(p).parent.name or p: Path(p) for p in paths}
    folder = Path(tempfile.mkdtemp())
    found = {}
    for interval in (30, 15):
        out = folder / f"sample{interval}"
        subprocess.run([str(Path(sys.executable).parent / "wfm"), "plan", str(ROOT / "sample_data" / "plan.yaml"),
                        "--interval", str(interval), "--time-limit", "1", "--out", str(out)],
                       check=True, capture_output=True)
        found[f"sample{interval}"] = out / "roster_input.json"
    return found


def inputs(args) -> dict[str, object]:
    from wfm.roster import curtois
    from wfm.roster.domain import RosterInput

    found: dict[str, object] = {}
    for name, path in sample_inputs(args.sample).items():
        found[name] = RosterInput.model_validate_json(path.read_text())
    for i in args.curtois:
        path = CURTOIS / f"Instance{i}.txt"
        if path.exists():
            found[f"curtois{i}"] = curtois.load(path)
    if args.agents:
        import scale_instance

        found[f"week{args.agents}"] = scale_instance.instance(args.agents)
    return found


def record(data, limit: float, wall: float) -> dict:
    from wfm.roster.solver import solve_roster
    from wfm.roster.validator import validate

    data = data.model_copy(update={"solver": data.solver.model_copy(update={
        "workers": 1, "seed": 0, "deterministic_limit": limit, "time_limit_seconds": wall})})
    began = time.perf_counter()
    result = solve_roster(data)
    seconds = time.perf_counter() - began
    if result.roster is None:
        return {"status": result.status, "objective": None, "digest": None, "seconds": round(seconds, 1)}
    report = validate(data, result.roster)
    return {"status": result.status, "objective": report.objective, "feasible": report.feasible,
            "digest": digest(result.roster), "seconds": round(seconds, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, required=True, help="JSON file for this run's record")
    parser.add_argument("--compare", type=Path, help="an earlier record: print what differs")
    parser.add_argument("--sample", nargs="*", default=[], help="roster_input.json files instead of a fresh plan")
    parser.add_argument("--curtois", type=lambda s: [int(x) for x in s.split(",") if x], default=list(range(1, 13)))
    parser.add_argument("--agents", type=int, default=200, help="generated week of this many agents (0: none)")
    parser.add_argument("--limit", type=float, default=3.0, help="deterministic limit per solve")
    parser.add_argument("--wall", type=float, default=600.0, help="wall-clock safety cap per solve, seconds")
    args = parser.parse_args()
    earlier = json.loads(args.compare.read_text()) if args.compare else {}
    results = {}
    print("input | objective | status | digest | s | vs record")
    print("--- | --- | --- | --- | --- | ---")
    for name, data in inputs(args).items():
        results[name] = row = record(data, args.limit, args.wall)
        was = earlier.get(name)
        same = "" if was is None else "same" if (was["objective"], was["digest"]) == (row["objective"], row["digest"]) \
            else f"DIFFERS (was {was['objective']}, {was['digest']})"
        print(f"{name} | {row['objective']} | {row['status']} | {row['digest']} | {row['seconds']} | {same}",
              flush=True)
        args.out.write_text(json.dumps(results, indent=1))


if __name__ == "__main__":
    main()
