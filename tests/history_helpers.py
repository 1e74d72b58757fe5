"""Contact histories written as ticket CSVs for tests of the forecast and the plan."""

import numpy as np
import pandas as pd


def month_start_tickets(path, factor: float = 1.4, weeks: int = 12, seed: int = 1) -> None:
    """Tickets of queue `q` from Monday 2026-01-05 (Berlin), 08:00-18:00, 300 a weekday and 100 a
    weekend day, times `factor` on days 1-5 of each month; every ticket handled in 240 s."""
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("2026-01-05", tz="Europe/Berlin")
    stamps = []
    for d in range(weeks * 7):
        day = start + pd.Timedelta(days=d)
        n = rng.poisson((300 if day.day_of_week < 5 else 100) * (factor if day.day <= 5 else 1.0))
        stamps += [day + pd.Timedelta(minutes=float(m)) for m in np.sort(rng.uniform(8 * 60, 18 * 60, n))]
    pd.DataFrame({"created_at": [t.isoformat() for t in stamps], "queue": "q",
                  "handle_seconds": 240}).to_csv(path, index=False)
