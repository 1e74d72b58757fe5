"""`wfm review`: a plan folder against actuals, on a folder small enough to check by hand."""

import json
import math

import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.review import review_plan

runner = CliRunner()
HORIZON = {"start": "2026-03-02", "days": 1, "interval_minutes": 60, "timezone": "Europe/Berlin"}


def plan_folder(tmp_path, roster=True):
    folder = tmp_path / "plan"
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps({"horizon": HORIZON}))
    (folder / "forecast.csv").write_text(
        "interval_start,queue,volume,volume_lower,volume_upper,aht_seconds\n"
        "2026-03-02T09:00:00+01:00,q,10,8,12,200\n2026-03-02T10:00:00+01:00,q,20,16,24,100\n")
    (folder / "requirements.csv").write_text(
        "interval_start,queue,volume,aht_seconds,agents,scheduled_agents,service_level,asa_seconds,occupancy\n"
        "2026-03-02T09:00:00+01:00,q,10,200,2,3,0.9,5,0.5\n2026-03-02T10:00:00+01:00,q,20,100,3,4,0.8,5,0.5\n")
    if roster:
        (folder / "coverage.csv").write_text(
            "queue,interval_start,required,scheduled,on_queue,under,over,service_level,volume\n"
            "q,2026-03-02T09:00:00+01:00,2,3,3,0,1,0.95,10\nq,2026-03-02T10:00:00+01:00,3,4,3,0,0,0.85,20\n")
        (folder / "roster_input.json").write_text(json.dumps(
            {"requirements": [{"queue": "q", "target": {"service_level": 0.8, "answer_seconds": 20}}]}))
    return folder


def actuals(tmp_path, extra=""):
    rows = ["created_at,queue,handle_seconds,wait_seconds,abandoned"]
    # 09:00: 12 answered at 250 s, 10 of them within 20 s
    rows += [f"2026-03-02T09:{m:02d}:00+01:00,q,250,{5 if m < 10 else 40},false" for m in range(12)]
    # 10:00: 16 offered, 14 answered at once at 100 s, 2 abandoned (no handle time)
    rows += [f"2026-03-02T10:{m:02d}:00+01:00,q,100,0,false" for m in range(14)]
    rows += ["2026-03-02T10:30:00+01:00,q,0,30,true", "2026-03-02T10:31:00+01:00,q,0,45,true"]
    path = tmp_path / "actuals.csv"
    path.write_text("\n".join(rows) + "\n" + extra)
    return path


def erlang_c_needed(volume, aht, minutes=60, sl=0.8, t=20):
    """Fewest agents whose M/M/N service level reaches `sl`, from the textbook sums."""
    load = volume * aht / (minutes * 60)
    n = math.floor(load) + 1
    while True:
        top = load ** n / math.factorial(n) * n / (n - load)
        p_wait = top / (sum(load ** k / math.factorial(k) for k in range(n)) + top)
        if 1 - p_wait * math.exp(-(n - load) * t / aht) >= sl:
            return n
        n += 1


def test_hand_computed_review(tmp_path):
    result = review_plan(plan_folder(tmp_path), actuals(tmp_path))
    day = result.days.set_index("queue").loc["q"]
    assert (day["forecast_volume"], day["actual_volume"]) == (30, 28)
    assert day["volume_wape"] == pytest.approx((2 + 4) / 28)
    assert day["volume_bias"] == pytest.approx(2 / 28)
    forecast_aht, actual_aht = (10 * 200 + 20 * 100) / 30, (12 * 250 + 14 * 100) / 26
    assert day["forecast_aht_seconds"] == pytest.approx(forecast_aht)
    assert day["actual_aht_seconds"] == pytest.approx(actual_aht)
    assert day["aht_bias"] == pytest.approx(forecast_aht / actual_aht - 1)
    assert (day["required_hours"], day["rostered_hours"]) == (5, 6)
    needed = [erlang_c_needed(12, 250), erlang_c_needed(16, 100)]
    assert day["needed_hours"] == sum(needed)
    assert day["promised_service_level"] == pytest.approx((10 * 0.95 + 20 * 0.85) / 30)  # the roster's promise
    assert day["achieved_service_level"] == pytest.approx((10 + 14) / 28)
    intervals = result.intervals
    assert list(intervals["needed_agents"]) == needed
    assert list(intervals["achieved_service_level"]) == pytest.approx([10 / 12, 14 / 16])
    assert str(intervals["interval_start"].iloc[0]) == "2026-03-02 09:00:00+01:00"
    assert list(result.days["queue"]) == ["q"]  # one queue: no separate `all`
    assert result.notes == []


