"""Published schedules of a site: a finished roster or plan job's roster, published as a new
version (who, when, from which job); the diff of a version against the one before; one agent's
shifts as JSON or iCalendar in the site's local time. Knows nothing of HTTP.
"""

from __future__ import annotations

import json
import time
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
from sqlalchemy import Column, Float, Integer, String, Table, Text, func, insert, select
from sqlalchemy.engine import Engine

from wfm.roster.domain import Shift

from .sites import Invalid, NotFound, PreconditionFailed, Registry
from .store import SUCCEEDED, Store, metadata

schedules = Table(
    "wfm_site_schedules", metadata,
    Column("tenant", String(200), primary_key=True),
    Column("site_id", String(64), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("job_id", String(32), nullable=False),
    Column("published_at", Float, nullable=False),
    Column("key_id", String(32)),
    Column("shifts", Text, nullable=False),
    Column("request_id", String(32)),  # set when an approved request made this version
)

PUBLISHABLE = ("roster", "plan")


def version_etag(version: int) -> str:
    return f'"v{version}"'


def roster_shifts(kind: str, result_json: str) -> list[dict]:
    """The shifts of a finished job's roster (a plan's roster is one level down)."""
    result = json.loads(result_json)
    roster = result["roster"]["roster"] if kind == "plan" else result["roster"]
    return roster["shifts"]


class Schedules:
    def __init__(self, store: Store, engine: Engine | None = None):
        self.store, self.engine = store, engine or store.engine
        self.registry = Registry(self.engine)

    def publish(self, tenant: str, site_id: str, job_id: str, if_match: str | None, key_id: str | None) -> dict:
        """The job's roster as the site's next version. The job must be this tenant's, finished,
        a roster or plan; every agent in it must be one of the site's agents."""
        site = self.registry.get_site(tenant, site_id)
        job = self.store.get(job_id, tenant, with_result=True)
        if job is None:
            raise Invalid([{"field": "job_id", "message": f"no job {job_id!r}", "type": "value_error"}])
        if job.kind not in PUBLISHABLE or job.status != SUCCEEDED:
            raise Invalid([{"field": "job_id", "message": f"job {job_id} is a {job.status} {job.kind} job: only a "
                            "succeeded roster or plan job can be published", "type": "value_error"}])
        shifts = roster_shifts(job.kind, job.result)
        agents, _ = self.registry.list_items(tenant, site_id, "agents")
        known = {a.body["id"] for a in agents}
        strangers = sorted({s["agent"] for s in shifts} - known)
        if strangers:
            raise Invalid([{"field": "job_id", "message": f"the roster has agents the site does not: "
                            f"{', '.join(strangers[:5])}", "type": "value_error"}])
        with self.engine.begin() as conn:
            self.registry.lock(conn, tenant, site_id)
            latest = conn.execute(select(func.max(schedules.c.version)).where(
                schedules.c.tenant == tenant, schedules.c.site_id == site_id)).scalar() or 0
            if if_match is not None and if_match.strip() not in ("*", version_etag(latest)):
                raise PreconditionFailed(version_etag(latest))
            row = dict(tenant=tenant, site_id=site_id, version=latest + 1, job_id=job_id, published_at=time.time(),
                       key_id=key_id, shifts=json.dumps(shifts))
            conn.execute(insert(schedules).values(**row))
            self.registry.record(conn, tenant, site_id, key_id, "publish", f"sites/{site_id}/schedules/{latest + 1}",
                                 {"job_id": job_id, "shifts": len(shifts)})
        return self._view(row, site.body["timezone"], with_shifts=False)

    def versions(self, tenant: str, site_id: str) -> list[dict]:
        site = self.registry.get_site(tenant, site_id)
        with self.engine.connect() as conn:
            rows = conn.execute(select(schedules).where(schedules.c.tenant == tenant, schedules.c.site_id == site_id)
                                .order_by(schedules.c.version)).all()
        return [self._view(r._mapping, site.body["timezone"], with_shifts=False) for r in rows]

    def version(self, tenant: str, site_id: str, version: int | None = None) -> dict:
        """A version with its shifts; None: the latest."""
        site = self.registry.get_site(tenant, site_id)
        query = select(schedules).where(schedules.c.tenant == tenant, schedules.c.site_id == site_id)
        query = query.where(schedules.c.version == version) if version is not None else \
            query.order_by(schedules.c.version.desc()).limit(1)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        if row is None:
            raise NotFound(f"site {site_id!r} has no published schedule" +
                           (f" version {version}" if version is not None else ""))
        return self._view(row._mapping, site.body["timezone"], with_shifts=True)

    def diff(self, tenant: str, site_id: str, version: int) -> dict:
        """What `version` changed from the one before: shifts added, removed and changed, by agent and day."""
        new = self.version(tenant, site_id, version)
        old = self.version(tenant, site_id, version - 1)["shifts"] if version > 1 else []
        return {"version": version, "previous": version - 1 if version > 1 else None,
                **diff_shifts(old, new["shifts"])}

    def agent_schedule(self, tenant: str, site_id: str, agent_id: str, first: date | None, last: date | None,
                       version: int | None = None) -> dict:
        self.registry.get_item(tenant, site_id, "agents", agent_id)
        published = self.version(tenant, site_id, version)
        shifts = [s for s in published["shifts"] if s["agent"] == agent_id
                  and (first is None or date.fromisoformat(s["day"]) >= first)
                  and (last is None or date.fromisoformat(s["day"]) <= last)]
        return {"site": site_id, "agent": agent_id, "version": published["version"],
                "published_at": published["published_at"], "timezone": published["timezone"], "shifts": shifts}

    @staticmethod
    def _view(row, tz_name: str, with_shifts: bool) -> dict:
        view = {"version": row["version"], "job_id": row["job_id"], "published_at": _iso(row["published_at"]),
                "key_id": row["key_id"], "timezone": tz_name, "request_id": row.get("request_id")}
        shifts = json.loads(row["shifts"])
        view["shift_count"] = len(shifts)
        if with_shifts:
            view["shifts"] = [local_shift(s, ZoneInfo(tz_name)) for s in shifts]
        return view


def local_shift(shift: dict, zone: ZoneInfo) -> dict:
    """A shift with its times in the site's local time (ISO with the UTC offset of that moment)."""
    checked = Shift.model_validate(shift)

    def local(moment: datetime) -> str:
        return moment.astimezone(zone).isoformat()

    return {"agent": checked.agent, "day": checked.day.isoformat(), "template": checked.template,
            "start": local(checked.start), "end": local(checked.end),
            "breaks": [{"name": b.name, "start": local(b.start), "end": local(b.end)} for b in checked.breaks]}


def diff_shifts(old: list[dict], new: list[dict]) -> dict:
    """Shifts keyed by (agent, day): added, removed, and changed (template, times or breaks)."""
    before = {(s["agent"], s["day"]): s for s in old}
    after = {(s["agent"], s["day"]): s for s in new}
    same = set(before) & set(after)
    return {"added": [after[k] for k in sorted(set(after) - set(before))],
            "removed": [before[k] for k in sorted(set(before) - set(after))],
            "changed": [{"agent": k[0], "day": k[1], "before": before[k], "after": after[k]}
                        for k in sorted(same) if before[k] != after[k]]}


def to_ical(schedule: dict, calendar_name: str) -> bytes:
    """One VEVENT per shift, local times under the site's TZID (with its VTIMEZONE), breaks in the
    description. UID per agent and day, SEQUENCE the version: a calendar app updates a moved shift."""
    zone = ZoneInfo(schedule["timezone"])
    cal = icalendar.Calendar()
    cal.add("prodid", "-//wfm//published schedule//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", calendar_name)
    cal.add("x-wr-timezone", schedule["timezone"])
    stamp = datetime.fromisoformat(schedule["published_at"].replace("Z", "+00:00"))
    days = [date.fromisoformat(s["day"]) for s in schedule["shifts"]] or [stamp.date()]
    # The VTIMEZONE covers the shifts' days only (a whole zone history would be most of the file).
    cal.add_component(icalendar.Timezone.from_tzid(schedule["timezone"], first_date=min(days) - timedelta(days=1),
                                                   last_date=max(days) + timedelta(days=2)))
    for shift in schedule["shifts"]:
        event = icalendar.Event()
        event.add("uid", f"{schedule['site']}/{shift['agent']}/{shift['day']}@wfm")
        event.add("sequence", schedule["version"])
        event.add("dtstamp", stamp)
        event.add("dtstart", datetime.fromisoformat(shift["start"]).astimezone(zone))
        event.add("dtend", datetime.fromisoformat(shift["end"]).astimezone(zone))
        event.add("summary", f"Shift {shift['template']}")
        event.add("description", _breaks_text(shift["breaks"], zone))
        cal.add_component(event)
    return cal.to_ical()


def _breaks_text(breaks: list[dict], zone: ZoneInfo) -> str:
    if not breaks:
        return "No breaks"

    def clock(text: str) -> str:
        return datetime.fromisoformat(text).astimezone(zone).strftime("%H:%M")

    return "Breaks: " + ", ".join(f"{b['name']} {clock(b['start'])}-{clock(b['end'])}" for b in breaks)


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")
