"""Time-off and shift-swap requests of a site, checked at once against the latest published
schedule. Knows nothing of HTTP.

A check applies the request to the published shifts and compares before and after:
- hard rules by the independent validator (`wfm.roster.validator`): the violations the change
  brings (rest, consecutive days, contract hours, skills, leave, ...); paid time off counts
  toward the agent's contract minimum hours, so taking leave does not break them by itself;
- coverage: each interval whose on-queue agents change, with under-coverage and projected
  service level before and after (`wfm.roster.report.coverage_frame`, Erlang via wfm.staffing);
- allotments: per queue, how many agents with that skill may be on approved time off a day
  (`time_off_per_day` of the site's queue).
The rules, templates and requirements are those of the job the schedule was published from;
the agents are the registry's as they are now (skills, contracts and leave change).

A request is pending until decided. Approving checks again against the schedule then latest
and refuses when a hard rule or an allotment would break; else it publishes the changed shifts
as the next version (`request_id` set) and, for time off, adds the days to the agent's leave.
"""

from __future__ import annotations

import json
import time
import uuid
from datetime import date, datetime, timedelta, timezone
from typing import Annotated, Literal, Union

import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import Column, Float, Index, Integer, String, Table, Text, func, insert, select, update
from sqlalchemy.engine import Connection, Engine

from wfm.domain import Horizon, ServiceTarget
from wfm.roster.build import roster_input
from wfm.roster.domain import Agent, Roster, RosterInput
from wfm.roster.report import coverage_frame
from wfm.roster.validator import validate

from .schedules import schedules
from .sites import AlreadyExists, Invalid, NotFound, PreconditionFailed, Registry
from .store import Store, metadata

