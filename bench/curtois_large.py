"""Generated Curtois-Qu instances of 100+ employees through `wfm roster curtois`: per instance the
validated objective, its cover penalty (shift-demand under + over), the bound and its source, the
gap (objective - bound) / objective and the cover penalty against the bound, with the load.

    .venv/bin/python bench/curtois_large.py --sizes 100x28x10,100x56x10,150x28x16,150x56x16 --seeds 0 --time-limit 60

Each instance is `bench/curtois_generate.py`'s (seeded), each solve its own process; the cover
penalty is the independent validator's, recomputed from the benchmark grid the CLI writes.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
WFM = Path(sys.executable).with_name("wfm")


def cover_penalty(instance: Path, grid_csv: Path) -> tuple[float, float, bool]:
    """(objective, cover penalty, valid) of the grid as the validator scores it."""
    from wfm.roster import curtois
    from wfm.roster.domain import Roster
    from wfm.roster.options import Grid, expand_options, worked_shift
    from wfm.roster.validator import validate

    data = curtois.load(instance)
    grid = Grid(data)
    at = {(o.day, o.template): o for o in expand_options(data, grid)}
    templates = {t.id: t for t in data.templates}
    shifts = [worked_shift(row[0], at[d, t], grid, templates[t], (), ())
              for row in list(csv.reader(grid_csv.open()))[1:] for d, t in enumerate(row[1:]) if t]
    report = validate(data, Roster(shifts=shifts))
    cover = report.penalties.get("shift demand under", 0.0) + report.penalties.get("shift demand over", 0.0)
    return report.objective, cover, report.feasible


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="100x28x10,100x56x10,150x28x16,150x56x16",
                        help="employees x days x shift types, comma-separated")
    parser.add_argument("--seeds", default="0", help="generator seeds")
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    sys.path.insert(0, str(HERE))
    from curtois_generate import generate

    print("instance | seed | objective | cover penalty | bound | bound source | gap | cover / bound | valid | s | load")
    print(" | ".join(["---"] * 11))
    for size in args.sizes.split(","):
        employees, days, shifts = (int(x) for x in size.split("x"))
        for seed in (int(s) for s in args.seeds.split(",")):
            with tempfile.TemporaryDirectory() as tmp:
                instance, grid = Path(tmp) / "instance.txt", Path(tmp) / "roster.csv"
                instance.write_text(generate(employees, days, shifts, seed))
                command = [str(WFM), "roster", "curtois", str(instance), "--time-limit", str(args.time_limit),
                           "--solver-threads", str(args.workers), "--out", str(grid)]
                out = subprocess.run(command, capture_output=True, text=True)
                load = os.getloadavg()[0]
                line = json.loads(out.stdout.strip().splitlines()[-1])
                objective, cover, valid = cover_penalty(instance, grid)
            bound = line.get("bound")
            gap = "-" if not bound else f"{100 * (objective - bound) / objective:.1f}%"
            ratio = "-" if not bound else f"{cover / bound:.3f}"
            print(f"{size} | {seed} | {objective:,.0f} | {cover:,.0f} | {'-' if bound is None else f'{bound:,.0f}'} | "
                  f"{line.get('bound_source') or '-'} | {gap} | {ratio} | {valid} | {line.get('seconds', 0):.0f} | "
                  f"{load:.2f}", flush=True)


if __name__ == "__main__":
    main()
