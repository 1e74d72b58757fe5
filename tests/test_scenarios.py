"""What-if scenarios: overrides land exactly where they say, both modes compare against the
base, a failing scenario does not sink the others, and Dask gives the same answers."""

import json
from datetime import time

import numpy as np
import pandas as pd
import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from wfm.cli import app
from wfm.domain import Horizon, ServiceTarget
from wfm.executor import DaskExecutor, SequentialExecutor
from wfm.plan import PlanBase, parse_config
from wfm.scenarios import Scenario, ScenarioRequest, apply_demand, run_scenarios

runner = CliRunner()
TZ = "Europe/Berlin"
HORIZON = Horizon(start="2026-06-01", days=2, interval_minutes=60, timezone=TZ)  # Monday, Tuesday


def forecast_frame(volume=30.0, horizon=HORIZON):
    starts = horizon.interval_starts()
    busy = (starts.hour >= 8) & (starts.hour < 18)
    parts = [pd.DataFrame({"interval_start": starts, "queue": q, "volume": np.where(busy, volume * share, 0.0),
                           "volume_lower": np.where(busy, volume * share * 0.8, 0.0),
                           "volume_upper": np.where(busy, volume * share * 1.3, 0.0), "aht_seconds": aht})
             for q, share, aht in (("calls", 1.0, 240.0), ("mail", 0.5, 300.0))]
    return pd.concat(parts, ignore_index=True)


def write_base(folder, agents=10, replications=3, days=2):
    frame = forecast_frame(horizon=HORIZON.model_copy(update={"days": days}))
    frame.assign(interval_start=[t.isoformat() for t in frame["interval_start"]]).to_csv(folder / "fc.csv", index=False)
    config = {"timezone": TZ, "interval_minutes": 60, "forecast": {"file": "fc.csv"},
              "queues": {"calls": {"service_level": 0.8, "answer_seconds": 20},
                         "mail": {"service_level": 0.8, "answer_seconds": 60}},
              "roster": {"templates": [{"id": "day", "start_times": ["08:00"], "length_minutes": 600}],
                         "agents": [{"id": f"a{k:02d}", "skills": ["calls", "mail"], "cost_per_hour": 20}
                                    for k in range(agents)],
                         "solver": {"time_limit_seconds": 1, "workers": 1}},
              "simulation": {"replications": replications}}
    (folder / "plan.yaml").write_text(yaml.safe_dump(config))
    return config


def request(folder, scenarios, mode="requirements", agents=10, days=2):
    config = write_base(folder, agents, days=days)
    return ScenarioRequest(base=parse_config(config, folder), mode=mode, scenarios=scenarios)


# --------------------------------------------------------------------------- overrides


def bare_base():
    return PlanBase(horizon=HORIZON, forecast=forecast_frame(),
                    targets={"calls": ServiceTarget(), "mail": ServiceTarget()}, setup=None)


def expected_hit(ts, queue, change):
    local = ts.tz_convert(TZ)
    if change["queues"] is not None and queue not in change["queues"]:
        return False
    if change["days"] is not None and not any(
            d == local.date().isoformat() or d == local.day_name().lower()[:len(d)] for d in change["days"]):
        return False
    t, lo, hi = local.time(), change["start_time"], change["end_time"]
    if lo is not None and hi is not None and hi <= lo:
        return t >= lo or t < hi
    return (lo is None or t >= lo) and (hi is None or t < hi)


hours = st.none() | st.integers(0, 23).map(lambda h: time(h))


@given(multiplier=st.floats(0, 3), queues=st.none() | st.sampled_from([["calls"], ["mail"], ["calls", "mail"]]),
       days=st.none() | st.sampled_from([["monday"], ["tue"], ["2026-06-02"], ["mon", "2026-06-02"]]),
       start_time=hours, end_time=hours)
def test_volume_change_touches_exactly_the_matching_intervals(multiplier, queues, days, start_time, end_time):
    base = bare_base()
    change = {"multiplier": multiplier, "queues": queues, "days": days, "start_time": start_time, "end_time": end_time}
    got = apply_demand(base, base.forecast, Scenario(name="s", volume=[change]))
    for row, new in zip(base.forecast.itertuples(), got["volume"]):
        factor = multiplier if expected_hit(row.interval_start, row.queue, change) else 1.0
        assert new == pytest.approx(row.volume * factor)


