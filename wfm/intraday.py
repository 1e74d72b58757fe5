"""Intraday: at `now` on one of a plan's days, what the rest of the day needs and how to get it.

1. **Reforecast** each queue's rest of the day by a ratio: the day's actual contacts so far (A)
   against the forecast for the same intervals (E). The multiplier is the ratio shrunk towards 1,
   m = 1 + w (A/E - 1) with weight w = min(max_weight, E / (E + prior_contacts)): it grows with the
   evidence and never trusts the morning completely. The ratio is bounded (`ratio_bounds`) and its
   interval is Poisson's for A (Gamma quantiles at `level`), shrunk the same way; the reforecast's
   band is the forecast band scaled by the interval's ends. AHT is reforecast the same way from the
   handled contacts (prior_handled).
2. **Requirements** again: the reforecast staffed to each queue's target (the plan's roster input),
   for the intervals from `now` to the end of the day.
3. **Re-plan** the remaining hours with the roster solver's repair mode (`wfm.roster.repair`):
   the past fixed, breaks moved, shifts extended, cut or moved within contracts and rest rules,
   as few shifts changed as the coverage allows. The independent validator checks the result.
4. **Offers** on top of the re-plan, ranked: overtime (an extra shift today for an agent off, or a
   longer shift for one working) to agents the validator says can legally take it, and voluntary
   time off (a shorter shift, or the day off) where the agent's queues are short nowhere for the
   rest of the day, as far as they are over-covered, and while the service target holds; each with
   its effect on the rest of the day's projected SL.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import gamma

from forecasts.ingest import aggregate, read_history
from forecasts.service import HistoryOptions

from .domain import ServiceTarget, zone
from .errors import InputError
from .review import PlanFiles, read_plan
from .roster.breaks import best_breaks
from .roster.domain import Roster, RosterInput, Shift
from .roster.options import Grid, blocked, eligible, expand_options, worked_shift
from .roster.repair import changes, repair_from
from .roster.report import coverage_frame
from .roster.validator import validate
from .staffing.frames import staff_frame


class NoReplan(Exception):
    """No re-plan within the limits (the rules cannot all hold, or time ran out)."""


class BrokenReplan(RuntimeError):
    """The re-plan broke a hard rule in the independent validator (a solver bug)."""


@dataclass
class IntradayOptions:
    """How much to trust the morning, how long to search, how many offers."""

    prior_contacts: float = 50.0        # forecast contacts that weigh as much as the forecast itself
    max_weight: float = 0.8             # the actuals never carry more than this weight
    ratio_bounds: tuple[float, float] = (0.5, 2.0)
    prior_handled: float = 50.0         # the same for AHT, in handled contacts
    level: float = 0.9                  # the multiplier's interval
    time_limit_seconds: float = 20.0
    seed: int = 0
    change_weight: int = 20             # per shift changed; under-coverage costs 100 per agent-interval
    max_offers: int = 10                # per kind (overtime, vto)

    def check(self) -> None:
        if self.prior_contacts <= 0 or self.prior_handled <= 0:
            raise InputError("prior_contacts", self.prior_contacts, "must be > 0")
        if not 0 <= self.max_weight <= 1:
            raise InputError("max_weight", self.max_weight, "must be between 0 and 1")
        if not 0 < self.ratio_bounds[0] <= 1 <= self.ratio_bounds[1]:
            raise InputError("ratio_bounds", self.ratio_bounds, "must hold 1 (low <= 1 <= high, low > 0)")
        if not 0 < self.level < 1:
            raise InputError("level", self.level, "must be between 0 and 1")
        if not 0 < self.time_limit_seconds <= 3600:
            raise InputError("time_limit_seconds", self.time_limit_seconds, "must be in (0, 3600]")
        if not 0 <= self.max_offers <= 100:
            raise InputError("max_offers", self.max_offers, "must be between 0 and 100")


@dataclass
class Intraday:
    now: pd.Timestamp
    ratios: pd.DataFrame          # per queue: the evidence and the multipliers
    reforecast: pd.DataFrame      # per interval and queue from now to the day's end
    coverage: pd.DataFrame        # per interval and queue from now: required, on queue and SL before/after
    roster: Roster                # the re-planned roster (whole horizon)
    changed: dict[str, list[str]]
    offers: pd.DataFrame
    offer_shifts: list[Shift | None]  # per offer: the agent's shift today if taken (None: the day off)
    summary: dict
    notes: list[str] = field(default_factory=list)


def parse_now(value: str | datetime, timezone: str) -> pd.Timestamp:
    """`now` as a tz-aware instant: a naive time is the site's wall clock."""
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError):
        raise InputError("now", value, "not a date and time (e.g. 2026-05-27T11:00)") from None
    if ts is pd.NaT:
        raise InputError("now", value, "not a date and time (e.g. 2026-05-27T11:00)")
    if ts.tzinfo is None:
        try:
            ts = ts.tz_localize(zone(timezone), ambiguous="raise", nonexistent="raise")
        except Exception:
            raise InputError("now", value, f"does not exist or is ambiguous in {timezone} (a DST change)") from None
    return ts.tz_convert(zone(timezone))


