"""History file -> interval frame -> forecast or backtest: what the CLI and the API call."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pandas as pd

from wfm.errors import InputError

from .calendar import Calendar, read_calendar_file
from .ingest import ColumnMap, IngestReport, aggregate, read_history
from .pipeline import ForecastResult, backtest, forecast, score


@dataclass
class HistoryOptions:
    timezone: str
    interval_minutes: int = 60
    columns: ColumnMap = field(default_factory=ColumnMap)
    timestamp_format: str | None = None
    ignore_offset: bool = False
    max_handle_seconds: float = 4 * 3600
    on_bad_row: str = "error"
    drop_if: dict[str, list[str]] = field(default_factory=dict)
    handle_if: dict[str, list[str]] = field(default_factory=dict)  # handle times only where these match
    history_end: date | None = None  # exclusive: drop history from this local date on


def load_intervals(path: str | Path, opts: HistoryOptions) -> tuple[pd.DataFrame, IngestReport]:
    if opts.interval_minutes not in (15, 30, 60):
        raise InputError("interval", opts.interval_minutes, "must be 15, 30 or 60 minutes")
    records, report = read_history(path, opts.timezone, opts.columns, opts.timestamp_format,
                                   opts.max_handle_seconds, opts.on_bad_row, opts.drop_if, opts.ignore_offset,
                                   handle_if=opts.handle_if)
    if report.native_minutes is not None and report.native_minutes > opts.interval_minutes:
        raise InputError("interval", opts.interval_minutes,
                         f"the interval report has {report.native_minutes:g}-minute rows; forecast at "
                         f"{report.native_minutes:g} minutes or coarser")
    if opts.history_end is not None:
        local_day = records["ts"].dt.tz_convert(opts.timezone).dt.date
        records = records[local_day < opts.history_end]
        if records.empty:
            raise InputError("history_end", opts.history_end.isoformat(), "no history before this date")
    return aggregate(records, opts.interval_minutes, opts.timezone), report


def make_calendar(country: str | None = None, subdivision: str | None = None,
                  calendar_file: str | Path | None = None) -> Calendar:
    days, names = read_calendar_file(calendar_file) if calendar_file else ({}, {})
    return Calendar(country=country, subdivision=subdivision, special_days=days, names=names)


def run_forecast(path, opts: HistoryOptions, days: int, model: str = "auto", calendar: Calendar | None = None,
                 level: float = 0.9, folds: int = 4) -> tuple[ForecastResult, IngestReport]:
    intervals, report = load_intervals(path, opts)
    result = forecast(intervals, days, opts.timezone, opts.interval_minutes, model, calendar, level, folds)
    return result, report


def run_backtest(path, opts: HistoryOptions, models: list[str], calendar: Calendar | None = None,
                 level: float = 0.9, folds: int = 4) -> tuple[pd.DataFrame, IngestReport]:
    intervals, report = load_intervals(path, opts)
    return score(backtest(intervals, models, calendar, folds=folds), level, calendar), report
