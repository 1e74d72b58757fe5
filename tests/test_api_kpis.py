"""POST /v1/kpis and the given-headcount form of POST /v1/staffing, in process."""

import io
import math

import pandas as pd
import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings

TZ = "Europe/Berlin"
CALLS = [  # billing 09:00: 4 offered, 2 abandoned, answered waits 5 and 25; tech: waits 20 and 0
    {"created_at": "2026-03-02T09:01:00+01:00", "queue": "billing", "handle_seconds": 100, "wait_seconds": 5,
     "abandoned": False},
    {"created_at": "2026-03-02T09:10:00+01:00", "queue": "billing", "handle_seconds": 200, "wait_seconds": 25,
     "abandoned": False},
    {"created_at": "2026-03-02T09:20:00+01:00", "queue": "billing", "handle_seconds": 0, "wait_seconds": 12,
     "abandoned": True},
    {"created_at": "2026-03-02T09:30:00+01:00", "queue": "billing", "handle_seconds": 0, "wait_seconds": 50,
     "abandoned": True},
    {"created_at": "2026-03-02T09:40:00+01:00", "queue": "tech", "handle_seconds": 300, "wait_seconds": 20,
     "abandoned": False},
    {"created_at": "2026-03-02T10:05:00+01:00", "queue": "tech", "handle_seconds": 400, "wait_seconds": 0,
     "abandoned": False},
]


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    folder = tmp_path_factory.mktemp("api-kpis")
    settings = Settings(database_url=f"sqlite:///{folder / 'jobs.db'}", solver_processes=1, max_history_rows=10,
                        poll_seconds=0.05)
    with TestClient(create_app(settings)) as c:
        c.headers.update({"X-API-Key": c.app.state.store.create_api_key("acme")})
        yield c


def by_queue(rows):
    return {r["queue"]: r for r in rows}


def test_kpis_from_json_rows(client):
    res = client.post("/v1/kpis", json={"timezone": TZ, "by": "day", "history": CALLS})
    assert res.status_code == 200, res.text
    body = res.json()
    rows = by_queue(body["rows"])
    assert set(rows) == {"all", "billing", "tech"}
    billing, every = rows["billing"], rows["all"]
    assert (billing["offered"], billing["answered"], billing["abandoned"]) == (4, 2, 2)
    assert billing["service_level"] == pytest.approx(1 / 4) and billing["asa_seconds"] == pytest.approx(15)
    assert every["service_level"] == pytest.approx(3 / 6) and every["aht_seconds"] == pytest.approx(250)
    assert every["period_start"] == "2026-03-02T00:00:00+01:00"
    assert body["columns"][:3] == ["period_start", "queue", "offered"] and "csat_mean" not in body["columns"]
    assert any("csat" in n for n in body["notes"]) and body["ingest"]["rows_kept"] == 6


def test_kpis_from_an_upload_as_csv(client):
    frame = pd.DataFrame(CALLS).rename(columns={"wait_seconds": "q_time"})
    frame["outcome"] = frame.pop("abandoned").map({True: "HANG", False: "AGENT"})
    upload = frame.to_csv(sep="\t", index=False).encode()
    res = client.post("/v1/kpis", params={"format": "csv"}, files={"file": ("calls.tsv", upload, "text/plain")},
                      data={"timezone": TZ, "by": "day", "answer_seconds": "30",
                            "abandoned_if": '{"outcome": ["HANG"]}', "kpi_columns": '{"wait_seconds": "q_time"}'})
    assert res.status_code == 200, res.text
    assert res.headers["content-type"].startswith("text/csv")
    table = pd.read_csv(io.StringIO(res.text)).set_index("queue")
    # within 30 s: answered waits 5, 25, 20, 0 -> all four; 6 offered
    assert table.loc["all", "service_level"] == pytest.approx(4 / 6)
    assert table.loc["billing", "abandon_rate"] == pytest.approx(0.5)


@pytest.mark.parametrize("change,field,text", [
    ({"wait_seconds": "soon"}, "body.history[2].wait_seconds", "line 4, wait_seconds='soon'"),
    ({"abandoned": "maybe"}, "body.history[2].abandoned", "abandoned must be true or false"),
    ({"created_at": "never"}, "body.history[2].created_at", "unparseable timestamp"),
])
def test_bad_rows_are_422_with_the_row_and_column(client, change, field, text):
    rows = [dict(r) for r in CALLS]
    rows[2].update(change)
    res = client.post("/v1/kpis", json={"timezone": TZ, "history": rows})
    assert res.status_code == 422, res.text
    body = res.json()
    assert body["error"] == "invalid_history" and body["fields"][0]["field"] == field and text in body["message"]