def run_intraday(plan_folder: str | Path, actuals: str | Path, now: str | datetime,
                 options: IntradayOptions | None = None, history: HistoryOptions | None = None) -> Intraday:
    """Reforecast, staff and re-plan the rest of `now`'s day (see the module docstring)."""
    options = options or IntradayOptions()
    options.check()
    folder = Path(plan_folder)
    plan = read_plan(folder)
    data, roster = _plan_roster(folder)
    h = plan.horizon
    instant = _on_grid(parse_now(now, h.timezone), data)
    reading = replace(history or HistoryOptions(timezone=h.timezone), timezone=h.timezone,
                      interval_minutes=h.interval_minutes)
    notes: list[str] = []
    actual = _actuals_so_far(actuals, reading, instant, h.timezone, h.interval_minutes, notes)
    today = _today(plan.forecast, instant, h.timezone)
    ratios = _ratios(today, actual, instant, options)
    reforecast = _reforecast(today, ratios, instant, data, h.interval_minutes, notes)
    new_data = _new_input(data, roster, reforecast, options)
    solved = repair_from(new_data, roster, instant)
    if solved.roster is None:
        raise NoReplan(f"no re-plan found ({solved.status}): "
                       + ("; ".join(solved.conflicts) or "none within the time limit"))
    before, after = validate(new_data, roster), validate(new_data, solved.roster)
    if not after.feasible:  # a solver bug: nothing is published silently
        raise BrokenReplan(f"the re-plan broke a hard rule: {after.violations[0]}")
    cov_before, cov_after = coverage_frame(new_data, before), coverage_frame(new_data, after)
    coverage = _coverage_table(cov_before, cov_after, instant, h.timezone)
    offers = _offers(new_data, solved.roster, after, instant, plan, options, notes)
    offer_shifts = list(offers.pop("shift"))
    changed = changes(roster, solved.roster)
    summary = _summary(instant, ratios, coverage, changed, solved, after, offers, plan)
    return Intraday(instant, ratios, reforecast, coverage, solved.roster, changed, offers, offer_shifts, summary,
                    notes)


def _plan_roster(folder: Path) -> tuple[RosterInput, Roster]:
    for name in ("roster_input.json", "roster.json"):
        if not (folder / name).exists():
            raise InputError("plan", str(folder), f"has no {name}: intraday re-plans a plan with a roster")
    try:
        data = RosterInput.model_validate_json((folder / "roster_input.json").read_text())
        roster = Roster.model_validate_json((folder / "roster.json").read_text())
    except ValueError as exc:
        raise InputError("plan", str(folder), f"roster_input.json or roster.json unreadable: {exc}") from None
    return data, roster


