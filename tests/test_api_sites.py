"""The site registry: storage on SQLite and PostgreSQL (ETags, concurrent writers, tenants,
all-or-nothing bulk writes, the audit log), JSON merge patch against RFC 7396's own examples,
and the HTTP resources (If-Match rules, the CSV import, another tenant's site as a 404)."""

import threading

import pytest
from fastapi.testclient import TestClient
from hypothesis import given, strategies as st

from api.app import create_app
from api.settings import Settings
from api.sites import Invalid, NotFound, PreconditionFailed, Registry, merge_patch
from api.store import api_keys
from test_api_store import store  # noqa: F401  (the store on SQLite and on PostgreSQL)

BERLIN = {"id": "ber", "name": "Berlin", "timezone": "Europe/Berlin", "interval_minutes": 15}
DAY = {"id": "D", "start_times": ["08:00"], "length_minutes": 480}


@pytest.fixture
def registry(store):  # noqa: F811
    reg = Registry(store.engine)
    reg.create_site("acme", dict(BERLIN), "k1")
    return reg


# --- storage, on both databases ----------------------------------------------------------------

def test_a_stale_etag_is_refused_and_changes_nothing(registry):
    first = registry.get_site("acme", "ber")
    renamed = registry.replace_site("acme", "ber", {**BERLIN, "name": "Berlin Mitte"}, first.etag, "k1")
    assert renamed.etag != first.etag
    with pytest.raises(PreconditionFailed) as stale:
        registry.replace_site("acme", "ber", {**BERLIN, "name": "Berlin Nord"}, first.etag, "k2")
    assert stale.value.current == renamed.etag
    assert registry.get_site("acme", "ber").body["name"] == "Berlin Mitte"


