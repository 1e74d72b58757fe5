"""Request and response models of the HTTP API (pydantic, at the edge only).

Domain models are reused where they already are the contract (`ServiceTarget`, `RosterInput`,
shift templates, agents, rules); the rest describes the JSON the routes send and receive.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, BeforeValidator, ConfigDict, Field, field_validator, model_validator
from pydantic.json_schema import SkipJsonSchema

from wfm.domain import ServiceTarget, zone
from wfm.plan import ForecastSettings, HistorySource, PlanConfig, PlanMetrics, RosterSettings
from wfm.roster.domain import Agent, Roster, Rules, ShiftTemplate, SolverParams, Weights
from wfm.scenarios import ScenarioRequest
from wfm.simulate import SimulationOptions

Finite = Annotated[float, Field(allow_inf_nan=False)]
NonNegative = Annotated[float, Field(ge=0, allow_inf_nan=False)]
Name = Annotated[str, Field(min_length=1, max_length=200)]


class RequestModel(BaseModel):
    """A request body (or part of one): an unknown field is a 422 naming it, not silently ignored
    (a misspelt option would otherwise fall back to its default)."""

    model_config = ConfigDict(extra="forbid")


def parse_body(model, raw: bytes):
    """Validate a JSON body with pydantic's own parser; errors read like the framework's
    (`body.` + field path)."""
    from fastapi.exceptions import RequestValidationError
    from pydantic import ValidationError

    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise RequestValidationError([{**e, "loc": ("body", *e["loc"])} for e in exc.errors()]) from None


# --- errors ---------------------------------------------------------------------------------

class FieldError(BaseModel):
    field: str = Field(description="where in the request, e.g. body.queues[0].volume[3]")
    message: str
    type: str


class ErrorBody(BaseModel):
    """Every error answer: a stable machine-readable `error` reason and a human `message`."""

    model_config = ConfigDict(extra="allow")

    error: str = Field(description="reason, e.g. validation_error, not_found, infeasible, body_too_large")
    message: str
    fields: list[FieldError] = Field(default_factory=list)


# --- staffing -------------------------------------------------------------------------------

class StaffingQueue(RequestModel):
    queue: Name = "all"
    volume: list[NonNegative] = Field(min_length=1, description="contacts offered per interval")
    aht_seconds: list[NonNegative] = Field(min_length=1, description="average handle time per contact, seconds")
    interval_start: list[AwareDatetime] | None = Field(
        None, description="interval starts with UTC offset (optional; echoed back, must increase)")
    open: list[bool] | None = Field(None, description="false for closed intervals (0 agents)")
    target: ServiceTarget | None = Field(None, description="this queue's target (default: the request's)")
    agents: list[Annotated[int, Field(ge=0)]] | None = Field(
        None, description="on-queue agents per interval: answer the service they give instead of staffing "
                          "(the target's answer_seconds, patience, concurrency and shrinkage apply)")

    @model_validator(mode="after")
    def _lengths(self) -> "StaffingQueue":
        n = len(self.volume)
        for name in ("aht_seconds", "interval_start", "open", "agents"):
            values = getattr(self, name)
            if values is not None and len(values) != n:
                raise ValueError(f"{name} has {len(values)} values for {n} volumes")
        starts = self.interval_start
        if starts and any(b <= a for a, b in zip(starts, starts[1:])):
            raise ValueError("interval_start must be strictly increasing")
        return self


class StaffingRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "interval_minutes": 30,
        "target": {"service_level": 0.8, "answer_seconds": 20, "shrinkage": 0.3},
        "queues": [{"queue": "sales", "volume": [0, 12, 48, 95], "aht_seconds": [0, 240, 250, 260]}]}]})

    interval_minutes: Literal[15, 30, 60] = 30
    target: ServiceTarget = Field(default_factory=ServiceTarget)
    deadline_minutes: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="back office / email: each item is done within this many minutes (workload model)")
    queues: list[StaffingQueue] = Field(min_length=1)


class StaffingSummary(BaseModel):
    contacts: float
    peak_agents: int
    peak_scheduled: int
    agent_hours: float
    scheduled_hours: float
    service_level: float | None = None
    asa_seconds: float | None = None
    occupancy: float | None = None
    abandon_rate: float | None = None


class StaffingQueueResult(BaseModel):
    queue: str
    model: str = Field(description="erlang_c, erlang_a (with patience), +concurrencyK for chat, or backoffice")
    interval_start: list[datetime] | None = None
    agents: list[int] = Field(description="on-queue agents per interval")
    scheduled_agents: list[int] = Field(description="agents to roster (after shrinkage)")
    service_level: list[float | None] | None = None
    asa_seconds: list[float | None] | None = None
    occupancy: list[float | None] | None = None
    abandon_rate: list[float | None] | None = None
    workload_agents: list[float] | None = None
    summary: StaffingSummary


class StaffingResponse(BaseModel):
    interval_minutes: int
    queues: list[StaffingQueueResult]


# --- forecasts ------------------------------------------------------------------------------

class ColumnNames(RequestModel):
    """Which history column holds what (see `wfm forecast --help`)."""

    timestamp: Name = "created_at"
    queue: Name | None = "queue"
    channel: Name | None = "channel"
    handle_seconds: Name | None = "handle_seconds"
    volume: Name | None = None
    interval_start: Name = "interval_start"
    aht_seconds: Name | None = "aht_seconds"


class ForecastOptions(RequestModel):
    timezone: str = Field(description="site timezone (IANA), e.g. Europe/Berlin", examples=["Europe/Berlin"])
    interval_minutes: Literal[15, 30, 60] = 60
    days: int = Field(7, ge=1, le=366, description="days to forecast after the last day of history")
    model: Literal["auto", "seasonal_naive", "weekly_profile", "daily_profile", "level_profile", "ensemble"] = "auto"
    level: float = Field(0.9, gt=0, lt=1, description="prediction-interval level")
    folds: int = Field(4, ge=1, le=52, description="backtest folds of one week")
    country: str | None = Field(None, max_length=10, description="public holidays of this country, e.g. DE")
    subdivision: str | None = Field(None, max_length=10)
    special_days: dict[date, NonNegative | None] = Field(
        default_factory=dict, description="date -> volume factor vs a normal day (null: learn it)")
    columns: ColumnNames = Field(default_factory=ColumnNames)
    timestamp_format: str | None = Field(None, max_length=100, description="strftime format for non-ISO times")
    on_bad_row: Literal["error", "drop"] = "error"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v


HistoryValue = str | float | int | bool | None


class ForecastRequest(ForecastOptions):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "timezone": "Europe/Berlin", "interval_minutes": 60, "days": 7,
        "history": [{"created_at": "2026-05-04T08:12:00+02:00", "queue": "billing", "handle_seconds": 312}]}]})

    history: list[dict[str, HistoryValue]] = Field(
        min_length=1, description="one object per contact (created_at, queue, handle_seconds, ...) "
                                  "or per interval (interval_start, volume, aht_seconds)")


# --- KPIs -----------------------------------------------------------------------------------

class KpiColumnNames(RequestModel):
    """Which history column holds each KPI input (see `wfm kpi --help`); absent ones leave their KPIs out."""

    wait_seconds: Name | None = "wait_seconds"
    abandoned: Name | None = "abandoned"
    first_response_at: Name | None = "first_response_at"
    resolved_at: Name | None = "resolved_at"
    csat: Name | None = "csat"


class KpiOptions(RequestModel):
    timezone: str = Field(description="site timezone (IANA): intervals, days and weeks are local",
                          examples=["Europe/Berlin"])
    interval_minutes: Literal[15, 30, 60] = 60
    by: Literal["interval", "day", "week"] = Field("interval", description="period of each row (weeks: Monday on)")
    answer_seconds: NonNegative = Field(20.0, description="service-level threshold T: answered with wait <= T")
    exclude_short_abandons: Annotated[float, Field(gt=0, allow_inf_nan=False)] | None = Field(
        None, description="contacts abandoned within this many seconds leave the service level's denominator")
    abandoned_if: dict[Name, list[str]] = Field(
        default_factory=dict, max_length=1,
        description='abandoned where this column has one of these values, e.g. {"outcome": ["HANG"]}; '
                    'instead of the abandoned column')
    drop_if: dict[Name, list[str]] = Field(
        default_factory=dict, description='skip rows where a column has one of these values, '
                                          'e.g. {"outcome": ["PHANTOM"]}')
    columns: ColumnNames = Field(default_factory=ColumnNames)
    kpi_columns: KpiColumnNames = Field(default_factory=KpiColumnNames)
    timestamp_format: str | None = Field(None, max_length=100, description="strftime format for non-ISO times")
    on_bad_row: Literal["error", "drop"] = "error"
    last_days: int | None = Field(None, ge=1, le=3660, description="only the history's last N local days "
                                                                  "(its last week: 7), as wfm kpi --last-days")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        zone(v)
        return v


class KpiRequest(KpiOptions):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "timezone": "Europe/Berlin", "by": "day", "answer_seconds": 20,
        "history": [{"created_at": "2026-05-04T08:12:00+02:00", "queue": "billing", "handle_seconds": 312,
                     "wait_seconds": 14, "abandoned": False}]}]})

    history: list[dict[str, HistoryValue]] = Field(min_length=1, description="one object per contact")


class KpiResponse(BaseModel):
    by: str
    interval_minutes: int
    ingest: IngestSummary
    notes: list[str] = Field(description="KPIs left out for want of their columns, and why")
    columns: list[str] = Field(description="the columns of every row, in order")
    rows: list[dict[str, str | float | int | None]] = Field(
        description="one per period and queue (and queue `all`); null: nothing to measure")


class ForecastInterval(BaseModel):
    model_config = ConfigDict(extra="allow")

    interval_start: str
    queue: str
    volume: float | None
    volume_lower: float | None
    volume_upper: float | None
    aht_seconds: float | None


class BacktestScore(BaseModel):
    model_config = ConfigDict(extra="allow")

    model: str
    queue: str
    folds: int
    wape: float | None
    mase: float | None
    bias: float | None
    coverage: float | None


class IngestSummary(BaseModel):
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    summary: str


class ForecastResponse(BaseModel):
    first_day: date
    chosen_models: dict[str, str]
    ingest: IngestSummary
    outlier_days: dict[str, list[str]]
    intervals: list[ForecastInterval]
    backtest: list[BacktestScore]


# --- jobs -----------------------------------------------------------------------------------

class JobProgress(BaseModel):
    objective: float | None = None
    bound: float | None = None
    seconds: float | None = Field(None, description="solver time at the last improvement")
    scenarios_done: int | None = Field(None, description="scenario jobs: results finished so far (base included)")
    scenarios_total: int | None = Field(None, description="scenario jobs: the base and every scenario")
    scenarios_failed: int | None = Field(None, description="scenario jobs: finished results that failed")
    message: str | None = Field(None, description="scenario jobs: the latest step, e.g. '[3/5] busier: ok in 0.4 s'")


class JobErrorView(BaseModel):
    model_config = ConfigDict(extra="allow")

    reason: str
    message: str


class JobView(BaseModel):
    id: str
    kind: Literal["roster", "plan", "scenarios"]
    status: Literal["queued", "running", "succeeded", "failed", "cancelled"]
    cancel_requested: bool
    attempts: int
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    elapsed_seconds: float | None = Field(description="since the current attempt started, or until it finished")
    time_limit_seconds: float
    progress: JobProgress | None
    error: JobErrorView | None
    links: dict[str, str]


class JobList(BaseModel):
    jobs: list[JobView]
    next: str | None = Field(description="the next page's path, or null on the last page")


# --- rosters and plans ----------------------------------------------------------------------

class ShiftRow(BaseModel):
    agent: str
    day: str
    template: str
    start: str
    end: str
    paid_hours: float | None
    breaks: str
    queues: str


class RosterKpis(BaseModel):
    under_hours: float | None
    over_hours: float | None
    paid_hours: float | None
    cost: float | None
    shifts: int


class RosterResult(BaseModel):
    status: str = Field(description="solver status: OPTIMAL or FEASIBLE")
    objective: float | None = Field(description="the independent validator's score")
    solver_objective: float | None
    bound: float | None
    bound_source: str | None = Field(None, description="which computation proved the bound (contract floor, "
                                     "column generation, LP relaxation, Lagrangian relaxation, CP-SAT)")
    gap: float | None
    contract_floor: float | None = Field(None, description="the labour cost every valid roster pays "
                                         "(contract minimums at their rates); null when cost is not weighed")
    changeable_gap: float | None = Field(None, description="(objective - bound) / (objective - contract_floor): "
                                         "the gap on the part of the objective a roster can change")
    seconds: float
    feasible: bool = Field(description="the validator found every hard rule held")
    violations: list[str]
    kpis: RosterKpis
    penalties: dict[str, float | None]
    explanation: list[dict[str, Any]] = Field(description="which rule cost what, and mostly for whom")
    agents: list[dict[str, Any]] = Field(description="paid hours and cost per agent against the contract")
    shifts: list[ShiftRow]
    coverage: list[dict[str, Any]] = Field(description="required, on-queue, under, over, projected SL per interval")
    roster: Roster
    timings: dict[str, float] = Field(description="seconds to build the model, solve, and check and report")


class PlanRequest(RequestModel):
    """History + targets + agents + templates: forecast, requirements, roster and its simulation
    in one job (`wfm plan` on inline data)."""

    history: list[dict[str, HistoryValue]] | None = Field(
        None, min_length=1, description="contacts to forecast from (or `forecast_rows`)")
    forecast_rows: list[ForecastRow] | None = Field(
        None, min_length=1, description="a forecast to plan from instead of history (every queue on every interval; "
                                        "missing intervals expect no contacts)")
    forecast: ForecastOptions
    targets: dict[str, ServiceTarget] = Field(default_factory=dict, description="per queue")
    default_target: ServiceTarget | None = Field(None, description="for queues not in `targets`")
    templates: list[ShiftTemplate] = Field(min_length=1)
    agents: list[Agent] = Field(min_length=1)
    rules: Rules = Field(default_factory=Rules)
    weights: Weights = Field(default_factory=Weights)
    solver: SolverParams = Field(default_factory=SolverParams)
    simulation: SimulationOptions | None = Field(
        default_factory=SimulationOptions, description=(
            "play the roster out contact by contact, as `wfm plan` does (a fraction of a second for a week of a "
            "30-agent site); null to skip"))

    site: PlanSite | None = Field(None, description="set by POST /v1/sites/{site_id}/plans: the registry snapshot "
                                                    "the plan's agents, templates, rules and weights were taken from")

    @model_validator(mode="after")
    def _targets(self) -> "PlanRequest":
        if not self.targets and self.default_target is None:
            raise ValueError("give targets per queue or a default_target")
        if (self.history is None) == (self.forecast_rows is None):
            raise ValueError("give either history (contacts to forecast from) or forecast_rows (a forecast to plan "
                             "from)")
        return self


class PlanSite(RequestModel):
    """Where a site plan's setup came from: the site and its ETags at the moment of the snapshot."""

    id: str
    etag: str = Field(description="the site's ETag")
    agents_etag: str = Field(description="the agent list's ETag")
    taken_at: datetime


