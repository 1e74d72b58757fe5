"""Read contact history (one row per contact) or interval reports, and aggregate to intervals.

Two input shapes, told apart by their columns:

* contacts: a timestamp per contact (`created_at` by default), optional queue, channel and
  handle time. Volume counts every contact; AHT averages the contacts that have a handle
  time above zero (abandoned calls usually carry 0 and are not handled).
* interval reports (the usual ACD export): interval start, contacts offered, optional AHT.

Column names are mapped by the caller (real exports name them differently). A timestamp
column may combine two columns: `date+time` joins them with a space before parsing, and a
`timestamp_format` (strftime) reads non-ISO layouts such as `%y%m%d %H:%M:%S`.

Bad rows either stop the read with an error naming the line and column (`on_bad_row="error"`,
the default) or are dropped and counted per reason in the `IngestReport`; never silently.

Wall-clock exports (naive local times): a row inside the spring-forward gap moves to the first
valid time after it, or is dropped when it holds no contacts; rows in the repeated autumn hour
are placed by row order. Both are reported in the summary.

Aggregation happens in the site's local time: a contact belongs to the local interval that
contains it, computed from its own UTC offset, so the repeated hour of a DST fall-back day
lands in two distinct intervals and nothing is double-counted or lost.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from wfm.domain import Horizon, zone
from wfm.errors import InputError
from wfm.io import OFFSET, has_utc_offset, read_text_table

VOLUME_ALIASES = ("volume", "offered", "calls", "contacts", "count")


@dataclass
class ColumnMap:
    """Which input column holds what. None means "not present"."""

    timestamp: str = "created_at"
    queue: str | None = "queue"
    channel: str | None = "channel"
    handle_seconds: str | None = "handle_seconds"
    volume: str | None = None           # interval reports: contacts offered in the interval
    interval_start: str = "interval_start"
    aht_seconds: str | None = "aht_seconds"


@dataclass
class IngestReport:
    """What was read, kept and dropped (with reasons and example line numbers)."""

    rows_read: int = 0
    rows_kept: int = 0
    dropped: dict[str, int] = field(default_factory=dict)
    examples: dict[str, list[int]] = field(default_factory=dict)
    kind: str = "contacts"
    native_minutes: float | None = None  # interval reports: their own interval length
    warnings: list[str] = field(default_factory=list)  # rows read but placed by a rule (wall-clock DST)

    def drop(self, reason: str, lines: np.ndarray) -> None:
        if len(lines):
            self.dropped[reason] = self.dropped.get(reason, 0) + int(len(lines))
            self.examples.setdefault(reason, []).extend(int(x) for x in lines[:5])

    def summary(self) -> str:
        text = f"read {self.rows_read:,} {self.kind} rows, kept {self.rows_kept:,}"
        for reason, count in self.dropped.items():
            lines = ", ".join(map(str, self.examples[reason][:5]))
            text += f"; dropped {count:,} ({reason}; e.g. line {lines})"
        for note in self.warnings:
            text += f"; {note}"
        return text


def read_table(path: str | Path) -> pd.DataFrame:
    """CSV, TSV (also .gz) or Parquet, every column as stripped text."""
    path = Path(path)
    if not path.exists():
        raise InputError("history", str(path), "file not found")
    suffixes = "".join(path.suffixes).lower()
    try:
        if ".parquet" in suffixes or ".pq" in suffixes:
            frame = pd.read_parquet(path).astype("string").fillna("")
        else:
            sep = "\t" if ".tsv" in suffixes or ".tab" in suffixes else ","
            frame = read_text_table(path, "history", sep)
    except InputError:
        raise
    except (ValueError, OSError) as exc:  # unreadable Parquet
        raise InputError("history", str(path), f"cannot be read as a table: {exc}") from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame.apply(lambda col: col.astype(str).str.strip())


def _line(i) -> np.ndarray:
    return np.asarray(i) + 2  # header is line 1


def _bad(report: IngestReport, on_bad_row: str, mask: np.ndarray, column: str, values: pd.Series,
         reason: str) -> np.ndarray:
    """Raise on the first bad row, or record the drop; returns the rows to keep."""
    idx = np.flatnonzero(mask)
    if idx.size and on_bad_row == "error":
        raise InputError(column, values.iloc[idx[0]], reason, line=int(_line(idx[0])))
    report.drop(f"{column}: {reason}", _line(idx))
    return ~mask


def _column(frame: pd.DataFrame, spec: str) -> pd.Series:
    parts = [p.strip() for p in spec.split("+")]
    missing = [p for p in parts if p not in frame.columns]
    if missing:
        raise InputError("columns", list(frame.columns),
                         f"missing required column {missing[0]!r}; map it with the column options")
    out = frame[parts[0]]
    for p in parts[1:]:
        out = out + " " + frame[p]
    empty = np.zeros(len(frame), bool)
    for p in parts:
        empty |= (frame[p].str.strip() == "").to_numpy()
    return out.where(~empty, "")  # a missing date or time is no timestamp, not midnight


@dataclass
class WallClock:
    """How naive local times were placed on the clock: rows inside the spring-forward gap and
    rows inside the repeated autumn hour (both per row)."""

    in_gap: np.ndarray
    repeated: np.ndarray


def parse_times(raw: pd.Series, timezone: str, fmt: str | None, ignore_offset: bool,
                groups: pd.Series | None = None, repeats_equal: bool = False) -> pd.Series:
    """UTC timestamps (NaT where unparseable); see `parse_wall_clock`."""
    return parse_wall_clock(raw, timezone, fmt, ignore_offset, groups, repeats_equal)[0]


def parse_wall_clock(raw: pd.Series, timezone: str, fmt: str | None, ignore_offset: bool,
                     groups: pd.Series | None = None, repeats_equal: bool = False) -> tuple[pd.Series, WallClock]:
    """UTC timestamps (NaT where unparseable) and where wall-clock rows landed. Naive values are
    local time in `timezone`; values with an offset keep it unless `ignore_offset` (exports
    that stamp local wall time with a bogus `Z`).

    Wall-clock exports: a time inside the spring-forward gap moves to the next valid instant
    (the end of the gap); a time inside the repeated autumn hour is placed by row order within
    its group (`groups`, e.g. the queue): the first pass through the hour is summer time, a row
    after a later time of that hour (or, with `repeats_equal`, after the same time: an interval
    report's second row for 02:00) is winter time."""
    text = raw.str.strip()
    has_offset = has_utc_offset(text)
    none = np.zeros(len(raw), bool)
    if ignore_offset:
        text = text.where(~has_offset, text.str.replace(OFFSET, "", regex=True))
        has_offset = has_offset & False
    if fmt and "%z" in fmt:  # the format carries the offset itself
        return pd.to_datetime(text, format=fmt, errors="coerce", utc=True), WallClock(none, none)
    if fmt:
        parsed_naive = pd.to_datetime(text, format=fmt, errors="coerce")
    else:
        parsed_naive = pd.to_datetime(text.where(~has_offset), format="ISO8601", errors="coerce")
    local, clock = _localize(parsed_naive, timezone, groups, repeats_equal)
    out = local.dt.tz_convert("UTC")
    if has_offset.any() and not fmt:
        aware = pd.to_datetime(text.where(has_offset), format="ISO8601", errors="coerce", utc=True)
        out = aware.where(has_offset, out)
    return pd.to_datetime(out, utc=True), clock


def _localize(naive: pd.Series, timezone: str, groups: pd.Series | None,
              repeats_equal: bool) -> tuple[pd.Series, WallClock]:
    n = len(naive)
    summer = naive.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="shift_forward")
    winter = naive.dt.tz_localize(timezone, ambiguous=np.zeros(n, bool), nonexistent="shift_forward")
    strict = naive.dt.tz_localize(timezone, ambiguous=np.ones(n, bool), nonexistent="NaT")
    repeated = (summer != winter).to_numpy() & naive.notna().to_numpy()
    in_gap = (strict.isna() & naive.notna()).to_numpy()
    second = np.zeros(n, bool)
    if repeated.any():
        keys = (groups if groups is not None else pd.Series("", index=naive.index)).to_numpy()
        latest: dict = {}
        for i in np.flatnonzero(repeated):  # file order
            key = (keys[i], naive.iloc[i].date())
            seen = latest.get(key)
            t = naive.iloc[i]
            second[i] = seen is True or (seen is not None and (seen > t or (repeats_equal and seen == t)))
            latest[key] = True if second[i] else max(t, seen) if seen is not None else t
    return summer.where(~second, winter), WallClock(in_gap, repeated)


