"""`wfm forecast` end to end: the script contract and its errors."""

import re
from datetime import date

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app

from history_helpers import month_start_tickets

runner = CliRunner()


def history_csv(tmp_path, days=35, queue=True, tz="Europe/Berlin"):
    rng = np.random.default_rng(0)
    start = pd.Timestamp("2026-02-02", tz=tz)
    stamps = []
    for d in range(days):
        n = rng.poisson(60 if (start + pd.Timedelta(days=d)).day_of_week < 5 else 20)
        minutes = rng.uniform(8 * 60, 18 * 60, n)
        stamps += [start + pd.Timedelta(days=d, minutes=float(m)) for m in np.sort(minutes)]
    frame = pd.DataFrame({"created_at": [t.isoformat() for t in stamps],
                          "handle_seconds": rng.integers(60, 600, len(stamps))})
    if queue:
        frame["queue"] = np.where(np.arange(len(frame)) % 3 == 0, "sales", "support")
    path = tmp_path / "history.csv"
    frame.to_csv(path, index=False)
    return path


def test_forecast_contract(tmp_path):
    out = tmp_path / "forecast.csv"
    res = runner.invoke(app, ["forecast", str(history_csv(tmp_path)), "--days", "7", "--interval", "60",
                              "--timezone", "Europe/Berlin", "--model", "auto", "--out", str(out)])
    assert res.exit_code == 0, res.output
    fc = pd.read_csv(out)
    assert list(fc.columns) == ["interval_start", "queue", "volume", "volume_lower", "volume_upper", "aht_seconds"]
    assert set(fc["queue"]) == {"sales", "support"}
    assert len(fc) == 2 * 7 * 24 and not fc.duplicated(["interval_start", "queue"]).any()
    starts = pd.to_datetime(fc["interval_start"], utc=True).dt.tz_convert("Europe/Berlin")
    assert starts.dt.date.min() == date(2026, 3, 9)  # the day after the last day of history
    assert fc["interval_start"].str.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+01:00$").all()
    assert (fc["volume_lower"] <= fc["volume"]).all() and (fc["volume"] <= fc["volume_upper"]).all()
    assert fc.loc[fc["volume"] > 0, "aht_seconds"].between(60, 600).all()


def test_history_without_queue_gives_all_and_crosses_dst(tmp_path):
    # 35 days from 2026-02-23: the forecast week contains the 23-hour 2026-03-29.
    path = history_csv(tmp_path, days=34, queue=False)
    hist = pd.read_csv(path)
    hist["created_at"] = (pd.to_datetime(hist["created_at"], utc=True) + pd.Timedelta(days=21)).dt.tz_convert(
        "Europe/Berlin").map(lambda t: t.isoformat())
    hist.to_csv(path, index=False)
    res = runner.invoke(app, ["forecast", str(path), "--days", "7", "--interval", "30",
                              "--timezone", "Europe/Berlin"])
    assert res.exit_code == 0, res.output
    fc = pd.read_csv(__import__("io").StringIO(res.stdout))
    assert set(fc["queue"]) == {"all"}
    days = pd.to_datetime(fc["interval_start"], utc=True).dt.tz_convert("Europe/Berlin").dt.date
    assert days.value_counts()[date(2026, 3, 29)] == 46


def test_backtest_prints_scores(tmp_path):
    res = runner.invoke(app, ["forecast", "backtest", str(history_csv(tmp_path)), "--timezone", "Europe/Berlin"])
    assert res.exit_code == 0, res.output
    for word in ("WAPE", "MASE", "coverage", "seasonal_naive", "daily_profile", "weekly_profile"):
        assert word in res.stderr


def test_bad_history_exits_2_with_line_and_column(tmp_path):
    path = tmp_path / "bad.csv"
    path.write_text("created_at,handle_seconds\n2026-01-05T08:00:00+01:00,100\n2026-01-05T09:00:00+01:00,-7\n")
    res = runner.invoke(app, ["forecast", str(path), "--timezone", "Europe/Berlin"])
    assert res.exit_code == 2 and "line 3, handle_seconds=" in res.stderr and "Traceback" not in res.output
    res = runner.invoke(app, ["forecast", str(path), "--timezone", "Mars/Base"])
    assert res.exit_code == 2 and "Mars/Base" in res.stderr
    res = runner.invoke(app, ["forecast", str(path), "--timezone", "Europe/Berlin", "--on-bad-row", "drop"])
    assert res.exit_code == 2 and "at least 7 full days" in res.stderr


def test_backtest_prints_out_of_fold_coverage_overall_and_on_special_days(tmp_path):
    cal = tmp_path / "cal.csv"
    cal.write_text("date,name,factor\n2026-03-03,audit,\n")  # a Tuesday inside the last backtest fold
    res = runner.invoke(app, ["forecast", "backtest", str(history_csv(tmp_path)), "--timezone", "Europe/Berlin",
                              "--model", "weekly_profile", "--calendar", str(cal)])
    assert res.exit_code == 0, res.output
    row = next(line for line in res.stderr.splitlines() if "weekly_profile" in line and "support" in line)
    assert row.rstrip(" │").endswith("%")  # the out-of-fold coverage column
    assert re.search(r"coverage on special days: support weekly_profile \d+\.\d%", res.stderr)


def test_handle_if_option_excludes_handle_times_not_volume(tmp_path):
    path = tmp_path / "calls.csv"
    rng = np.random.default_rng(1)
    start = pd.Timestamp("2026-02-02T08:00:00", tz="Europe/Berlin")
    stamps = [start + pd.Timedelta(days=int(d), minutes=int(m)) for d in range(21) for m in rng.uniform(0, 600, 30)]
    frame = pd.DataFrame({"created_at": [t.isoformat() for t in sorted(stamps)],
                          "handle_seconds": np.where(np.arange(len(stamps)) % 2 == 0, 300, 30),
                          "outcome": np.where(np.arange(len(stamps)) % 2 == 0, "AGENT", "HANG")})
    frame.to_csv(path, index=False)
    outs = {}
    for extra in ([], ["--handle-if", "outcome=AGENT"]):
        out = tmp_path / f"fc{len(extra)}.csv"
        res = runner.invoke(app, ["forecast", str(path), "--timezone", "Europe/Berlin", "--model", "weekly_profile",
                                  "--out", str(out), *extra])
        assert res.exit_code == 0, res.output
        outs[len(extra)] = pd.read_csv(out)
    busy = outs[0]["volume"] > 1
    assert outs[0].loc[busy, "aht_seconds"].between(150, 180).all()  # abandoned calls pull it down
    assert outs[2].loc[busy, "aht_seconds"].to_numpy() == pytest.approx(300.0)
    assert outs[2]["volume"].to_numpy() == pytest.approx(outs[0]["volume"].to_numpy())
    res = runner.invoke(app, ["forecast", str(path), "--timezone", "Europe/Berlin", "--handle-if", "outcome"])
    assert res.exit_code == 2 and "--handle-if='outcome': use COLUMN=VALUE" in res.stderr


def test_forecast_names_the_month_start_factor_it_learnt(tmp_path):
    path = tmp_path / "history.csv"
    month_start_tickets(path, factor=1.4, seed=1)
    res = runner.invoke(app, ["forecast", str(path), "--days", "7", "--interval", "60", "--timezone", "Europe/Berlin",
                              "--out", str(tmp_path / "fc.csv")])
    assert res.exit_code == 0, res.output
    factor = re.search(r"days 1-5 of a month x(\d\.\d\d)", res.output)
    assert factor and float(factor.group(1)) == pytest.approx(1.4, abs=0.1)
