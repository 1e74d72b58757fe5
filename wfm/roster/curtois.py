"""The Curtois-Qu staff-rostering benchmark (schedulingbenchmarks.org, instances 1-24) as a roster input.

The format's sections map onto the contact-center model without special cases:

| benchmark                        | roster input                                                  |
|----------------------------------|---------------------------------------------------------------|
| horizon of H days from a Monday  | `Horizon` of H days (UTC, so no DST), 60-minute intervals      |
| shift type, length, cannot-follow| `ShiftTemplate` starting 00:00, `not_followed_by`             |
| MaxShifts per type (0 = never)   | `Contract.template_caps`                                       |
| Min/MaxTotalMinutes              | `Contract.horizon_min_hours` / `horizon_max_hours`             |
| Max/MinConsecutiveShifts, MinConsecutiveDaysOff, MaxWeekends | the contract's working-pattern rules |
| days off                         | `Agent.unavailable_days` (approved leave)                      |
| shift on/off requests            | weighted `Preference`s (want / not want that shift that day)   |
| cover (day, shift, requirement, weights) | `ShiftRequirement` with its own under/over weights     |

Every shift starts at midnight and lasts at most a day, so shifts never overlap and no rest rule
is needed beyond the format's own cannot-follow lists. Weekly limits are open (7 days, 168 h): the
format only limits totals over the horizon. The objective is then exactly the benchmark's:
request weights plus cover penalties.
"""

from __future__ import annotations

import math
from datetime import date, time, timedelta
from pathlib import Path

from ..domain import Horizon
from ..errors import InputError
from .domain import (Agent, Contract, Preference, Roster, RosterInput, Rules, ShiftRequirement, ShiftTemplate,
                     SolverParams, Weights)

MONDAY = date(2024, 1, 1)  # any Monday: the format's day 0


