"""Roster solver: CP-SAT model of named agents on shift options with placed breaks.

Formulation (see the CP-SAT primer for the idioms used):
* x[a, o]: agent a works shift option o (one option per agent per day at most).
* Breaks are placed implicitly, per (agent, day, template, break rule): a boolean per possible
  break start interval p, allowed only where some chosen option of that template has p in its
  window, and exactly one per worked shift of that template. This keeps break variables
  linear in intervals rather than in options x positions.
* On-queue(a, i) = working(a, i) - on_break(a, i); a multi-skill agent puts each on-queue
  interval on exactly one of its queues (z[a, i, q]).
* Hard rules are plain constraints; soft goals are penalty terms returned by one small
  function per rule, each with its weight, so the objective is their weighted sum and the
  independent validator can recompute every term.
When the model is infeasible, it is rebuilt with one assumption literal per (rule, agent) and
CP-SAT's sufficient assumptions name the rules and agents in conflict.
"""

from __future__ import annotations

import math
import time as clock
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Callable, NamedTuple

import pandas as pd
from ortools.sat.python import cp_model

from . import service_goal
from .budget import Budget
from .hint import greedy_choice
from .domain import Roster, RosterInput
from .options import Grid, ShiftOption, blocked as options_blocked, eligible, expand_options, worked_shift

Progress = Callable[[float, float, float], None]  # objective, bound, seconds


@dataclass
class SolveResult:
    status: str
    roster: Roster | None
    objective: float | None = None
    bound: float | None = None
    seconds: float = 0.0
    conflicts: list[str] = field(default_factory=list)

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


def cost_term(option: ShiftOption, cost_per_hour: float, weight: float) -> int:
    """Integer objective units for one worked shift's paid cost (shared with the validator)."""
    return int(round(weight * cost_per_hour * option.paid_minutes / 60.0))


