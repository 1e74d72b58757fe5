"""Discrete-event simulation of a roster, interval by interval (plan fidelity).

Erlang C/A promise a service level for each interval in isolation, in steady state. The
simulation plays the week out: a queue carried over from a busy interval, agents leaving for
a break, randomness in arrivals and handle times, callers who hang up.

Model, per queue (agents work one queue per interval, so queues are independent):
* Servers: the roster's on-queue agents per interval (times the chat concurrency). Server
  slot j is on duty in interval i when j < servers[i]; a slot going off duty (break, end of
  shift) finishes the contact in hand and takes no new one until it is on duty again, so
  breaks are honoured without pre-empting a call. After the horizon no slot is on duty.
* Arrivals: Poisson at the forecast rate of each interval (uniform within it), or replayed
  from a contact history file.
* Handle times: exponential with the interval's forecast AHT, or resampled from the
  history's handle times (their shape, scaled to the interval's AHT).
* Patience: exponential with the target's patience_seconds (Erlang A); a caller whose wait
  would exceed it abandons. Without patience nobody abandons.
* FCFS: in arrival order, each contact takes the slot that can start it earliest. With FCFS
  this recursion (the offered-wait recursion) is exact: a later contact never overtakes.

Vectorised with numpy across "lanes" (queue x replication): the loop runs once per contact
of the busiest lane and every step is a handful of array operations over lanes x slots.

Metrics by arrival interval: SL = answered within the threshold / offered (abandoned calls
count against it, as in `wfm.staffing`), ASA = mean wait of answered contacts, abandonment
= abandoned / offered, occupancy = busy agent-time / on-duty agent-time. Each is averaged
over seeded replications with a Student-t confidence interval. Replication r of queue q
draws from its own seed (seed, q, r), so results do not depend on how replications are
split across workers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field
from scipy import stats

from .domain import Horizon, ServiceTarget
from .errors import InputError
from .staffing.requirements import evaluate

MAX_CONTACTS_PER_LANE = 5_000_000


class SimulationOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a misspelt option must not silently fall back to its default

    replications: int = Field(10, ge=2, le=10_000, description="seeded replications (>= 2 for a confidence interval)")
    seed: int = 0
    confidence: float = Field(0.95, gt=0, lt=1, description="confidence level of the intervals")
    arrivals: Literal["poisson", "history"] = "poisson"
    handle_times: Literal["exponential", "history"] = "exponential"


@dataclass
class QueueDemand:
    """What one queue offers and who serves it, per horizon interval."""

    queue: str
    servers: np.ndarray            # on-queue agents x concurrency
    volume: np.ndarray             # forecast contacts
    aht_seconds: np.ndarray
    answer_seconds: float = 20.0
    patience_seconds: float | None = None
    target: ServiceTarget | None = None
    replay: np.ndarray | None = None        # arrival times (s from horizon start) to replay
    handle_pool: np.ndarray | None = None   # handle times to resample (seconds)


@dataclass
class SimulationResult:
    intervals: pd.DataFrame   # per queue and interval: means and confidence bounds
    summary: pd.DataFrame     # per queue and "all": promised (Erlang) vs simulated, with bounds
    contacts: int             # simulated contacts over all replications
    seconds: float = 0.0
    options: dict = field(default_factory=dict)


# --------------------------------------------------------------------------- the kernel


def _on_duty_from(servers: np.ndarray, slots: int, step: float) -> np.ndarray:
    """on[l, j, c]: the time slot j of lane l is next on duty at or after the start of interval
    c, inf if never (c = I stands for "after the horizon"). The start of service of a contact
    on slot j ready at time r (in interval c) is then max(r, on[l, j, c])."""
    lanes, n = servers.shape
    duty = servers[:, None, :] > np.arange(slots)[None, :, None]
    first = np.where(duty, np.arange(n), n)
    nxt = np.minimum.accumulate(first[:, :, ::-1], axis=2)[:, :, ::-1]
    nxt = np.concatenate([nxt, np.full((lanes, slots, 1), n)], axis=2)
    return np.where(nxt < n, nxt * step, np.inf)


def run_lanes(servers, arrivals, handle, patience, step: float) -> np.ndarray:
    """FCFS multi-server queue with time-varying servers, one lane per row.

    servers (L, I) int; arrivals, handle, patience (L, K), each lane's arrivals sorted and
    padded with `I * step` (after the horizon: never served). Returns each contact's start of
    service (NaN when it abandoned or was never answered)."""
    servers = np.asarray(servers, np.int64)
    lanes, n = servers.shape
    count = arrivals.shape[1]
    slots = max(int(servers.max(initial=0)), 1)
    on_from = _on_duty_from(servers, slots, step).reshape(-1)
    base = (np.arange(lanes)[:, None] * slots + np.arange(slots)[None, :]) * (n + 1)
    chosen_base = np.arange(lanes) * slots
    free = np.zeros((lanes, slots))
    flat_free = free.reshape(-1)
    arr_t, hdl_t = np.ascontiguousarray(arrivals.T), np.ascontiguousarray(handle.T)
    # A finite stand-in for infinite patience, so "never answered" (inf) never counts as served.
    pat_t = np.ascontiguousarray(np.minimum(patience, np.finfo(float).max).T)
    started = np.full((count, lanes), np.nan)
    for k in range(count):
        t = arr_t[k]
        ready = np.maximum(free, t[:, None])
        cell = np.minimum(ready // step, n).astype(np.int64)
        start = np.maximum(ready, on_from.take(base + cell))
        at = chosen_base + start.argmin(axis=1)
        begin = start.reshape(-1).take(at)
        served = begin - t <= pat_t[k]
        flat_free[at] = np.where(served, begin + hdl_t[k], flat_free.take(at))
        started[k] = np.where(served, begin, np.nan)
    return started.T


def _busy_per_interval(start, end, n: int, step: float) -> np.ndarray:
    """Busy server-seconds in each interval from service spells [start, end)."""
    edges = np.arange(n + 1) * step
    s, e = np.sort(start), np.sort(end)
    cs, ce = np.concatenate([[0.0], np.cumsum(s)]), np.concatenate([[0.0], np.cumsum(e)])
    ns, ne = np.searchsorted(s, edges, side="right"), np.searchsorted(e, edges, side="right")
    busy_until = edges * ns - cs[ns] - (edges * ne - ce[ne])  # integral of busy servers up to each edge
    return np.diff(busy_until)


# --------------------------------------------------------------------------- one task


@dataclass
class LaneTask:
    """A chunk of replications of every queue: what an executor worker runs."""

    demands: list[QueueDemand]
    replications: list[int]
    seed: int
    step: float
    handle_times: str


def _draw(d: QueueDemand, qi: int, rep: int, seed: int, step: float, handle_times: str):
    rng = np.random.default_rng([seed, qi, rep])
    n = len(d.volume)
    if d.replay is not None:
        arrivals = np.sort(np.asarray(d.replay, float))
    else:
        counts = rng.poisson(np.maximum(d.volume, 0.0))
        cells = np.repeat(np.arange(n), counts)
        arrivals = np.sort((cells + rng.random(cells.size)) * step)
    if arrivals.size > MAX_CONTACTS_PER_LANE:
        raise InputError("volume", int(arrivals.size), f"queue {d.queue!r}: more than "
                         f"{MAX_CONTACTS_PER_LANE:,} contacts in one replication")
    cell = np.minimum((arrivals // step).astype(np.int64), n - 1)
    aht = np.asarray(d.aht_seconds, float)[cell]
    if handle_times == "history":
        if d.handle_pool is None or len(d.handle_pool) == 0:
            raise InputError("handle_times", "history", f"queue {d.queue!r}: the history has no handle times")
        pool = np.asarray(d.handle_pool, float)
        handle = rng.choice(pool, arrivals.size) * (aht / pool.mean())
    else:
        handle = rng.exponential(1.0, arrivals.size) * aht
    if d.patience_seconds is None:
        patience = np.full(arrivals.size, np.inf)
    else:
        patience = rng.exponential(d.patience_seconds, arrivals.size)
    return arrivals, handle, patience


def simulate_chunk(task: LaneTask) -> dict[str, np.ndarray]:
    """Counts per (queue, replication, interval) for a chunk of replications."""
    lanes = [(qi, d, r) for qi, d in enumerate(task.demands) for r in task.replications]
    n = len(task.demands[0].volume)
    draws = [_draw(d, qi, r, task.seed, task.step, task.handle_times) for qi, d, r in lanes]
    width = max(max((a.size for a, _, _ in draws), default=0), 1)
    pad = n * task.step
    arrivals = np.full((len(lanes), width), pad)
    handle, patience = np.zeros_like(arrivals), np.full_like(arrivals, np.inf)
    for i, (a, h, p) in enumerate(draws):
        arrivals[i, :a.size], handle[i, :a.size], patience[i, :a.size] = a, h, p
    servers = np.stack([np.asarray(d.servers, np.int64) for _, d, _ in lanes])
    started = run_lanes(servers, arrivals, handle, patience, task.step)

    keys = ("offered", "answered", "within", "abandoned", "wait", "busy")
    out = {k: np.zeros((len(lanes), n)) for k in keys}
    for i, ((_, d, _), (a, h, p)) in enumerate(zip(lanes, draws)):
        s = started[i, :a.size]
        cell = np.minimum((a // task.step).astype(np.int64), n - 1)
        served = np.isfinite(s)
        wait = np.where(served, s - a, 0.0)
        out["offered"][i] = np.bincount(cell, minlength=n)
        out["answered"][i] = np.bincount(cell, weights=served, minlength=n)
        out["within"][i] = np.bincount(cell, weights=served & (wait <= d.answer_seconds), minlength=n)
        out["abandoned"][i] = np.bincount(cell, weights=~served & np.isfinite(p), minlength=n)
        out["wait"][i] = np.bincount(cell, weights=wait, minlength=n)
        out["busy"][i] = _busy_per_interval(s[served], s[served] + h[served], n, task.step)
    shape = (len(task.demands), len(task.replications), n)
    return {k: v.reshape(shape) for k, v in out.items()}


# --------------------------------------------------------------------------- driver


def simulate_demands(horizon: Horizon, demands: list[QueueDemand], options: SimulationOptions,
                     executor=None) -> SimulationResult:
    """Simulate every queue over the horizon `options.replications` times; replications are
    split into chunks run by `executor` (default: this process)."""
    import time

    from .executor import SequentialExecutor

    if not demands:
        raise InputError("queues", [], "nothing to simulate: no queue has volume and staffing")
    starts = horizon.interval_starts()
    n = len(starts)
    for d in demands:
        for name in ("servers", "volume", "aht_seconds"):
            if len(getattr(d, name)) != n:
                raise InputError(name, len(getattr(d, name)), f"queue {d.queue!r}: {n} horizon intervals expected")
    step = horizon.interval_minutes * 60.0
    started = time.perf_counter()
    executor = executor or SequentialExecutor()
    reps = list(range(options.replications))
    chunks = max(1, min(executor.parallelism, len(reps)))
    tasks = [LaneTask(demands, reps[c::chunks], options.seed, step, options.handle_times) for c in range(chunks)]
    outcomes = executor.map(simulate_chunk, tasks)
    failed = [o.error for o in outcomes if not o.ok]
    if failed:
        raise InputError("simulation", options.replications, failed[0])
    counts = {k: np.zeros((len(demands), len(reps), n)) for k in outcomes[0].value}
    for task, outcome in zip(tasks, outcomes):
        for k, v in outcome.value.items():
            counts[k][:, task.replications, :] = v
    intervals, summary = _metrics(horizon, starts, demands, counts, options.confidence, step)
    return SimulationResult(intervals, summary, int(counts["offered"].sum()), time.perf_counter() - started,
                            options.model_dump())


def _ci(samples: np.ndarray, confidence: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and Student-t bounds over axis 0, ignoring NaN (replications with nothing offered)."""
    valid = np.isfinite(samples)
    k = valid.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(k > 0, np.nansum(samples, axis=0) / np.maximum(k, 1), np.nan)
        dev = np.where(valid, samples - mean, 0.0)
        sd = np.sqrt((dev ** 2).sum(axis=0) / np.maximum(k - 1, 1))
        half = stats.t.ppf(0.5 + confidence / 2, np.maximum(k - 1, 1)) * sd / np.sqrt(np.maximum(k, 1))
    half = np.where(k > 1, half, np.nan)
    return mean, mean - half, mean + half


