"""Plans from a stored site: the registry as of the request (site, agents, templates, rules,
weights, queue targets) plus a history or a forecast make the `PlanRequest` of an ordinary plan
job. The snapshot is kept in the job's input, so the job plans what the registry held when it was
asked, whatever changes later. Knows nothing of HTTP.
"""

from __future__ import annotations

from datetime import datetime, timezone

from pydantic import BaseModel, ConfigDict, Field
from pydantic.json_schema import SkipJsonSchema

from wfm.domain import ServiceTarget
from wfm.roster.domain import SolverParams
from wfm.simulate import SimulationOptions

from .schemas import ForecastOptions, ForecastRow, HistoryValue, PlanRequest
from .sites import Invalid, Registry

PLAN_INTERVALS = (15, 30, 60)  # what a plan's forecast works in


class SiteForecastOptions(ForecastOptions):
    """The forecast options of a plan, less what the site decides (timezone, interval)."""

    model_config = ConfigDict(extra="forbid")

    timezone: SkipJsonSchema[None] = Field(None, exclude=True)
    interval_minutes: SkipJsonSchema[None] = Field(None, exclude=True)


class SitePlanRequest(BaseModel):
    """A history (contacts or interval rows) or a forecast (interval rows); the rest comes from the site."""

    model_config = ConfigDict(extra="forbid")

    history: list[dict[str, HistoryValue]] | None = Field(None, min_length=1, description="contacts to forecast from")
    forecast_rows: list[ForecastRow] | None = Field(None, min_length=1, description="a forecast to plan from")
    forecast: SiteForecastOptions = Field(default_factory=SiteForecastOptions)
    default_target: ServiceTarget | None = Field(None, description="for forecast queues the site does not list")
    solver: SolverParams = Field(default_factory=SolverParams)
    simulation: SimulationOptions | None = Field(default_factory=SimulationOptions, description="null to skip")


def site_plan_request(registry: Registry, tenant: str, site_id: str, body: SitePlanRequest) -> PlanRequest:
    """The plan job's request: the body's data and the site's registry as of now. Invalid names
    the registry's part that cannot make a plan (`site.*`) or the body's field (`body.*`)."""
    taken_at = datetime.now(timezone.utc)
    snap = registry.snapshot(tenant, site_id)
    site = snap["site"]
    problems = []
    if site["interval_minutes"] not in PLAN_INTERVALS:
        problems.append(_field("site.interval_minutes", f"a plan forecasts in {PLAN_INTERVALS} minute intervals, "
                               f"the site has {site['interval_minutes']}"))
    for kind in ("agents", "templates"):
        if not snap[kind]:
            problems.append(_field(f"site.{kind}", f"the site has no {kind}: add them first"))
    if not site["queues"] and body.default_target is None:
        problems.append(_field("body.default_target", "the site lists no queues with targets: give a default_target"))
    if (body.history is None) == (body.forecast_rows is None):
        problems.append(_field("body", "give either history (to forecast) or forecast_rows (a forecast)"))
    if problems:
        raise Invalid(problems)
    options = body.forecast.model_dump(mode="json", exclude={"timezone", "interval_minutes"})
    return PlanRequest.model_validate({
        "history": body.history, "forecast_rows": body.model_dump(mode="json")["forecast_rows"],
        "forecast": {**options, "timezone": site["timezone"], "interval_minutes": site["interval_minutes"]},
        "targets": {q["id"]: q["target"] for q in site["queues"]},
        "default_target": None if body.default_target is None else body.default_target.model_dump(mode="json"),
        "templates": snap["templates"], "agents": snap["agents"], "rules": snap["rules"], "weights": snap["weights"],
        "solver": body.solver.model_dump(mode="json"),
        "simulation": None if body.simulation is None else body.simulation.model_dump(mode="json"),
        "site": {"id": site_id, "etag": snap["etag"], "agents_etag": snap["agents_etag"], "taken_at": taken_at}})


def _field(field: str, message: str) -> dict:
    return {"field": field, "message": message, "type": "value_error"}
