"""Service for a given headcount (`wfm staff --agents N`) against independent references."""

import io
import json
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from reference_ctmc import reference
from wfm.cli import app
from wfm.domain import ServiceTarget
from wfm.errors import InputError
from wfm.staffing import required_agents, service_for_agents

runner = CliRunner()


def erlang_c_closed_form(n: int, load: float, aht: float, t: float) -> tuple[float, float, float]:
    """SL, ASA, occupancy of M/M/n from the textbook sums with factorials (small n only)."""
    top = load ** n / math.factorial(n) * n / (n - load)
    p_wait = top / (sum(load ** k / math.factorial(k) for k in range(n)) + top)
    return 1 - p_wait * math.exp(-(n - load) * t / aht), p_wait * aht / (n - load), load / n


@pytest.mark.parametrize("volume,aht,minutes,agents,t", [
    (100, 180, 30, 11, 20), (100, 180, 30, 12, 20), (100, 180, 30, 14, 20), (40, 300, 60, 5, 30),
    (250, 240, 15, 70, 10), (3, 600, 60, 2, 0),
])
def test_erlang_c_against_closed_form(volume, aht, minutes, agents, t):
    res = service_for_agents([volume], [aht], minutes, [agents], ServiceTarget(answer_seconds=t))
    sl, asa, occ = erlang_c_closed_form(agents, volume * aht / (minutes * 60), aht, t)
    assert res.service_level[0] == pytest.approx(sl, rel=1e-9)
    assert res.asa_seconds[0] == pytest.approx(asa, rel=1e-9)
    assert res.occupancy[0] == pytest.approx(occ, rel=1e-12)
    assert res.abandon_rate is None and res.agents[0] == agents


@pytest.mark.parametrize("volume,aht,agents,patience,t", [
    (100, 180, 9, 120, 20), (100, 180, 12, 120, 20), (60, 300, 5, 200, 20), (200, 180, 8, 400, 20),
])
def test_erlang_a_against_markov_chain(volume, aht, agents, patience, t):
    target = ServiceTarget(answer_seconds=t, patience_seconds=patience)
    res = service_for_agents([volume], [aht], 30, [agents], target)
    ref = reference(agents, volume, aht, 1800, t, patience_seconds=patience, max_queue=400)
    assert res.service_level[0] == pytest.approx(ref.service_level, rel=1e-7)
    assert res.asa_seconds[0] == pytest.approx(ref.asa_seconds, rel=1e-6)
    assert res.abandon_rate[0] == pytest.approx(ref.abandon_rate, rel=1e-7)
    # occupancy: the answered load over the agents
    assert res.occupancy[0] == pytest.approx(volume / 1800 * aht * (1 - ref.abandon_rate) / agents, rel=1e-7)


def test_fewer_agents_than_the_load():
    res = service_for_agents([100, 100, 0], [180, 180, 0], 30, [9, 0, 0], ServiceTarget())
    assert list(res.service_level) == [0.0, 0.0, 1.0]
    assert np.isinf(res.asa_seconds[:2]).all() and res.asa_seconds[2] == 0
    assert list(res.occupancy) == [1.0, 0.0, 0.0]


def test_shrinkage_gives_the_agents_to_roster_and_concurrency_multiplies_slots():
    res = service_for_agents([100], [180], 30, [12], ServiceTarget(shrinkage=0.25, concurrency=2))
    assert res.scheduled_agents[0] == 16
    slots = service_for_agents([100], [180], 30, [24], ServiceTarget())
    assert res.service_level[0] == pytest.approx(slots.service_level[0])


@pytest.mark.parametrize("agents", [-1, 2.5, float("nan")])
def test_bad_headcount(agents):
    with pytest.raises(InputError, match="whole number of agents") as exc:
        service_for_agents([10, 20], [100, 100], 30, [3, agents], ServiceTarget())
    assert exc.value.row == 1


@given(volume=st.floats(1, 2000), aht=st.floats(20, 900), sl=st.floats(0.5, 0.95), t=st.floats(0, 60),
       patience=st.one_of(st.none(), st.floats(30, 600)))
def test_inverse_of_required_agents(volume, aht, sl, t, patience):
    """At the required staffing the target holds (and the same service is reported); one agent
    fewer misses it."""
    target = ServiceTarget(service_level=sl, answer_seconds=t, patience_seconds=patience)
    need = required_agents([volume], [aht], 30, target)
    at = service_for_agents([volume], [aht], 30, need.agents, target)
    assert at.service_level[0] == pytest.approx(need.service_level[0], abs=1e-9)
    assert at.service_level[0] >= sl - 1e-9
    if need.agents[0] > 1:
        below = service_for_agents([volume], [aht], 30, need.agents - 1, target)
        assert below.service_level[0] < sl


def test_cli_single_interval():
    res = runner.invoke(app, ["staff", "--volume", "100", "--aht", "180", "--interval", "30", "--agents", "12",
                              "--format", "json"])
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    sl, asa, occ = erlang_c_closed_form(12, 10.0, 180, 20)
    assert out["agents"] == 12
    assert (out["service_level"], out["asa_seconds"], out["occupancy"]) == pytest.approx((sl, asa, occ))


def test_cli_agents_column_and_override(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("interval_start,volume,aht_seconds,agents\n2026-03-02T09:00:00+01:00,100,180,12\n"
                    "2026-03-02T09:30:00+01:00,100,180,14\n")
    out = tmp_path / "service.csv"
    res = runner.invoke(app, ["staff", "--input", str(path), "--out", str(out)])
    assert res.exit_code == 0, res.output
    table = pd.read_csv(out)
    assert list(table["agents"]) == [12, 14]
    expected = [erlang_c_closed_form(n, 10.0, 180, 20)[0] for n in (12, 14)]
    np.testing.assert_allclose(table["service_level"], expected, rtol=1e-5)
    res = runner.invoke(app, ["staff", "--input", str(path), "--agents", "11", "--format", "csv"])
    assert res.exit_code == 0, res.output
    assert list(pd.read_csv(io.StringIO(res.stdout))["agents"]) == [11, 11]


def test_cli_bad_headcount_names_the_line(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("interval_start,volume,aht_seconds,agents\n2026-03-02T09:00:00+01:00,100,180,12\n"
                    "2026-03-02T09:30:00+01:00,100,180,-2\n")
    res = runner.invoke(app, ["staff", "--input", str(path)])
    assert res.exit_code == 2 and "line 3, agents=-2.0" in res.stderr
    res = runner.invoke(app, ["staff", "--input", str(path), "--agents", "5", "--deadline-minutes", "60"])
    assert res.exit_code == 2 and "--deadline-minutes" in res.stderr


def test_cli_summary_keeps_an_unbounded_asa(tmp_path):
    path = tmp_path / "in.csv"
    path.write_text("interval_start,volume,aht_seconds\n2026-03-02T09:00:00+01:00,100,180\n"
                    "2026-03-02T09:30:00+01:00,100,180\n")
    res = runner.invoke(app, ["staff", "--input", str(path), "--agents", "9", "--format", "json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.stdout)["queues"][0]
    # 9 agents under 10 Erlangs: nobody is answered in time and the wait has no bound (null, not a number)
    assert summary["service_level"] == 0 and summary["asa_seconds"] is None and summary["occupancy"] == 1
