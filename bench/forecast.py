"""Benchmark: forecast accuracy on the same rolling-origin folds, and fit+predict time.

    .venv/bin/python bench/forecast.py                       # sample data + ../shared/data when present
    .venv/bin/python bench/forecast.py --skip-timing FILE.csv --timezone Area/City [--ignore-offset]

Accuracy: the last 4 one-week folds of each data set (fit on everything before the fold,
forecast the week). Our models (seasonal naive, weekly profile, daily profile, auto) and,
from the `bench` extra, statsforecast's MSTL (daily + weekly seasonality, AutoETS trend) and
AutoETS (daily season) on identical folds, forecasts clipped at 0. WAPE per data set over all
queues, and the ratio to seasonal naive. Timing: one year of hourly history x 50 queues,
fit + a 7-day forecast, median of runs.
"""

from __future__ import annotations

import argparse
import statistics
import time
import warnings
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts import metrics
from forecasts.ingest import ColumnMap, aggregate, read_history
from forecasts.models import MODELS, make_model
from forecasts.pipeline import _days, _slice

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
FOLDS, FOLD_DAYS = 4, 7


def datasets(args) -> dict[str, pd.DataFrame]:
    out = {}
    rec, _ = read_history(ROOT / "sample_data" / "tickets.csv.gz", "Europe/Berlin")
    out["sample tickets (2 queues)"] = aggregate(rec, args.interval, "Europe/Berlin")
    bank = SHARED / "bank_calls_2003_mar_jun.csv"
    if bank.exists():
        rec, _ = read_history(bank, "America/New_York", ignore_offset=True)
        out["US bank 2003 (real)"] = aggregate(rec, args.interval, "America/New_York")
    israel = SHARED / "anonymous_bank_1999_january.tsv"
    if israel.exists():
        rec, _ = read_history(israel, "Asia/Jerusalem", ColumnMap(timestamp="date+vru_exit", queue="type",
                                                                   handle_seconds="ser_time"),
                              timestamp_format="%y%m%d %H:%M:%S", drop_if={"outcome": ["PHANTOM"]})
        agg = aggregate(rec, args.interval, "Asia/Jerusalem")
        big = agg.groupby("queue")["volume"].sum().loc[lambda s: s > 1000].index
        out["Israel bank 1999 (real, 2 folds)"] = agg[agg["queue"].isin(big)]
    for path in args.files:
        rec, _ = read_history(path, args.timezone, ignore_offset=args.ignore_offset)
        out[Path(path).name] = aggregate(rec, args.interval, args.timezone)
    return out


def statsforecast_models(per_day: int):
    from statsforecast.models import MSTL, AutoETS

    return {"MSTL (statsforecast)": MSTL(season_length=[per_day, 7 * per_day],
                                         trend_forecaster=AutoETS(model="ZZN")),
            "AutoETS (statsforecast)": AutoETS(season_length=per_day)}