def _on_grid(now: pd.Timestamp, data: RosterInput) -> pd.Timestamp:
    """`now` floored to its interval; it must fall on a plan day (not its first interval)."""
    starts = data.horizon.interval_starts()
    if now < starts[0] or now >= starts[-1] + pd.Timedelta(minutes=data.horizon.interval_minutes):
        raise InputError("now", now.isoformat(), f"outside the plan's days ({data.horizon.dates()[0]} to "
                                                 f"{data.horizon.dates()[-1]})")
    return starts[starts <= now][-1]


def _actuals_so_far(path, reading: HistoryOptions, now: pd.Timestamp, tz: str, minutes: int,
                    notes: list[str]) -> pd.DataFrame:
    records, _ = read_history(path, reading.timezone, reading.columns, reading.timestamp_format,
                              reading.max_handle_seconds, reading.on_bad_row, reading.drop_if, reading.ignore_offset)
    local = records["ts"].dt.tz_convert(tz)
    day = now.date()
    on_day = (local.dt.date == day).to_numpy()
    before = on_day & (records["ts"] < now).to_numpy()
    if (on_day & ~before).any():
        notes.append(f"{int((on_day & ~before).sum()):,} contacts at or after now left out")
    if not before.any():
        raise InputError("actuals", str(path), f"no contacts on {day} before {now:%H:%M}: nothing to reforecast from")
    agg = aggregate(records[before], minutes, tz, first_day=day, last_day=day)
    agg = agg[agg["interval_start"] < now]
    return pd.DataFrame({"interval_start": agg["interval_start"].dt.tz_convert("UTC"), "queue": agg["queue"],
                         "actual_volume": agg["volume"], "actual_aht_seconds": agg["aht_seconds"],
                         "actual_handled": agg["handled"]})


def _today(forecast: pd.DataFrame, now: pd.Timestamp, tz: str) -> pd.DataFrame:
    frame = forecast[forecast["interval_start"].dt.tz_convert(tz).dt.date == now.date()].copy()
    frame["interval_start"] = frame["interval_start"].dt.tz_convert("UTC")
    return frame


@dataclass(frozen=True)
class Multiplier:
    weight: float   # the actuals' weight, min(max_weight, E / (E + prior_contacts))
    ratio: float    # A / E as seen (1 without a forecast)
    value: float    # 1 + weight (bounded ratio - 1)
    lower: float    # the same at the ends of the ratio's Poisson interval
    upper: float


def volume_multiplier(expected: float, seen: float, o: IntradayOptions) -> Multiplier:
    """The rest of the day's volume multiplier from E contacts forecast so far and A seen (see
    the module docstring)."""
    if expected <= 0:
        return Multiplier(0.0, 1.0, 1.0, 1.0, 1.0)
    low, high = o.ratio_bounds
    tail = (1 - o.level) / 2
    weight = min(o.max_weight, expected / (expected + o.prior_contacts))
    ratio = seen / expected
    # Poisson interval for the ratio (Jeffreys: Gamma(A + 1/2)), bounded, shrunk as the ratio is
    ends = [gamma.ppf(q, seen + 0.5) / expected for q in (tail, 1 - tail)]
    value, lower, upper = (1 + weight * (float(np.clip(v, low, high)) - 1) for v in (ratio, *ends))
    return Multiplier(weight, ratio, value, min(lower, value), max(upper, value))


def _ratios(today: pd.DataFrame, actual: pd.DataFrame, now: pd.Timestamp, o: IntradayOptions) -> pd.DataFrame:
    past = today[today["interval_start"] < now].merge(actual, on=["interval_start", "queue"], how="left")
    low, high = o.ratio_bounds
    rows = []
    for queue, g in past.groupby("queue", sort=True):
        expected = float(g["volume"].sum())
        seen = float(g["actual_volume"].fillna(0).sum())
        m = volume_multiplier(expected, seen, o)
        handled = float(g["actual_handled"].fillna(0).sum())
        f_aht = _weighted(g["aht_seconds"], g["actual_handled"].fillna(0))
        a_aht = _weighted(g["actual_aht_seconds"], g["actual_handled"].fillna(0))
        aht_weight = min(o.max_weight, handled / (handled + o.prior_handled))
        aht_ratio = float(np.clip(a_aht / f_aht, low, high)) if f_aht > 0 and np.isfinite(a_aht) else 1.0
        rows.append({"queue": queue, "forecast_so_far": expected, "actual_so_far": seen, "ratio": m.ratio,
                     "weight": m.weight, "multiplier": m.value, "multiplier_lower": m.lower,
                     "multiplier_upper": m.upper, "aht_ratio": aht_ratio, "aht_weight": aht_weight,
                     "aht_multiplier": 1 + aht_weight * (aht_ratio - 1)})
    return pd.DataFrame(rows)


