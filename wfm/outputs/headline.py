"""The week's headline figures, one set for every place a manager reads them (report.html, the
web view, the demo's and `wfm plan`'s console summary, summary.json).

Needed and rostered hours are compared on one basis, on-queue agent-hours (time answering
contacts: breaks and shrinkage excluded); shrinkage is its own line, turning the on-queue need
into the paid hours to employ. Service is projected per interval; the worst interval is told in
words ("Fri 05 Jun 11:30 billing, SL 41%, ASA 3 min 20 s"), an interval with contacts and
nobody on queue is "unstaffed", and an unbounded wait is never printed as `inf`. The solver's
optimality gap is a footnote: it measures the solver's proof, not the service.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from ..domain import ServiceTarget, zone

BASIS = "on-queue agent-hours: time answering contacts, breaks and shrinkage excluded"


def weighted_sl(service_level, volume) -> float:
    """Contact-weighted service level over intervals with contacts (NaN when there are none)."""
    sl, vol = np.asarray(service_level, float), np.asarray(volume, float)
    ok = np.isfinite(sl) & (vol > 0)
    return float(np.average(sl[ok], weights=vol[ok])) if ok.any() else float("nan")


def duration_text(seconds: float | None) -> str:
    """'45 s', '3 min 20 s', '1 h 05 min'; 'unbounded' for an infinite wait, '-' for none."""
    if seconds is None or (isinstance(seconds, float) and math.isnan(seconds)):
        return "-"
    if math.isinf(seconds):
        return "unbounded"
    whole = int(round(seconds))
    if whole < 60:
        return f"{whole} s"
    if whole < 3600:
        minutes, rest = divmod(whole, 60)
        return f"{minutes} min" + (f" {rest} s" if rest else "")
    hours, rest = divmod(whole // 60, 60)
    return f"{hours} h {rest:02d} min"


def interval_service(requirements: pd.DataFrame, interval_minutes: int, targets: dict[str, ServiceTarget] | None,
                     coverage: pd.DataFrame | None = None) -> pd.DataFrame:
    """Per queue and interval: contacts, agents on queue (the roster's, else the requirement's)
    and the projected SL and ASA (Erlang, with each queue's target model; NaN without a target)."""
    from ..staffing.requirements import evaluate

    req = requirements[["queue", "interval_start", "volume", "aht_seconds", "agents"]].copy()
    req["key"] = pd.to_datetime(req["interval_start"], utc=True, format="ISO8601")
    if coverage is not None:
        have = coverage[["queue", "interval_start", "on_queue"]].copy()
        have["key"] = pd.to_datetime(have["interval_start"], utc=True, format="ISO8601")
        req = req.merge(have[["queue", "key", "on_queue"]], on=["queue", "key"], how="left")
        req["on_queue"] = req["on_queue"].fillna(0).astype(int)
    else:
        req["on_queue"] = req["agents"].astype(int)
    req["service_level"], req["asa_seconds"] = np.nan, np.nan
    step = interval_minutes * 60.0
    for queue, idx in req.groupby("queue").indices.items():
        target = (targets or {}).get(queue)
        if target is None:
            continue
        part = req.iloc[idx]
        vol, aht = part["volume"].to_numpy(float), part["aht_seconds"].to_numpy(float)
        servers = part["on_queue"].to_numpy(float) * target.concurrency
        m = evaluate(servers, vol / step, np.where(vol > 0, aht, 1.0), target)
        req.loc[req.index[idx], "service_level"] = np.where(vol > 0, m["service_level"], np.nan)
        req.loc[req.index[idx], "asa_seconds"] = np.where(vol > 0, m["asa_seconds"], np.nan)
    return req.drop(columns=["key"])


def interval_label(queue: str, start, timezone: str) -> str:
    """'Fri 05 Jun 11:30 billing': an interval as the site's wall clock reads it."""
    start = pd.Timestamp(start)
    start = (start.tz_localize("UTC") if start.tzinfo is None else start).tz_convert(zone(timezone))
    return f"{start:%a %d %b %H:%M} {queue}"


def service_text(row: dict) -> str:
    """One interval's projected service in words: 'SL 85%, ASA 12 s', 'unstaffed' (contacts and
    nobody on queue), 'SL 0%, ASA unbounded' or 'no contacts'."""
    if not row["volume"] > 0:
        return "no contacts"
    if row["on_queue"] == 0:
        return "unstaffed"
    sl, asa = row["service_level"], row["asa_seconds"]
    if sl is None or (isinstance(sl, float) and math.isnan(sl)):
        return "-"
    return f"SL {100 * sl:.0f}%, ASA {duration_text(asa)}"


def worst_interval(service: pd.DataFrame, timezone: str) -> dict | None:
    """The interval with the lowest projected SL among those with at least one contact (the
    longest ASA breaks ties), in words. state: 'unstaffed' (contacts and no agent on queue),
    'overloaded' (fewer agents than the work: the wait has no bound) or 'staffed'."""
    counted = service[(service["volume"] >= 1.0) & service["service_level"].notna()]
    if counted.empty:
        return None
    order = counted.assign(asa=counted["asa_seconds"].fillna(np.inf)).sort_values(
        ["service_level", "asa"], ascending=[True, False], kind="stable")
    row = order.iloc[0]
    start = pd.Timestamp(row["interval_start"])
    start = (start.tz_localize("UTC") if start.tzinfo is None else start).tz_convert(zone(timezone))
    asa = float(row["asa_seconds"])
    state = "unstaffed" if row["on_queue"] == 0 else ("overloaded" if not math.isfinite(asa) else "staffed")
    when = interval_label(row["queue"], start, timezone)
    if state == "unstaffed":
        text = f"{when}: unstaffed ({row['volume']:.0f} contacts expected, no agent on queue)"
    elif state == "overloaded":
        text = (f"{when}, SL {100 * row['service_level']:.0f}%, ASA unbounded "
                f"({int(row['on_queue'])} agents on queue for {row['agents']:.0f} needed)")
    else:
        text = f"{when}, SL {100 * row['service_level']:.0f}%, ASA {duration_text(asa)}"
    return {"queue": str(row["queue"]), "start": start.isoformat(), "contacts": float(row["volume"]),
            "on_queue": int(row["on_queue"]), "service_level": float(row["service_level"]),
            "asa_seconds": asa if math.isfinite(asa) else None, "state": state, "text": text}


def week_headline(requirements: pd.DataFrame, coverage: pd.DataFrame | None, paid_hours: float | None,
                  interval_minutes: int, fte_hours: float = 40.0, targets: dict[str, ServiceTarget] | None = None,
                  timezone: str | None = None, solve: dict | None = None) -> dict:
    """The figures a manager asks first, JSON-ready (no NaN or infinity).

    requirements: the staffing frame (agents = on queue, scheduled_agents = after shrinkage);
    coverage: the roster's (on_queue per queue and interval) or None; paid_hours: the roster's;
    targets and timezone: for ASA and the worst interval in words; solve: status, gap, seconds."""
    hours = interval_minutes / 60
    weeks = max(requirements["interval_start"].nunique() * hours / 168, 1e-9)
    needed = float(requirements["agents"].sum() * hours)
    to_employ = float(requirements["scheduled_agents"].sum() * hours)
    out = {
        "basis": BASIS, "contacts": float(requirements["volume"].sum()), "fte_hours": fte_hours,
        "required_on_queue_hours": needed,
        "rostered_on_queue_hours": None if coverage is None else float(coverage["on_queue"].sum() * hours),
        "shrinkage": _shrinkage(requirements, targets),
        "paid_hours_to_employ": to_employ, "fte_to_employ": to_employ / fte_hours / weeks,
        "rostered_paid_hours": paid_hours, "under_hours": None, "projected_sl": None, "worst_interval": None,
        "solver": _solver_note(solve),
    }
    if coverage is not None:
        out["under_hours"] = float(coverage["under"].sum() * hours)
    service = interval_service(requirements, interval_minutes, targets, coverage)
    if coverage is not None and "service_level" in coverage and targets is None:
        sl, vol = coverage["service_level"], coverage["volume"].fillna(0.0)  # the roster's own projection
    else:
        sl, vol = service["service_level"], service["volume"]
    projected = weighted_sl(sl, vol)
    out["projected_sl"] = projected if math.isfinite(projected) else None
    if timezone is not None and targets:
        out["worst_interval"] = worst_interval(service, timezone)
    return out


def _shrinkage(requirements: pd.DataFrame, targets: dict[str, ServiceTarget] | None) -> dict:
    """Per queue: the target's shrinkage when known, else the one the requirement implies."""
    out = {}
    for queue, part in requirements.groupby("queue", sort=True):
        if targets and queue in targets:
            out[str(queue)] = float(targets[queue].shrinkage)
        else:
            scheduled = float(part["scheduled_agents"].sum())
            out[str(queue)] = 1.0 - float(part["agents"].sum()) / scheduled if scheduled > 0 else 0.0
    return out


def _solver_note(solve: dict | None) -> str | None:
    if not solve or solve.get("status") is None or "gap" not in solve:
        return None
    gap = solve.get("gap")
    gap_text = "-" if gap is None or not math.isfinite(gap) else f"{100 * gap:.0f}%"
    seconds = solve.get("seconds")
    after = "" if seconds is None else f" after {seconds:.0f} s"
    return (f"Solver status {solve['status']}{after}; optimality gap {gap_text}{changeable_text(solve)}: how far "
            "the solver's best roster is from the lower bound it could prove on its weighted penalties, not a "
            "service figure.")


def changeable_text(solve: dict) -> str:
    """' (34% on the part the roster can change ...)' beside the plain gap, or '' when unknown."""
    changeable = solve.get("changeable_gap")
    if changeable is None or not math.isfinite(changeable):
        return ""
    return (f" ({100 * changeable:.0f}% on the part the roster can change: the objective less the contract "
            "floor, the labour cost every valid roster pays)")


def _num(value, digits=1) -> str:
    return "-" if value is None or not math.isfinite(value) else f"{value:,.{digits}f}"


def _shrinkage_text(shrinkage: dict) -> str:
    values = sorted(set(round(v, 4) for v in shrinkage.values()))
    if len(values) == 1:
        return f"{100 * values[0]:.0f}%"
    return ", ".join(f"{q} {100 * v:.0f}%" for q, v in shrinkage.items())


def headline_rows(h: dict) -> list[tuple[str, str, str]]:
    """(label, value, note) in reading order: what the report's cards, the web view and the
    console show. The solver's gap is not among them (see h['solver'], a footnote)."""
    rows = [("contacts forecast", _num(h["contacts"], 0), "all queues, the horizon")]
    rostered = h.get("rostered_on_queue_hours")
    rows.append(("on-queue hours needed / rostered",
                 f"{_num(h['required_on_queue_hours'], 0)} / {_num(rostered, 0) if rostered is not None else '-'}",
                 "same basis: " + BASIS.split(": ", 1)[1]))
    rows.append(("shrinkage", _shrinkage_text(h["shrinkage"]),
                 f"time off queue for absence and training, on top: {_num(h['paid_hours_to_employ'], 0)} paid "
                 f"hours to employ = {_num(h['fte_to_employ'])} FTE of {h['fte_hours']:g} h"))
    if h.get("projected_sl") is not None:
        worst = h.get("worst_interval")
        rows.append(("projected service level", f"{100 * h['projected_sl']:.1f}%",
                     "Erlang, contact-weighted" + (f"; worst interval: {worst['text']}" if worst else "")))
    if h.get("under_hours") is not None:
        paid = h.get("rostered_paid_hours")
        note = "on-queue agent-hours below the requirement"
        if paid is not None:
            note += f"; the roster pays {_num(paid, 0)} hours, breaks included"
        rows.append(("under-coverage", f"{_num(h['under_hours'])} h", note))
    return rows


def plan_headline(result) -> dict:
    """The headline of a `wfm.plan.run_plan` result (the same figures as report.html)."""
    base, outcome = result.base, result.roster
    rostered = outcome is not None and outcome.roster is not None
    solve = ({"status": outcome.status, "gap": outcome.gap, "changeable_gap": outcome.changeable_gap,
              "seconds": outcome.seconds} if rostered else None)
    return week_headline(result.requirements, outcome.coverage if rostered else None,
                         outcome.totals["paid_hours"] if rostered else None, base.horizon.interval_minutes,
                         base.fte_hours, base.targets, base.horizon.timezone, solve)
