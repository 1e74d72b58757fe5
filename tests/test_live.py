"""The solver's live line: redrawn on a terminal, one plain line per improvement elsewhere."""

import io
import re
import time

from rich.console import Console

from wfm.live import SolverDisplay


def test_on_a_terminal_the_line_shows_objective_bound_gap_and_time_against_the_limit():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with SolverDisplay(console, time_limit=30, title="rostering 3 agents") as show:
        show(1200.0, 900.0, 0.4)
        show(1000.0, 950.0, 0.9)
        time.sleep(0.3)
    text = out.getvalue()
    last = [line for line in text.replace("\r", "\n").split("\n") if "rostering" in line][-1]
    assert "objective 1,000" in last and "bound 950" in last and "gap 5.0%" in last
    assert "/ 30 s" in last and "2 solutions" in last


def test_elsewhere_every_improvement_is_one_plain_line():
    out = io.StringIO()
    with SolverDisplay(Console(file=out, force_terminal=False), time_limit=5) as show:
        show(10.0, 5.0, 1.25)
        show(8.0, float("-inf"), 2.5)
    lines = out.getvalue().splitlines()
    assert lines == ["     1.2 s  objective 10  bound 5  gap 50.0%", "     2.5 s  objective 8  bound -  gap -"]


def test_a_lazy_line_waits_for_the_first_solution_and_runs_on_the_solvers_clock():
    out = io.StringIO()
    console = Console(file=out, force_terminal=True, width=140, color_system=None)
    with SolverDisplay(console, time_limit=None, title="rostering", lazy=True) as show:
        time.sleep(0.3)
        assert out.getvalue() == ""                  # forecasting and staffing: nothing shown yet
        show(500.0, 100.0, 12.0)
        time.sleep(0.3)
    last = [line for line in out.getvalue().replace("\r", "\n").split("\n") if "rostering" in line][-1]
    assert re.search(r"rostering\s+12\.\d s objective 500 bound 100 gap 80\.0% 1 solution\b", last), last
