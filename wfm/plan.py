"""The plan pipeline: history -> forecast -> requirements -> roster -> simulation -> metrics, from
one config. The only place these stages run in sequence: `wfm plan`, `wfm demo`, the API's plan
job and the scenario runner all come here.

`load_config(path)` reads a YAML or JSON plan config (validated by `PlanConfig`; paths are
relative to the config file), `run_plan(config)` runs every stage and returns a `PlanResult`;
`wfm.plan_files.write_plan(result, out)` writes its files. The stages are plain functions on a
`PlanBase` (the forecast and the site setup, computed once) so scenarios (`wfm.scenarios`)
rerun the later stages with overrides.
"""

from __future__ import annotations

import json
import math
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from .domain import Horizon, ServiceTarget, zone
from .errors import InputError
from .roster.domain import Agent, Rules, Shift, ShiftTemplate, SolverParams, Weights
from .rostering import RosterOutcome, solve_checked
from .simulate import SimulationOptions

Log = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


# --------------------------------------------------------------------------- config


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class HistorySource(_Strict):
    """Contact history to forecast from (the same reader as `wfm forecast`)."""

    file: Path
    calendar: Path | None = Field(None, description="special days CSV: date[,name][,factor]")
    country: str | None = Field(None, description="public holidays of this country (ISO code)")
    subdivision: str | None = None
    timestamp_col: str = "created_at"
    queue_col: str | None = "queue"
    channel_col: str | None = "channel"
    handle_col: str | None = "handle_seconds"
    volume_col: str | None = Field(None, description=(
        "interval reports: contacts offered column (default: volume/offered/calls/contacts/count)"))
    interval_start_col: str = Field("interval_start", description="interval reports: interval start column")
    aht_col: str | None = Field("aht_seconds", description="interval reports: AHT column in seconds")
    timestamp_format: str | None = None
    on_bad_row: Literal["error", "drop"] = "error"


class ForecastSettings(_Strict):
    days: int = Field(7, ge=1, le=366)
    model: str = "auto"
    level: float = Field(0.9, gt=0, lt=1, description="prediction-interval level of volume_lower/volume_upper")
    folds: int = Field(4, ge=1)
    percentile: float | None = Field(None, gt=0, lt=1, description=(
        "plan to this percentile of volume (0.5 = median; none = the point forecast)"))
    file: Path | None = Field(None, description=(
        "use this forecast CSV (interval_start,queue,volume,aht_seconds[,volume_lower,volume_upper]) instead of "
        "forecasting a history"))


class RosterSetup(_Strict):
    """Everything of a roster input except the horizon and the requirements."""

    templates: list[ShiftTemplate] = Field(min_length=1)
    agents: list[Agent] = Field(min_length=1)
    rules: Rules = Rules()
    weights: Weights = Weights()
    solver: SolverParams = SolverParams()
    previous_shifts: list[Shift] = Field(default_factory=list)


class RosterSettings(_Strict):
    setup: Path | None = Field(None, description="JSON or YAML file with templates, agents, rules, weights, solver")
    templates: list[ShiftTemplate] | None = None
    agents: list[Agent] | None = None
    rules: Rules | None = None
    weights: Weights | None = None
    solver: SolverParams | None = None


class QueueTarget(ServiceTarget):
    model_config = ConfigDict(extra="forbid")  # a misspelt target must not be silently ignored


class PlanConfig(_Strict):
    timezone: str = Field(description="site timezone (IANA): days and shifts are local")
    interval_minutes: Literal[15, 30, 60] = 30
    history: HistorySource | None = None
    forecast: ForecastSettings = ForecastSettings()
    queues: dict[str, QueueTarget] = Field(default_factory=dict, description="service target per queue")
    default_target: QueueTarget | None = Field(None, description="target of forecast queues not under `queues`")
    fte_hours: float = Field(40.0, gt=0, description="paid hours of one full-time equivalent per week")
    roster: RosterSettings | None = Field(None, description="agents and rules; none = stop at requirements")
    simulation: SimulationOptions | None = Field(SimulationOptions(), description="none = do not simulate")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            zone(v)
        except InputError as exc:
            raise ValueError(exc.reason) from None
        return v

    @model_validator(mode="after")
    def _one_source(self) -> "PlanConfig":
        if (self.history is None) == (self.forecast.file is None):
            raise ValueError("give either history.file (to forecast) or forecast.file (a forecast to plan from)")
        if not self.queues and self.default_target is None:
            raise ValueError("queues: give a service target per queue (or a default_target)")
        return self


