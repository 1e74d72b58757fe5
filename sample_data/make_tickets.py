"""Generate sample_data/tickets.csv.gz: 20 weeks of per-contact history for two queues.

Seeded and deterministic. A Berlin support site (Europe/Berlin; the history crosses the DST
change of 29 March 2026, a 23-hour day), queues `billing` (voice) and `tech`
(chat), with
* intraday seasonality (two peaks) and weekly seasonality (Monday high, weekends low),
* a trend (+0.25% per day for billing, flat for tech),
* a public holiday (Easter Monday 2026-04-06: ~15% of a normal Monday),
* an outage day (2026-05-13: the phone system was down 10:00-16:00, nothing recorded),
* noisy, right-skewed handle times (lognormal) that are longer in the evening.
One row per contact: created_at (ISO-8601 with offset), queue, channel, handle_seconds.

    python sample_data/make_tickets.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260105
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
    frame.to_csv(path, index=False, compression={"method": "gzip", "mtime": 0})
    print(f"wrote {path}: {len(frame):,} contacts")


if __name__ == "__main__":
    main()
