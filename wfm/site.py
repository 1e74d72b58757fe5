"""A staff list (CSV, one row per agent) made into the agents of a site setup.

Columns: `id` and `skills` are required; every other column is optional and an empty cell keeps
the default (docs/site-setup.md gives each one's meaning, unit and default). Lists inside a cell
are separated by `;`: `skills` (`billing;tech`), `unavailable_days` (dates, or ranges
`2026-05-27..2026-05-29`) and `template_caps` (`late=2;night=1`). Shift templates, rules and
weights do not come from a staff list: `setup_from_csv` takes them from a base setup.
"""

from __future__ import annotations

import csv
import io
import json
import math
from datetime import date, timedelta
from pathlib import Path

import yaml
from pydantic import ValidationError

from .errors import InputError
from .roster.domain import Agent, Contract, Rules, ShiftTemplate, SolverParams, Weights

REQUIRED = ("id", "skills")
HOURS = ("min_hours", "max_hours", "horizon_min_hours", "horizon_max_hours")
COUNTS = ("min_days", "max_days", "max_consecutive_days", "min_consecutive_days", "min_consecutive_days_off",
          "max_weekends")
CONTRACT = HOURS + COUNTS
COLUMNS = REQUIRED + CONTRACT + ("cost_per_hour", "unavailable_days", "template_caps")
ZIP_MAGIC = b"PK\x03\x04"  # .xlsx files are zip archives


def agents_from_csv(path: Path, templates: set[str] | None = None) -> list[Agent]:
    """One Agent per row; a bad cell raises InputError with its line and column. `templates`: the
    template ids `template_caps` may name (None: not checked)."""
    return [agent for _, agent in agent_rows_from_bytes(Path(path).read_bytes(), str(path), templates)]


def agent_rows_from_bytes(raw: bytes, source: str, templates: set[str] | None = None) -> list[tuple[int, Agent]]:
    """(line, Agent) per row of a staff list's bytes (an upload); `source` names it in errors."""
    if raw.startswith(ZIP_MAGIC):
        raise InputError("file", source, "this looks like an Excel workbook: save it as CSV (comma-separated)")
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError("file", source, f"not UTF-8 text (byte {exc.start}): save it as CSV UTF-8") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [name.strip() for name in reader.fieldnames or []]
    _check_header(header)
    reader.fieldnames = header
    agents, seen = [], {}
    for row in reader:
        line = reader.line_num
        agent = _agent(row, line)
        unknown = sorted(set(agent.contract.template_caps) - templates) if templates is not None else []
        if unknown:
            raise InputError("template_caps", row["template_caps"], f"no template {unknown[0]!r} in the setup; "
                             f"templates are {', '.join(sorted(templates))}", line=line)
        if agent.id in seen:
            raise InputError("id", agent.id, f"the same id is on line {seen[agent.id]}", line=line)
        seen[agent.id] = line
        agents.append((line, agent))
    if not agents:
        raise InputError("file", source, "no agents: the file has a header and no rows")
    return agents


def setup_from_csv(path: Path, base: Path | None = None) -> dict:
    """A site setup (templates, agents, rules, weights, solver) as JSON-able dict: the agents from
    the staff list, everything else from `base` (a setup file, JSON or YAML) when given."""
    setup = _read_base(base) if base is not None else {}
    templates = {t.id for t in _checked_base(setup, base)} if base is not None else None
    agents = agents_from_csv(path, templates)
    setup["agents"] = [a.model_dump(mode="json", exclude_unset=True) for a in agents]
    return setup


def _check_header(header: list[str]) -> None:
    unknown = [name for name in header if name not in COLUMNS]
    if unknown:
        raise InputError("header", unknown[0], f"unknown column; columns are {', '.join(COLUMNS)}", line=1)
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        raise InputError("header", ",".join(header), f"missing column {missing[0]!r}", line=1)


