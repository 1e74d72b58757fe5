"""Published schedules over HTTP with real roster jobs: publish, versions, the diff naming the
moved shift, and an agent's calendar whose local times hold across the spring DST change in
Berlin (2026-03-29: 02:00 -> 03:00), read back by the icalendar parser and as raw RFC 5545 text."""

import time as clock
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

import icalendar
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from wfm.domain import Horizon
from wfm.roster.domain import Agent, QueueRequirement, RosterInput, ShiftTemplate, SolverParams

BERLIN = ZoneInfo("Europe/Berlin")
SITE = {"id": "ber", "name": "Berlin", "timezone": "Europe/Berlin", "interval_minutes": 60}
DAY = ShiftTemplate(id="D", start_times=[time(8)], length_minutes=480)
NIGHT = ShiftTemplate(id="N", start_times=[time(22)], length_minutes=480, crosses_midnight=True)


def roster(fixed_a0: dict) -> RosterInput:
    """A week over the DST change; agent a0's week fixed (days off elsewhere) so the calendar has known times."""
    horizon = Horizon(start=date(2026, 3, 26), days=7, interval_minutes=60, timezone="Europe/Berlin")
    need = [1 if 9 <= ts.hour < 16 and ts.weekday() < 5 else 0 for ts in horizon.interval_starts()]
    every_day = {horizon.start + timedelta(days=k): fixed_a0.get(horizon.start + timedelta(days=k)) for k in range(7)}
    agents = [Agent(id="a0", skills=["q"], fixed=every_day)] + [Agent(id=f"a{k}", skills=["q"]) for k in (1, 2)]
    return RosterInput(horizon=horizon, requirements=[QueueRequirement(queue="q", agents=need)],
                       templates=[DAY, NIGHT], agents=agents,
                       solver=SolverParams(time_limit_seconds=3, workers=1, deterministic_limit=2))


FIRST = {date(2026, 3, 27): "D", date(2026, 3, 28): "N", date(2026, 3, 30): "D"}
SECOND = {**FIRST, date(2026, 3, 30): "N"}  # the Monday shift moves from day to night


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    database = tmp_path_factory.mktemp("schedules") / "jobs.db"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{database}", poll_seconds=0.05))) as client:
        headers = {"X-API-Key": client.app.state.store.create_api_key("acme")}
        assert client.post("/v1/sites", json=SITE, headers=headers).status_code == 201
        assert client.post("/v1/sites/ber/agents/import", content=b"id,skills\na0,q\na1,q\na2,q\n",
                           headers=headers).status_code == 200
        jobs = [_finished_job(client, headers, roster(fixed)) for fixed in (FIRST, SECOND)]
        yield client, headers, jobs


def _finished_job(client, headers, data: RosterInput) -> str:
    job = client.post("/v1/rosters", content=data.model_dump_json(), headers={**headers,
                                                                               "Content-Type": "application/json"})
    assert job.status_code == 202, job.text
    for _ in range(600):
        view = client.get(f"/v1/jobs/{job.json()['id']}", headers=headers).json()
        if view["status"] not in ("queued", "running"):
            assert view["status"] == "succeeded", view
            return view["id"]
        clock.sleep(0.1)
    raise AssertionError("the roster job did not finish")


def test_publishing_makes_versions_and_the_diff_names_the_moved_shift(site):
    client, headers, (first, second) = site
    one = client.post("/v1/sites/ber/schedules", json={"job_id": first}, headers=headers)
    assert one.status_code == 201 and one.json()["version"] == 1 and one.headers["etag"] == '"v1"'
    stale = client.post("/v1/sites/ber/schedules", json={"job_id": second}, headers={**headers, "If-Match": '"v0"'})
    assert stale.status_code == 412
    two = client.post("/v1/sites/ber/schedules", json={"job_id": second}, headers={**headers, "If-Match": '"v1"'})
    assert two.status_code == 201 and two.json()["version"] == 2
    listed = client.get("/v1/sites/ber/schedules", headers=headers).json()
    assert [(v["version"], v["job_id"]) for v in listed] == [(1, first), (2, second)]
    diff = client.get("/v1/sites/ber/schedules/2/diff", headers=headers).json()
    a0_changes = [c for c in diff["changed"] if c["agent"] == "a0"]
    assert [(c["day"], c["before"]["template"], c["after"]["template"]) for c in a0_changes] == \
        [("2026-03-30", "D", "N")]
    assert all(s["agent"] != "a0" for s in diff["added"] + diff["removed"])
    audit = client.get("/v1/sites/ber/audit", headers=headers).json()["entries"]
    assert [e["resource"] for e in audit if e["action"] == "publish"] == ["sites/ber/schedules/1",
                                                                          "sites/ber/schedules/2"]


