"""POST /v1/scenarios through the real app, job runner and worker processes: a scenario set is a
persisted job (202 + Location, progress per finished scenario, result as JSON or CSV), the base
plan's data comes inline (server paths are refused), limits and bad input answer 4xx naming
the field, one failing scenario is reported inside the result, tenants and idempotency as for
every job."""

import io
import json
import time
from datetime import date, datetime, timedelta, timezone

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api import work
from api.app import create_app
from api.schemas import ScenarioJobRequest
from api.settings import Settings
from api_helpers import history_rows

TZ = "Europe/Berlin"
FINISHED = ("succeeded", "failed", "cancelled")


def forecast_rows(first: date, days: int, volume: float = 20.0, queue: str = "calls") -> list[dict]:
    """Hourly rows from local midnight of `first`, in UTC, `volume` contacts 08-18 local. Across
    2026-03-29 (23 hours in Berlin) the rows follow the real clock."""
    from zoneinfo import ZoneInfo

    start = datetime.combine(first, datetime.min.time(), ZoneInfo(TZ)).astimezone(timezone.utc)
    end = datetime.combine(first + timedelta(days=days), datetime.min.time(), ZoneInfo(TZ)).astimezone(timezone.utc)
    rows, ts = [], start
    while ts < end:
        local = ts.astimezone(ZoneInfo(TZ))
        rows.append({"interval_start": ts.isoformat(), "queue": queue,
                     "volume": volume if 8 <= local.hour < 18 else 0.0, "aht_seconds": 240.0})
        ts += timedelta(hours=1)
    return rows


def base_plan(rows, **extra) -> dict:
    return {"timezone": TZ, "interval_minutes": 60, "forecast": {"rows": rows},
            "queues": {"calls": {"service_level": 0.8, "answer_seconds": 20}}, **extra}


def scenario_set(scenarios, rows=None, **extra) -> dict:
    rows = rows if rows is not None else forecast_rows(date(2026, 6, 1), 1)
    return {"base": base_plan(rows), "simulation": None, "scenarios": scenarios, **extra}


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scenarios-api")
    settings = Settings(database_url=f"sqlite:///{folder / 'jobs.db'}", solver_processes=2, max_agents=10,
                        max_templates=3, max_horizon_days=14, max_solve_seconds=10, max_scenarios=4,
                        max_replications=20, max_history_rows=5000, max_body_bytes=1_000_000, lease_seconds=5,
                        poll_seconds=0.05)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.fixture(scope="module")
def keys(client):
    store = client.app.state.store
    return {"acme": {"X-API-Key": store.create_api_key("acme")},
            "globex": {"X-API-Key": store.create_api_key("globex")}}


def submit(client, body, headers, **extra_headers):
    res = client.post("/v1/scenarios", json=body, headers={**headers, **extra_headers})
    assert res.status_code == 202, res.text
    return res


def wait(client, job_id, headers, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if view["status"] in FINISHED:
            return view
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} still {view['status']} after {timeout} s")


def fields_of(res) -> list[str]:
    return [f["field"] for f in res.json()["fields"]]


# --------------------------------------------------------------------------- jobs end to end