class PlanResult(BaseModel):
    forecast: ForecastResponse
    requirements: list[dict[str, Any]]
    staffing_summary: list[dict[str, Any]]
    roster: RosterResult
    metrics: PlanMetrics | None = Field(None, description="the plan's figures, as in summary.json of `wfm plan`")
    simulation: list[dict[str, Any]] | None = Field(
        None, description="simulated service per queue and overall (simulation_summary.csv of `wfm plan`)")


# --- scenarios ------------------------------------------------------------------------------
# The base plan is `wfm plan`'s config with its data inline: a file path from a client would
# name a file on the server (another tenant's, or none at all on the machine that runs the job).


def _no_server_path(inline: str):
    def check(value):
        if value is not None:
            raise ValueError(f"file paths on the server are not accepted over HTTP; send the data inline in {inline}")
        return value

    return BeforeValidator(check)


class InlineHistory(HistorySource):
    """Contact history to forecast from: the columns of `wfm forecast`, as JSON rows."""

    file: Annotated[SkipJsonSchema[None], _no_server_path("base.history.rows")] = None
    calendar: Annotated[SkipJsonSchema[None], _no_server_path("base.history.special_days")] = None
    rows: list[dict[str, HistoryValue]] = Field(
        min_length=1, description="one object per contact (created_at, queue, handle_seconds, ...) "
                                  "or per interval (interval_start, volume, aht_seconds)")
    special_days: dict[date, NonNegative | None] = Field(
        default_factory=dict, description="date -> volume factor vs a normal day (null: learn it)")


