"""Repair a roster from an instant on (intraday re-plan): the CP-SAT model with the past fixed.

Given the roster in force, new requirements and an instant `now` on day `day`, the model keeps
every other day's shifts and breaks as they are, and on `day`:

* everything before `now` stays: who is on shift, on break and on which queue, interval by interval;
* a shift already running keeps its start and may change template (end later or earlier, within
  the contract and rest rules, which the model enforces as always);
* a shift not started yet may move or change template, but is still worked; an agent off that day
  stays off (adding or dropping a whole shift is an offer to the agent, not a re-plan);
* breaks after `now` may move.

The objective is the input's (coverage against the new requirements and the rest) plus
`weights.change` per shift changed from the roster in force (the model's repair mode) plus
`break_weight` per break not kept where it was: coverage first, then the fewest changes.
"""

from __future__ import annotations

from collections import defaultdict

import pandas as pd
from ortools.sat.python import cp_model

from .budget import Budget
from .domain import Roster, RosterInput, Shift
from .model import RosterModel, SolveResult
from .options import Grid, expand_options


def repair_from(data: RosterInput, roster: Roster, now: pd.Timestamp, break_weight: int = 1,
                progress=None) -> SolveResult:
    """The best repair of `roster` from `now` within `data.solver`'s limits (see the module
    docstring). `data.reference` should be `roster` and `data.weights.change` > 0 for repair mode."""
    grid = Grid(data)
    now_index = grid.index_of(pd.Timestamp(now))
    if now_index is None or not 0 <= now_index < grid.size:
        raise ValueError(f"now {now} is not an interval start of the horizon")
    day = grid.days.index(pd.Timestamp(now).tz_convert(grid.tz).date())
    options = expand_options(data, grid)
    model = RosterModel(data, grid=grid, options=options, start=roster, free_days={day})
    _freeze(model, grid, roster, now_index, day, break_weight)
    # the reference and the start (the same roster) both hinted the shifts: keep one complete hint,
    # which the model's solve makes from its start with the shifts fixed
    model.m.ClearHints()
    model.m.Minimize(sum(w * e for _, w, e in model.penalties))
    return model.solve(progress, budget=Budget(data.solver))


def _freeze(model: RosterModel, grid: Grid, roster: Roster, now: int, day: int, break_weight: int) -> None:
    m, today = model.m, grid.days[day]
    planned = {sh.agent: sh for sh in roster.shifts if sh.day == today}
    kept_breaks, on_break, queue_at = _roster_grid(grid, roster)
    for agent in model.agents:
        a = agent.id
        options = model.by_agent_day.get((a, day), [])
        mine = planned.get(a)
        for o in options:
            if not _allowed(o, mine, grid, now):
                m.Add(model.x[a, o.index] == 0)
        if mine is not None:
            m.Add(model.works[a, day] == 1)
        for i in range(now):  # the past: on break exactly when the roster had the agent on break
            terms = model.on_break[a].get(i, [])
            if terms:
                m.Add(sum(terms) == int((a, i) in on_break))
    for (a, i, q), var in model.z.items():  # a single-skill agent's on-queue term is no variable of its own
        if not isinstance(var, cp_model.IntVar) or (a, i) not in queue_at:
            continue
        queue, shift_day = queue_at[a, i]
        if i < now or shift_day != today:  # the past, and other days' shifts, keep their queues
            m.Add(var == int(queue == q))
    for key, var in model.bs.items():
        a, d, template, k, p = key
        if d != day:
            m.Add(var == int(key in kept_breaks))
        elif key in kept_breaks and p >= now:
            model.penalties.append(("moved breaks", break_weight, 1 - var))


def _allowed(o, mine: Shift | None, grid: Grid, now: int) -> bool:
    """May the agent work option `o` today instead of its shift `mine`? Off today: no shift. A shift
    not started: any option starting from now. A shift started: its start, on shift until now at
    least (the past stays); one already over: unchanged."""
    if mine is None:
        return False
    start = pd.Timestamp(mine.start)
    if grid.instant(now) <= start:
        return o.first >= now
    if o.start != start:
        return False
    if grid.index_of(pd.Timestamp(mine.end)) <= now:
        return o.template == mine.template
    return o.end_index >= now


def _roster_grid(grid: Grid, roster: Roster):
    """A roster on the grid: its break keys (agent, day, template, k, start), the (agent, interval)
    pairs on break, and the queue and shift day of each (agent, interval) on queue."""
    days = {d: n for n, d in enumerate(grid.days)}
    kept, on_break, queue_at = set(), set(), {}
    for sh in roster.shifts:
        for k, b in enumerate(sh.breaks):
            first, last = grid.index_of(pd.Timestamp(b.start)), grid.index_of(pd.Timestamp(b.end))
            kept.add((sh.agent, days.get(sh.day), sh.template, k, first))
            on_break.update((sh.agent, i) for i in range(first, last))
        for g in sh.segments:
            first, last = grid.index_of(pd.Timestamp(g.start)), grid.index_of(pd.Timestamp(g.end))
            queue_at.update({(sh.agent, i): (g.queue, sh.day) for i in range(first, last)})
    return kept, on_break, queue_at


def changes(before: Roster, after: Roster) -> dict[str, list[str]]:
    """Per kind of change, the agents it concerns: shifts whose template or start changed
    (extended, cut or moved), shifts added or dropped, and shifts whose breaks moved only."""
    old = {(s.agent, s.day): s for s in before.shifts}
    new = {(s.agent, s.day): s for s in after.shifts}
    out: dict[str, list[str]] = defaultdict(list)
    for key in sorted(set(old) | set(new), key=str):
        o, n = old.get(key), new.get(key)
        label = f"{key[0]} {key[1]}"
        if o is None:
            out["added"].append(label)
        elif n is None:
            out["dropped"].append(label)
        elif (o.template, pd.Timestamp(o.start)) != (n.template, pd.Timestamp(n.start)):
            out["changed"].append(label)
        elif [(pd.Timestamp(b.start), pd.Timestamp(b.end)) for b in o.breaks] != \
                [(pd.Timestamp(b.start), pd.Timestamp(b.end)) for b in n.breaks]:
            out["breaks_moved"].append(label)
    return dict(out)
