"""Every JSON wfm writes parses with a strict parser (no NaN/Infinity tokens), and a command
asked for machine-readable output prints only that on stdout (status lines go to stderr).

The plan is the sample site with three agents for two queues: short-staffed on purpose, so
some intervals have contacts and no agent on queue (an unbounded ASA) - the figures that used
to come out as `Infinity`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from typer.testing import CliRunner

from wfm.cli import app
from wfm.jsonout import finite_or_none, strict_json

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def strict_loads(text: str):
    def refuse(token):
        raise ValueError(f"non-standard JSON token {token}")

    return json.loads(text, parse_constant=refuse)


def runner() -> CliRunner:
    try:
        return CliRunner(mix_stderr=False)
    except TypeError:  # click >= 8.2 keeps stderr apart by itself
        return CliRunner()


def short_staffed_config(folder: Path) -> Path:
    raw = yaml.safe_load((SAMPLE / "plan.yaml").read_text())
    setup = json.loads((SAMPLE / "roster_setup.json").read_text())
    raw["history"]["file"] = str(SAMPLE / "tickets.csv.gz")
    raw["history"]["calendar"] = str(SAMPLE / "calendar.csv")
    raw["roster"] = {"setup": str(SAMPLE / "roster_setup.json"), "agents": setup["agents"][:3],
                     "solver": {"time_limit_seconds": 20, "workers": 1, "seed": 0, "deterministic_limit": 2}}
    raw["simulation"] = {"replications": 2, "seed": 0}
    path = folder / "plan.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


@pytest.fixture(scope="module")
def plan_out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("short")
    config = short_staffed_config(folder)
    res = runner().invoke(app, ["plan", str(config), "--out", str(folder / "plan")])
    assert res.exit_code == 0, res.output
    return folder, config, res


def test_every_json_file_of_a_plan_is_strict_json(plan_out):
    folder, _, _ = plan_out
    files = sorted((folder / "plan").glob("*.json"))
    assert {"summary.json", "roster.json", "roster_input.json"} <= {f.name for f in files}
    for path in files:
        strict_loads(path.read_text())
    summary = strict_loads((folder / "plan" / "summary.json").read_text())
    # Three agents cannot cover two queues all week: somewhere contacts wait without end.
    assert summary["metrics"]["asa_seconds_worst"] is None
    worst = summary["headline"]["worst_interval"]
    assert worst["state"] == "unstaffed" and worst["asa_seconds"] is None


def test_plan_console_says_unstaffed_never_inf(plan_out):
    folder, _, res = plan_out
    summary = strict_loads((folder / "plan" / "summary.json").read_text())
    text = " ".join(res.stdout.split())
    assert "unstaffed" in text and "inf" not in text.lower()
    when = summary["headline"]["worst_interval"]["text"].split(": unstaffed")[0]   # "Mon 25 May 08:00 billing"
    assert when in text
    assert "ASA s week / worst" in text and "unbounded" in text


def test_roster_json_on_stdout_is_only_the_json(plan_out, tmp_path):
    folder, _, _ = plan_out
    res = runner().invoke(app, ["roster", str(folder / "plan" / "roster_input.json"), "--format", "json",
                                "--out", str(tmp_path / "roster.csv"), "--coverage", str(tmp_path / "cov.csv")])
    assert res.exit_code == 0, res.output
    body = strict_loads(res.stdout)
    assert body["status"] and body["shifts"] >= 1
    assert "written" in res.stderr and (tmp_path / "roster.csv").exists() and (tmp_path / "cov.csv").exists()


def test_scenario_json_on_stdout_and_report_json_are_strict(plan_out, tmp_path):
    folder, config, _ = plan_out
    scenarios = {"base": str(config), "mode": "requirements", "simulation": None,
                 "base_roster": str(folder / "plan" / "roster.json"),
                 "scenarios": [{"name": "volume +50%", "volume": [{"multiplier": 1.5}]}]}
    path = tmp_path / "scenarios.yaml"
    path.write_text(yaml.safe_dump(scenarios))
    res = runner().invoke(app, ["scenario", "run", str(path), "--format", "json", "--out", str(tmp_path / "out"),
                                "--processes", "1"])
    assert res.exit_code == 0, res.output
    report = strict_loads(res.stdout)
    assert report["scenarios"][0]["metrics"]["asa_seconds_worst"] is None  # unbounded: null, not "Infinity"
    strict_loads((tmp_path / "out" / "report.json").read_text())
    assert "written" in res.stderr


def test_staff_json_and_csv_on_stdout_are_only_the_result(plan_out, tmp_path):
    folder, _, _ = plan_out
    req = tmp_path / "req.csv"
    res = runner().invoke(app, ["staff", "--input", str(folder / "plan" / "forecast.csv"), "--format", "json",
                                "--out", str(req)])
    assert res.exit_code == 0, res.output
    assert strict_loads(res.stdout)["interval_minutes"] == 30 and req.exists()
    res = runner().invoke(app, ["staff", "--volume", "0", "--aht", "300", "--format", "json"])
    assert res.exit_code == 0, res.output
    strict_loads(res.stdout)


def test_forecast_csv_on_stdout_and_status_on_stderr(tmp_path):
    out = tmp_path / "fc.csv"
    res = runner().invoke(app, ["forecast", str(SAMPLE / "tickets.csv.gz"), "--timezone", "Europe/Berlin",
                                "--days", "1", "--folds", "1", "--out", str(out)])
    assert res.exit_code == 0, res.output
    assert res.stdout.strip() == "" and "written" in res.stderr and out.exists()


@pytest.mark.parametrize("value,expected", [
    (float("inf"), None), (float("nan"), None), (-float("inf"), None), (1.5, 1.5), ("x", "x"),
    ({"a": [1.0, float("nan")], "b": (float("inf"),)}, {"a": [1.0, None], "b": [None]}),
])
def test_non_finite_numbers_become_null(value, expected):
    assert finite_or_none(value) == expected
    strict_loads(strict_json(value))


def test_numpy_scalars_are_written_as_numbers_or_null():
    import numpy as np

    assert strict_loads(strict_json({"a": np.float64("inf"), "b": np.int64(3), "c": np.float32(0.5)})) == \
        {"a": None, "b": 3, "c": 0.5}
