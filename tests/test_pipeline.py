"""One plan pipeline: the API's plan job, `wfm plan` and `wfm demo` give the same figures for
the same site (forecast, requirements, roster, metrics), with a roster made deterministic by
the solver's deterministic limit, one worker and a seed."""

from __future__ import annotations

import json

import pandas as pd
import pytest
import yaml
from typer.testing import CliRunner

from api_helpers import day_template, history_rows
from test_api_http import make_client, wait
from wfm.cli import app

TARGETS = {"billing": {"service_level": 0.8, "answer_seconds": 20, "shrinkage": 0.3}}
SOLVER = {"time_limit_seconds": 20, "deterministic_limit": 0.5, "workers": 1, "seed": 3}
SIMULATION = {"replications": 3, "seed": 5}


@pytest.fixture(scope="module")
def site():
    """Four weeks of contacts of one queue; four agents on day shifts."""
    return {"history": history_rows(weeks=4), "templates": [json.loads(day_template().model_dump_json())],
            "agents": [{"id": f"a{k}", "skills": ["billing"]} for k in range(4)]}


@pytest.fixture(scope="module")
def from_api(site, tmp_path_factory):
    body = {"history": site["history"], "forecast": {"timezone": "Europe/Berlin", "interval_minutes": 60, "days": 7},
            "targets": TARGETS, "templates": site["templates"], "agents": site["agents"], "solver": SOLVER,
            "simulation": SIMULATION}
    with make_client(tmp_path_factory.mktemp("api")) as client:
        key = {"X-API-Key": client.app.state.store.create_api_key("pipeline")}
        res = client.post("/v1/plans", json=body, headers=key)
        assert res.status_code == 202, res.text
        view = wait(client, res.json()["id"], key, timeout=120)
        assert view["status"] == "succeeded", view
        return client.get(f"/v1/plans/{view['id']}", headers=key).json()


@pytest.fixture(scope="module")
def data_folder(site, tmp_path_factory):
    """The same site as a plan config and its history file (what `wfm demo --data` reads)."""
    folder = tmp_path_factory.mktemp("site")
    pd.DataFrame(site["history"]).to_csv(folder / "history.csv", index=False)
    config = {"timezone": "Europe/Berlin", "interval_minutes": 60, "history": {"file": "history.csv"},
              "forecast": {"days": 7}, "queues": TARGETS,
              "roster": {"templates": site["templates"], "agents": site["agents"], "solver": SOLVER},
              "simulation": SIMULATION}
    (folder / "plan.yaml").write_text(yaml.safe_dump(config))
    return folder


def run_cli(*args):
    res = CliRunner().invoke(app, list(map(str, args)))
    assert res.exit_code == 0, res.output
    return res


@pytest.fixture(scope="module")
def from_cli(data_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("plan")
    run_cli("plan", data_folder / "plan.yaml", "--out", out)
    return out


@pytest.fixture(scope="module")
def from_demo(data_folder, tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    run_cli("demo", "--data", data_folder, "--out", out)
    return out


def files(out):
    summary = json.loads((out / "summary.json").read_text())
    return {"forecast": pd.read_csv(out / "forecast.csv"), "requirements": pd.read_csv(out / "requirements.csv"),
            "coverage": pd.read_csv(out / "coverage.csv"), "roster": summary["roster"],
            "metrics": summary["metrics"]}


def test_api_cli_and_demo_give_the_same_plan(from_api, from_cli, from_demo):
    api = {"forecast": pd.DataFrame(from_api["forecast"]["intervals"]),
           "requirements": pd.DataFrame(from_api["requirements"]),
           "coverage": pd.DataFrame(from_api["roster"]["coverage"]),
           "roster": from_api["roster"], "metrics": from_api["metrics"]}
    runs = {"api": api, "cli": files(from_cli), "demo": files(from_demo)}
    assert from_api["roster"]["feasible"] and from_api["roster"]["kpis"]["shifts"] > 0
    for name, got in runs.items():
        fc, req, cov = got["forecast"], got["requirements"], got["coverage"]
        assert len(fc) == 7 * 24 - 1, name  # the week of the 23-hour day
        # forecast.csv holds 4 decimals
        assert fc["volume"].tolist() == pytest.approx(api["forecast"]["volume"].tolist(), abs=1e-4), name
        assert fc["volume"].sum() == pytest.approx(api["forecast"]["volume"].sum(), abs=0.01) and fc["volume"].sum() > 0
        assert req["agents"].tolist() == api["requirements"]["agents"].tolist(), name
        assert req["scheduled_agents"].tolist() == api["requirements"]["scheduled_agents"].tolist(), name
        assert got["roster"]["objective"] == pytest.approx(api["roster"]["objective"]), name
        assert cov["on_queue"].tolist() == api["coverage"]["on_queue"].tolist(), name
        for metric, value in api["metrics"].items():
            mine = got["metrics"][metric]
            if value is None or isinstance(value, str):
                assert mine == value, (name, metric)
            else:
                assert mine == pytest.approx(value), (name, metric)
    m = api["metrics"]
    assert m["simulated_service_level"] is not None and m["scheduled_paid_hours"] > 0
    assert pd.DataFrame(from_api["simulation"])["queue"].tolist() == ["billing", "all"]


def test_the_demo_adds_its_outputs_to_the_plans_files(from_cli, from_demo):
    plan_files = {p.name for p in from_cli.iterdir()}
    demo_files = {p.name for p in from_demo.iterdir()}
    assert plan_files <= demo_files
    assert demo_files - plan_files == {"roster.xlsx", "scenarios.csv", "report.html", "kpi.csv",
                                       "actual_week.csv", "review_days.csv", "review_intervals.csv"}
    scenarios = pd.read_csv(from_demo / "scenarios.csv")
    assert scenarios["scenario"].tolist()[0] == "base" and (scenarios["status"] == "ok").all()