def read_history(path, timezone: str, columns: ColumnMap | None = None, timestamp_format: str | None = None,
                 max_handle_seconds: float = 4 * 3600, on_bad_row: str = "error",
                 drop_if: dict[str, list[str]] | None = None, ignore_offset: bool = False,
                 carry: tuple[str, ...] = (), handle_if: dict[str, list[str]] | None = None):
    """Read contacts or an interval report into records: (frame, report).

    `handle_if` (column -> values) keeps a handle time only on rows that match every column
    (e.g. outcome=AGENT): other rows still count as volume but are not handled contacts.

    The frame has `ts` (UTC), `series` (queue, or queue/channel), `volume`, `handle_sum`
    (seconds over handled contacts) and `handled` (contacts with a handle time). With `carry`,
    it also has `line` (the file line of each row) and the raw text of those of the `carry`
    columns the file has, for callers that need more than volume and handle time (KPIs).
    """
    if on_bad_row not in ("error", "drop"):
        raise InputError("on_bad_row", on_bad_row, "use 'error' or 'drop'")
    zone(timezone)
    cols = columns or ColumnMap()
    frame = read_table(path)
    report = IngestReport(rows_read=len(frame))
    if frame.empty:
        raise InputError("history", str(path), "has a header but no rows")
    keep = np.ones(len(frame), bool)
    for column, values in (drop_if or {}).items():
        if column not in frame.columns:
            raise InputError("drop_if", column, f"no such column; columns are {list(frame.columns)}")
        hit = frame[column].isin(values).to_numpy()
        report.drop(f"{column} in {values}", _line(np.flatnonzero(hit)))
        keep &= ~hit

    kind = _detect_kind(frame, cols)
    report.kind = "interval-report" if kind == "intervals" else "contact"
    ts_spec = cols.interval_start if kind == "intervals" else cols.timestamp
    raw_ts = _column(frame, ts_spec)
    series = _series_names(frame, cols)
    ts, clock = parse_wall_clock(raw_ts, timezone, timestamp_format, ignore_offset, series,
                                 repeats_equal=kind == "intervals")
    keep &= _bad(report, on_bad_row, keep & ts.isna().to_numpy(), ts_spec, raw_ts, "unparseable timestamp")

    if kind == "intervals":
        vol_col = cols.volume or next(c for c in VOLUME_ALIASES if c in frame.columns)
        raw_vol = frame[vol_col]
        volume = pd.to_numeric(raw_vol, errors="coerce").to_numpy(float)
        keep &= _bad(report, on_bad_row, keep & ~(np.isfinite(volume) & (volume >= 0)), vol_col, raw_vol,
                     "volume must be a finite number >= 0")
        handle, raw_h, h_col = _handle(frame, cols.aht_seconds)
        handled = np.where(np.isfinite(handle) & (handle > 0), volume, 0.0)
    else:
        volume = np.ones(len(frame))
        handle, raw_h, h_col = _handle(frame, cols.handle_seconds)
        handled = (np.isfinite(handle) & (handle > 0)).astype(float)
    handled = handled * _matches(frame, handle_if, "handle_if")
    if raw_h is not None:
        bad_h = keep & ~np.isnan(handle) & ((handle < 0) | np.isinf(handle))
        keep &= _bad(report, on_bad_row, bad_h, h_col, raw_h, "handle time must be >= 0")
        absurd = keep & (handle > max_handle_seconds)
        keep &= _bad(report, on_bad_row, absurd, h_col, raw_h,
                     f"handle time above the cap of {max_handle_seconds:g} s (set --max-handle-seconds)")
        unreadable = keep & np.isnan(handle) & (raw_h.str.len() > 0).to_numpy()
        keep &= _bad(report, on_bad_row, unreadable, h_col, raw_h, "handle time is not a number")

    if cols.queue and cols.queue in frame.columns:
        no_queue = keep & (frame[cols.queue].str.strip() == "").to_numpy()
        keep &= _bad(report, on_bad_row, no_queue, cols.queue, frame[cols.queue], "queue is empty")
    keep &= _report_wall_clock(report, clock, keep, volume, ts_spec, _line)
    handle = np.nan_to_num(handle, nan=0.0)
    out = pd.DataFrame({"ts": ts, "series": series, "volume": volume,
                        "handle_sum": np.where(handled > 0, handle * handled, 0.0), "handled": handled})
    if carry:
        out["line"] = _line(np.arange(len(frame)))
        for name in (c for c in carry if c in frame.columns):
            out[name] = frame[name].to_numpy()
    out = out[keep]
    report.rows_kept = int(keep.sum())
    if kind == "intervals":
        report.native_minutes = _native_minutes(ts[keep], series[keep])
    if out.empty:
        raise InputError("history", str(path), "no usable rows: " + report.summary())
    return out.reset_index(drop=True), report


