"""What-if scenarios: the base plan plus overrides, compared with the base.

A scenario changes any of: the forecast percentile planned to, volume (multipliers by queue,
day and time range), AHT, service targets (SL, ASA, abandonment, patience), shrinkage, the
occupancy cap, headcount (agents hired with their contracts, or removed), shift templates,
rules, weights and solver settings. Two modes:

* `requirements` (seconds): new requirements and required FTE; service, under/over-coverage,
  paid hours and cost are those of the roster in force (the base roster, solved once or read
  from a file) facing the scenario's demand: "what happens if we change nothing?".
  Headcount, template and rule changes need a new roster, so they are noted, not applied.
* `roster`: every scenario is rerostered with its own agents, templates and rules.

`run_scenarios(request)` is the plain function behind `wfm scenario run` and the HTTP route:
a `ScenarioRequest` in, a `ScenarioReport` out. The base and every scenario are tasks of one
executor (`wfm.executor`); a scenario that fails reports its reason and the others go on.
"""

from __future__ import annotations

import math
import re
import time
from dataclasses import dataclass, field
from datetime import date, time as clock
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .domain import ServiceTarget
from .errors import InputError
from .plan import (InForce, PlanBase, PlanConfig, PlanMetrics, RosterSetup, _Strict, build_roster, demand, describe,
                   on_queue_by_queue, parse_config, plan_from_base, prepare_base, read_structured, requirements)
from .roster.domain import Agent, Contract, Roster, Rules, ShiftTemplate, SolverParams, Weights
from .simulate import SimulationOptions

Mode = Literal["requirements", "roster"]
WEEKDAYS = ["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"]


# --------------------------------------------------------------------------- overrides


class VolumeChange(_Strict):
    """Multiply forecast volume where all the given filters match (no filter = everywhere)."""

    multiplier: float = Field(ge=0, description="1.15 = 15% more contacts")
    queues: list[str] | None = None
    days: list[str] | None = Field(None, description="weekday names (monday, tue, ...) or dates (2026-05-25)")
    start_time: clock | None = Field(None, description="local clock time, from (inclusive)")
    end_time: clock | None = Field(None, description=(
        "local clock time, until (exclusive); before start_time wraps midnight"))

    @field_validator("days")
    @classmethod
    def _days(cls, days):
        for d in days or []:
            if _weekday(d) is None:
                try:
                    date.fromisoformat(d)
                except ValueError:
                    raise ValueError(f"{d!r} is neither a weekday name nor a date (YYYY-MM-DD)") from None
        return days


class AhtChange(_Strict):
    """New AHT = AHT x multiplier + add_seconds."""

    queues: list[str] | None = None
    add_seconds: float = 0.0
    multiplier: float = Field(1.0, gt=0)


class TargetChange(_Strict):
    """Service-target fields to change (unset fields stay), for some queues or all."""

    queues: list[str] | None = None
    service_level: float | None = None
    answer_seconds: float | None = None
    max_asa_seconds: float | None = None
    max_abandon_rate: float | None = None
    patience_seconds: float | None = None
    max_occupancy: float | None = None
    shrinkage: float | None = None
    min_agents: int | None = None
    concurrency: int | None = None


class Hire(_Strict):
    count: int = Field(ge=1, le=10_000)
    prefix: str = Field("new", min_length=1, description="ids are prefix-01, prefix-02, ...")
    skills: list[str] = Field(min_length=1)
    contract: Contract = Contract()
    cost_per_hour: float = Field(0.0, ge=0)


class Remove(_Strict):
    agents: list[str] = Field(default_factory=list, description="these agents by id")
    count: int = Field(0, ge=0, description="and this many more (the last in the agent list first)")
    skills: list[str] | None = Field(None, description="...among agents with all of these skills")


