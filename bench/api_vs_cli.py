"""Benchmark: the same roster input through the HTTP API (a job on `wfm serve`) and through
`wfm roster`, at the input's own limit, workers and seed; both rosters scored by the validator.

    .venv/bin/python bench/api_vs_cli.py bench/sites/sample-30.json
    .venv/bin/python bench/api_vs_cli.py bench/sites/sample-30.json --only api

Prints one JSON line per run: objective, under-coverage hours, seconds.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from api import _get, _post, start_server  # bench/api.py

from wfm.roster.domain import Roster, RosterInput
from wfm.roster.validator import validate


def scored(data: RosterInput, roster: Roster, how: str, seconds: float) -> dict:
    report = validate(data, roster)
    hours = data.horizon.interval_minutes / 60
    return {"via": how, "objective": round(report.objective, 1), "feasible": report.feasible,
            "under_hours": round(float(report.coverage["under"].sum()) * hours, 1), "seconds": round(seconds, 1)}


def through_api(data: RosterInput) -> dict:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory(prefix="wfm-bench-api-cli-") as tmp:
        server, key = start_server(Path(tmp), port)
        url = f"http://127.0.0.1:{port}"
        try:
            started = time.perf_counter()
            status, job = _post(url + "/v1/rosters", key, data.model_dump_json().encode())
            assert status == 202, job
            while json.loads(_get(f"{url}/v1/jobs/{job['id']}", key)[1])["status"] in ("queued", "running"):
                time.sleep(0.2)
            code, raw = _get(f"{url}/v1/rosters/{job['id']}", key)
            assert code == 200, raw
            seconds = time.perf_counter() - started
        finally:
            server.terminate()
            server.wait(20)
    return scored(data, Roster.model_validate(json.loads(raw)["roster"]), "api", seconds)


def through_cli(path: Path) -> dict:
    wfm = str(Path(sys.executable).parent / "wfm")
    with tempfile.TemporaryDirectory(prefix="wfm-bench-cli-") as tmp:
        started = time.perf_counter()
        done = subprocess.run([wfm, "roster", str(path), "--format", "json", "--coverage", f"{tmp}/coverage.csv"],
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
    summary = json.loads(done.stdout)
    return {"via": "cli", "objective": summary.get("objective"), "seconds": round(seconds, 1),
            **{k: summary[k] for k in ("under_hours", "feasible") if k in summary}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("input", type=Path)
    parser.add_argument("--only", choices=["api", "cli"])
    args = parser.parse_args()
    data = RosterInput.model_validate_json(args.input.read_text())
    if args.only != "cli":
        print(json.dumps(through_api(data)), flush=True)
    if args.only != "api":
        print(json.dumps(through_cli(args.input)), flush=True)


if __name__ == "__main__":
    main()