def _report_wall_clock(report: IngestReport, clock: WallClock, keep: np.ndarray, volume: np.ndarray,
                       column: str, line) -> np.ndarray:
    """Note the rows moved out of the spring-forward gap and those placed in the repeated autumn
    hour; drop gap rows that hold no contacts (an export's placeholder rows). Returns rows to keep."""
    gap = keep & clock.in_gap
    empty = gap & (volume == 0)
    moved = gap & ~empty
    if empty.any():
        report.drop(f"{column}: inside the spring-forward gap with 0 contacts", line(np.flatnonzero(empty)))
    if moved.any():
        report.warnings.append(f"moved {int(moved.sum()):,} rows ({volume[moved].sum():g} contacts) from inside the "
                               f"spring-forward gap to the first valid time after it (e.g. line "
                               f"{', '.join(map(str, line(np.flatnonzero(moved))[:5]))})")
    repeated = keep & clock.repeated
    if repeated.any():
        report.warnings.append(f"placed {int(repeated.sum()):,} rows of the repeated autumn hour by row order "
                               "(first pass summer time, then winter time)")
    return ~empty


def _matches(frame: pd.DataFrame, conditions: dict[str, list[str]] | None, option: str) -> np.ndarray:
    """Rows whose value is one of the listed values in every listed column."""
    ok = np.ones(len(frame), bool)
    for column, values in (conditions or {}).items():
        if column not in frame.columns:
            raise InputError(option, column, f"no such column; columns are {list(frame.columns)}")
        ok &= frame[column].isin(values).to_numpy()
    return ok


