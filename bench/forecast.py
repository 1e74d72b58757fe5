"""Benchmark: forecast accuracy per shared series on rolling one-week folds, and fit+predict time.

    .venv/bin/python bench/forecast.py                         # every shared series in ../shared/data
    .venv/bin/python bench/forecast.py --folds dev             # only the development folds
    .venv/bin/python bench/forecast.py --skip-timing

Folds: every week of a series from its fifth week on (or its third, for a series shorter than
six weeks), fit on everything before the week and forecast the week, as `wfm forecast --model
auto --country CC` does (internal backtest, model choice, intervals). Holiday weeks are kept.
Every third fold (index 2, 5, 8, ...) is held out: not looked at while developing
(`--folds dev` runs the others only; `--folds all` both, reported apart).

Baselines on the same folds, each skipping days with nothing recorded as a planner would:
seasonal naive (the same interval one week earlier) and the 4-week profile (mean of the same
weekday and interval over the last 4 weeks). Metrics per series: WAPE (days with nothing
recorded and holes inside open days, `hole_rows`, are not scored), mean over folds of
wfm/baseline WAPE ratios and the worst fold, 90% interval coverage of open hours (actual or
forecast > 0) on normal and holiday weeks, and for per-call series the volume-weighted AHT
error against hour-of-week, hour-of-day and 4-week mean baselines. A last block pools the
folds of all series (development, held-out, all), each fold one ratio.
"""

from __future__ import annotations

import argparse
import statistics
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts import metrics
from forecasts.calendar import Calendar
from forecasts.ingest import ColumnMap, aggregate, read_history
from forecasts.models import MODELS, hole_rows, make_model
from forecasts.pipeline import _days, _slice, forecast, gap_days_per_queue

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
LEVEL = 0.9


@dataclass
class Series:
    label: str
    history: pd.DataFrame
    timezone: str
    country: str
    has_aht: bool = False


def shared_series(interval: int) -> list[Series]:
    out = []
    bank = SHARED / "bank_calls_2003_mar_jun.csv"
    if bank.exists():
        rec, _ = read_history(bank, "America/New_York", ignore_offset=True)
        out.append(Series("US bank 2003, 5-min counts", aggregate(rec, interval, "America/New_York"),
                          "America/New_York", "US"))
    calls = SHARED / "anonymous_bank_1999_january.tsv"
    if calls.exists():
        rec, _ = read_history(calls, "Asia/Jerusalem", ColumnMap(timestamp="date+vru_exit", queue=None,
                                                                  handle_seconds="ser_time"),
                              timestamp_format="%y%m%d %H:%M:%S", drop_if={"outcome": ["PHANTOM"]},
                              handle_if={"outcome": ["AGENT"]})
        out.append(Series("Israel bank Jan 1999, per call", aggregate(rec, interval, "Asia/Jerusalem"),
                          "Asia/Jerusalem", "IL", has_aht=True))
    six = SHARED / "anonymous_bank_1999_jan_jun_6min.csv"
    if six.exists():
        rec, _ = read_history(six, "Asia/Jerusalem")
        out.append(Series("Israel bank Jan-Jun 1999, 6-min counts", aggregate(rec, interval, "Asia/Jerusalem"),
                          "Asia/Jerusalem", "IL"))
    if not out:
        raise SystemExit(f"no shared data at {SHARED}")
    return out


def fold_starts(days: list[date]) -> list[date]:
    """Fold starts: whole weeks counted from the first day, from week 5 on (week 3 for series under 6 weeks)."""
    first_fold = 28 if len(days) >= 42 else 14
    starts, d = [], days[0] + timedelta(days=first_fold)
    while d + timedelta(days=6) <= days[-1]:
        starts.append(d)
        d += timedelta(days=7)
    return starts


def held_out(index: int) -> bool:
    return index % 3 == 2


