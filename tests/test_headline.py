"""The week's headline figures (wfm.outputs.headline) on hand-made frames: needed and rostered
hours on one basis, shrinkage on its own line, the worst interval in words with an Erlang C
reference, 'unstaffed' instead of an infinite ASA, and the solver's gap only as a footnote."""

from __future__ import annotations

import json
import math
from datetime import date

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wfm.domain import Horizon, ServiceTarget
from wfm.outputs.headline import duration_text, headline_rows, week_headline

TZ = "Europe/Berlin"
TARGETS = {"billing": ServiceTarget(service_level=0.8, answer_seconds=20, shrinkage=0.3),
           "tech": ServiceTarget(service_level=0.8, answer_seconds=60, shrinkage=0.25)}


def erlang_c(agents: int, load: float, aht: float, answer_seconds: float) -> tuple[float, float]:
    """(SL, ASA) from the textbook formula, independent of wfm.staffing."""
    top = load ** agents / math.factorial(agents) * agents / (agents - load)
    wait = top / (sum(load ** k / math.factorial(k) for k in range(agents)) + top)
    return 1 - wait * math.exp(-(agents - load) * answer_seconds / aht), wait * aht / (agents - load)


def frames(volume, agents, on_queue, scheduled=None, queue="billing", aht=180.0):
    starts = Horizon(start=date(2026, 6, 5), days=1, interval_minutes=30, timezone=TZ).interval_starts()[:len(volume)]
    scheduled = scheduled if scheduled is not None else [math.ceil(a / 0.7) for a in agents]
    req = pd.DataFrame({"interval_start": starts, "queue": queue, "volume": volume, "aht_seconds": aht,
                        "agents": agents, "scheduled_agents": scheduled})
    under = np.maximum(np.array(agents) - np.array(on_queue), 0)
    over = np.maximum(np.array(on_queue) - np.array(agents), 0)
    cov = pd.DataFrame({"queue": queue, "interval_start": starts, "required": agents, "on_queue": on_queue,
                        "under": under, "over": over})
    return req, cov


@pytest.mark.parametrize("seconds,text", [(0.4, "0 s"), (45, "45 s"), (60, "1 min"), (200, "3 min 20 s"),
                                          (3900, "1 h 05 min"), (math.inf, "unbounded"), (None, "-")])
def test_waits_read_as_minutes_and_seconds(seconds, text):
    assert duration_text(seconds) == text


def test_worst_interval_in_words_matches_erlang_c():
    # 11:30 on Friday 5 June: 40 contacts of 180 s in 30 minutes = 4 Erlangs for 5 agents.
    volume, agents, on_queue = [10.0] * 24, [2] * 24, [3] * 24
    volume[23], agents[23], on_queue[23] = 40.0, 7, 5
    req, cov = frames(volume, agents, on_queue)
    h = week_headline(req, cov, 100.0, 30, targets=TARGETS, timezone=TZ)
    sl, asa = erlang_c(5, 40 * 180 / 1800, 180, 20)
    worst = h["worst_interval"]
    assert worst["start"] == "2026-06-05T11:30:00+02:00" and worst["state"] == "staffed"
    assert worst["service_level"] == pytest.approx(sl) and worst["asa_seconds"] == pytest.approx(asa)
    assert worst["text"] == (f"Fri 05 Jun 11:30 billing, SL {100 * sl:.0f}%, "
                             f"ASA {int(round(asa)) // 60} min {int(round(asa)) % 60} s")


def test_an_interval_with_contacts_and_nobody_on_queue_is_unstaffed_not_infinite():
    volume, agents, on_queue = [10.0, 12.0, 0.0], [2, 2, 0], [2, 0, 0]
    req, cov = frames(volume, agents, on_queue)
    h = week_headline(req, cov, 10.0, 30, targets=TARGETS, timezone=TZ)
    worst = h["worst_interval"]
    assert worst["state"] == "unstaffed" and worst["asa_seconds"] is None
    assert worst["text"] == "Fri 05 Jun 00:30 billing: unstaffed (12 contacts expected, no agent on queue)"
    text = json.dumps(h, allow_nan=False) + " ".join(" ".join(r) for r in headline_rows(h))
    assert "inf" not in text.lower() and "nan" not in text.lower()


def test_an_overloaded_interval_has_an_unbounded_wait_in_words():
    req, cov = frames([100.0, 10.0], [12, 2], [3, 2])  # 10 Erlangs of work for 3 agents
    worst = week_headline(req, cov, 10.0, 30, targets=TARGETS, timezone=TZ)["worst_interval"]
    assert worst["state"] == "overloaded" and worst["asa_seconds"] is None
    assert worst["text"] == "Fri 05 Jun 00:00 billing, SL 0%, ASA unbounded (3 agents on queue for 12 needed)"


