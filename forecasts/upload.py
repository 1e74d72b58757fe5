"""Bounds on an uploaded history file, checked while its bytes are read and before any table is
built: lines, decompressed bytes and the decompression ratio. A small compressed file that
would expand to gigabytes (a gzip bomb, or a real export far past the limits) is refused after
reading only as much of it as it takes to pass a limit, in constant memory.

Compressed data is read the way the forecast reads it: `.gz` by its name; an .xlsx workbook
(a zip) by its bytes, whatever its name; Parquet by its name, from the footer's row count and
uncompressed sizes.
"""

from __future__ import annotations

import io
import zlib
from dataclasses import dataclass

from wfm.errors import InputError

CHUNK_IN = 16 * 1024            # compressed bytes fed to the decompressor at a time
CHUNK_OUT = 1024 * 1024         # decompressed bytes taken from it at a time
RATIO_AFTER_BYTES = 1024 * 1024  # small files are never refused for their ratio alone
ZIP_MAGIC = b"PK\x03\x04"


@dataclass(frozen=True)
class UploadLimits:
    rows: int            # data lines (after the header)
    bytes: int           # decompressed bytes
    ratio: float         # decompressed bytes per compressed byte


@dataclass
class UploadSize:
    rows: int | None     # None where the format does not tell without parsing (.xlsx)
    bytes: int           # decompressed
    compressed: int


class UploadTooLarge(InputError):
    """A history upload past a limit; `limit` names the setting that bounds it."""

    def __init__(self, what: str, limit: str):
        super().__init__("file", "history", what)
        self.limit = limit


def check_upload(data: bytes, suffix: str, limits: UploadLimits) -> UploadSize:
    """The size of a history file's bytes (`suffix` as the forecast reads it: .csv, .tsv,
    .csv.gz, .tsv.gz, .gz, .parquet); raises UploadTooLarge as soon as a limit is passed."""
    if suffix.endswith(".parquet"):
        return _parquet(data, limits)
    if suffix.endswith(".gz"):
        return _gzip(data, limits)
    if data.startswith(ZIP_MAGIC):
        return _zip(data, limits)
    size = UploadSize(rows=_data_lines(data.count(b"\n"), data[-1:]), bytes=len(data), compressed=len(data))
    _check(size, limits)
    return size


def _data_lines(newlines: int, last_byte: bytes) -> int:
    lines = newlines + (1 if last_byte not in (b"\n", b"") else 0)
    return max(lines - 1, 0)  # the header


def _check(size: UploadSize, limits: UploadLimits, final: bool = True) -> None:
    if size.rows is not None and size.rows > limits.rows:
        raise UploadTooLarge(f"more than {limits.rows:,} rows (WFM_MAX_HISTORY_ROWS)", "WFM_MAX_HISTORY_ROWS")
    if size.bytes > limits.bytes:
        raise UploadTooLarge(f"expands to more than {limits.bytes:,} bytes (WFM_MAX_HISTORY_BYTES)",
                             "WFM_MAX_HISTORY_BYTES")
    if size.bytes > RATIO_AFTER_BYTES and size.compressed and size.bytes > limits.ratio * size.compressed:
        raise UploadTooLarge(f"expands more than {limits.ratio:g} times its compressed size "
                             "(WFM_MAX_DECOMPRESSION_RATIO): refused as a likely decompression bomb",
                             "WFM_MAX_DECOMPRESSION_RATIO")


def _gzip(data: bytes, limits: UploadLimits) -> UploadSize:
    """Decompress in bounded pieces, counting lines; every member of a multi-member file counts."""
    size = UploadSize(rows=0, bytes=0, compressed=0)
    newlines, last, position = 0, b"", 0
    while position < len(data):
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        while not inflater.eof and position < len(data):
            pending = data[position:position + CHUNK_IN]
            position += len(pending)
            size.compressed = position
            while pending and not inflater.eof:
                try:
                    out = inflater.decompress(pending, CHUNK_OUT)
                except zlib.error as exc:
                    raise InputError("file", "history", f"cannot be decompressed as gzip: {exc}") from None
                pending = inflater.unconsumed_tail
                newlines += out.count(b"\n")
                last = out[-1:] or last
                size.bytes += len(out)
                size.rows = max(newlines - 1, 0)
                _check(size, limits)
        if not inflater.eof:
            raise InputError("file", "history", "the gzip data ends early (a truncated upload?)")
        position -= len(inflater.unused_data)
        if data[position:position + 2] != b"\x1f\x8b":
            break  # no further member
    size.rows = _data_lines(newlines, last)
    _check(size, limits)
    return size


def _zip(data: bytes, limits: UploadLimits) -> UploadSize:
    """An .xlsx workbook: the uncompressed sizes its directory declares (rows unknown until parsed)."""
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            declared = sum(info.file_size for info in archive.infolist())
    except zipfile.BadZipFile:
        declared = len(data)  # not a workbook after all: read as text, which fails with its own message
    size = UploadSize(rows=None, bytes=declared, compressed=len(data))
    _check(size, limits)
    return size


def _parquet(data: bytes, limits: UploadLimits) -> UploadSize:
    import pyarrow.parquet as pq

    try:
        meta = pq.ParquetFile(io.BytesIO(data)).metadata
    except Exception as exc:  # pyarrow raises several types for a file that is not Parquet
        raise InputError("file", "history", f"cannot be read as Parquet: {type(exc).__name__}") from None
    expanded = sum(meta.row_group(i).total_byte_size for i in range(meta.num_row_groups))
    size = UploadSize(rows=meta.num_rows, bytes=expanded, compressed=len(data))
    _check(size, limits)
    return size