def baseline_forecasts(train: pd.DataFrame, test: pd.DataFrame, gaps: set[date]) -> dict[str, np.ndarray]:
    """Seasonal naive and 4-week profile per test interval (local weekday and clock time),
    using only days with something recorded."""
    t = train.assign(day=train["interval_start"].dt.date, dow=train["interval_start"].dt.day_of_week,
                     slot=train["interval_start"].dt.hour * 60 + train["interval_start"].dt.minute)
    t = t[~t["day"].isin(gaps)]
    recent = t.groupby("dow")["day"].apply(lambda s: sorted(set(s))[-4:])
    keep = t.apply(lambda r: r["day"] in recent[r["dow"]], axis=1) if len(t) else []
    profile = t[keep].groupby(["dow", "slot"])["volume"].mean()
    last = t.groupby("dow")["day"].max()
    naive = t.set_index(["day", "slot"])["volume"]
    keys = test.assign(dow=test["interval_start"].dt.day_of_week,
                       slot=test["interval_start"].dt.hour * 60 + test["interval_start"].dt.minute)
    prof = [profile.get((d, s), 0.0) for d, s in zip(keys["dow"], keys["slot"])]
    sn = [naive.get((last.get(d), s), 0.0) if d in last.index else 0.0 for d, s in zip(keys["dow"], keys["slot"])]
    return {"seasonal naive": np.asarray(sn, float), "4-week profile": np.asarray(prof, float)}


def aht_baselines(train: pd.DataFrame, test: pd.DataFrame) -> dict[str, np.ndarray]:
    """Volume-weighted AHT over the last 4 weeks: per hour of week, per hour of day, overall."""
    last = train["interval_start"].max() - pd.Timedelta(days=28)
    t = train[train["interval_start"] > last]
    t = t.assign(handle=np.nan_to_num(t["aht_seconds"]) * t["handled"], dow=t["interval_start"].dt.day_of_week,
                 hour=t["interval_start"].dt.hour)
    overall = t["handle"].sum() / t["handled"].sum()
    how = t.groupby(["dow", "hour"])[["handle", "handled"]].sum()
    hod = t.groupby("hour")[["handle", "handled"]].sum()
    out = {"hour of week": [], "hour of day": [], "4-week mean": []}
    for ts in test["interval_start"]:
        w = how.loc[(ts.day_of_week, ts.hour)] if (ts.day_of_week, ts.hour) in how.index else None
        h = hod.loc[ts.hour] if ts.hour in hod.index else None
        out["hour of week"].append(w["handle"] / w["handled"] if w is not None and w["handled"] > 0 else overall)
        out["hour of day"].append(h["handle"] / h["handled"] if h is not None and h["handled"] > 0 else overall)
        out["4-week mean"].append(overall)
    return {k: np.asarray(v, float) for k, v in out.items()}


def aht_error(test: pd.DataFrame, aht: np.ndarray) -> float:
    """Volume-weighted absolute AHT error: sum handled |f - a| / sum handled a."""
    h = test["handled"].to_numpy(float)
    a = np.nan_to_num(test["aht_seconds"].to_numpy(float))
    f = np.nan_to_num(np.asarray(aht, float), nan=0.0)
    return float((h * np.abs(f - a)).sum() / (h * a).sum()) if (h * a).sum() > 0 else float("nan")


def run_series(s: Series, interval: int, which: str) -> pd.DataFrame:
    days = _days(s.history)
    gaps = gap_days_per_queue(s.history).get("all", set())
    calendar = Calendar(country=s.country)
    holes = pd.Series(hole_rows(s.history, calendar), index=s.history.index)
    rows = []
    for k, start in enumerate(fold_starts(days)):
        if (which == "dev" and held_out(k)) or (which == "holdout" and not held_out(k)):
            continue
        train = _slice(s.history, None, start)
        test = _slice(s.history, start, start + timedelta(days=7))
        scored = ~test["interval_start"].dt.date.isin(gaps).to_numpy() & ~holes.loc[test.index].to_numpy()
        res = forecast(train, 7, s.timezone, interval, "auto", calendar, LEVEL)
        fc = test[["interval_start"]].merge(res.forecast, on="interval_start", how="left")
        actual = test["volume"].to_numpy(float)[scored]
        row = {"fold": k, "start": start, "held_out": held_out(k),
               "holiday_week": bool(calendar.describe(start + timedelta(days=i) for i in range(7))),
               "model": "/".join(sorted(set(res.chosen.values()))),
               "wfm": metrics.wape(actual, fc["volume"].to_numpy()[scored])}
        for name, values in baseline_forecasts(train, test, gaps).items():
            row[name] = metrics.wape(actual, values[scored])
        lo, hi = fc["volume_lower"].to_numpy()[scored], fc["volume_upper"].to_numpy()[scored]
        active = (actual > 0) | (fc["volume"].to_numpy()[scored] > 0)
        row["covered"] = int(((actual >= lo) & (actual <= hi) & active).sum())
        row["open"] = int(active.sum())
        if s.has_aht:
            row["aht wfm"] = aht_error(test, fc["aht_seconds"].to_numpy())
            for name, values in aht_baselines(train, test).items():
                row[f"aht {name}"] = aht_error(test, values)
        rows.append(row)
    return pd.DataFrame(rows)


