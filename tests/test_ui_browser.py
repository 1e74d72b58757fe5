"""The web view end to end in headless Chromium: a real `wfm serve --no-auth` on a free
loopback port, the sample site, a plan with a 3-second roster, live progress, the Gantt roster
and coverage chart, a scenario comparison, the workbook download, and the downloaded report
opened with the network off.

Needs Debian's chromium at /usr/bin/chromium (`apt-get install -y chromium`) and the
`playwright` package (dev extra); never downloads a browser. Skips, saying which is missing,
otherwise."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]

if not CHROMIUM.exists():
    pytest.skip("browser test skipped: no /usr/bin/chromium (apt-get install -y chromium)", allow_module_level=True)
sync_api = pytest.importorskip(
    "playwright.sync_api", reason="browser test skipped: the playwright package is missing (pip install -e '.[dev]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    folder = tmp_path_factory.mktemp("serve")
    port = _free_port()
    script = Path(sys.executable).with_name("wfm")
    command = [str(script)] if script.exists() else [sys.executable, "-c", "from wfm.cli import main; main()"]
    env = {**os.environ, "WFM_DATABASE_URL": f"sqlite:///{folder / 'jobs.db'}"}
    log = open(folder / "server.log", "w")
    proc = subprocess.Popen(command + ["serve", "--no-auth", "--port", str(port), "--log-level", "warning"],
                            cwd=folder, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(base + "/healthz", timeout=1)
                break
            except OSError:
                if proc.poll() is not None or time.time() > deadline:
                    raise AssertionError("wfm serve did not start: " + (folder / "server.log").read_text())
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(proc.pid, signal.SIGTERM)   # the server and the solver processes it started
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_api.sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield b
        b.close()


def test_a_plan_clicked_through_in_the_browser_shows_the_roster(server, browser, tmp_path):
    import openpyxl

    page = browser.new_page(viewport={"width": 1300, "height": 900}, accept_downloads=True)
    errors = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(server + "/")
    assert page.url == server + "/ui"
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#auth").is_hidden()                     # --no-auth: no key field
    page.click("#load-sample")
    page.wait_for_selector("#targets tbody tr[data-queue=tech]")
    assert "30 agents" in page.inner_text("#data-status")
    page.fill("#targets tbody tr[data-queue=billing] [name=sl]", "85")
    page.fill("#time-limit", "3")
    page.click("#run-plan")
    page.wait_for_selector("#progress-step:not([hidden])")
    assert "solver limit" in page.inner_text("#job-status")
    page.wait_for_selector("#gantt .main-svg", timeout=90_000)

    status = page.inner_text("#job-status")
    assert "succeeded" in status and "of 3 s solver limit" in status
    assert page.inner_text("#error") == ""
    kpis = page.inner_text("#kpis")
    assert "FEASIBLE" in kpis or "OPTIMAL" in kpis
    gantt = page.inner_text("#gantt")
    assert "billing-01" in gantt and "part-08" in gantt            # agents as rows
    ticks = page.eval_on_selector("#gantt", "el => el.layout.xaxis.ticktext")
    assert "06:00" in ticks and "18:00" in ticks and any(t[:3] in ("Mon", "Tue") for t in ticks)   # time axis
    assert "06:00" in gantt                                         # drawn, not only configured
    bars = page.eval_on_selector("#gantt", "el => el.data.map(t => [t.name, t.x.length])")
    assert dict(bars)["breaks"] > 0 and sum(n for name, n in bars if name.startswith("shift")) > 50
    coverage = page.eval_on_selector("#coverage-chart", "el => el.data.map(t => t.name + ' ' + t.y.length)")
    assert sorted(set(coverage)) == ["on queue 336", "required 336"] and len(coverage) == 4   # 2 queues, 7 x 48
    assert page.locator("#explanation tbody tr").count() >= 1

    page.click("#compare-scenarios")
    page.wait_for_selector("#scenario-table tbody tr")
    rows = page.locator("#scenario-table tbody tr").all_inner_texts()
    assert [r.split("\t")[0] for r in rows] == ["base", "volume +15%", "AHT +20 s", "shrinkage 35%"]

    with page.expect_download() as download:
        page.click("[data-download=xlsx]")
    xlsx = tmp_path / "roster.xlsx"
    download.value.save_as(xlsx)
    assert openpyxl.load_workbook(xlsx).sheetnames[-2:] == ["Coverage", "Shifts"]
    with page.expect_download() as download:
        page.click("[data-download=report]")
    report = tmp_path / "report.html"
    download.value.save_as(report)
    assert errors == []

    # The report is one file that draws every chart with the network off.
    offline = browser.new_context()
    offline.set_offline(True)
    view = offline.new_page()
    view_errors = []
    view.on("pageerror", lambda e: view_errors.append(str(e)))
    view.goto(report.as_uri())
    view.wait_for_selector("#scenarios .main-svg")
    charts = report.read_text().count("Plotly.newPlot(")
    assert view.locator(".js-plotly-plot").count() == charts == 6 and view_errors == []   # every chart drawn
    offline.close()
    shutil.rmtree(tmp_path, ignore_errors=True)


def test_an_uploaded_history_and_an_api_key_reach_the_plan_request(server, browser):
    sample = Path(__file__).resolve().parents[1] / "sample_data" / "tickets.csv.gz"
    page = browser.new_page()
    errors, sent = [], []
    page.on("pageerror", lambda e: errors.append(str(e)))
    # Pretend the server wants keys, and catch the plan request instead of running it.
    page.route("**/ui/config", lambda route: route.fulfill(json={"auth": True}))
    page.route("**/v1/plans", lambda route: (sent.append(route.request), route.fulfill(
        status=401, json={"error": "invalid_api_key", "message": "this API key is not known"})))
    page.goto(server + "/ui")
    page.wait_for_selector("body[data-ready=true]")
    assert page.locator("#auth").is_visible()
    page.fill("#api-key", "wfm_test_key")
    page.dispatch_event("#api-key", "change")
    page.set_input_files("#history-file", str(sample))          # gzip, read in the browser
    page.wait_for_selector("#targets tbody tr[data-queue=tech]")
    assert "tickets.csv.gz: 86,285 rows, queues billing, tech" in page.inner_text("#data-status")
    page.click("#run-plan")
    page.wait_for_selector("#error:not([hidden])")
    assert "enter a valid API key" in page.inner_text("#error")
    body = sent[0].post_data_json
    assert sent[0].headers["x-api-key"] == "wfm_test_key"
    assert len(body["history"]) == 86_285 and body["history"][0] == {
        "created_at": "2026-01-05T07:11:59+01:00", "queue": "billing", "channel": "voice", "handle_seconds": "179"}
    assert body["forecast"] == {"timezone": "Europe/Berlin", "interval_minutes": 30, "days": 7}
    assert len(body["agents"]) == 30 and body["targets"]["tech"]["service_level"] == 0.8
    assert page.evaluate("sessionStorage.getItem('wfm-api-key')") == "wfm_test_key"
    assert errors == [] and not page.locator("#run-plan").is_disabled()
