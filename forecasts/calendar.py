"""Holidays, their eves, other observances and user-declared special days.

Special days are kept out of the data that seasonal patterns are learned from, and every
model scales its forecast of a special day by a day factor (volume relative to a normal day
of the same weekday):

1. the factor declared in the calendar file (`closed` = 0), else
2. learned from history: the median ratio actual / normal-day median of past days of the
   same name (e.g. last year's Independence Day), shrunk toward its kind, else
3. pooled across past special days of the same kind (holiday, eve, observance, declared), else
4. a prior for the kind (`PRIOR_FACTOR`): a contact center with no history of such a day is
   assumed to get a fraction of a normal day.

What a user should declare: closures (`closed`), days the country calendar lacks (company
events, local holidays, bridge days), and a factor for any special day whose volume is known
better than a prior (first year of history). Days the `holidays` package knows come from
`--country`: public holidays (with observed days), other categories it has for the country
(optional holidays, half days, bank holidays) as observances, the day after each public
holiday (contacts held back come then), and for countries whose holidays start at sundown the
day before each public holiday as an eve.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import pandas as pd

from wfm.errors import InputError

# The holidays package's categories besides `public` that move contact volume.
OBSERVANCE_CATEGORIES = ("optional", "half_day", "bank")
# Countries whose holidays begin at sundown: the day before is a short working day.
SUNDOWN_COUNTRIES = {"IL"}
# Volume vs a normal day assumed when the history holds no day of the kind (see the module doc).
PRIOR_FACTOR = {"holiday": 0.3, "eve": 0.6, "observance": 0.8, "declared": 0.5, "after": 1.15}


@dataclass(frozen=True)
class SpecialDay:
    name: str
    kind: str                  # holiday, eve, after (the day after a holiday: catch-up), observance, declared
    factor: float | None       # declared volume vs a normal day (0 = closed); None = learn it


@dataclass
class Calendar:
    country: str | None = None        # ISO code for the `holidays` package, e.g. "DE"
    subdivision: str | None = None    # e.g. "BY" for Bavaria
    special_days: dict[date, float | None] = field(default_factory=dict)  # date -> factor (None: learn)
    names: dict[date, str] = field(default_factory=dict)

    def describe(self, days) -> dict[date, SpecialDay]:
        """The special days among `days`: name, kind and declared factor."""
        days = sorted(set(days))
        out: dict[date, SpecialDay] = {}
        if self.country and days:
            out.update(self._country_days(days))
        for d in days:
            if d in self.special_days:
                out[d] = SpecialDay(self.names.get(d, "special day"), "declared", self.special_days[d])
        return out

    def special(self, days) -> dict[date, float | None]:
        """The special days among `days`, with their declared factor (None = learn it)."""
        return {d: s.factor for d, s in self.describe(days).items()}

    def _country_days(self, days: list[date]) -> dict[date, SpecialDay]:
        years = sorted({d.year for d in days} | {days[-1].year + 1})
        public = self._holidays(years, ("public",))
        other = self._holidays(years, OBSERVANCE_CATEGORIES)
        wanted = set(days)
        out: dict[date, SpecialDay] = {}
        for d, name in other.items():
            if d in wanted and d not in public:
                out[d] = SpecialDay(_base_name(name), "observance", None)
        for d, name in public.items():
            after = d + timedelta(days=1)
            if after in wanted and after not in public:
                out[after] = SpecialDay(f"day after {_base_name(name)}", "after", None)
        if self.country.upper() in SUNDOWN_COUNTRIES:
            for d, name in public.items():
                eve = d - timedelta(days=1)
                if eve in wanted and eve not in public:
                    out[eve] = SpecialDay(f"eve of {_base_name(name)}", "eve", None)
        for d, name in public.items():
            if d in wanted:
                out[d] = SpecialDay(_base_name(name), "holiday", None)
        return out

    def _holidays(self, years, categories) -> dict[date, str]:
        return dict(_country_holidays(self.country, self.subdivision, tuple(years), tuple(categories)))


@functools.lru_cache(maxsize=64)
def _country_holidays(country, subdivision, years, categories) -> tuple[tuple[date, str], ...]:
    """The `holidays` package's days, asked once per country, years and categories (a backtest
    describes the same years for every fold and model)."""
    import holidays

    try:
        cls = holidays.country_holidays(country, subdiv=subdivision, years=years[0])
        supported = set(getattr(cls, "supported_categories", ("public",)))
        wanted = tuple(c for c in categories if c in supported)
        if not wanted:
            return ()
        cal = holidays.country_holidays(country, subdiv=subdivision, years=list(years), categories=wanted)
    except (KeyError, NotImplementedError) as exc:
        raise InputError("country", country, f"unknown to the holidays package ({exc})") from None
    return tuple(cal.items())


def _base_name(name: str) -> str:
    """One name per holiday across years: drop '(observed)' and similar suffixes."""
    return name.split(" (")[0].strip()


def read_calendar_file(path: str | Path) -> tuple[dict[date, float | None], dict[date, str]]:
    """CSV with columns date[,name][,factor]; factor is volume relative to a normal day, or
    `closed` (factor 0: nothing is forecast that day)."""
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
        if factor.lower() == "closed":
            days[d] = 0.0
        elif factor:
            try:
                value = float(factor)
            except ValueError:
                value = -1.0
            if not value >= 0:
                raise InputError("factor", factor, "must be a number >= 0 or 'closed'", line=int(i) + 2)
            days[d] = value
        else:
            days[d] = None
        names[d] = row.get("name", "").strip() or "special day"
    return days, names
