"""The HTTP API in process (TestClient, real job runner and worker processes): auth and
tenants, idempotency, validation paths, limits, jobs from submit to result, cancellation."""

import io
import json
import os
import time

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api_helpers import busy_input, history_rows, infeasible_input, roster_input
from wfm.domain import ServiceTarget
from wfm.staffing import required_agents

FINISHED = ("succeeded", "failed", "cancelled")


def make_client(tmp_path, **overrides):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", solver_processes=2, max_agents=80,
                        max_templates=3, max_horizon_days=14, max_body_bytes=2_000_000, max_solve_seconds=60,
                        max_intervals=5000, lease_seconds=5, poll_seconds=0.05, **overrides)
    return TestClient(create_app(settings), base_url="http://127.0.0.1")  # a loopback Host, as --no-auth needs


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("api")) as c:
        yield c


@pytest.fixture(scope="module")
def keys(client):
    store = client.app.state.store
    return {"acme": {"X-API-Key": store.create_api_key("acme")},
            "globex": {"X-API-Key": store.create_api_key("globex")}}


def post_json(client, path, model, headers, **kw):
    return client.post(path, content=model.model_dump_json(), headers={**headers, "Content-Type": "application/json"},
                       **kw)


def wait(client, job_id, headers, timeout=60):
    deadline = time.time() + timeout
    while time.time() < deadline:
        view = client.get(f"/v1/jobs/{job_id}", headers=headers).json()
        if view["status"] in FINISHED:
            return view
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} still {view['status']} after {timeout} s")


def test_health_and_readiness(client):
    assert client.get("/healthz").json() == {"status": "ok", "checks": {}}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.json()["checks"] == {"database": "ok", "workers": "ok"}


@pytest.mark.parametrize("headers,reason", [({}, "missing_api_key"), ({"X-API-Key": "wfm_nope"}, "invalid_api_key")])
def test_every_v1_route_needs_a_known_key(client, headers, reason):
    body = {"queues": [{"volume": [10], "aht_seconds": [200]}]}
    for method, path in (("post", "/v1/staffing"), ("get", "/v1/jobs/abc"), ("delete", "/v1/jobs/abc"),
                         ("get", "/v1/rosters/abc"), ("post", "/v1/rosters"), ("post", "/v1/forecasts")):
        res = client.request(method, path, json=body, headers=headers)
        assert res.status_code == 401, (method, path, res.text)
        assert res.json()["error"] == reason


def test_staffing_matches_the_textbook_example_and_the_library(client, keys):
    # 100 calls in 30 min at 180 s, 80% in 20 s: 14 agents (10 Erlangs); 30% shrinkage: 20 rostered.
    body = {"interval_minutes": 30, "target": {"service_level": 0.8, "answer_seconds": 20, "shrinkage": 0.3},
            "queues": [{"queue": "sales", "volume": [100, 0, 250], "aht_seconds": [180, 0, 200],
                        "interval_start": ["2026-03-29T00:30:00+01:00", "2026-03-29T01:00:00+01:00",
                                           "2026-03-29T03:00:00+02:00"], "open": [True, False, True]}]}
    res = client.post("/v1/staffing", json=body, headers=keys["acme"])
    assert res.status_code == 200, res.text
    q = res.json()["queues"][0]
    assert q["agents"][0] == 14 and q["scheduled_agents"][0] == 20 and q["agents"][1] == 0
    target = ServiceTarget(service_level=0.8, answer_seconds=20, shrinkage=0.3)
    lib = required_agents([100, 0, 250], [180, 0, 200], 30, target, open_mask=[True, False, True])
    assert q["agents"] == lib.agents.tolist() and q["scheduled_agents"] == lib.scheduled_agents.tolist()
    assert q["service_level"][0] == pytest.approx(lib.service_level[0]) and q["service_level"][0] >= 0.8
    assert q["interval_start"][2] == "2026-03-29T03:00:00+02:00"  # the DST jump is kept as given
    assert q["model"] == "erlang_c" and q["summary"]["contacts"] == 350