def _weighted(values: pd.Series, weights: pd.Series) -> float:
    v, w = values.to_numpy(float), weights.to_numpy(float)
    ok = np.isfinite(v) & (w > 0)
    return float(np.average(v[ok], weights=w[ok])) if ok.any() else np.nan


def _reforecast(today: pd.DataFrame, ratios: pd.DataFrame, now: pd.Timestamp, data: RosterInput, minutes: int,
                notes: list[str]) -> pd.DataFrame:
    rest = today[today["interval_start"] >= now].copy()
    by_queue = ratios.set_index("queue")
    targets = {r.queue: r.target for r in data.requirements}
    old_agents = {r.queue: r.agents for r in data.requirements}
    index = {ts: i for i, ts in enumerate(data.horizon.interval_starts().tz_convert("UTC"))}
    parts = []
    for queue, g in rest.groupby("queue", sort=True):
        r = by_queue.loc[queue] if queue in by_queue.index else None
        if r is None:
            notes.append(f"no forecast for {queue} before now: its rest of the day is not reforecast")
        m, m_lo, m_hi, m_aht = ((r["multiplier"], r["multiplier_lower"], r["multiplier_upper"], r["aht_multiplier"])
                                if r is not None else (1.0, 1.0, 1.0, 1.0))
        lower = g["volume_lower"] if "volume_lower" in g else g["volume"]
        upper = g["volume_upper"] if "volume_upper" in g else g["volume"]
        part = pd.DataFrame({"interval_start": g["interval_start"], "queue": queue,
                             "forecast_volume": g["volume"], "volume": g["volume"] * m,
                             "volume_lower": lower * m_lo, "volume_upper": upper * m_hi,
                             "forecast_aht_seconds": g["aht_seconds"], "aht_seconds": g["aht_seconds"] * m_aht})
        target = targets.get(queue)
        if target is None:
            target = ServiceTarget()
            notes.append(f"no service target for {queue} in the plan's roster input: staffed to the default")
        staffed = staff_frame(part.assign(open=part["forecast_volume"] > 0), minutes, target)
        part["required_before"] = [old_agents.get(queue, [0] * len(index))[index[ts]] for ts in part["interval_start"]]
        part["required_after"] = staffed.set_index("interval_start").loc[part["interval_start"], "agents"].to_numpy()
        parts.append(part)
    if not parts:
        raise InputError("now", now.isoformat(), "the plan has no forecast left for this day")
    return pd.concat(parts, ignore_index=True)


def _new_input(data: RosterInput, roster: Roster, reforecast: pd.DataFrame, o: IntradayOptions) -> RosterInput:
    """The plan's roster input with the rest of the day's requirements, in repair mode from `roster`."""
    index = {ts: i for i, ts in enumerate(data.horizon.interval_starts().tz_convert("UTC"))}
    requirements = []
    for req in data.requirements:
        agents, volume = list(req.agents), list(req.volume) if req.volume is not None else None
        aht = list(req.aht_seconds) if req.aht_seconds is not None else None
        for row in reforecast[reforecast["queue"] == req.queue].itertuples():
            i = index[row.interval_start]
            agents[i] = float(row.required_after)
            if volume is not None:
                volume[i] = float(row.volume)
            if aht is not None:
                aht[i] = float(row.aht_seconds)
        requirements.append(req.model_copy(update={"agents": agents, "volume": volume, "aht_seconds": aht}))
    weights = data.weights.model_copy(update={"change": o.change_weight})
    solver = data.solver.model_copy(update={"time_limit_seconds": o.time_limit_seconds, "seed": o.seed,
                                            "workers": 1})
    return data.model_copy(update={"requirements": requirements, "weights": weights, "solver": solver,
                                   "reference": roster})


