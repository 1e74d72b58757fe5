"""GET /v1/jobs lists a tenant's own jobs a page at a time; a tenant past its quota of active jobs
gets a 429 before a job exists."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from api_helpers import roster_input


@pytest.fixture
def client(tmp_path):
    # no solver process takes jobs here: they stay queued, as behind a busy service
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", solver_processes=0, max_jobs_per_tenant=4)
    with TestClient(create_app(settings)) as c:
        yield c


def submit(client, key):
    return client.post("/v1/rosters", content=roster_input(seconds=1).model_dump_json(),
                       headers={"X-API-Key": key, "Content-Type": "application/json"})


def test_a_tenant_sees_its_own_jobs_newest_first_a_page_at_a_time(client):
    store = client.app.state.store
    acme, globex = store.create_api_key("acme"), store.create_api_key("globex")
    made = [submit(client, acme).json()["id"] for _ in range(3)]
    submit(client, globex)
    first = client.get("/v1/jobs?limit=2", headers={"X-API-Key": acme}).json()
    assert [j["id"] for j in first["jobs"]] == made[::-1][:2] and first["next"]
    rest = client.get(first["next"], headers={"X-API-Key": acme}).json()
    assert [j["id"] for j in rest["jobs"]] == made[:1] and rest["next"] is None
    assert client.get("/v1/jobs?status=succeeded", headers={"X-API-Key": acme}).json()["jobs"] == []
    assert len(client.get("/v1/jobs?kind=roster", headers={"X-API-Key": globex}).json()["jobs"]) == 1


@pytest.mark.parametrize("query", ["limit=0", "limit=101", "kind=nope", "status=done", "limit=x"])
def test_bad_list_parameters_are_422_naming_them(client, query):
    key = client.app.state.store.create_api_key("acme")
    res = client.get(f"/v1/jobs?{query}", headers={"X-API-Key": key})
    assert res.status_code == 422 and res.json()["fields"][0]["field"].startswith("query."), res.text


def test_a_tenant_past_its_quota_gets_429_and_another_tenant_does_not(client):
    store = client.app.state.store
    acme, globex = store.create_api_key("acme"), store.create_api_key("globex")
    assert all(submit(client, acme).status_code == 202 for _ in range(4))
    res = submit(client, acme)
    assert res.status_code == 429 and res.json()["error"] == "too_many_jobs", res.text
    assert "WFM_MAX_JOBS_PER_TENANT=4" in res.json()["message"]
    assert len(client.get("/v1/jobs?limit=100", headers={"X-API-Key": acme}).json()["jobs"]) == 4
    assert submit(client, globex).status_code == 202


def test_a_roster_too_large_to_build_is_refused_before_a_job_exists(tmp_path):
    # 3 agents x (7 days x 2 starts) = 42 pairs: over a limit of 40, within one of 42
    for limit, expected in ((40, 422), (42, 202)):
        settings = Settings(database_url=f"sqlite:///{tmp_path / f'{limit}.db'}", solver_processes=0,
                            max_option_pairs=limit)
        with TestClient(create_app(settings)) as c:
            res = submit(c, c.app.state.store.create_api_key("acme"))
            assert res.status_code == expected, res.text
            if expected == 422:
                [field] = res.json()["fields"]
                assert field["field"] == "body.agents" and "= 42 pairs" in field["message"]
                assert c.get("/v1/jobs", headers={"X-API-Key": c.app.state.store.create_api_key("acme")}
                             ).json()["jobs"] == []


def test_a_plan_whose_roster_is_too_large_is_refused_before_a_job_exists(tmp_path):
    settings = Settings(database_url=f"sqlite:///{tmp_path / 'plan.db'}", solver_processes=0, max_option_pairs=1000)
    with TestClient(create_app(settings)) as c:
        key = {"X-API-Key": c.app.state.store.create_api_key("acme")}
        body = c.get("/ui/sample-plan").json()  # the sample site: 30 agents, a week of 30-minute starts
        res = c.post("/v1/plans", json=body, headers=key)
        assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.agents", res.text
        assert c.get("/v1/jobs", headers=key).json()["jobs"] == []
