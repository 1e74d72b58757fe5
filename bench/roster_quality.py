"""Roster quality where users are: each suite site (bench/site_suite.py) against its best known roster.

    .venv/bin/python bench/roster_quality.py                                # every site at 10, 30, 60 s
    .venv/bin/python bench/roster_quality.py --sites sample-30,s30-2q-15-cov --limits 30 --seeds 0,1,2
    .venv/bin/python bench/roster_quality.py --limits 30 --tuning full_model_limit=0 --tuning colgen_share=0.2
    .venv/bin/python bench/roster_quality.py --sites s10-1q-30-cov --limits 600 --update-references

Each solve runs `wfm.roster.solver.solve_roster` on the stored input in its own process (the site's
weights and rules; the limit, seed and workers from the command line; `--tuning` fields of
`wfm.roster.strategy.Tuning`), and the roster is scored by the independent validator. Per site and
limit: validated objective, its ratio to the reference (bench/sites/references.json) and the gap
(objective - reference) / reference, the same gap on the part of the objective a roster can change
(over the reference less the contract floor, the labour cost every valid roster pays), under- and
over-coverage hours, the time of the first roster the progress callback reports (the greedy's, when
it keeps every rule), the bound and where it comes from, and the path the strategy picks. With
several seeds, a median row.

`--update-references` keeps any validated roster better than the stored reference as the new one
(its objective, coverage hours, how and when it was found, and the roster itself, gzipped, so it can
be validated again).
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import gzip
import json
import math
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from site_suite import ALL, SITES, load_site  # noqa: E402

REFERENCES = SITES / "references.json"
REFERENCE_ROSTERS = SITES / "references"


def parse_tuning(pairs: list[str]) -> dict:
    """`key=value` pairs as Tuning fields, each converted to the field's type; an unknown key is an error."""
    from wfm.roster.strategy import Tuning

    types = {f.name: type(getattr(Tuning(), f.name)) for f in dataclasses.fields(Tuning)}
    out = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or key not in types:
            raise SystemExit(f"--tuning {pair!r}: expected key=value with key one of {sorted(types)}")
        kind = types[key]
        out[key] = value.lower() in ("1", "true", "yes") if kind is bool else kind(float(value)) if kind is int \
            else kind(value)
    return out


# -- one solve, in its own process -------------------------------------------------------------------
def run_one(site: str, limit: float, seed: int, workers: int, tuning: dict, roster_out: Path | None) -> dict:
    from wfm.roster.costs import contract_floor
    from wfm.roster.options import Grid
    from wfm.roster.solver import solve_roster
    from wfm.roster.strategy import Tuning
    from wfm.roster.validator import validate

    data = load_site(site)
    data = data.model_copy(update={"solver": data.solver.model_copy(update={
        "time_limit_seconds": limit, "seed": seed, "workers": workers})})
    knobs = Tuning(**tuning)
    first = []
    started = time.perf_counter()
    result = solve_roster(data, lambda objective, bound, t: first.append(t) if not first else None, knobs)
    seconds = time.perf_counter() - started
    report = validate(data, result.roster) if result.roster is not None else None
    path = chosen_path(data, knobs)
    grid = Grid(data)
    floor = contract_floor(data, grid)
    hours = data.horizon.interval_minutes / 60
    if roster_out is not None and report is not None and report.feasible:
        roster_out.write_text(result.roster.model_dump_json())
    return {
        "objective": report.objective if report else None, "feasible": bool(report and report.feasible),
        "violations": len(report.violations) if report else None,
        "under_h": float(report.coverage["under"].sum() * hours) if report else None,
        "over_h": float(report.coverage["over"].sum() * hours) if report else None,
        "first": first[0] if first else None, "bound": result.bound,
        "bound_source": _bound_source(result.bound, floor, path), "contract_floor": floor,
        "status": result.status, "seconds": seconds,
        "path": _path_name(path), "large": path.large, "moves_first": path.moves_first}


def chosen_path(data, knobs):
    """The path the strategy picks for this site: the solver's own greedy start and call, replayed
    after the solve (the limit as the budget left, less the greedy's time)."""
    from wfm.roster import strategy
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.phases import greedy_start
    from wfm.roster.solver import site_facts

    started = time.perf_counter()
    grid = Grid(data)
    options = expand_options(data, grid)
    facts = site_facts(data, grid, options)
    valid, check_seconds = None, 0.0
    if strategy.greedy_affordable(facts, knobs):
        _, valid, _, check_seconds = greedy_start(data, grid, options, started, None,
                                                  spread=strategy.plans_moves_first(facts, knobs))
    limit = data.solver.time_limit_seconds
    left = max(limit - (time.perf_counter() - started), 0.0)
    return strategy.choose_path(facts, valid is None, check_seconds, left, limit, knobs)