def test_requirements_set_on_a_dst_weekend_compares_every_scenario_with_the_base(client, keys):
    rows = forecast_rows(date(2026, 3, 28), 2)  # Saturday, and Sunday with 23 hours
    assert len(rows) == 24 + 23
    sunday = sum(r["volume"] for r in rows if r["interval_start"] >= "2026-03-28T23:00")
    body = scenario_set([{"name": "sunday +50%", "volume": [{"multiplier": 1.5, "days": ["sunday"]}]},
                         {"name": "90/20", "targets": [{"service_level": 0.9}]},
                         {"name": "typo", "volume": [{"multiplier": 1.1, "queues": ["cals"]}]}], rows)
    res = submit(client, body, keys["acme"])
    job = res.json()
    assert res.headers["location"] == f"/v1/jobs/{job['id']}" and job["kind"] == "scenarios"
    assert job["links"]["result"] == f"/v1/scenarios/{job['id']}"

    view = wait(client, job["id"], keys["acme"])
    assert view["status"] == "succeeded", view
    assert {k: view["progress"][k] for k in ("scenarios_done", "scenarios_total", "scenarios_failed")} == \
        {"scenarios_done": 4, "scenarios_total": 4, "scenarios_failed": 1}
    assert view["progress"]["message"].startswith("[4/4] typo: FAILED")

    report = client.get(f"/v1/scenarios/{job['id']}", headers=keys["acme"]).json()
    assert (report["horizon_start"], report["days"], report["mode"]) == ("2026-03-28", 2, "requirements")
    base, (busier, strict, typo) = report["base"], report["scenarios"]
    assert [base["status"], busier["status"], strict["status"], typo["status"]] == ["ok", "ok", "ok", "failed"]
    assert base["metrics"]["contacts"] == pytest.approx(sum(r["volume"] for r in rows))
    assert busier["deltas"]["contacts"] == pytest.approx(0.5 * sunday)
    assert busier["deltas"]["required_fte"] > 0
    # Staffed to its own requirement, a 90/20 target gives at least 90% in every busy interval.
    assert strict["metrics"]["service_level_worst"] >= 0.9 > base["metrics"]["service_level_worst"]
    assert strict["deltas"]["required_hours"] > 0
    assert "unknown queue" in typo["error"] and "cals" in typo["error"] and typo["metrics"] is None
    assert base["metrics"]["simulated_service_level"] is None  # "simulation": null overrides the base plan's

    csv = client.get(f"/v1/scenarios/{job['id']}", headers={**keys["acme"], "Accept": "text/csv"})
    assert csv.status_code == 200 and csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text))
    assert list(table["scenario"]) == ["base", "sunday +50%", "90/20", "typo"]
    assert list(table["status"]) == ["ok", "ok", "ok", "failed"]
    assert table.loc[1, "contacts_delta"] == pytest.approx(busier["deltas"]["contacts"])
    assert table.loc[2, "required_fte"] == pytest.approx(strict["metrics"]["required_fte"])
    assert "cals" in table.loc[3, "error"]


def test_history_rows_are_forecast_inside_the_job_with_the_base_simulation(client, keys):
    rows = history_rows(weeks=4)  # weekdays from Monday 2026-03-02 to Friday 2026-03-27
    last = max(r["created_at"] for r in rows)[:10]
    body = {"base": {"timezone": TZ, "interval_minutes": 60, "history": {"rows": rows, "special_days": {}},
                     "forecast": {"days": 4, "folds": 1}, "queues": {"billing": {"service_level": 0.8}},
                     "simulation": {"replications": 2}},
            "scenarios": [{"name": "billing +10%", "volume": [{"multiplier": 1.1}]}]}
    job = submit(client, body, keys["acme"]).json()
    view = wait(client, job["id"], keys["acme"])
    assert view["status"] == "succeeded", view
    report = client.get(f"/v1/scenarios/{job['id']}", headers=keys["acme"]).json()
    assert last == "2026-03-27" and report["horizon_start"] == "2026-03-28" and report["days"] == 4
    base, more = report["base"]["metrics"], report["scenarios"][0]
    assert base["contacts"] > 0 and more["deltas"]["contacts"] == pytest.approx(0.1 * base["contacts"])
    assert base["simulated_service_level"] is not None  # no top-level simulation: the base plan's runs


def test_a_bad_history_row_fails_the_job_naming_the_row(client, keys):
    rows = history_rows(weeks=2)
    rows[3]["created_at"] = "yesterday-ish"
    body = {"base": {"timezone": TZ, "interval_minutes": 60, "history": {"rows": rows},
                     "queues": {"billing": {}}}, "scenarios": [{"name": "s"}]}
    job = submit(client, body, keys["acme"]).json()
    view = wait(client, job["id"], keys["acme"])
    assert view["status"] == "failed"
    assert view["error"]["reason"] == "invalid_history"
    assert view["error"]["field"] == "base.history.rows[3].created_at"
    assert "/tmp" not in view["error"]["message"] and "yesterday-ish" in view["error"]["message"]
    res = client.get(f"/v1/scenarios/{job['id']}", headers=keys["acme"])
    assert res.status_code == 409 and res.json()["error"] == "job_failed"


