"""A failed job's error is a stable reason (one of api.work.REASONS) and a message written for the
user: the field, line and value of the input, never an exception's own text (a library's
signature with a memory address, a pydantic dump, a server path). Unexpected failures get
`internal_error` with an incident id; the exception goes to the server's log.

The job functions are called directly, as the worker process calls them."""

import json
import multiprocessing as mp
import os
import re
from pathlib import Path

import pytest

from api import work
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
