"""Every number of a roster input is finite, typed and bounded before any work starts: what the
solver would choke on (or a worker would reject after the job was accepted) is a validation error
naming its field, in the library and as a 422 from the API."""

from __future__ import annotations

import json
import math
import re

import pytest
from fastapi.testclient import TestClient
from pydantic import ValidationError

from api.app import create_app
from api.settings import Settings
from api_helpers import roster_input
from wfm.domain import Horizon, ServiceTarget
from wfm.roster.domain import Contract, RosterInput


def body(**changes) -> dict:
    """A valid roster request as JSON, with `changes` set at dotted paths ("solver.seed": 2**70)."""
    data = json.loads(roster_input(agents=2, seconds=2).model_dump_json())
    for path, value in changes.items():
        *parents, last = path.split(".")
        node = data
        for key in parents:
            node = node[int(key)] if key.isdigit() else node[key]
        node[int(last) if last.isdigit() else last] = value
    return data


# (what the API reported as 500 or as an accepted job that failed inside the worker, its field path)
REPRODUCERS = [
    ({"rules.min_rest_hours": 1e308}, "rules.min_rest_hours"),
    ({"solver.seed": 2**70}, "solver.seed"),
    ({"solver.workers": "16"}, "solver.workers"),
    ({"solver.time_limit_seconds": "60"}, "solver.time_limit_seconds"),
    ({"horizon.start": "9999-12-31"}, "horizon.start"),
    ({"horizon.start": "0001-01-01"}, "horizon.start"),
    ({"agents.0.contract.min_hours": 60}, "agents.0.contract"),
    ({"agents.0.contract.min_days": 6}, "agents.0.contract"),
    ({"weights.under": 10**20}, "weights.under"),
    ({"rules.min_rest_hourz": 11}, "rules.min_rest_hourz"),
    ({"surprise": True}, "surprise"),
    ({"templates.0.step_minutes": 0}, "templates.0.step_minutes"),
]


def located(error: ValidationError) -> set[str]:
    return {".".join(str(p) for p in e["loc"]) for e in error.errors()}


@pytest.mark.parametrize("changes, field", REPRODUCERS, ids=[f for _, f in REPRODUCERS])
def test_the_library_refuses_the_value_and_names_its_field(changes, field):
    with pytest.raises(ValidationError) as caught:
        RosterInput.model_validate(body(**changes))
    assert any(loc == field or loc.startswith(field + ".") for loc in located(caught.value)), caught.value


@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_a_requirement_that_is_not_a_finite_count_is_refused(value):
    data = roster_input(agents=2).model_dump()
    data["requirements"][0]["agents"][5] = value
    with pytest.raises(ValidationError) as caught:
        RosterInput.model_validate(data)
    assert "requirements.0.agents.5" in located(caught.value)


def test_the_minimum_above_the_maximum_says_so():
    with pytest.raises(ValidationError, match="min_hours 60 > max_hours 40"):
        Contract(min_hours=60, max_hours=40)


def test_a_misspelt_service_target_is_refused_not_defaulted():
    with pytest.raises(ValidationError, match="service_levle"):
        ServiceTarget(service_levle=0.9)


def test_the_bounds_leave_real_inputs_alone():
    data = roster_input(agents=3, seconds=5, seed=-7, deterministic_limit=2.0)
    assert RosterInput.model_validate_json(data.model_dump_json()) == data
    assert Horizon(start="2199-12-31", days=1).dates()[-1].year == 2199


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    settings = Settings(database_url=f"sqlite:///{tmp_path_factory.mktemp('api') / 'jobs.db'}", solver_processes=1,
                        max_agents=80, max_templates=3, max_horizon_days=14, max_solve_seconds=60)
    with TestClient(create_app(settings)) as c:
        yield c


@pytest.mark.parametrize("changes, field", REPRODUCERS, ids=[f for _, f in REPRODUCERS])
def test_the_api_answers_422_with_the_field_path_and_accepts_no_job(client, changes, field):
    key = {"X-API-Key": client.app.state.store.create_api_key("bounds")}
    res = client.post("/v1/rosters", json=body(**changes), headers=key)
    assert res.status_code == 422, res.text
    fields = {f["field"] for f in res.json()["fields"]}
    path = "body." + re.sub(r"\.(\d+)", r"[\1]", field)  # the API writes list indexes in brackets
    assert any(f == path or f.startswith(path + ".") for f in fields), fields


@pytest.mark.parametrize("path", ["/v1/jobs/{id}", "/v1/rosters/{id}", "/v1/plans/{id}", "/v1/scenarios/{id}",
                                  "/v1/plans/{id}/roster.xlsx", "/v1/plans/{id}/report.html"])
@pytest.mark.parametrize("job_id", ["abc%00def", "%00", "a" * 300])
def test_an_id_that_names_no_job_is_a_404_on_every_job_path(client, path, job_id):
    key = {"X-API-Key": client.app.state.store.create_api_key("bounds")}
    res = client.get(path.format(id=job_id), headers=key)
    assert res.status_code == 404, res.text
    assert client.delete(f"/v1/jobs/{job_id}", headers=key).status_code == 404