def next_midnight(now: pd.Timestamp) -> pd.Timestamp:
    """The local midnight ending `now`'s day (23 or 25 hours after the last one on a DST day)."""
    day = now.tz_localize(None).normalize() + pd.Timedelta(days=1)
    return day.tz_localize(now.tz, ambiguous=True, nonexistent="shift_forward")


def _rest_sl(cov: pd.DataFrame, now: pd.Timestamp) -> float:
    """The rest of the day's projected SL, weighted by volume (NaN without volume)."""
    day_end = next_midnight(now)
    starts = cov["interval_start"].dt.tz_convert(now.tz)
    rest = cov[(starts >= now) & (starts < day_end) & cov["service_level"].notna()]
    volume = rest["volume"].to_numpy(float) if "volume" in rest else np.zeros(len(rest))
    return float(np.average(rest["service_level"], weights=volume)) if volume.sum() > 0 else float("nan")


def _rest_sum(cov: pd.DataFrame, now: pd.Timestamp, column: str) -> dict[str, int]:
    """Per queue, agent-intervals over (or under) the requirement from now to the day's end."""
    starts = cov["interval_start"].dt.tz_convert(now.tz)
    rest = cov[(starts >= now) & (starts < next_midnight(now))]
    return {q: int(v) for q, v in rest.groupby("queue")[column].sum().items()}


def _given_up(mine: Shift, candidate: Shift | None, grid: Grid, now_i: int, day_end: int) -> int:
    """On-queue agent-intervals from now to the day's end that taking the offer gives up."""
    def on_queue(shift):
        if shift is None:
            return set()
        out = set()
        for g in shift.segments:
            first, last = grid.index_of(pd.Timestamp(g.start)), grid.index_of(pd.Timestamp(g.end))
            out.update(i for i in range(first, last) if now_i <= i < day_end)
        return out

    return len(on_queue(mine) - on_queue(candidate))


def _coverage_table(before: pd.DataFrame, after: pd.DataFrame, now: pd.Timestamp, tz: str) -> pd.DataFrame:
    keys = ["interval_start", "queue"]
    day_end = next_midnight(now)
    left = before[keys + ["volume", "required", "on_queue", "under", "service_level"]].rename(columns={
        "on_queue": "on_queue_before", "under": "under_before", "service_level": "service_level_before"})
    right = after[keys + ["on_queue", "under", "service_level"]].rename(columns={
        "on_queue": "on_queue_after", "under": "under_after", "service_level": "service_level_after"})
    out = left.merge(right, on=keys)
    local = out["interval_start"].dt.tz_convert(tz)
    out = out[(local >= now) & (local < day_end)].assign(interval_start=local)
    return out.sort_values(["queue", "interval_start"], kind="stable").reset_index(drop=True)