def test_staffing_per_queue_targets_erlang_a_and_back_office(client, keys):
    body = {"target": {"service_level": 0.8, "answer_seconds": 20},
            "queues": [{"queue": "voice", "volume": [100], "aht_seconds": [180]},
                       {"queue": "patient", "volume": [100], "aht_seconds": [180],
                        "target": {"service_level": 0.8, "answer_seconds": 20, "patience_seconds": 60}}]}
    voice, patient = client.post("/v1/staffing", json=body, headers=keys["acme"]).json()["queues"]
    assert patient["model"] == "erlang_a" and patient["abandon_rate"][0] > 0
    assert patient["agents"][0] <= voice["agents"][0]  # callers who hang up need fewer agents, never more
    mail = client.post("/v1/staffing", json={"deadline_minutes": 60, "queues": [
        {"queue": "mail", "volume": [60, 0, 0, 0], "aht_seconds": [300, 0, 0, 0]}]}, headers=keys["acme"]).json()
    # 60 items x 5 min = 5 agent-hours, spread over the two 30-minute intervals before the deadline.
    assert mail["queues"][0]["model"] == "backoffice" and sum(mail["queues"][0]["workload_agents"]) == pytest.approx(10)


@pytest.mark.parametrize("queue,field,text", [
    ({"volume": [1, 2, -1], "aht_seconds": [200] * 3}, "body.queues[0].volume[2]", "greater than or equal to 0"),
    ({"volume": [1, 2], "aht_seconds": [200]}, "body.queues[0]", "aht_seconds has 1 values for 2 volumes"),
    ({"volume": [1, 10], "aht_seconds": [200, 0]}, "body.queues[0].aht_seconds[1]", "must be > 0"),
    ({"volume": [1], "aht_seconds": [200], "target": {"service_level": 1.5}}, "body.queues[0].target",
     "strictly between 0 and 1"),
    ({"volume": [1, 2], "aht_seconds": [9, 9], "interval_start": ["2026-01-01T10:00:00", "2026-01-01T10:30:00"]},
     "body.queues[0].interval_start[0]", "timezone"),
    ({"volume": [], "aht_seconds": []}, "body.queues[0].volume", "at least 1"),
])
def test_staffing_validation_errors_name_the_field(client, keys, queue, field, text):
    res = client.post("/v1/staffing", json={"queues": [queue]}, headers=keys["acme"])
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["error"] == "validation_error"
    hit = [f for f in body["fields"] if f["field"] == field]
    assert hit and text in hit[0]["message"], body
    assert field in body["message"]


def test_malformed_json_and_wrong_types_are_422_not_500(client, keys):
    res = client.post("/v1/staffing", content=b'{"queues": [',
                      headers={**keys["acme"], "Content-Type": "application/json"})
    assert res.status_code == 422 and res.json()["fields"][0]["type"] == "json_invalid"
    res = client.post("/v1/staffing", json={"interval_minutes": 20, "queues": "x"}, headers=keys["acme"])
    assert res.status_code == 422
    assert {f["field"] for f in res.json()["fields"]} == {"body.interval_minutes", "body.queues"}


def test_size_limits_413_for_the_body_422_for_counts(client, keys):
    big = {"queues": [{"volume": [1.0] * 3000, "aht_seconds": [100.0] * 3000}] * 2}
    res = client.post("/v1/staffing", json=big, headers=keys["acme"])
    assert res.status_code == 422 and "WFM_MAX_INTERVALS" in res.json()["message"]
    huge = b'{"queues": [{"volume": [' + b"1," * 1_100_000 + b'1], "aht_seconds": [1]}]}'
    res = client.post("/v1/staffing", content=huge, headers={**keys["acme"], "Content-Type": "application/json"})
    assert res.status_code == 413 and res.json()["error"] == "body_too_large"
    # Without a Content-Length (chunked upload) the limit holds as the bytes arrive.
    res = client.post("/v1/staffing", content=iter([huge[:1_000_000], huge[1_000_000:]]),
                      headers={**keys["acme"], "Content-Type": "application/json"})
    assert res.status_code == 413


def test_roster_limits_are_422_with_the_field(client, keys):
    too_many = roster_input(agents=81)
    res = post_json(client, "/v1/rosters", too_many, keys["acme"])
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.agents"
    assert "at most 80 (WFM_MAX_AGENTS)" in res.json()["message"]
    long = roster_input(days=15)
    fields = {f["field"] for f in post_json(client, "/v1/rosters", long, keys["acme"]).json()["fields"]}
    assert fields == {"body.horizon.days"}
    greedy = roster_input(seconds=61, workers=9)
    fields = {f["field"] for f in post_json(client, "/v1/rosters", greedy, keys["acme"]).json()["fields"]}
    assert fields == {"body.solver.time_limit_seconds", "body.solver.workers"}
    data = json.loads(roster_input().model_dump_json())
    data["agents"] = []
    res = client.post("/v1/rosters", json=data, headers=keys["acme"])
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.agents"
    data = json.loads(roster_input().model_dump_json())
    data["requirements"][0]["agents"] = data["requirements"][0]["agents"][:-1]
    res = client.post("/v1/rosters", json=data, headers=keys["acme"])
    assert res.status_code == 422 and "values for 168 horizon intervals" in res.json()["message"]