class Scenario(_Strict):
    name: str = Field(min_length=1)
    description: str = ""
    percentile: float | None = Field(None, gt=0, lt=1, description="plan to this percentile of forecast volume")
    volume: list[VolumeChange] = Field(default_factory=list)
    aht: list[AhtChange] = Field(default_factory=list)
    targets: list[TargetChange] = Field(default_factory=list)
    shrinkage: float | None = Field(None, description="every queue's shrinkage")
    max_occupancy: float | None = Field(None, description="every queue's occupancy cap")
    hire: list[Hire] = Field(default_factory=list)
    remove: Remove | None = None
    templates: list[ShiftTemplate] | None = Field(None, description="replace every shift template")
    add_templates: list[ShiftTemplate] = Field(default_factory=list)
    remove_templates: list[str] = Field(default_factory=list)
    rules: dict | None = Field(None, description="rule fields to change (min_rest_hours, max_weekends, ...)")
    weights: dict | None = None
    solver: dict | None = None

    @field_validator("rules", "weights", "solver")
    @classmethod
    def _known_fields(cls, change, info):
        model = {"rules": Rules, "weights": Weights, "solver": SolverParams}[info.field_name]
        unknown = sorted(set(change or {}) - set(model.model_fields))
        if unknown:
            raise ValueError(f"unknown field(s) {unknown}; {info.field_name} has {sorted(model.model_fields)}")
        try:  # the values too, here: a job must not fail on them after it was accepted
            model.model_validate(change or {})
        except ValidationError as exc:
            first = exc.errors()[0]
            raise ValueError(f"{'.'.join(str(p) for p in first['loc'])}={first.get('input')!r}: {first['msg']}") \
                from None
        return change

    def roster_changes(self) -> list[str]:
        return [k for k in ("hire", "remove", "templates", "add_templates", "remove_templates", "rules", "weights",
                            "solver") if getattr(self, k)]

    @classmethod
    def simple(cls, name: str, volume_multiplier: float = 1.0, aht_add_seconds: float = 0.0,
               shrinkage: float | None = None) -> "Scenario":
        """The everyday what-if: all volume times a factor, seconds added to every AHT, every queue's shrinkage."""
        return cls(name=name, volume=[VolumeChange(multiplier=volume_multiplier)] if volume_multiplier != 1 else [],
                   aht=[AhtChange(add_seconds=aht_add_seconds)] if aht_add_seconds else [], shrinkage=shrinkage)


# The what-ifs of a report when the site has no scenario set of its own.
SAMPLE_SCENARIOS = [
    Scenario.simple("volume +15%", volume_multiplier=1.15),
    Scenario.simple("AHT +20 s", aht_add_seconds=20),
    Scenario.simple("shrinkage 35%", shrinkage=0.35),
    Scenario.simple("volume +15%, AHT +20 s, shrinkage 35%", volume_multiplier=1.15, aht_add_seconds=20,
                    shrinkage=0.35),
]


# --------------------------------------------------------------------------- request and report


class ScenarioRequest(BaseModel):
    """A scenario set: the base plan (inline), the mode and the scenarios. What the API posts."""

    model_config = ConfigDict(extra="forbid")

    base: PlanConfig
    mode: Mode = "requirements"
    base_roster: Roster | None = Field(None, description=(
        "the roster in force (roster.json of `wfm plan`); requirements mode solves the base otherwise"))
    simulation: SimulationOptions | None = Field(None, description="default: the base plan's simulation settings")
    scenarios: list[Scenario] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> "ScenarioRequest":
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1} | ({"base"} & set(names)))
        if dupes:
            raise ValueError(f"scenario names must be unique and not 'base': {dupes}")
        return self


class ScenarioResult(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="null")  # strict JSON: an unbounded ASA is null

    name: str
    status: Literal["ok", "failed"]
    error: str | None = None
    mode: Mode
    seconds: float = 0.0
    roster_status: str | None = None
    metrics: PlanMetrics | None = None
    deltas: dict[str, float | None] = Field(default_factory=dict, description="metric minus the base's")
    notes: list[str] = Field(default_factory=list)
    needs_roster_mode: list[str] = Field(default_factory=list, description=(
        "roster changes (hire, remove, rules, ...) a requirements-mode run did not apply: its figures "
        "do not show them"))


