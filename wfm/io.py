"""Reading and writing interval CSV files, with errors that name the line and column."""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .domain import zone
from .errors import InputError

OFFSET = r"(?<=\d)(?:[+-]\d{2}(?::?\d{2})?|Z)$"  # +01:00, +0100, +01 or Z after a time


def has_utc_offset(text: pd.Series) -> pd.Series:
    """Whether each timestamp carries an offset (a bare date's '-05' day is not one)."""
    return text.str.contains(":", regex=False) & text.str.contains(OFFSET, regex=True)
REQUIREMENT_COLUMNS = ["interval_start", "queue", "volume", "aht_seconds", "agents", "scheduled_agents",
                       "service_level", "asa_seconds", "occupancy"]


def _line(i: int) -> int:
    """CSV line number of data row i (the header is line 1)."""
    return int(i) + 2


def parse_timestamps(raw: pd.Series, column: str, timezone: str | None) -> pd.Series:
    """ISO-8601 timestamps with offsets; naive ones are read as local time in `timezone`."""
    if timezone is not None:
        zone(timezone)
    text = raw.astype("string").str.strip()
    parsed = pd.to_datetime(text, errors="coerce", utc=True, format="ISO8601")
    bad = np.flatnonzero(parsed.isna().to_numpy())
    if bad.size:
        raise InputError(column, raw.iloc[bad[0]], "not an ISO-8601 timestamp", line=_line(bad[0]))
    has_offset = has_utc_offset(text).to_numpy()
    if has_offset.all():
        return parsed.dt.tz_convert(timezone) if timezone else parsed
    if timezone is None:
        i = int(np.flatnonzero(~has_offset)[0])
        raise InputError(column, raw.iloc[i], "timestamp has no UTC offset; add one or pass --timezone",
                         line=_line(i))
    naive = pd.to_datetime(text.where(~has_offset), errors="coerce", format="ISO8601")
    local = naive.dt.tz_localize(timezone, ambiguous="NaT", nonexistent="NaT")
    lost = np.flatnonzero((~has_offset) & naive.notna().to_numpy() & local.isna().to_numpy())
    if lost.size:
        raise InputError(column, raw.iloc[lost[0]], f"this local time is repeated or skipped in {timezone} "
                         "(DST change); give timestamps with a UTC offset", line=_line(lost[0]))
    merged = parsed.dt.tz_convert(timezone).where(has_offset, local)
    return pd.to_datetime(merged, utc=True).dt.tz_convert(timezone)