def fold_forecasts(history: pd.DataFrame, folds: int, interval: int, peers: bool) -> pd.DataFrame:
    days = _days(history)
    folds = min(folds, (len(days) - 14) // FOLD_DAYS)
    per_day = 24 * 60 // interval
    rows = []
    for k in range(folds):
        cutoff = days[-1] - timedelta(days=FOLD_DAYS * (folds - k) - 1)
        train = _slice(history, None, cutoff)
        test = _slice(history, cutoff, cutoff + timedelta(days=FOLD_DAYS))
        starts = pd.DatetimeIndex(test[test["queue"] == test["queue"].iloc[0]]["interval_start"])
        base = test[["interval_start", "queue", "volume"]].rename(columns={"volume": "actual"})
        for name in MODELS:
            fc = make_model(name).fit(train).predict(starts).rename(columns={"volume": "forecast"})
            rows.append(base.merge(fc, on=["interval_start", "queue"]).assign(model=name, fold=k))
        if peers:
            rows.extend(_peer_forecasts(train, base, starts, per_day, k))
    return pd.concat(rows, ignore_index=True)


def _peer_forecasts(train, base, starts, per_day, fold):
    from statsforecast import StatsForecast

    # statsforecast wants a regular index: use UTC instants (local DST days are 23/25 h).
    df = pd.DataFrame({"unique_id": train["queue"].to_numpy(),
                       "ds": pd.DatetimeIndex(train["interval_start"]).tz_convert("UTC").tz_localize(None),
                       "y": train["volume"].to_numpy(float)})
    out = []
    for name, model in statsforecast_models(per_day).items():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            sf = StatsForecast(models=[model], freq=f"{24 * 60 // per_day}min", n_jobs=1)
            fc = sf.forecast(df=df, h=len(starts))
        col = [c for c in fc.columns if c not in ("unique_id", "ds")][0]
        fc = fc.rename(columns={"unique_id": "queue", col: "forecast"})
        fc["interval_start"] = pd.DatetimeIndex(fc["ds"]).tz_localize("UTC").tz_convert(starts.tz)
        fc["forecast"] = fc["forecast"].clip(lower=0)
        out.append(base.merge(fc[["interval_start", "queue", "forecast"]], on=["interval_start", "queue"])
                   .assign(model=name, fold=fold))
    return out


def auto_rows(fc: pd.DataFrame) -> pd.DataFrame:
    """`auto` as the pipeline runs it: per queue and fold, the model with the best WAPE on
    the folds before it (the first fold uses daily_profile)."""
    ours = fc[fc["model"].isin(list(MODELS))]
    picks = []
    for _, g in ours.groupby("queue"):
        for fold in sorted(g["fold"].unique()):
            past = g[g["fold"] < fold]
            if len(past):
                w = past.groupby("model").apply(lambda x: metrics.wape(x["actual"], x["forecast"]),
                                                include_groups=False)
                choice = w.idxmin()
            else:
                choice = "daily_profile"
            picks.append(g[(g["fold"] == fold) & (g["model"] == choice)])
    return pd.concat(picks).assign(model="auto (chosen on earlier folds)")


def accuracy_table(data, args):
    print(f"Accuracy: last {FOLDS} one-week folds, {args.interval}-minute intervals, WAPE over all queues "
          "(ratio = WAPE / seasonal-naive WAPE)")
    print("data | model | WAPE | ratio vs seasonal naive | bias")
    print("--- | --- | --- | --- | ---")
    for label, history in data.items():
        folds = 2 if "2 folds" in label else FOLDS
        fc = fold_forecasts(history, folds, args.interval, not args.no_peers)
        fc = pd.concat([fc, auto_rows(fc)], ignore_index=True)
        sn = metrics.wape(*fc[fc["model"] == "seasonal_naive"][["actual", "forecast"]].to_numpy().T)
        order = list(MODELS) + ["auto (chosen on earlier folds)"] + [m for m in fc["model"].unique()
                                                                      if "statsforecast" in m]
        for model in order:
            g = fc[fc["model"] == model]
            if g.empty:
                continue
            w = metrics.wape(g["actual"], g["forecast"])
            b = metrics.bias(g["actual"], g["forecast"])
            print(f"{label} | {model} | {100 * w:.1f}% | {w / sn:.3f} | {100 * b:+.1f}%")


def synthetic_year(queues: int, seed: int = 3) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    starts = pd.date_range("2025-01-01", "2026-01-01", freq="60min", tz="Europe/Berlin", inclusive="left")
    hour = starts.hour.to_numpy()
    dow = starts.day_of_week.to_numpy()
    shape = np.exp(-((hour - 11) ** 2) / 8.0) * np.array([1.2, 1.0, 1.0, 1.0, 0.9, 0.4, 0.2])[dow]
    frames = []
    for q in range(queues):
        scale = rng.uniform(5, 200)
        frames.append(pd.DataFrame({"interval_start": starts, "queue": f"q{q:02d}",
                                    "volume": rng.poisson(scale * shape).astype(float),
                                    "aht_seconds": 300.0, "handled": 0.0}))
    return pd.concat(frames, ignore_index=True)


def timing_table(args):
    history = synthetic_year(50)
    last = pd.DatetimeIndex(history["interval_start"]).max()
    starts = pd.date_range(last + pd.Timedelta(hours=1), periods=7 * 24, freq="60min")
    print()
    print("Fit + 7-day forecast, one year of hourly history x 50 queues (median of runs)")
    print("model | seconds | vs seasonal naive")
    print("--- | --- | ---")
    base = None
    for name in MODELS:
        times = []
        for _ in range(args.repeats):
            t0 = time.perf_counter()
            make_model(name).fit(history).predict(starts)
            times.append(time.perf_counter() - t0)
        med = statistics.median(times)
        base = base or med
        print(f"{name} | {med:.2f} | {med / base:.1f}x")
    if not args.no_peers:
        from statsforecast import StatsForecast

        df = pd.DataFrame({"unique_id": history["queue"],
                           "ds": pd.DatetimeIndex(history["interval_start"]).tz_convert("UTC").tz_localize(None),
                           "y": history["volume"]})
        for label, model in statsforecast_models(24).items():
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                StatsForecast(models=[model], freq="60min", n_jobs=1).forecast(df=df, h=168)
            med = time.perf_counter() - t0
            print(f"{label} (1 run) | {med:.2f} | {med / base:.1f}x")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", nargs="*", help="extra history files (contacts or interval reports)")
    parser.add_argument("--timezone", default="UTC")
    parser.add_argument("--ignore-offset", action="store_true")
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-peers", action="store_true", help="skip statsforecast")
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    accuracy_table(datasets(args), args)
    if not args.skip_timing:
        timing_table(args)


if __name__ == "__main__":
    main()