def test_without_a_roster_promise_and_target_come_from_requirements_and_options(tmp_path):
    target = ServiceTarget(service_level=0.9, answer_seconds=20)
    result = review_plan(plan_folder(tmp_path, roster=False), actuals(tmp_path), default_target=target)
    day = result.days.iloc[0]
    assert "rostered_hours" not in result.days and "rostered_agents" not in result.intervals
    assert day["promised_service_level"] == pytest.approx((10 * 0.9 + 20 * 0.8) / 30)
    assert list(result.intervals["needed_agents"]) == [erlang_c_needed(12, 250, sl=0.9),
                                                      erlang_c_needed(16, 100, sl=0.9)]
    assert any("no service target" in n for n in result.notes)


def test_other_days_queues_and_missing_waits_are_noted(tmp_path):
    extra = "2026-03-03T09:00:00+01:00,q,100,0,false\n2026-03-02T09:00:00+01:00,other,100,0,false\n"
    result = review_plan(plan_folder(tmp_path), actuals(tmp_path, extra))
    assert result.days["actual_volume"].tolist() == [28]
    assert any("outside the plan's days" in n for n in result.notes)
    assert any("not in the plan, left out: other" in n for n in result.notes)
    frame = pd.read_csv(actuals(tmp_path)).drop(columns=["wait_seconds"])
    frame.to_csv(tmp_path / "no_waits.csv", index=False)
    (tmp_path / "second").mkdir()
    result = review_plan(plan_folder(tmp_path / "second"), tmp_path / "no_waits.csv")
    assert result.intervals["achieved_service_level"].isna().all()
    assert any("achieved service level left out" in n for n in result.notes)


def test_bad_plan_folder_and_actuals(tmp_path):
    with pytest.raises(InputError, match="not a folder written by"):
        review_plan(tmp_path / "nope", actuals(tmp_path))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="has no summary.json"):
        review_plan(tmp_path / "empty", actuals(tmp_path))
    late = tmp_path / "late.csv"
    late.write_text("created_at,queue\n2026-04-01T09:00:00+02:00,q\n")
    with pytest.raises(InputError, match="no contacts on the plan's days"):
        review_plan(plan_folder(tmp_path), late)


def test_cli(tmp_path):
    out = tmp_path / "review"
    res = runner.invoke(app, ["review", str(plan_folder(tmp_path)), "--actuals", str(actuals(tmp_path)),
                              "--out", str(out)])
    assert res.exit_code == 0, res.output
    days = pd.read_csv(out / "review_days.csv")
    assert days.loc[0, "actual_volume"] == 28 and "SL achieved" in res.stdout
    assert len(pd.read_csv(out / "review_intervals.csv")) == 2
    res = runner.invoke(app, ["review", str(tmp_path / "nope"), "--actuals", str(actuals(tmp_path))])
    assert res.exit_code == 2 and "not a folder written by" in res.stderr


def test_review_of_a_real_plan_over_the_25_hour_day(tmp_path):
    """`wfm plan` on a two-day forecast (clocks go back on the Sunday), then actuals exactly as
    forecast: no error, no bias, needed = required, every contact answered at once."""
    from wfm.domain import Horizon

    starts = Horizon(start="2026-10-24", days=2, interval_minutes=60, timezone="Europe/Berlin").interval_starts()
    busy = (starts.hour >= 8) & (starts.hour < 18)
    pd.DataFrame({"interval_start": [t.isoformat() for t in starts], "queue": "q",
                  "volume": [40.0 if b else 0.0 for b in busy], "aht_seconds": 240.0}).to_csv(
        tmp_path / "forecast.csv", index=False)
    config = {"timezone": "Europe/Berlin", "interval_minutes": 60, "forecast": {"file": "forecast.csv"},
              "queues": {"q": {"service_level": 0.8, "answer_seconds": 20}},
              "roster": {"templates": [{"id": "day", "start_times": ["08:00"], "length_minutes": 600}],
                         "agents": [{"id": f"a{k}", "skills": ["q"], "contract": {"max_hours": 40}} for k in range(8)],
                         "solver": {"time_limit_seconds": 3, "workers": 1}},
              "simulation": None}
    (tmp_path / "plan.json").write_text(json.dumps(config))
    res = runner.invoke(app, ["plan", str(tmp_path / "plan.json"), "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    contacts = [(t + pd.Timedelta(seconds=90 * k)).isoformat() for t, b in zip(starts, busy) if b for k in range(40)]
    pd.DataFrame({"created_at": contacts, "queue": "q", "handle_seconds": 240, "wait_seconds": 0,
                  "abandoned": "false"}).to_csv(tmp_path / "actuals.csv", index=False)
    result = review_plan(tmp_path / "plan", tmp_path / "actuals.csv")
    assert len(result.intervals) == 49  # 24 + 25 hours
    days = result.days
    assert list(days["actual_volume"]) == [400, 400] and (days["volume_wape"] == 0).all()
    assert (days["volume_bias"] == 0).all() and days["aht_bias"].abs().max() < 1e-12
    assert (days["needed_hours"] == days["required_hours"]).all()
    assert (days["rostered_hours"] >= days["required_hours"]).all()
    assert (days["achieved_service_level"] == 1).all() and result.notes == []