def test_roster_job_from_submit_to_json_and_csv(client, keys):
    h = keys["acme"]
    res = post_json(client, "/v1/rosters", roster_input(seconds=3), h)
    assert res.status_code == 202, res.text
    job = res.json()
    assert res.headers["location"] == f"/v1/jobs/{job['id']}" and job["status"] in ("queued", "running")
    view = wait(client, job["id"], h)
    assert view["status"] == "succeeded", view
    assert view["attempts"] == 1 and view["progress"]["objective"] is not None and view["elapsed_seconds"] > 0
    result = client.get(view["links"]["result"], headers=h).json()
    assert result["feasible"] and result["violations"] == []
    # 2 agents needed 9-17 on five weekdays: 80 agent-hours; 8 h shifts with an unpaid hour of lunch.
    on_queue = sum(r["on_queue"] for r in result["coverage"])
    assert on_queue + result["kpis"]["under_hours"] - result["kpis"]["over_hours"] == pytest.approx(80)
    assert len(result["shifts"]) == result["kpis"]["shifts"] == len(result["roster"]["shifts"])
    csv = client.get(f"/v1/rosters/{job['id']}", headers={**h, "Accept": "text/csv"})
    assert csv.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(csv.text))
    assert list(table.columns) == ["agent", "day", "template", "start", "end", "paid_hours", "breaks", "queues"]
    assert len(table) == len(result["shifts"])
    cov = pd.read_csv(io.StringIO(client.get(f"/v1/rosters/{job['id']}?table=coverage",
                                             headers={**h, "Accept": "text/csv"}).text))
    assert {"required", "on_queue", "under", "over"} <= set(cov.columns) and len(cov) == 7 * 24


def test_other_tenants_get_404_exactly_like_a_missing_job(client, keys):
    job = post_json(client, "/v1/rosters", roster_input(seconds=1), keys["acme"]).json()
    for method, path in (("get", f"/v1/jobs/{job['id']}"), ("get", f"/v1/rosters/{job['id']}"),
                         ("delete", f"/v1/jobs/{job['id']}"), ("get", f"/v1/plans/{job['id']}")):
        theirs = client.request(method, path, headers=keys["globex"])
        missing = client.request(method, path.replace(job["id"], "0" * 32), headers=keys["globex"])
        assert theirs.status_code == missing.status_code == 404
        assert theirs.json()["error"] == "not_found"
    assert wait(client, job["id"], keys["acme"])["status"] == "succeeded"  # untouched by globex's DELETE


def test_idempotency_key_returns_the_same_job(client, keys):
    h = {**keys["acme"], "Idempotency-Key": "retry-1"}
    first = post_json(client, "/v1/rosters", roster_input(seconds=1), h)
    again = post_json(client, "/v1/rosters", roster_input(seconds=1), h)
    assert first.status_code == again.status_code == 202
    assert first.json()["id"] == again.json()["id"] and again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = post_json(client, "/v1/rosters", roster_input(seconds=2), h)
    assert other.status_code == 422 and other.json()["error"] == "idempotency_key_reused"
    fresh = post_json(client, "/v1/rosters", roster_input(seconds=1), keys["acme"])
    assert fresh.json()["id"] != first.json()["id"]
    assert post_json(client, "/v1/rosters", roster_input(seconds=1), {**keys["globex"], "Idempotency-Key": "retry-1"}
                     ).json()["id"] != first.json()["id"]  # keys are per tenant
    wait(client, first.json()["id"], keys["acme"])
    wait(client, fresh.json()["id"], keys["acme"])