def test_of_writers_holding_the_same_etag_exactly_one_wins(registry):
    registry.upsert_items("acme", "ber", "agents", [{"id": "a1", "skills": ["q"]}], None, "k1")
    etag = registry.get_item("acme", "ber", "agents", "a1").etag
    outcomes = []

    def write(hours: int) -> None:
        try:
            registry.patch_item("acme", "ber", "agents", "a1", {"contract": {"max_hours": hours}}, etag, f"k{hours}")
            outcomes.append(("won", hours))
        except PreconditionFailed:
            outcomes.append(("stale", hours))

    threads = [threading.Thread(target=write, args=(20 + k,)) for k in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    winners = [hours for outcome, hours in outcomes if outcome == "won"]
    assert len(outcomes) == 6 and len(winners) == 1
    assert registry.get_item("acme", "ber", "agents", "a1").body["contract"]["max_hours"] == winners[0]
    patches = [e for e in registry.audit_log("acme", "ber") if e["action"] == "patch"]
    assert [e["key_id"] for e in patches] == [f"k{winners[0]}"]


def test_another_tenant_sees_no_site_and_cannot_touch_it(registry):
    for attempt in (lambda: registry.get_site("globex", "ber"),
                    lambda: registry.list_items("globex", "ber", "agents"),
                    lambda: registry.replace_site("globex", "ber", dict(BERLIN), None, "k9"),
                    lambda: registry.upsert_items("globex", "ber", "agents", [{"id": "x", "skills": ["q"]}], None,
                                                  "k9"),
                    lambda: registry.delete_site("globex", "ber", None, "k9"),
                    lambda: registry.audit_log("globex", "ber")):
        with pytest.raises(NotFound):
            attempt()
    assert registry.list_sites("globex") == []
    registry.create_site("globex", dict(BERLIN), "k9")  # the same id is free in another tenant
    assert registry.list_items("acme", "ber", "agents")[0] == []


def test_a_bulk_write_with_one_bad_agent_writes_none(registry):
    good = [{"id": f"a{k}", "skills": ["q"]} for k in range(3)]
    with pytest.raises(Invalid) as bad:
        registry.upsert_items("acme", "ber", "agents", good + [{"id": "a9", "skills": []}], None, "k1")
    assert [f["field"] for f in bad.value.fields] == ["[3].skills"]
    with pytest.raises(Invalid) as caps:  # a cap on a template the site does not have
        registry.upsert_items("acme", "ber", "agents", good + [
            {"id": "a9", "skills": ["q"], "contract": {"template_caps": {"N": 2}}}], None, "k1")
    assert "no template 'N'" in caps.value.fields[0]["message"]
    assert registry.list_items("acme", "ber", "agents")[0] == []
    assert [e["action"] for e in registry.audit_log("acme", "ber")] == ["create"]


def test_a_sync_that_changes_nothing_keeps_every_etag(registry):
    agents = [{"id": f"a{k}", "skills": ["q"], "cost_per_hour": 20.0 + k} for k in range(4)]
    first = registry.upsert_items("acme", "ber", "agents", agents, None, "k1")
    again = registry.upsert_items("acme", "ber", "agents", agents, first["etag"], "k1")
    assert first["created"] == ["a0", "a1", "a2", "a3"] and again["unchanged"] == 4 and again["etag"] == first["etag"]
    changed = registry.upsert_items("acme", "ber", "agents", [{**agents[2], "cost_per_hour": 99.0}], None, "k1")
    assert changed["changed"] == ["a2"] and changed["unchanged"] == 0 and changed["etag"] != first["etag"]
    with pytest.raises(PreconditionFailed):  # the collection moved on since `first`
        registry.upsert_items("acme", "ber", "agents", agents, first["etag"], "k1")


def test_deleting_a_site_deletes_its_agents_and_templates(registry):
    registry.put_item("acme", "ber", "templates", "D", dict(DAY), None, "k1", must_exist=False)
    registry.upsert_items("acme", "ber", "agents", [{"id": "a1", "skills": ["q"]}], None, "k1")
    registry.delete_site("acme", "ber", registry.get_site("acme", "ber").etag, "k1")
    registry.create_site("acme", dict(BERLIN), "k1")
    assert registry.list_items("acme", "ber", "agents")[0] == []
    assert registry.list_items("acme", "ber", "templates")[0] == []


# --- JSON merge patch: RFC 7396, Appendix A ---------------------------------------------------------

RFC7396_EXAMPLES = [
    ({"a": "b"}, {"a": "c"}, {"a": "c"}),
    ({"a": "b"}, {"b": "c"}, {"a": "b", "b": "c"}),
    ({"a": "b"}, {"a": None}, {}),
    ({"a": "b", "b": "c"}, {"a": None}, {"b": "c"}),
    ({"a": ["b"]}, {"a": "c"}, {"a": "c"}),
    ({"a": "c"}, {"a": ["b"]}, {"a": ["b"]}),
    ({"a": {"b": "c"}}, {"a": {"b": "d", "c": None}}, {"a": {"b": "d"}}),
    ({"a": [{"b": "c"}]}, {"a": [1]}, {"a": [1]}),
    (["a", "b"], ["c", "d"], ["c", "d"]),
    ({"a": "b"}, ["c"], ["c"]),
    ({"a": "foo"}, None, None),
    ({"a": "foo"}, "bar", "bar"),
    ({"e": None}, {"a": 1}, {"e": None, "a": 1}),
    ([1, 2], {"a": "b", "c": None}, {"a": "b"}),
    ({}, {"a": {"bb": {"ccc": None}}}, {"a": {"bb": {}}}),
]


@pytest.mark.parametrize("target,patch,result", RFC7396_EXAMPLES)
def test_merge_patch_gives_the_rfc_results(target, patch, result):
    assert merge_patch(target, patch) == result


json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.text(max_size=3),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=2), inner,
                                                                                       max_size=3), max_leaves=10)


@given(st.dictionaries(st.text(max_size=2), json_values, max_size=4),
       st.dictionaries(st.text(max_size=2), json_values, max_size=4))
def test_a_patch_sets_what_it_names_and_keeps_the_rest(target, patch):
    merged = merge_patch(target, patch)
    for key, value in patch.items():
        if value is None:
            assert key not in merged
        elif not isinstance(value, dict):
            assert merged[key] == value
    for key in set(target) - set(patch):
        assert merged[key] == target[key]


# --- over HTTP -------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def app_client(tmp_path_factory):
    database = tmp_path_factory.mktemp("sites") / "jobs.db"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{database}"))) as client:
        yield client


@pytest.fixture
def http(app_client, request):
    """A client with a fresh tenant's key, and a site of its own (id unique to the test)."""
    key = app_client.app.state.store.create_api_key(f"t-{request.node.name}"[:200])
    headers = {"X-API-Key": key}
    answer = app_client.post("/v1/sites", json=BERLIN, headers=headers)
    assert answer.status_code == 201, answer.text
    return app_client, headers


