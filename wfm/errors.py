"""Errors a user can act on: each names the field (and row, when there is one) and the value."""

from __future__ import annotations


class InputError(ValueError):
    """Bad input. `field`, `value` and optional `row` say exactly what to fix."""

    def __init__(self, field: str, value, reason: str, row: int | None = None):
        self.field, self.value, self.reason, self.row = field, value, reason, row
        where = f"row {row}, " if row is not None else ""
        super().__init__(f"{where}{field}={value!r}: {reason}")
