"""POST /v1/kpis computed: a history file's bytes (or JSON rows) -> the KPI table of `wfm.kpi`.

A plain function (no HTTP) that runs in the forecast process pool: reading a history is the
same work as forecasting from it. Bad input comes back as `JobError` naming the field and line."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

from wfm.errors import InputError

from .work import JobError, records, rows_to_csv


def kpis_from_history(history: bytes | list[dict], suffix: str, options: dict, as_csv: bool = False):
    """The KPI table as a JSON-ready dict, or CSV text with `as_csv`.

    options: the fields of `api.schemas.KpiOptions` (timezone, interval_minutes, by, answer_seconds,
    exclude_short_abandons, abandoned_if, drop_if, columns, kpi_columns, timestamp_format, on_bad_row,
    last_days).
    """
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions
    from wfm.io import write_csv
    from wfm.kpi import KpiColumns, KpiOptions, compute_kpis

    if isinstance(history, list):
        history = rows_to_csv(history)
    with tempfile.TemporaryDirectory(prefix="wfm-kpi-") as folder:
        path = Path(folder) / f"history{suffix}"
        path.write_bytes(history)
        reading = HistoryOptions(timezone=options["timezone"], interval_minutes=options["interval_minutes"],
                                 columns=ColumnMap(**(options.get("columns") or {})),
                                 timestamp_format=options.get("timestamp_format"),
                                 on_bad_row=options.get("on_bad_row", "error"), drop_if=options.get("drop_if") or {})
        kpi = KpiOptions(answer_seconds=options["answer_seconds"], by=options["by"],
                         exclude_short_abandons=options.get("exclude_short_abandons"),
                         abandoned_if=options.get("abandoned_if") or {}, last_days=options.get("last_days"),
                         columns=KpiColumns(**(options.get("kpi_columns") or {})))
        try:
            result = compute_kpis(path, reading, kpi)
        except InputError as exc:
            value = "history" if exc.value == str(path) else exc.value
            raise JobError("invalid_history", str(InputError(exc.field, value, exc.reason, exc.row, exc.line)),
                           field=exc.field, line=exc.line) from None
    if as_csv:
        text = io.StringIO()
        write_csv(result.table, text)
        return text.getvalue()
    report = result.report
    return {"by": options["by"], "interval_minutes": options["interval_minutes"],
            "ingest": {"rows_read": report.rows_read, "rows_kept": report.rows_kept, "dropped": report.dropped,
                       "summary": report.summary()},
            "notes": result.notes, "columns": list(result.table.columns), "rows": records(result.table)}
