"""Unknown fields in a request body are refused (422 naming the field) on every route, at the
top level and inside nested objects: a misspelt option must never fall back silently to its
default. Free-form maps (history rows, per-queue targets, special days) keep their own keys."""

import json

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.settings import Settings
from api_helpers import history_rows, roster_input

WRITES = ("post", "put", "patch")


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    db = tmp_path_factory.mktemp("unknown-fields") / "jobs.db"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{db}", max_body_bytes=2_000_000)),
                    base_url="http://127.0.0.1") as c:
        c.headers["X-API-Key"] = c.app.state.store.create_api_key("acme")
        yield c


def open_objects(spec: dict, schema: dict, where: str, seen: set, found: list) -> None:
    """Every object schema with named properties reachable from `schema` that admits other keys."""
    if isinstance(schema, list):
        for item in schema:
            open_objects(spec, item, where, seen, found)
        return
    if not isinstance(schema, dict):
        return
    if "$ref" in schema:
        name = schema["$ref"].rsplit("/", 1)[-1]
        if name not in seen:
            seen.add(name)
            open_objects(spec, spec["components"]["schemas"][name], name, seen, found)
        return
    if schema.get("type") == "object" and "properties" in schema and schema.get("additionalProperties") is not False:
        found.append(where)
    for key, value in schema.items():
        open_objects(spec, value, f"{where}.{key}", seen, found)


def test_every_json_request_schema_is_closed(client):
    spec = client.get("/openapi.json").json()
    bodies = 0
    for path, operations in spec["paths"].items():
        for method, operation in operations.items():
            content = operation.get("requestBody", {}).get("content", {}) if method in WRITES else {}
            for kind, media in content.items():
                if kind.endswith("json"):
                    bodies += 1
                    found = []
                    open_objects(spec, media["schema"], path, set(), found)
                    assert not found, f"{method.upper()} {path}: objects that accept unknown fields: {found}"
    assert bodies >= 10  # the walk saw the routes (staffing, forecasts, rosters, plans, sites, ...)


def every_property_name(client) -> set[str]:
    names = set()

    def collect(node):
        if isinstance(node, dict):
            names.update(node.get("properties", {}))
            for value in node.values():
                collect(value)
        elif isinstance(node, list):
            for value in node:
                collect(value)

    collect(client.get("/openapi.json").json())
    return names


def roster_body() -> dict:
    return json.loads(roster_input(agents=2, seconds=1, days=1).model_dump_json())


def plan_body() -> dict:
    setup = roster_body()
    return {"history": history_rows(weeks=2), "forecast": {"timezone": "Europe/Berlin"},
            "default_target": {"service_level": 0.8, "answer_seconds": 20},
            "templates": setup["templates"], "agents": setup["agents"], "solver": {"time_limit_seconds": 1}}


def scenario_body() -> dict:
    return {"base": {"timezone": "Europe/Berlin", "interval_minutes": 60,
                     "forecast": {"rows": [{"interval_start": "2026-06-01T09:00:00+02:00", "queue": "calls",
                                            "volume": 40, "aht_seconds": 240}]},
                     "queues": {"calls": {"service_level": 0.8, "answer_seconds": 20}}, "simulation": {}},
            "mode": "requirements", "scenarios": [{"name": "busier", "volume": [{"multiplier": 1.15}]}]}


STAFFING = {"queues": [{"queue": "sales", "volume": [10, 20], "aht_seconds": [240, 240]}]}
FORECAST = {"timezone": "UTC", "history": [{"created_at": "2026-03-02T08:00:00Z"}]}
KPIS = {"timezone": "UTC", "history": [{"created_at": "2026-03-02T08:00:00Z", "wait_seconds": 3}]}
SITE = {"id": "berlin", "name": "Berlin", "timezone": "Europe/Berlin", "interval_minutes": 30,
        "queues": [{"id": "calls", "target": {"service_level": 0.8}}]}
WHAT_IF = {"scenarios": [{"name": "busier", "volume_multiplier": 1.1}]}

# (route, a valid body, where the unknown field goes: a path of keys and list indexes)
CASES = [
    ("/v1/staffing", lambda: STAFFING, ()),
    ("/v1/staffing", lambda: STAFFING, ("queues", 0)),
    ("/v1/staffing", lambda: {**STAFFING, "target": {"service_level": 0.8}}, ("target",)),
    ("/v1/forecasts", lambda: FORECAST, ()),
    ("/v1/forecasts", lambda: {**FORECAST, "columns": {"queue": "q"}}, ("columns",)),
    ("/v1/kpis", lambda: KPIS, ()),
    ("/v1/kpis", lambda: {**KPIS, "kpi_columns": {"csat": None}}, ("kpi_columns",)),
    ("/v1/rosters", roster_body, ()),
    ("/v1/rosters", roster_body, ("solver",)),
    ("/v1/rosters", roster_body, ("agents", 1)),
    ("/v1/plans", plan_body, ()),
    ("/v1/plans", plan_body, ("forecast",)),
    ("/v1/plans", lambda: {**plan_body(), "simulation": {"replications": 3}}, ("simulation",)),
    ("/v1/scenarios", scenario_body, ()),
    ("/v1/scenarios", scenario_body, ("base", "simulation")),
    ("/v1/scenarios", scenario_body, ("scenarios", 0, "volume", 0)),
    ("/v1/plans/0123456789abcdef/scenarios", lambda: WHAT_IF, ("scenarios", 0)),
    ("/v1/sites", lambda: SITE, ()),
    ("/v1/sites", lambda: SITE, ("queues", 0, "target")),
]


def with_field(body: dict, where: tuple, name: str) -> dict:
    body = json.loads(json.dumps(body))
    node = body
    for key in where:
        node = node[key]
    node[name] = 1
    return body


def field_path(where: tuple, name: str) -> str:
    return "body" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in (*where, name))


@pytest.mark.parametrize("route, make_body, where", CASES, ids=[f"{c[0]}:{'.'.join(map(str, c[2]))}" for c in CASES])
def test_an_unknown_field_is_a_422_naming_it(client, route, make_body, where):
    known = every_property_name(client)
    body = make_body()

    @settings(max_examples=5, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(st.from_regex(r"[a-zA-Z_][a-zA-Z0-9_]{0,24}", fullmatch=True).filter(lambda n: n not in known))
    def check(name):
        res = client.post(route, json=with_field(body, where, name))
        assert res.status_code == 422, res.text
        fields = res.json()["fields"]
        # the unknown field is the only thing wrong with the body, and the answer says so by its path
        assert [(f["field"], f["type"]) for f in fields] == [(field_path(where, name), "extra_forbidden")], fields
        assert "unknown field" in fields[0]["message"]

    check()


def test_an_unknown_option_on_an_upload_is_a_422_naming_it(client):
    csv = "created_at\n2026-03-02T08:00:00Z\n".encode()
    res = client.post("/v1/forecasts", files={"file": ("h.csv", csv, "text/csv")},
                      data={"timezone": "UTC", "intervals_minutes": "30"})
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.intervals_minutes", res.text


def test_free_form_maps_keep_their_own_keys(client):
    """History rows carry any columns; an extra one is not an unknown field."""
    rows = [{**row, "agent_name": "ana"} for row in history_rows(weeks=2)]
    res = client.post("/v1/forecasts", json={"timezone": "Europe/Berlin", "days": 1, "folds": 1, "history": rows})
    assert res.status_code == 200, res.text