def _ratio(num, den):
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _promised(d: QueueDemand, step: float) -> dict[str, np.ndarray]:
    """Erlang C/A metrics of each interval at the simulated staffing."""
    target = d.target or ServiceTarget(answer_seconds=d.answer_seconds, patience_seconds=d.patience_seconds)
    vol, aht = np.asarray(d.volume, float), np.asarray(d.aht_seconds, float)
    m = evaluate(np.asarray(d.servers, float), vol / step, np.where(vol > 0, aht, 1.0), target)
    return {k: np.where(vol > 0, np.asarray(v, float), np.nan) for k, v in m.items() if k != "stable"}


def _metrics(horizon, starts, demands, counts, confidence, step):
    frames, rows = [], []
    per_rep = {"service_level": _ratio(counts["within"], counts["offered"]),
               "asa_seconds": _ratio(counts["wait"], counts["answered"]),
               "abandon_rate": _ratio(counts["abandoned"], counts["offered"])}
    for qi, d in enumerate(demands):
        servers = np.asarray(d.servers, float)
        frame = pd.DataFrame({"interval_start": starts, "queue": d.queue, "volume": d.volume, "servers": servers,
                              "offered": counts["offered"][qi].mean(axis=0)})
        promised = _promised(d, step)
        for name, values in per_rep.items():
            mean, lo, hi = _ci(values[qi], confidence)
            if name == "abandon_rate" and d.patience_seconds is None:
                mean = lo = hi = np.full(len(starts), np.nan)  # nobody abandons in this model: not a forecast of 0
            frame[name], frame[f"{name}_low"], frame[f"{name}_high"] = mean, lo, hi
        occ = _ratio(counts["busy"][qi], servers * step)
        frame["occupancy"], frame["occupancy_low"], frame["occupancy_high"] = _ci(occ, confidence)
        for name in ("service_level", "asa_seconds", "occupancy", "abandon_rate"):
            if name in promised:
                frame[f"erlang_{name}"] = promised[name]
        frames.append(frame)
        rows.append(_summary_row(d.queue, {k: v[qi:qi + 1] for k, v in counts.items()}, [servers], [d], confidence,
                                 step))
    rows.append(_summary_row("all", counts, [np.asarray(d.servers, float) for d in demands], demands, confidence, step))
    return pd.concat(frames, ignore_index=True), pd.DataFrame(rows)


