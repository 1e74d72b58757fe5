"""Achieved KPIs from contact history: what a support manager is judged by.

The history is read by `forecasts.ingest.read_history`, the same reader and column mapping as
`wfm forecast`; this module adds the KPI columns' checks and the arithmetic. Definitions (also in
`wfm kpi --help` and docs/kpi.md):

* offered = contacts in the period (by their created_at, in the site's local time).
* abandoned = contacts flagged abandoned; answered = offered - abandoned.
* answered_within_target = answered contacts whose wait <= the target (--answer-seconds).
* service_level = answered_within_target / offered: abandoned contacts count against it. With
  `exclude_short_abandons` S, contacts abandoned after waiting less than S seconds leave the
  denominator (of the service level only).
* asa_seconds = mean wait of answered contacts.
* abandon_rate = abandoned / offered.
* aht_seconds = mean handle time of answered contacts with a handle time above zero.
* first_response_p50/p90_seconds, resolution_p50_seconds: percentiles (linear interpolation
  between order statistics) of first_response_at - created_at and resolved_at - created_at over
  the contacts that have them; resolved_rate = contacts with a resolved_at / offered.
* csat_mean = mean of the csat scores given; csat_responses = how many were given.

A KPI whose input column is absent is left out of the table, with a note saying why.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecasts.ingest import IngestReport, local_bucket, parse_times, read_history
from forecasts.service import HistoryOptions

from .domain import zone
from .errors import InputError

ALL = "all"
READER_COLUMNS = ("ts", "series", "volume", "handle_sum", "handled", "line")  # read_history's own
BY = ("interval", "day", "week")
TRUE = {"true", "t", "yes", "y", "1"}
FALSE = {"false", "f", "no", "n", "0"}
CALL_COLUMNS = ["offered", "answered", "abandoned", "answered_within_target", "service_level", "asa_seconds",
                "abandon_rate", "aht_seconds"]
TICKET_COLUMNS = ["first_response_p50_seconds", "first_response_p90_seconds", "resolution_p50_seconds",
                  "resolved_rate", "csat_mean", "csat_responses"]


@dataclass
class KpiColumns:
    """Which history column holds each KPI input (None: not present)."""

    wait_seconds: str | None = "wait_seconds"
    abandoned: str | None = "abandoned"
    first_response_at: str | None = "first_response_at"
    resolved_at: str | None = "resolved_at"
    csat: str | None = "csat"


@dataclass
class KpiOptions:
    answer_seconds: float = 20.0
    by: str = "interval"
    exclude_short_abandons: float | None = None
    last_days: int | None = None  # only the history's last N local days (its last week: 7)
    abandoned_if: dict[str, list[str]] = field(default_factory=dict)  # COLUMN -> values meaning abandoned
    columns: KpiColumns = field(default_factory=KpiColumns)

    def check(self) -> None:
        if self.by not in BY:
            raise InputError("by", self.by, f"use one of {', '.join(BY)}")
        if not (np.isfinite(self.answer_seconds) and self.answer_seconds >= 0):
            raise InputError("answer_seconds", self.answer_seconds, "must be a finite number >= 0")
        short = self.exclude_short_abandons
        if short is not None and not (np.isfinite(short) and short > 0):
            raise InputError("exclude_short_abandons", short, "must be a finite number of seconds > 0")
        if self.last_days is not None and not (isinstance(self.last_days, int) and self.last_days >= 1):
            raise InputError("last_days", self.last_days, "must be a whole number of days >= 1")
        if len(self.abandoned_if) > 1:
            raise InputError("abandoned_if", self.abandoned_if, "name one column (COLUMN=VALUE, repeatable values)")


@dataclass
class KpiResult:
    table: pd.DataFrame
    notes: list[str]
    report: IngestReport


def compute_kpis(path: str | Path, history: HistoryOptions, options: KpiOptions | None = None) -> KpiResult:
    """The KPI table of a history file: one row per period and queue, plus queue `all`."""
    options = options or KpiOptions()
    options.check()
    zone(history.timezone)
    if history.interval_minutes not in (15, 30, 60):
        raise InputError("interval", history.interval_minutes, "must be 15, 30 or 60 minutes")
    cols = options.columns
    carry = tuple(c for c in (cols.wait_seconds, cols.abandoned, cols.first_response_at, cols.resolved_at,
                              cols.csat, *options.abandoned_if) if c)
    clash = [c for c in carry if c in READER_COLUMNS]
    if clash:
        raise InputError("columns", clash[0], "cannot be read as a KPI column: the reader uses this name; rename it")
    records, report = read_history(path, history.timezone, history.columns, history.timestamp_format,
                                   history.max_handle_seconds, history.on_bad_row, history.drop_if,
                                   history.ignore_offset, carry=carry)
    if report.native_minutes is not None and options.by == "interval" \
            and report.native_minutes > history.interval_minutes:
        raise InputError("interval", history.interval_minutes, f"the interval report has {report.native_minutes:g}"
                         f"-minute rows; report KPIs at {report.native_minutes:g} minutes or coarser")
    kept = len(records)
    if options.last_days is not None:
        records = _last_days(records, options.last_days, history.timezone)
    contacts, notes = contact_kpi_inputs(records, report, history, options)
    if len(records) < kept:
        first = contacts["ts"].dt.tz_convert(history.timezone).min().date()
        notes.append(f"the last {options.last_days} days only (from {first}): {len(records):,} of {kept:,} rows")
    contacts["period_start"] = period_starts(contacts["ts"], options.by, history.interval_minutes, history.timezone)
    table = kpi_table(contacts, options)
    return KpiResult(table, notes, report)


def contact_kpi_inputs(records: pd.DataFrame, report: IngestReport, history: HistoryOptions,
                       options: KpiOptions) -> tuple[pd.DataFrame, list[str]]:
    """Per contact: ts, queue, offered, handle, handled and, where their columns exist, abandoned,
    wait, first_response_seconds, resolution_seconds, csat. Bad values are bad rows."""
    cols, notes = options.columns, []
    checker = _RowChecker(records, report, history.on_bad_row)
    if report.kind != "contact":
        notes.append("an interval report has no per-contact waits, outcomes or tickets: only offered and "
                     "aht_seconds are reported")
    else:
        _abandonment(checker, cols, options, notes)
        _wait(checker, cols.wait_seconds, notes)
        for name, column in (("first_response_seconds", cols.first_response_at),
                             ("resolution_seconds", cols.resolved_at)):
            _elapsed(checker, name, column, history, notes)
        _csat(checker, cols.csat, notes)
    out = checker.result()
    report.rows_kept = len(out)
    if out.empty:
        raise InputError("history", "history", "no usable rows: " + report.summary())
    return out, notes


def _last_days(records: pd.DataFrame, days: int, timezone: str) -> pd.DataFrame:
    """The records of the last `days` local calendar days of the history (its last day included)."""
    local_day = records["ts"].dt.tz_convert(timezone).dt.date
    first = local_day.max() - pd.Timedelta(days=days - 1)
    return records[(local_day >= first).to_numpy()].reset_index(drop=True)


class _RowChecker:
    """Collects per-contact columns; a bad value stops the read (naming line and column) or drops
    the row and counts it in the ingest report, as the reader itself does."""

    def __init__(self, records: pd.DataFrame, report: IngestReport, on_bad_row: str):
        self.records, self.report, self.on_bad_row = records, report, on_bad_row
        self.keep = np.ones(len(records), bool)
        self.values: dict[str, np.ndarray] = {}

    def has(self, column: str | None) -> bool:
        return bool(column) and column in self.records.columns

    def text(self, column: str) -> pd.Series:
        return self.records[column].astype(str).str.strip()

    def bad(self, mask: np.ndarray, column: str, reason: str) -> None:
        idx = np.flatnonzero(mask & self.keep)
        if not idx.size:
            return
        if self.on_bad_row == "error":
            raise InputError(column, self.records[column].iloc[idx[0]], reason,
                             line=int(self.records["line"].iloc[idx[0]]))
        self.report.drop(f"{column}: {reason}", self.records["line"].to_numpy()[idx])
        self.keep[idx] = False

    def result(self) -> pd.DataFrame:
        rec = self.records
        handle = rec["handle_sum"].to_numpy(float) / np.maximum(rec["handled"].to_numpy(float), 1.0)
        out = pd.DataFrame({"ts": rec["ts"], "queue": rec["series"], "offered": rec["volume"].to_numpy(float),
                            "handle": np.where(rec["handled"] > 0, handle, np.nan),
                            "handle_sum": rec["handle_sum"].to_numpy(float),
                            "handled": rec["handled"].to_numpy(float), **self.values})
        return out[self.keep].reset_index(drop=True)


def _abandonment(checker: _RowChecker, cols: KpiColumns, options: KpiOptions, notes: list[str]) -> None:
    if options.abandoned_if:
        column, values = next(iter(options.abandoned_if.items()))
        if not checker.has(column):
            raise InputError("abandoned_if", column, "no such column in the history")
        checker.values["abandoned"] = checker.text(column).isin(values).to_numpy()
        return
    if not checker.has(cols.abandoned):
        notes.append(f"no {cols.abandoned or 'abandoned'!r} column (nor --abandoned-if): answered, abandoned, "
                     "abandon_rate, service_level and asa_seconds are left out")
        return
    text = checker.text(cols.abandoned).str.lower()
    checker.bad(~text.isin(TRUE | FALSE).to_numpy(), cols.abandoned, "abandoned must be true or false")
    checker.values["abandoned"] = text.isin(TRUE).to_numpy()


def _wait(checker: _RowChecker, column: str | None, notes: list[str]) -> None:
    if not checker.has(column):
        notes.append(f"no {column or 'wait_seconds'!r} column: answered_within_target, service_level and "
                     "asa_seconds are left out")
        return
    wait = pd.to_numeric(checker.text(column), errors="coerce").to_numpy(float)
    checker.bad(~(np.isfinite(wait) & (wait >= 0)), column, "wait must be a number of seconds >= 0")
    checker.values["wait"] = wait


def _elapsed(checker: _RowChecker, name: str, column: str | None, history: HistoryOptions,
             notes: list[str]) -> None:
    """Seconds from created_at to a later timestamp; empty where it has not happened (yet)."""
    kpis = "first_response_p50/p90_seconds" if name.startswith("first") else "resolution_p50_seconds, resolved_rate"
    if not checker.has(column):
        notes.append(f"no {column or name!r} column: {kpis} left out")
        return
    raw = checker.text(column)
    given = (raw != "").to_numpy()
    at = parse_times(raw.where(given, ""), history.timezone, history.timestamp_format, history.ignore_offset)
    checker.bad(given & at.isna().to_numpy(), column, "unparseable timestamp")
    seconds = ((at - checker.records["ts"]).dt.total_seconds()).to_numpy(float)
    checker.bad(given & (seconds < 0), column, "earlier than the contact's created_at")
    checker.values[name] = np.where(given, seconds, np.nan)


def _csat(checker: _RowChecker, column: str | None, notes: list[str]) -> None:
    if not checker.has(column):
        notes.append(f"no {column or 'csat'!r} column: csat_mean and csat_responses left out")
        return
    raw = checker.text(column)
    given = (raw != "").to_numpy()
    score = pd.to_numeric(raw, errors="coerce").to_numpy(float)
    checker.bad(given & ~np.isfinite(score), column, "csat must be a number (or empty: no response)")
    checker.values["csat"] = np.where(given, score, np.nan)


def period_starts(ts_utc: pd.Series, by: str, interval_minutes: int, timezone: str) -> pd.Series:
    """Local start of each contact's interval, day or week (Monday), as an aware timestamp."""
    if by == "interval":
        return local_bucket(ts_utc, interval_minutes, timezone).dt.tz_convert(timezone)
    day = ts_utc.dt.tz_convert(timezone).dt.tz_localize(None).dt.normalize()
    if by == "week":
        day = day - pd.to_timedelta(day.dt.day_of_week, unit="D")
    # A midnight that DST skips (a few zones) starts the day at the first valid instant.
    return day.dt.tz_localize(timezone, ambiguous=True, nonexistent="shift_forward")