def test_roster_mode_rerosters_every_scenario(client, keys):
    rows = forecast_rows(date(2026, 6, 1), 1, volume=12.0)
    roster = {"templates": [{"id": "day", "start_times": ["08:00"], "length_minutes": 600}],
              "agents": [{"id": f"a{k}", "skills": ["calls"], "cost_per_hour": 20} for k in range(4)],
              "weights": {"cost": 1}, "solver": {"time_limit_seconds": 3, "workers": 1}}
    body = {"base": base_plan(rows, roster=roster), "mode": "roster", "simulation": None,
            "scenarios": [{"name": "lose three", "remove": {"agents": ["a1", "a2", "a3"]}},
                          {"name": "hire one", "hire": [{"count": 1, "skills": ["calls"], "cost_per_hour": 10}]}]}
    job = submit(client, body, keys["acme"]).json()
    assert job["time_limit_seconds"] == pytest.approx(3 * 3 + 3 * 30)  # three solves, three allowances
    view = wait(client, job["id"], keys["acme"])
    assert view["status"] == "succeeded", view
    report = client.get(f"/v1/scenarios/{job['id']}", headers=keys["acme"]).json()
    base, (fewer, hired) = report["base"], report["scenarios"]
    assert [r["status"] for r in (base, fewer, hired)] == ["ok", "ok", "ok"], report
    assert base["roster_status"] in ("OPTIMAL", "FEASIBLE")
    assert base["metrics"]["under_hours"] == 0 and base["metrics"]["scheduled_paid_hours"] > 0
    # One agent left, on the only shift (08-18, when all contacts come): short by all but 10 agent-hours.
    need = fewer["metrics"]["required_hours"]
    assert need > 10 and fewer["metrics"]["under_hours"] == pytest.approx(need - 10)
    assert fewer["deltas"]["under_hours"] == pytest.approx(need - 10)
    # Cost counts in the objective: the hire at 10/h takes one 10-hour shift from an agent at 20/h.
    assert hired["deltas"]["cost"] == pytest.approx(-100.0) and hired["deltas"]["under_hours"] == 0


# --------------------------------------------------------------------------- refused at the door


@pytest.mark.parametrize("where,value,field", [
    ("history", {"rows": [{"created_at": "2026-03-02T08:00:00Z"}], "file": "/etc/passwd"}, "body.base.history.file"),
    ("history", {"rows": [{"created_at": "2026-03-02T08:00:00Z"}], "calendar": "../cal.csv"},
     "body.base.history.calendar"),
    ("forecast", {"file": "/srv/acme/forecast.csv"}, "body.base.forecast.file"),
    ("roster", {"setup": "/srv/globex/roster_setup.json"}, "body.base.roster.setup"),
])
def test_server_paths_are_refused_naming_the_field(client, keys, where, value, field):
    body = scenario_set([{"name": "s"}])
    body["base"][where] = value
    if where == "history":
        del body["base"]["forecast"]
    res = client.post("/v1/scenarios", json=body, headers=keys["acme"])
    assert res.status_code == 422, res.text
    problem = next(f for f in res.json()["fields"] if f["field"] == field)
    assert "not accepted over HTTP" in problem["message"] and "inline" in problem["message"]


