"""Where a large site's roster stands against the LP bound (`wfm/roster/relaxation.py`).

Solves a generated week (bench/scale_instance.py) and prints, beside the LP relaxation's optimum:
the validator's objective terms, and per kind of agent (contract minimum and maximum hours, pay)
the paid hours above the contract minimums, the shifts worked and the shift-length mix, in the
roster and in the LP's fractional roster. The gap to the bound is read off these rows: which
agents are paid for more than the LP pays them, and with which shift shapes.

Then, per day, what re-planning that day alone could still gain: the day re-plan's LP
(`dayplan.day_model`: every agent's shift that day re-chosen, days on and off where allowed, the
other days as they are) against the day as it is. A small headroom against a large gap to the
bound says the roster is at a local optimum of whole-day moves: what is left needs several days
of many agents changed together, or is the bound's own slack.

    .venv-bench/bin/python bench/roster_gap.py --agents 200 --time-limit 60 --seed 0
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--agents", type=int, default=200)
    parser.add_argument("--time-limit", type=float, default=60.0)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    sys.path.insert(0, str(HERE))
    from scale_instance import instance

    from wfm.roster.search import colgen, relaxation
    from wfm.roster.options import Grid, expand_options
    from wfm.roster.solver import solve_roster
    from wfm.roster.validator import validate

    data = instance(args.agents, args.time_limit, args.workers)
    data.solver.seed = args.seed
    grid = Grid(data)
    options = expand_options(data, grid)
    result = solve_roster(data)
    report = validate(data, result.roster)
    groups = colgen.group_agents(data)
    bound, counts = relaxation.lower_bound(data, grid, options, groups, 10 * args.time_limit)

    shown = f"{bound:,.0f}" if bound is not None else "not solved in time"
    print(f"\n{args.agents} agents, {args.time_limit:g} s, seed {args.seed}: validated {report.objective:,.0f}, "
          f"LP bound {shown}")
    print("terms: " + ", ".join(f"{k} {v:,.0f}" for k, v in report.penalties.items() if v))
    _kinds_table(data, options, result.roster, groups, counts)
    _day_headroom(data, grid, options, result.roster)


def _kind(agent) -> tuple[float, float, float]:
    c = agent.contract
    return c.min_hours or 0.0, c.max_hours if c.max_hours is not None else float("inf"), agent.cost_per_hour


def _kinds_table(data, options, roster, groups, counts) -> None:
    templates = {t.id: t for t in data.templates}
    mine = defaultdict(lambda: {"n": 0, "paid": 0.0, "shifts": 0, "lengths": defaultdict(float)})
    for a in data.agents:
        mine[_kind(a)]["n"] += 1
    kind_of = {a.id: _kind(a) for a in data.agents}
    for s in roster.shifts:
        row = mine[kind_of[s.agent]]
        row["paid"] += templates[s.template].paid_minutes / 60
        row["shifts"] += 1
        row["lengths"][templates[s.template].length_minutes // 60] += 1
    lp = defaultdict(lambda: {"paid": 0.0, "shifts": 0.0, "lengths": defaultdict(float)})
    for agents, count in zip(groups, counts):
        row = lp[_kind(agents[0])]
        for o, v in count.items():
            row["paid"] += v * options[o].paid_minutes / 60
            row["shifts"] += v
            row["lengths"][templates[options[o].template].length_minutes // 60] += v

    def mix(lengths) -> str:
        return " ".join(f"{h}h:{v:.0f}" for h, v in sorted(lengths.items()) if v > 0.05) or "-"

    print("\nmin h | max h | pay | agents | above min h (roster) | above min h (LP) | shifts (roster) | "
          "shifts (LP) | lengths (roster) | lengths (LP)")
    print(" | ".join(["---"] * 10))
    for kind in sorted(mine):
        r, x, floor = mine[kind], lp[kind], kind[0] * mine[kind]["n"]
        print(f"{kind[0]:g} | {kind[1]:g} | {kind[2]:g} | {r['n']} | {r['paid'] - floor:.1f} | "
              f"{x['paid'] - floor:.1f} | {r['shifts']} | {x['shifts']:.1f} | {mix(r['lengths'])} | "
              f"{mix(x['lengths'])}")


def _day_headroom(data, grid, options, roster) -> None:
    from wfm.roster.search import dayplan, local

    search = local.CoverageSearch(data, grid, options, roster, seed=0)
    if not dayplan.applies(search):
        print("\nday re-plan does not apply to this site")
        return
    print("\nday | agents in the model | the day now | the day's LP | headroom")
    print(" | ".join(["---"] * 5))
    total = 0.0
    for d in range(search.n_days):
        model = dayplan.day_model(search, d)
        y = model.solve(integer=False, seconds=120.0) if model is not None else None
        if y is None:
            print(f"{grid.days[d]} | - | - | - | -")
            continue
        agents = sum(len(c.agents) for c in model.classes)
        # the day as it is is a point of the model, scored as the search scores it (tests/test_roster_dayplan.py)
        now, best = float(model.cost @ model.current(d)), float(model.cost @ y)
        total += best - now
        print(f"{grid.days[d]} | {agents} | {now:,.0f} | {best:,.0f} | {best - now:,.0f}")
    print(f"all days (each alone; night shifts make neighbouring days overlap) | | | | {total:,.0f}")


if __name__ == "__main__":
    main()
