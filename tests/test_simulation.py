"""Erlang C and Erlang A agree with a seeded discrete-event simulation.

Tolerance: each case runs 8 independent replications; the model must lie within
4 standard errors of their mean, plus 0.005 for the small start-up bias that remains
after the 10% warm-up cut.
"""

import numpy as np
import pytest

from simulation import simulate
from wfm.staffing import erlang_a_metrics, service_level_c


def _replicate(**kwargs):
    runs = [simulate(seed=1000 + r, **kwargs) for r in range(8)]
    return {k: (np.mean([x[k] for x in runs]), np.std([x[k] for x in runs], ddof=1) / np.sqrt(len(runs)))
            for k in runs[0]}


@pytest.mark.parametrize("n,load,aht,t", [(14, 10.0, 180, 20), (6, 4.0, 300, 30), (40, 34.0, 240, 20)])
def test_erlang_c_service_level_matches_simulation(n, load, aht, t):
    sim = _replicate(n=n, arrival_rate=load / aht, aht=aht, patience=None, answer_seconds=t, callers=20_000)
    mean, se = sim["service_level"]
    assert abs(service_level_c(n, load, aht, t) - mean) <= 4 * se + 0.005


@pytest.mark.parametrize("n,load,aht,patience,t", [(12, 10.0, 180, 120, 20), (8, 10.0, 240, 300, 30)])
def test_erlang_a_matches_simulation(n, load, aht, patience, t):
    sim = _replicate(n=n, arrival_rate=load / aht, aht=aht, patience=patience, answer_seconds=t, callers=20_000)
    model = erlang_a_metrics(n, load / aht, aht, patience, t)
    for key in ("service_level", "abandon_rate"):
        mean, se = sim[key]
        assert abs(float(getattr(model, key)) - mean) <= 4 * se + 0.005, key


def test_simulation_detects_a_wrong_model():
    # The check above must be able to fail: one agent fewer is clearly outside the tolerance.
    sim = _replicate(n=14, arrival_rate=10 / 180, aht=180, patience=None, answer_seconds=20, callers=20_000)
    mean, se = sim["service_level"]
    assert abs(service_level_c(13, 10.0, 180, 20) - mean) > 4 * se + 0.005
