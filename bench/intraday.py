"""Intraday re-plan on the sample site: repair mode against a fresh solve of the same week.

The sample plan (`wfm plan sample_data/plan.yaml`, seed 0, one thread), its Wednesday running
`--factor` times the forecast until 11:00. `wfm intraday` (repair from now, the past fixed) is timed
over `--repeats` runs (median); the baseline is what one would do without it: solve the plan's week
again with the same new requirements and solver limit (no reference, no change penalty). Printed per
method: seconds, shifts changed against the plan (all days, and today's), the rest of the day's
under-coverage, and whether the past before 11:00 stayed as it was. Every roster is checked by the
independent validator.

    .venv/bin/python bench/intraday.py --factor 1.2 --repeats 3 --time-limit 20
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pandas as pd

from wfm.intraday import IntradayOptions, run_intraday
from wfm.roster.domain import Roster, RosterInput
from wfm.roster.solver import solve_roster
from wfm.roster.validator import validate

ROOT = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp("2026-05-27T11:00:00+02:00")


def make_plan(folder: Path) -> Path:
    subprocess.run([str(Path(sys.executable).parent / "wfm"), "plan", str(ROOT / "sample_data" / "plan.yaml"),
                    "--out", str(folder), "--time-limit", "10", "--seed", "0", "--solver-threads", "1"],
                   check=True, capture_output=True)
    return folder


def actuals(plan: Path, path: Path, factor: float) -> Path:
    rows = []
    for r in pd.read_csv(plan / "forecast.csv").itertuples():
        start = pd.Timestamp(r.interval_start)
        if start.date() != NOW.date() or start >= NOW:
            continue
        n = int(round(r.volume * factor))
        rows += [{"created_at": (start + pd.Timedelta(seconds=int(1800 * (k + 0.5) / n))).isoformat(),
                  "queue": r.queue, "handle_seconds": round(r.aht_seconds)} for k in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def changed(before: Roster, after: Roster, today_only: bool) -> int:
    old = {(s.agent, s.day): (s.template, s.start) for s in before.shifts}
    new = {(s.agent, s.day): (s.template, s.start) for s in after.shifts}
    keys = {k for k in set(old) | set(new) if not today_only or k[1] == NOW.date()}
    return sum(old.get(k) != new.get(k) for k in keys)


def state(roster: Roster, t: pd.Timestamp) -> dict:
    """Per agent on shift at t: on break or not, and the queue worked."""
    return {s.agent: (any(b.start <= t < b.end for b in s.breaks),
                      next((g.queue for g in s.segments if g.start <= t < g.end), None))
            for s in roster.shifts if s.start <= t < s.end}


def past_kept(before: Roster, after: Roster) -> bool:
    return all(state(before, t) == state(after, t)
               for t in pd.date_range(NOW.normalize(), NOW, freq="30min", inclusive="left"))


def rest_under(data: RosterInput, roster: Roster) -> float:
    cov = validate(data, roster).coverage
    t = pd.to_datetime(cov["interval_start"]).dt.tz_convert(NOW.tz)
    return float(cov.loc[(t >= NOW) & (t.dt.date == NOW.date()), "under"].sum() * 0.5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--factor", type=float, default=1.2)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--time-limit", type=float, default=20.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        plan = make_plan(Path(tmp) / "plan")
        history = actuals(plan, Path(tmp) / "today.csv", args.factor)
        data = RosterInput.model_validate_json((plan / "roster_input.json").read_text())
        before = Roster.model_validate_json((plan / "roster.json").read_text())
        seconds, result = [], None
        for _ in range(args.repeats):
            started = time.perf_counter()
            result = run_intraday(plan, history, NOW, IntradayOptions(time_limit_seconds=args.time_limit))
            seconds.append(time.perf_counter() - started)
        index = {ts: i for i, ts in enumerate(data.horizon.interval_starts())}
        reqs = []
        for req in data.requirements:
            agents = list(req.agents)
            for row in result.reforecast[result.reforecast["queue"] == req.queue].itertuples():
                agents[index[pd.Timestamp(row.interval_start)]] = float(row.required_after)
            reqs.append(req.model_copy(update={"agents": agents}))
        fresh_input = data.model_copy(update={"requirements": reqs, "solver": data.solver.model_copy(
            update={"time_limit_seconds": args.time_limit, "workers": 1, "seed": 0})})
        started = time.perf_counter()
        fresh = solve_roster(fresh_input).roster
        fresh_seconds = time.perf_counter() - started
        rows = [("repair from 11:00 (wfm intraday)", statistics.median(seconds), result.roster),
                ("fresh solve of the week", fresh_seconds, fresh)]
        print(f"factor {args.factor}, multipliers {result.summary['multipliers']}, plan under-coverage "
              f"{rest_under(fresh_input, before):.1f} h for the rest of the day")
        print(f"{'method':36} {'seconds':>8} {'changed':>8} {'today':>6} {'under h':>8} {'past kept':>10} {'valid':>6}")
        for name, secs, roster in rows:
            print(f"{name:36} {secs:8.1f} {changed(before, roster, False):8d} {changed(before, roster, True):6d} "
                  f"{rest_under(fresh_input, roster):8.1f} {str(past_kept(before, roster)):>10} "
                  f"{str(validate(data, roster).feasible):>6}")


if __name__ == "__main__":
    main()