def test_only_a_finished_roster_of_the_site_s_agents_and_tenant_is_published(site):
    client, headers, (first, _) = site
    other = {"X-API-Key": client.app.state.store.create_api_key("globex")}
    assert client.post("/v1/sites", json=SITE, headers=other).status_code == 201
    foreign = client.post("/v1/sites/ber/schedules", json={"job_id": first}, headers=other)
    assert foreign.status_code == 422 and foreign.json()["fields"][0]["field"] == "body.job_id"
    assert client.get("/v1/sites/ber/schedules", headers=other).json() == []
    strangers = client.post("/v1/sites", json={**SITE, "id": "empty"}, headers=headers)
    assert strangers.status_code == 201
    no_agents = client.post("/v1/sites/empty/schedules", json={"job_id": first}, headers=headers)
    assert no_agents.status_code == 422 and "a0" in no_agents.json()["message"]
    assert client.get("/v1/sites/nowhere/schedules", headers=headers).status_code == 404


def test_an_agent_calendar_keeps_local_times_across_the_dst_change(site):
    client, headers, jobs = site
    if not client.get("/v1/sites/ber/schedules", headers=headers).json():
        client.post("/v1/sites/ber/schedules", json={"job_id": jobs[0]}, headers=headers)
    version = client.get("/v1/sites/ber/schedules", headers=headers).json()[-1]["version"]
    fixed = FIRST if version == 1 else SECOND
    ics = client.get("/v1/sites/ber/agents/a0/schedule?from=2026-03-27&to=2026-03-30",
                     headers={**headers, "Accept": "text/calendar"})
    assert ics.status_code == 200 and ics.headers["content-type"].startswith("text/calendar")
    text = ics.text.replace("\r\n ", "")  # RFC 5545 folding undone
    calendar = icalendar.Calendar.from_ical(ics.content)
    assert [tz["TZID"] for tz in calendar.walk("VTIMEZONE")] == ["Europe/Berlin"]
    summer_from = "BEGIN:DAYLIGHT\r\nDTSTART:20260329T030000\r\nTZNAME:CEST\r\nTZOFFSETFROM:+0100\r\nTZOFFSETTO:+0200"
    assert summer_from in ics.text  # the zone's own rule: 02:00 CET became 03:00 CEST that Sunday
    events = sorted(calendar.walk("VEVENT"), key=lambda e: e.decoded("DTSTART"))
    expected = sorted(fixed.items())
    assert len(events) == len(expected)
    for event, (day, template) in zip(events, expected):
        start_clock = {"D": time(8), "N": time(22)}[template]
        # Independent reference: local start on the day, plus 8 real hours, seen on Berlin's clock.
        start = datetime.combine(day, start_clock, tzinfo=BERLIN)
        end = (start.astimezone(timezone.utc) + timedelta(hours=8)).astimezone(BERLIN)
        assert event.decoded("DTSTART") == start and event.decoded("DTEND") == end
        assert f"DTSTART;TZID=Europe/Berlin:{start:%Y%m%dT%H%M%S}" in text
        assert f"DTEND;TZID=Europe/Berlin:{end:%Y%m%dT%H%M%S}" in text
        assert str(event["SUMMARY"]) == f"Shift {template}" and str(event["SEQUENCE"]) == str(version)
    night = next(e for e in events if e.decoded("DTSTART").date() == date(2026, 3, 28))
    assert night.decoded("DTEND").time() == time(7)  # 22:00 CET + 8 h is 07:00 CEST: the night lost an hour
    as_json = client.get("/v1/sites/ber/agents/a0/schedule?from=2026-03-28&to=2026-03-28", headers=headers).json()
    assert [(s["start"], s["end"]) for s in as_json["shifts"]] == [("2026-03-28T22:00:00+01:00",
                                                                    "2026-03-29T07:00:00+02:00")]
    assert client.get("/v1/sites/ber/agents/nobody/schedule", headers=headers).status_code == 404