class RosterModel:
    def __init__(self, data: RosterInput, explain: bool = False, *, agents=None, pricing: bool = False,
                 grid: Grid | None = None, options: list[ShiftOption] | None = None, start: Roster | None = None,
                 fixed: Roster | None = None, free_days: set[int] | None = None,
                 candidates: dict[str, set[int]] | None = None):
        """The whole roster model; with `pricing`, only the given agents' own rules and soft terms
        (no breaks, coverage or cross-agent terms): the column generator prices schedules with it.
        `start` is a roster to start from (else a greedy one, unless a reference is given).
        Neighbourhood models (large-neighbourhood search) model only `agents`: the other agents'
        shifts (`fixed`) count as constants in coverage, shift demand and fairness, and with
        `free_days` the modelled agents keep their `start` shifts on every other day; `candidates`
        narrows an agent's shift options to those listed (a search restricted to promising shifts)."""
        self.data, self.explain, self.pricing = data, explain, pricing
        self.fixed, self.candidates, self.free_days = fixed, candidates, free_days
        self.agents = list(agents) if agents is not None else list(data.agents)
        self.grid = grid or Grid(data)
        self.options = options if options is not None else expand_options(data, self.grid)
        self.current = self._choices_of(start) if free_days is not None else set()
        self.m = cp_model.CpModel()
        self.assumptions: dict[str, cp_model.IntVar] = {}
        self.penalties: list[tuple[str, int, object]] = []  # (rule, weight, expression)
        self.linearization: int | None = None  # CP-SAT's linearization_level, if not its default
        self.tmpl = {t.id: t for t in data.templates}
        self.queues = [r.queue for r in data.requirements]
        self._variables()
        self._one_shift_per_day()
        self._fixed_and_leave()
        if not pricing:
            self._breaks()
            self._coverage()
            self._shift_demand()
        self._contracts()
        self._rest()
        self._not_followed_by()
        self._consecutive_days()
        self._weekends()
        self._start_time_stability()
        self._previous_shifts()
        self._preferences()
        if not pricing:
            self._fairness()
        self._cost()
        self._reference()
        if pricing:
            return
        if free_days is not None:
            self._keep_outside(self._choices(start), free_days)
        if fixed is not None:
            self._hint_roster(start)
        elif start is not None and not explain:
            self._start_hint(self._choices(start))
        elif self.data.reference is None and not explain:
            self._start_hint(self._greedy_choices())
        if not explain:
            self.m.Minimize(sum(w * e for _, w, e in self.penalties))
        else:
            self.m.AddAssumptions(list(self.assumptions.values()))

    # -- helpers ---------------------------------------------------------------------------
    def _enforce(self, rule: str, agent: str | None = None):
        """Assumption literal for a hard rule (only in explain mode)."""
        if not self.explain:
            return None
        key = f"{rule} ({agent})" if agent else rule
        if key not in self.assumptions:
            self.assumptions[key] = self.m.NewBoolVar(key)
        return self.assumptions[key]

    def _add(self, constraint, rule: str, agent: str | None = None):
        lit = self._enforce(rule, agent)
        if lit is not None:
            constraint.OnlyEnforceIf(lit)

    # -- variables ---------------------------------------------------------------------------
    def _variables(self):
        self.x: dict[tuple[str, int], cp_model.IntVar] = {}
        self.by_agent_day: dict[tuple[str, int], list[ShiftOption]] = defaultdict(list)
        for a in self.agents:
            mine = self.candidates.get(a.id) if self.candidates is not None else None
            for o in (self.options if mine is None else [self.options[i] for i in sorted(mine)]):
                if self.free_days is not None and o.day not in self.free_days and (a.id, o.index) not in self.current:
                    continue  # outside the free days only the current shift exists (and is kept)
                ok, blocked = eligible(self.data, a, o, self.tmpl), options_blocked(a, o)
                if ok and not blocked:
                    self.x[a.id, o.index] = self.m.NewBoolVar(f"x[{a.id},{o.index}]")
                    self.by_agent_day[a.id, o.day].append(o)
                elif self.explain:  # keep it, forbidden by a named rule, so conflicts can cite it
                    var = self.m.NewBoolVar(f"x[{a.id},{o.index}]")
                    self.x[a.id, o.index] = var
                    self.by_agent_day[a.id, o.day].append(o)
                    rule = ("unavailable" if blocked else
                            f"template cap {o.template}" if a.contract.template_caps.get(o.template) == 0
                            else "template skills")
                    self._add(self.m.Add(var == 0), rule, a.id)
        self.works = {}
        for a in self.agents:
            for d in range(len(self.grid.days)):
                w = self.m.NewBoolVar(f"works[{a.id},{d}]")
                self.m.Add(w == sum(self.x[a.id, o.index] for o in self.by_agent_day[a.id, d]))
                self.works[a.id, d] = w

    def _one_shift_per_day(self):
        for (a, _), opts in self.by_agent_day.items():
            if len(opts) > 1:
                self.m.AddAtMostOne(self.x[a, o.index] for o in opts)

    def _start(self, agent: str, d: int):
        """Local clock start (minutes after midnight) of the agent's shift on day d, 0 if off."""
        return sum(self.x[agent, o.index] * (o.start.hour * 60 + o.start.minute) for o in self.by_agent_day[agent, d])

    def _fixed_and_leave(self):
        days = {day: d for d, day in enumerate(self.grid.days)}
        for a in self.agents:
            for day in a.unavailable_days:
                if day in days:
                    self._add(self.m.Add(self.works[a.id, days[day]] == 0), "unavailable", a.id)
            for day, template in a.fixed.items():
                if day not in days:
                    continue
                d = days[day]
                if template is None:
                    self._add(self.m.Add(self.works[a.id, d] == 0), "fixed day off", a.id)
                else:
                    chosen = [self.x[a.id, o.index] for o in self.by_agent_day[a.id, d] if o.template == template]
                    self._add(self.m.Add(sum(chosen) == 1), "fixed shift", a.id)

    # -- breaks and on-queue time --------------------------------------------------------------
    def _breaks(self):
        """Implicit break placement; fills self.bs and self.on_break[a][i] (a short list of
        variables: one per break length and start position, summed over templates, so an
        interval's on-break term stays a few variables however many templates there are)."""
        self.bs: dict[tuple, cp_model.IntVar] = {}
        starting = defaultdict(list)  # (agent, start interval, length) -> break variables
        for (a, d), opts in self.by_agent_day.items():
            by_template = defaultdict(list)
            for o in opts:
                by_template[o.template].append(o)
            for t_id, t_opts in by_template.items():
                rules = self.tmpl[t_id].breaks
                worked = sum(self.x[a, o.index] for o in t_opts)
                starts_k = []
                for k in range(len(rules)):
                    length = t_opts[0].breaks[k].length  # same rule, so same length, for every start
                    allowed = defaultdict(list)
                    for o in t_opts:
                        w = o.breaks[k]
                        for p in range(w.earliest, w.latest + 1):
                            allowed[p].append(self.x[a, o.index])
                    vars_k = {}
                    for p, xs in allowed.items():
                        b = self.m.NewBoolVar(f"b[{a},{d},{t_id},{k},{p}]")
                        self.m.Add(b <= sum(xs))
                        vars_k[p] = b
                        self.bs[a, d, t_id, k, p] = b
                        starting[a, p, length].append(b)
                    self.m.Add(sum(vars_k.values()) == worked)
                    starts_k.append((sum(p * b for p, b in vars_k.items()), length))
                # Breaks in list order, not overlapping.
                for (s1, len1), (s2, _) in zip(starts_k, starts_k[1:]):
                    self.m.Add(s2 >= s1 + len1 * worked)
        self.on_break = defaultdict(lambda: defaultdict(list))
        for (a, p, length), bs in starting.items():
            if len(bs) == 1:
                started = bs[0]
            else:  # one shift at a time, so at most one of them: their sum is a boolean
                started = self.m.NewBoolVar(f"break_at[{a},{p},{length}]")
                self.m.Add(started == sum(bs))
            for i in range(p, p + length):
                self.on_break[a][i].append(started)

    def _presence(self, a: str, options: list[ShiftOption], name: str) -> dict[int, object]:
        """Per interval, a boolean: one of these (never overlapping) shifts of agent a runs then.
        Built as a running sum, present(i) = present(i-1) + starting(i) - ending(i), so each
        constraint has a handful of terms instead of every option that covers the interval."""
        starts, ends = defaultdict(list), defaultdict(list)
        for o in options:
            last = min(o.end_index, self.grid.size)
            if o.first < last:
                starts[o.first].append(self.x[a, o.index])
                ends[last].append(self.x[a, o.index])
        present, previous = {}, 0
        if not starts:
            return present
        for i in range(min(starts), max(ends)):
            on, off = starts.get(i, []), ends.get(i, [])
            if on or off:
                var = self.m.NewBoolVar(f"{name}[{a},{i}]")
                self.m.Add(var == previous + sum(on) - sum(off))
                previous = var
            if not isinstance(previous, int):
                present[i] = previous
        return present

    def _coverage(self):
        self.z: dict[tuple[str, int, str], object] = {}
        self.under, self.over = {}, {}
        if not self.data.requirements:  # demand per (day, template) only
            return
        staffed = defaultdict(list)
        for a in self.agents:
            skills = [q for q in a.skills if q in self.queues]
            mine = [o for d in range(len(self.grid.days)) for o in self.by_agent_day[a.id, d]]
            if not skills or not mine:
                continue
            working = self._presence(a.id, mine, "working")
            # Queues a shift's template does not allow: the agent may take queue q only while a
            # shift allowing q runs.
            allows = {q: [o for o in mine if not self.tmpl[o.template].skills or q in self.tmpl[o.template].skills]
                      for q in skills}
            limited = {q: self._presence(a.id, opts, f"may_{q}") for q, opts in allows.items() if len(opts) < len(mine)}
            for i, present in working.items():
                on_queue = present - sum(self.on_break[a.id].get(i, []))
                if len(skills) == 1 and not limited:
                    self.z[a.id, i, skills[0]] = on_queue
                    staffed[skills[0], i].append(on_queue)
                    continue
                zs = {}
                for q in skills:
                    zq = self.m.NewBoolVar(f"z[{a.id},{i},{q}]")
                    if q in limited:
                        self.m.Add(zq <= limited[q].get(i, 0))
                    zs[q] = zq
                    self.z[a.id, i, q] = zq
                    staffed[q, i].append(zq)
                if limited and len(skills) == 1:  # a shift that may not take this queue: idle, not on it
                    self.m.Add(sum(zs.values()) <= on_queue)
                else:
                    self.m.Add(sum(zs.values()) == on_queue)
        w = self.data.weights
        base = self._fixed_on_queue()
        for req in self.data.requirements:
            goal = service_goal.marginal_units(self.data, req) if service_goal.applies(self.data, req) else None
            for i, need in enumerate(req.agents):
                need = int(math.ceil(need - 1e-9))
                others = int(base.get((req.queue, i), 0))
                total = sum(staffed.get((req.queue, i), [])) + others
                cap = len(staffed.get((req.queue, i), [])) + others
                u = self.m.NewIntVar(0, need, f"under[{req.queue},{i}]")
                v = self.m.NewIntVar(0, max(cap - need, 0), f"over[{req.queue},{i}]")
                self.m.Add(total + u - v == need)
                self.under[req.queue, i], self.over[req.queue, i] = u, v
                self.penalties.append(("over-coverage", w.over, v))
                if goal is None:
                    weight = req.under_weights[i] if req.under_weights is not None else w.under
                    self.penalties.append(("under-coverage", weight, u))
                elif goal[i]:
                    self._service_shortfall(req.queue, i, total, goal[i])

    def _service_shortfall(self, queue: str, i: int, total, units: list[int]):
        """y_k = the k-th agent is there (ordered); the objective pays u_k for each missing one."""
        ys = [self.m.NewBoolVar(f"y[{queue},{i},{k}]") for k in range(len(units))]
        for k, y in enumerate(ys, start=1):  # y_k exactly "at least k agents there"
            self.m.Add(total >= k).OnlyEnforceIf(y)
            self.m.Add(total <= k - 1).OnlyEnforceIf(y.Not())
        self.penalties.append(("service shortfall", 1, sum(u * (1 - y) for u, y in zip(units, ys))))

    def _shift_demand(self):
        if not self.data.shift_requirements:
            return
        days = {day: d for d, day in enumerate(self.grid.days)}
        working = defaultdict(list)  # (day, template) -> shift variables
        for (a, oi), var in self.x.items():
            o = self.options[oi]
            working[o.day, o.template].append(var)
        fixed = defaultdict(int)
        for sh in (self.fixed.shifts if self.fixed else []):
            fixed[sh.day, sh.template] += 1
        for r in self.data.shift_requirements:
            d = days.get(r.day)
            if d is None:
                continue
            others = fixed[r.day, r.template]
            n = sum(working[d, r.template]) + others
            u = self.m.NewIntVar(0, r.count, f"shift_under[{r.day},{r.template}]")
            v = self.m.NewIntVar(0, len(self.agents) + others, f"shift_over[{r.day},{r.template}]")
            self.m.Add(n + u - v == r.count)
            self.m.AddMaxEquality(u, [r.count - n, 0])
            self.penalties.append(("shift demand under", r.under_weight, u))
            self.penalties.append(("shift demand over", r.over_weight, v))

    # -- contracts and labour rules ------------------------------------------------------------
    def _weeks(self):
        n = len(self.grid.days)
        return [range(s, min(s + 7, n)) for s in range(0, n, 7)]

    def _contracts(self):
        for a in self.agents:
            c = a.contract
            for week in self._weeks():
                paid = sum(self.x[a.id, o.index] * o.paid_minutes for d in week for o in self.by_agent_day[a.id, d])
                days = sum(self.works[a.id, d] for d in week)
                full = len(week) == 7  # minimums apply to whole weeks only
                self._add(self.m.Add(paid <= math.floor(c.max_hours * 60 + 1e-9)), "contract max hours", a.id)
                self._add(self.m.Add(days <= c.max_days), "contract max days", a.id)
                if full and c.min_hours > 0:
                    self._add(self.m.Add(paid >= math.ceil(c.min_hours * 60 - 1e-9)), "contract min hours", a.id)
                if full and c.min_days > 0:
                    self._add(self.m.Add(days >= c.min_days), "contract min days", a.id)
            mine = [o for d in range(len(self.grid.days)) for o in self.by_agent_day[a.id, d]]
            if c.horizon_min_hours is not None or c.horizon_max_hours is not None:
                total = sum(self.x[a.id, o.index] * o.paid_minutes for o in mine)
                if c.horizon_max_hours is not None:
                    self._add(self.m.Add(total <= math.floor(c.horizon_max_hours * 60 + 1e-9)),
                              "contract horizon max hours", a.id)
                if c.horizon_min_hours is not None:
                    self._add(self.m.Add(total >= math.ceil(c.horizon_min_hours * 60 - 1e-9)),
                              "contract horizon min hours", a.id)
            for t_id, cap in c.template_caps.items():
                uses = [self.x[a.id, o.index] for o in mine if o.template == t_id]
                if len(uses) > cap:
                    self._add(self.m.Add(sum(uses) <= cap), f"template cap {t_id}", a.id)

    def _rest(self):
        """Minimum rest between shifts; with rest 0 this still forbids overlapping shifts. Times are
        interval indices on the real-time grid, so the arithmetic is elapsed time across DST."""
        rest = max(self.data.rules.min_rest_hours * 60, 0.0)
        step = self.grid.minutes
        n = len(self.grid.days)
        longest = max(t.length_minutes for t in self.data.templates)
        reach = 1 + math.ceil((longest + rest) / (24 * 60))  # days ahead a shift's end + rest can touch
        for a in self.agents:
            for d in range(n):
                today = self.by_agent_day[a.id, d]
                if not today:
                    continue
                ends = sorted({o.end_index for o in today})
                for later in range(d + 1, min(d + reach, n - 1) + 1):
                    nxt = self.by_agent_day[a.id, later]
                    previous = None
                    for end in ends:
                        clash = [o.index for o in nxt if (o.first - end) * step < rest]
                        if not clash:
                            continue  # a later end clashes with more
                        ending = [o.index for o in today if o.end_index >= end]
                        if (ending, clash) == previous:
                            continue
                        previous = (ending, clash)
                        self._add(self.m.Add(sum(self.x[a.id, i] for i in ending + clash) <= 1), "min rest", a.id)

    def _not_followed_by(self):
        """A template's forbidden successors may not be worked the next day."""
        n = len(self.grid.days)
        for a in self.agents:
            for d in range(n - 1):
                for o in self.by_agent_day[a.id, d]:
                    banned = self.tmpl[o.template].not_followed_by
                    nxt = [self.x[a.id, p.index] for p in self.by_agent_day[a.id, d + 1] if p.template in banned]
                    if nxt:
                        self._add(self.m.Add(self.x[a.id, o.index] + sum(nxt) <= 1), "not followed by", a.id)

    def _consecutive_days(self):
        n = len(self.grid.days)
        for a in self.agents:
            r = a.rules(self.data.rules)
            w = [self.works[a.id, d] for d in range(n)]
            for s in range(n - r.max_consecutive_days):
                self._add(self.m.Add(sum(w[s:s + r.max_consecutive_days + 1]) <= r.max_consecutive_days),
                          "max consecutive days", a.id)
            # Runs inside the horizon (bounded on both sides) of at least the minimum length:
            # forbid off, L worked, off (and work, L off, work) for every L below the minimum.
            for length in range(1, r.min_consecutive_days):
                for s in range(n - length - 1):
                    inner = w[s + 1:s + 1 + length]
                    self._add(self.m.AddBoolOr([w[s]] + [v.Not() for v in inner] + [w[s + length + 1]]),
                              "min consecutive days", a.id)
            for length in range(1, r.min_consecutive_days_off):
                for s in range(n - length - 1):
                    inner = w[s + 1:s + 1 + length]
                    self._add(self.m.AddBoolOr([w[s].Not()] + list(inner) + [w[s + length + 1].Not()]),
                              "min consecutive days off", a.id)

    def _weekend_flags(self):
        """Per agent: a boolean per weekend of the horizon, true if Sat or Sun is worked."""
        if hasattr(self, "weekend_flags"):
            return self.weekend_flags
        self.weekend_flags = {}
        days = self.grid.days
        for a in self.agents:
            flags = []
            for d, day in enumerate(days):
                if day.weekday() == 5 or (day.weekday() == 6 and (d == 0 or days[d - 1].weekday() != 5)):
                    weekend = [d] + ([d + 1] if day.weekday() == 5 and d + 1 < len(days) else [])
                    f = self.m.NewBoolVar(f"weekend[{a.id},{d}]")
                    for wd in weekend:
                        self.m.Add(f >= self.works[a.id, wd])
                    self.m.Add(f <= sum(self.works[a.id, wd] for wd in weekend))
                    flags.append(f)
            self.weekend_flags[a.id] = flags
        return self.weekend_flags

    def _weekends(self):
        limits = {a.id: a.rules(self.data.rules).max_weekends for a in self.agents}
        if all(v is None for v in limits.values()):
            return
        for a, flags in self._weekend_flags().items():
            if limits[a] is not None and len(flags) > limits[a]:
                self._add(self.m.Add(sum(flags) <= limits[a]), "max weekends", a)

    def _start_time_stability(self):
        k = self.data.rules.start_time_tolerance_minutes
        if k is None:
            return
        for a in self.agents:
            for d in range(len(self.grid.days) - 1):
                both = [self.works[a.id, d], self.works[a.id, d + 1]]
                diff = self._start(a.id, d + 1) - self._start(a.id, d)
                lit = self._enforce("start time stability", a.id)
                for c in (self.m.Add(diff <= k), self.m.Add(diff >= -k)):
                    c.OnlyEnforceIf(both + ([lit] if lit is not None else []))

    def _previous_shifts(self):
        """Rest after the previous roster's last shifts, and its trailing run of work days."""
        rules = self.data.rules
        first_day = self.grid.days[0]
        for a in self.agents:
            prev = sorted((s for s in self.data.previous_shifts if s.agent == a.id), key=lambda s: s.end)
            if not prev:
                continue
            last_end = pd.Timestamp(prev[-1].end)
            for d in (0, 1):
                for o in self.by_agent_day[a.id, d]:
                    if (o.start - last_end).total_seconds() / 3600.0 < rules.min_rest_hours:
                        self._add(self.m.Add(self.x[a.id, o.index] == 0), "min rest (previous roster)", a.id)
            worked = {s.day for s in prev}
            run = 0
            while first_day - timedelta(days=run + 1) in worked:
                run += 1
            allowed = max(a.rules(rules).max_consecutive_days - run, 0)  # a run already too long: rest first
            window = [self.works[a.id, d] for d in range(min(allowed + 1, len(self.grid.days)))]
            if run and len(window) == allowed + 1:
                self._add(self.m.Add(sum(window) <= allowed), "max consecutive days (previous roster)", a.id)

    # -- soft goals ------------------------------------------------------------------------------
    def _preferences(self):
        days = {day: d for d, day in enumerate(self.grid.days)}
        weight = self.data.weights.preference
        for a in self.agents:
            for p in a.preferences:
                if p.day not in days or p.weight == 0:
                    continue
                d = days[p.day]
                if p.template is None:
                    worked = self.works[a.id, d]
                    term = worked if p.want else 1 - worked  # wanted day off: penalize working
                else:
                    on = sum(self.x[a.id, o.index] for o in self.by_agent_day[a.id, d] if o.template == p.template)
                    term = (1 - on) if p.want else on
                self.penalties.append((f"preference ({a.id})", weight * p.weight, term))

    def _spread(self, name: str, counts: dict[str, object], upper: int):
        """max - min of per-agent counts, as a penalty term (agents outside the model as constants)."""
        counts = {**self._fixed_counts(name), **counts}
        if len(counts) < 2:
            return
        hi = self.m.NewIntVar(0, upper, f"{name}_max")
        lo = self.m.NewIntVar(0, upper, f"{name}_min")
        self.m.AddMaxEquality(hi, list(counts.values()))
        self.m.AddMinEquality(lo, list(counts.values()))
        self.penalties.append((f"fairness: {name}", self.data.weights.fairness, hi - lo))

    def _fairness(self):
        if self.data.weights.fairness <= 0:
            return
        flags = self._weekend_flags()
        self._spread("weekends", {a: sum(f) for a, f in flags.items()}, len(self.grid.days))
        nights = {a.id: sum(self.x[a.id, o.index] for d in range(len(self.grid.days))
                            for o in self.by_agent_day[a.id, d] if self.tmpl[o.template].night)
                  for a in self.agents}
        if any(t.night for t in self.data.templates):
            self._spread("nights", nights, len(self.grid.days))
        unwanted = {a.id: sum(self.x[a.id, o.index] for p in a.preferences if not p.want and p.template
                              for d in [self._day_index(p.day)] if d is not None
                              for o in self.by_agent_day[a.id, d] if o.template == p.template)
                    for a in self.agents}
        if any(not isinstance(v, int) for v in unwanted.values()):
            self._spread("unwanted shifts", unwanted, len(self.grid.days))

    def _fixed_counts(self, name: str) -> dict[str, int]:
        """Fairness counts of the agents outside a neighbourhood model, from their fixed shifts."""
        if self.fixed is None:
            return {}
        mine = {a.id for a in self.agents}
        tmpl, out = self.tmpl, {}
        for a in self.data.agents:
            if a.id in mine:
                continue
            shifts = [s for s in self.fixed.shifts if s.agent == a.id]
            if name == "weekends":
                out[a.id] = len({s.day - timedelta(days=s.day.weekday() - 5) for s in shifts if s.day.weekday() >= 5})
            elif name == "nights":
                out[a.id] = sum(tmpl[s.template].night for s in shifts)
            else:
                unwanted = {(p.day, p.template) for p in a.preferences if not p.want and p.template}
                out[a.id] = sum((s.day, s.template) in unwanted for s in shifts)
        return out

    def _fixed_on_queue(self) -> dict[tuple[str, int], int]:
        """On-queue agents per (queue, interval) from the shifts outside a neighbourhood model."""
        counts: dict[tuple[str, int], int] = defaultdict(int)
        if self.fixed is None:
            return counts
        for sh in self.fixed.shifts:
            for g in sh.segments:
                first, last = self.grid.index_of(pd.Timestamp(g.start)), self.grid.index_of(pd.Timestamp(g.end))
                for i in range(first, min(last, self.grid.size)):
                    counts[g.queue, i] += 1
        return counts

    def _keep_outside(self, picked: set[tuple[str, int]], free_days: set[int]):
        """Outside the free days, the modelled agents work exactly their current shifts."""
        for (a, oi), var in self.x.items():
            if self.options[oi].day not in free_days:
                self.m.Add(var == int((a, oi) in picked))

    def _hint_roster(self, roster: Roster):
        """A complete hint from a roster: shifts, break starts and queue per interval."""
        picked = self._choices(roster)
        self.greedy = None  # complete already: no completion solve
        self.hinted: list[tuple[cp_model.IntVar, int]] = []
        for key, var in self.x.items():
            self.hinted.append((var, int(key in picked)))
        days = {day: d for d, day in enumerate(self.grid.days)}
        breaks, queues = set(), set()
        for sh in roster.shifts:
            d = days.get(sh.day)
            for k, b in enumerate(sh.breaks):
                breaks.add((sh.agent, d, sh.template, k, self.grid.index_of(pd.Timestamp(b.start))))
            for g in sh.segments:
                first, last = self.grid.index_of(pd.Timestamp(g.start)), self.grid.index_of(pd.Timestamp(g.end))
                queues.update((sh.agent, i, g.queue) for i in range(first, last))
        self.hinted += [(var, int(key in breaks)) for key, var in self.bs.items()]
        self.hinted += [(var, int(key in queues)) for key, var in self.z.items() if isinstance(var, cp_model.IntVar)]
        seen = set()  # a single-skill agent's on-queue "z" may be its shift variable itself
        self.hinted = [(v, k) for v, k in self.hinted if not (v.Index() in seen or seen.add(v.Index()))]
        for var, value in self.hinted:
            self.m.AddHint(var, value)

    def _day_index(self, day):
        try:
            return self.grid.days.index(day)
        except ValueError:
            return None

    def _reference(self):
        """Warm start from a reference roster; in repair mode also penalize each changed shift."""
        ref = self.data.reference
        if ref is None:
            return
        days = {day: d for d, day in enumerate(self.grid.days)}
        chosen = {}
        for sh in ref.shifts:
            d = days.get(sh.day)
            if d is None:
                continue
            for o in self.by_agent_day[sh.agent, d]:
                if o.template == sh.template and o.start == pd.Timestamp(sh.start):
                    chosen[sh.agent, d] = o
        for (a, o_idx), var in self.x.items():
            o = self.options[o_idx]
            self.m.AddHint(var, chosen.get((a, o.day)) is o)
        if self.data.weights.change <= 0:
            return
        referenced = {(sh.agent, days[sh.day]) for sh in ref.shifts if sh.day in days}
        for a in self.agents:
            for d in range(len(self.grid.days)):
                ref_option = chosen.get((a.id, d))
                if ref_option is not None:
                    changed = 1 - self.x[a.id, ref_option.index]
                elif (a.id, d) in referenced:
                    changed = 1  # its reference shift cannot be worked any more (leave, skills): a change
                else:
                    changed = self.works[a.id, d]
                self.penalties.append(("changed shifts", self.data.weights.change, changed))

    def _greedy_choices(self) -> set[tuple[str, int]]:
        """A greedy roster's (agent, option) choices (see hint.py)."""
        allowed = {a.id: [o for d in range(len(self.grid.days)) for o in self.by_agent_day[a.id, d]]
                   for a in self.agents}
        chosen = greedy_choice(self.data, self.grid, self.options, allowed)
        return {(a, o.index) for a, opts in chosen.items() for o in opts}

    def _choices_of(self, roster: Roster) -> set[tuple[str, int]]:
        """(agent, option) of each shift of a roster, before any variable exists."""
        lookup = {(o.day, o.template, o.first): o.index for o in self.options}
        days = {day: d for d, day in enumerate(self.grid.days)}
        return {(sh.agent, lookup[key]) for sh in roster.shifts
                if (key := (days.get(sh.day), sh.template, self.grid.index_of(pd.Timestamp(sh.start)))) in lookup}

    def _choices(self, roster: Roster) -> set[tuple[str, int]]:
        """(agent, option) of each shift of a roster (shifts that match no option are left out)."""
        days = {day: d for d, day in enumerate(self.grid.days)}
        picked = set()
        for sh in roster.shifts:
            for o in self.by_agent_day.get((sh.agent, days.get(sh.day)), []):
                if o.template == sh.template and o.start == pd.Timestamp(sh.start):
                    picked.add((sh.agent, o.index))
        return picked

    def _start_hint(self, picked: set[tuple[str, int]]):
        """Hint CP-SAT with a starting choice of shifts; `_complete_hint` later fills in the rest."""
        self.greedy = {key: key in picked for key in self.x}
        for key, var in self.x.items():
            self.m.AddHint(var, self.greedy[key])

    def _complete_hint(self, seconds: float, budget: Budget) -> bool:
        """Turn the greedy shift choice into a complete solution hint: with shifts fixed, only
        breaks and queue choices remain, which CP-SAT places quickly. A hint that sets every
        variable lets the main solve start from a full roster instead of repairing a partial one."""
        if not getattr(self, "greedy", None):
            return False
        fixed = self.m.Clone()
        for key, var in self.x.items():
            fixed.Add(fixed.GetBoolVarFromProtoIndex(var.Index()) == int(self.greedy[key]))
        solver = self._solver()
        budget.limit(solver, seconds)
        solver.parameters.stop_after_first_solution = True  # any completion will do: the main solve improves it
        status = solver.Solve(fixed)
        budget.charge(solver)
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return False
        self.m.ClearHints()
        for i in range(len(self.m.Proto().variables)):
            var = self.m.GetIntVarFromProtoIndex(i)
            self.m.AddHint(var, solver.Value(fixed.GetIntVarFromProtoIndex(i)))
        self.fallback = solver  # a complete, valid roster in case the main solve finds none in time
        return True

    def _cost(self):
        w = self.data.weights.cost
        if w <= 0:
            return
        agents = {a.id: a for a in self.agents}
        for (a, o_idx), var in self.x.items():
            units = cost_term(self.options[o_idx], agents[a].cost_per_hour, w)
            if units:
                self.penalties.append(("cost", units, var))

    # -- solve -------------------------------------------------------------------------------------
    def solve(self, progress: Progress | None = None, seconds: float | None = None,
              budget: Budget | None = None) -> SolveResult:
        """Search for `seconds` units of `budget` (default: the input's whole limit)."""
        budget = budget or Budget(self.data.solver)
        amount = budget.left() if seconds is None else seconds
        began = budget.elapsed()
        started = clock.perf_counter()
        # Completing the start may take up to half the time (usually far less).
        self._complete_hint(amount * 0.5, budget)
        solver = self._solver()
        budget.limit(solver, amount - (budget.elapsed() - began), floor=1.0)
        callback = _Progress(progress, started) if progress else None
        status = solver.Solve(self.m, callback) if callback else solver.Solve(self.m)
        budget.charge(solver)
        seconds = clock.perf_counter() - started
        name = solver.StatusName(status)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return SolveResult(name, self._extract(solver), solver.ObjectiveValue(), solver.BestObjectiveBound(),
                               seconds)
        fallback = getattr(self, "fallback", None)
        if status == cp_model.UNKNOWN and fallback is not None:  # time ran out: the greedy roster stands
            return SolveResult("FEASIBLE", self._extract(fallback), fallback.ObjectiveValue(), None, seconds)
        conflicts = explain_infeasibility(self.data) if status == cp_model.INFEASIBLE else []
        return SolveResult(name, None, seconds=seconds, conflicts=conflicts)

    def _solver(self) -> cp_model.CpSolver:
        params = self.data.solver
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = params.workers
        solver.parameters.random_seed = params.seed
        if self.linearization is not None:
            solver.parameters.linearization_level = self.linearization
        return solver

    def _extract(self, solver) -> Roster:
        shifts = []
        for (a, o_idx), var in self.x.items():
            if not solver.BooleanValue(var):
                continue
            o = self.options[o_idx]
            starts = [next(p for p in range(w.earliest, w.latest + 1)
                           if (b := self.bs.get((a, o.day, o.template, k, p))) is not None and solver.BooleanValue(b))
                      for k, w in enumerate(o.breaks)]
            on_queue = [(i, q) for i in range(o.first, min(o.end_index, self.grid.size)) for q in self.queues
                        if (a, i, q) in self.z and solver.Value(self.z[a, i, q]) == 1]
            shifts.append(worked_shift(a, o, self.grid, self.tmpl[o.template], starts, on_queue))
        shifts.sort(key=lambda s: (s.agent, s.start))
        return Roster(shifts=shifts)