def test_infeasible_roster_fails_with_the_named_reason(client, keys):
    job = post_json(client, "/v1/rosters", infeasible_input(), keys["acme"]).json()
    view = wait(client, job["id"], keys["acme"])
    assert view["status"] == "failed" and view["error"]["reason"] == "infeasible"
    assert any("solo" in c for c in view["error"]["conflicts"]), view["error"]
    res = client.get(f"/v1/rosters/{job['id']}", headers=keys["acme"])
    assert res.status_code == 409 and res.json()["error"] == "job_failed"
    assert "no roster satisfies the hard rules" in res.json()["message"]


def test_cancel_stops_the_running_solver_process(client, keys):
    h = keys["acme"]
    job = post_json(client, "/v1/rosters", busy_input(agents=40, seconds=50), h).json()
    pid = _worker_pid(client, job["id"])
    time.sleep(0.5)  # the worker is now building the model or solving: either way it must stop
    assert _alive(pid) and client.get(f"/v1/jobs/{job['id']}", headers=h).json()["status"] == "running"
    res = client.delete(f"/v1/jobs/{job['id']}", headers=h)
    assert res.status_code == 202 and res.json()["cancel_requested"]
    view = wait(client, job["id"], h, timeout=10)
    assert view["status"] == "cancelled" and view["error"]["reason"] == "cancelled"
    deadline = time.time() + 5
    while _alive(pid) and time.time() < deadline:
        time.sleep(0.05)
    assert not _alive(pid), "the solver process outlived its cancellation"
    assert client.delete(f"/v1/jobs/{job['id']}", headers=h).status_code == 200
    assert client.get(f"/v1/rosters/{job['id']}", headers=h).json()["error"] == "job_cancelled"


def test_deleting_a_finished_job_is_409(client, keys):
    job = post_json(client, "/v1/rosters", roster_input(seconds=1), keys["acme"]).json()
    wait(client, job["id"], keys["acme"])
    res = client.delete(f"/v1/jobs/{job['id']}", headers=keys["acme"])
    assert res.status_code == 409 and res.json()["error"] == "already_finished"


def test_a_job_over_its_time_limit_is_killed(tmp_path):
    with make_client(tmp_path, job_grace_seconds=0.0) as c:
        h = {"X-API-Key": c.app.state.store.create_api_key("t")}
        # A deterministic limit far past the 0.2-s wall-clock one: the solve overruns on any machine
        # (the solver keeps a wall-clock limit this short by itself now)
        busy = busy_input(agents=40, seconds=0.2)
        busy = busy.model_copy(update={"solver": busy.solver.model_copy(update={"deterministic_limit": 60.0})})
        job = post_json(c, "/v1/rosters", busy, h).json()
        view = wait(c, job["id"], h, timeout=20)
        assert view["status"] == "failed" and view["error"]["reason"] == "time_limit_exceeded", view
        pid = c.app.state.store.get(job["id"]).worker_pid
        time.sleep(0.5)
        assert pid is None or not _alive(pid)


def test_forecast_from_json_rows_and_from_an_upload(client, keys):
    rows = history_rows(weeks=4)
    body = {"timezone": "Europe/Berlin", "interval_minutes": 60, "days": 7, "history": rows}
    res = client.post("/v1/forecasts", json=body, headers=keys["acme"])
    assert res.status_code == 200, res.text
    fc = res.json()
    # History ends Friday 2026-03-27; the forecast week starts the next day and holds the 23-hour DST day.
    assert fc["first_day"] == "2026-03-28" and len(fc["intervals"]) == 7 * 24 - 1
    intervals = pd.DataFrame(fc["intervals"])
    daily = intervals.assign(day=intervals["interval_start"].str[:10]).groupby("day")["volume"].sum()
    # Mondays busier; Saturdays closed
    assert daily["2026-03-30"] > daily["2026-03-31"] > 0 and daily["2026-03-28"] == 0
    assert fc["ingest"]["rows_read"] == len(rows) and {s["model"] for s in fc["backtest"]} >= {"seasonal_naive"}
    csv = pd.DataFrame(rows).to_csv(index=False).encode()
    up = client.post("/v1/forecasts", files={"file": ("tickets.csv", csv, "text/csv")},
                     data={"timezone": "Europe/Berlin", "interval_minutes": "60", "days": "7"}, headers=keys["acme"])
    assert up.status_code == 200, up.text
    assert [r["volume"] for r in up.json()["intervals"]] == pytest.approx([r["volume"] for r in fc["intervals"]])


