"""`wfm plan`: the sample config end to end, config validation messages, forecast files
(with a DST day), percentiles of the forecast, and command-line overrides."""

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from forecasts.pipeline import _band, quantile_volume
from wfm.cli import app
from wfm.domain import Horizon, ServiceTarget
from wfm.errors import InputError
from wfm.plan import load_config, parse_config, run_plan
from wfm.plan_files import write_plan
from wfm.staffing import required_agents

from history_helpers import month_start_tickets

runner = CliRunner()
SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


def test_sample_plan_end_to_end(tmp_path):
    out = tmp_path / "plan"
    res = runner.invoke(app, ["plan", str(SAMPLE / "plan.yaml"), "--out", str(out), "--time-limit", "4",
                              "--solver-threads", "1"])
    assert res.exit_code == 0, res.output
    for name in ("forecast.csv", "backtest.csv", "requirements.csv", "staffing_summary.csv", "roster_input.json",
                 "roster.csv", "roster.json", "coverage.csv", "simulation.csv", "simulation_summary.csv",
                 "summary.json"):
        assert (out / name).stat().st_size > 0, name
    m = json.loads((out / "summary.json").read_text())["metrics"]
    req, roster, cov = (pd.read_csv(out / f) for f in ("requirements.csv", "roster.csv", "coverage.csv"))
    # The summary agrees with the tables it came from, recomputed here from the files.
    assert m["required_fte"] == pytest.approx(req["scheduled_agents"].sum() * 0.5 / 40)
    assert m["scheduled_paid_hours"] == pytest.approx(roster["paid_hours"].sum())
    assert m["under_hours"] == pytest.approx((cov["required"] - cov["on_queue"]).clip(lower=0).sum() * 0.5)
    assert m["over_hours"] == pytest.approx((cov["on_queue"] - cov["required"]).clip(lower=0).sum() * 0.5)
    assert m["contacts"] == pytest.approx(req["volume"].sum())
    assert (0 <= m["simulated_service_level_low"] <= m["simulated_service_level"]
            <= m["simulated_service_level_high"] <= 1)
    sim = pd.read_csv(out / "simulation.csv")
    assert set(sim["queue"]) == {"billing", "tech"} and len(sim) == len(cov)
    assert "SL simulated" in res.stdout


def test_yaml_and_json_configs_are_the_same_plan(tmp_path):
    import yaml

    raw = yaml.safe_load((SAMPLE / "plan.yaml").read_text())
    (tmp_path / "plan.json").write_text(json.dumps(raw))
    from_json = load_config(tmp_path / "plan.json")
    from_yaml = load_config(SAMPLE / "plan.yaml")
    assert from_json.queues == from_yaml.queues and from_json.roster.solver == from_yaml.roster.solver
    assert from_yaml.history.file == SAMPLE / "tickets.csv.gz"  # relative to the config file
    assert from_json.history.file == tmp_path / "tickets.csv.gz"


@pytest.mark.parametrize("change,message", [
    ({"queues": {"billing": {"service_level": 1.5}}},
     "queues.billing: service_level=1.5: must be strictly between 0 and 1"),
    ({"queues": {"billing": {"servce_level": 0.8}}}, "queues.billing.servce_level: Extra inputs are not permitted"),
    ({"timezone": "Mars/Olympus"}, "timezone: not an IANA timezone name"),
    ({"interval_minutes": 20}, "interval_minutes: Input should be 15, 30 or 60 (got 20)"),
    ({"forecast": {"file": "f.csv"}}, "give either history.file (to forecast) or forecast.file"),
    ({"history": None}, "give either history.file (to forecast) or forecast.file"),
    ({"fte_hours": 0}, "fte_hours: Input should be greater than 0"),
])
def test_bad_config_says_where_and_what(change, message):
    import yaml

    raw = {**yaml.safe_load((SAMPLE / "plan.yaml").read_text()), **change}
    with pytest.raises(InputError) as info:
        parse_config(raw, SAMPLE)
    assert message in str(info.value)


def test_bad_config_on_the_command_line_exits_2_without_traceback(tmp_path):
    (tmp_path / "plan.yaml").write_text("timezone: Europe/Berlin\nqueues: {q: {service_level: 0.8}}\n"
                                        "history: {file: missing.csv}\n")
    res = runner.invoke(app, ["plan", str(tmp_path / "plan.yaml"), "--out", str(tmp_path / "out")])
    assert res.exit_code == 2 and "file not found" in res.stderr and "Traceback" not in res.output
    (tmp_path / "broken.yaml").write_text("timezone: Europe/Berlin\nqueues: [\n")
    res = runner.invoke(app, ["plan", str(tmp_path / "broken.yaml")])
    assert res.exit_code == 2 and "not valid YAML at line" in res.stderr


def small_forecast(path, start="2026-10-24", days=2, timezone="Europe/Berlin"):
    """Hourly forecast of one queue: 40 contacts an hour 08:00-18:00, nothing at night."""
    starts = Horizon(start=start, days=days, interval_minutes=60, timezone=timezone).interval_starts()
    busy = (starts.hour >= 8) & (starts.hour < 18)
    frame = pd.DataFrame({"interval_start": [t.isoformat() for t in starts], "queue": "q",
                          "volume": np.where(busy, 40.0, 0.0), "volume_lower": np.where(busy, 30.0, 0.0),
                          "volume_upper": np.where(busy, 52.0, 0.0), "aht_seconds": 240.0})
    frame.to_csv(path, index=False)
    return starts


