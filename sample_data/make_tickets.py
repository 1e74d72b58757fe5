"""Generate sample_data/tickets.csv.gz: 20 weeks of per-contact history for two queues.

Seeded and deterministic. A Berlin support site (Europe/Berlin; the history crosses the DST
change of 29 March 2026, a 23-hour day), queues `billing` (voice) and `tech`
(chat), with
* intraday seasonality (two peaks) and weekly seasonality (Monday high, weekends low),
* a trend (+0.25% per day for billing, flat for tech),
* a public holiday (Easter Monday 2026-04-06: ~15% of a normal Monday),
* an outage day (2026-05-13: the phone system was down 10:00-16:00, nothing recorded),
* noisy, right-skewed handle times (lognormal) that are longer in the evening,
* service as it happened: waits that grow at the busy hours, callers and chatters who give up
  (exponential patience), first responses, resolutions (most on first contact, the rest hours
  or days later, a few never) and CSAT scores (1-5, from about a quarter of answered contacts,
  lower after long waits).
One row per contact: created_at (ISO-8601 with offset), queue, channel, handle_seconds,
wait_seconds (to answer, or to abandon), abandoned, first_response_at, resolved_at, csat.

The service columns come from their own random stream, drawn after the rest: created_at,
queue, channel and handle_seconds are exactly as before they existed, so forecasts from this
file do not change. handle_seconds on an abandoned contact is the time it would have taken;
KPIs average handle time over answered contacts only.

    python sample_data/make_tickets.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260105
SERVICE_SEED = 20260106  # the service columns' own stream (see the module docstring)
SERVICE = {  # queue: (mean wait s of those who wait at the quietest and the busiest hour, mean patience s)
    "billing": ((8.0, 35.0), 240.0),
    "tech": ((15.0, 60.0), 400.0),
}
TZ = "Europe/Berlin"
START, WEEKS = "2026-01-05", 20                     # Monday 5 Jan .. Sunday 24 May 2026
HOLIDAY, OUTAGE = pd.Timestamp("2026-04-06").date(), pd.Timestamp("2026-05-13").date()
QUEUES = {  # name: (channel, contacts on an average weekday, trend per day, mean handle s)
    "billing": ("voice", 420.0, 0.0025, 260.0),
    "tech": ("chat", 260.0, 0.0, 540.0),
}
WEEKDAY = np.array([1.2, 1.05, 1.0, 0.98, 0.9, 0.45, 0.25])


def intraday_rate(minute: np.ndarray) -> np.ndarray:
    """Relative arrival rate over the day, zero outside 07:00-22:00."""
    h = minute / 60.0
    rate = np.exp(-((h - 10.5) ** 2) / 3.5) + 0.75 * np.exp(-((h - 15.0) ** 2) / 5.0) + 0.1
    return np.where((h >= 7) & (h < 22), rate, 0.0)


def main(path: Path = Path(__file__).with_name("tickets.csv.gz")) -> None:
    rng = np.random.default_rng(SEED)
    minutes = np.arange(24 * 60)
    shape = intraday_rate(minutes)
    shape /= shape.sum()
    days = pd.date_range(START, periods=WEEKS * 7, freq="D")
    rows = []
    for queue, (channel, base, trend, handle) in QUEUES.items():
        for i, day in enumerate(days):
            mean = base * WEEKDAY[day.day_of_week] * (1 + trend * i) * rng.lognormal(0, 0.05)
            if day.date() == HOLIDAY:
                mean *= 0.15
            count = rng.poisson(mean)
            minute = rng.choice(minutes, size=count, p=shape)
            if day.date() == OUTAGE:
                minute = minute[(minute < 600) | (minute >= 960)]
            seconds = np.sort(minute * 60 + rng.integers(0, 60, minute.size))
            wall = day + pd.to_timedelta(seconds, unit="s")
            # Wall times inside the spring-forward gap do not exist; the site is closed then anyway.
            local = wall.tz_localize(TZ, nonexistent="shift_forward", ambiguous=True)
            evening = 1 + 0.25 * (seconds >= 18 * 3600)
            handled = np.round(handle * evening * rng.lognormal(-0.08, 0.4, minute.size))
            rows.append(pd.DataFrame({"created_at": local.map(lambda t: t.isoformat()), "queue": queue,
                                      "channel": channel, "handle_seconds": handled.astype(int)}))
    frame = pd.concat(rows).sort_values("created_at", kind="stable")
    frame = add_service(frame, shape, np.random.default_rng(SERVICE_SEED))
    frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {path}: {len(frame):,} contacts")


def add_service(frame: pd.DataFrame, shape: np.ndarray, rng: np.random.Generator) -> pd.DataFrame:
    """Waits, abandonment, first response, resolution and CSAT per contact (see the docstring)."""
    created = pd.to_datetime(frame["created_at"], utc=True).dt.tz_convert(TZ)
    minute = (created.dt.hour * 60 + created.dt.minute).to_numpy()
    busyness = shape[minute] / shape.max()  # 0 (quiet) .. 1 (the busiest minute of the day)
    n = len(frame)
    wait = np.zeros(n)
    patience = np.zeros(n)
    for queue, ((quiet, busy), mean_patience) in SERVICE.items():
        mine = (frame["queue"] == queue).to_numpy()
        waits_at_all = rng.random(n) < 0.2 + 0.3 * busyness  # at busy hours half wait
        mean_wait = quiet + (busy - quiet) * busyness
        wait = np.where(mine, np.where(waits_at_all, rng.exponential(mean_wait), 0.0), wait)
        patience = np.where(mine, rng.exponential(mean_patience, n), patience)
    abandoned = wait > patience
    wait = np.round(np.where(abandoned, patience, wait))  # those who give up wait until they do
    handle = frame["handle_seconds"].to_numpy(float)
    answered_at = created + pd.to_timedelta(wait, unit="s")
    first_contact_fix = rng.random(n) < 0.72
    later = pd.to_timedelta(np.round(rng.lognormal(np.log(6 * 3600), 1.0, n)), unit="s")
    resolved_at = answered_at + pd.to_timedelta(handle, unit="s") + later.where(~first_contact_fix, pd.Timedelta(0))
    never = rng.random(n) < 0.04
    responds = rng.random(n) < 0.25
    score = np.clip(np.round(rng.normal(4.3 - wait / 60.0, 0.9)), 1, 5)
    frame = frame.copy()
    frame["wait_seconds"] = wait.astype(int)
    frame["abandoned"] = np.where(abandoned, "true", "false")
    frame["first_response_at"] = np.where(abandoned, "", answered_at.map(lambda t: t.isoformat()))
    frame["resolved_at"] = np.where(abandoned | never, "", resolved_at.map(lambda t: t.isoformat()))
    frame["csat"] = np.where(abandoned | ~responds, "", pd.Series(score).map(lambda v: f"{v:.0f}").to_numpy())
    return frame


if __name__ == "__main__":
    main()