def utc_offsets(raw: pd.Series) -> np.ndarray:
    """Minutes east of UTC written in each ISO-8601 timestamp."""
    from datetime import datetime

    text = raw.astype(str).str.strip().str.replace("Z", "+00:00", regex=False)
    return np.array([datetime.fromisoformat(t).utcoffset().total_seconds() // 60 for t in text], dtype=int)


def format_timestamps(utc: pd.Series, offset_minutes=None) -> pd.Series:
    """ISO-8601 strings; in each row's own UTC offset when `offset_minutes` is given."""
    if offset_minutes is None:
        return utc.map(lambda ts: ts.isoformat())
    from datetime import timedelta, timezone

    return pd.Series([ts.to_pydatetime().astimezone(timezone(timedelta(minutes=int(m)))).isoformat()
                      for ts, m in zip(utc, offset_minutes)], index=utc.index)


def numeric_column(frame: pd.DataFrame, column: str, allow_missing: bool = False) -> np.ndarray:
    raw = frame[column]
    values = pd.to_numeric(raw, errors="coerce")
    missing = raw.isna() | (raw.astype("string").str.strip() == "")
    bad = np.flatnonzero((values.isna() & ~missing).to_numpy() | (missing.to_numpy() & (not allow_missing)))
    if bad.size:
        raise InputError(column, raw.iloc[bad[0]], "not a number", line=_line(bad[0]))
    return values.to_numpy(dtype=float)


def read_interval_csv(path: str | Path, timezone: str | None = None) -> pd.DataFrame:
    """Read `interval_start,volume,aht_seconds[,queue][,open][,agents]` into a typed frame.

    Errors name the CSV line and column. AHT may be empty on zero-volume rows.
    """
    frame = read_text_table(path, "input")
    frame.columns = [c.strip() for c in frame.columns]
    missing = [c for c in ("interval_start", "volume", "aht_seconds") if c not in frame.columns]
    if missing:
        raise InputError("columns", list(frame.columns), f"missing required column(s) {missing}")
    if frame.empty:
        raise InputError("input", str(path), "has a header but no rows")
    starts = parse_timestamps(frame["interval_start"], "interval_start", timezone)
    out = pd.DataFrame({
        "line": np.arange(len(frame)) + 2,  # CSV line of each row, for errors after sorting
        "interval_start": starts,
        "queue": frame["queue"].str.strip().replace("", "all") if "queue" in frame else "all",
        "volume": numeric_column(frame, "volume"),
        "aht_seconds": np.nan_to_num(numeric_column(frame, "aht_seconds", allow_missing=True), nan=0.0),
    })
    if "open" in frame:
        flags = frame["open"].str.strip().str.lower()
        known = flags.isin(["1", "0", "true", "false", "yes", "no", ""])
        if not known.all():
            i = int(np.flatnonzero(~known.to_numpy())[0])
            raise InputError("open", frame["open"].iloc[i], "use true/false or 1/0", line=_line(i))
        out["open"] = ~flags.isin(["0", "false", "no"])
    if "agents" in frame:  # on-queue agents given: `wfm staff` answers the service they give
        out["agents"] = numeric_column(frame, "agents")
    if timezone is None:  # keep each row's own offset so output reads in the site's local time
        out["utc_offset_minutes"] = utc_offsets(frame["interval_start"])
    dupes = out.duplicated(["queue", "interval_start"]).to_numpy()
    if dupes.any():
        i = int(np.flatnonzero(dupes)[0])
        raise InputError("interval_start", frame["interval_start"].iloc[i],
                         "duplicate interval for this queue", line=_line(i))
    return out


ZIP_MAGIC = b"PK\x03\x04"                          # .xlsx is a zip archive
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"          # .xls (Excel 97-2003) is an OLE2 file


def spreadsheet_kind(path) -> str | None:
    """'xlsx' or 'xls' when the file's bytes are an Excel workbook, whatever its name says;
    None for anything else (text, gzip, Parquet) or for a path that cannot be opened."""
    import zipfile

    try:
        with open(path, "rb") as fh:
            head = fh.read(8)
    except (OSError, TypeError, ValueError):
        return None
    if head == OLE_MAGIC:
        return "xls"
    if head.startswith(ZIP_MAGIC):
        try:
            with zipfile.ZipFile(path) as archive:
                return "xlsx" if "xl/workbook.xml" in archive.namelist() else None
        except zipfile.BadZipFile:
            return None
    return None


def _cell_text(value) -> str:
    from datetime import datetime

    if value is None:
        return ""
    if isinstance(value, datetime):  # a date cell: ISO text, as a CSV export would have it
        return value.isoformat(sep=" ")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def read_xlsx_table(path, field: str) -> pd.DataFrame:
    """The first worksheet of an .xlsx workbook as strings, like a CSV of it: row 1 is the
    header, sheet row N is 'line N' in error messages. Fully empty rows are skipped."""
    import io

    import openpyxl

    try:  # from the bytes: openpyxl refuses a path whose name does not end in .xlsx
        book = openpyxl.load_workbook(io.BytesIO(Path(path).read_bytes()), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged workbook
        raise InputError(field, str(path), f"this looks like an Excel workbook but cannot be read ({exc}); "
                                           "save it as CSV") from None
    try:
        rows = [[_cell_text(v) for v in row] for row in book.worksheets[0].iter_rows(values_only=True)]
    finally:
        book.close()
    while rows and not any(rows[-1]):
        rows.pop()
    if not rows:
        raise InputError(field, str(path), "the workbook's first sheet is empty")
    header = rows[0]
    while header and header[-1] == "":  # trailing formatted-but-empty columns
        header = header[:-1]
    if not header:
        raise InputError(field, str(path), "the workbook's first sheet has no header row")
    body = [r[:len(header)] + [""] * (len(header) - len(r)) for r in rows[1:]]
    for number, row in enumerate(rows[1:], start=2):
        if any(row[len(header):]):
            raise InputError(field, str(path), "cannot be read as a table: a row has more cells than the header",
                             line=number)
    return pd.DataFrame(body, columns=header, dtype=str)


def read_text_table(path, field: str, sep: str = ",") -> pd.DataFrame:
    """A delimited text file as strings. UTF-8 (with or without BOM), else Windows-1252 as
    spreadsheet exports often are; errors name the file and, from the parser, the line.
    An .xlsx workbook (told by its bytes, not its name) is read from its first sheet; an old
    binary .xls gets a message to save it as CSV."""
    kind = spreadsheet_kind(path)
    if kind == "xls":
        raise InputError(field, str(path), "this looks like an Excel workbook (.xls, Excel 97-2003): save it as "
                                           "CSV (File > Save As > CSV UTF-8), or as .xlsx, which wfm reads directly")
    if kind == "xlsx":
        frame = read_xlsx_table(path, field)
    else:
        frame = _read_delimited(path, field, sep)
    names = [str(c).strip() for c in frame.columns]
    dupes = sorted({c.rsplit(".", 1)[0] for c in names if "." in c and c.rsplit(".", 1)[0] in names})
    if kind == "xlsx":
        dupes = sorted({c for c in names if names.count(c) > 1})
    if dupes:
        raise InputError("columns", names, f"column {dupes[0]!r} appears more than once")
    return frame


def _read_delimited(path, field: str, sep: str) -> pd.DataFrame:
    last_error = None
    for encoding in ("utf-8-sig", "cp1252", "latin-1"):
        try:
            with warnings.catch_warnings():
                # pandas only warns when a row has more fields than the header; that is bad input.
                warnings.simplefilter("error", pd.errors.ParserWarning)
                frame = pd.read_csv(path, sep=sep, dtype=str, keep_default_na=False, skipinitialspace=True,
                                    index_col=False, encoding=encoding)
            break
        except pd.errors.ParserWarning:
            raise InputError(field, str(path),
                             "cannot be read as a table: a row has more fields than the header") from None
        except UnicodeDecodeError as exc:
            last_error = exc
            continue
        except FileNotFoundError:
            raise InputError(field, str(path), "file not found") from None
        except IsADirectoryError:
            raise InputError(field, str(path), "is a folder, not a file") from None
        except pd.errors.EmptyDataError:
            raise InputError(field, str(path), "file is empty") from None
        except (pd.errors.ParserError, ValueError) as exc:
            raise InputError(field, str(path), f"cannot be read as a table: {exc}".strip()) from None
        except OSError as exc:
            raise InputError(field, str(path), exc.strerror or str(exc)) from None
    else:
        raise InputError(field, str(path), f"unreadable text encoding ({last_error})")
    return frame


def infer_interval_minutes(starts: pd.Series, queues: pd.Series, strict: bool = True) -> float:
    """The interval length implied by consecutive starts (smallest step within a queue).
    `strict`: it must be 15, 30 or 60 minutes."""
    steps = []
    for _, group in starts.groupby(queues):
        diffs = group.sort_values().diff().dropna().dt.total_seconds() / 60.0
        if len(diffs):
            steps.append(diffs.min())
    if not steps:
        raise InputError("interval_start", None, "one row per queue: cannot infer the interval; pass --interval")
    minutes = min(steps)
    if not strict:
        return minutes
    if minutes not in (15, 30, 60):
        raise InputError("interval_start", f"{minutes:g} minutes apart",
                         "intervals must be 15, 30 or 60 minutes; pass --interval to say which")
    return int(minutes)


def write_csv(frame: pd.DataFrame, path):
    """Write with ISO-8601 timestamps; `path` may be a file path or an open text stream."""
    if isinstance(path, (str, Path)):
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
    out = frame.copy()
    offsets = out.pop("utc_offset_minutes") if "utc_offset_minutes" in out else None
    for col in out.columns:
        if isinstance(out[col].dtype, pd.DatetimeTZDtype):
            out[col] = format_timestamps(out[col], offsets)
    out.to_csv(path, index=False, float_format="%.6g")
    return path
