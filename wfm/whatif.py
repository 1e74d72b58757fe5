"""Requirements-only what-ifs: the base demand changed (volume, AHT, shrinkage), staffed
again, and compared with the base.

This is the small stand-in behind `make demo`'s scenarios.csv and the web view's scenario
comparison until the full scenario runner (`wfm/scenarios.py`: overrides by queue, day and
time, targets, headcount, re-rostering) is merged; its column names follow that runner's
comparison table so callers do not change when it takes over.

Per scenario:
* `required_fte`: scheduled agent-hours needed (after shrinkage) / `fte_hours` per week;
* `required_hours`: on-queue agent-hours needed;
* `service_level`, `under_hours`: what the roster in force (its on-queue agents per interval)
  delivers against the scenario's demand, "what happens if we change nothing?". The roster
  plans on-queue time directly, so shrinkage changes the FTE to employ, not this service.
  Without a roster, the service of the scenario's own requirement.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from .domain import ServiceTarget
from .errors import InputError
from .staffing import evaluate
from .staffing.frames import staff_by_queue

METRICS = ["contacts", "required_fte", "required_hours", "service_level", "under_hours"]


@dataclass(frozen=True)
class WhatIf:
    name: str
    volume_multiplier: float = 1.0
    aht_add_seconds: float = 0.0
    shrinkage: float | None = None  # every queue's shrinkage; None keeps each queue's own

    def __post_init__(self):
        if not self.name.strip():
            raise InputError("name", self.name, "a scenario needs a name")
        if not (self.volume_multiplier >= 0 and np.isfinite(self.volume_multiplier)):
            raise InputError("volume_multiplier", self.volume_multiplier, "must be a finite number >= 0")
        if not np.isfinite(self.aht_add_seconds):
            raise InputError("aht_add_seconds", self.aht_add_seconds, "must be a finite number")
        if self.shrinkage is not None and not 0 <= self.shrinkage < 1:
            raise InputError("shrinkage", self.shrinkage, "must be in [0, 1), e.g. 0.35")


SAMPLE_WHATIFS = [
    WhatIf("volume +15%", volume_multiplier=1.15),
    WhatIf("AHT +20 s", aht_add_seconds=20),
    WhatIf("shrinkage 35%", shrinkage=0.35),
    WhatIf("volume +15%, AHT +20 s, shrinkage 35%", volume_multiplier=1.15, aht_add_seconds=20, shrinkage=0.35),
]


def compare_whatifs(demand: pd.DataFrame, interval_minutes: int, targets: dict[str, ServiceTarget],
                    scenarios: list[WhatIf], on_queue: pd.DataFrame | None = None,
                    fte_hours: float = 40.0) -> pd.DataFrame:
    """One row per scenario, the base first: the METRICS and each one's change against the base.

    `demand`: interval_start, queue, volume, aht_seconds, and optionally open (the base's open
    intervals; a scenario does not open closed ones). `on_queue`: the roster in force as
    queue, interval_start, on_queue (e.g. the roster's coverage table)."""
    missing = {"interval_start", "queue", "volume", "aht_seconds"} - set(demand.columns)
    if missing:
        raise InputError("demand", sorted(missing), "missing columns")
    demand = demand.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)
    staffed = _on_queue_for(demand, on_queue)
    weeks = max(demand["interval_start"].nunique() * interval_minutes / 60 / 168, 1e-9)
    rows = [_measure("base", demand, interval_minutes, targets, staffed, fte_hours, weeks)]
    for s in scenarios:
        changed = demand.assign(volume=demand["volume"] * s.volume_multiplier,
                                aht_seconds=(demand["aht_seconds"] + s.aht_add_seconds).clip(lower=0.0))
        scenario_targets = targets if s.shrinkage is None else {
            q: t.model_copy(update={"shrinkage": s.shrinkage}) for q, t in targets.items()}
        rows.append(_measure(s.name, changed, interval_minutes, scenario_targets, staffed, fte_hours, weeks))
    table = pd.DataFrame(rows)
    for metric in METRICS:
        table[f"{metric}_delta"] = table[metric] - table[metric].iloc[0]
    return table


def _on_queue_for(demand: pd.DataFrame, on_queue: pd.DataFrame | None) -> np.ndarray | None:
    if on_queue is None:
        return None
    key = lambda f: list(zip(f["queue"], pd.to_datetime(f["interval_start"], utc=True)))  # noqa: E731
    lookup = dict(zip(key(on_queue), on_queue["on_queue"].astype(float)))
    return np.array([lookup.get(k, 0.0) for k in key(demand)])


def _measure(name, demand, minutes, targets, staffed, fte_hours, weeks) -> dict:
    req = staff_by_queue(demand, minutes, targets)  # sorted by queue and time, like `demand`
    hours = minutes / 60
    vol = req["volume"].to_numpy(float)
    agents = req["agents"].to_numpy(float)
    if staffed is None:
        sl, under = req["service_level"].to_numpy(float), 0.0
    else:
        sl = np.full(len(req), np.nan)
        for queue, idx in req.groupby("queue", sort=False).indices.items():
            t = targets[queue]
            step = minutes * 60.0
            aht = req["aht_seconds"].to_numpy(float)[idx]
            metrics = evaluate(staffed[idx] * t.concurrency, vol[idx] / step, np.where(vol[idx] > 0, aht, 1.0), t)
            sl[idx] = metrics["service_level"]
        under = float(np.clip(agents - staffed, 0, None).sum() * hours)
    ok = np.isfinite(sl) & (vol > 0)
    return {"scenario": name, "contacts": float(vol.sum()),
            "required_fte": float(req["scheduled_agents"].sum() * hours / fte_hours / weeks),
            "required_hours": float(agents.sum() * hours),
            "service_level": float(np.average(sl[ok], weights=vol[ok])) if ok.any() else float("nan"),
            "under_hours": under}