@pytest.mark.parametrize("change,field,words", [
    (lambda b: b.update(scenarios=[{"name": f"s{k}"} for k in range(5)]), "body.scenarios", "WFM_MAX_SCENARIOS"),
    (lambda b: b["base"]["forecast"].update(rows=forecast_rows(date(2026, 6, 1), 1) +
                                             forecast_rows(date(2026, 6, 15), 1)),
     "body.base.forecast.rows", "15 days"),
    (lambda b: b.update(simulation={"replications": 50}), "body.simulation.replications", "WFM_MAX_REPLICATIONS"),
    (lambda b: b["base"].update(roster={"agents": [{"id": f"a{k}", "skills": ["calls"]} for k in range(8)]}) or
     b.update(scenarios=[{"name": "grow", "hire": [{"count": 3, "skills": ["calls"]}]}]),
     "body.scenarios[0].hire", "11 agents with the hires"),
    (lambda b: b["base"].update(roster={"agents": [{"id": "a", "skills": ["calls"]}]}) or
     b.update(scenarios=[{"name": "long", "solver": {"time_limit_seconds": 99}}]),
     "body.scenarios[0].solver.time_limit_seconds", "WFM_MAX_SOLVE_SECONDS"),
    (lambda b: b.update(scenarios=[{"name": "a"}, {"name": "a"}]), "body", "unique"),
    (lambda b: b.update(mode="roster"), "body", "give base.roster"),
    (lambda b: b["base"]["forecast"].pop("rows"), "body.base", "either history.rows"),
    (lambda b: b["base"].update(simulation={"arrivals": "history"}), "body.base", "needs history.rows"),
    (lambda b: b["base"]["forecast"]["rows"][0].update(volume=-1), "body.base.forecast.rows[0].volume", "0"),
    (lambda b: b["base"]["forecast"]["rows"][0].update(interval_start="2026-06-01T00:00:00"),
     "body.base.forecast.rows[0].interval_start", "timezone"),
    (lambda b: b.update(scenarios=[{"name": "x", "volum": [{"multiplier": 2}]}]), "body.scenarios[0].volum",
     "unknown field"),
    # a string passed the numeric limit checks and ran 18 threads; now refused before the job exists
    (lambda b: b.update(scenarios=[{"name": "t", "solver": {"workers": "16"}}]), "body.scenarios[0].solver",
     "workers='16'"),
    (lambda b: b.update(scenarios=[{"name": "r", "rules": {"min_rest_hours": 1e308}}]), "body.scenarios[0].rules",
     "min_rest_hours"),
])
def test_limits_and_bad_input_answer_422_naming_the_field(client, keys, change, field, words):
    body = scenario_set([{"name": "s"}])
    change(body)
    res = client.post("/v1/scenarios", json=body, headers=keys["acme"])
    assert res.status_code == 422, res.text
    assert field in fields_of(res), res.text
    assert words in res.json()["message"], res.text


def test_a_body_over_the_size_limit_is_413(client, keys):
    body = scenario_set([{"name": "s", "description": "x" * 1_100_000}])
    res = client.post("/v1/scenarios", json=body, headers=keys["acme"])
    assert res.status_code == 413 and "WFM_MAX_BODY_BYTES" in res.json()["message"]


# --------------------------------------------------------------------------- tenants and retries


def test_tenants_keys_and_idempotency(client, keys):
    body = scenario_set([{"name": "more", "volume": [{"multiplier": 1.2}]}])
    assert client.post("/v1/scenarios", json=body).status_code == 401
    first = submit(client, body, keys["acme"], **{"Idempotency-Key": "what-if-1"})
    again = submit(client, body, keys["acme"], **{"Idempotency-Key": "what-if-1"})
    assert again.json()["id"] == first.json()["id"] and again.headers["idempotent-replayed"] == "true"
    other = client.post("/v1/scenarios", json={**body, "scenarios": [{"name": "less"}]},
                        headers={**keys["acme"], "Idempotency-Key": "what-if-1"})
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"

    job_id = first.json()["id"]
    assert wait(client, job_id, keys["acme"])["status"] == "succeeded"
    for path in (f"/v1/jobs/{job_id}", f"/v1/scenarios/{job_id}"):
        res = client.get(path, headers=keys["globex"])
        assert res.status_code == 404 and res.json()["error"] == "not_found"
    # Its own tenant asking the wrong endpoint is told where the result is.
    res = client.get(f"/v1/rosters/{job_id}", headers={**keys["acme"], "Accept": "text/csv"})
    assert res.status_code == 404 and f"/v1/scenarios/{job_id}" in res.json()["message"]
    assert client.get(f"/v1/plans/{job_id}", headers=keys["acme"]).status_code == 404


# --------------------------------------------------------------------------- the job function