class _Progress(cp_model.CpSolverSolutionCallback):
    def __init__(self, report: Progress, started: float):
        super().__init__()
        self.report, self.started = report, started

    def on_solution_callback(self):
        self.report(self.ObjectiveValue(), self.BestObjectiveBound(), clock.perf_counter() - self.started)


def explain_infeasibility(data: RosterInput) -> list[str]:
    """Rules (and agents) whose hard constraints cannot hold together."""
    model = RosterModel(data, explain=True)
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = min(data.solver.time_limit_seconds, 30.0)
    solver.parameters.num_workers = 1
    status = solver.Solve(model.m)
    if status != cp_model.INFEASIBLE:
        return ["no conflict found among the named rules within the time limit"]
    by_index = {v.Index(): k for k, v in model.assumptions.items()}
    return sorted(by_index[i] for i in solver.SufficientAssumptionsForInfeasibility())


# Column generation may spend this share of the time limit (it stops earlier once converged).
COLGEN_SHARE = 0.4
# Large sites: of the time left after the greedy start (the local search takes the rest), when the
# time left is at least COLGEN_MIN_CHECKS validations of a roster (1,000 agents, 60 s: local search
# alone 727,195 vs 780,614 after column generation; at 300 s: 720,315 vs 627,655).
# With the day re-plan after the moves (`dayplan.py`), 0.4 left it too little time: 200 agents, 60 s,
# 117,114 with 0.4 and dive 0.15, 115,615 with 0.2 and 0.08; 1,000 agents 643,061 against 624,708.
LARGE_COLGEN_SHARE = 0.2
COLGEN_MIN_CHECKS = 50
# A large site whose greedy start is valid, whose coverage the local search can take and whose day
# re-plans apply and may move days on and off (dayplan.DAYS_MOVE_AGENTS) goes to the moves and the day
# re-plans at once, without column generation or a wait for the LP relaxation's roster: a round of
# day re-plans takes 30-45 s on a 200-agent week, and the time those spent (22 s and more) left
# too little of the limit for it (200 agents, 60 s, seeds 0-3: 113,842 mean against 117,129).
# Where days stay fixed in the re-plan, the week's shape must come from the start: 1,000 agents,
# 60 s, 642,415 moving first against 625,391 from the LP's roster (from the spread greedy start
# too: 620,729 against 599,440, same session).
MOVES_FIRST = True
# Seconds the final free model must have beyond its build to be worth starting.
FULL_MODEL_MIN_SOLVE = 1.0
# Up to this many (agent, shift option) pairs a site is small: column generation, then the full
# model (CP-SAT can prove optimality there); above it, the LP bound and neighbourhood search.
FULL_MODEL_LIMIT = 20_000