def test_needed_and_rostered_on_one_basis_and_shrinkage_on_its_own_line():
    req, cov = frames([20.0] * 4, [3, 4, 4, 3], [4, 4, 2, 3], scheduled=[5, 6, 6, 5])
    h = week_headline(req, cov, 7.5, 30, fte_hours=40, targets=TARGETS, timezone=TZ,
                      solve={"status": "FEASIBLE", "gap": 0.7, "seconds": 30.0})
    assert h["required_on_queue_hours"] == 7.0 and h["rostered_on_queue_hours"] == 6.5
    assert h["paid_hours_to_employ"] == 11.0 and h["shrinkage"] == {"billing": 0.3}
    weeks = 4 * 0.5 / 168
    assert h["fte_to_employ"] == pytest.approx(11.0 / 40 / weeks)
    rows = {label: (value, note) for label, value, note in headline_rows(h)}
    assert rows["on-queue hours needed / rostered"][0] == "7 / 6"  # 6.5 rounds to even
    assert "same basis" in rows["on-queue hours needed / rostered"][1]
    assert rows["shrinkage"][0] == "30%" and "11 paid hours to employ" in rows["shrinkage"][1]
    assert rows["under-coverage"][0] == "1.0 h"
    assert not any("gap" in f"{k} {v} {n}" for k, (v, n) in rows.items())
    assert "optimality gap 70%" in h["solver"] and "not a service figure" in h["solver"]


def test_shrinkage_differs_by_queue():
    a, _ = frames([10.0] * 2, [2, 2], [2, 2])
    b, _ = frames([10.0] * 2, [2, 2], [2, 2], queue="tech")
    h = week_headline(pd.concat([a, b], ignore_index=True), None, None, 30, targets=TARGETS, timezone=TZ)
    assert dict(headline_rows(h)[i][:2] for i in range(3))["shrinkage"] == "billing 30%, tech 25%"
    assert h["rostered_on_queue_hours"] is None and h["under_hours"] is None


@settings(max_examples=40, deadline=None)
@given(st.lists(st.tuples(st.floats(0, 80), st.integers(0, 8), st.integers(0, 8)), min_size=1, max_size=48))
def test_headline_text_is_always_finite_and_the_basis_adds_up(intervals):
    volume, agents, on_queue = (list(x) for x in zip(*intervals))
    req, cov = frames(volume, agents, on_queue)
    h = week_headline(req, cov, 1.0, 30, targets=TARGETS, timezone=TZ)
    json.dumps(h, allow_nan=False)
    text = " ".join(" ".join(r) for r in headline_rows(h)).lower()
    assert "inf" not in text and "nan" not in text
    # rostered - needed = over - under, in agent-hours: the two figures share one basis
    assert h["rostered_on_queue_hours"] - h["required_on_queue_hours"] == pytest.approx(
        (cov["over"].sum() - cov["under"].sum()) * 0.5)
    worst = h["worst_interval"]
    if worst is not None:
        assert worst["state"] == "unstaffed" or worst["on_queue"] > 0
        assert (worst["state"] == "unstaffed") == (worst["on_queue"] == 0)


@settings(max_examples=30, deadline=None)
@given(gap=st.floats(0.0, 0.5), changeable=st.floats(0.0, 1.0))
def test_solver_note_shows_the_gap_on_the_changeable_part_beside_the_plain_gap(gap, changeable):
    req, cov = frames([20.0] * 4, [3, 4, 4, 3], [4, 4, 2, 3])
    h = week_headline(req, cov, 7.5, 30, targets=TARGETS, timezone=TZ,
                      solve={"status": "FEASIBLE", "gap": gap, "changeable_gap": changeable, "seconds": 30.0})
    plain, on_changeable = f"optimality gap {100 * gap:.0f}%", f"({100 * changeable:.0f}% on the part the roster can"
    assert plain in h["solver"] and on_changeable in h["solver"]
    assert h["solver"].index(plain) < h["solver"].index(on_changeable)  # beside it, after it
    unknown = week_headline(req, cov, 7.5, 30, targets=TARGETS, timezone=TZ,
                            solve={"status": "FEASIBLE", "gap": gap, "changeable_gap": None, "seconds": 30.0})
    assert plain in unknown["solver"] and "can change" not in unknown["solver"]
