"""The sample site of sample_data/ as a ready POST /v1/plans body: what the web view's
"Load sample data" fills in. The ticket history goes as interval rows (interval_start, queue,
volume, aht_seconds; busy intervals only): the same forecast as from the 86,000 contacts, in a
body a twentieth of the size."""

from __future__ import annotations

import json
import math
from functools import lru_cache
from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


class SampleMissing(Exception):
    pass


@lru_cache(maxsize=1)
def sample_plan(folder: Path = SAMPLE_DATA) -> dict:
    from forecasts.calendar import read_calendar_file
    from forecasts.service import HistoryOptions, load_intervals

    if not (folder / "tickets.csv.gz").exists():
        raise SampleMissing(f"no sample data at {folder} (it ships with the source repository, not the package)")
    config = json.loads((folder / "staffing.json").read_text())
    setup = json.loads((folder / "roster_setup.json").read_text())
    minutes, tz = config["interval_minutes"], config["timezone"]
    intervals, _ = load_intervals(folder / "tickets.csv.gz", HistoryOptions(timezone=tz, interval_minutes=minutes))
    busy = intervals[intervals["volume"] > 0]
    history = [{"interval_start": ts.isoformat(), "queue": q, "volume": float(v),
                "aht_seconds": None if math.isnan(a) else round(float(a), 3)}
               for ts, q, v, a in zip(busy["interval_start"], busy["queue"], busy["volume"], busy["aht_seconds"])]
    special, _ = read_calendar_file(folder / "calendar.csv")
    return {"history": history,
            "forecast": {"timezone": tz, "interval_minutes": minutes, "days": config["forecast_days"],
                         "special_days": {d.isoformat(): f for d, f in special.items()}},
            "targets": config["queues"], **setup}