class ForecastRow(BaseModel):
    model_config = ConfigDict(extra="forbid")

    interval_start: AwareDatetime = Field(description="interval start with UTC offset")
    queue: Name = "all"
    volume: NonNegative
    aht_seconds: NonNegative
    volume_lower: NonNegative | None = None
    volume_upper: NonNegative | None = None


PlanRequest.model_rebuild()  # its forecast_rows are ForecastRow, defined above


class InlineForecast(ForecastSettings):
    file: Annotated[SkipJsonSchema[None], _no_server_path("base.forecast.rows")] = None
    rows: list[ForecastRow] | None = Field(
        None, min_length=1, description="a forecast to plan from instead of history (every queue on every interval; "
                                        "missing intervals expect no contacts)")

    @field_validator("rows")
    @classmethod
    def _bands_everywhere_or_nowhere(cls, rows):
        for band in ("volume_lower", "volume_upper"):
            given = [getattr(r, band) is not None for r in rows or []]
            if any(given) and not all(given):
                raise ValueError(f"{band} is given on some rows only (first missing: row {given.index(False)}); "
                                 "give it on every row or on none")
        return rows


class InlineRoster(RosterSettings):
    setup: Annotated[SkipJsonSchema[None], _no_server_path("base.roster (templates, agents, rules, ...)")] = None