def _native_minutes(ts: pd.Series, series: pd.Series) -> float | None:
    steps = [g.sort_values().diff().dropna().dt.total_seconds().min() / 60 for _, g in ts.groupby(series)
             if len(g) > 1]
    steps = [x for x in steps if x > 0]
    return min(steps) if steps else None


def _handle(frame, spec):
    if spec is None or spec not in frame.columns:
        return np.full(len(frame), np.nan), None, spec
    raw = frame[spec]
    return pd.to_numeric(raw, errors="coerce").to_numpy(float), raw, spec


def _detect_kind(frame: pd.DataFrame, cols: ColumnMap) -> str:
    ts_cols = [p.strip() for p in cols.timestamp.split("+")]
    if all(c in frame.columns for c in ts_cols):
        return "contacts"
    if cols.interval_start in frame.columns and (cols.volume in frame.columns if cols.volume
                                                 else any(c in frame.columns for c in VOLUME_ALIASES)):
        return "intervals"
    raise InputError("columns", list(frame.columns),
                     f"need a contact timestamp column {cols.timestamp!r} (map with --timestamp-col) or an "
                     f"interval report with {cols.interval_start!r} and a volume column "
                     f"({'/'.join(VOLUME_ALIASES)}, or --volume-col)")


def _series_names(frame: pd.DataFrame, cols: ColumnMap) -> pd.Series:
    queue = frame[cols.queue] if cols.queue and cols.queue in frame.columns else None
    channel = frame[cols.channel] if cols.channel and cols.channel in frame.columns else None
    if queue is None and channel is None:
        return pd.Series("all", index=frame.index)
    if queue is None:
        return channel.replace("", "all")
    queue = queue.replace("", "all")
    # Split by channel only where a queue really mixes channels.
    if channel is None or (pd.DataFrame({"q": queue, "c": channel}).groupby("q")["c"].nunique() <= 1).all():
        return queue
    return queue + "/" + channel.replace("", "all")