def test_aht_change_and_bad_overrides_are_named():
    base = bare_base()
    got = apply_demand(base, base.forecast, Scenario(name="s", aht=[{"queues": ["mail"], "add_seconds": 20}]))
    mail = (got["queue"] == "mail").to_numpy()
    assert (got.loc[mail, "aht_seconds"] == 320).all() and (got.loc[~mail, "aht_seconds"] == 240).all()
    with pytest.raises(ValueError, match="neither a weekday name nor a date"):
        Scenario(name="s", volume=[{"multiplier": 2, "days": ["someday"]}])
    with pytest.raises(ValueError, match="Extra inputs are not permitted"):
        Scenario(name="s", volum=[{"multiplier": 2}])
    with pytest.raises(ValueError, match=r"unknown field\(s\) \['max_weekend'\]; rules has"):
        Scenario(name="s", rules={"max_weekend": 2})


# --------------------------------------------------------------------------- everyday what-ifs


def test_simple_what_ifs_change_only_what_they_say(tmp_path):
    """Scenario.simple (volume factor, AHT seconds, shrinkage), as the API's plan what-ifs and the
    demo's sample set use it, against the base's own requirement (no roster in force)."""
    import math

    from wfm.staffing.requirements import required_agents

    config = {**write_base(tmp_path), "simulation": None}
    del config["roster"]
    base_config = parse_config(config, tmp_path)
    report = run_scenarios(ScenarioRequest(base=base_config, scenarios=[
        Scenario.simple("same"), Scenario.simple("s40", shrinkage=0.4), Scenario.simple("v+15", volume_multiplier=1.15),
        Scenario.simple("aht+120", aht_add_seconds=120)]))
    base, s40, v15, aht = report.base.metrics, *(r.metrics for r in report.scenarios[1:])
    assert all(d is None or abs(d) < 1e-12 for d in report.scenarios[0].deltas.values())
    # shrinkage: scheduled = ceil(on-queue agents / (1 - 0.4)) per interval, computed here from the
    # forecast file; 2 days are 2/7 of a week of 40-hour FTEs
    hours = 0
    frame = forecast_frame()
    for queue, part in frame.groupby("queue"):
        target = ServiceTarget(**config["queues"][queue])
        agents = required_agents(part["volume"], part["aht_seconds"], 60, target,
                                 open_mask=(part["volume_upper"] > 0).to_numpy()).agents
        hours += sum(math.ceil(a / 0.6 - 1e-9) for a in agents)
    assert s40.required_fte == pytest.approx(hours / 40 / (2 / 7))
    assert s40.required_hours == base.required_hours and s40.service_level == base.service_level
    assert v15.contacts == pytest.approx(1.15 * base.contacts) and v15.required_hours > base.required_hours
    assert aht.contacts == base.contacts and aht.required_hours > base.required_hours
    assert Scenario.simple("none").volume == [] and Scenario.simple("none").aht == []


# --------------------------------------------------------------------------- the two modes


def test_requirements_mode_keeps_the_roster_in_force_and_isolates_a_failure(tmp_path):
    req = request(tmp_path, [
        Scenario(name="busier", volume=[{"multiplier": 1.4}]),
        Scenario(name="stricter", targets=[{"service_level": 0.95}], hire=[{"count": 2, "skills": ["calls"]}]),
        Scenario(name="typo", volume=[{"multiplier": 1.1, "queues": ["cals"]}]),
    ])
    report = run_scenarios(req, SequentialExecutor())
    base, (busier, stricter, typo) = report.base, report.scenarios
    assert base.status == busier.status == stricter.status == "ok"
    assert typo.status == "failed" and "cals" in typo.error and "unknown queue" in typo.error
    b, m = base.metrics, busier.metrics
    assert m.contacts == pytest.approx(1.4 * b.contacts)
    assert m.required_fte > b.required_fte and m.service_level < b.service_level
    assert m.scheduled_paid_hours == b.scheduled_paid_hours and m.cost == b.cost  # the same roster
    assert m.under_hours > b.under_hours
    for name, delta in busier.deltas.items():
        if delta is not None:
            assert delta == pytest.approx(getattr(m, name) - getattr(b, name)), name
    assert b.simulated_service_level_low <= b.simulated_service_level <= b.simulated_service_level_high
    assert m.simulated_service_level < b.simulated_service_level  # the same roster, more contacts
    assert stricter.metrics.required_hours > b.required_hours
    assert any("--mode roster" in n for n in stricter.notes)  # hiring needs a new roster
    table = report.table()
    assert list(table["scenario"]) == ["base", "busier", "stricter", "typo"]
    assert table.loc[3, "error"] == typo.error and np.isnan(table.loc[3, "required_fte"])


