"""The web view's server side in process: the page and its static files (plotly.js from the
installed package), the sample plan, and a finished plan's what-ifs, roster.xlsx and report."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import openpyxl
import pytest

from api.schemas import PlanRequest
from api_helpers import billing_plan_body, history_rows, roster_input
from test_api_http import make_client, wait
from wfm.outputs.report import SECTIONS


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("ui")) as c:
        yield c


@pytest.fixture(scope="module")
def key(client):
    return {"X-API-Key": client.app.state.store.create_api_key("ui")}


@pytest.fixture(scope="module")
def plan_id(client, key):
    body = billing_plan_body()
    res = client.post("/v1/plans", json=body, headers=key)
    assert res.status_code == 202, res.text
    view = wait(client, res.json()["id"], key)
    assert view["status"] == "succeeded", view
    return view["id"]


def test_root_redirects_to_the_page_which_loads_only_local_files(client):
    res = client.get("/", follow_redirects=False)
    assert res.status_code == 307 and res.headers["location"] == "/ui"
    page = client.get("/ui")
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert "/ui/vendor/plotly.min.js" in sources and "/ui/static/app.js" in sources
    assert not [s for s in sources if s.startswith(("http:", "https:", "//"))]
    for path in sources:
        if path.startswith("/"):
            assert client.get(path).status_code == 200, path


def test_plotly_is_served_from_the_installed_package(client):
    import plotly

    res = client.get("/ui/vendor/plotly.min.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assert res.content == (Path(plotly.__file__).parent / "package_data" / "plotly.min.js").read_bytes()
    assert client.get("/ui/static/app.js").headers["content-type"].startswith("text/javascript")
    assert client.get("/ui/static/..%2Fapp.py").status_code == 404
    assert client.get("/ui/static/index.html").status_code == 404


def test_config_tells_the_page_whether_to_ask_for_a_key(client, tmp_path):
    assert client.get("/ui/config").json() == {"auth": True}
    with make_client(tmp_path, auth=False) as open_client:
        assert open_client.get("/ui/config").json() == {"auth": False}


def test_sample_plan_is_a_valid_plan_request_of_the_sample_site(client):
    body = client.get("/ui/sample-plan").json()      # public sample data: no key
    plan = PlanRequest.model_validate(body)
    assert len(plan.agents) == 30 and set(plan.targets) == {"billing", "tech"}
    assert plan.forecast.interval_minutes == 30 and plan.forecast.timezone == "Europe/Berlin"
    volume = sum(r["volume"] for r in body["history"])
    assert volume == 86_285                            # every contact of tickets.csv.gz, in interval rows


def test_plan_scenarios_compare_with_the_base(client, key, plan_id):
    res = client.post(f"/v1/plans/{plan_id}/scenarios", headers=key, json={"scenarios": [
        {"name": "busy", "volume_multiplier": 1.5}, {"name": "shrink", "shrinkage": 0.5}]})
    assert res.status_code == 200, res.text
    rows = {r["scenario"]: r for r in res.json()["scenarios"]}
    assert list(rows) == ["base", "busy", "shrink"]
    assert rows["busy"]["contacts"] == pytest.approx(1.5 * rows["base"]["contacts"])
    assert rows["busy"]["service_level"] < rows["base"]["service_level"]
    assert rows["shrink"]["required_fte"] > rows["base"]["required_fte"] and rows["shrink"]["contacts_delta"] == 0
    roster = client.get(f"/v1/plans/{plan_id}", headers=key).json()["roster"]
    assert rows["base"]["under_hours"] == pytest.approx(roster["kpis"]["under_hours"])
    for bad in ([{"name": "a"}, {"name": "a"}], [{"name": "base"}], [{"name": "x", "shrinkage": 1}], []):
        res = client.post(f"/v1/plans/{plan_id}/scenarios", headers=key, json={"scenarios": bad})
        assert res.status_code == 422 and res.json()["error"] == "validation_error", bad


def test_plan_workbook_and_report(client, key, plan_id):
    res = client.get(f"/v1/plans/{plan_id}/roster.xlsx", headers=key)
    assert res.status_code == 200 and "attachment" in res.headers["content-disposition"]
    book = openpyxl.load_workbook(io.BytesIO(res.content))
    assert book.sheetnames[-2:] == ["Coverage", "Shifts"] and book.sheetnames[0].startswith("Week ")
    agents = [r[0] for r in book[book.sheetnames[0]].iter_rows(min_row=2, values_only=True)]
    assert agents == ["a0", "a1", "a2", "a3"]
    shifts = client.get(f"/v1/plans/{plan_id}", headers=key).json()["roster"]["shifts"]
    assert len(list(book["Shifts"].iter_rows())) == 1 + len(shifts)
    page = client.get(f"/v1/plans/{plan_id}/report.html", headers=key)
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")
    for section, title in SECTIONS:
        assert f'<section id="{section}"><h2>{title}</h2>' in page.text


def test_plan_outputs_need_a_finished_plan_of_ones_own(client, key, plan_id):
    other = {"X-API-Key": client.app.state.store.create_api_key("someone-else")}
    assert client.get(f"/v1/plans/{plan_id}/roster.xlsx", headers=other).status_code == 404
    assert client.get(f"/v1/plans/{plan_id}/roster.xlsx").status_code == 401
    assert client.get("/v1/plans/nope/report.html", headers=key).json()["error"] == "not_found"
    job = client.post("/v1/rosters", content=roster_input(seconds=1).model_dump_json(),
                      headers={**key, "Content-Type": "application/json"}).json()
    wait(client, job["id"], key)
    res = client.post(f"/v1/plans/{job['id']}/scenarios", headers=key, json={"scenarios": [{"name": "x"}]})
    assert res.status_code == 404 and "roster job" in res.json()["message"]


def card_rows(page: str) -> list[tuple[str, str, str]]:
    cards = re.findall(r'<div class="card"><div class="label">(.*?)</div><div class="value">(.*?)</div>'
                       r'<div class="note">(.*?)</div></div>', page)
    import html

    return [tuple(html.unescape(x) for x in card) for card in cards]


def test_web_view_and_report_show_one_set_of_headline_figures(client, key, plan_id):
    result = client.get(f"/v1/plans/{plan_id}", headers=key).json()
    head = result["headline"]
    rows = [(r["label"], r["value"], r["note"]) for r in head["rows"]]
    page = client.get(f"/v1/plans/{plan_id}/report.html", headers=key).text
    assert card_rows(page)[:len(rows)] == rows            # the report's cards are the web view's
    labels = [r[0] for r in rows]
    assert labels[:3] == ["contacts forecast", "on-queue hours needed / rostered", "shrinkage"]
    # same basis: both on-queue, recomputed here from the tables the result carries
    needed = sum(r["agents"] for r in result["requirements"])
    rostered = sum(c["on_queue"] for c in result["roster"]["coverage"])
    assert head["required_on_queue_hours"] == pytest.approx(needed)       # 60-minute intervals
    assert head["rostered_on_queue_hours"] == pytest.approx(rostered)
    assert rows[1][1] == f"{needed:,.0f} / {rostered:,.0f}"
    assert head["shrinkage"] == {"billing": 0.3} and rows[2][1] == "30%"
    worst = head["worst_interval"]
    assert worst["text"] in rows[3][2] and "inf" not in json.dumps(head).lower()
    # the optimality gap is a footnote, never a headline card
    assert not any("gap" in " ".join(r).lower() for r in rows)
    assert "optimality gap" in head["solver"] and 'class="footnote"' in page


def test_every_element_the_script_looks_up_is_on_the_page(client):
    page = client.get("/ui").text
    script = client.get("/ui/static/app.js").text
    wanted = set(re.findall(r'\$\("#([\w-]+)', script))
    present = set(re.findall(r'id="([\w-]+)"', page))
    assert {"site-select", "load-site", "run-site-plan", "publish-plan", "request-table"} <= wanted
    assert wanted - present == set()


def test_the_site_picker_s_calls_plan_publish_and_decide_a_stored_site(client, key):
    """The calls the Stored sites section makes, in its order, with the bodies it builds."""
    site = {"id": "ui-site", "name": "UI site", "timezone": "Europe/Berlin", "interval_minutes": 60}
    assert client.post("/v1/sites", json=site, headers=key).status_code == 201
    template = {"id": "D", "start_times": ["08:00", "10:00"], "length_minutes": 480}
    assert client.put("/v1/sites/ui-site/templates/D", json=template, headers=key).status_code == 201
    assert client.post("/v1/sites/ui-site/agents/import", content=b"id,skills\na0,billing\na1,billing\na2,billing\n",
                       headers={**key, "Content-Type": "text/csv"}).status_code == 200
    assert "ui-site" in [s["id"] for s in client.get("/v1/sites", headers=key).json()]
    other = {"X-API-Key": client.app.state.store.create_api_key("ui-other")}
    assert "ui-site" not in [s["id"] for s in client.get("/v1/sites", headers=other).json()]
    assert [a["id"] for a in client.get("/v1/sites/ui-site/agents", headers=key).json()] == ["a0", "a1", "a2"]
    # sitePlanBody for a site without queue targets: history, days, time limit and the default target
    body = {"history": history_rows(weeks=4), "forecast": {"days": 7}, "solver": {"time_limit_seconds": 3},
            "default_target": {"service_level": 0.8, "answer_seconds": 20, "shrinkage": 0.3}}
    job = client.post("/v1/sites/ui-site/plans", json=body, headers=key)
    assert job.status_code == 202, job.text
    view = wait(client, job.json()["id"], key)
    assert view["status"] == "succeeded", view
    shifts = client.get(f"/v1/plans/{view['id']}", headers=key).json()["roster"]["shifts"]
    assert shifts and {s["agent"] for s in shifts} <= {"a0", "a1", "a2"}
    published = client.post("/v1/sites/ui-site/schedules", json={"job_id": view["id"]}, headers=key)
    assert published.status_code == 201 and published.json()["version"] == 1
    first = shifts[0]
    filed = client.post("/v1/sites/ui-site/requests", headers=key, json={
        "type": "time_off", "agent": first["agent"], "first_day": first["day"], "last_day": first["day"]})
    assert filed.status_code == 201, filed.text
    listed = client.get("/v1/sites/ui-site/requests?status=pending", headers=key).json()
    assert [r["id"] for r in listed] == [filed.json()["id"]]
    row = listed[0]
    assert row["etag"] == filed.headers["etag"] and row["check"]["coverage"]["intervals"]  # what the table shows
    url = f"/v1/sites/ui-site/requests/{row['id']}"
    assert client.post(f"{url}/deny", json={"reason": ""}, headers={**key, "If-Match": row["etag"]}).status_code == 422
    stale = client.post(f"{url}/approve", json={"reason": ""}, headers={**key, "If-Match": '"stale"'})
    assert stale.status_code == 412
    decided = client.post(f"{url}/deny", json={"reason": "team minimum"}, headers={**key, "If-Match": row["etag"]})
    assert decided.status_code == 200 and decided.json()["status"] == "denied"
    again = client.post(f"{url}/approve", json={"reason": ""}, headers={**key, "If-Match": row["etag"]})
    assert again.status_code == 412  # the decision changed the ETag: the page refreshes the table
    assert client.get("/v1/sites/ui-site/requests?status=pending", headers=key).json() == []