# -- offers ---------------------------------------------------------------------------------------
def _offers(data: RosterInput, roster: Roster, report, now: pd.Timestamp, plan: PlanFiles,
            o: IntradayOptions, notes: list[str]) -> pd.DataFrame:
    grid = Grid(data)
    options = expand_options(data, grid)
    now_i = grid.index_of(now)
    day = grid.days.index(now.date())
    day_end = grid.index_of(next_midnight(now)) or grid.size
    cov = coverage_frame(data, report)
    base_sl, surplus, short = _rest_sl(cov, now), _rest_sum(cov, now, "over"), _rest_sum(cov, now, "under")
    gap = _gaps(cov, grid)
    working = {s.agent: s for s in roster.shifts if s.day == grid.days[day]}
    templates = {t.id: t for t in data.templates}
    rows, checks = [], 0
    for agent in data.agents:
        mine, done = working.get(agent.id), set()
        for candidate, kind in _candidates(data, agent, mine, options, grid, day, now_i, day_end, gap, templates):
            if kind in done:
                continue  # one offer per agent and kind: the first legal one, candidates come best first
            if kind == "vto" and (any(short.get(q, 0) for q in agent.skills) or _given_up(
                    mine, candidate, grid, now_i, day_end) > sum(surplus.get(q, 0) for q in agent.skills)):
                continue  # time off only where the agent's queues are short nowhere and over-covered enough
            if checks >= MAX_CHECKS:
                notes.append(f"offers: stopped after {MAX_CHECKS} rule checks; agents after {agent.id} not tried")
                return _ranked(pd.DataFrame(rows, columns=OFFER_COLUMNS + ["shift"]), plan, o.max_offers)
            checks += 1
            trial = Roster(shifts=[s for s in roster.shifts if s is not mine] + ([candidate] if candidate else []))
            checked = validate(data, trial)
            if not checked.feasible:
                continue
            sl = _rest_sl(coverage_frame(data, checked), now)
            rows.append({**_offer_row(kind, agent.id, mine, candidate, templates, base_sl, sl, grid.minutes),
                         "shift": candidate})
            done.add(kind)
    frame = pd.DataFrame(rows, columns=OFFER_COLUMNS + ["shift"])
    return _ranked(frame, plan, o.max_offers)


OFFER_COLUMNS = ["rank", "kind", "agent", "action", "template", "start", "end", "hours_change",
                 "service_level_before", "service_level_after", "service_level_change"]


def _gaps(cov: pd.DataFrame, grid: Grid) -> dict[str, np.ndarray]:
    """Per queue and interval, agents short (> 0) or over (< 0) the new requirement."""
    out = {}
    for queue, g in cov.groupby("queue"):
        values = np.zeros(grid.size)
        idx = [grid.index_of(pd.Timestamp(t)) for t in g["interval_start"]]
        values[idx] = (g["required"] - g["on_queue"]).to_numpy(float)
        out[queue] = values
    return out


TRIES = 12  # candidate shifts per agent and kind, best coverage first; the first the validator accepts is offered
MAX_CHECKS = 600  # validator runs for offers at most (tens of ms each on a 30-agent week): bounds a large site


def _candidates(data, agent, mine: Shift | None, options, grid, day, now_i, day_end, gap, templates):
    """Overtime and VTO shifts to try for one agent, best first by the coverage they change."""
    skills = [q for q in agent.skills if q in gap]
    if not skills:
        return
    short = np.maximum(np.max([gap[q] for q in skills], axis=0), 0.0)
    spare = np.maximum(-np.max([gap[q] for q in skills], axis=0), 0.0)
    mine_option = next((op for op in options if mine is not None and op.day == day and op.template == mine.template
                        and op.start == pd.Timestamp(mine.start)), None)
    ok = [op for op in options if op.day == day and eligible(data, agent, op, templates) and not blocked(agent, op)]
    if mine is None and not short[now_i:day_end].any():
        return
    if mine is None:  # overtime: an extra shift starting from now on
        scored = sorted((-short[op.first:min(op.end_index, grid.size)].sum(), op.index, op) for op in ok
                        if op.first >= now_i)
        for score, _, op in scored[:TRIES]:
            if score < 0:
                yield _shift(agent, op, grid, templates, short, skills, gap), "overtime"
        return
    if mine_option is None:
        return
    same_start = [op for op in ok if op.start == mine_option.start]
    longer = sorted((-short[mine_option.end_index:min(op.end_index, grid.size)].sum(), op.index, op)
                    for op in same_start if op.end_index > mine_option.end_index) if short[now_i:day_end].any() else []
    for score, _, op in longer[:TRIES]:
        if score < 0:
            shift = _shift(agent, op, grid, templates, short, skills, gap, keep=mine, now_i=now_i)
            if shift is not None:
                yield shift, "overtime"
    last = min(mine_option.end_index, grid.size)
    if not spare[now_i:day_end].any():  # VTO only where the rest of the day is over-covered somewhere
        return
    if mine_option.first >= now_i:  # not started: the day off
        yield None, "vto"
    shorter = sorted((-spare[op.end_index:last].sum(), op.index, op) for op in same_start
                     if now_i < op.end_index < mine_option.end_index)
    for score, _, op in shorter[:TRIES]:
        shift = _shift(agent, op, grid, templates, short, skills, gap, keep=mine, now_i=now_i)
        if shift is not None:
            yield shift, "vto"


