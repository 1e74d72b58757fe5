"""Back-office requirement: every item can be finished by its deadline with that staffing."""

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st

from wfm.errors import InputError
from wfm.staffing import backoffice_requirement


def edf_all_on_time(work, deadline_interval, capacity) -> bool:
    """Earliest-deadline-first fluid schedule, interval by interval (independent check)."""
    pending: list[list[float]] = []  # [deadline, remaining]
    for j in range(len(capacity)):
        if work[j] > 0:
            pending.append([deadline_interval[j], work[j]])
        pending.sort()
        left = capacity[j]
        for item in pending:
            used = min(left, item[1])
            item[1] -= used
            left -= used
        if any(d <= j and r > 1e-6 for d, r in pending):
            return False
        pending = [p for p in pending if p[1] > 1e-6]
    return not pending


@settings(deadline=None)
@given(data=st.data(), interval=st.sampled_from([15, 30, 60]), deadline_intervals=st.integers(1, 12),
       utilization=st.floats(0.5, 1.0))
def test_staffing_meets_every_deadline(data, interval, deadline_intervals, utilization):
    n = data.draw(st.integers(1, 60))
    vol = np.array(data.draw(st.lists(st.integers(0, 40), min_size=n, max_size=n)), float)
    is_open = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    is_open[-1] = True  # the final interval is open so every window has an open interval
    aht = np.full(n, 300.0)
    deadline = deadline_intervals * interval
    # Work in windows with no open interval is refused; skip those draws.
    window_open = [is_open[i:i + deadline_intervals].any() for i in range(n)]
    vol = np.where(window_open, vol, 0.0)
    res = backoffice_requirement(vol, aht, interval, deadline, open_mask=is_open, utilization=utilization)
    capacity = res["agents"] * interval * 60.0 * utilization
    due = np.minimum(np.arange(n) + deadline_intervals - 1, n - 1)
    assert edf_all_on_time(vol * aht, due, capacity)
    assert np.all(res["agents"][~is_open] == 0)
    # No waste in total: the fractional requirement carries exactly the work.
    assert res["workload_agents"].sum() * interval * 60 * utilization == pytest.approx((vol * aht).sum())


def test_overnight_work_moves_to_morning():
    vol = [10, 10, 0, 0]
    res = backoffice_requirement(vol, [360] * 4, 60, 240, open_mask=[False, False, True, True])
    assert res["agents"].tolist() == [0, 0, 1, 1]


def test_work_with_no_open_interval_in_its_window_is_an_error():
    with pytest.raises(InputError, match="no open interval") as exc:
        backoffice_requirement([0, 5, 0, 0], [300] * 4, 60, 60, open_mask=[True, False, True, True])
    assert exc.value.row == 1