def _summary_row(name, counts, servers, demands, confidence, step) -> dict:
    """Totals over the horizon: each replication's ratio of sums, then mean and bounds."""
    total = {k: v.sum(axis=(0, 2)) for k, v in counts.items()}
    on_duty = sum(s.sum() for s in servers) * step
    row = {"queue": name, "offered": float(total["offered"].mean())}
    for key, (num, den) in {"service_level": ("within", "offered"), "asa_seconds": ("wait", "answered"),
                            "abandon_rate": ("abandoned", "offered")}.items():
        mean, lo, hi = _ci(_ratio(total[num], total[den])[:, None], confidence)
        if key == "abandon_rate" and all(d.patience_seconds is None for d in demands):
            mean = lo = hi = [np.nan]
        row[key], row[f"{key}_low"], row[f"{key}_high"] = float(mean[0]), float(lo[0]), float(hi[0])
    occ = total["busy"] / on_duty if on_duty > 0 else np.full(total["busy"].shape, np.nan)
    mean, lo, hi = _ci(occ[:, None], confidence)
    row["occupancy"], row["occupancy_low"], row["occupancy_high"] = float(mean[0]), float(lo[0]), float(hi[0])
    # What Erlang promises for the same staffing: contact-weighted over intervals.
    vol = np.concatenate([np.asarray(d.volume, float) for d in demands])
    promised = [_promised(d, step) for d in demands]
    for key in ("service_level", "asa_seconds", "abandon_rate"):
        if all(key in p for p in promised):
            values = np.concatenate([p[key] for p in promised])
            ok = np.isfinite(values) & (vol > 0)
            row[f"erlang_{key}"] = float(np.average(values[ok], weights=vol[ok])) if ok.any() else float("nan")
    return row


