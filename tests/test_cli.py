"""`wfm staff` end to end: the script contract, CSV errors, exit codes."""

import json
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def run(*args):
    return runner.invoke(app, list(args))


def test_single_interval_json_contract():
    res = run("staff", "--volume", "100", "--aht", "180", "--interval", "30", "--sl", "0.8",
              "--answer-seconds", "20", "--shrinkage", "0.3", "--format", "json")
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["agents"] == 14 and out["scheduled_agents"] == 20
    assert out["service_level"] >= 0.8 and 0 < out["occupancy"] < 1 and out["asa_seconds"] > 0
    assert "abandon_rate" not in out


def test_single_interval_erlang_a_reports_abandonment():
    res = run("staff", "--volume", "100", "--aht", "180", "--interval", "30", "--patience-seconds", "120",
              "--max-occupancy", "0.85", "--asa-seconds", "15", "--format", "json")
    out = json.loads(res.stdout)
    assert 0 < out["abandon_rate"] < 0.2 and out["occupancy"] <= 0.85 and out["asa_seconds"] <= 15


def test_file_contract_and_timestamps_keep_local_offsets(tmp_path):
    out = tmp_path / "req.csv"
    res = run("staff", "--input", str(SAMPLE / "interval_volumes.csv"), "--out", str(out))
    assert res.exit_code == 0, res.output
    req = pd.read_csv(out)
    assert list(req.columns[:9]) == ["interval_start", "queue", "volume", "aht_seconds", "agents",
                                     "scheduled_agents", "service_level", "asa_seconds", "occupancy"]
    src = pd.read_csv(SAMPLE / "interval_volumes.csv")
    assert len(req) == len(src)
    assert set(req["interval_start"]) == set(src["interval_start"])  # same local offsets, DST included
    busy = req[req["volume"] > 0]
    assert (busy["service_level"] >= 0.8 - 1e-9).all() and (busy["agents"] > 0).all()


def test_naive_timestamps_need_a_timezone(tmp_path):
    f = tmp_path / "v.csv"
    f.write_text("interval_start,volume,aht_seconds\n2026-03-29 01:30,10,200\n2026-03-29 03:00,12,200\n")
    res = run("staff", "--input", str(f), "--interval", "30")
    assert res.exit_code == 2 and "--timezone" in res.stderr and "line 2" in res.stderr
    res = run("staff", "--input", str(f), "--interval", "30", "--timezone", "Europe/Berlin", "--format", "csv")
    assert res.exit_code == 0, res.output
    assert "2026-03-29T01:30:00+01:00" in res.stdout and "2026-03-29T03:00:00+02:00" in res.stdout


@pytest.mark.parametrize("body,needle", [
    ("interval_start,volume,aht_seconds\n2026-01-05T08:00:00+00:00,10,200\n2026-01-05T08:30:00+00:00,ten,200\n",
     "line 3, volume='ten'"),
    ("interval_start,volume,aht_seconds\n2026-01-05T08:00:00+00:00,10,200\nyesterday,4,200\n",
     "line 3, interval_start='yesterday'"),
    ("interval_start,volume,aht_seconds\n2026-01-05T08:00:00+00:00,-4,200\n", "volume=-4.0"),
    ("interval_start,volume,aht_seconds\n2026-01-05T08:00:00+00:00,4,0\n", "aht_seconds=0.0"),
    ("interval_start,calls\n2026-01-05T08:00:00+00:00,4\n", "missing required column"),
])
def test_bad_csv_names_row_and_column(tmp_path, body, needle):
    f = tmp_path / "bad.csv"
    f.write_text(body)
    res = run("staff", "--input", str(f), "--interval", "30")
    assert res.exit_code == 2
    assert needle in res.stderr
    assert "Traceback" not in res.output


@pytest.mark.parametrize("args,needle", [
    (["--sl", "1.5"], "service_level=1.5"), (["--shrinkage", "1"], "shrinkage=1.0"),
    (["--answer-seconds", "-5"], "answer_seconds=-5.0"), (["--max-occupancy", "0"], "max_occupancy=0.0"),
    (["--aht", "0"], "aht_seconds=0.0"), (["--interval", "20"], "--interval=20"),
])
def test_bad_options_exit_2_with_the_field(args, needle):
    base = {"--volume": "50", "--aht": "200"}
    for k, v in zip(args[::2], args[1::2]):
        base[k] = v
    res = run("staff", *[x for kv in base.items() for x in kv], "--format", "json")
    assert res.exit_code == 2 and needle in res.stderr


def test_help_explains_units():
    res = run("staff", "--help")
    assert res.exit_code == 0
    for phrase in ("seconds", "minutes", "shrinkage", "Erlang A"):
        assert phrase in res.stdout