def test_the_job_runs_on_a_dask_cluster_when_the_server_names_one(monkeypatch, dask_address):
    body = ScenarioJobRequest.model_validate(scenario_set([{"name": "more", "volume": [{"multiplier": 2}]}]))
    payload = body.model_dump_json(exclude_unset=True)
    local = work.run_scenario_set(payload)
    monkeypatch.setenv("WFM_DASK_SCHEDULER", dask_address)
    sent = []
    remote = work.run_scenario_set(payload, sent.append)
    assert local["executor"] == "sequential" and remote["executor"].startswith("dask")
    assert remote["scenarios"][0]["metrics"] == local["scenarios"][0]["metrics"]
    assert sent[-1]["scenarios_done"] == sent[-1]["scenarios_total"] == 2

    monkeypatch.setenv("WFM_DASK_SCHEDULER", "localhost:8786")  # no scheme
    with pytest.raises(work.JobError) as failed:
        work.run_scenario_set(payload)
    assert failed.value.reason == "executor_unavailable" and "tcp://" in failed.value.message


def misaligned(body):
    body["base"]["forecast"]["rows"][3]["interval_start"] = "2026-06-01T01:30:00+00:00"


def unknown_country(body):
    body["base"] = {"timezone": TZ, "history": {"rows": history_rows(2), "country": "XX"}, "queues": {"billing": {}}}


@pytest.mark.parametrize("change,field,words", [
    (misaligned, "base.forecast.rows", "'2026-06-01 03:30:00+02:00': not a 60-minute interval start"),
    (lambda b: b["base"]["forecast"]["rows"][5].update(queue="mail"), "base.queues", "['mail'] without a service"),
    (lambda b: b["base"].update(roster={"agents": [{"id": "a", "skills": ["calls"]}]}), "base.roster",
     "templates: Field required"),
    (unknown_country, "base.history.country", "'XX': unknown"),
])
def test_a_base_that_cannot_be_prepared_fails_the_job_naming_the_request_field(change, field, words):
    body = scenario_set([{"name": "s"}])
    change(body)
    with pytest.raises(work.JobError) as failed:
        work.run_scenario_set(ScenarioJobRequest.model_validate(body).model_dump_json(exclude_unset=True))
    assert failed.value.reason == "invalid_base" and failed.value.details["field"] == field
    assert failed.value.message.startswith(field) and words in failed.value.message
    assert "/tmp" not in failed.value.message and "file" not in failed.value.message


def test_inline_rows_reach_the_plan_exactly(tmp_path):
    """What the job writes for the plan's readers holds the rows and special days as sent."""
    rows = forecast_rows(date(2026, 3, 29), 1)
    rows[9]["volume_lower"], rows[9]["volume_upper"] = 1.0, 3.0
    with pytest.raises(ValueError, match="volume_lower is given on some rows only"):
        ScenarioJobRequest.model_validate(scenario_set([{"name": "s"}], rows))
    for r in rows:
        r.setdefault("volume_lower", r["volume"] * 0.5)
        r.setdefault("volume_upper", r["volume"] * 2)
    job = ScenarioJobRequest.model_validate(scenario_set([{"name": "s"}], rows))
    request = work.scenario_request(job, tmp_path)
    written = pd.read_csv(request.base.forecast.file)
    assert len(written) == 23 and written["volume"].sum() == sum(r["volume"] for r in rows)
    assert written.loc[9, "volume_upper"] == 3.0 and request.simulation is None

    history = {"base": {"timezone": TZ, "history": {"rows": history_rows(1), "special_days": {"2026-03-04": 0.5}},
                        "queues": {"billing": {}}}, "scenarios": [{"name": "s"}]}
    request = work.scenario_request(ScenarioJobRequest.model_validate(history), tmp_path)
    assert len(pd.read_csv(request.base.history.file)) == len(history_rows(1))
    assert pd.read_csv(request.base.history.calendar).to_dict("records") == [
        {"date": "2026-03-04", "name": "special", "factor": 0.5}]
    assert "simulation" not in request.model_fields_set  # unset: the base plan's settings stay
    assert json.loads(ScenarioJobRequest.model_validate(history).model_dump_json(exclude_unset=True)).keys() == \
        {"base", "scenarios"}