def small_config(tmp_path, **extra):
    small_forecast(tmp_path / "forecast.csv")
    raw = {"timezone": "Europe/Berlin", "interval_minutes": 60, "forecast": {"file": "forecast.csv", "level": 0.8},
           "queues": {"q": {"service_level": 0.8, "answer_seconds": 20}},
           "roster": {"templates": [{"id": "day", "start_times": ["08:00"], "length_minutes": 600}],
                      "agents": [{"id": f"a{k}", "skills": ["q"], "contract": {"max_hours": 40}} for k in range(8)],
                      "solver": {"time_limit_seconds": 3, "workers": 1}},
           "simulation": {"replications": 3}}
    raw.update(extra)
    return parse_config(raw, tmp_path)


def test_plan_from_a_forecast_file_over_the_25_hour_day(tmp_path):
    result = run_plan(small_config(tmp_path))
    write_plan(result, tmp_path / "out")
    assert result.ok and result.base.horizon.days == 2
    req = result.requirements
    assert len(req) == 49  # Saturday 24 h + Sunday 25 h (clocks go back)
    need = required_agents([40.0], [240.0], 60, ServiceTarget(service_level=0.8, answer_seconds=20)).agents[0]
    assert (req.loc[req["volume"] == 0, "agents"] == 0).all() and (req.loc[req["volume"] > 0, "agents"] == need).all()
    assert result.metrics.under_hours == 0 and result.metrics.over_hours == 0 and result.metrics.service_level >= 0.8
    assert len(pd.read_csv(tmp_path / "out" / "roster.csv")) == 2 * need  # of 8 agents, just enough each day


def test_percentile_volume_sits_on_the_forecast_band():
    rng = np.random.default_rng(0)
    residuals = rng.normal(0.3, 1.2, 400)
    f = np.array([0.0, 3.0, 50.0, 400.0])
    lower, upper = _band(f, residuals, 0.9)
    np.testing.assert_allclose(quantile_volume(f, residuals, 0.95), upper)
    np.testing.assert_allclose(quantile_volume(f, residuals, 0.05), lower)
    p50, p75, p90 = (quantile_volume(f, residuals, p) for p in (0.5, 0.75, 0.9))
    assert (p50 <= p75).all() and (p75 <= p90).all() and p90[0] == 0  # closed stays closed


def test_percentile_of_a_forecast_file_uses_its_band(tmp_path):
    config = small_config(tmp_path, forecast={"file": "forecast.csv", "level": 0.8, "percentile": 0.9},
                          roster=None, simulation=None)
    result = run_plan(config)
    busy = result.requirements[result.requirements["volume"] > 0]
    assert np.allclose(busy["volume"], 52.0)  # the 0.9 quantile is the upper edge of an 80% band
    assert result.roster is None and result.metrics.under_hours is None


def test_command_line_overrides_the_config():
    config = load_config(SAMPLE / "plan.yaml", interval=60, timezone="Europe/Paris", time_limit=7, seed=3)
    assert config.interval_minutes == 60 and config.timezone == "Europe/Paris"
    assert config.roster.solver.time_limit_seconds == 7 and config.roster.solver.seed == 3


def test_a_plan_names_the_month_start_factor_its_forecast_learnt(tmp_path):
    """Calls 40% up on days 1-5 of each month for 12 weeks: the plan's notes (summary.json) say
    so with the factor, as `wfm forecast` prints it."""
    month_start_tickets(tmp_path / "history.csv", factor=1.4, seed=3)
    config = small_config(tmp_path, history={"file": "history.csv"}, forecast={"days": 7, "level": 0.8})
    notes = [n for n in run_plan(config).base.notes if "days 1-5 of a month" in n]
    assert len(notes) == 1 and notes[0].startswith("q:")
    factor = float(notes[0].split(" x")[1].split()[0])
    assert factor == pytest.approx(1.4, abs=0.1)


def test_a_history_without_handle_times_is_refused_by_its_column_not_by_a_forecast_row(tmp_path):
    rng = np.random.default_rng(4)
    start = pd.Timestamp("2026-01-05", tz="Europe/Berlin")
    stamps = [start + pd.Timedelta(days=d, minutes=float(m)) for d in range(28)
              for m in np.sort(rng.uniform(8 * 60, 18 * 60, 150))]
    pd.DataFrame({"created_at": [t.isoformat() for t in stamps], "queue": "q"}).to_csv(tmp_path / "history.csv",
                                                                                       index=False)
    config = small_config(tmp_path, history={"file": "history.csv"}, forecast={"days": 7, "level": 0.8})
    with pytest.raises(InputError) as err:
        run_plan(config)
    assert err.value.field == "history.handle_col" and err.value.row is None
    assert "['q']" in err.value.reason and "aht_seconds" in err.value.reason
