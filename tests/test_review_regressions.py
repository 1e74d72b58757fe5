"""Regression tests for problems found in review: each reproduces a reported failure."""

import numpy as np
import pytest
from typer.testing import CliRunner

from reference_ctmc import reference
from wfm.cli import app
from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.staffing import asa_c, erlang_a_metrics, erlang_b, erlang_c, required_agents, service_level_c

runner = CliRunner()


def test_erlang_a_sl_never_falls_as_the_answer_time_grows():
    # Was: log1p(-1) when x e^{-theta T} / a underflowed, collapsing SL to 1 - P(wait).
    ts = np.array([20, 350, 360, 400, 600, 5000])
    sl = erlang_a_metrics(10, 100 / 1800, 180, 10, ts).service_level
    assert np.all(np.diff(sl) >= -1e-12)
    ref = reference(10, 100, 180, 1800, 600, 10, max_queue=300).service_level
    assert sl[4] == pytest.approx(ref, abs=1e-9)
    ref = reference(26, 44.2 * 1800 / 20, 20, 1800, 300, 5, max_queue=400).service_level
    assert erlang_a_metrics(26, 44.2 / 20, 20, 5, 300).service_level == pytest.approx(ref, abs=1e-9)


def test_looser_erlang_a_target_never_needs_more_agents():
    def t(sec):
        return ServiceTarget(service_level=0.8, answer_seconds=sec, patience_seconds=20)

    assert required_agents([300], [180], 30, t(1000)).agents[0] <= required_agents([300], [180], 30, t(200)).agents[0]


def test_erlang_a_with_huge_patience_matches_erlang_c():
    n = np.arange(10000, 10010)
    sl = erlang_a_metrics(n, 1e4 / 180, 180, 1e6, 20).service_level
    assert np.all(np.diff(sl) > 0)
    m = erlang_a_metrics(12, 100 / 1800, 180, 1e300, 20)
    assert m.asa_seconds == pytest.approx(asa_c(12, 10.0, 180)) and m.abandon_rate == 0


@pytest.mark.parametrize("kwargs", [{"answer_seconds": float("nan")}, {"max_asa_seconds": float("nan")},
                                    {"patience_seconds": float("nan")}, {"patience_seconds": float("inf")}])
def test_non_finite_targets_are_rejected(kwargs):
    with pytest.raises(ValueError, match="finite"):
        ServiceTarget(**kwargs)


def test_absurd_volume_is_an_error_not_a_hang():
    with pytest.raises(InputError, match="Erlangs"):
        required_agents([1e30], [180], 30, ServiceTarget())


def test_nan_load_gives_nan_not_a_number():
    assert np.isnan(erlang_b(5, np.nan)) and np.isnan(erlang_c(5, np.nan))
    assert np.isnan(service_level_c(5, np.nan, 180, 20)) and np.isnan(asa_c(5, np.nan, 180))
    assert service_level_c(0, 0, 0, 20) == 1.0


def _csv(tmp_path, body, name="v.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(body.encode(encoding))
    return path


def staff(*args):
    return runner.invoke(app, ["staff", *map(str, args)])


def test_errors_name_the_csv_line_even_after_sorting(tmp_path):
    body = ("interval_start,queue,volume,aht_seconds\n2026-01-05T09:00:00+01:00,b,5,200\n"
            "2026-01-05T08:00:00+01:00,b,5,200\n2026-01-05T08:00:00+01:00,a,5,200\n2026-01-05T08:30:00+01:00,a,-3,200\n")
    res = staff("--input", _csv(tmp_path, body))
    assert res.exit_code == 2 and "line 5, volume=-3.0" in res.stderr


def test_windows_1252_file_is_read(tmp_path):
    body = ("interval_start,queue,volume,aht_seconds\n2026-01-05T08:00:00+01:00,Zürich,5,200\n"
            "2026-01-05T08:30:00+01:00,Zürich,6,200\n")
    res = staff("--input", _csv(tmp_path, body, encoding="cp1252"), "--format", "csv")
    assert res.exit_code == 0, res.output and "Zürich" in res.stdout


@pytest.mark.parametrize("body,needle", [
    ("interval_start,volume,aht_seconds\n2026-01-05T08:00:00+01:00,5,200,1,2\n", "cannot be read as a table"),
    ("interval_start,volume,volume\n2026-01-05T08:00:00+01:00,5,200\n", "appears more than once"),
    ("interval_start,volume,aht_seconds\n2026-03-29 02:30,5,200\n", "line 2"),
])
def test_malformed_tables_exit_2_with_a_message(tmp_path, body, needle):
    res = staff("--input", _csv(tmp_path, body), "--timezone", "Europe/Berlin", "--interval", "30")
    assert res.exit_code == 2 and needle in res.stderr and "Traceback" not in res.output


def test_folder_unknown_timezone_and_interval_mismatch(tmp_path):
    assert "is a folder" in staff("--input", tmp_path).stderr
    body = "interval_start,volume,aht_seconds\n2026-01-05T08:00:00+01:00,5,200\n2026-01-05T08:30:00+01:00,6,200\n"
    path = _csv(tmp_path, body)
    res = staff("--input", path, "--timezone", "Mars/Base")
    assert res.exit_code == 2 and "Mars/Base" in res.stderr
    res = staff("--input", path, "--interval", "60")
    assert res.exit_code == 2 and "30 minutes apart" in res.stderr


def test_summary_occupancy_counts_answered_work_on_open_intervals(tmp_path):
    body = ("interval_start,volume,aht_seconds,open\n2026-01-05T08:00:00+01:00,20,180,true\n"
            "2026-01-05T08:30:00+01:00,50,180,false\n")
    res = staff("--input", _csv(tmp_path, body), "--format", "json")
    occ = __import__("json").loads(res.stdout)["queues"][0]["occupancy"]
    assert 0 < occ <= 1
