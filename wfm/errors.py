"""Errors a user can act on: each names the field (and row, when there is one) and the value."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input. `field`, `value` and optional `row` say exactly what to fix."""

    stage: str | None = None  # the step of a plan that found it (wfm.plan.STAGES), when in a plan

    def __init__(self, field: str, value, reason: str, row: int | None = None, line: int | None = None):
        """`row`: 0-based index into the input arrays; `line`: line number in a CSV file."""
        self.field, self.value, self.reason, self.row, self.line = field, value, reason, row, line
        where = f"line {line}, " if line is not None else f"row {row}, " if row is not None else ""
        super().__init__(f"{where}{field}={value!r}: {reason}")