# --------------------------------------------------------------------------- from a roster


def demands_from_coverage(coverage: pd.DataFrame, requirements, options: SimulationOptions,
                          history: pd.DataFrame | None = None, horizon: Horizon | None = None) -> list[QueueDemand]:
    """Queue demands from a coverage frame (queue, interval_start, on_queue) and the roster
    input's requirements (volume, AHT and target per queue). `history`: contacts (ts UTC,
    queue, handle_seconds) for replayed arrivals and resampled handle times."""
    out = []
    for req in requirements:
        if req.volume is None or req.aht_seconds is None:
            continue
        target = req.target or ServiceTarget()
        part = coverage[coverage["queue"] == req.queue]
        servers = part["on_queue"].to_numpy(np.int64) * target.concurrency
        replay = pool = None
        if options.arrivals == "history" or options.handle_times == "history":
            replay, pool = _from_history(history, req.queue, horizon, options)
        out.append(QueueDemand(queue=req.queue, servers=servers, volume=np.asarray(req.volume, float),
                               aht_seconds=np.asarray(req.aht_seconds, float),
                               answer_seconds=target.answer_seconds, patience_seconds=target.patience_seconds,
                               target=target, replay=replay if options.arrivals == "history" else None,
                               handle_pool=pool))
    return out


def _from_history(history, queue, horizon, options):
    if history is None:
        raise InputError("history", None, "arrivals or handle times from history need a history file")
    mine = history[history["queue"] == queue]
    if mine.empty:
        raise InputError("history", queue, f"no contacts of queue {queue!r} in the history; "
                         f"its queues are {sorted(history['queue'].unique())}")
    pool = mine["handle_seconds"].to_numpy(float)
    pool = pool[np.isfinite(pool) & (pool > 0)]
    replay = None
    if options.arrivals == "history":
        replay = replay_arrivals(mine["ts"], horizon)
    return replay, pool


