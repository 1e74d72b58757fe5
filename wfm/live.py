"""Solver progress in the terminal: a live line (time bar against the limit, objective, bound,
gap, solutions found) that redraws while CP-SAT works; a plain line per improvement when the
output is not a terminal (logs, CI, pipes), so a script still sees every step."""

from __future__ import annotations

import math
import time

from rich.console import Console, Group
from rich.live import Live
from rich.progress_bar import ProgressBar
from rich.table import Table
from rich.text import Text


def _num(value) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:,.0f}"


class SolverDisplay:
    """Use as the solver's progress callback inside a `with` block:

        with SolverDisplay(err, time_limit=30) as show:
            solve_roster(data, show)
    """

    def __init__(self, console: Console, time_limit: float | None, title: str = "solving", lazy: bool = False):
        """`time_limit` None: no bar, elapsed time only. `lazy`: the line appears with the first
        solution (for a command that forecasts and staffs before it solves)."""
        self.console, self.title, self.lazy = console, title, lazy
        self.time_limit = None if time_limit is None else max(float(time_limit), 1e-9)
        self.objective = self.bound = None
        self.solutions = 0
        self.started = time.monotonic()
        self.live: Live | None = None

    def __enter__(self) -> "SolverDisplay":
        self.started = time.monotonic()
        if not self.lazy:
            self._start()
        return self

    def _start(self) -> None:
        if self.console.is_terminal:
            self.live = Live(self, console=self.console, refresh_per_second=4, transient=False)
            self.live.start()

    def __exit__(self, *exc) -> None:
        if self.live is not None:
            self.live.stop()

    def __call__(self, objective, bound, seconds) -> None:
        # Called from the solver's thread; plain attribute writes, read by the render thread.
        self.objective, self.bound, self.solutions = objective, bound, self.solutions + 1
        if self.lazy and self.solutions == 1:
            self.started = time.monotonic() - seconds   # the solver's clock, not this command's
            self._start()
        if self.live is None:
            self.console.print(f"  {seconds:6.1f} s  objective {_num(objective)}  bound {_num(bound)}"
                               f"  gap {self.gap_text()}", highlight=False)

    def gap_text(self) -> str:
        if self.objective is None or self.bound is None or not math.isfinite(self.bound):
            return "-"
        return f"{100 * abs(self.objective - self.bound) / max(abs(self.objective), 1e-9):.1f}%"

    def __rich__(self):
        elapsed = time.monotonic() - self.started
        line = Table.grid(padding=(0, 1))
        if self.time_limit is None:
            clock = [Text(f"{elapsed:5.1f} s")]
        else:
            clock = [ProgressBar(total=self.time_limit, completed=min(elapsed, self.time_limit), width=30),
                     Text(f"{elapsed:5.1f} / {self.time_limit:g} s")]
        line.add_row(Text(self.title, style="bold"), *clock,
                     Text(f"objective {_num(self.objective)}", style="cyan"),
                     Text(f"bound {_num(self.bound)}", style="magenta"),
                     Text(f"gap {self.gap_text()}", style="yellow"),
                     Text(f"{self.solutions} solution{'' if self.solutions == 1 else 's'}", style="dim"))
        return Group(line)
