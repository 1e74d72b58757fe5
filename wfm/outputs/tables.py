"""Tables the report, the workbook and the demo summary read: times as the site's wall clock,
the roster as a timeline (shifts and breaks) and KPIs per day (the week's headline figures
are in `headline`).

Inputs are the pipeline's frames (or the API's JSON records of them): timestamps may be
tz-aware values or ISO strings with offsets; every output time is the site's local time.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..domain import zone
from ..roster.domain import Roster
from .headline import weighted_sl, week_headline  # noqa: F401  (the headline's home; re-exported)


def local(values, timezone: str) -> pd.Series:
    """Tz-aware local timestamps from tz-aware values or ISO strings with any offsets."""
    return pd.to_datetime(pd.Series(values), utc=True, format="ISO8601").dt.tz_convert(zone(timezone))


def wall_clock(values, timezone: str) -> pd.Series:
    """Naive local wall-clock times (what charts and spreadsheets show)."""
    return local(values, timezone).dt.tz_localize(None)


def timeline_frame(roster: Roster, timezone: str) -> pd.DataFrame:
    """One row per shift (kind 'shift') and per break (kind = the break's name), with local
    wall-clock start and end: the bars of a Gantt chart."""
    rows = []
    for s in roster.shifts:
        rows.append({"agent": s.agent, "day": s.day, "template": s.template, "kind": "shift",
                     "start": s.start, "end": s.end})
        for b in s.breaks:
            rows.append({"agent": s.agent, "day": s.day, "template": s.template, "kind": b.name,
                         "start": b.start, "end": b.end})
    frame = pd.DataFrame(rows, columns=["agent", "day", "template", "kind", "start", "end"])
    if len(frame):
        frame["start"], frame["end"] = wall_clock(frame["start"], timezone), wall_clock(frame["end"], timezone)
    return frame


def daily_kpis(coverage: pd.DataFrame, shifts: pd.DataFrame, interval_minutes: int, timezone: str) -> pd.DataFrame:
    """Per local day (all queues): contacts, required and on-queue agent-hours, under- and
    over-coverage, projected SL (contact-weighted), shifts and paid hours, and a week total."""
    hours = interval_minutes / 60
    cov = coverage.assign(date=local(coverage["interval_start"], timezone).dt.date.to_numpy())
    volume = cov["volume"] if "volume" in cov else pd.Series(0.0, index=cov.index)
    sl = cov["service_level"] if "service_level" in cov else pd.Series(np.nan, index=cov.index)
    cov = cov.assign(volume=volume.fillna(0.0).astype(float), service_level=sl.astype(float))

    def row(label, part, dates):
        in_days = shifts["day"].astype(str).isin([str(d) for d in dates])
        return {"day": label, "contacts": part["volume"].sum(),
                "required_hours": part["required"].sum() * hours, "on_queue_hours": part["on_queue"].sum() * hours,
                "under_hours": part["under"].sum() * hours, "over_hours": part["over"].sum() * hours,
                "service_level": weighted_sl(part["service_level"], part["volume"]),
                "shifts": int(in_days.sum()), "paid_hours": float(shifts.loc[in_days, "paid_hours"].sum())}

    rows = [row(f"{d:%a %Y-%m-%d}", part, [d]) for d, part in cov.groupby("date", sort=True)]
    rows.append(row("week", cov, sorted(cov["date"].unique())))
    return pd.DataFrame(rows)


def accuracy_table(scores: pd.DataFrame, chosen: dict[str, str]) -> pd.DataFrame:
    """Per queue: the model chosen, its backtest WAPE and band coverage, and seasonal naive's WAPE
    (NaN where the history was too short for any backtest fold)."""
    if not {"queue", "model", "wape", "coverage"} <= set(scores.columns):
        scores = pd.DataFrame(columns=["queue", "model", "wape", "coverage"])
    s = scores.set_index(["queue", "model"])
    rows = []
    for queue, model in chosen.items():
        naive = s["wape"].get((queue, "seasonal_naive"), np.nan)
        rows.append({"queue": queue, "model": model, "wape": s["wape"].get((queue, model), np.nan),
                     "seasonal_naive_wape": naive, "band_coverage": s["coverage"].get((queue, model), np.nan)})
    return pd.DataFrame(rows, columns=["queue", "model", "wape", "seasonal_naive_wape", "band_coverage"])
