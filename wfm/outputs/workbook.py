"""roster.xlsx: the roster as a planner pins it on the wall.

One sheet per week (agents as rows, days as columns, shift times in the cells, breaks in the
cell's note, paid hours per agent), a Coverage sheet (required vs on-queue agents per interval
and queue, with projected service level) and a Shifts sheet (one row per shift, for import).
Times are the site's local wall clock.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import BinaryIO

import pandas as pd
from openpyxl import Workbook
from openpyxl.comments import Comment
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter

from .tables import local

FILLS = ["DCEBFB", "FDEBD3", "DFF3E3", "EDE4F7", "FFF6CC", "E3E8EE"]  # one per shift template
BOLD = Font(bold=True)
UNDER = PatternFill("solid", fgColor="F8D0D0")


def week_sheet_name(first: date) -> str:
    return f"Week {first.isoformat()}"


def weeks_of(days: list[date]) -> list[list[date]]:
    """The horizon's days cut into Monday-to-Sunday weeks (the first and last may be partial)."""
    weeks: dict[tuple[int, int], list[date]] = {}
    for d in sorted(days):
        weeks.setdefault(d.isocalendar()[:2], []).append(d)
    return list(weeks.values())


def shift_label(start: pd.Timestamp, end: pd.Timestamp) -> str:
    """'07:30-16:00', or '22:00-06:00 (+1)' for a shift that ends the next day."""
    days = (end.date() - start.date()).days
    return f"{start:%H:%M}-{end:%H:%M}" + (f" (+{days})" if days else "")


def write_roster_workbook(shifts: pd.DataFrame, coverage: pd.DataFrame, timezone: str, target: str | Path | BinaryIO,
                          agents: list[str] | None = None) -> Path | BinaryIO:
    """Write roster.xlsx to a path or a binary stream. `shifts`: agent, day, template, start,
    end, paid_hours, breaks, queues (the roster CSV). `coverage`: queue, interval_start, required,
    scheduled, on_queue, under, over and optionally service_level, volume. `agents`: every agent
    to list (default: those with a shift)."""
    book = roster_workbook(shifts, coverage, timezone, agents)
    if not hasattr(target, "write"):
        target = Path(target)
        target.parent.mkdir(parents=True, exist_ok=True)
    book.save(target)
    return target


def roster_workbook(shifts: pd.DataFrame, coverage: pd.DataFrame, timezone: str,
                    agents: list[str] | None = None) -> Workbook:
    shifts = shifts.assign(start_local=local(shifts["start"], timezone).to_numpy(),
                           end_local=local(shifts["end"], timezone).to_numpy())
    days = sorted(set(local(coverage["interval_start"], timezone).dt.date) | set(pd.to_datetime(shifts["day"]).dt.date))
    agents = list(agents) if agents is not None else sorted(shifts["agent"].unique())
    fills = {t: PatternFill("solid", fgColor=FILLS[i % len(FILLS)])
             for i, t in enumerate(sorted(shifts["template"].unique()))}
    book = Workbook()
    book.remove(book.active)
    for week in weeks_of(days):
        _week_sheet(book.create_sheet(week_sheet_name(week[0])), week, shifts, agents, fills)
    _coverage_sheet(book.create_sheet("Coverage"), coverage, timezone)
    _shifts_sheet(book.create_sheet("Shifts"), shifts)
    return book


def _week_sheet(sheet, week: list[date], shifts: pd.DataFrame, agents: list[str], fills) -> None:
    sheet.append(["agent", *[f"{d:%a %d %b}" for d in week], "paid hours"])
    by_cell = {(r.agent, str(r.day)): r for r in shifts.itertuples()}
    for agent in agents:
        row, paid = [agent], 0.0
        for d in week:
            r = by_cell.get((agent, d.isoformat()))
            row.append("" if r is None else shift_label(r.start_local, r.end_local))
            paid += 0.0 if r is None else float(r.paid_hours)
        sheet.append(row + [round(paid, 2)])
        for col, d in enumerate(week, start=2):
            r = by_cell.get((agent, d.isoformat()))
            if r is not None:
                cell = sheet.cell(row=sheet.max_row, column=col)
                cell.fill = fills[r.template]
                note = f"{r.template} shift, {r.paid_hours:g} paid h\n{r.breaks or 'no breaks'}\nqueues: {r.queues}"
                cell.comment = Comment(note, "wfm", width=260, height=90)
    _header(sheet, widths=[16] + [17] * len(week) + [11])
    for row in sheet.iter_rows(min_row=2, min_col=2, max_col=len(week) + 1):
        for cell in row:
            cell.alignment = Alignment(horizontal="center")


def _coverage_sheet(sheet, coverage: pd.DataFrame, timezone: str) -> None:
    starts = local(coverage["interval_start"], timezone)
    columns = [c for c in ("required", "scheduled", "on_queue", "under", "over", "service_level", "volume")
               if c in coverage]
    sheet.append([f"interval start ({timezone})", "UTC offset", "queue", *columns])
    for ts, (_, r) in zip(starts, coverage.iterrows()):
        values = [None if pd.isna(r[c]) else float(r[c]) for c in columns]
        sheet.append([ts.tz_localize(None).to_pydatetime(), ts.strftime("%z"), r["queue"], *values])
        if "under" in coverage and r["under"] > 0:
            sheet.cell(row=sheet.max_row, column=3 + columns.index("under") + 1).fill = UNDER
    for row in sheet.iter_rows(min_row=2, max_col=1):
        row[0].number_format = "yyyy-mm-dd hh:mm"
    if "service_level" in columns:
        for row in sheet.iter_rows(min_row=2, min_col=4 + columns.index("service_level"),
                                   max_col=4 + columns.index("service_level")):
            row[0].number_format = "0.0%"
    _header(sheet, widths=[24, 11, 12] + [13] * len(columns))


def _shifts_sheet(sheet, shifts: pd.DataFrame) -> None:
    columns = ["agent", "day", "template", "start", "end", "paid_hours", "breaks", "queues"]
    sheet.append(columns)
    for r in shifts.itertuples():
        sheet.append([r.agent, str(r.day), r.template, r.start_local.strftime("%Y-%m-%d %H:%M"),
                      r.end_local.strftime("%Y-%m-%d %H:%M"), float(r.paid_hours), r.breaks, r.queues])
    _header(sheet, widths=[16, 12, 10, 18, 18, 11, 40, 16])


def _header(sheet, widths: list[int]) -> None:
    for cell in sheet[1]:
        cell.font = BOLD
    sheet.freeze_panes = "B2"
    for i, w in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = w
