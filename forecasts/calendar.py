"""Holidays and user-declared special days.

Special days are kept out of the data that seasonal patterns are learned from, and get
their own factor when they fall inside the forecast horizon: the factor given in the
calendar file, or else the median ratio actual/expected of past special days.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from wfm.errors import InputError


@dataclass
class Calendar:
    country: str | None = None        # ISO code for the `holidays` package, e.g. "DE"
    subdivision: str | None = None    # e.g. "BY" for Bavaria
    special_days: dict[date, float | None] = field(default_factory=dict)  # date -> factor (None: learn)
    names: dict[date, str] = field(default_factory=dict)

    def special(self, days) -> dict[date, float | None]:
        """The special days among `days`, with their declared factor (None = learn it)."""
        days = list(days)
        out: dict[date, float | None] = {}
        if self.country and days:
            import holidays

            years = sorted({d.year for d in days})
            try:
                cal = holidays.country_holidays(self.country, subdiv=self.subdivision, years=years)
            except (KeyError, NotImplementedError) as exc:
                raise InputError("country", self.country, f"unknown to the holidays package ({exc})") from None
            for d in days:
                if d in cal:
                    out[d] = None
                    self.names.setdefault(d, cal.get(d))
        for d in days:
            if d in self.special_days:
                out[d] = self.special_days[d]
        return out


def read_calendar_file(path: str | Path) -> tuple[dict[date, float | None], dict[date, str]]:
    """CSV with columns date[,name][,factor]; factor is volume relative to a normal day."""
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except FileNotFoundError:
        raise InputError("calendar", str(path), "file not found") from None
    if "date" not in frame.columns:
        raise InputError("calendar", list(frame.columns), "needs a 'date' column")
    days: dict[date, float | None] = {}
    names: dict[date, str] = {}
    for i, row in frame.iterrows():
        try:
            d = date.fromisoformat(row["date"].strip())
        except ValueError:
            raise InputError("date", row["date"], "not a YYYY-MM-DD date", line=int(i) + 2) from None
        factor = row.get("factor", "").strip()
        if factor:
            try:
                value = float(factor)
            except ValueError:
                value = -1.0
            if not value >= 0:
                raise InputError("factor", factor, "must be a number >= 0", line=int(i) + 2)
            days[d] = value
        else:
            days[d] = None
        names[d] = row.get("name", "").strip() or "special day"
    return days, names