class ScenarioReport(BaseModel):
    model_config = ConfigDict(ser_json_inf_nan="null")  # strict JSON: an unbounded ASA is null

    mode: Mode
    horizon_start: date
    days: int
    executor: str
    seconds: float
    base: ScenarioResult
    scenarios: list[ScenarioResult]

    def table(self) -> pd.DataFrame:
        """One row per result (base first): every metric and its delta."""
        rows = []
        for r in [self.base, *self.scenarios]:
            row = {"scenario": r.name, "status": r.status, "seconds": round(r.seconds, 2)}
            metrics = r.metrics.model_dump() if r.metrics else {}
            for name in PlanMetrics.model_fields:
                row[name] = metrics.get(name)
                if name in DELTA_FIELDS:
                    row[f"{name}_delta"] = r.deltas.get(name)
            row["roster_status"] = r.roster_status
            row["error"] = r.error
            row["notes"] = "; ".join(r.notes)
            row["needs_roster_mode"] = ", ".join(r.needs_roster_mode)
            rows.append(row)
        return pd.DataFrame(rows)


DELTA_FIELDS = [name for name, f in PlanMetrics.model_fields.items() if name not in ("worst_interval",)]


# --------------------------------------------------------------------------- applying overrides


def _weekday(text: str) -> int | None:
    text = text.strip().lower()
    matches = [i for i, name in enumerate(WEEKDAYS) if len(text) >= 3 and name.startswith(text)]
    return matches[0] if len(matches) == 1 else None


def _check_queues(queues, known, where):
    unknown = sorted(set(queues or []) - set(known))
    if unknown:
        raise InputError(where, unknown, f"unknown queue(s); the plan's queues are {sorted(known)}")


def apply_demand(base: PlanBase, frame: pd.DataFrame, s: Scenario) -> pd.DataFrame:
    """Volume multipliers and AHT changes on a demand frame (percentile already applied)."""
    frame = frame.copy()
    local = pd.DatetimeIndex(frame["interval_start"]).tz_convert(base.horizon.timezone)
    minutes = local.hour * 60 + local.minute
    days = set(base.horizon.dates())
    for k, change in enumerate(s.volume):
        _check_queues(change.queues, base.targets, f"volume[{k}].queues")
        hit = np.ones(len(frame), bool)
        if change.queues is not None:
            hit &= frame["queue"].isin(change.queues).to_numpy()
        if change.days is not None:
            on_day = np.zeros(len(frame), bool)
            for d in change.days:
                wd = _weekday(d)
                if wd is not None:
                    on_day |= local.day_of_week == wd
                else:
                    day = date.fromisoformat(d)
                    if day not in days:
                        raise InputError(f"volume[{k}].days", d, f"not a day of the plan ({base.horizon.start} to "
                                         f"{max(days)})")
                    on_day |= local.date == day
            hit &= on_day
        lo = None if change.start_time is None else change.start_time.hour * 60 + change.start_time.minute
        hi = None if change.end_time is None else change.end_time.hour * 60 + change.end_time.minute
        if lo is not None and hi is not None and hi <= lo:  # wraps midnight, e.g. 22:00-02:00
            hit &= (minutes >= lo) | (minutes < hi)
        else:
            if lo is not None:
                hit &= minutes >= lo
            if hi is not None:
                hit &= minutes < hi
        for col in ("volume", "volume_lower", "volume_upper"):
            if col in frame:
                frame.loc[hit, col] = frame.loc[hit, col] * change.multiplier
    for k, change in enumerate(s.aht):
        _check_queues(change.queues, base.targets, f"aht[{k}].queues")
        hit = np.ones(len(frame), bool) if change.queues is None else frame["queue"].isin(change.queues).to_numpy()
        new = frame.loc[hit, "aht_seconds"] * change.multiplier + change.add_seconds
        live = frame.loc[hit, "volume"] > 0
        if (new[live] <= 0).any():
            raise InputError(f"aht[{k}]", float(new[live].min()), "the changed AHT must stay above 0 s")
        frame.loc[hit, "aht_seconds"] = new.clip(lower=0.0)
    return frame


