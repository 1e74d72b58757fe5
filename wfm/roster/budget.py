"""How long a roster solve may search: wall-clock seconds, or CP-SAT deterministic time.

With `solver.deterministic_limit` set, every phase (column generation, the full model,
neighbourhood search) counts its time as the deterministic time of the CP-SAT solves it ran, and
each solve is stopped by a deterministic limit, so the same input and seed stop at the same point
and give the same roster on any machine load. (Python work between solves, model building and the
LP bound are not counted.) The wall-clock limit stays as a safety cap: a solve that hits it ends
there, and only then can the result differ.
"""

from __future__ import annotations

import threading
import time as clock
from contextlib import contextmanager

from ortools.sat.python import cp_model

from .domain import SolverParams


class Budget:
    def __init__(self, params: SolverParams):
        self.deterministic = params.deterministic_limit is not None
        self.total = float(params.deterministic_limit if self.deterministic else params.time_limit_seconds)
        self.started = clock.perf_counter()
        self.wall_end = self.started + params.time_limit_seconds
        self._spent = 0.0
        self._lock = threading.Lock()  # pricing solves run in threads

    def elapsed(self) -> float:
        """Budget units used so far: deterministic time, or seconds since the start."""
        return self._spent if self.deterministic else clock.perf_counter() - self.started

    def left(self) -> float:
        return max(self.total - self.elapsed(), 0.0)

    def wall_left(self) -> float:
        return max(self.wall_end - clock.perf_counter(), 0.0)

    @contextmanager
    def only(self, amount: float):
        """Within the block the budget ends `amount` units from now (a phase's slice of it)."""
        total = self.total
        self.total = self.elapsed() + amount
        try:
            yield self
        finally:
            self.total = total

    def limit(self, solver: cp_model.CpSolver, amount: float, floor: float = 0.05) -> None:
        """Let one CP-SAT solve spend `amount` units (at least `floor`)."""
        amount = max(amount, floor)
        if self.deterministic:
            solver.parameters.max_deterministic_time = amount
            solver.parameters.max_time_in_seconds = max(self.wall_left(), 0.1)
        else:
            solver.parameters.max_time_in_seconds = amount

    def used(self, solver: cp_model.CpSolver) -> float:
        """Units one finished solve took."""
        return solver.deterministic_time if self.deterministic else solver.wall_time

    def charge_work(self, units: float) -> None:
        """Count work outside CP-SAT in deterministic mode, from a count that does not depend on
        the machine (LP iterations, model variables) scaled to about a second per unit, so a
        phase whose time goes to LPs or model building still ends."""
        if self.deterministic:
            with self._lock:
                self._spent += units

    def charge(self, solver: cp_model.CpSolver) -> float:
        """Count a finished solve against the budget (deterministic mode; wall time counts itself)."""
        used = self.used(solver)
        if self.deterministic:
            with self._lock:
                self._spent += used
        return used
