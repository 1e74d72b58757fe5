"""A finished plan against what happened, over HTTP: POST /v1/plans/{id}/review (synchronous) and
POST /v1/plans/{id}/intraday (a job, its result at /v1/intraday/{id}). Actuals are made here from the
plan's own forecast, so the expected figures are counted from the rows sent."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from api_helpers import billing_plan_body, roster_input
from test_api_http import make_client, wait
from wfm.domain import Horizon
from wfm.roster.domain import Roster, RosterInput
from wfm.roster.validator import validate


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("actuals")) as c:
        yield c


@pytest.fixture(scope="module")
def key(client):
    return {"X-API-Key": client.app.state.store.create_api_key("acme")}


@pytest.fixture(scope="module")
def plan(client, key):
    body = {**billing_plan_body(contract={"min_hours": 16, "max_hours": 40, "max_days": 5}), "simulation": None}
    res = client.post("/v1/plans", json=body, headers=key)
    assert res.status_code == 202, res.text
    view = wait(client, res.json()["id"], key)
    assert view["status"] == "succeeded", view
    return view["id"], body, client.get(f"/v1/plans/{view['id']}", headers=key).json()


def actual_rows(result: dict, factor: float, day: str, until: str | None = None, wait_seconds: int = 5) -> list[dict]:
    """`factor` times the forecast's contacts of each interval of `day` (before `until`), answered
    after `wait_seconds`."""
    rows = []
    for r in result["forecast"]["intervals"]:
        start = pd.Timestamp(r["interval_start"])
        if str(start.date()) != day or (until is not None and start >= pd.Timestamp(until)):
            continue
        n = int(round(r["volume"] * factor))
        rows += [{"created_at": (start + pd.Timedelta(seconds=int(3600 * (k + 0.5) / n))).isoformat(),
                  "queue": "billing", "handle_seconds": round(r["aht_seconds"]), "wait_seconds": wait_seconds,
                  "abandoned": False} for k in range(n)]
    return rows


def first_day(result: dict) -> str:
    """The plan's first day with contacts forecast (its first days are a weekend)."""
    return min(r["interval_start"][:10] for r in result["forecast"]["intervals"] if r["volume"] > 0)


def test_review_counts_the_rows_sent_against_the_plan(client, key, plan):
    plan_id, _, result = plan
    day = first_day(result)
    rows = actual_rows(result, 1.2, day)
    res = client.post(f"/v1/plans/{plan_id}/review", json={"history": rows}, headers=key)
    assert res.status_code == 200, res.text
    answer = res.json()
    row = next(d for d in answer["days"] if d["day"] == day and d["queue"] == "billing")
    assert row["actual_volume"] == len(rows)
    forecast = sum(r["volume"] for r in result["forecast"]["intervals"] if r["interval_start"].startswith(day))
    assert row["forecast_volume"] == pytest.approx(forecast)
    assert row["volume_bias"] == pytest.approx((forecast - len(rows)) / len(rows))
    assert row["achieved_service_level"] == 1.0  # every contact answered in 5 s, within 20
    assert row["rostered_hours"] > 0 and row["needed_hours"] > 0
    assert len(answer["intervals"]) == len(result["forecast"]["intervals"])


def test_review_errors_name_the_field(client, key, plan):
    plan_id, _, result = plan
    rows = actual_rows(result, 1.0, first_day(result))
    rows[3] = {**rows[3], "created_at": "yesterday"}
    res = client.post(f"/v1/plans/{plan_id}/review", json={"history": rows}, headers=key)
    assert res.status_code == 422
    assert res.json()["fields"][0]["field"] == "body.history[3].created_at"
    assert client.post("/v1/plans/nope/review", json={"history": rows[:2]}, headers=key).status_code == 404
    other = {"X-API-Key": client.app.state.store.create_api_key("globex")}
    assert client.post(f"/v1/plans/{plan_id}/review", json={"history": rows[:2]}, headers=other).status_code == 404
    res = client.post(f"/v1/plans/{plan_id}/review", json={"history": []}, headers=key)
    assert res.status_code == 422 and res.json()["fields"][0]["field"].startswith("body.history")


def test_intraday_job_reforecasts_replans_within_the_rules_and_offers(client, key, plan):
    plan_id, body, result = plan
    day = first_day(result)
    now = f"{day}T13:00"
    rows = actual_rows(result, 1.5, day, until=f"{day}T13:00:00+02:00")
    res = client.post(f"/v1/plans/{plan_id}/intraday", json={"history": rows, "now": now, "time_limit_seconds": 10},
                      headers=key)
    assert res.status_code == 202, res.text
    view = wait(client, res.json()["id"], key)
    assert view["status"] == "succeeded", view
    assert view["kind"] == "intraday" and view["links"]["result"] == f"/v1/intraday/{view['id']}"
    out = client.get(view["links"]["result"], headers=key).json()
    assert out["summary"]["now"].startswith(f"{day}T13:00:00+02:00")
    assert 1.0 < out["summary"]["multipliers"]["billing"] < 1.5
    reforecast = pd.DataFrame(out["reforecast"])
    assert reforecast["volume"].sum() > reforecast["forecast_volume"].sum()
    assert (reforecast["interval_start"] >= f"{day}T13:00").all()
    # the re-plan keeps every hard rule of the plan's own input (the validator, run here)
    horizon = Horizon(start=result["forecast"]["first_day"], days=7, interval_minutes=60, timezone="Europe/Berlin")
    data = RosterInput.model_validate({**json.loads(roster_input(agents=4, seconds=3).model_dump_json()),
                                       "horizon": horizon.model_dump(mode="json"), "agents": body["agents"],
                                       "requirements": [{"queue": "billing",
                                                         "agents": [0] * len(horizon.interval_starts())}]})
    replan = Roster.model_validate(out["roster"])
    assert validate(data, replan).feasible
    assert {o["agent"] for o in out["offers"]} <= {a["id"] for a in body["agents"]}


def test_intraday_bad_input_is_422_before_a_job(client, key, plan):
    plan_id, _, result = plan
    rows = actual_rows(result, 1.0, first_day(result))[:5]
    res = client.post(f"/v1/plans/{plan_id}/intraday", json={"history": rows, "now": "2030-01-01T11:00"}, headers=key)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.now"
    res = client.post(f"/v1/plans/{plan_id}/intraday", json={"history": rows, "now": f"{first_day(result)}T11:00",
                                                              "time_limit_seconds": 600}, headers=key)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.time_limit_seconds"
    res = client.post(f"/v1/plans/{plan_id}/intraday", json={"history": rows, "now": "11 o'clock"}, headers=key)
    assert res.status_code == 422 and res.json()["fields"][0]["field"] == "body.now"
    assert client.get(f"/v1/intraday/{plan_id}", headers=key).status_code == 404  # a plan job, not intraday


def test_intraday_job_with_a_bad_row_fails_naming_it(client, key, plan):
    plan_id, _, result = plan
    day = first_day(result)
    rows = actual_rows(result, 1.0, day, until=f"{day}T13:00:00+02:00")
    rows[2] = {**rows[2], "created_at": "noon"}
    res = client.post(f"/v1/plans/{plan_id}/intraday", json={"history": rows, "now": f"{day}T13:00"}, headers=key)
    assert res.status_code == 202, res.text
    view = wait(client, res.json()["id"], key)
    assert view["status"] == "failed"
    error = view["error"]
    assert error["reason"] == "invalid_history" and error["field"] == "created_at" and error["line"] == 4
    assert "noon" in error["message"]
    res = client.get(f"/v1/intraday/{view['id']}", headers=key)
    assert res.status_code == 409