def test_roster_mode_hires_removes_and_names_an_impossible_contract(tmp_path):
    req = request(tmp_path, [
        Scenario(name="hire", hire=[{"count": 3, "prefix": "new", "skills": ["calls"], "cost_per_hour": 25}]),
        Scenario(name="nobody", remove={"count": 4}),
        Scenario(name="impossible", hire=[{"count": 1, "prefix": "x", "skills": ["calls"],
                                           "contract": {"min_hours": 30, "max_hours": 40, "max_days": 2}}]),
    ], mode="roster", agents=4, days=7)  # contract minimums hold for whole weeks
    frames = {}
    report = run_scenarios(req, SequentialExecutor(), tables=frames)
    base, (hire, nobody, impossible) = report.base, report.scenarios
    assert base.status == hire.status == "ok"
    assert base.metrics.under_hours > 0  # 4 agents are too few
    assert hire.metrics.under_hours < base.metrics.under_hours
    assert hire.metrics.scheduled_paid_hours > base.metrics.scheduled_paid_hours
    assert hire.deltas["cost"] == pytest.approx(hire.metrics.cost - base.metrics.cost) and hire.deltas["cost"] > 0
    rostered = set(frames["hire"]["roster"]["agent"])
    assert {"new-01", "new-02", "new-03"} <= rostered
    assert nobody.status == "failed" and "no agents would be left" in nobody.error
    assert impossible.status == "failed" and "(x-01)" in impossible.error


def test_scenarios_on_dask_equal_the_sequential_run(tmp_path, dask_address):
    req = request(tmp_path, [Scenario(name="busier", volume=[{"multiplier": 1.2, "days": ["monday"]}]),
                             Scenario(name="p80", percentile=0.8)])
    alone = run_scenarios(req, SequentialExecutor())
    spread = run_scenarios(req, DaskExecutor(dask_address))
    assert spread.executor.startswith("dask") and alone.executor == "sequential"
    for a, b in zip([alone.base, *alone.scenarios], [spread.base, *spread.scenarios]):
        assert a.metrics == b.metrics and a.deltas == b.deltas


# --------------------------------------------------------------------------- the command line


def test_scenario_command_writes_the_comparison(tmp_path):
    write_base(tmp_path)
    (tmp_path / "set.yaml").write_text(yaml.safe_dump({
        "base": "plan.yaml", "simulation": None,
        "scenarios": [{"name": "monday +15%", "volume": [{"multiplier": 1.15, "days": ["monday"]}]},
                      {"name": "no such agent", "remove": {"agents": ["zz"]}}]}))
    out = tmp_path / "out"
    res = runner.invoke(app, ["scenario", "run", str(tmp_path / "set.yaml"), "--mode", "roster", "--out", str(out),
                              "--processes", "1", "--time-limit", "1"])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out / "comparison.csv")
    assert list(table["scenario"]) == ["base", "monday +15%", "no such agent"]
    assert list(table["status"]) == ["ok", "ok", "failed"] and "'zz'" in table.loc[2, "error"]
    fte = table["required_fte"]
    assert table.loc[1, "required_fte_delta"] == pytest.approx(fte[1] - fte[0])
    assert table["simulated_service_level"].isna().all()  # simulation: null in the file
    report = json.loads((out / "report.json").read_text())
    assert report["mode"] == "roster" and len(report["scenarios"]) == 2
    assert (out / "monday-15" / "roster.csv").exists()
    assert "[3/3]" in res.stderr and "FAILED" in res.stderr


def test_bad_scenario_file_exits_2_naming_the_key(tmp_path):
    write_base(tmp_path)
    (tmp_path / "set.yaml").write_text("base: plan.yaml\nscenarios:\n  - name: a\n    volumes: []\n")
    res = runner.invoke(app, ["scenario", "run", str(tmp_path / "set.yaml")])
    assert res.exit_code == 2 and "scenarios.0.volumes: Extra inputs are not permitted" in res.stderr
    (tmp_path / "dupes.yaml").write_text("base: plan.yaml\nscenarios: [{name: a}, {name: a}]\n")
    res = runner.invoke(app, ["scenario", "run", str(tmp_path / "dupes.yaml")])
    assert res.exit_code == 2 and "unique" in res.stderr


def test_simulate_command_on_a_plan_folder(tmp_path):
    write_base(tmp_path)
    res = runner.invoke(app, ["plan", str(tmp_path / "plan.yaml"), "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    res = runner.invoke(app, ["simulate", str(tmp_path / "plan"), "--replications", "3", "--out", str(tmp_path / "sim"),
                              "--processes", "1"])
    assert res.exit_code == 0, res.output
    summary = pd.read_csv(tmp_path / "sim" / "simulation_summary.csv")
    assert list(summary["queue"]) == ["calls", "mail", "all"]
    assert (summary["service_level_low"] <= summary["service_level"]).all()
    res = runner.invoke(app, ["simulate", str(tmp_path / "plan"), "--replications", "1"])
    assert res.exit_code == 2 and "--replications" in res.stderr