def _shift(agent, op, grid, templates, short, skills, gap, keep: Shift | None = None, now_i: int = 0):
    """The agent's shift on option `op`: breaks where they cost least coverage, each interval on the
    queue shortest of agents. With `keep`, the breaks and queues before now stay as they were
    (None if this template's breaks cannot)."""
    value = np.concatenate([[0.0], np.cumsum(short + 1e-3)])
    starts, _ = best_breaks(op, value)
    on_break = {i for p, w in zip(starts, op.breaks) for i in range(p, p + w.length)}
    queue_at = {}
    if keep is not None:
        kept = [(grid.index_of(pd.Timestamp(b.start)), grid.index_of(pd.Timestamp(b.end))) for b in keep.breaks]
        past = [(s, e) for s, e in kept if s < now_i]
        placed = [(p, p + w.length) for p, w in zip(starts, op.breaks)]
        if [(s, e) for s, e in placed if s < now_i] != past:
            placed_past = [(s, e) for s, e in kept]
            if len(placed_past) != len(op.breaks):
                return None
            starts = tuple(s for s, _ in placed_past)
            if any(not (w.earliest <= s <= w.latest) for s, w in zip(starts, op.breaks)):
                return None
            on_break = {i for p, w in zip(starts, op.breaks) for i in range(p, p + w.length)}
        for g in keep.segments:
            first, last = grid.index_of(pd.Timestamp(g.start)), grid.index_of(pd.Timestamp(g.end))
            queue_at.update({i: g.queue for i in range(first, min(last, now_i))})
    on_queue = [(i, queue_at.get(i) or max(skills, key=lambda q: gap[q][i] if i < grid.size else 0))
                for i in range(op.first, min(op.end_index, grid.size)) if i not in on_break]
    return worked_shift(agent.id, op, grid, templates[op.template], starts, on_queue)


def _offer_row(kind, agent, mine, candidate, templates, base_sl, sl, minutes) -> dict:
    def paid(shift):
        return templates[shift.template].paid_minutes / 60 if shift is not None else 0.0

    shown = candidate if candidate is not None else mine
    action = ("extra shift" if mine is None else "day off" if candidate is None else
              "extend shift" if candidate.end > mine.end else "end early")
    return {"kind": kind, "agent": agent, "action": action, "template": shown.template,
            "start": pd.Timestamp(shown.start).isoformat(), "end": pd.Timestamp(shown.end).isoformat(),
            "hours_change": paid(candidate) - paid(mine), "service_level_before": base_sl,
            "service_level_after": sl, "service_level_change": sl - base_sl}


def _ranked(frame: pd.DataFrame, plan: PlanFiles, top: int) -> pd.DataFrame:
    """Overtime by SL gained per hour, VTO (only where the target still holds) by SL lost per hour saved."""
    target = min((t.service_level for t in plan.targets.values()), default=0.8)
    frame = frame.assign(score=frame["service_level_change"] / frame["hours_change"].abs().clip(lower=1e-9))
    overtime = frame[(frame["kind"] == "overtime") & (frame["service_level_change"] > 0)]
    vto = frame[(frame["kind"] == "vto") & (frame["service_level_after"] >= target)]
    parts = [part.sort_values(["score", "agent"], ascending=[False, True]).head(top) for part in (overtime, vto)]
    out = pd.concat([p for p in parts if len(p)], ignore_index=True) if any(len(p) for p in parts) else frame
    out = out.drop(columns="score").reset_index(drop=True)
    out["rank"] = out.groupby("kind").cumcount() + 1
    return out[OFFER_COLUMNS + ["shift"]]