def kpi_table(contacts: pd.DataFrame, options: KpiOptions) -> pd.DataFrame:
    """Aggregate per-contact inputs (with `period_start`) to KPIs per period and queue, plus `all`."""
    queues = contacts["queue"].unique()
    frames = [contacts] if list(queues) == [ALL] else [contacts, contacts.assign(queue=ALL)]
    both = pd.concat(frames, ignore_index=True)
    both = both.assign(**_per_contact_terms(both, options))
    groups = both.groupby(["period_start", "queue"], sort=True)
    sums = groups[[c for c in ("offered", "handled_answered", "handle_answered", "n_abandoned", "n_within",
                               "sl_denominator", "wait_answered", "resolved", "csat_given")
                   if c in both]].sum()
    out = pd.DataFrame(index=sums.index)
    out["offered"] = sums["offered"]
    if "n_abandoned" in sums:
        out["answered"] = sums["offered"] - sums["n_abandoned"]
        out["abandoned"] = sums["n_abandoned"]
    if "n_within" in sums:
        out["answered_within_target"] = sums["n_within"]
        out["service_level"] = _ratio(sums["n_within"], sums["sl_denominator"])
        out["asa_seconds"] = _ratio(sums["wait_answered"], out["answered"])
    if "n_abandoned" in sums:
        out["abandon_rate"] = _ratio(sums["n_abandoned"], sums["offered"])
    out["aht_seconds"] = _ratio(sums["handle_answered"], sums["handled_answered"])
    if "first_response_seconds" in both:
        quantiles = groups["first_response_seconds"].quantile([0.5, 0.9]).unstack()
        out["first_response_p50_seconds"] = quantiles[0.5]
        out["first_response_p90_seconds"] = quantiles[0.9]
    if "resolution_seconds" in both:
        out["resolution_p50_seconds"] = groups["resolution_seconds"].quantile(0.5)
        out["resolved_rate"] = _ratio(sums["resolved"], sums["offered"])
    if "csat" in both:
        out["csat_mean"] = groups["csat"].mean()
        out["csat_responses"] = sums["csat_given"]
    out = out.reset_index()
    for col in ("offered", "answered", "abandoned", "answered_within_target", "csat_responses"):
        if col in out and np.allclose(out[col], np.round(out[col])):
            out[col] = np.round(out[col]).astype(np.int64)  # counts print as counts
    order = ["period_start", "queue"] + [c for c in CALL_COLUMNS + TICKET_COLUMNS if c in out]
    return out[order]