def _staff_csv(rows: int) -> bytes:
    lines = ["id,skills,min_hours,max_hours,cost_per_hour,unavailable_days"]
    lines += [f"e{k:03d},billing;tech,{20 + k % 5},{30 + k % 10},{18 + k * 0.5},"
              + ("2026-03-28..2026-03-30" if k % 7 == 0 else "") for k in range(rows)]
    return ("\n".join(lines) + "\n").encode()


def test_a_site_is_created_read_replaced_patched_and_deleted_with_etags(http):
    client, headers = http
    read = client.get("/v1/sites/ber", headers=headers)
    assert read.status_code == 200 and read.json() == {**BERLIN, "queues": []}
    etag = read.headers["etag"]
    assert client.put("/v1/sites/ber", json={**BERLIN, "name": "B"}, headers=headers).status_code == 428
    queues = [{"id": "billing", "target": {"service_level": 0.8, "answer_seconds": 20}}]
    put = client.put("/v1/sites/ber", json={**BERLIN, "queues": queues}, headers={**headers, "If-Match": etag})
    assert put.status_code == 200 and put.json()["queues"][0]["target"]["service_level"] == 0.8
    stale = client.patch("/v1/sites/ber", json={"name": "Berlin 2"}, headers={**headers, "If-Match": etag})
    assert stale.status_code == 412 and stale.json()["etag"] == put.headers["etag"]
    patched = client.patch("/v1/sites/ber", json={"name": "Berlin 2", "queues": None},
                           headers={**headers, "If-Match": put.headers["etag"]})
    assert patched.status_code == 200 and patched.json() == {**BERLIN, "name": "Berlin 2", "queues": []}
    bad = client.patch("/v1/sites/ber", json={"timezone": "Mars/Olympus"},
                       headers={**headers, "If-Match": patched.headers["etag"]})
    assert bad.status_code == 422 and bad.json()["fields"][0]["field"] == "body.timezone"
    assert client.delete("/v1/sites/ber", headers=headers).status_code == 428
    gone = client.delete("/v1/sites/ber", headers={**headers, "If-Match": patched.headers["etag"]})
    assert gone.status_code == 204 and client.get("/v1/sites/ber", headers=headers).status_code == 404


def test_a_site_needs_a_real_timezone_and_a_whole_number_of_intervals_an_hour(http):
    client, headers = http
    for field, value in (("timezone", "CET+1"), ("interval_minutes", 7), ("interval_minutes", "15"), ("id", "a/b")):
        answer = client.post("/v1/sites", json={**BERLIN, "id": "x1", field: value}, headers=headers)
        assert answer.status_code == 422 and answer.json()["fields"][0]["field"] == f"body.{field}", (field, value)
    assert client.post("/v1/sites", json=BERLIN, headers=headers).status_code == 409
    assert client.post("/v1/sites", json={**BERLIN, "id": "x2", "rules": {"min_rest_hours": -1}},
                       headers=headers).json()["fields"][0]["field"] == "body.rules.min_rest_hours"


def test_agents_templates_rules_and_weights_follow_the_same_rules(http):
    client, headers = http
    created = client.put("/v1/sites/ber/templates/D", json=DAY, headers=headers)
    assert created.status_code == 201 and created.headers["location"] == "/v1/sites/ber/templates/D"
    assert client.put("/v1/sites/ber/templates/D", json=DAY, headers=headers).status_code == 428
    assert client.put("/v1/sites/ber/templates/E", json=DAY, headers=headers).json()["fields"][0]["field"] == "body.id"
    upsert = client.post("/v1/sites/ber/agents", headers=headers, json=[
        {"id": "a1", "skills": ["billing"], "contract": {"template_caps": {"D": 3}}},
        {"id": "a2", "skills": ["billing"]}])
    assert upsert.status_code == 200 and upsert.json()["created"] == ["a1", "a2"]
    listed = client.get("/v1/sites/ber/agents", headers=headers)
    assert [a["id"] for a in listed.json()] == ["a1", "a2"] and listed.headers["etag"] == upsert.headers["etag"]
    in_use = client.delete("/v1/sites/ber/templates/D", headers={**headers, "If-Match": created.headers["etag"]})
    assert in_use.status_code == 409 and "a1" in in_use.json()["message"]
    unknown = client.patch("/v1/sites/ber/agents/a2", json={"contract": {"shifts": 3}},
                           headers={**headers, "If-Match": client.get("/v1/sites/ber/agents/a2",
                                                                      headers=headers).headers["etag"]})
    assert unknown.status_code == 422 and unknown.json()["fields"][0]["field"] == "body.contract.shifts"
    rules = client.get("/v1/sites/ber/rules", headers=headers)
    assert rules.json()["min_rest_hours"] == 11
    changed = client.patch("/v1/sites/ber/rules", json={"min_rest_hours": 12},
                           headers={**headers, "If-Match": rules.headers["etag"]})
    assert changed.status_code == 200 and changed.json()["min_rest_hours"] == 12
    weights = client.get("/v1/sites/ber/weights", headers=headers)
    over = client.put("/v1/sites/ber/weights", json={"under": 2_000_000},
                      headers={**headers, "If-Match": weights.headers["etag"]})
    assert over.status_code == 422 and over.json()["fields"][0]["field"] == "body.under"