class InlinePlan(PlanConfig):
    """The plan config of `wfm plan` (see sample_data/plan.yaml) with history or forecast as rows."""

    history: InlineHistory | None = None
    forecast: InlineForecast = Field(default_factory=InlineForecast)
    roster: InlineRoster | None = Field(None, description="agents and rules; none = stop at requirements")

    @model_validator(mode="after")
    def _one_source(self) -> "InlinePlan":  # replaces PlanConfig's check of file paths
        if (self.history is None) == (self.forecast.rows is None):
            raise ValueError("give either history.rows (contacts to forecast from) or forecast.rows "
                             "(a forecast to plan from)")
        sim = self.simulation
        if self.history is None and sim is not None and "history" in (sim.arrivals, sim.handle_times):
            raise ValueError("simulation from history (arrivals or handle_times) needs history.rows")
        return self


class ScenarioJobRequest(ScenarioRequest):
    """A scenario set (as `wfm scenario run` reads it) with the base plan's data inline."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "base": {"timezone": "Europe/Berlin", "interval_minutes": 60,
                 "forecast": {"rows": [{"interval_start": "2026-06-01T09:00:00+02:00", "queue": "calls",
                                        "volume": 40, "aht_seconds": 240}]},
                 "queues": {"calls": {"service_level": 0.8, "answer_seconds": 20}}, "simulation": None},
        "mode": "requirements",
        "scenarios": [{"name": "calls +15%", "volume": [{"multiplier": 1.15}]},
                      {"name": "90/20", "targets": [{"service_level": 0.9}]}]}]})

    base: InlinePlan

    @model_validator(mode="after")
    def _roster_to_reroster(self) -> "ScenarioJobRequest":
        if self.mode == "roster" and self.base.roster is None:
            raise ValueError("mode 'roster' rerosters every scenario: give base.roster (templates and agents)")
        return self


class Health(BaseModel):
    status: str
    checks: dict[str, str] = Field(default_factory=dict)


# --- what-ifs on a finished plan ------------------------------------------------------------

class WhatIfScenario(RequestModel):
    """The plan's demand changed; staffed again and served by the plan's roster."""

    name: Name
    volume_multiplier: float = Field(1.0, ge=0, le=100, allow_inf_nan=False, description="1.15 = 15% more contacts")
    aht_add_seconds: float = Field(0.0, ge=-3600, le=3600, allow_inf_nan=False,
                                   description="seconds added to every interval's AHT")
    shrinkage: float | None = Field(None, ge=0, lt=1, allow_inf_nan=False,
                                    description="every queue's shrinkage (null: each queue keeps its own)")


class WhatIfRequest(RequestModel):
    model_config = ConfigDict(json_schema_extra={"examples": [{"scenarios": [
        {"name": "volume +15%", "volume_multiplier": 1.15}, {"name": "AHT +20 s", "aht_add_seconds": 20},
        {"name": "shrinkage 35%", "shrinkage": 0.35}]}]})

    scenarios: list[WhatIfScenario] = Field(min_length=1, max_length=20)

    @model_validator(mode="after")
    def _unique(self) -> "WhatIfRequest":
        names = [s.name for s in self.scenarios]
        if len(set(names)) != len(names) or "base" in names:
            raise ValueError("scenario names must be unique and not 'base'")
        return self


class WhatIfRow(BaseModel):
    scenario: str
    contacts: float
    required_fte: float = Field(description="scheduled agent-hours needed (after shrinkage) / 40 h per week")
    required_hours: float = Field(description="on-queue agent-hours needed")
    service_level: float | None = Field(description="projected SL of the plan's roster against this demand")
    under_hours: float = Field(description="agent-hours the roster falls short of this requirement")
    contacts_delta: float
    required_fte_delta: float
    required_hours_delta: float
    service_level_delta: float | None
    under_hours_delta: float


class WhatIfResponse(BaseModel):
    scenarios: list[WhatIfRow] = Field(description="the base first, then each scenario")


# --- a finished plan against what happened: review and intraday ------------------------------

class ActualsRequest(RequestModel):
    """What happened on the plan's days: one object per contact, read as `wfm review` and `wfm intraday`
    read a history file (in the plan's timezone and intervals)."""

    history: list[dict[str, HistoryValue]] = Field(min_length=1, description="one object per contact")
    columns: ColumnNames = Field(default_factory=ColumnNames)
    timestamp_format: str | None = Field(None, max_length=100, description="strftime format for non-ISO times")
    on_bad_row: Literal["error", "drop"] = "error"
    drop_if: dict[Name, list[str]] = Field(default_factory=dict, description=(
        'skip rows where a column has one of these values, e.g. {"outcome": ["PHANTOM"]}'))


class ReviewRequest(ActualsRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{"history": [
        {"created_at": "2026-05-25T08:12:00+02:00", "queue": "billing", "handle_seconds": 312, "wait_seconds": 14,
         "abandoned": False}]}]})

    kpi_columns: KpiColumnNames = Field(default_factory=KpiColumnNames)
    abandoned_if: dict[Name, list[str]] = Field(
        default_factory=dict, max_length=1,
        description='abandoned where this column has one of these values, e.g. {"outcome": ["HANG"]}')