def _per_contact_terms(contacts: pd.DataFrame, options: KpiOptions) -> dict[str, np.ndarray]:
    """The summands behind each KPI, one value per contact (or interval-report row)."""
    offered = contacts["offered"].to_numpy(float)
    answered = offered.copy()
    terms = {}
    if "abandoned" in contacts:
        abandoned = contacts["abandoned"].to_numpy(bool)
        answered = np.where(abandoned, 0.0, offered)
        terms["n_abandoned"] = np.where(abandoned, offered, 0.0)
    handled = contacts["handled"].to_numpy(float) * (answered > 0)
    terms["handled_answered"] = handled
    terms["handle_answered"] = np.where(handled > 0, contacts["handle_sum"].to_numpy(float), 0.0)
    if "wait" in contacts and "abandoned" in contacts:
        wait = contacts["wait"].to_numpy(float)
        terms["n_within"] = np.where(wait <= options.answer_seconds, answered, 0.0)
        terms["wait_answered"] = np.where(answered > 0, wait * answered, 0.0)
        short = options.exclude_short_abandons
        short_abandon = (answered == 0) & (wait < short) if short is not None else np.zeros(len(wait), bool)
        terms["sl_denominator"] = np.where(short_abandon, 0.0, offered)
    if "resolution_seconds" in contacts:
        terms["resolved"] = np.isfinite(contacts["resolution_seconds"].to_numpy(float)).astype(float)
    if "csat" in contacts:
        terms["csat_given"] = np.isfinite(contacts["csat"].to_numpy(float)).astype(float)
    return terms


def _ratio(numerator: pd.Series, denominator: pd.Series) -> pd.Series:
    """numerator / denominator, NaN where the denominator is 0 (nothing to measure)."""
    den = denominator.astype(float)
    return numerator.astype(float) / den.where(den > 0)


def plan_history_kpis(config, last_days: int = 7, by: str = "day") -> KpiResult:
    """KPIs of a plan config's history (`wfm.plan.PlanConfig.history`, read with its column
    mapping, timezone and interval) over its last `last_days` days: the demo's kpi.csv."""
    from forecasts.ingest import ColumnMap

    h = config.history
    if h is None:
        raise InputError("history", None, "the plan has no history to report KPIs on")
    columns = ColumnMap(timestamp=h.timestamp_col, queue=h.queue_col, channel=h.channel_col,
                        handle_seconds=h.handle_col)
    reading = HistoryOptions(timezone=config.timezone, interval_minutes=config.interval_minutes, columns=columns,
                             timestamp_format=h.timestamp_format, on_bad_row=h.on_bad_row)
    return compute_kpis(h.file, reading, KpiOptions(by=by, last_days=last_days))