requests = Table(
    "wfm_site_requests", metadata,
    Column("tenant", String(200), primary_key=True),
    Column("site_id", String(64), primary_key=True),
    Column("id", String(32), primary_key=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("check_result", Text, nullable=False),
    Column("decision", Text),
    Column("revision", Integer, nullable=False),
    Column("key_id", String(32)),
    Column("created_at", Float, nullable=False),
    Column("decided_at", Float),
    Column("applied_version", Integer),
    Index("ix_wfm_site_requests_created", "tenant", "site_id", "created_at"),
)

MAX_TIME_OFF_DAYS = 31  # a request's span; bounds the check's work before it starts
PENDING, APPROVED, DENIED = "pending", "approved", "denied"


class TimeOff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["time_off"]
    agent: str = Field(min_length=1, max_length=200)
    first_day: date = Field(description="first local day off, inclusive")
    last_day: date = Field(description="last local day off, inclusive")
    note: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _span(self) -> "TimeOff":
        if self.last_day < self.first_day:
            raise ValueError("last_day is before first_day")
        if (self.last_day - self.first_day).days + 1 > MAX_TIME_OFF_DAYS:
            raise ValueError(f"at most {MAX_TIME_OFF_DAYS} days in one request")
        return self

    def days(self) -> list[date]:
        return [self.first_day + timedelta(days=k) for k in range((self.last_day - self.first_day).days + 1)]


class Swap(BaseModel):
    """`agent`'s shift on `day` goes to `with_agent`, and `with_agent`'s shift on `with_day`
    (default: the same day), if any, goes to `agent`. No shift on `with_day` makes it a give-away."""

    model_config = ConfigDict(extra="forbid")

    type: Literal["swap"]
    agent: str = Field(min_length=1, max_length=200)
    day: date
    with_agent: str = Field(min_length=1, max_length=200)
    with_day: date | None = None
    note: str = Field("", max_length=1000)

    @model_validator(mode="after")
    def _two_agents(self) -> "Swap":
        if self.with_agent == self.agent:
            raise ValueError("with_agent is the agent: a swap takes two agents")
        return self


ScheduleRequest = Annotated[Union[TimeOff, Swap], Field(discriminator="type")]


class Conflict(Exception):
    """The request cannot be decided so (not pending, or its check fails): `reasons` say why."""

    def __init__(self, message: str, reasons: list[str]):
        super().__init__(message)
        self.reasons = reasons


def request_etag(revision: int) -> str:
    return f'"r{revision}"'


class Requests:
    def __init__(self, store: Store, engine: Engine | None = None):
        self.store, self.engine = store, engine or store.engine
        self.registry = Registry(self.engine)

    # --- reading ----------------------------------------------------------------------------

    def list(self, tenant: str, site_id: str, status: str | None = None) -> list[dict]:
        self.registry.get_site(tenant, site_id)
        query = select(requests).where(requests.c.tenant == tenant, requests.c.site_id == site_id)
        if status is not None:
            query = query.where(requests.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query.order_by(requests.c.created_at, requests.c.id)).all()
        return [_view(r._mapping) for r in rows]

    def get(self, tenant: str, site_id: str, request_id: str) -> dict:
        self.registry.get_site(tenant, site_id)
        with self.engine.connect() as conn:
            row = self._row(conn, tenant, site_id, request_id)
        return _view(row._mapping)

    # --- filing and deciding ---------------------------------------------------------------

    def file(self, tenant: str, site_id: str, body: TimeOff | Swap, key_id: str | None) -> dict:
        """A new pending request with its check against the latest published schedule."""
        check = self.check(tenant, site_id, body)
        row = dict(tenant=tenant, site_id=site_id, id=uuid.uuid4().hex, kind=body.type, status=PENDING,
                   body=body.model_dump_json(), check_result=json.dumps(check), revision=1, key_id=key_id,
                   created_at=time.time())
        with self.engine.begin() as conn:
            self.registry.lock(conn, tenant, site_id)
            conn.execute(insert(requests).values(**row))
            self.registry.record(conn, tenant, site_id, key_id, "request", f"sites/{site_id}/requests/{row['id']}",
                                 {"type": body.type, "ok": check["ok"]})
        return _view(row)

    def approve(self, tenant: str, site_id: str, request_id: str, if_match: str | None, key_id: str | None,
                reason: str = "") -> dict:
        """Check again against the latest schedule; apply the change as its next version."""
        current = self.get(tenant, site_id, request_id)
        _pending(current, if_match)
        body = _parse(current["request"])
        check = self.check(tenant, site_id, body, exclude=request_id)
        if not check["ok"]:
            raise Conflict("the request breaks a rule against the latest schedule: deny it, or change the schedule",
                           check["reasons"])
        with self.engine.begin() as conn:
            self.registry.lock(conn, tenant, site_id)
            row = self._row(conn, tenant, site_id, request_id)
            _pending(_view(row._mapping), if_match)
            latest = _latest(conn, tenant, site_id)
            if latest is None or latest.version != check["schedule_version"]:
                raise Conflict("the schedule changed while the request was checked: approve it again", [])
            shifts = apply_changes(json.loads(latest.shifts), check["changes"])
            version = latest.version + 1
            conn.execute(insert(schedules).values(tenant=tenant, site_id=site_id, version=version,
                                                  job_id=latest.job_id, published_at=time.time(), key_id=key_id,
                                                  shifts=json.dumps(shifts), request_id=request_id))
            if isinstance(body, TimeOff):
                self.registry.add_leave(conn, tenant, site_id, body.agent, body.days(), key_id)
            decision = {"by": key_id, "reason": reason}
            self._decide(conn, row, APPROVED, decision, check, version)
            self.registry.record(conn, tenant, site_id, key_id, "approve", f"sites/{site_id}/requests/{request_id}",
                                 {"version": version})
        return self.get(tenant, site_id, request_id)

    def deny(self, tenant: str, site_id: str, request_id: str, if_match: str | None, key_id: str | None,
             reason: str) -> dict:
        with self.engine.begin() as conn:
            self.registry.lock(conn, tenant, site_id)
            row = self._row(conn, tenant, site_id, request_id)
            _pending(_view(row._mapping), if_match)
            self._decide(conn, row, DENIED, {"by": key_id, "reason": reason}, json.loads(row.check_result), None)
            self.registry.record(conn, tenant, site_id, key_id, "deny", f"sites/{site_id}/requests/{request_id}",
                                 {"reason": reason})
        return self.get(tenant, site_id, request_id)

    # --- the check -------------------------------------------------------------------------

    def check(self, tenant: str, site_id: str, body: TimeOff | Swap, exclude: str | None = None) -> dict:
        """What the request would change in the latest published schedule, and what that breaks."""
        snap = self.registry.snapshot(tenant, site_id)
        with self.engine.connect() as conn:
            latest = _latest(conn, tenant, site_id)
            approved = self._approved_time_off(conn, tenant, site_id, exclude)
        if latest is None:
            raise NotFound(f"site {site_id!r} has no published schedule to check the request against")
        agents = {a["id"]: a for a in snap["agents"]}
        for field in ("agent", "with_agent"):
            name = getattr(body, field, None)
            if name is not None and name not in agents:
                raise Invalid([{"field": field, "message": f"site {site_id!r} has no agent {name!r}",
                                "type": "value_error"}])
        data = self._roster_input(tenant, latest.job_id, agents)
        before = json.loads(latest.shifts)
        changes = request_changes(body, before)
        if isinstance(body, TimeOff):  # paid leave counts toward the contract's minimum hours
            data = _credit_leave(data, body.agent, [c["before"] for c in changes])
        after = apply_changes(before, changes)
        violations = new_violations(data, before, after)
        allotments = allotment_use(body, snap, agents, approved) if isinstance(body, TimeOff) else []
        over = [a for a in allotments if a["with_this"] > a["allowed"]]
        reasons = violations + [f"time-off allotment of queue {a['queue']} on {a['day']}: {a['with_this']} agents off, "
                                f"{a['allowed']} allowed" for a in over]
        return {"schedule_version": latest.version, "ok": not reasons, "reasons": reasons,
                "violations": violations, "allotments": allotments, "changes": changes,
                "coverage": coverage_impact(data, before, after, snap["site"]["timezone"])}

    def _roster_input(self, tenant: str, job_id: str, agents: dict[str, dict]) -> RosterInput:
        job = self.store.get(job_id, tenant, with_result=True, with_input=True)
        if job is None:
            raise NotFound(f"the job {job_id} the schedule was published from is gone")
        data = published_input(job.kind, json.loads(job.input), json.loads(job.result))
        current = [agents.get(a.id, a.model_dump(mode="json")) for a in data.agents]
        known = {a.id for a in data.agents}
        current += [a for a in agents.values() if a["id"] not in known]  # agents added since: they may take shifts
        return data.model_copy(update={"agents": [Agent.model_validate(a) for a in current]})

    def _approved_time_off(self, conn: Connection, tenant: str, site_id: str, exclude: str | None) -> list[TimeOff]:
        rows = conn.execute(select(requests.c.id, requests.c.body).where(
            requests.c.tenant == tenant, requests.c.site_id == site_id, requests.c.kind == "time_off",
            requests.c.status == APPROVED)).all()
        return [TimeOff.model_validate_json(r.body) for r in rows if r.id != exclude]

    @staticmethod
    def _row(conn: Connection, tenant: str, site_id: str, request_id: str):
        row = conn.execute(select(requests).where(requests.c.tenant == tenant, requests.c.site_id == site_id,
                                                  requests.c.id == request_id)).first()
        if row is None:
            raise NotFound(f"site {site_id!r} has no request {request_id!r}")
        return row

    @staticmethod
    def _decide(conn: Connection, row, status: str, decision: dict, check: dict, version: int | None) -> None:
        conn.execute(update(requests).where(requests.c.tenant == row.tenant, requests.c.site_id == row.site_id,
                                            requests.c.id == row.id).values(
            status=status, decision=json.dumps(decision), check_result=json.dumps(check), revision=row.revision + 1,
            decided_at=time.time(), applied_version=version))


# --- pure parts: the published roster's input, the changes, their effects -------------------

def published_input(kind: str, job_input: dict, result: dict) -> RosterInput:
    """The roster input a published job's roster was made for: a roster job's own input, or a
    plan's requirements with its agents, templates, rules and weights (and queue targets)."""
    if kind == "roster":
        return RosterInput.model_validate(job_input)
    options = job_input["forecast"]
    req = pd.DataFrame(result["requirements"])
    starts = pd.to_datetime(req["interval_start"], utc=True).dt.tz_convert(options["timezone"])
    first, last = starts.min().date(), starts.max().date()
    horizon = Horizon(start=first, days=(last - first).days + 1, interval_minutes=options["interval_minutes"],
                      timezone=options["timezone"])
    default = job_input.get("default_target")
    targets = {q: ServiceTarget(**(job_input.get("targets") or {}).get(q, default or {}))
               for q in sorted(set(req["queue"]))}
    setup = {k: job_input[k] for k in ("templates", "agents", "rules", "weights")}
    return roster_input(req, horizon, setup, targets)


def request_changes(body: TimeOff | Swap, shifts: list[dict]) -> list[dict]:
    """The shifts the request changes: [{agent, day, before, after}], before/after a shift or None."""
    by_key = {(s["agent"], s["day"]): s for s in shifts}
    if isinstance(body, TimeOff):
        return [{"agent": body.agent, "day": d.isoformat(), "before": by_key[(body.agent, d.isoformat())],
                 "after": None} for d in body.days() if (body.agent, d.isoformat()) in by_key]
    day, other_day = body.day.isoformat(), (body.with_day or body.day).isoformat()
    given, taken = by_key.get((body.agent, day)), by_key.get((body.with_agent, other_day))
    if given is None:
        raise Invalid([{"field": "day", "message": f"{body.agent} has no published shift on {day} to swap",
                        "type": "value_error"}])
    if other_day == day:  # the two shifts of one day change hands
        return [{"agent": body.agent, "day": day, "before": given, "after": _as(taken, body.agent)},
                {"agent": body.with_agent, "day": day, "before": taken, "after": _as(given, body.with_agent)}]
    for who, when in ((body.with_agent, day), (body.agent, other_day) if taken else (None, None)):
        if who is not None and (who, when) in by_key:
            raise Invalid([{"field": "with_day" if who == body.agent else "day", "type": "value_error",
                            "message": f"{who} already works on {when}: one shift a day"}])
    changes = [{"agent": body.agent, "day": day, "before": given, "after": None},
               {"agent": body.with_agent, "day": day, "before": None, "after": _as(given, body.with_agent)}]
    if taken is not None:
        changes += [{"agent": body.with_agent, "day": other_day, "before": taken, "after": None},
                    {"agent": body.agent, "day": other_day, "before": None, "after": _as(taken, body.agent)}]
    return changes


def _as(shift: dict | None, agent: str) -> dict | None:
    return None if shift is None else {**shift, "agent": agent}


def apply_changes(shifts: list[dict], changes: list[dict]) -> list[dict]:
    touched = {(c["agent"], c["day"]) for c in changes}
    kept = [s for s in shifts if (s["agent"], s["day"]) not in touched]
    return kept + [c["after"] for c in changes if c["after"] is not None]


def _credit_leave(data: RosterInput, agent_id: str, removed: list[dict]) -> RosterInput:
    """The agent's contract minimums lowered by the paid hours of the shifts the leave removes."""
    paid = {t.id: t.paid_minutes / 60 for t in data.templates}
    hours = sum(paid.get(s["template"], 0.0) for s in removed)
    agents = []
    for a in data.agents:
        if a.id == agent_id and hours:
            c = a.contract
            horizon_min = None if c.horizon_min_hours is None else max(c.horizon_min_hours - hours, 0)
            a = a.model_copy(update={"contract": c.model_copy(update={
                "min_hours": max(c.min_hours - hours, 0), "horizon_min_hours": horizon_min})})
        agents.append(a)
    return data.model_copy(update={"agents": agents})


def new_violations(data: RosterInput, before: list[dict], after: list[dict]) -> list[str]:
    """Hard-rule violations of `after` the validator does not find in `before` (a published
    roster's own are not the request's doing)."""
    old = {str(v) for v in validate(data, Roster.model_validate({"shifts": before})).violations}
    return [str(v) for v in validate(data, Roster.model_validate({"shifts": after})).violations if str(v) not in old]


def coverage_impact(data: RosterInput, before: list[dict], after: list[dict], tz: str) -> dict:
    """The intervals whose on-queue agents change: required, on queue, under-coverage and projected
    service level before and after; the under-coverage hours added; whether an interval is left short."""
    frames = [coverage_frame(data, validate(data, Roster.model_validate({"shifts": s})))
              for s in (before, after)]
    old, new = (f.set_index(["queue", "interval_start"]) for f in frames)
    changed = old.index[(old["on_queue"] != new["on_queue"]).to_numpy()]
    hours = data.horizon.interval_minutes / 60
    intervals = []
    for queue, start in changed:
        o, n = old.loc[(queue, start)], new.loc[(queue, start)]
        intervals.append({"queue": queue, "interval_start": pd.Timestamp(start).tz_convert(tz).isoformat(),
                          "required": int(o["required"]), "on_queue_before": int(o["on_queue"]),
                          "on_queue_after": int(n["on_queue"]), "under_before": int(o["under"]),
                          "under_after": int(n["under"]), "service_level_before": _number(o["service_level"]),
                          "service_level_after": _number(n["service_level"])})
    added = sum(i["under_after"] - i["under_before"] for i in intervals) * hours
    levels = [i["service_level_after"] for i in intervals if i["service_level_after"] is not None]
    return {"intervals": intervals, "under_hours_added": added,
            "leaves_short": any(i["under_after"] > i["under_before"] for i in intervals),
            "lowest_service_level_after": min(levels) if levels else None}


def allotment_use(body: TimeOff, snap: dict, agents: dict[str, dict], approved: list[TimeOff]) -> list[dict]:
    """Per day of the request and queue of the agent with an allotment: agents already on approved
    time off that day with the queue's skill, and with this request."""
    limits = {q["id"]: q["time_off_per_day"] for q in snap["site"]["queues"] if q.get("time_off_per_day") is not None}
    out = []
    for queue in sorted(set(agents[body.agent]["skills"]) & set(limits)):
        for day in body.days():
            off = {r.agent for r in approved if r.first_day <= day <= r.last_day and r.agent != body.agent
                   and queue in agents.get(r.agent, {}).get("skills", [])}
            out.append({"day": day.isoformat(), "queue": queue, "allowed": limits[queue], "approved": len(off),
                        "with_this": len(off) + 1})
    return out


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def _number(value) -> float | None:
    return None if value is None or pd.isna(value) else round(float(value), 4)


def _latest(conn: Connection, tenant: str, site_id: str):
    top = select(func.max(schedules.c.version)).where(schedules.c.tenant == tenant, schedules.c.site_id == site_id)
    return conn.execute(select(schedules).where(schedules.c.tenant == tenant, schedules.c.site_id == site_id,
                                                schedules.c.version == top.scalar_subquery())).first()


def _parse(body: dict) -> TimeOff | Swap:
    return (TimeOff if body["type"] == "time_off" else Swap).model_validate(body)


def _pending(view: dict, if_match: str | None) -> None:
    if if_match is not None and if_match.strip() not in ("*", view["etag"]):
        raise PreconditionFailed(view["etag"])
    if view["status"] != PENDING:
        raise AlreadyExists(f"request {view['id']} is already {view['status']}")


def _view(row) -> dict:
    decided = row.get("decided_at")
    return {"id": row["id"], "type": row["kind"], "status": row["status"], "request": json.loads(row["body"]),
            "check": json.loads(row["check_result"]), "decision": json.loads(row["decision"]) if row.get("decision")
            else None, "applied_version": row.get("applied_version"), "key_id": row["key_id"],
            "created_at": _iso(row["created_at"]), "decided_at": _iso(decided) if decided else None,
            "etag": request_etag(row["revision"])}