def apply_targets(base: PlanBase, s: Scenario) -> dict[str, ServiceTarget]:
    changes = list(s.targets)
    if s.shrinkage is not None or s.max_occupancy is not None:
        changes.append(TargetChange(shrinkage=s.shrinkage, max_occupancy=s.max_occupancy))
    targets = dict(base.targets)
    for k, change in enumerate(changes):
        _check_queues(change.queues, base.targets, f"targets[{k}].queues")
        fields = change.model_dump(exclude={"queues"}, exclude_none=True)
        for queue in change.queues or list(targets):
            try:
                targets[queue] = ServiceTarget(**{**targets[queue].model_dump(), **fields})
            except ValidationError as exc:
                raise InputError(f"targets[{queue}]", fields, describe(exc)) from None
    return targets


def apply_roster(base: PlanBase, s: Scenario) -> dict:
    """The base roster setup with headcount, templates, rules, weights and solver changed."""
    if base.setup is None:
        raise InputError("roster", None, "the base plan has no roster section: nothing to reroster")
    setup = {k: v for k, v in base.setup.items()}
    agents = list(setup["agents"])
    ids = [a["id"] for a in agents]
    if s.remove is not None:
        missing = sorted(set(s.remove.agents) - set(ids))
        if missing:
            raise InputError("remove.agents", missing, "no such agent(s) in the base plan")
        agents = [a for a in agents if a["id"] not in set(s.remove.agents)]
        if s.remove.count:
            _check_queues(s.remove.skills, base.targets, "remove.skills")
            pool = [a for a in agents if set(s.remove.skills or []) <= set(a["skills"])]
            if len(pool) < s.remove.count:
                raise InputError("remove.count", s.remove.count, f"only {len(pool)} agent(s) have skills "
                                 f"{s.remove.skills or 'any'}")
            gone = {a["id"] for a in pool[-s.remove.count:]}
            agents = [a for a in agents if a["id"] not in gone]
    taken = {a["id"] for a in agents}
    for k, hire in enumerate(s.hire):
        _check_queues(hire.skills, base.targets, f"hire[{k}].skills")
        for i in range(hire.count):
            agent_id = f"{hire.prefix}-{i + 1:02d}"
            if agent_id in taken:
                raise InputError(f"hire[{k}].prefix", hire.prefix, f"agent id {agent_id!r} already exists")
            taken.add(agent_id)
            agents.append(Agent(id=agent_id, skills=hire.skills, contract=hire.contract,
                                cost_per_hour=hire.cost_per_hour).model_dump(mode="json"))
    if not agents:
        raise InputError("remove", s.remove.model_dump() if s.remove else None, "no agents would be left")
    setup["agents"] = agents
    templates = ([t.model_dump(mode="json") for t in s.templates] if s.templates is not None
                 else list(setup["templates"]))
    unknown = sorted(set(s.remove_templates) - {t["id"] for t in templates})
    if unknown:
        raise InputError("remove_templates", unknown, "no such template(s)")
    templates = [t for t in templates if t["id"] not in set(s.remove_templates)]
    templates += [t.model_dump(mode="json") for t in s.add_templates]
    setup["templates"] = templates
    for key, model in (("rules", Rules), ("weights", Weights), ("solver", SolverParams)):
        change = getattr(s, key)
        if change:
            try:
                setup[key] = model(**{**setup[key], **change}).model_dump(mode="json")
            except (ValidationError, TypeError) as exc:
                raise InputError(key, change, describe(exc) if isinstance(exc, ValidationError) else str(exc)) from None
    try:
        RosterSetup.model_validate(setup)
    except ValidationError as exc:
        raise InputError("roster", s.name, describe(exc)) from None
    return setup


# --------------------------------------------------------------------------- one scenario (a task)


@dataclass
class ScenarioTask:
    base: PlanBase
    scenario: Scenario
    mode: str
    in_force: InForce | None
    simulation: SimulationOptions | None
    keep_frames: bool = False


