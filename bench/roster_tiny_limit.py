"""How long a roster solve runs past a tiny time limit (issue 29: a 60-agent week at 0.01 s ran 6-13 s).

    .venv/bin/python bench/roster_tiny_limit.py --agents 60 --limits 0.01,0.5 --repeats 3

Prints per limit the median wall seconds of `solve_roster`, the status and whether a roster came back.
Run it against another checkout with PYTHONPATH=<checkout> to compare in the same session."""

from __future__ import annotations

import argparse
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=60, help="bench/roster.py's generated week of this many agents")
    parser.add_argument("--site", help="a site of the quality suite instead (bench/site_suite.py)")
    parser.add_argument("--limits", default="0.01,0.5")
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    from roster import instance
    from roster_quality import load_site

    from wfm.roster.solver import solve_roster

    print("site or agents | limit s | median s | max s | status | roster | threads left")
    print("--- | --- | --- | --- | --- | --- | ---")
    for limit in [float(x) for x in args.limits.split(",")]:
        times, statuses, rosters = [], set(), set()
        for _ in range(args.repeats):
            data = instance(args.agents, limit, 2) if not args.site else load_site(args.site)
            data = data.model_copy(update={"solver": data.solver.model_copy(update={
                "time_limit_seconds": limit, "workers": 2})})
            began = time.perf_counter()
            result = solve_roster(data)
            times.append(time.perf_counter() - began)
            statuses.add(result.status)
            rosters.add(result.roster is not None)
        left = sum(1 for t in threading.enumerate() if t.name == "roster-lp-bound" and t.is_alive())
        print(f"{args.site or args.agents} | {limit:g} | {statistics.median(times):.2f} | {max(times):.2f} | "
              f"{'/'.join(sorted(statuses))} | {'/'.join(str(r) for r in sorted(rosters))} | {left}")


if __name__ == "__main__":
    main()
