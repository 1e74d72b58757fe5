"""The sample site of sample_data/ as a ready POST /v1/plans body: what the web view's
"Load sample data" fills in. The ticket history goes as interval rows (interval_start, queue,
volume, aht_seconds; busy intervals only): the same forecast as from the 86,000 contacts, in a
body a twentieth of the size."""

from __future__ import annotations

import math
from functools import lru_cache
from pathlib import Path

SAMPLE_DATA = Path(__file__).resolve().parents[1] / "sample_data"


class SampleMissing(Exception):
    pass


@lru_cache(maxsize=1)
def sample_plan(folder: Path = SAMPLE_DATA) -> dict:
    """sample_data/plan.yaml (what `make demo` and `wfm plan` run) as a plan request body."""
    from forecasts.calendar import read_calendar_file
    from forecasts.service import HistoryOptions, load_intervals
    from wfm.plan import load_config, roster_setup

    if not (folder / "tickets.csv.gz").exists():
        raise SampleMissing(f"no sample data at {folder} (it ships with the source repository, not the package)")
    config = load_config(folder / "plan.yaml")
    setup = roster_setup(config)
    minutes, tz = config.interval_minutes, config.timezone
    intervals, _ = load_intervals(config.history.file, HistoryOptions(timezone=tz, interval_minutes=minutes))
    busy = intervals[intervals["volume"] > 0]
    history = [{"interval_start": ts.isoformat(), "queue": q, "volume": float(v),
                "aht_seconds": None if math.isnan(a) else round(float(a), 3)}
               for ts, q, v, a in zip(busy["interval_start"], busy["queue"], busy["volume"], busy["aht_seconds"])]
    special, _ = read_calendar_file(config.history.calendar)
    return {"history": history,
            "forecast": {"timezone": tz, "interval_minutes": minutes, "days": config.forecast.days,
                         "special_days": {d.isoformat(): f for d, f in special.items()}},
            "targets": {q: t.model_dump(mode="json", exclude_unset=True) for q, t in config.queues.items()},
            **{k: setup[k] for k in ("templates", "agents", "rules", "weights", "solver")},
            "simulation": None if config.simulation is None else config.simulation.model_dump(mode="json")}