@dataclass
class ScenarioOutcome:
    result: ScenarioResult
    frames: dict[str, pd.DataFrame] = field(default_factory=dict)


def run_scenario(task: ScenarioTask) -> ScenarioOutcome:
    """The base plan with this scenario's overrides (`wfm.plan.plan_from_base`): demand ->
    requirements -> (roster) -> simulation -> metrics. Raises InputError with the reason when the
    scenario cannot be planned (the executor reports it)."""
    started = time.perf_counter()
    base, s = task.base, task.scenario
    frame = apply_demand(base, demand(base, s.percentile), s)
    targets = apply_targets(base, s)
    notes, frames = [], {}
    if task.mode == "roster":
        result = plan_from_base(base, frame, targets, setup=apply_roster(base, s), simulation=task.simulation)
        outcome = result.roster
        if outcome.roster is None or outcome.reason is not None:
            raise InputError("roster", outcome.status, outcome.reason)
        if task.keep_frames:
            from .roster.report import roster_frame

            frames["roster"] = roster_frame(outcome.data, outcome.roster)
            frames["coverage"] = outcome.coverage
    else:
        result = plan_from_base(base, frame, targets, setup=None, in_force=task.in_force, simulation=task.simulation)
        if s.roster_changes():
            notes.append(f"roster changes ({', '.join(s.roster_changes())}) take effect with --mode roster only")
        if task.in_force is None:
            notes.append("no roster in force: service is that of the requirement itself")
    if task.keep_frames:
        frames = {"requirements": result.requirements.drop(columns=["open"], errors="ignore"), **frames}
        if result.simulation is not None:
            frames["simulation"] = result.simulation.summary
    unapplied = s.roster_changes() if task.mode == "requirements" else []
    return ScenarioOutcome(ScenarioResult(name=s.name, status="ok", mode=task.mode, metrics=result.metrics,
                                          notes=notes, roster_status=result.roster and result.roster.status,
                                          seconds=time.perf_counter() - started, needs_roster_mode=unapplied),
                           frames)


# --------------------------------------------------------------------------- the set


Progress = Callable[[str], None]


def _in_force(base: PlanBase, request: ScenarioRequest, log: Progress) -> InForce | None:
    """The base roster for requirements mode: read from the request, or solved once here."""
    if base.setup is None:
        return None
    req = requirements(demand(base), base, base.targets)
    if request.base_roster is not None:
        from .roster.build import roster_input
        from .roster.report import evaluate_roster

        data = roster_input(req, base.horizon, base.setup, base.targets)
        report, cov, tot, _ = evaluate_roster(data, request.base_roster)
        if not report.feasible:
            raise InputError("base_roster", f"{len(report.violations)} problem(s)",
                             f"does not fit the base plan: {report.violations[0]}")
        return InForce(on_queue_by_queue(cov), tot)
    log(f"solving the base roster once ({len(base.setup['agents'])} agents, "
        f"{base.setup['solver']['time_limit_seconds']:g} s) ...")
    outcome = build_roster(req, base, base.setup, base.targets)
    if outcome.roster is None or outcome.reason is not None:
        log(f"no base roster ({outcome.status}: {outcome.reason}); service is reported for the requirement itself")
        return None
    return InForce(on_queue_by_queue(outcome.coverage), outcome.totals)