def replay_arrivals(ts_utc: pd.Series, horizon: Horizon) -> np.ndarray:
    """Arrival times (seconds from the horizon start) of the history's contacts in the horizon;
    when the history ends before the horizon, its most recent weeks are moved forward by whole
    weeks of local wall-clock time (same weekday and clock time, DST-safe)."""
    from datetime import timedelta

    starts = horizon.interval_starts()
    first, end = starts[0], starts[-1] + pd.Timedelta(minutes=horizon.interval_minutes)
    ts = pd.DatetimeIndex(pd.to_datetime(ts_utc, utc=True))
    if ts.min() > first.tz_convert("UTC"):
        raise InputError("history", str(ts.min()), f"starts after the horizon ({first.date()})")
    if ts.max() < end.tz_convert("UTC"):
        last_day = ts.max().tz_convert(horizon.timezone).date()
        weeks = -(-(horizon.dates()[-1] - last_day).days // 7)  # fewest whole weeks reaching the horizon end
        local = ts.tz_convert(horizon.timezone).tz_localize(None) + timedelta(weeks=weeks)
        ts = local.tz_localize(horizon.timezone, ambiguous=np.zeros(len(local), bool), nonexistent="shift_forward")
    seconds = (ts.tz_convert("UTC") - first.tz_convert("UTC")).total_seconds().to_numpy()
    span = (end - first).total_seconds()
    seconds = np.sort(seconds[(seconds >= 0) & (seconds < span)])
    if seconds.size == 0:
        raise InputError("history", "arrivals", "no history contacts fall in the horizon, even moved by whole weeks")
    return seconds


def read_contacts(path, timezone: str) -> pd.DataFrame:
    """Contacts (ts UTC, queue, handle_seconds) from a history file (the forecast's reader)."""
    from forecasts.ingest import read_history

    records, report = read_history(path, timezone)
    if report.kind != "contact":
        raise InputError("history", str(path), "replay needs one row per contact, not an interval report")
    return pd.DataFrame({"ts": records["ts"], "queue": records["series"],
                         "handle_seconds": np.where(records["handled"] > 0, records["handle_sum"], np.nan)})


def simulate_roster(data, roster, options: SimulationOptions, executor=None,
                    history: pd.DataFrame | None = None) -> SimulationResult:
    """Simulate a roster (`RosterInput`, `Roster`): servers are the validator's on-queue
    coverage, demand is each requirement's volume, AHT and target."""
    from .roster.report import evaluate_roster

    _, coverage, _, _ = evaluate_roster(data, roster)
    demands = demands_from_coverage(coverage, data.requirements, options, history, data.horizon)
    return simulate_demands(data.horizon, demands, options, executor)


def simulated_week(horizon: Horizon, demands: list[QueueDemand], seed: int = 0, day_spread: float = 0.1,
                   patience_seconds: float = 180.0) -> pd.DataFrame:
    """One seeded 'actual' week of contacts, as a contact history: created_at (site wall clock),
    queue, handle_seconds, wait_seconds, abandoned. Each day's volume and AHT are the forecast's
    times a lognormal day factor (sd `day_spread`), arrivals Poisson, handle times exponential;
    the roster's on-queue agents serve them first come first served (`run_lanes`), and callers
    leave after an exponential patience (the target's, else `patience_seconds`). For reviewing a
    plan against a week that did not follow its forecast exactly (`make demo`)."""
    starts = horizon.interval_starts()
    step = horizon.interval_minutes * 60.0
    day_of = np.asarray([(ts.date() - horizon.start).days for ts in starts])
    rows = []
    for qi, d in enumerate(demands):
        rng = np.random.default_rng([seed, qi])
        volume_factor = np.exp(rng.normal(0.0, day_spread, horizon.days))[day_of]
        aht_factor = np.exp(rng.normal(0.0, day_spread / 2, horizon.days))[day_of]
        counts = rng.poisson(np.maximum(np.asarray(d.volume, float) * volume_factor, 0.0))
        cells = np.repeat(np.arange(len(starts)), counts)
        arrivals = np.sort((cells + rng.random(cells.size)) * step)
        cell = np.minimum((arrivals // step).astype(np.int64), len(starts) - 1)
        handle = rng.exponential(1.0, arrivals.size) * np.asarray(d.aht_seconds, float)[cell] * aht_factor[cell]
        patience = rng.exponential(d.patience_seconds or patience_seconds, arrivals.size)
        began = run_lanes(np.asarray(d.servers)[None, :], arrivals[None, :], handle[None, :], patience[None, :],
                          step)[0]
        answered = ~np.isnan(began)
        created = starts[cell] + pd.to_timedelta(np.round(arrivals - cell * step), unit="s")
        rows.append(pd.DataFrame({
            "created_at": created.tz_convert(horizon.timezone).map(lambda t: t.isoformat()), "queue": d.queue,
            "handle_seconds": np.where(answered, np.round(handle), 0).astype(int),
            "wait_seconds": np.round(np.where(answered, began - arrivals, patience)).astype(int),
            "abandoned": np.where(answered, "false", "true")}))
    frame = pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(
        columns=["created_at", "queue", "handle_seconds", "wait_seconds", "abandoned"])
    return frame.sort_values(["created_at", "queue"], kind="stable").reset_index(drop=True)