def _bound_source(bound, floor, path) -> str:
    """Where the bound comes from: the contract floor (no search), else the search the path runs."""
    if bound is None:
        return "-"
    if floor is not None and bound <= floor:
        return "contract floor"
    if path.lp_bound:
        return "LP relaxation"
    return "column generation / CP-SAT"


def _path_name(path) -> str:
    if not path.large:
        if path.moves_first:
            return "small: moves first, two searches" if path.second_search else "small: moves first"
        return "small: colgen + full model" if path.column_generation else "small: full model"
    if path.moves_first:
        return "large: moves first"
    return "large: colgen + LP start + moves" if path.column_generation else "large: moves"


def solve_in_process(site: str, limit: float, seed: int, workers: int, tuning: list[str],
                     roster_out: Path | None) -> dict:
    command = [sys.executable, __file__, "--run", site, "--limits", str(limit), "--seeds", str(seed),
               "--workers", str(workers)] + [x for pair in tuning for x in ("--tuning", pair)]
    if roster_out is not None:
        command += ["--roster-out", str(roster_out)]
    out = subprocess.run(command, capture_output=True, text=True)
    try:
        return json.loads(out.stdout.strip().splitlines()[-1])
    except (IndexError, json.JSONDecodeError):
        return {"failed": (out.stderr.strip().splitlines() or ["no output"])[-1]}


# -- references ---------------------------------------------------------------------------------------
def load_references() -> dict:
    return json.loads(REFERENCES.read_text()) if REFERENCES.exists() else {}


def keep_if_better(site: str, r: dict, roster_file: Path, limit: float, seed: int, workers: int,
                   tuning: list[str]) -> bool:
    """Store this run as the site's reference if its validated roster beats the stored one."""
    references = load_references()
    old = references.get(site)
    if not r.get("feasible") or r["objective"] is None or (old and old["objective"] <= r["objective"]):
        return False
    REFERENCE_ROSTERS.mkdir(exist_ok=True)
    stored = REFERENCE_ROSTERS / f"{site}.roster.json.gz"
    stored.write_bytes(gzip.compress(roster_file.read_bytes(), mtime=0))
    references[site] = {
        "objective": r["objective"], "under_hours": r["under_h"], "over_hours": r["over_h"],
        "contract_floor": r["contract_floor"], "bound": r["bound"], "bound_source": r["bound_source"],
        "found_by": {"solver": "solve_roster", "limit_seconds": limit, "seed": seed, "workers": workers,
                     "tuning": tuning, "path": r["path"], "commit": _commit(),
                     "date": dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                     "machine": "2 cores shared with other engineers' work (loaded)"},
        "roster": str(stored.relative_to(SITES)),
        "replaces": None if old is None else old["objective"]}
    REFERENCES.write_text(json.dumps(dict(sorted(references.items())), indent=1) + "\n")
    return True


def check_references(sites: list[str]) -> None:
    """Validate each stored reference roster again and compare with the stored objective."""
    from wfm.roster.domain import Roster
    from wfm.roster.validator import validate

    for site, ref in load_references().items():
        if site not in sites:
            continue
        roster = Roster.model_validate_json(gzip.decompress((SITES / ref["roster"]).read_bytes()))
        report = validate(load_site(site), roster)
        same = report.feasible and math.isclose(report.objective, ref["objective"], rel_tol=1e-9)
        print(f"{site}: stored {ref['objective']:,.1f}, validated {report.objective:,.1f}, "
              f"{'ok' if same else 'MISMATCH'}", flush=True)


def _commit() -> str:
    out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    return out.stdout.strip() or "unknown"


# -- the table ----------------------------------------------------------------------------------------
HEAD = ["site", "agents", "limit s", "seed", "objective", "reference", "ratio", "gap", "gap on changeable part",
        "under h", "over h", "ref under h", "first roster s", "bound", "bound source", "path", "s"]