@pytest.mark.parametrize("model", ["level_profile", "ensemble"])
def test_forecast_with_a_named_model(client, keys, model):
    body = {"timezone": "Europe/Berlin", "interval_minutes": 60, "days": 2, "folds": 1, "model": model,
            "history": history_rows(weeks=4)}
    res = client.post("/v1/forecasts", json=body, headers=keys["acme"])
    assert res.status_code == 200, res.text
    assert set(res.json()["chosen_models"].values()) == {model}
    assert {s["model"] for s in res.json()["backtest"]} == {model}


def test_forecast_bad_input_is_422_with_a_reason(client, keys):
    h = keys["acme"]
    res = client.post("/v1/forecasts", json={"timezone": "Mars/Olympus", "history": [{"created_at": "x"}]}, headers=h)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.timezone"
    res = client.post("/v1/forecasts", json={"timezone": "UTC", "history": [{"created_at": "yesterday"}]}, headers=h)
    assert res.status_code == 422 and res.json()["error"] == "invalid_history" and "line 2" in res.json()["message"]
    res = client.post("/v1/forecasts", json={"timezone": "UTC", "history": history_rows(weeks=1)[:50]}, headers=h)
    assert res.status_code == 422 and "7 full days" in res.json()["message"]
    res = client.post("/v1/forecasts", data={"timezone": "UTC"}, files={"other": ("x.csv", b"a")}, headers=h)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.file"
    res = client.post("/v1/forecasts", content=b"a,b", headers={**h, "Content-Type": "text/plain"})
    assert res.status_code == 415
    # A part with no headers (schemathesis found it): the framework's own answer is a 400 the schema does not list.
    boundary = "7c5156fb04a2177cf9e322ad31ebde44"
    res = client.post("/v1/forecasts", content=f"--{boundary}\r\nNone--{boundary}--\r\n".encode(),
                      headers={**h, "Content-Type": f"multipart/form-data; boundary={boundary}"})
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body", res.text


def test_plan_runs_forecast_staffing_and_roster_in_one_job(client, keys):
    h = keys["acme"]
    setup = json.loads(roster_input(agents=4, seconds=3).model_dump_json())
    body = {"history": history_rows(weeks=4), "forecast": {"timezone": "Europe/Berlin", "interval_minutes": 60},
            "targets": {"billing": {"service_level": 0.8, "answer_seconds": 20}},
            **{k: setup[k] for k in ("templates", "solver")},
            "agents": [{"id": f"a{k}", "skills": ["billing"]} for k in range(4)]}
    res = client.post("/v1/plans", json=body, headers=h)
    assert res.status_code == 202, res.text
    view = wait(client, res.json()["id"], h)
    assert view["status"] == "succeeded", view
    plan = client.get(f"/v1/plans/{view['id']}", headers=h).json()
    assert plan["forecast"]["first_day"] == "2026-03-28"
    req = pd.DataFrame(plan["requirements"])
    assert len(req) == len(plan["forecast"]["intervals"]) and (req["agents"] >= 0).all() and req["agents"].max() > 0
    assert plan["roster"]["feasible"] and plan["roster"]["kpis"]["shifts"] > 0
    assert client.get(f"/v1/rosters/{view['id']}", headers=h).json()["kpis"] == plan["roster"]["kpis"]
    csv = client.get(f"/v1/plans/{view['id']}?table=requirements", headers={**h, "Accept": "text/csv"})
    assert len(pd.read_csv(io.StringIO(csv.text))) == len(req)
    res = client.post("/v1/plans", json={**body, "targets": {}}, headers=h)
    assert res.status_code == 422 and "default_target" in res.json()["message"]
    res = client.post("/v1/plans", json={**body, "forecast": {**body["forecast"], "days": 15}}, headers=h)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.forecast.days"


