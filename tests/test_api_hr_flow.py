"""The HR system's flow over HTTP, on SQLite and on PostgreSQL (skipped when no server): create a
site, import 30 agents from CSV, plan from the stored site, publish, fetch every agent's calendar
across Berlin's spring DST change (2026-03-29), file a time-off request that leaves intervals short
(its SL impact checked against a textbook Erlang C), approve it (version 2, the diff names the
removed shift); allotments, a swap that breaks a contract, tenant isolation and stale ETags.

Expectations come from outside the code under test: the plan's own shift table (another code path
than the calendar), the template's start times, the Berlin offsets, Erlang C written out here."""

import math
import os
import time as clock
import uuid
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import icalendar
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.settings import Settings
from api_helpers import history_rows
from test_api_store import _postgres_or_skip  # noqa: F401  (the PostgreSQL server probe shared by the store tests)

BERLIN = ZoneInfo("Europe/Berlin")
DST_DAY = date(2026, 3, 29)
SITE = {"id": "hr", "name": "Berlin HR", "timezone": "Europe/Berlin", "interval_minutes": 60,
        "queues": [{"id": "billing", "target": {"service_level": 0.8, "answer_seconds": 20}, "time_off_per_day": 1}]}
DAY = {"id": "D", "start_times": ["08:00", "09:00"], "length_minutes": 480,
       "breaks": [{"name": "lunch", "minutes": 60, "earliest_minutes": 180, "latest_minutes": 300, "paid": False}]}
# 29 full-timers and one (a29) whose contract allows 5 paid hours a week: less than one 7-hour shift.
STAFF = "id,skills,max_hours\n" + "".join(f"a{k:02d},billing,40\n" for k in range(29)) + \
    "a29,billing,5\n"
