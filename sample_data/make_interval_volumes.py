"""Generate sample_data/interval_volumes.csv: one week of 30-minute interval reports.

Seeded and deterministic. Two voice queues of a Berlin contact center over the week that
ends daylight saving time (Sunday 2026-10-25 has 25 hours), open 07:00-21:00 (Sunday
09:00-17:00), with a two-peak intraday shape, weekday effects and Poisson noise. AHT is
noisy around a queue-specific mean. Rows outside opening hours have volume 0, open=false.

    python sample_data/make_interval_volumes.py
"""

from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20261019
TIMEZONE = "Europe/Berlin"
QUEUES = {"billing": (55.0, 240.0), "tech": (35.0, 420.0)}  # peak contacts per 30 min, mean AHT s
DAY_FACTOR = [1.15, 1.05, 1.0, 0.98, 0.95, 0.6, 0.35]       # Monday .. Sunday


def intraday(hour: np.ndarray) -> np.ndarray:
    """Two peaks: late morning and early afternoon."""
    return 0.55 * np.exp(-((hour - 10.5) ** 2) / 3.0) + 0.45 * np.exp(-((hour - 14.5) ** 2) / 4.0) + 0.08


def main(path: Path = Path(__file__).with_name("interval_volumes.csv")) -> None:
    rng = np.random.default_rng(SEED)
    local = pd.date_range(pd.Timestamp("2026-10-19", tz=TIMEZONE).tz_convert("UTC"),
                          pd.Timestamp("2026-10-26", tz=TIMEZONE).tz_convert("UTC"),
                          freq="30min", inclusive="left").tz_convert(TIMEZONE)
    hour = local.hour + local.minute / 60.0
    dow = local.day_of_week
    open_ = np.where(dow == 6, (hour >= 9) & (hour < 17), (hour >= 7) & (hour < 21))
    frames = []
    for queue, (peak, aht) in QUEUES.items():
        mean = peak * intraday(hour) / intraday(np.array([10.5]))[0] * np.take(DAY_FACTOR, dow)
        volume = np.where(open_, rng.poisson(mean), 0)
        handle = np.where(volume > 0, np.round(aht * rng.lognormal(0.0, 0.08, len(local)), 1), 0.0)
        frames.append(pd.DataFrame({"interval_start": [t.isoformat() for t in local], "queue": queue,
                                    "volume": volume, "aht_seconds": handle,
                                    "open": np.where(open_, "true", "false")}))
    pd.concat(frames).to_csv(path, index=False)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