def read_sections(path: Path) -> dict[str, list[tuple[int, list[str]]]]:
    """Section name -> (line number, comma-separated fields) of its data lines."""
    sections: dict[str, list[tuple[int, list[str]]]] = {}
    current = None
    for number, raw in enumerate(Path(path).read_text().splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("SECTION_"):
            current = sections.setdefault(line, [])
            continue
        if current is None:
            raise InputError(f"line {number}", line, "data before the first SECTION_ header")
        current.append((number, [f.strip() for f in line.split(",")]))
    for needed in ("SECTION_HORIZON", "SECTION_SHIFTS", "SECTION_STAFF", "SECTION_COVER"):
        if needed not in sections:
            raise InputError("file", str(path), f"has no {needed}")
    return sections


def _int(number: int, field: str, value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise InputError(f"line {number}, {field}", value, "not a whole number") from None


def load(path: Path, time_limit: float = 60, workers: int = 2, seed: int = 0) -> RosterInput:
    s = read_sections(path)
    number, fields = s["SECTION_HORIZON"][0]
    days = _int(number, "horizon", fields[0])
    dates = [MONDAY + timedelta(days=d) for d in range(days)]

    def day(number: int, value: str) -> date:
        d = _int(number, "day", value)
        if not 0 <= d < days:
            raise InputError(f"line {number}, day", value, f"outside the horizon 0..{days - 1}")
        return dates[d]

    templates, lengths = [], []
    for number, f in s["SECTION_SHIFTS"]:
        length = _int(number, "length", f[1])
        if not 0 < length <= 24 * 60:
            raise InputError(f"line {number}, length", f[1], "a shift lasts more than 0 and at most 1440 minutes")
        lengths.append(length)
        banned = [x for x in (f[2].split("|") if len(f) > 2 else []) if x]
        templates.append((f[0], length, banned))
    step = 60 if all(n % 60 == 0 for n in lengths) else 30 if all(n % 30 == 0 for n in lengths) else 15
    if any(n % step for n in lengths):
        raise InputError("SECTION_SHIFTS", str(lengths), "lengths must be multiples of 15 minutes")
    ids = {t[0] for t in templates}

    leave: dict[str, list[date]] = {}
    for number, f in s.get("SECTION_DAYS_OFF", []):
        leave[f[0]] = [day(number, v) for v in f[1:] if v]
    wishes: dict[str, list[Preference]] = {}
    for section, want in (("SECTION_SHIFT_ON_REQUESTS", True), ("SECTION_SHIFT_OFF_REQUESTS", False)):
        for number, f in s.get(section, []):
            if f[2] not in ids:
                raise InputError(f"line {number}, shift", f[2], "unknown shift type")
            wishes.setdefault(f[0], []).append(Preference(day=day(number, f[1]), template=f[2], want=want,
                                                          weight=_int(number, "weight", f[3])))
    agents = []
    for number, f in s["SECTION_STAFF"]:
        caps = {}
        for item in f[1].split("|"):
            shift, _, cap = item.partition("=")
            if shift not in ids:
                raise InputError(f"line {number}, MaxShifts", item, "unknown shift type")
            caps[shift] = _int(number, "MaxShifts", cap)
        contract = Contract(
            max_hours=168, max_days=7, template_caps={k: v for k, v in caps.items() if v < days},
            horizon_max_hours=_int(number, "MaxTotalMinutes", f[2]) / 60,
            horizon_min_hours=_int(number, "MinTotalMinutes", f[3]) / 60,
            max_consecutive_days=_int(number, "MaxConsecutiveShifts", f[4]),
            min_consecutive_days=_int(number, "MinConsecutiveShifts", f[5]),
            min_consecutive_days_off=_int(number, "MinConsecutiveDaysOff", f[6]),
            max_weekends=_int(number, "MaxWeekends", f[7]))
        agents.append(Agent(id=f[0], skills=["ward"], contract=contract, unavailable_days=leave.get(f[0], []),
                            preferences=wishes.get(f[0], [])))
    cover = []
    for number, f in s["SECTION_COVER"]:
        if f[1] not in ids:
            raise InputError(f"line {number}, shift", f[1], "unknown shift type")
        cover.append(ShiftRequirement(day=day(number, f[0]), template=f[1], count=_int(number, "requirement", f[2]),
                                      under_weight=_int(number, "under weight", f[3]),
                                      over_weight=_int(number, "over weight", f[4])))
    return RosterInput(
        horizon=Horizon(start=MONDAY, days=days, interval_minutes=step, timezone="UTC"),
        shift_requirements=cover,
        templates=[ShiftTemplate(id=t, start_times=[time(0)], length_minutes=n, not_followed_by=banned)
                   for t, n, banned in templates],
        agents=agents,
        rules=Rules(min_rest_hours=0, max_consecutive_days=days, min_consecutive_days_off=1),
        weights=Weights(under=0, over=0, preference=1, cost=0),
        solver=SolverParams(time_limit_seconds=time_limit, workers=workers, seed=seed))


def grid_rows(data: RosterInput, roster: Roster) -> list[list[str]]:
    """The benchmark's solution layout: employee, then the shift ID (or nothing) per day."""
    dates = data.horizon.dates()
    index = {d: k for k, d in enumerate(dates)}
    cells = {a.id: [""] * len(dates) for a in data.agents}
    for sh in roster.shifts:
        cells[sh.agent][index[sh.day]] = sh.template
    return [[a.id] + cells[a.id] for a in data.agents]


def header(data: RosterInput) -> list[str]:
    return ["employee"] + [str(d) for d in range(len(data.horizon.dates()))]


def best_known(path: Path) -> int | None:
    """The published best-known objective for an instance, from best_known.csv beside it."""
    table = Path(path).with_name("best_known.csv")
    if not table.exists():
        return None
    for line in table.read_text().splitlines()[1:]:
        name, _, best = line.split(",")
        if name == Path(path).stem:
            return int(best)
    return None


def gap(objective: float, best: int | None) -> float | None:
    return None if best is None else (objective - best) / max(best, 1) if math.isfinite(objective) else None