def _summary(now, ratios, coverage, changed, solved, report, offers, plan: PlanFiles) -> dict:
    hours = plan.horizon.interval_minutes / 60.0

    def sl(column):
        ok = coverage[column].notna() & (coverage["volume"] > 0)
        return float(np.average(coverage.loc[ok, column], weights=coverage.loc[ok, "volume"])) if ok.any() else None

    return {"now": now.isoformat(), "day": now.date().isoformat(),
            "forecast_rest_of_day": float(coverage["volume"].sum()) if len(coverage) else 0.0,
            "multipliers": {r.queue: round(float(r.multiplier), 4) for r in ratios.itertuples()},
            "required_hours_rest_of_day": float(coverage["required"].sum() * hours),
            "before": {"service_level": sl("service_level_before"),
                       "under_hours": float(coverage["under_before"].sum() * hours),
                       "on_queue_hours": float(coverage["on_queue_before"].sum() * hours)},
            "after": {"service_level": sl("service_level_after"),
                      "under_hours": float(coverage["under_after"].sum() * hours),
                      "on_queue_hours": float(coverage["on_queue_after"].sum() * hours)},
            "shifts_changed": len(changed.get("changed", [])), "breaks_moved": len(changed.get("breaks_moved", [])),
            "changes": changed, "solver_status": solved.status, "feasible": report.feasible,
            "offers": {"overtime": int((offers["kind"] == "overtime").sum()),
                       "vto": int((offers["kind"] == "vto").sum())}}


def write_intraday(result: Intraday, out: str | Path) -> dict[str, Path]:
    """reforecast.csv, ratios.csv, coverage.csv, offers.csv, roster.json (the re-plan), summary.json
    (with the before/after section) and intraday.html (the same for a manager) in `out`."""
    from .io import write_csv
    from .jsonout import strict_json
    from .outputs.report import render_intraday

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    tz = result.now.tz
    reforecast = result.reforecast.assign(interval_start=result.reforecast["interval_start"].dt.tz_convert(tz))
    written = {"reforecast": write_csv(reforecast, out / "reforecast.csv"),
               "ratios": write_csv(result.ratios, out / "ratios.csv"),
               "coverage": write_csv(result.coverage, out / "coverage.csv"),
               "offers": write_csv(result.offers, out / "offers.csv")}
    (out / "roster.json").write_text(result.roster.model_dump_json(indent=1))
    written["roster"] = out / "roster.json"
    (out / "summary.json").write_text(strict_json({**result.summary, "notes": result.notes}, indent=1,
                                                  default=str))
    written["summary"] = out / "summary.json"
    page = render_intraday(result.summary, result.coverage, result.offers, str(tz))
    (out / "intraday.html").write_text(page, encoding="utf-8")
    written["page"] = out / "intraday.html"
    return written


def summary_lines(result: Intraday) -> list[str]:
    """The before/after section as a few lines for the terminal."""
    s = result.summary

    def pct(v):
        return "n/a" if v is None else f"{v:.1%}"

    mult = ", ".join(f"{q} x{m:.2f}" for q, m in s["multipliers"].items())
    return [f"intraday at {s['now']}: rest of the day reforecast {mult}",
            f"  before: SL {pct(s['before']['service_level'])}, under {s['before']['under_hours']:.1f} h",
            f"  after:  SL {pct(s['after']['service_level'])}, under {s['after']['under_hours']:.1f} h "
            f"({s['shifts_changed']} shift(s) changed, {s['breaks_moved']} with breaks moved; validator: "
            f"{'every rule kept' if s['feasible'] else 'BROKEN'})",
            f"  offers: {s['offers']['overtime']} overtime, {s['offers']['vto']} voluntary time off"]


__all__ = ["NoReplan", "BrokenReplan", "IntradayOptions", "Intraday", "Multiplier", "volume_multiplier",
           "run_intraday", "write_intraday", "summary_lines", "parse_now", "next_midnight"]
