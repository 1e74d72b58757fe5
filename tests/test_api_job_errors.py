"""A failed job's error is a stable reason (one of api.work.REASONS) and a message written for the
user: the field, line and value of the input, never an exception's own text (a library's
signature with a memory address, a pydantic dump, a server path). Unexpected failures get
`internal_error` with an incident id; the exception goes to the server's log.

The job functions are called directly, as the worker process calls them, and through the API
where an input that only a worker can refuse produces a reason."""

import json
import multiprocessing as mp
import os
import re
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from fastapi.testclient import TestClient

from api import work
from api.app import create_app
from api.schemas import PlanRequest
from api.settings import Settings
from api_helpers import history_rows, infeasible_input, roster_input
from wfm.executor import make_executor

DOC = (Path(__file__).parents[1] / "docs" / "api.md").read_text()
INTERNALS = re.compile(r"0x[0-9a-f]{6,}|/tmp/|wfm-(plan|scenarios|history)-|Traceback|pydantic|errors\.pydantic\.dev|"
                       r"input_value=|[A-Z][a-z]+Error\b|Exception\b|\.py\b")


def user_facing(message: str) -> bool:
    return bool(message) and not INTERNALS.search(message)


def failure(func, *args) -> work.JobError:
    with pytest.raises(work.JobError) as raised:
        func(*args)
    error = raised.value
    assert error.reason in work.REASONS and user_facing(error.message), error.as_dict()
    return error


def run_worker(kind: str, payload: str) -> tuple[str, dict]:
    parent, child = mp.Pipe()
    work.worker_main(kind, payload, child, os.getpid())
    return parent.recv()


def test_every_reason_is_documented_with_its_meaning():
    for reason in work.REASONS:
        assert f"`{reason}`" in DOC, f"docs/api.md does not list the job error reason {reason!r}"


def test_a_reason_outside_the_catalog_is_a_programming_error():
    with pytest.raises(ValueError, match="REASONS"):
        work.JobError("something_new", "text")


def test_stored_input_that_no_longer_validates_is_invalid_input_with_field_paths():
    body = json.loads(roster_input(agents=2, seconds=1).model_dump_json())
    body["solver"]["seed"] = 2**70
    kind, error = run_worker("roster", json.dumps(body))
    assert kind == "error" and error["reason"] == "invalid_input" and error["field"] == "solver.seed", error
    assert error["message"].startswith("solver.seed: ") and user_facing(error["message"]), error


def test_an_unexpected_failure_is_internal_error_with_an_incident_not_its_text():
    kind, error = run_worker("a-kind-this-server-does-not-know", "{}")
    assert kind == "crash" and error["reason"] == "internal_error", error
    assert error["incident"] in error["message"] and user_facing(error["message"]), error
    assert "a-kind-this-server-does-not-know" not in error["message"]


def test_a_roster_input_the_solver_cannot_use_is_invalid_roster_input_naming_the_template():
    body = json.loads(roster_input(agents=2, seconds=1).model_dump_json())
    body["templates"][0]["start_times"] = ["08:30"]  # off the 60-minute grid
    error = failure(work.solve_roster_json, json.dumps(body))
    assert error.reason == "invalid_roster_input" and error.details["field"] == "templates['D'].start"
    assert "08:30" in error.message and "60-minute" in error.message


def test_an_infeasible_roster_names_its_contradiction():
    error = failure(work.solve_roster_json, infeasible_input().model_dump_json())
    assert error.reason == "infeasible" and error.details["conflicts"], error.as_dict()


def test_a_bad_history_row_is_invalid_history_naming_its_line():
    rows = history_rows(weeks=2)
    rows[3] = {**rows[3], "created_at": "not a time"}
    error = failure(work.forecast_history, rows, ".csv", {"timezone": "UTC", "interval_minutes": 60, "days": 1})
    assert error.reason == "invalid_history" and error.details["line"] == 5 and "'not a time'" in error.message


def test_a_plan_names_the_step_that_refused_its_input_without_its_temp_folder():
    setup = json.loads(roster_input(agents=2, seconds=1).model_dump_json())
    body = {"history": history_rows(weeks=2), "forecast": {"timezone": "Europe/Berlin", "days": 1, "folds": 1},
            "default_target": {"service_level": 0.8, "answer_seconds": 20}, "templates": setup["templates"],
            "agents": [{"id": "a", "skills": ["no-such-queue"]}], "solver": {"time_limit_seconds": 1}}
    error = failure(work.plan_job, json.dumps(body))
    assert error.reason == "invalid_roster_input" and "no-such-queue" in error.message, error.as_dict()


def explode(task):
    raise TypeError(f"<built-in method at 0x7f3a2b1c4d50> got {task!r}")


def test_a_scenario_that_fails_unexpectedly_keeps_only_an_incident_in_its_result():
    finished = []
    with make_executor(workers=1) as inner, work.Counting(inner, lambda o, total: finished.append(o)) as executor:
        outcomes = executor.map(explode, [1, 2])
    assert [o.ok for o in outcomes] == [False, False] and len(finished) == 2
    for outcome in outcomes:
        assert outcome.error.startswith("internal_error: ") and "incident" in outcome.error
        assert user_facing(outcome.error.removeprefix("internal_error: ")), outcome.error