SOLVER = {"time_limit_seconds": 5, "workers": 1, "seed": 0}


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def service(request, tmp_path_factory):
    if request.param == "sqlite":
        settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('hr') / 'jobs.db'}", poll_seconds=0.05)
        schema = None
    else:
        url = _postgres_or_skip()
        schema = f"wfm_hr_{os.getpid()}_{uuid.uuid4().hex[:8]}"
        settings = Settings(database_url=url, database_schema=schema, poll_seconds=0.05)
    with TestClient(create_app(settings)) as client:
        yield client, {"X-API-Key": client.app.state.store.create_api_key("acme")}
    if schema:
        engine = create_engine(settings.database_url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        engine.dispose()


def _finished(client, headers, job_id: str) -> dict:
    for _ in range(1200):
        view = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if view["status"] not in ("queued", "running"):
            assert view["status"] == "succeeded", view
            return client.get(f"/v1/plans/{job_id}", headers=headers).json()
        clock.sleep(0.1)
    raise AssertionError("the plan job did not finish")


@pytest.fixture(scope="module")
def published(service):
    """Site -> 30 agents from CSV -> plan from the stored site (history) -> version 1."""
    client, headers = service
    assert client.post("/v1/sites", json=SITE, headers=headers).status_code == 201
    assert client.put("/v1/sites/hr/templates/D", json=DAY, headers=headers).status_code == 201
    imported = client.post("/v1/sites/hr/agents/import", content=STAFF.encode(),
                           headers={**headers, "Content-Type": "text/csv"})
    assert imported.status_code == 200 and len(imported.json()["created"]) == 30
    # Three weeks of weekday contacts (the last on Friday 2026-03-20): the plan's ten days span the DST change.
    job = client.post("/v1/sites/hr/plans", headers=headers, json={
        "history": history_rows(weeks=3, start=date(2026, 3, 2)), "forecast": {"days": 10, "folds": 1},
        "solver": SOLVER, "simulation": None})
    assert job.status_code == 202, job.text
    plan = _finished(client, headers, job.json()["id"])
    assert plan["forecast"]["first_day"] == "2026-03-21" and plan["roster"]["feasible"]
    one = client.post("/v1/sites/hr/schedules", json={"job_id": job.json()["id"]}, headers=headers)
    assert one.status_code == 201 and one.json()["version"] == 1
    return client, headers, plan


def test_every_agent_s_calendar_has_the_plan_s_shifts_at_local_times_across_the_dst_change(published):
    client, headers, plan = published
    expected = {}
    for row in plan["roster"]["shifts"]:
        expected.setdefault(row["agent"], []).append(row)
    sides = set()
    for k in range(30):
        agent = f"a{k:02d}"
        answer = client.get(f"/v1/sites/hr/agents/{agent}/schedule?format=ics", headers=headers)
        assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/calendar")
        events = sorted(icalendar.Calendar.from_ical(answer.content).walk("VEVENT"),
                        key=lambda e: e.decoded("DTSTART"))
        rows = sorted(expected.get(agent, []), key=lambda r: r["start"])
        assert len(events) == len(rows)
        for event, row in zip(events, rows):
            start, end = event.decoded("DTSTART"), event.decoded("DTEND")
            assert start.tzinfo.key == "Europe/Berlin"
            assert start == datetime.fromisoformat(row["start"]) and end == datetime.fromisoformat(row["end"])
            assert start.time() in (time(8), time(9)) and start.date().isoformat() == row["day"]  # the template's
            assert start.utcoffset() == timedelta(hours=2 if start.date() > DST_DAY else 1)
            assert end - start == timedelta(hours=8) and "lunch" in str(event["DESCRIPTION"])
            sides.add(start.date() > DST_DAY)
    assert sides == {False, True}  # shifts on both sides of the change were checked
    assert len(plan["roster"]["shifts"]) > 0


def erlang_c_service_level(agents: int, contacts: float, aht: float, answer_seconds: float, seconds: float) -> float:
    """Textbook Erlang C: P(wait <= T) = 1 - C(N, A) exp(-(N - A) T / AHT)."""
    load = contacts / seconds * aht
    if agents <= load:
        return 0.0
    top = load ** agents / math.factorial(agents) * agents / (agents - load)
    waiting = top / (sum(load ** i / math.factorial(i) for i in range(agents)) + top)
    return 1 - waiting * math.exp(-(agents - load) * answer_seconds / aht)


def _short_shift(plan: dict) -> tuple[dict, dict]:
    """A published shift whose on-queue time covers an interval with no agent to spare, and the
    plan's coverage by interval start."""
    coverage = {datetime.fromisoformat(c["interval_start"]): c for c in plan["roster"]["coverage"]}
    for shift in plan["roster"]["roster"]["shifts"]:
        for segment in shift["segments"]:
            hour = datetime.fromisoformat(segment["start"])
            while hour < datetime.fromisoformat(segment["end"]):
                row = coverage[hour]
                if row["required"] > 0 and row["on_queue"] <= row["required"]:
                    return shift, coverage
                hour += timedelta(hours=1)
    raise AssertionError("the plan has no interval without an agent to spare")


def test_time_off_that_leaves_intervals_short_is_reported_and_its_approval_is_version_2(published):
    client, headers, plan = published
    shift, coverage = _short_shift(plan)
    aht = {datetime.fromisoformat(r["interval_start"]): r["aht_seconds"] for r in plan["requirements"]}
    filed = client.post("/v1/sites/hr/requests", headers=headers, json={
        "type": "time_off", "agent": shift["agent"], "first_day": shift["day"], "last_day": shift["day"]})
    assert filed.status_code == 201, filed.text
    view = filed.json()
    assert view["status"] == "pending" and view["check"]["ok"] and view["check"]["schedule_version"] == 1
    impact = view["check"]["coverage"]
    on_queue_hours = []
    for segment in shift["segments"]:
        hour = datetime.fromisoformat(segment["start"])
        while hour < datetime.fromisoformat(segment["end"]):
            on_queue_hours.append(hour)
            hour += timedelta(hours=1)
    assert [datetime.fromisoformat(i["interval_start"]) for i in impact["intervals"]] == on_queue_hours
    for interval in impact["intervals"]:
        was = coverage[datetime.fromisoformat(interval["interval_start"])]
        assert (interval["on_queue_before"], interval["on_queue_after"]) == (was["on_queue"], was["on_queue"] - 1)
        assert interval["under_after"] == max(was["required"] - was["on_queue"] + 1, 0)
        if was["volume"] > 0:
            reference = erlang_c_service_level(was["on_queue"] - 1, was["volume"], aht[datetime.fromisoformat(
                interval["interval_start"])], 20, 3600)
            assert interval["service_level_after"] == pytest.approx(reference, abs=1e-3)
            assert interval["service_level_after"] < interval["service_level_before"]
    assert impact["leaves_short"] and impact["under_hours_added"] == sum(
        i["under_after"] - i["under_before"] for i in impact["intervals"]) > 0
    assert view["check"]["allotments"] == [{"day": shift["day"], "queue": "billing", "allowed": 1, "approved": 0,
                                            "with_this": 1}]

    approved = client.post(f"/v1/sites/hr/requests/{view['id']}/approve", json={"reason": "ok"},
                           headers={**headers, "If-Match": filed.headers["etag"]})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["applied_version"] == 2
    versions = client.get("/v1/sites/hr/schedules", headers=headers).json()
    assert [(v["version"], v["request_id"]) for v in versions] == [(1, None), (2, view["id"])]
    diff = client.get("/v1/sites/hr/schedules/2/diff", headers=headers).json()
    assert [(s["agent"], s["day"]) for s in diff["removed"]] == [(shift["agent"], shift["day"])]
    assert diff["added"] == [] and diff["changed"] == []
    agent = client.get(f"/v1/sites/hr/agents/{shift['agent']}", headers=headers).json()
    assert shift["day"] in agent["unavailable_days"]  # the leave is in the registry for the next plan
    assert client.get(f"/v1/sites/hr/agents/{shift['agent']}/schedule?from={shift['day']}&to={shift['day']}",
                      headers=headers).json()["shifts"] == []

    # A second agent off that day is over the queue's allotment of 1: reported, and refused on approval.
    colleague = next(s for s in plan["roster"]["roster"]["shifts"] if s["agent"] != shift["agent"])
    second = client.post("/v1/sites/hr/requests", headers=headers, json={
        "type": "time_off", "agent": colleague["agent"], "first_day": shift["day"], "last_day": shift["day"]}).json()
    assert not second["check"]["ok"] and second["check"]["allotments"][0]["approved"] == 1
    assert any("allotment of queue billing" in r for r in second["check"]["reasons"])
    refused = client.post(f"/v1/sites/hr/requests/{second['id']}/approve", json={}, headers=headers)
    assert refused.status_code == 409 and refused.json()["error"] == "request_breaks_rules"
    denied = client.post(f"/v1/sites/hr/requests/{second['id']}/deny", json={"reason": "team minimum"},
                         headers=headers)
    assert denied.json()["status"] == "denied" and denied.json()["decision"]["reason"] == "team minimum"
    assert len(client.get("/v1/sites/hr/schedules", headers=headers).json()) == 2


def test_a_swap_that_breaks_a_contract_is_refused_and_requests_are_guarded(published):
    client, headers, plan = published
    versions = len(client.get("/v1/sites/hr/schedules", headers=headers).json())
    given = next(s for s in plan["roster"]["roster"]["shifts"] if s["day"] == "2026-03-30")
    swap = client.post("/v1/sites/hr/requests", headers=headers, json={
        "type": "swap", "agent": given["agent"], "day": given["day"], "with_agent": "a29"})
    assert swap.status_code == 201, swap.text
    check = swap.json()["check"]
    assert not check["ok"] and any(v.startswith("contract max hours [a29]") for v in check["violations"]), check
    assert [(c["agent"], c["after"] is not None) for c in check["changes"]] == [(given["agent"], False), ("a29", True)]
    refused = client.post(f"/v1/sites/hr/requests/{swap.json()['id']}/approve", json={}, headers=headers)
    assert refused.status_code == 409 and any("a29" in r for r in refused.json()["reasons"])

    stale = client.post(f"/v1/sites/hr/requests/{swap.json()['id']}/deny", json={"reason": "no"},
                        headers={**headers, "If-Match": '"r0"'})
    assert stale.status_code == 412 and stale.json()["etag"] == swap.headers["etag"]
    assert client.get(f"/v1/sites/hr/requests/{swap.json()['id']}", headers=headers).json()["status"] == "pending"
    denied = client.post(f"/v1/sites/hr/requests/{swap.json()['id']}/deny", json={"reason": "contract"},
                         headers={**headers, "If-Match": swap.headers["etag"]})
    assert denied.status_code == 200 and denied.headers["etag"] != swap.headers["etag"]
    again = client.post(f"/v1/sites/hr/requests/{swap.json()['id']}/approve", json={}, headers=headers)
    assert again.status_code == 409
    assert len(client.get("/v1/sites/hr/schedules", headers=headers).json()) == versions

    other = {"X-API-Key": client.app.state.store.create_api_key("globex")}
    for method, url in (("GET", "/v1/sites/hr/requests"), ("GET", f"/v1/sites/hr/requests/{swap.json()['id']}"),
                        ("POST", f"/v1/sites/hr/requests/{swap.json()['id']}/approve"),
                        ("POST", "/v1/sites/hr/plans")):
        assert client.request(method, url, json={} if method == "POST" else None, headers=other).status_code == 404
    mine = client.get("/v1/sites/hr/requests?status=denied", headers=headers).json()
    assert swap.json()["id"] in [r["id"] for r in mine]
    # A give-away to an agent with no shift at all breaks nothing: approved, the diff names both sides.
    idle = next(f"a{k:02d}" for k in range(29) if all(s["agent"] != f"a{k:02d}"
                                                      for s in plan["roster"]["roster"]["shifts"]))
    fine = client.post("/v1/sites/hr/requests", headers=headers, json={
        "type": "swap", "agent": given["agent"], "day": given["day"], "with_agent": idle}).json()
    assert fine["check"]["ok"], fine["check"]
    done = client.post(f"/v1/sites/hr/requests/{fine['id']}/approve", json={}, headers=headers).json()
    diff = client.get(f"/v1/sites/hr/schedules/{done['applied_version']}/diff", headers=headers).json()
    assert [(s["agent"], s["day"]) for s in diff["removed"]] == [(given["agent"], given["day"])]
    assert [(s["agent"], s["day"], s["start"]) for s in diff["added"]] == [
        (idle, given["day"], datetime.fromisoformat(given["start"]).isoformat())]

    unknown = client.post("/v1/sites/hr/requests", headers=headers, json={
        "type": "time_off", "agent": "nobody", "first_day": "2026-03-23", "last_day": "2026-03-23"})
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "body.agent"


def test_a_site_plan_keeps_the_registry_as_it_was_when_asked(published):
    """A plan from forecast rows; the staff list changes right after the request: the job plans the snapshot."""
    client, headers, _ = published
    rows = [{"interval_start": datetime.combine(date(2026, 4, 6), time(h), BERLIN).isoformat(), "queue": "billing",
             "volume": 20, "aht_seconds": 240} for h in range(9, 17)]
    job = client.post("/v1/sites/hr/plans", headers=headers, json={"forecast_rows": rows, "solver": SOLVER,
                                                                     "simulation": None})
    assert job.status_code == 202, job.text
    agents = client.get("/v1/sites/hr/agents", headers=headers)
    shorter = "id,skills\n" + "".join(f"a{k:02d},billing\n" for k in range(5))
    assert client.post("/v1/sites/hr/agents/import", content=shorter.encode(),
                       headers={**headers, "If-Match": agents.headers["etag"]}).status_code == 200
    plan = _finished(client, headers, job.json()["id"])
    assert plan["forecast"]["first_day"] == "2026-04-06" and plan["forecast"]["backtest"] == []
    assert {a["agent"] for a in plan["roster"]["agents"]} == {f"a{k:02d}" for k in range(30)}
    no_history = client.post("/v1/sites/hr/plans", headers=headers, json={"solver": SOLVER})
    assert no_history.status_code == 422 and no_history.json()["fields"][0]["field"] == "body"