def test_plan_job_names_the_step_and_the_row_of_bad_input(client, keys):
    h = keys["acme"]
    setup = json.loads(roster_input(agents=2, seconds=2).model_dump_json())
    rows = history_rows(weeks=4)
    rows[3]["created_at"] = "yesterday-ish"
    body = {"history": rows, "forecast": {"timezone": "Europe/Berlin", "interval_minutes": 60},
            "targets": {"billing": {}}, "templates": setup["templates"], "solver": setup["solver"],
            "agents": [{"id": "a0", "skills": ["billing"]}]}
    view = wait(client, client.post("/v1/plans", json=body, headers=h).json()["id"], h)
    error = view["error"]
    assert view["status"] == "failed" and error["reason"] == "invalid_history", view
    assert error["line"] == 5 and "yesterday-ish" in error["message"] and "/tmp" not in error["message"]
    # a target for another queue only: the forecast's queue has none
    body = {**body, "history": history_rows(weeks=4), "targets": {"sales": {}},
            "agents": [{"id": "a0", "skills": ["sales"]}]}
    view = wait(client, client.post("/v1/plans", json=body, headers=h).json()["id"], h)
    assert view["error"]["reason"] == "invalid_targets" and "'billing'" in view["error"]["message"], view
    res = client.post("/v1/plans", json={**body, "simulation": {"replications": 500}}, headers=h)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.simulation.replications", res.text
    assert "WFM_MAX_REPLICATIONS" in res.text


def test_without_auth_every_caller_is_one_local_tenant(tmp_path):
    with make_client(tmp_path, auth=False) as c:
        res = c.post("/v1/staffing", json={"queues": [{"volume": [100], "aht_seconds": [180]}]})
        assert res.status_code == 200 and res.json()["queues"][0]["agents"] == [14]
        job = post_json(c, "/v1/rosters", roster_input(seconds=1), {}).json()
        assert c.get(f"/v1/jobs/{job['id']}").status_code == 200


def test_unknown_paths_and_methods_answer_json(client):
    res = client.get("/v2/nothing")
    assert res.status_code == 404 and res.json()["error"] == "not_found"
    res = client.put("/v1/staffing")
    assert res.status_code == 405 and res.json()["error"] == "method_not_allowed"


def _worker_pid(client, job_id, timeout=20) -> int:
    deadline = time.time() + timeout
    while time.time() < deadline:
        pid = client.app.state.store.get(job_id).worker_pid
        if pid:
            return pid
        time.sleep(0.05)
    raise AssertionError(f"job {job_id} never started a worker")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_jobs_run_the_same_on_postgresql():
    import uuid

    from sqlalchemy import create_engine, text

    from test_api_store import _postgres_or_skip

    url = _postgres_or_skip()
    schema = f"wfm_test_api_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    try:
        settings = Settings(database_url=url, database_schema=schema, poll_seconds=0.05)
        with TestClient(create_app(settings)) as c:
            h = {"X-API-Key": c.app.state.store.create_api_key("pg")}
            assert c.get("/readyz").json()["checks"] == {"database": "ok", "workers": "ok"}
            first = post_json(c, "/v1/rosters", roster_input(seconds=1), {**h, "Idempotency-Key": "pg-1"}).json()
            again = post_json(c, "/v1/rosters", roster_input(seconds=1), {**h, "Idempotency-Key": "pg-1"}).json()
            assert again["id"] == first["id"]
            assert wait(c, first["id"], h)["status"] == "succeeded"
            assert c.get(f"/v1/rosters/{first['id']}", headers=h).json()["feasible"]
    finally:
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        engine.dispose()


def test_a_workbook_upload_is_read_or_refused_by_its_bytes(client, keys):
    import openpyxl

    rows = history_rows(weeks=4)
    form = {"timezone": "Europe/Berlin", "interval_minutes": "60", "days": "7"}
    csv = pd.DataFrame(rows).to_csv(index=False).encode()
    book = openpyxl.Workbook()
    frame = pd.DataFrame(rows)
    book.active.append(list(frame.columns))
    for row in frame.itertuples(index=False):
        book.active.append([None if v is None or v != v else v for v in row])
    xlsx = io.BytesIO()
    book.save(xlsx)
    as_csv = client.post("/v1/forecasts", files={"file": ("t.csv", csv, "text/csv")}, data=form, headers=keys["acme"])
    for name in ("tickets.xlsx", "tickets.csv"):   # a workbook renamed .csv is still a workbook
        up = client.post("/v1/forecasts", files={"file": (name, xlsx.getvalue(), "application/octet-stream")},
                         data=form, headers=keys["acme"])
        assert up.status_code == 200, up.text
        assert up.json()["intervals"] == as_csv.json()["intervals"]
    xls = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(4096)
    res = client.post("/v1/forecasts", files={"file": ("tickets.csv", xls, "text/csv")}, data=form,
                      headers=keys["acme"])
    assert res.status_code == 422 and "this looks like an Excel workbook" in res.json()["message"]
    assert "save it as CSV" in res.json()["message"]
