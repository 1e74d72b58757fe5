"""Benchmark: required agents for a year of 15-minute intervals, ours vs pyworkforce.

    .venv/bin/python bench/staffing.py            # full year for pyworkforce too (~2 min)
    .venv/bin/python bench/staffing.py --peer-sample 5000   # pyworkforce on a random subset

A year is 35,040 intervals with an intraday and weekly shape, Poisson noise and closed
nights (zero volume), at three scales (peak 50, 500 and 5,000 contacts per interval),
AHT around 300 s, target 80% in 20 s with an 85% occupancy cap. Our time is the median
of several runs of one vectorized call; pyworkforce's ErlangC is called per interval (it
rejects zero-volume intervals, which are counted, not timed). Where the two disagree, each
answer is checked against the targets with our exact evaluation to say which one is minimal.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from wfm.domain import ServiceTarget
from wfm.staffing import evaluate, required_agents
from wfm.staffing.requirements import meets_targets

INTERVAL_MIN = 15
TARGET = ServiceTarget(service_level=0.8, answer_seconds=20, max_occupancy=0.85)


def year_of_volumes(peak: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 365 * 96
    hour = (np.arange(n) % 96) / 4.0
    dow = (np.arange(n) // 96) % 7
    shape = np.exp(-((hour - 11) ** 2) / 6) + 0.8 * np.exp(-((hour - 15) ** 2) / 8)
    shape = np.where((hour >= 7) & (hour < 21), shape, 0.0)  # closed at night
    week = np.array([1.1, 1.0, 1.0, 0.97, 0.95, 0.55, 0.3])[dow]
    season = 1 + 0.15 * np.sin(np.arange(n) / n * 2 * np.pi)
    mean = peak * shape / shape.max() * week * season
    volume = rng.poisson(mean).astype(float)
    aht = np.where(volume > 0, rng.normal(300, 25, n).clip(120), 0.0)
    return volume, aht


def time_ours(volume, aht, repeats: int) -> tuple[float, np.ndarray]:
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        res = required_agents(volume, aht, INTERVAL_MIN, TARGET)
        times.append(time.perf_counter() - t0)
    return statistics.median(times), res.agents


def time_peer(volume, aht, idx):
    from pyworkforce.queuing import ErlangC

    out = np.full(volume.shape, -1)
    t0 = time.perf_counter()
    for i in idx:
        model = ErlangC(transactions=volume[i], aht=aht[i] / 60.0, asa=TARGET.answer_seconds / 60.0,
                        interval=INTERVAL_MIN)
        out[i] = model.required_positions(service_level=TARGET.service_level,
                                          max_occupancy=TARGET.max_occupancy)["raw_positions"]
    return time.perf_counter() - t0, out


def minimal(agents, volume, aht):
    """Whether `agents` meets the targets and one fewer does not (our exact evaluation)."""
    lam = volume / (INTERVAL_MIN * 60.0)
    ok = meets_targets(evaluate(agents, lam, aht, TARGET), TARGET)
    fewer = meets_targets(evaluate(agents - 1, lam, aht, TARGET), TARGET)
    return ok & ~fewer


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--peer-sample", type=int, default=0, help="pyworkforce on this many intervals (0 = all)")
    parser.add_argument("--no-peer", action="store_true")
    args = parser.parse_args()

    rows = []
    for peak in (50, 500, 5000):
        volume, aht = year_of_volumes(peak)
        ours_s, ours = time_ours(volume, aht, args.repeats)
        row = {"peak": peak, "intervals": volume.size, "ours_s": ours_s, "max_agents": int(ours.max())}
        if not args.no_peer:
            answerable = np.flatnonzero(volume > 0)
            idx = answerable
            if args.peer_sample:
                idx = np.sort(np.random.default_rng(1).choice(answerable, min(args.peer_sample, answerable.size),
                                                              replace=False))
            peer_s, peer = time_peer(volume, aht, idx)
            # Scale the peer's time to the full set of answerable intervals when sampled.
            peer_full = peer_s * answerable.size / idx.size
            diff = idx[peer[idx] != ours[idx]]
            row.update(peer_s=peer_full, ratio=peer_full / ours_s, compared=idx.size,
                       unanswerable=int((volume == 0).sum()), disagree=diff.size,
                       ours_minimal=int(minimal(ours[diff], volume[diff], aht[diff]).sum()),
                       peer_minimal=int(minimal(peer[diff], volume[diff], aht[diff]).sum()),
                       max_abs_diff=int(np.abs(peer[diff] - ours[diff]).max()) if diff.size else 0)
        rows.append(row)
    print_table(rows, args)
    print_model_times(args.repeats)


def print_table(rows, args):
    print(f"Required agents, one year of {INTERVAL_MIN}-minute intervals, target 80%/20 s, occupancy <= 85%")
    print(f"ours: median of {args.repeats} runs; pyworkforce ErlangC per interval"
          + (f" (timed on {args.peer_sample} sampled intervals, scaled)" if args.peer_sample else ""))
    head = ("peak/interval", "intervals", "max agents", "ours s", "pyworkforce s", "ratio", "compared",
            "pwf can't (vol=0)", "disagree", "ours minimal", "pwf minimal", "max |diff|")
    print(" | ".join(head))
    print(" | ".join("---" for _ in head))
    for r in rows:
        cells = [r["peak"], r["intervals"], r["max_agents"], f"{r['ours_s']:.4f}"]
        if "peer_s" in r:
            cells += [f"{r['peer_s']:.2f}", f"{r['ratio']:,.0f}x", r["compared"], r["unanswerable"], r["disagree"],
                      f"{r['ours_minimal']}/{r['disagree']}", f"{r['peer_minimal']}/{r['disagree']}",
                      r["max_abs_diff"]]
        print(" | ".join(str(c) for c in cells))


def print_model_times(repeats: int) -> None:
    """Our other models on the same years (no peer to compare with)."""
    variants = {
        "Erlang C 80/20": TARGET,
        "Erlang A 80/20, patience 180 s, abandon <= 5%": ServiceTarget(
            service_level=0.8, answer_seconds=20, patience_seconds=180, max_abandon_rate=0.05),
        "chat, concurrency 3, 80/60": ServiceTarget(service_level=0.8, answer_seconds=60, concurrency=3),
    }
    print()
    print("model | " + " | ".join(f"peak {p} s" for p in (50, 500, 5000)))
    print("--- | --- | --- | ---")
    years = {peak: year_of_volumes(peak) for peak in (50, 500, 5000)}
    for name, target in variants.items():
        cells = []
        for _, (volume, aht) in years.items():
            times = []
            for _ in range(max(repeats // 2, 1)):
                t0 = time.perf_counter()
                required_agents(volume, aht, INTERVAL_MIN, target)
                times.append(time.perf_counter() - t0)
            cells.append(f"{statistics.median(times):.3f}")
        print(f"{name} | " + " | ".join(cells))


if __name__ == "__main__":
    main()