def report(label: str, folds: pd.DataFrame, with_all: bool = False) -> list[str]:
    """One row per part (development, held-out folds; with `with_all` also both together)."""
    lines = []
    parts = [("dev", folds[~folds["held_out"]]), ("held-out", folds[folds["held_out"]])]
    if with_all and folds["held_out"].any() and not folds["held_out"].all():
        parts.append(("all", folds))
    for part, g in parts:
        if g.empty:
            continue
        r_prof = g["wfm"] / g["4-week profile"]
        r_sn = g["wfm"] / g["seasonal naive"]
        normal, hol = g[~g["holiday_week"]], g[g["holiday_week"]]
        cov = lambda x: f"{100 * x['covered'].sum() / x['open'].sum():.1f}%" if x["open"].sum() else "-"  # noqa: E731
        aht = "-"
        if "aht wfm" in g:
            best = min(g[c].mean() for c in g.columns if c.startswith("aht ") and c != "aht wfm")
            aht = f"{100 * g['aht wfm'].mean():.1f}% (best baseline {100 * best:.1f}%)"
        lines.append(f"{label} | {part} | {len(g)} ({len(hol)} holiday) | {100 * g['wfm'].mean():.1f}% | "
                     f"{100 * g['4-week profile'].mean():.1f}% | {100 * g['seasonal naive'].mean():.1f}% | "
                     f"{r_prof.mean():.3f} | {r_prof.max():.3f} | {r_sn.mean():.3f} | {cov(normal)} | {cov(hol)} | "
                     f"{aht}")
    return lines


def accuracy_table(args) -> None:
    print(f"Accuracy: rolling one-week folds, {args.interval}-minute intervals, wfm forecast --model auto "
          f"--country CC; ratios are means over folds of per-fold WAPE ratios")
    print("series | folds | n (holiday weeks) | WAPE wfm | WAPE 4-week profile | WAPE seasonal naive | "
          "wfm / profile | worst fold | wfm / naive | 90% PI cover, normal weeks | holiday weeks | AHT error")
    print("--- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ---")
    everything = []
    for s in shared_series(args.interval):
        folds = run_series(s, args.interval, args.folds)
        everything.append(folds.assign(series=s.label))
        for line in report(s.label, folds):
            print(line, flush=True)
    # The floors read over all folds of all series pooled (each fold one ratio).
    for line in report("all series, folds pooled", pd.concat(everything, ignore_index=True), with_all=True):
        print(line)
    if args.per_fold:
        print()
        cols = ["series", "fold", "start", "held_out", "holiday_week", "model", "wfm", "4-week profile",
                "seasonal naive", "covered", "open"]
        print(pd.concat(everything)[cols].to_string(index=False, float_format=lambda v: f"{v:.3f}"))


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


def timing_table(args) -> None:
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


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--interval", type=int, default=60)
    parser.add_argument("--folds", choices=("all", "dev", "holdout"), default="all")
    parser.add_argument("--per-fold", action="store_true", help="also print every fold")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--skip-timing", action="store_true")
    args = parser.parse_args()
    accuracy_table(args)
    if not args.skip_timing:
        timing_table(args)


if __name__ == "__main__":
    main()