class ReviewResponse(BaseModel):
    days: list[dict[str, Any]] = Field(description="per day and queue (and `all`): forecast vs actual volume and "
                                                   "AHT (WAPE, bias), required/rostered/needed hours, promised vs "
                                                   "achieved SL, as review_days.csv of `wfm review`")
    intervals: list[dict[str, Any]] = Field(description="per interval and queue, as review_intervals.csv")
    notes: list[str]


class IntradayRequest(ActualsRequest):
    model_config = ConfigDict(json_schema_extra={"examples": [{
        "now": "2026-05-27T11:00", "time_limit_seconds": 20,
        "history": [{"created_at": "2026-05-27T08:12:00+02:00", "queue": "billing", "handle_seconds": 312}]}]})

    now: str = Field(min_length=1, max_length=40, description=(
        "the instant to re-plan from: the site's wall clock (2026-05-27T11:00) or with an offset; floored to its "
        "interval; on one of the plan's days"))
    prior_contacts: float = Field(50.0, gt=0, le=1e6, allow_inf_nan=False, description=(
        "forecast contacts that weigh as much as the forecast: the actuals' weight is E / (E + this)"))
    max_weight: float = Field(0.8, ge=0, le=1, allow_inf_nan=False, description="the actuals' weight at most")
    change_weight: int = Field(20, ge=0, le=1_000_000, description="penalty per shift changed by the re-plan")
    max_offers: int = Field(10, ge=0, le=100, description="offers listed per kind (overtime, voluntary time off)")
    time_limit_seconds: float = Field(20.0, gt=0, le=3600, allow_inf_nan=False, description="the re-plan's solver")
    seed: int = Field(0, ge=-2**31, le=2**31 - 1)