def run_scenarios(request: ScenarioRequest, executor=None, progress: Progress | None = None,
                  tables: dict | None = None, base: PlanBase | None = None) -> ScenarioReport:
    """Run the base and every scenario and compare them: the function behind `wfm scenario run`
    and `POST /v1/scenarios`. `executor`: where the tasks run (default: this process);
    `progress`: one message per finished scenario; `tables`: a dict to fill with each result's
    tables (requirements, roster, coverage, simulation) by scenario name; `base`: a prepared
    base, to skip the forecast.

    Raises InputError only when the base itself cannot be prepared (a bad forecast or setup)."""
    keep_frames = tables is not None
    from .executor import SequentialExecutor

    log = progress or (lambda _: None)
    started = time.perf_counter()
    base = base or prepare_base(request.base, log)
    simulation = request.simulation if "simulation" in request.model_fields_set else base.simulation
    in_force = _in_force(base, request, log) if request.mode == "requirements" else None
    scenarios = [Scenario(name="base"), *request.scenarios]
    tasks = [ScenarioTask(base, s, request.mode, in_force, simulation, keep_frames) for s in scenarios]
    executor = executor or SequentialExecutor()
    done = [0]
    log(f"running the base and {len(request.scenarios)} scenario(s), {request.mode} mode, on {executor.name}")

    def report(outcome):
        done[0] += 1
        name = scenarios[outcome.index].name
        state = f"ok in {outcome.seconds:.1f} s" if outcome.ok else f"FAILED: {outcome.error}"
        log(f"[{done[0]}/{len(tasks)}] {name}: {state}")

    with executor as ex:
        outcomes = ex.map(run_scenario, tasks, on_done=report)
    results = []
    for s, o in zip(scenarios, outcomes):
        if o.ok:
            results.append(o.value.result)
            if keep_frames:
                tables[s.name] = o.value.frames
        else:
            results.append(ScenarioResult(name=s.name, status="failed", error=o.error, mode=request.mode,
                                          seconds=o.seconds))
    base_result, rest = results[0], results[1:]
    for r in rest:
        r.deltas = deltas(r.metrics, base_result.metrics)
    return ScenarioReport(mode=request.mode, horizon_start=base.horizon.start, days=base.horizon.days,
                          executor=executor.name, seconds=time.perf_counter() - started, base=base_result,
                          scenarios=rest)


def deltas(metrics: PlanMetrics | None, base: PlanMetrics | None) -> dict[str, float | None]:
    if metrics is None or base is None:
        return {}
    out = {}
    for name in DELTA_FIELDS:
        a, b = getattr(metrics, name), getattr(base, name)
        ok = isinstance(a, (int, float)) and isinstance(b, (int, float)) and math.isfinite(a) and math.isfinite(b)
        out[name] = float(a - b) if ok else None
    return out


# --------------------------------------------------------------------------- the file


class ScenarioFile(_Strict):
    """`wfm scenario run FILE`: like ScenarioRequest, but the base may be a path to a plan config
    and base_roster a path to a roster.json."""

    base: Path | dict
    mode: Mode = "requirements"
    base_roster: Path | None = None
    simulation: SimulationOptions | None = None
    scenarios: list[dict] = Field(min_length=1)


def load_request(path: str | Path, mode: str | None = None, **overrides) -> ScenarioRequest:
    """A scenario file; `overrides` (interval, timezone, time_limit, seed) apply to its base plan."""
    from .plan import with_overrides

    path = Path(path)
    raw = read_structured(path, "scenarios")
    try:
        spec = ScenarioFile.model_validate(raw)
    except ValidationError as exc:
        raise InputError(str(path), "invalid", describe(exc)) from None
    if isinstance(spec.base, Path):
        config_path = spec.base if spec.base.is_absolute() else path.parent / spec.base
        base_raw, folder = read_structured(config_path, "base"), config_path.parent
    else:
        base_raw, folder = spec.base, path.parent
    config = parse_config(with_overrides(base_raw, **overrides), folder,
                          f"base ({spec.base if isinstance(spec.base, Path) else 'inline'})")
    fields = {"base": config, "mode": mode or spec.mode, "scenarios": spec.scenarios}
    if "simulation" in spec.model_fields_set:
        fields["simulation"] = spec.simulation
    if spec.base_roster is not None:
        roster_path = spec.base_roster if spec.base_roster.is_absolute() else path.parent / spec.base_roster
        fields["base_roster"] = read_structured(roster_path, "base_roster")
    try:
        return ScenarioRequest.model_validate(fields)
    except ValidationError as exc:
        raise InputError(str(path), "invalid", describe(exc)) from None


def slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")[:60] or "scenario"