def _agent(row: dict, line: int) -> Agent:
    if None in row:  # more cells than header columns
        raise InputError("row", ",".join(row[None]), "more cells than the header has columns", line=line)
    cells = {k: (v or "").strip() for k, v in row.items()}
    data: dict = {"id": cells["id"], "skills": _split(cells["skills"])}
    contract = {k: _number(k, cells[k], line, whole=k in COUNTS) for k in CONTRACT if cells.get(k)}
    if cells.get("template_caps"):
        contract["template_caps"] = _caps(cells["template_caps"], line)
    if contract:
        data["contract"] = contract
    if cells.get("cost_per_hour"):
        data["cost_per_hour"] = _number("cost_per_hour", cells["cost_per_hour"], line)
    if cells.get("unavailable_days"):
        data["unavailable_days"] = _days(cells["unavailable_days"], line)
    defaults = Contract()
    for low, high in (("min_hours", "max_hours"), ("min_days", "max_days")):
        least, most = contract.get(low, getattr(defaults, low)), contract.get(high, getattr(defaults, high))
        if least > most:
            raise InputError(low, cells.get(low) or least, f"more than {high}={most:g}", line=line)
    try:
        agent = Agent.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        column = next((str(p) for p in reversed(error["loc"]) if str(p) in COLUMNS), str(error["loc"][0]))
        raise InputError(column, cells.get(column, ""), error["msg"], line=line) from None
    return agent


def _number(column: str, cell: str, line: int, whole: bool = False) -> float | int:
    """A cell as a finite number (a whole one for counts), or an InputError naming it."""
    try:
        value = float(cell)
    except ValueError:
        raise InputError(column, cell, "not a number", line=line) from None
    if not math.isfinite(value):
        raise InputError(column, cell, "not a finite number", line=line)
    if whole:
        if not value.is_integer():
            raise InputError(column, cell, "not a whole number", line=line)
        return int(value)
    return value


def _split(cell: str) -> list[str]:
    return [part.strip() for part in cell.split(";") if part.strip()]


def _caps(cell: str, line: int) -> dict[str, int]:
    caps = {}
    for part in _split(cell):
        template, sep, count = part.partition("=")
        if not sep or not template.strip():
            raise InputError("template_caps", cell, "write template=count, e.g. late=2;night=1", line=line)
        caps[template.strip()] = _number("template_caps", count.strip(), line, whole=True)
    return caps


def _days(cell: str, line: int) -> list[str]:
    days = []
    for part in _split(cell):
        first, _, last = part.partition("..")
        try:
            start, end = date.fromisoformat(first.strip()), date.fromisoformat((last or first).strip())
        except ValueError:
            raise InputError("unavailable_days", part, "not a date (YYYY-MM-DD) or range (YYYY-MM-DD..YYYY-MM-DD)",
                             line=line) from None
        if end < start:
            raise InputError("unavailable_days", part, "the range ends before it starts", line=line)
        days += [(start + timedelta(days=k)).isoformat() for k in range((end - start).days + 1)]
    return days


def _read_base(base: Path) -> dict:
    text = Path(base).read_text()
    try:
        data = json.loads(text) if Path(base).suffix == ".json" else yaml.safe_load(text)
    except (ValueError, yaml.YAMLError) as exc:
        raise InputError("base", str(base), f"not valid JSON or YAML: {exc}") from None
    if not isinstance(data, dict):
        raise InputError("base", str(base), "a setup file is an object with templates, rules, weights, solver")
    return data


def _checked_base(setup: dict, base: Path) -> list[ShiftTemplate]:
    """The base's templates, rules, weights and solver checked now, not at the first solve."""
    for key, model in (("templates", ShiftTemplate), ("rules", Rules), ("weights", Weights), ("solver", SolverParams)):
        values = setup.get(key, [] if key == "templates" else {})
        try:
            checked = [model.model_validate(v) for v in values] if key == "templates" else model.model_validate(values)
        except ValidationError as exc:
            error = exc.errors()[0]
            where = ".".join([key, *map(str, error["loc"])])
            raise InputError("base", str(base), f"{where}: {error['msg']}") from None
        if key == "templates":
            templates = checked
    return templates
