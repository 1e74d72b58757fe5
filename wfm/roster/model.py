"""The CP-SAT model of named agents on shift options with placed breaks.

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
from typing import Callable

import pandas as pd
from ortools.sat.python import cp_model

from . import service_goal
from .budget import Budget
from .costs import cost_term
from .domain import Roster, RosterInput
from .greedy import greedy_choice
from .options import Grid, ShiftOption, blocked as options_blocked, eligible, expand_options, worked_shift
from .rules import Rule

Progress = Callable[[float, float, float], None]  # objective, bound, seconds


@dataclass
class SolveResult:
    status: str
    roster: Roster | None
    objective: float | None = None
    bound: float | None = None
    seconds: float = 0.0
    conflicts: list[str] = field(default_factory=list)
    bound_source: str | None = None   # which computation proved `bound` (set by `solver.solve_roster`)

    @property
    def gap(self) -> float | None:
        if self.objective is None or self.bound is None:
            return None
        return abs(self.objective - self.bound) / max(abs(self.objective), 1e-9)


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
            self._keep_outside(self.choices(start), free_days)
        if fixed is not None:
            self._hint_roster(start)
        elif start is not None and not explain:
            self._start_hint(self.choices(start))
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
                    rule = (Rule.UNAVAILABLE if blocked else
                            f"{Rule.TEMPLATE_CAP} {o.template}" if a.contract.template_caps.get(o.template) == 0
                            else Rule.SKILLS)
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
                    self._add(self.m.Add(self.works[a.id, days[day]] == 0), Rule.UNAVAILABLE, a.id)
            for day, template in a.fixed.items():
                if day not in days:
                    continue
                d = days[day]
                if template is None:
                    self._add(self.m.Add(self.works[a.id, d] == 0), Rule.FIXED_DAY_OFF, a.id)
                else:
                    chosen = [self.x[a.id, o.index] for o in self.by_agent_day[a.id, d] if o.template == template]
                    self._add(self.m.Add(sum(chosen) == 1), Rule.FIXED_SHIFT, a.id)

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
                self._add(self.m.Add(paid <= math.floor(c.max_hours * 60 + 1e-9)), Rule.CONTRACT_MAX_HOURS, a.id)
                self._add(self.m.Add(days <= c.max_days), Rule.CONTRACT_MAX_DAYS, a.id)
                if full and c.min_hours > 0:
                    self._add(self.m.Add(paid >= math.ceil(c.min_hours * 60 - 1e-9)), Rule.CONTRACT_MIN_HOURS, a.id)
                if full and c.min_days > 0:
                    self._add(self.m.Add(days >= c.min_days), Rule.CONTRACT_MIN_DAYS, a.id)
            mine = [o for d in range(len(self.grid.days)) for o in self.by_agent_day[a.id, d]]
            if c.horizon_min_hours is not None or c.horizon_max_hours is not None:
                total = sum(self.x[a.id, o.index] * o.paid_minutes for o in mine)
                if c.horizon_max_hours is not None:
                    self._add(self.m.Add(total <= math.floor(c.horizon_max_hours * 60 + 1e-9)),
                              Rule.CONTRACT_HORIZON_MAX_HOURS, a.id)
                if c.horizon_min_hours is not None:
                    self._add(self.m.Add(total >= math.ceil(c.horizon_min_hours * 60 - 1e-9)),
                              Rule.CONTRACT_HORIZON_MIN_HOURS, a.id)
            for t_id, cap in c.template_caps.items():
                uses = [self.x[a.id, o.index] for o in mine if o.template == t_id]
                if len(uses) > cap:
                    self._add(self.m.Add(sum(uses) <= cap), f"{Rule.TEMPLATE_CAP} {t_id}", a.id)

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
                        self._add(self.m.Add(sum(self.x[a.id, i] for i in ending + clash) <= 1), Rule.MIN_REST, a.id)

    def _not_followed_by(self):
        """A template's forbidden successors may not be worked the next day."""
        n = len(self.grid.days)
        for a in self.agents:
            for d in range(n - 1):
                for o in self.by_agent_day[a.id, d]:
                    banned = self.tmpl[o.template].not_followed_by
                    nxt = [self.x[a.id, p.index] for p in self.by_agent_day[a.id, d + 1] if p.template in banned]
                    if nxt:
                        self._add(self.m.Add(self.x[a.id, o.index] + sum(nxt) <= 1), Rule.NOT_FOLLOWED_BY, a.id)

    def _consecutive_days(self):
        n = len(self.grid.days)
        for a in self.agents:
            r = a.rules(self.data.rules)
            w = [self.works[a.id, d] for d in range(n)]
            for s in range(n - r.max_consecutive_days):
                self._add(self.m.Add(sum(w[s:s + r.max_consecutive_days + 1]) <= r.max_consecutive_days),
                          Rule.MAX_CONSECUTIVE_DAYS, a.id)
            # Runs inside the horizon (bounded on both sides) of at least the minimum length:
            # forbid off, L worked, off (and work, L off, work) for every L below the minimum.
            for length in range(1, r.min_consecutive_days):
                for s in range(n - length - 1):
                    inner = w[s + 1:s + 1 + length]
                    self._add(self.m.AddBoolOr([w[s]] + [v.Not() for v in inner] + [w[s + length + 1]]),
                              Rule.MIN_CONSECUTIVE_DAYS, a.id)
            for length in range(1, r.min_consecutive_days_off):
                for s in range(n - length - 1):
                    inner = w[s + 1:s + 1 + length]
                    self._add(self.m.AddBoolOr([w[s].Not()] + list(inner) + [w[s + length + 1].Not()]),
                              Rule.MIN_CONSECUTIVE_DAYS_OFF, a.id)

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
                self._add(self.m.Add(sum(flags) <= limits[a]), Rule.MAX_WEEKENDS, a)

    def _start_time_stability(self):
        k = self.data.rules.start_time_tolerance_minutes
        if k is None:
            return
        for a in self.agents:
            for d in range(len(self.grid.days) - 1):
                both = [self.works[a.id, d], self.works[a.id, d + 1]]
                diff = self._start(a.id, d + 1) - self._start(a.id, d)
                lit = self._enforce(Rule.START_TIME_STABILITY, a.id)
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
                        self._add(self.m.Add(self.x[a.id, o.index] == 0), f"{Rule.MIN_REST} (previous roster)", a.id)
            worked = {s.day for s in prev}
            run = 0
            while first_day - timedelta(days=run + 1) in worked:
                run += 1
            allowed = max(a.rules(rules).max_consecutive_days - run, 0)  # a run already too long: rest first
            window = [self.works[a.id, d] for d in range(min(allowed + 1, len(self.grid.days)))]
            if run and len(window) == allowed + 1:
                self._add(self.m.Add(sum(window) <= allowed), f"{Rule.MAX_CONSECUTIVE_DAYS} (previous roster)", a.id)

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
        picked = self.choices(roster)
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
        """A greedy roster's (agent, option) choices (see greedy.py)."""
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

    def choices(self, roster: Roster) -> set[tuple[str, int]]:
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