def test_a_staff_list_import_is_all_or_nothing_and_names_the_bad_cell(http):
    client, headers = http
    imported = client.post("/v1/sites/ber/agents/import", content=_staff_csv(30), headers=headers)
    assert imported.status_code == 200, imported.text
    assert len(imported.json()["created"]) == 30
    agents = client.get("/v1/sites/ber/agents", headers=headers)
    assert len(agents.json()) == 30 and agents.json()[7]["unavailable_days"] == ["2026-03-28", "2026-03-29",
                                                                                 "2026-03-30"]
    audit_before = client.get("/v1/sites/ber/audit", headers=headers).json()["entries"]
    rows = _staff_csv(30).decode().splitlines()
    rows[12] = rows[12].replace(",31,", ",many,")  # line 13 of the file, column max_hours
    bad = client.post("/v1/sites/ber/agents/import", content=("\n".join(rows) + "\n").encode(), headers=headers)
    assert bad.status_code == 422
    assert bad.json()["fields"] == [{"field": "body", "line": 13, "column": "max_hours", "value": "many",
                                     "message": "not a number", "type": "csv"}]
    after = client.get("/v1/sites/ber/agents", headers=headers)
    assert after.json() == agents.json() and after.headers["etag"] == agents.headers["etag"]
    assert client.get("/v1/sites/ber/audit", headers=headers).json()["entries"] == audit_before
    slash = client.post("/v1/sites/ber/agents/import", content=b"id,skills\nok,q\nx/y,q\n", headers=headers)
    assert slash.status_code == 422 and slash.json()["fields"][0]["line"] == 3
    smaller = client.post("/v1/sites/ber/agents/import", content=_staff_csv(28), headers=headers)
    assert smaller.json()["deleted"] == ["e028", "e029"] and smaller.json()["unchanged"] == 28


def test_the_audit_log_names_the_key_that_made_each_change(http):
    client, headers = http
    with client.app.state.store.engine.connect() as conn:
        key_ids = {r.tenant: r.id for r in conn.execute(api_keys.select())}
    tenant = next(t for t in key_ids if t.startswith("t-test_the_audit_log"))
    client.put("/v1/sites/ber/templates/D", json=DAY, headers=headers)
    entries = client.get("/v1/sites/ber/audit", headers=headers).json()["entries"]
    assert [(e["action"], e["resource"]) for e in entries] == [("create", "sites/ber"),
                                                               ("create", "sites/ber/templates/D")]
    assert {e["key_id"] for e in entries} == {key_ids[tenant]}
    page = client.get(f"/v1/sites/ber/audit?after={entries[0]['seq']}", headers=headers).json()
    assert [e["seq"] for e in page["entries"]] == [entries[1]["seq"]] and page["next_after"] == entries[1]["seq"]