def describe(exc: ValidationError, limit: int = 8) -> str:
    """One line per problem: where in the file, what is wrong, and the value given."""
    parts = []
    for e in exc.errors()[:limit]:
        where = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"].removeprefix("Value error, ")
        given = e.get("input")
        shown = "" if e["type"] == "missing" or isinstance(given, (dict, list)) else f" (got {given!r})"
        parts.append(f"{where}: {msg}{shown}")
    more = len(exc.errors()) - limit
    return "; ".join(parts) + (f"; and {more} more" if more > 0 else "")


def read_structured(path: Path, field_name: str) -> dict:
    """A YAML or JSON mapping from a file, with errors naming the file and line."""
    import yaml

    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        raise InputError(field_name, str(path), "file not found") from None
    except IsADirectoryError:
        raise InputError(field_name, str(path), "is a folder, not a file") from None
    try:
        data = json.loads(text) if Path(path).suffix.lower() == ".json" else yaml.safe_load(text)
    except json.JSONDecodeError as exc:
        raise InputError(field_name, str(path), f"not valid JSON: {exc.msg} at line {exc.lineno}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise InputError(field_name, str(path), f"not valid YAML{where}: {getattr(exc, 'problem', exc)}") from None
    if not isinstance(data, dict):
        raise InputError(field_name, str(path), "must hold a mapping of settings (key: value)")
    return data


def parse_config(raw: dict, folder: Path | None = None, source: str = "config") -> PlanConfig:
    """Validate a plan config mapping; relative paths are resolved against `folder`."""
    try:
        config = PlanConfig.model_validate(raw)
    except ValidationError as exc:
        raise InputError(source, "invalid", describe(exc)) from None
    return _resolved(config, folder) if folder is not None else config


def load_config(path: str | Path, **overrides) -> PlanConfig:
    """A plan config file; `overrides` as in `with_overrides` (the CLI's options)."""
    path = Path(path)
    return parse_config(with_overrides(read_structured(path, "config"), **overrides), path.parent, str(path))


def with_overrides(raw: dict, interval: int | None = None, timezone: str | None = None,
                   time_limit: float | None = None, seed: int | None = None, workers: int | None = None) -> dict:
    """Command-line options on top of a raw config: site interval and timezone, roster solver."""
    raw = dict(raw)
    if interval is not None:
        raw["interval_minutes"] = interval
    if timezone is not None:
        raw["timezone"] = timezone
    solver = {k: v for k, v in (("time_limit_seconds", time_limit), ("seed", seed), ("workers", workers))
              if v is not None}
    if solver and isinstance(raw.get("roster"), dict):
        roster = dict(raw["roster"])
        roster["solver"] = {**(roster.get("solver") or {}), **solver}
        raw["roster"] = roster
    return raw


def _resolved(config: PlanConfig, folder: Path) -> PlanConfig:
    def at(p: Path | None) -> Path | None:
        return None if p is None or p.is_absolute() else folder / p

    update = {}
    if config.history is not None:
        update["history"] = config.history.model_copy(update={
            "file": at(config.history.file) or config.history.file,
            "calendar": at(config.history.calendar) or config.history.calendar})
    if config.forecast.file is not None:
        update["forecast"] = config.forecast.model_copy(
            update={"file": at(config.forecast.file) or config.forecast.file})
    if config.roster is not None and config.roster.setup is not None:
        update["roster"] = config.roster.model_copy(update={"setup": at(config.roster.setup) or config.roster.setup})
    return config.model_copy(update=update)


def roster_setup(config: PlanConfig) -> dict | None:
    """The roster setup file, with inline settings of the config on top, validated."""
    if config.roster is None:
        return None
    merged = read_structured(config.roster.setup, "roster.setup") if config.roster.setup else {}
    for key in ("templates", "agents"):
        value = getattr(config.roster, key)
        if value is not None:
            merged[key] = [v.model_dump(mode="json") for v in value]
    for key in ("rules", "weights", "solver"):  # field by field: the file's other settings stay
        value = getattr(config.roster, key)
        if value is not None:
            merged[key] = {**(merged.get(key) or {}), **value.model_dump(mode="json", exclude_unset=True)}
    try:
        setup = RosterSetup.model_validate(merged)
    except ValidationError as exc:
        raise InputError("roster", str(config.roster.setup or "inline"), describe(exc)) from None
    setup = setup.model_dump(mode="json")
    if config.default_target is None:  # else the queues are known once forecast: checked then
        check_skills(setup["agents"], config.queues)
    return setup


def check_skills(agents: list[dict], queues) -> None:
    """Every skill of every agent is a queue of the plan."""
    for agent in agents:
        unknown = sorted(set(agent["skills"]) - set(queues))
        if unknown:
            raise InputError("roster.agents", agent["id"], f"skill(s) {unknown} are not queues of this plan; "
                             f"queues are {sorted(queues)}")


# --------------------------------------------------------------------------- the base


@dataclass
class PlanBase:
    """What every stage after the forecast starts from (picklable: shipped to workers)."""

    horizon: Horizon
    forecast: pd.DataFrame                  # interval_start, queue, volume[, volume_lower, volume_upper], aht_seconds
    targets: dict[str, ServiceTarget]
    setup: dict | None                      # RosterSetup as JSON-able dict; None = no roster
    fte_hours: float = 40.0
    percentile: float | None = None
    level: float = 0.9
    residuals: dict[str, np.ndarray] = field(default_factory=dict)
    simulation: SimulationOptions | None = None
    history_contacts: dict[str, tuple] = field(default_factory=dict)  # queue -> (replay arrivals, handle pool)
    backtest: pd.DataFrame | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def weeks(self) -> float:
        return self.horizon.days / 7.0


@dataclass
class ForecastDetails:
    """What the forecast stage saw besides the forecast (for reports and the API's answer);
    empty when the plan reads a forecast file."""

    history: pd.DataFrame | None = None      # the intervals the forecast was fitted on
    chosen: dict[str, str] = field(default_factory=dict)    # queue -> model
    outliers: dict[str, list] = field(default_factory=dict)  # queue -> days left out
    ingest: object = None                    # forecasts.ingest.IngestReport: rows read, kept, dropped


def prepare_base(config: PlanConfig, log: Log = _quiet) -> PlanBase:
    """Forecast (or read the forecast) and gather the site setup: the part of a plan that
    scenarios share."""
    return _prepare(config, log)[0]


def _prepare(config: PlanConfig, log: Log) -> tuple[PlanBase, ForecastDetails]:
    setup = roster_setup(config)
    residuals, scores, notes, details = {}, None, [], ForecastDetails()
    if config.history is not None:
        forecast, horizon, residuals, scores, notes, details = _forecast_history(config, log)
    else:
        forecast, horizon = _read_forecast(config)
    targets = _targets(config, sorted(set(forecast["queue"])))
    if setup is not None and config.default_target is not None:
        with stage("roster"):
            check_skills(setup["agents"], targets)
    forecast = forecast[forecast["queue"].isin(list(targets))].reset_index(drop=True)
    base = PlanBase(horizon=horizon, forecast=forecast, targets=targets, setup=setup,
                    fte_hours=config.fte_hours, percentile=config.forecast.percentile, level=config.forecast.level,
                    residuals=residuals, simulation=config.simulation, backtest=scores, notes=notes)
    sim = config.simulation
    if sim is not None and (sim.arrivals == "history" or sim.handle_times == "history"):
        base.history_contacts = _history_for_simulation(config, horizon)
    return base, details


def _targets(config: PlanConfig, queues: list[str]) -> dict[str, ServiceTarget]:
    """The service target of every queue: the config's, else its default_target."""
    missing = [q for q in queues if q not in config.queues]
    if missing and config.default_target is None:
        error = InputError("queues", missing, f"the forecast has queue(s) {missing} without a service target; "
                           f"add them under `queues` (targets are given for {sorted(config.queues)})")
        error.stage = "requirements"  # a matter of targets, not of the history
        raise error
    targets = {q: ServiceTarget(**t.model_dump()) for q, t in config.queues.items()}
    for queue in missing:
        targets[queue] = ServiceTarget(**config.default_target.model_dump())
    return targets


def _forecast_history(config: PlanConfig, log: Log):
    from forecasts.ingest import ColumnMap
    from forecasts.pipeline import forecast
    from forecasts.service import HistoryOptions, load_intervals, make_calendar

    h, f = config.history, config.forecast
    columns = ColumnMap(timestamp=h.timestamp_col, queue=h.queue_col, channel=h.channel_col,
                        handle_seconds=h.handle_col, volume=h.volume_col, interval_start=h.interval_start_col,
                        aht_seconds=h.aht_col)
    opts = HistoryOptions(timezone=config.timezone, interval_minutes=config.interval_minutes, columns=columns,
                          timestamp_format=h.timestamp_format, on_bad_row=h.on_bad_row)
    calendar = make_calendar(h.country, h.subdivision, h.calendar)
    history, report = load_intervals(h.file, opts)  # what forecasts.service.run_forecast does, keeping the history
    result = forecast(history, f.days, config.timezone, config.interval_minutes, f.model, calendar, f.level, f.folds)
    log(f"history: {report.summary()}")
    log("forecast: " + ", ".join(f"{q} by {m}" for q, m in result.chosen.items()) + f", from {result.first_day}")
    _check_handle_times(result.forecast, h)
    horizon = Horizon(start=result.first_day, days=f.days, interval_minutes=config.interval_minutes,
                      timezone=config.timezone)
    notes = [f"{q}: new level since {since} (x{ratio:.2f})" for q, (ratio, since) in result.level_shifts.items()]
    notes += [f"{q}: days 1-5 of a month x{factor:.2f} (learnt from history)"
              for q, factor in result.month_start.items()]
    details = ForecastDetails(history, result.chosen, result.outliers, report)
    return result.forecast, horizon, result.residuals, result.scores, notes, details


def _check_handle_times(forecast: pd.DataFrame, h: HistorySource) -> None:
    """A queue whose history holds no handle time cannot be staffed: say so by the column, not by
    a row of a forecast the user never wrote."""
    busy = forecast[forecast["volume"] > 0]
    unknown = busy.groupby("queue")["aht_seconds"].apply(lambda aht: not (aht > 0).any())
    if unknown.any():
        queues = sorted(unknown[unknown].index)
        raise InputError("history.handle_col", h.handle_col,
                         f"the history holds no handle time for queue(s) {queues}: map the column of handle "
                         "seconds (history.handle_col, or aht_col for interval reports), or plan from a "
                         "forecast file with aht_seconds")


def _read_forecast(config: PlanConfig):
    from .io import numeric_column, parse_timestamps, read_text_table

    path = config.forecast.file
    raw = read_text_table(path, "forecast.file")
    raw.columns = [c.strip() for c in raw.columns]
    need = [c for c in ("interval_start", "volume", "aht_seconds") if c not in raw.columns]
    if need:
        raise InputError("forecast.file", str(path), f"missing column(s) {need}")
    if raw.empty:
        raise InputError("forecast.file", str(path), "has a header but no rows")
    frame = pd.DataFrame({"interval_start": parse_timestamps(raw["interval_start"], "interval_start", config.timezone),
                          "queue": raw["queue"].str.strip() if "queue" in raw else "all",
                          "volume": numeric_column(raw, "volume"),
                          "aht_seconds": np.nan_to_num(numeric_column(raw, "aht_seconds", allow_missing=True))})
    for band in ("volume_lower", "volume_upper"):
        if band in raw:
            frame[band] = numeric_column(raw, band)
    local = pd.DatetimeIndex(frame["interval_start"]).tz_convert(config.timezone)
    days = sorted(set(local.date))
    horizon = Horizon(start=days[0], days=(days[-1] - days[0]).days + 1, interval_minutes=config.interval_minutes,
                      timezone=config.timezone)
    grid = horizon.interval_starts()
    off = ~pd.DatetimeIndex(frame["interval_start"]).isin(grid)
    if off.any():
        raise InputError("forecast.file", str(frame["interval_start"][off].iloc[0]),
                         f"not a {config.interval_minutes}-minute interval start of the horizon")
    if frame.duplicated(["queue", "interval_start"]).any():
        dup = frame[frame.duplicated(["queue", "interval_start"])].iloc[0]
        raise InputError("forecast.file", f"{dup['queue']} {dup['interval_start']}", "interval appears twice")
    parts = []
    for queue, part in frame.groupby("queue", sort=True):  # every queue on the full grid; missing = nothing comes
        full = part.set_index("interval_start").reindex(grid).drop(columns="queue").fillna(0.0)
        full.index.name = "interval_start"
        parts.append(full.reset_index().assign(queue=queue))
    cols = ["interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds"]
    out = pd.concat(parts, ignore_index=True)
    return out[[c for c in cols if c in out]], horizon


def _history_for_simulation(config: PlanConfig, horizon: Horizon) -> dict[str, tuple]:
    from .simulate import read_contacts, replay_arrivals

    if config.history is None:
        raise InputError("simulation.arrivals", "history", "replay needs history.file in the config")
    contacts = read_contacts(config.history.file, config.timezone)
    out = {}
    for queue in config.queues:
        mine = contacts[contacts["queue"] == queue]
        if mine.empty:
            raise InputError("history", queue, f"no contacts of queue {queue!r} in {config.history.file}")
        pool = mine["handle_seconds"].to_numpy(float)
        arrivals = replay_arrivals(mine["ts"], horizon) if config.simulation.arrivals == "history" else None
        out[queue] = (arrivals, pool[np.isfinite(pool) & (pool > 0)])
    return out


# --------------------------------------------------------------------------- stages


def percentile_volume(base: PlanBase, part: pd.DataFrame, queue: str, p: float) -> np.ndarray:
    """Volume at percentile p: from the backtest errors when this plan forecast them, else from
    the file's band at `level` assuming the errors are normal in shape."""
    from scipy.stats import norm

    from forecasts.pipeline import quantile_volume

    f = part["volume"].to_numpy(float)
    if queue in base.residuals:
        return quantile_volume(f, base.residuals[queue], p)
    edge = "volume_upper" if p >= 0.5 else "volume_lower"
    if edge not in part:
        raise InputError("percentile", p, "the forecast file has no volume_lower/volume_upper band to take it from")
    sigma = (part[edge].to_numpy(float) - f) / norm.ppf(0.5 + base.level / 2)  # signed, on this side
    return np.maximum(f + abs(norm.ppf(p)) * sigma, 0.0)


def demand(base: PlanBase, percentile: float | None = None) -> pd.DataFrame:
    """The forecast to staff: the point forecast, or a percentile of it. `open` marks intervals
    the forecast expects anything in (minimum staffing applies only there)."""
    fc = base.forecast.copy()
    upper = fc["volume_upper"] if "volume_upper" in fc else fc["volume"]
    fc["open"] = upper.to_numpy(float) > 0
    p = percentile if percentile is not None else base.percentile
    if p is not None:
        for queue, idx in fc.groupby("queue").indices.items():
            fc.loc[fc.index[idx], "volume"] = percentile_volume(base, fc.iloc[idx], queue, p)
    return fc


def requirements(frame: pd.DataFrame, base: PlanBase, targets: dict[str, ServiceTarget]) -> pd.DataFrame:
    from .staffing.frames import staff_by_queue

    cols = ["interval_start", "queue", "volume", "aht_seconds", "open"]
    return staff_by_queue(frame[cols], base.horizon.interval_minutes, targets)


def build_roster(req: pd.DataFrame, base: PlanBase, setup: dict, targets: dict[str, ServiceTarget],
                 progress=None) -> RosterOutcome:
    """Roster the requirement with CP-SAT and score it with the independent validator."""
    from .roster.build import roster_input

    return solve_checked(roster_input(req, base.horizon, setup, targets), progress)


# --------------------------------------------------------------------------- measures


class PlanMetrics(BaseModel):
    """What a plan or scenario delivers. Service figures are for the staffing in force: the
    roster's on-queue agents when there is a roster, else the requirement itself. Weekly figures
    are contact-weighted; the worst interval is taken over intervals with at least one
    forecast contact. None = not applicable (no roster, no patience for abandonment)."""

    model_config = ConfigDict(ser_json_inf_nan="null")  # strict JSON: an unbounded ASA is null

    contacts: float
    required_fte: float = Field(description="scheduled agent-hours needed / (fte_hours x weeks)")
    required_hours: float = Field(description="on-queue agent-hours needed")
    scheduled_paid_hours: float | None = None
    cost: float | None = None
    under_hours: float | None = Field(None, description="agent-hours on queue below the requirement")
    over_hours: float | None = Field(None, description="agent-hours on queue above the requirement")
    service_level: float | None = None
    service_level_worst: float | None = None
    worst_interval: str | None = Field(None, description="queue and start of the worst-SL interval")
    asa_seconds: float | None = None
    asa_seconds_worst: float | None = None
    abandon_rate: float | None = None
    abandon_rate_worst: float | None = None
    occupancy: float | None = None
    occupancy_worst: float | None = None
    simulated_service_level: float | None = None
    simulated_service_level_low: float | None = None
    simulated_service_level_high: float | None = None
    simulated_asa_seconds: float | None = None
    simulated_abandon_rate: float | None = None
    simulated_occupancy: float | None = None


def on_queue_by_queue(coverage: pd.DataFrame) -> dict[str, np.ndarray]:
    return {q: part["on_queue"].to_numpy(np.int64) for q, part in coverage.groupby("queue", sort=True)}


def measure(base: PlanBase, req: pd.DataFrame, targets: dict[str, ServiceTarget],
            on_queue: dict[str, np.ndarray] | None = None, totals: dict | None = None,
            simulation: SimulationOptions | None = None, executor=None):
    """PlanMetrics for requirement `req` served by `on_queue` agents (default: the requirement),
    and the simulation result when `simulation` is given."""
    from .staffing.requirements import evaluate

    hours = base.horizon.interval_minutes / 60.0
    step = hours * 3600.0
    n = len(base.horizon.interval_starts())
    rows, demands = [], []
    under = over = 0.0
    for queue, part in req.groupby("queue", sort=True):
        if len(part) != n:
            raise InputError("requirements", queue, f"{len(part)} intervals for a horizon of {n}")
        target = targets[queue]
        need = part["agents"].to_numpy(np.int64)
        staffed = need if on_queue is None else np.asarray(on_queue.get(queue, np.zeros(n)), np.int64)
        under += float(np.maximum(need - staffed, 0).sum() * hours)
        over += float(np.maximum(staffed - need, 0).sum() * hours)
        vol, aht = part["volume"].to_numpy(float), part["aht_seconds"].to_numpy(float)
        servers = staffed * target.concurrency
        m = evaluate(servers.astype(float), vol / step, np.where(vol > 0, aht, 1.0), target)
        busy = np.asarray(m["occupancy"], float) * servers
        rows.append(pd.DataFrame({"queue": queue, "interval_start": part["interval_start"].to_numpy(),
                                  "volume": vol, "servers": servers, "busy": busy,
                                  "service_level": m["service_level"], "asa_seconds": m["asa_seconds"],
                                  "abandon_rate": m.get("abandon_rate", np.full(n, np.nan))}))
        if simulation is not None:
            replay, pool = base.history_contacts.get(queue, (None, None))
            from .simulate import QueueDemand

            demands.append(QueueDemand(queue, servers, vol, aht, target.answer_seconds, target.patience_seconds,
                                       target, replay, pool))
    frame = pd.concat(rows, ignore_index=True)
    metrics = _service(frame)
    metrics.update(contacts=float(frame["volume"].sum()),
                   required_fte=float(req["scheduled_agents"].sum() * hours / (base.fte_hours * base.weeks)),
                   required_hours=float(req["agents"].sum() * hours))
    if on_queue is not None:
        metrics.update(under_hours=under, over_hours=over)
    if totals is not None:
        metrics.update(scheduled_paid_hours=totals["paid_hours"], cost=totals["cost"])
    sim = None
    if simulation is not None and demands:
        from .simulate import simulate_demands

        sim = simulate_demands(base.horizon, demands, simulation, executor)
        overall = sim.summary.set_index("queue").loc["all"]
        metrics.update(simulated_service_level=overall["service_level"],
                       simulated_service_level_low=overall["service_level_low"],
                       simulated_service_level_high=overall["service_level_high"],
                       simulated_asa_seconds=overall["asa_seconds"], simulated_abandon_rate=overall["abandon_rate"],
                       simulated_occupancy=overall["occupancy"])
    clean = {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in metrics.items()}
    return PlanMetrics(**clean), sim


def _service(frame: pd.DataFrame) -> dict:
    vol = frame["volume"].to_numpy(float)
    live = vol > 0
    counted = vol >= 1.0  # worst interval: where at least one contact is expected
    out = {}
    if not live.any():
        return out
    sl = frame["service_level"].to_numpy(float)
    out["service_level"] = float(np.average(sl[live], weights=vol[live]))
    if counted.any():
        worst = int(np.flatnonzero(counted)[np.argmin(sl[counted])])
        out["service_level_worst"] = float(sl[worst])
        when = pd.Timestamp(frame["interval_start"].iloc[worst]).isoformat()
        out["worst_interval"] = f"{frame['queue'].iloc[worst]} {when}"
    asa = frame["asa_seconds"].to_numpy(float)
    ab = frame["abandon_rate"].to_numpy(float)
    answered = vol * (1.0 - np.nan_to_num(ab, nan=0.0))  # ASA is the mean wait of answered contacts
    finite = live & np.isfinite(asa) & (answered > 0)
    if finite.any():  # unbounded ASA (Erlang C short of the load) shows in the worst figure
        out["asa_seconds"] = float(np.average(asa[finite], weights=answered[finite]))
    if counted.any():
        out["asa_seconds_worst"] = float(np.max(asa[counted]))
    if np.isfinite(ab[live]).any():
        out["abandon_rate"] = float(np.average(ab[live], weights=vol[live]))
        out["abandon_rate_worst"] = float(np.max(ab[counted])) if counted.any() else None
    servers = frame["servers"].to_numpy(float)
    if servers.sum() > 0:
        out["occupancy"] = float(frame["busy"].sum() / servers.sum())
        occ = np.where(servers > 0, frame["busy"].to_numpy(float) / np.maximum(servers, 1), np.nan)
        out["occupancy_worst"] = float(np.nanmax(occ)) if np.isfinite(occ).any() else None
    return out


# --------------------------------------------------------------------------- the whole plan


@dataclass
class PlanResult:
    base: PlanBase
    requirements: pd.DataFrame
    metrics: PlanMetrics
    roster: RosterOutcome | None = None
    simulation: object = None                # wfm.simulate result, when simulated
    details: ForecastDetails = field(default_factory=ForecastDetails)

    @property
    def ok(self) -> bool:
        return self.roster is None or self.roster.reason is None


STAGES = ("forecast", "requirements", "roster", "simulation")


@contextmanager
def stage(name: str):
    """Bad input found in this step of a plan says so (`InputError.stage`): the API answers with
    the step's reason. A bare ValueError (e.g. an unknown holiday country) becomes an InputError."""
    try:
        yield
    except InputError as exc:
        exc.stage = exc.stage or name
        raise
    except ValueError as exc:  # a pydantic ValidationError is one too: said field by field
        error = InputError(name, "invalid", describe(exc) if isinstance(exc, ValidationError) else str(exc))
        error.stage = name
        raise error from None


def run_plan(config: PlanConfig, log: Log = _quiet, progress=None, executor=None) -> PlanResult:
    """History -> forecast -> requirements -> roster -> simulation -> metrics. Writes nothing
    (`wfm.plan_files.write_plan` does). `log`: one line per step; `progress(objective, bound,
    seconds)`: the roster solver's improvements; `executor`: where simulation replications run.
    The config decides the rest: no `roster` section stops at requirements, `simulation: null`
    does not simulate.

    A roster that cannot be found (or breaks a rule) still leaves the forecast and requirements;
    `PlanResult.ok` is False and `roster.reason` says why. Bad input raises InputError with the
    step that found it in `.stage`."""
    with stage("forecast"):
        base, details = _prepare(config, log)
    result = plan_from_base(base, log=log, progress=progress, executor=executor)
    result.details = details
    return result


@dataclass
class InForce:
    """A roster already in force: on-queue agents per queue, and its totals (paid hours, cost)."""

    on_queue: dict[str, np.ndarray]
    totals: dict


_BASE = object()  # "as in the base"


def plan_from_base(base: PlanBase, frame: pd.DataFrame | None = None, targets: dict[str, ServiceTarget] | None = None,
                   setup=_BASE, in_force: InForce | None = None, simulation=_BASE, log: Log = _quiet,
                   progress=None, executor=None) -> PlanResult:
    """Requirements -> roster -> simulation -> metrics from a prepared base: `run_plan` after
    the forecast, and each scenario of `wfm.scenarios` with its overrides. `frame`: the demand to
    staff (default `demand(base)`); `targets`: per queue (default the base's); `setup`: the roster
    setup to roster (default the base's; None = no new roster); `in_force`: measure this roster
    instead of rostering; `simulation`: options (default the base's; None = do not simulate)."""
    targets = base.targets if targets is None else targets
    setup = base.setup if setup is _BASE else setup
    simulation = base.simulation if simulation is _BASE else simulation
    with stage("requirements"):
        req = requirements(demand(base) if frame is None else frame, base, targets)
    log(f"requirements: {req['scheduled_agents'].sum() * base.horizon.interval_minutes / 60:,.0f} scheduled hours "
        f"for {base.horizon.days} days from {base.horizon.start}")
    outcome = None
    on_queue, totals = (in_force.on_queue, in_force.totals) if in_force is not None else (None, None)
    if setup is not None and in_force is None:
        log(f"rostering {len(setup['agents'])} agents (time limit {setup['solver']['time_limit_seconds']:g} s) ...")
        with stage("roster"):
            outcome = build_roster(req, base, setup, targets, progress)
        if outcome.roster is None or outcome.reason is not None:
            log(f"no usable roster ({outcome.status}): {outcome.reason}")
        if outcome.roster is not None:
            on_queue, totals = on_queue_by_queue(outcome.coverage), outcome.totals
    simulate = simulation if (outcome is None or outcome.roster is not None) else None
    with stage("simulation"):
        metrics, sim = measure(base, req, targets, on_queue, totals, simulate, executor)
    return PlanResult(base, req, metrics, outcome, sim)