def finished_job(client, body: dict, headers: dict, path: str = "/v1/plans", timeout: float = 120) -> dict:
    accepted = client.post(path, json=body, headers=headers)
    assert accepted.status_code == 202, accepted.text
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        view = client.get(f"/v1/jobs/{accepted.json()['id']}", headers=headers).json()
        if view["status"] in ("succeeded", "failed", "cancelled"):
            return view
        time.sleep(0.2)
    raise AssertionError(f"job still {view['status']} after {timeout} s")


def test_a_plan_simulating_handle_times_from_a_history_without_them_is_invalid_simulation(tmp_path):
    """The history's handle times are known only once it is read and forecast, in the worker."""
    setup = json.loads(roster_input(agents=2, seconds=1, days=1).model_dump_json())
    rows = [{k: v for k, v in row.items() if k != "handle_seconds"} for row in history_rows(weeks=2)]
    body = {"history": rows, "forecast": {"timezone": "Europe/Berlin", "days": 1, "folds": 1},
            "default_target": {"service_level": 0.8, "answer_seconds": 20},
            "templates": setup["templates"], "agents": [{"id": "a", "skills": ["billing"]}],
            "solver": {"time_limit_seconds": 1}, "simulation": {"replications": 2, "handle_times": "history"}}
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}"))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        headers = {"X-API-Key": app.state.store.create_api_key("acme")}
        job = finished_job(client, body, headers)
    assert job["status"] == "failed" and job["error"]["reason"] == "invalid_simulation", job
    assert job["error"]["field"] == "simulation" and "no handle times" in job["error"]["message"], job
    assert user_facing(job["error"]["message"]), job


NAMES = st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=1, max_size=12)
FORECASTS = st.fixed_dictionaries({
    "timezone": st.sampled_from(["Europe/Berlin", "UTC", "America/Sao_Paulo"]),
    "interval_minutes": st.sampled_from([15, 30, 60]), "days": st.integers(1, 366),
    "model": st.sampled_from(["auto", "seasonal_naive", "weekly_profile", "daily_profile"]),
    "level": st.floats(0.01, 0.99), "folds": st.integers(1, 52), "on_bad_row": st.sampled_from(["error", "drop"]),
    "columns": st.fixed_dictionaries({}, optional={"timestamp": NAMES, "queue": st.none() | NAMES,
                                                   "handle_seconds": st.none() | NAMES, "volume": st.none() | NAMES,
                                                   "interval_start": NAMES})},
    optional={"country": st.none() | st.sampled_from(["DE", "XX"]), "timestamp_format": st.none() | NAMES})
TARGETS = st.fixed_dictionaries({}, optional={
    "service_level": st.none() | st.floats(0.01, 0.99), "answer_seconds": st.floats(1, 600),
    "max_occupancy": st.none() | st.floats(0.1, 1), "shrinkage": st.floats(0, 0.9),
    "patience_seconds": st.none() | st.floats(1, 600), "concurrency": st.integers(1, 4)})


@given(forecast=FORECASTS, targets=st.dictionaries(NAMES, TARGETS, max_size=3), default=st.none() | TARGETS,
       simulation=st.none() | st.fixed_dictionaries({}, optional={
           "replications": st.integers(2, 50), "arrivals": st.sampled_from(["poisson", "history"]),
           "handle_times": st.sampled_from(["exponential", "history"])}))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_every_plan_request_the_api_accepts_is_a_plan_config(forecast, targets, default, simulation):
    """The plan job's only step outside a plan stage is building `wfm.plan`'s config from the
    request; the API's models mirror it, so an accepted request never fails there (the reason it
    would have had, `invalid_plan`, was dropped from the catalog as unreachable)."""
    setup = json.loads(roster_input(agents=2, seconds=1, days=1).model_dump_json())
    body = {"history": history_rows(weeks=1)[:20], "forecast": forecast, "targets": targets,
            "default_target": default, "templates": setup["templates"], "agents": setup["agents"],
            "simulation": simulation}
    try:
        request = PlanRequest.model_validate(body)
    except ValueError:
        assume(False)
    with tempfile.TemporaryDirectory() as folder:
        work.plan_config(request, Path(folder))  # raises InputError on a gap between the two


def test_a_limit_too_short_for_any_roster_is_no_roster_saying_so():
    # s60 (60 agents, 7 days): its greedy start alone takes longer than a millisecond, and the
    # solver keeps to its limit instead of handing on a roster found after it
    site = json.loads((Path(__file__).parents[1] / "bench" / "sites" / "s60-3q-30-cost.json").read_text())
    site["solver"] = {**site.get("solver", {}), "time_limit_seconds": 0.001, "workers": 1}
    error = failure(work.solve_roster_json, json.dumps(site))
    assert error.reason == "no_roster" and "time limit" in error.message