def test_every_site_resource_of_another_tenant_is_a_404(http):
    client, headers = http
    client.put("/v1/sites/ber/templates/D", json=DAY, headers=headers)
    client.post("/v1/sites/ber/agents", json=[{"id": "a1", "skills": ["q"]}], headers=headers)
    other = {"X-API-Key": client.app.state.store.create_api_key("intruder"), "If-Match": "*"}
    bodies = {"/v1/sites/ber": BERLIN, "/v1/sites/ber/agents": [{"id": "a1", "skills": ["q"]}],
              "/v1/sites/ber/agents/{agent_id}": {"id": "a1", "skills": ["q"]},
              "/v1/sites/ber/templates": [DAY], "/v1/sites/ber/templates/{template_id}": DAY,
              "/v1/sites/ber/rules": {}, "/v1/sites/ber/weights": {}, "/v1/sites/ber/schedules": {"job_id": "x"},
              "/v1/sites/ber/requests": {"type": "time_off", "agent": "a1", "first_day": "2026-03-02",
                                         "last_day": "2026-03-02"},
              "/v1/sites/ber/requests/{request_id}/deny": {"reason": "no"}}
    tried = 0
    for path, operations in client.app.openapi()["paths"].items():
        if not path.startswith("/v1/sites/{site_id}"):
            continue
        concrete = path.replace("{site_id}", "ber")
        for method in (m.upper() for m in operations):
            url = concrete.replace("{agent_id}", "a1").replace("{template_id}", "D").replace("{version}", "1") \
                .replace("{request_id}", "r" * 32)
            body = bodies.get(concrete, {}) if method in ("PUT", "PATCH", "POST") else None
            if url.endswith("/import"):
                answer = client.post(url, content=b"id,skills\na1,q\n", headers=other)
            else:
                answer = client.request(method, url, json=body, headers=other)
            assert answer.status_code == 404, (method, url, answer.text)
            tried += 1
    assert tried >= 26
    assert client.get("/v1/sites/ber/agents", headers=headers).json()[0]["id"] == "a1"


def test_a_plan_of_a_site_that_cannot_plan_names_what_is_missing_and_queues_nothing(http):
    client, headers = http
    assert client.patch("/v1/sites/ber", json={"interval_minutes": 20}, headers={
        **headers, "If-Match": client.get("/v1/sites/ber", headers=headers).headers["etag"]}).status_code == 200
    rows = [{"interval_start": "2026-03-02T09:00:00+01:00", "volume": 5, "aht_seconds": 200}]
    answer = client.post("/v1/sites/ber/plans", json={"forecast_rows": rows}, headers=headers)
    assert answer.status_code == 422
    assert [f["field"] for f in answer.json()["fields"]] == ["site.interval_minutes", "site.agents",
                                                             "site.templates", "body.default_target"]
    both = client.post("/v1/sites/ber/plans", json={"forecast_rows": rows, "history": [{"a": 1}]}, headers=headers)
    assert both.status_code == 422 and "either history" in both.json()["message"]
    assert client.post("/v1/sites/ber/plans", json={"forecast": {"timezone": "UTC"}}, headers=headers) \
        .json()["fields"][0]["field"] == "body.forecast.timezone"  # the site's, not the body's
    assert client.get("/v1/jobs", headers=headers).json()["jobs"] == []
    assert client.post("/v1/sites/ber/requests", headers=headers, json={
        "type": "time_off", "agent": "a1", "first_day": "2026-03-02", "last_day": "2026-03-01"}).status_code == 422
    no_schedule = client.post("/v1/sites/ber/requests", headers=headers, json={
        "type": "time_off", "agent": "a1", "first_day": "2026-03-02", "last_day": "2026-03-02"})
    assert no_schedule.status_code == 404 and "no published schedule" in no_schedule.json()["message"]


def test_a_plan_takes_a_history_or_a_forecast_never_both_nor_neither(http):
    client, headers = http
    body = {"forecast": {"timezone": "Europe/Berlin"}, "default_target": {}, "templates": [DAY],
            "agents": [{"id": "a1", "skills": ["q"]}]}
    rows = [{"interval_start": "2026-03-02T09:00:00+01:00", "queue": "q", "volume": 5, "aht_seconds": 200}]
    for extra in ({}, {"history": [{"created_at": "2026-03-02T09:00:00+01:00"}], "forecast_rows": rows}):
        answer = client.post("/v1/plans", json={**body, **extra}, headers=headers)
        assert answer.status_code == 422 and "either history" in answer.json()["message"], answer.text


def test_a_client_cannot_claim_a_plan_came_from_a_stored_site(http):
    client, headers = http
    body = {"forecast": {"timezone": "Europe/Berlin"}, "default_target": {}, "templates": [DAY],
            "agents": [{"id": "a1", "skills": ["q"]}],
            "forecast_rows": [{"interval_start": "2026-03-02T09:00:00+01:00", "queue": "q", "volume": 5,
                               "aht_seconds": 200}],
            "site": {"id": "ber", "etag": "x", "agents_etag": "y", "taken_at": "2026-03-01T00:00:00Z"}}
    answer = client.post("/v1/plans", json=body, headers=headers)
    assert answer.status_code == 422, answer.text
    assert [f["field"] for f in answer.json()["fields"]] == ["body.site"]