def solve_roster(data: RosterInput, progress: Progress | None = None) -> SolveResult:
    """A greedy roster first (valid within seconds on any site). Small sites: column generation for
    a lower bound and a better roster (the integer master's, or a price-and-dive's), then the full
    CP-SAT model (first under the choices the LP is unanimous about, then, after a short
    neighbourhood search, free). Large sites: from a valid greedy start the local search at once
    (MOVES_FIRST), else column generation and its dive (no integer master) for a better start when
    the time allows it; the LP relaxation (`relaxation.py`) for a lower
    bound in the background from the start; then the coverage local search (`local.py`)
    alternating with large-neighbourhood search (`lns.py`) whenever the local search stalls. The best roster by the validator's score is returned, with
    the best bound."""
    from . import colgen, dayplan, local
    from .validator import validate

    progress = _monotone(progress)
    budget = Budget(data.solver)
    started = budget.started
    grid = Grid(data)
    options = expand_options(data, grid)
    large = len(data.agents) * len(options) > FULL_MODEL_LIMIT
    # see MOVES_FIRST: no column generation, no wait for the LP's roster, if the greedy start is valid
    moves_first = MOVES_FIRST and large and local.applies(data) and not budget.deterministic \
        and len(data.agents) <= dayplan.DAYS_MOVE_AGENTS and dayplan.applies_to(data, options)
    # The moves build on their start's week shape, so that start spreads weekly minimums over the
    # most days (hint.spread_cap). (Not where column generation or the LP's roster gives the start:
    # 1,000 agents, seed 0, same session, 60 s / 300 s: 599,440 / 590,089 spread, 595,726 / 588,583
    # plain.)
    greedy, valid, score, check_seconds = _greedy_start(data, grid, options, started, progress, spread=moves_first)
    greedy_seconds = clock.perf_counter() - started
    best = SolveResult("FEASIBLE", greedy, score, None, 0.0) if valid is None else None
    seed = greedy if valid is None else Roster(shifts=[s for s in greedy.shifts if s.agent in valid]) \
        if greedy is not None else None
    bound, fixings = contract_floor(data, grid), {}
    moves_first = moves_first and best is not None
    # On a large site column generation's fixed costs (dive, conversion, validation) grow
    # with the agents: with little time for its size, the local search does more with all of it.
    affordable = not large or budget.deterministic or budget.left() >= COLGEN_MIN_CHECKS * check_seconds
    by_columns = colgen.applies(data) and colgen.cost(data, options) <= COLGEN_LIMIT and affordable and \
        not moves_first
    # The LP bound of a large site solves in the background from the start. (Started after column
    # generation, beside the local search, it did not arrive within 60 s on 200 agents: the bound
    # shown was the contract floor, 109,217 against the LP's 109,840. Started first, the pricing it
    # shares the cores with lost nothing measurable: 1,000 agents, 300 s, 600,324 against 600,322;
    # 200 agents, 60 s, 121,236 against 121,175.)
    relaxed = _relaxation_in_background(data, grid, options) if large else None
    promising, rins_start = None, None
    if by_columns:
        share = COLGEN_SHARE if not large else LARGE_COLGEN_SHARE * budget.left() / budget.total
        dive = LARGE_DIVE_SHARE if large else DIVE_SHARE
        master = 0.0 if large else MASTER_SHARE
        first, lagrangian, priced, fixings, promising, rins_start = _column_generation(
            data, grid, options, budget, progress, seed, share, dive, master)
        bound = max((b for b in (bound, lagrangian) if b is not None), default=None)
        if first is None and priced is None:  # some agent has no schedule at all within its rules
            return SolveResult("INFEASIBLE", None, seconds=clock.perf_counter() - started,
                               conflicts=explain_infeasibility(data))
        if first is not None:
            best = _better(best, first) if best is not None else first
    if large:
        if promising is None and relaxed is not None and best is not None and not moves_first:
            best = _lp_start(data, grid, options, relaxed, budget, best, greedy_seconds, progress)
        start = best.roster if best is not None else (greedy if greedy is not None else Roster(shifts=[]))
        return _large_site(data, grid, options, start, best, bound, budget, progress, promising, relaxed,
                           check_seconds)
    if best is not None and bound is not None:
        best.bound = bound
        if best.objective <= bound:
            best.status, best.seconds = "OPTIMAL", clock.perf_counter() - started
            return best
    if best is None:
        return _full_model(data, grid, options, None, bound, {}, budget.left(), budget, progress)
    built: list[float] = []
    if fixings:
        rins = RINS_SHARE if rins_start is None else RINS_FROM_LP_SHARE
        start = rins_start if rins_start is not None else best.roster
        best = _better(best, _full_model(data, grid, options, start, bound, fixings,
                                         rins * budget.left(), budget, progress, built))
    if best.status != "OPTIMAL" or fixings:
        # The free model only when building it again leaves it time to search (a 14-agent
        # 15-minute week, 30 s: 35.5 s in all with it, its build alone taking 3 s); else the
        # neighbourhood search takes all the time left.
        free = budget.deterministic or \
            (1 - SMALL_LNS_SHARE) * budget.left() > max(built, default=0.0) + FULL_MODEL_MIN_SOLVE
        if SMALL_LNS_SHARE > 0 and best.status != "OPTIMAL":
            with budget.only((SMALL_LNS_SHARE if free else 1.0) * budget.left()):
                best = _better(best, _neighbourhood_search(data, grid, options, best.roster, bound, budget, progress))
        if free:
            best = _better(best, _full_model(data, grid, options, best.roster, bound, {}, budget.left(), budget,
                                             progress))
    best.seconds = clock.perf_counter() - started
    return best