def test_bad_upload_row_names_the_file_and_line(client):
    text = pd.DataFrame(CALLS).assign(wait_seconds=[5, 25, -1, 50, 20, 0]).to_csv(index=False).encode()
    res = client.post("/v1/kpis", files={"file": ("h.csv", text, "text/csv")}, data={"timezone": TZ})
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.file"
    assert "line 4, wait_seconds='-1'" in res.json()["message"]


@pytest.mark.parametrize("options,field", [
    ({"by": "month"}, "body.by"), ({"answer_seconds": -1}, "body.answer_seconds"),
    ({"abandoned_if": {"a": ["x"], "b": ["y"]}}, "body.abandoned_if"), ({"timezone": "Mars/Olympus"}, "body.timezone"),
    ({"history": []}, "body.history"), ({"history": CALLS * 2}, "body.history"),  # at most 10 rows on this server
])
def test_bad_options_and_limits_are_422_with_the_field(client, options, field):
    res = client.post("/v1/kpis", json={"timezone": TZ, "history": CALLS, **options})
    assert res.status_code == 422, res.text
    assert res.json()["fields"][0]["field"] == field


def test_unknown_abandoned_if_column_is_422_not_500(client):
    res = client.post("/v1/kpis", json={"timezone": TZ, "history": CALLS, "abandoned_if": {"outcome": ["HANG"]}})
    assert res.status_code == 422 and "no such column" in res.json()["message"]


def test_kpis_need_a_key(client):
    res = client.post("/v1/kpis", json={"timezone": TZ, "history": CALLS}, headers={"X-API-Key": "wfm_nope"})
    assert res.status_code == 401


def erlang_c_sl(n, load, aht, t):
    top = load ** n / math.factorial(n) * n / (n - load)
    p_wait = top / (sum(load ** k / math.factorial(k) for k in range(n)) + top)
    return 1 - p_wait * math.exp(-(n - load) * t / aht), p_wait * aht / (n - load)


def test_staffing_for_given_agents(client):
    body = {"interval_minutes": 30, "target": {"answer_seconds": 20, "shrinkage": 0.25},
            "queues": [{"queue": "sales", "volume": [100, 100, 0], "aht_seconds": [180, 180, 0], "agents": [12, 9, 0]}]}
    res = client.post("/v1/staffing", json=body)
    assert res.status_code == 200, res.text
    q = res.json()["queues"][0]
    sl, asa = erlang_c_sl(12, 10.0, 180, 20)
    assert q["agents"] == [12, 9, 0] and q["scheduled_agents"] == [16, 12, 0]
    assert q["service_level"][0] == pytest.approx(sl) and q["asa_seconds"][0] == pytest.approx(asa)
    assert q["service_level"][1] == 0 and q["asa_seconds"][1] is None  # 9 agents under 10 Erlangs: unbounded
    assert q["summary"]["asa_seconds"] is None  # and so is the day's


@pytest.mark.parametrize("queue,extra,field", [
    ({"agents": [1, -1]}, {}, "body.queues[0].agents[1]"),
    ({"agents": [1]}, {}, "body.queues[0]"),
    ({"agents": [1, 2]}, {"deadline_minutes": 60}, "body.queues[0].agents"),
])
def test_staffing_bad_agents_name_the_field(client, queue, extra, field):
    body = {"queues": [{"volume": [10, 20], "aht_seconds": [100, 100], **queue}], **extra}
    res = client.post("/v1/staffing", json=body)
    assert res.status_code == 422, res.text
    assert res.json()["fields"][0]["field"] == field


@pytest.mark.parametrize("as_upload", [False, True])
def test_last_days_keeps_the_history_s_last_days_as_wfm_kpi_does(client, as_upload):
    """The option was ignored (the answer began on the history's first day)."""
    earlier = [{**c, "created_at": c["created_at"].replace("2026-03-02", "2026-02-23")} for c in CALLS[:3]]
    if as_upload:
        upload = pd.DataFrame(earlier + CALLS).to_csv(index=False).encode()
        res = client.post("/v1/kpis", files={"file": ("calls.csv", upload, "text/csv")},
                          data={"timezone": TZ, "by": "day", "last_days": "1"})
    else:
        res = client.post("/v1/kpis", json={"timezone": TZ, "by": "day", "last_days": 1, "history": earlier + CALLS})
    assert res.status_code == 200, res.text
    assert {r["period_start"][:10] for r in res.json()["rows"]} == {"2026-03-02"}