def table(sites: list[str], limits: list[float], seeds: list[int], workers: int, tuning: list[str],
          update: bool) -> None:
    print(f"\n### Roster quality suite: {', '.join(f'{x:g} s' for x in limits)}, seeds {seeds}, {workers} workers"
          f"{', tuning ' + ' '.join(tuning) if tuning else ''}\n")
    print(" | ".join(HEAD))
    print(" | ".join(["---"] * len(HEAD)))
    for site in sites:
        agents = len(load_site(site).agents)
        for limit in limits:
            rows = []
            for seed in seeds:
                with tempfile.TemporaryDirectory() as tmp:
                    roster_file = Path(tmp) / "roster.json" if update else None
                    r = solve_in_process(site, limit, seed, workers, tuning, roster_file)
                    if update and "failed" not in r and keep_if_better(site, r, roster_file, limit, seed, workers,
                                                                       tuning):
                        r["new_reference"] = True
                rows.append(r)
                print(_row(site, agents, limit, str(seed), r), flush=True)
            done = [r for r in rows if "failed" not in r and r["objective"] is not None]
            if len(seeds) > 1 and done:
                print(_row(site, agents, limit, f"median of {len(done)}", _median(done)), flush=True)


def _median(rows: list[dict]) -> dict:
    out = dict(rows[0])
    for key in ("objective", "under_h", "over_h", "first", "seconds"):
        values = [r[key] for r in rows if r.get(key) is not None]
        out[key] = statistics.median(values) if values else None
    bounds = [r["bound"] for r in rows if r.get("bound") is not None]
    out["bound"] = max(bounds) if bounds else None
    out["feasible"] = all(r["feasible"] for r in rows)
    return out


def _row(site: str, agents: int, limit: float, seed: str, r: dict) -> str:
    if "failed" in r:
        return f"{site} | {agents} | {limit:g} | {seed} | failed: {r['failed']}"
    ref = load_references().get(site)
    obj = r["objective"]
    shown = "-" if obj is None else f"{obj:,.0f}" + ("" if r["feasible"] else " (RULES BROKEN)")
    ratio = gap = changeable = "-"
    if ref and obj is not None:
        ratio = f"{obj / ref['objective']:.3f}"
        gap = f"{100 * (obj - ref['objective']) / ref['objective']:.1f}%"
        floor = ref.get("contract_floor") or 0
        if ref["objective"] > floor:
            changeable = f"{100 * (obj - ref['objective']) / (ref['objective'] - floor):.1f}%"
    cells = [site, str(agents), f"{limit:g}", seed + (" (new ref)" if r.get("new_reference") else ""), shown,
             "-" if not ref else f"{ref['objective']:,.0f}", ratio, gap, changeable,
             _num(r["under_h"], 1), _num(r["over_h"], 1), "-" if not ref else _num(ref["under_hours"], 1),
             _num(r["first"], 1), _num(r["bound"], 0, grouped=True), r["bound_source"], r["path"],
             _num(r["seconds"], 0)]
    return " | ".join(cells)


def _num(value, digits: int, grouped: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}" if grouped else f"{value:.{digits}f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sites", default=",".join(ALL), help=f"comma-separated, of {', '.join(ALL)}")
    parser.add_argument("--limits", default="10,30,60", help="seconds, comma-separated")
    parser.add_argument("--seeds", default="0", help="solver seeds, comma-separated (a median row when several)")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--tuning", action="append", default=[], metavar="KEY=VALUE",
                        help="a field of wfm.roster.strategy.Tuning for these solves (repeatable)")
    parser.add_argument("--update-references", action="store_true",
                        help="keep any validated roster better than the stored reference as the new reference")
    parser.add_argument("--check-references", action="store_true",
                        help="validate the stored reference rosters again and stop")
    parser.add_argument("--run", help=argparse.SUPPRESS)
    parser.add_argument("--roster-out", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    sites = args.sites.split(",")
    unknown = sorted(set(sites) - set(ALL))
    if unknown:
        parser.error(f"unknown site(s) {unknown}; the suite has {list(ALL)}")
    tuning = parse_tuning(args.tuning)
    limits = [float(x) for x in args.limits.split(",")]
    seeds = [int(x) for x in args.seeds.split(",")]
    if args.run:
        print(json.dumps(run_one(args.run, limits[0], seeds[0], args.workers, tuning, args.roster_out)))
        return
    if args.check_references:
        check_references(sites)
        return
    table(sites, limits, seeds, args.workers, args.tuning, args.update_references)


if __name__ == "__main__":
    main()