def local_bucket(ts_utc: pd.Series, interval_minutes: int, timezone: str) -> pd.Series:
    """UTC start of the local interval containing each timestamp.

    Floors local wall-clock time using each timestamp's own UTC offset, so both copies of a
    repeated DST hour stay distinct and offsets such as +05:30 align to local boundaries.
    """
    local = ts_utc.dt.tz_convert(timezone)
    offset = (local.dt.tz_localize(None) - ts_utc.dt.tz_localize(None)).dt.total_seconds().to_numpy()
    # Whole seconds since the epoch, whatever the datetime resolution (pandas 3 parses to us).
    epoch = ((ts_utc - pd.Timestamp(0, tz="UTC")) // pd.Timedelta(seconds=1)).to_numpy(np.int64)
    step = interval_minutes * 60
    wall = epoch + offset.astype(np.int64)
    start = wall - wall % step - offset.astype(np.int64)
    return pd.Series(pd.to_datetime(start, unit="s", utc=True), index=ts_utc.index)


def aggregate(records: pd.DataFrame, interval_minutes: int, timezone: str,
              first_day=None, last_day=None) -> pd.DataFrame:
    """Interval frame: every local interval of every day from the first to the last day,
    per series, zero-filled. Columns interval_start (local tz), queue, volume, aht_seconds,
    handled. AHT is volume-weighted over handled contacts (NaN where none)."""
    bucket = local_bucket(records["ts"], interval_minutes, timezone)
    grouped = (records.assign(bucket=bucket).groupby(["series", "bucket"], sort=True)
               [["volume", "handle_sum", "handled"]].sum())
    local_days = records["ts"].dt.tz_convert(timezone).dt.date
    first = first_day or local_days.min()
    last = last_day or local_days.max()
    horizon = Horizon(start=first, days=(last - first).days + 1, interval_minutes=interval_minutes,
                      timezone=timezone)
    grid = horizon.interval_starts().tz_convert("UTC")
    frames = []
    for name in sorted(records["series"].unique()):
        part = grouped.loc[name].reindex(grid, fill_value=0.0) if name in grouped.index.get_level_values(0) \
            else pd.DataFrame(0.0, index=grid, columns=["volume", "handle_sum", "handled"])
        frames.append(pd.DataFrame({
            "interval_start": grid.tz_convert(timezone), "queue": name,
            "volume": part["volume"].to_numpy(), "handled": part["handled"].to_numpy(),
            "aht_seconds": np.divide(part["handle_sum"].to_numpy(), part["handled"].to_numpy(),
                                     out=np.full(len(grid), np.nan), where=part["handled"].to_numpy() > 0),
        }))
    out = pd.concat(frames, ignore_index=True)
    if not np.isclose(out["volume"].sum(), records["volume"].sum()):  # never lose contacts silently
        raise InputError("interval", interval_minutes, f"aggregation kept {out['volume'].sum():g} of "
                         f"{records['volume'].sum():g} contacts; the intervals do not fit {timezone}'s clock")
    return out