def contract_floor(data: RosterInput, grid: Grid) -> int | None:
    """A lower bound no search is needed for: every valid roster pays each agent at least its
    contract minimum (weekly minimums over whole weeks, or the horizon minimum) at its rate, less
    half a unit per day for the rounding of each shift's cost term; every other term is
    non-negative. None when labour cost is not part of the objective."""
    w, n_days = data.weights.cost, len(grid.days)
    if w <= 0:
        return None
    total = 0.0
    for a in data.agents:
        c = a.contract
        minutes = max((n_days // 7) * c.min_hours * 60, (c.horizon_min_hours or 0) * 60)
        total += max(w * a.cost_per_hour * minutes / 60 - 0.5 * n_days, 0.0)
    return math.ceil(total - 1e-6) if total > 0 else None


def _monotone(progress: Progress | None) -> Progress | None:
    """Progress as a user should see it: the best objective and bound so far. (Each phase starts
    its own search, whose first solutions can be worse than an earlier phase's best.)"""
    if progress is None:
        return None
    best = {"objective": math.inf, "bound": -math.inf}

    def report(objective, bound, seconds):
        objective, bound = min(objective, best["objective"]), max(bound, best["bound"])
        if objective < best["objective"] or bound > best["bound"]:
            best.update(objective=objective, bound=bound)
            progress(objective, bound, seconds)

    return report


# The greedy start's speed, in (agent, shift option, shift an agent takes) units a second: measured
# 454M units in 14-24 s on the Curtois format's largest size (150 employees, 364 days, 32 shifts).
# It is skipped when it would take more than GREEDY_SHARE of the time limit.
GREEDY_UNITS_PER_SECOND = 20_000_000
GREEDY_SHARE = 0.5


def _greedy_start(data, grid, options, started, progress, spread: bool = False):
    """(greedy roster or None, None if it keeps every rule else the agents whose schedules do,
    its validated objective, seconds one validation of a whole roster takes). With `spread`, agents
    spread their weekly minimum over their most days (`hint.spread_cap`); should that roster break
    a rule, the plain greedy's is taken."""
    from .hint import greedy_roster
    from .validator import validate

    shifts_each = max(1, len(grid.days) * 5 // 7)
    if len(data.agents) * len(options) * shifts_each > GREEDY_UNITS_PER_SECOND * GREEDY_SHARE * \
            data.solver.time_limit_seconds:
        return None, set(), None, 0.0
    roster = greedy_roster(data, grid, options, spread=spread)
    checked = clock.perf_counter()
    report = validate(data, roster)
    check_seconds = clock.perf_counter() - checked
    if spread and not report.feasible:
        return _greedy_start(data, grid, options, started, progress)
    if report.feasible:
        if progress is not None:
            progress(report.objective, 0.0, clock.perf_counter() - started)
        return roster, None, report.objective, check_seconds
    broken = {v.agent for v in report.violations}
    if None in broken:  # a roster-wide rule is broken: no agent's schedule can be trusted alone
        return roster, set(), None, check_seconds
    return roster, {a.id for a in data.agents} - broken, None, check_seconds


RINS_SHARE = 0.35  # of the time left after column generation, searched under the LP's fixings
# ... from the LP rounded instead of a dive's roster, that search is what builds the roster, and it
# takes all but 5% of the time left (the neighbourhood search and free model after it improved
# none of these runs). Instance12, 60 s, 2 workers, seeds 0-4: with 0.7, 4,140 / 4,143 / 4,248 (no
# progress callback, as the CLI runs) and 4,141 / 4,142 / 4,040 / 4,042 through the CLI (seeds
# 0/1/3/4); with 0.95, 4,041 / 4,041 / 4,041 and 4,041 / 4,141 / 4,040 / 4,040. (0.35: 4,246 / 4,342.)
RINS_FROM_LP_SHARE = 0.95
# The search under the LP's fixings with CP-SAT's fuller LP (every constraint linearized, cuts).
# Curtois-Qu, 60 s, 2 workers, seeds 1 and 2 (default level -> 2): Instance8 1411 / 1494 -> 1308 /
# 1403, Instance12 4445 / 4141 -> 4156 / 4244, Instance7 and 9 within a unit or two either way.
RINS_LINEARIZATION = 2
# A large site without a column-generation start waits for its LP roster while this many greedy
# builds' worth of time is left (the guided build takes less than one; the search needs the rest).
LP_START_RESERVE = 1.5
# Of the time limit for the price-and-dive after column generation (a roster from a tight but
# fractional LP). Large sites, 60 s: 200 agents 123,446 without, 121,309 / 121,241 / 122,739 with
# 0.08 / 0.15 / 0.25; 1,000 agents 663,920 without, 633,391 with 0.15.
DIVE_SHARE, LARGE_DIVE_SHARE = 0.2, 0.08  # large: see LARGE_COLGEN_SHARE
# Of the time limit for the integer roster from the columns. Not on large sites: 200 agents, 60 s,
# 158,540 from it against 138,044 from the dive; 1,000 agents, 300 s, no roster in its 16 s.
MASTER_SHARE = 0.05
# Small sites: of the time left after the search under the LP's fixings, a neighbourhood search
# before the free model. It repairs what that search leaves and the free model can take 20 s or more
# to find (Instance9: one shift-demand unit missed, 539 against 439). Curtois-Qu, 60 s, this
# machine, without -> with: Instance9 seeds 0 / 1 / 2: 539 / 439 / 441 -> 442 / 443 / 439;
# Instance8 seeds 0 / 1: 1,604 / 1,406 -> 1,409 / 1,401; Instance12: 4,762 / 4,657 -> 4,945 / 4,549.
SMALL_LNS_SHARE = 0.15
# Column generation prices every group of identical agents each round; past this many (group,
# shift option) pairs a round takes too long (Python-built pricing models) to pay back.
COLGEN_LIMIT = 100_000


def _better(a: SolveResult, b: SolveResult) -> SolveResult:
    """The result with the lower objective (ties: the later one), keeping the best bound. A status
    of OPTIMAL from a restricted search proves nothing beyond it, so it is kept only at the bound."""
    if b.roster is None or b.objective is None:
        return a
    best = b if a.objective is None or b.objective <= a.objective + 1e-9 else a
    bounds = [x for x in (a.bound, b.bound) if x is not None]
    bound = max(bounds) if bounds else None
    status = "OPTIMAL" if bound is not None and best.objective <= bound + 1e-9 else "FEASIBLE"
    return SolveResult(status, best.roster, best.objective, bound, best.seconds)


def _full_model(data, grid, options, start, bound, fixings, seconds, budget, progress, built=None) -> SolveResult:
    """The whole model, started from `start` (else a greedy roster), under `fixings`; with a known
    lower bound CP-SAT stops as soon as it reaches it. Without fixings, its own bound counts.
    Building the model counts against `seconds` (wall-clock budgets); `built`, a list, hears how
    long the build took."""
    building = clock.perf_counter()
    model = RosterModel(data, grid=grid, options=options, start=start)
    if fixings and start is not None:
        fixings = agreeing(fixings, model._choices(start))
    for key, value in fixings.items():
        if key in model.x:
            model.m.Add(model.x[key] == value)
    if fixings:
        model.linearization = RINS_LINEARIZATION
    if bound is not None:
        model.m.Add(sum(w * e for _, w, e in model.penalties) >= math.ceil(bound - 1e-9))  # integral objective
    build = clock.perf_counter() - building
    if built is not None:
        built.append(build)
    if not budget.deterministic:
        seconds -= build
    elapsed = clock.perf_counter() - budget.started

    def shifted(objective, b, t):  # progress in time since the whole solve started
        # under fixings CP-SAT's bound holds for the restricted problem only
        progress(objective, (bound or 0.0) if fixings else b, t + elapsed)

    result = model.solve(shifted if progress else None, seconds=max(seconds, 1.0), budget=budget)
    result.seconds = clock.perf_counter() - budget.started
    if fixings and result.status == "OPTIMAL":
        result.status = "FEASIBLE"  # optimal under the fixings only
    if fixings:
        result.bound = None
    if bound is not None:
        result.bound = bound if result.bound is None else max(result.bound, bound)
    if result.status == "OPTIMAL" and result.bound is not None and result.objective is not None \
            and result.objective > result.bound + 1e-9:
        result.status = "FEASIBLE"
    return result


# Pricing that ends within this share of the LP from its best bound is nearly converged: a few
# more rounds finish it (Instance12 after its 24 s: 1.5% to 6.4% over 14 runs, the smoothed
# bound being noisy; converged 3-8 s later). A site far from it (a 14-agent week: 55%) keeps
# its dive.
NEARLY_CONVERGED = 0.1


def _nearly_converged(outcome) -> bool:
    if outcome.converged or outcome.bound is None or outcome.lp_value is None:
        return False
    return outcome.lp_value - outcome.bound <= NEARLY_CONVERGED * max(abs(outcome.lp_value), 1.0)


def agreeing(fixings: dict[tuple[str, int], int], picked: set[tuple[str, int]]) -> dict[tuple[str, int], int]:
    """The fixings the start roster keeps (RINS: fix only where the LP and the incumbent agree),
    so the start stays a solution under them and the search begins from it, not from repairing
    it. (The incumbent can be the dive's, whose late columns the LP's fixings never saw.)"""
    return {key: value for key, value in fixings.items() if (key in picked) == bool(value)}


# Large sites: the local search stops after this many moves without a new best, and the
# neighbourhood search then gets this share of the time left (at least NEIGHBOURHOOD_MIN seconds)
# before the local search goes on from its result.
STALL_MOVES = 30_000
# ... and days are re-planned whole (`dayplan.py`) once the moves gain less than this share of the
# objective a second (a 200-agent round of days gains about 0.2% a second; 200 agents, 60 s: the
# re-plan came too late to finish a round with 0.0005).
REPLAN_GAIN_RATE = 0.002
NEIGHBOURHOOD_SHARE, NEIGHBOURHOOD_MIN = 0.3, 5.0


def _large_site(data, grid, options, start, best, bound, budget, progress, promising, relaxed,
                check_seconds: float = 0.0) -> SolveResult:
    """Local search from a valid start (thousands of one-shift moves a second) until it stalls,
    then neighbourhood search (a few agents re-solved whole by CP-SAT: moves the local search
    cannot make), then the local search again from its result, and so on to the limit.
    `check_seconds` (one validation of a roster) is kept back so the limit holds."""
    from . import local

    started = budget.started
    # the last roster's conversion and validation (wall time: not part of a deterministic limit)
    reserve = 0.0 if budget.deterministic else 2.0 * check_seconds
    if best is None or not local.applies(data):  # a start that breaks rules is repaired by the search
        return _neighbourhood_search(data, grid, options, start, bound, budget, progress, promising, relaxed,
                                     reserve)
    while budget.left() > reserve + 0.5:
        best = _polish(data, grid, options, best, budget, budget.left() - reserve, progress, relaxed, bound,
                       0.0 if budget.deterministic else check_seconds)
        slice_ = max(NEIGHBOURHOOD_SHARE * budget.left(), NEIGHBOURHOOD_MIN)
        if budget.left() - reserve < slice_ + 1.0:
            break
        with budget.only(slice_):
            searched = _neighbourhood_search(data, grid, options, best.roster, bound, budget, progress, promising,
                                             relaxed)
        best = _better(best, searched)
    bounds = [b for b in (best.bound, bound, relaxed() if relaxed is not None else None) if b is not None]
    best.bound = max(bounds) if bounds else None  # the LP bound too, if it has come
    if best.bound is not None and best.objective <= best.bound + 1e-9:
        best.status = "OPTIMAL"
    best.seconds = clock.perf_counter() - started
    return best


def _polish(data, grid, options, best, budget, seconds, progress, relaxed, bound, check_seconds) -> SolveResult:
    """The local search on `best` for `seconds` at most (less if it stalls), scored by the validator."""
    from . import local
    from .validator import validate

    def report(change):
        if progress is not None:
            lp = relaxed() if relaxed is not None else None
            progress(best.objective + change, max([b for b in (bound, lp, 0.0) if b is not None]),
                     clock.perf_counter() - budget.started)

    began = clock.perf_counter()
    roster, search = local.improve(data, grid, options, best.roster, seconds - check_seconds, seed=data.solver.seed,
                                   budget=budget, report=report, patience=STALL_MOVES, began=began,
                                   replan=True, slow=REPLAN_GAIN_RATE * abs(best.objective))
    if search is None or search.value >= -1e-9:
        return best
    result = SolveResult("FEASIBLE", roster, validate(data, roster).objective, best.bound, 0.0)
    return _better(best, result)


class _Relaxation:
    """The LP relaxation of a large site (`relaxation.py`), solved in a thread while the search runs
    (HiGHS releases the interpreter lock). Called, it gives the bound once there (else None)."""

    def __init__(self, data, grid, options):
        import threading

        from . import colgen
        from .relaxation import lower_bound

        self.groups = colgen.group_agents(data)
        self.bound, self.counts = None, []

        def run():
            self.bound, self.counts = lower_bound(data, grid, options, self.groups, data.solver.time_limit_seconds)

        self.thread = threading.Thread(target=run, name="roster-lp-bound", daemon=True)
        self.thread.start()

    def __call__(self) -> float | None:
        return self.bound

    def guide(self, wait: float) -> dict[str, dict[int, float]] | None:
        """Per agent, the LP's count of its group's agents on each option (one dict per group, for
        `hint.greedy_roster` to count down), after waiting up to `wait` seconds; None if not there."""
        self.thread.join(max(wait, 0.0))
        if self.thread.is_alive() or not self.counts:
            return None
        guide = {}
        for agents, counts in zip(self.groups, self.counts):
            left = dict(counts)
            guide.update({a.id: left for a in agents})
        return guide


def _relaxation_in_background(data, grid, options) -> _Relaxation | None:
    from . import colgen

    if not colgen.applies(data) or colgen.cost(data, options) > COLGEN_LIMIT:
        return None
    return _Relaxation(data, grid, options)


def _lp_start(data, grid, options, relaxed: _Relaxation, budget, best, greedy_seconds, progress) -> SolveResult:
    """The better of `best` and a greedy roster that follows the LP relaxation's roster: agents take
    the shifts the LP gives their group, up to their contract minimum (the LP's optimum has every
    agent at it), so the local search starts from the LP's shape of the week. Measured on the
    generated 1,000-agent week, 60 s without column generation: 696,092 from the plain greedy
    start, 672,864 from this one (built at 38 s, after the LP)."""
    from .hint import greedy_roster
    from .validator import validate

    if budget.deterministic:  # the wait and the reserve are wall time: wait for the LP, whatever it takes
        guide = relaxed.guide(budget.wall_left())
    else:
        guide = relaxed.guide(budget.left() - LP_START_RESERVE * greedy_seconds)
        if budget.left() < LP_START_RESERVE * greedy_seconds:
            return best
    if guide is None:
        return best
    roster = greedy_roster(data, grid, options, guide)
    report = validate(data, roster)
    if not report.feasible or report.objective >= best.objective:
        return best
    if progress is not None:
        progress(report.objective, relaxed() or 0.0, clock.perf_counter() - budget.started)
    return SolveResult("FEASIBLE", roster, report.objective, best.bound, 0.0)


def _neighbourhood_search(data, grid, options, roster, bound, budget, progress, promising=None,
                          relaxed=None, reserve: float = 0.0) -> SolveResult:
    """Large-neighbourhood search from `roster` until `reserve` seconds are left (for the final
    validation); agents whose schedule in it breaks a rule are repaired first. With `promising`
    options per agent (from column generation), neighbourhood models offer an agent only those and
    its current shifts: far smaller models, more steps.
    `relaxed()` gives the LP bound once its background solve is done."""
    from . import lns
    from .validator import validate

    params, started = data.solver, budget.started
    report = validate(data, roster)
    broken = {v.agent for v in report.violations if v.agent is not None}
    score = None if broken else report.objective

    lookup = {(o.day, o.template, o.first): o.index for o in options}
    days = {day: d for d, day in enumerate(grid.days)}

    def model(agents, fixed, start, free_days):
        candidates = None
        if promising is not None:
            candidates = {a.id: set(promising.get(a.id, ())) for a in agents}
            for sh in start.shifts:
                key = (days[sh.day], sh.template, grid.index_of(pd.Timestamp(sh.start)))
                candidates[sh.agent].add(lookup[key])
        return RosterModel(data, agents=agents, grid=grid, options=options, start=start, fixed=fixed,
                           free_days=free_days, candidates=candidates)

    def best_bound():
        lp = relaxed() if relaxed is not None else None
        known = [b for b in (bound, lp) if b is not None]
        return max(known) if known else None

    def better(current, gain):
        nonlocal score
        score = validate(data, current).objective if score is None or math.isinf(gain) else score - gain
        if progress is not None:
            progress(score, best_bound() or 0.0, clock.perf_counter() - started)

    try:
        roster, search = lns.improve(data, grid, options, roster, budget.left() - reserve, model, seed=params.seed,
                                     workers=params.workers, on_better=better, broken=broken, budget=budget)
    except lns.Unrepairable:
        return SolveResult("INFEASIBLE", None, seconds=clock.perf_counter() - started,
                           conflicts=explain_infeasibility(data))
    seconds = clock.perf_counter() - started
    if search.broken:  # time ran out before every agent had a valid schedule
        return SolveResult("UNKNOWN", None, seconds=seconds)
    score, bound = validate(data, roster).objective, best_bound()
    status = "OPTIMAL" if bound is not None and score <= bound + 1e-9 else "FEASIBLE"
    return SolveResult(status, roster, score, bound, seconds)


class Priced(NamedTuple):
    """What column generation hands on to the rest of a solve."""
    first: SolveResult | None         # the best roster from the columns (validator's objective)
    bound: int | None                 # Lagrangian lower bound
    size: int | None                  # (agent, option) pairs; None when some agent has no schedule
    fixings: dict                     # (agent, option) -> 0/1 the LP is unanimous about
    promising: dict | None            # per agent: every option some column of its group uses
    rins_start: Roster | None = None  # the LP rounded, when the search under the fixings starts there


def _column_generation(data, grid, options, budget, progress, start=None, share: float = 0.4,
                       dive: float = DIVE_SHARE, master: float = MASTER_SHARE) -> Priced:
    """The roster is the integer master's (`master` of the time limit; 0 skips it) or, when that is
    not at the bound, the price-and-dive's (`dive` of the time limit, plus what pricing left of its
    own `share` by converging early) if better; when pricing stopped nearly converged, the dive's
    time prices on instead and the LP rounded becomes `rins_start`."""
    from . import colgen
    from .validator import validate

    params = data.solver

    def pricing_model(agents):
        return RosterModel(data, agents=agents, pricing=True, grid=grid, options=options)

    gen = colgen.ColumnGenerator(data, grid, options, pricing_model, workers=params.workers)
    size = sum(len(g.agents) * len(g.options) for g in gen.groups)
    began = budget.elapsed()
    try:
        outcome = gen.run(share * budget.total, seed=params.seed, start=start, budget=budget)
        unused = max(share * budget.total - (budget.elapsed() - began), 0.0)  # pricing converged early
    except colgen.Infeasible:
        return Priced(None, None, None, {}, None)
    except colgen.OutOfTime:
        return Priced(None, None, size, {}, None)
    rins_start = None
    if dive > 0 and master > 0 and _nearly_converged(outcome):
        # Pricing stopped just short of converging. A dive would not finish on such a site: it
        # fixes the last agents unpriced (Instance12: 8,013 against an LP of 4,047). The dive's
        # time goes to pricing on at the LP's own duals instead, and the search under the LP's
        # fixings starts from the LP rounded (Instance12, 60 s, seeds 0/1/2: 4,041/4,042/4,042,
        # against 4,544/4,752 after the dive).
        earlier = outcome.bound
        outcome = gen.run(dive * budget.total, seed=params.seed + 1, alpha=0.0, budget=budget, resume=True)
        outcome.bound = max((b for b in (earlier, outcome.bound) if b is not None), default=None)
        rounded = colgen.lp_rounded(gen, outcome)
        rins_start = colgen.roster_of(rounded, options, grid, gen.rows.queues, data) if rounded else None
        dive = 0.0
    # Every penalty is non-negative, so 0 bounds the objective too; the Lagrangian bound of an
    # unconverged run can lie below it.
    bound = max(math.ceil(outcome.bound - 1e-6), 0) if outcome.bound is not None else None
    roster, value = None, math.inf

    def consider(candidate: Roster | None):  # keep the better roster by the validator's score
        nonlocal roster, value
        score = validate(data, candidate).objective if candidate is not None else math.inf
        if score < value:
            roster, value = candidate, score

    if master > 0:
        seconds = min(master * budget.total, max(budget.left() * 0.3, 0.5))
        assignment = colgen.master_roster(gen, outcome, seconds=seconds, seed=params.seed, workers=params.workers,
                                          budget=budget)
        consider(colgen.roster_of(assignment, options, grid, gen.rows.queues, data) if assignment else None)
    if dive > 0 and (bound is None or value > bound):
        dived = colgen.dive(gen, dive * budget.total + unused, seed=params.seed, budget=budget)
        consider(colgen.roster_of(dived, options, grid, gen.rows.queues, data) if dived is not None else None)
    consider(rins_start)
    if roster is None:
        return Priced(None, bound, size, {}, None)
    if progress is not None:
        progress(value, bound if bound is not None else 0.0, clock.perf_counter() - budget.started)
    promising = {}  # per agent: every option some column of its group uses (for neighbourhood search)
    for c in outcome.columns:
        for a in gen.groups[c.group].agents:
            promising.setdefault(a.id, set()).update(p.option for p in c.shifts)
    first = SolveResult("FEASIBLE", roster, value, bound, 0.0)
    return Priced(first, bound, size, colgen.lp_fixings(gen, outcome), promising, rins_start)
