"""`wfm` command line. Each command is a thin shell over plain library functions."""

from __future__ import annotations

import dataclasses
import math
import os
import sys
from pathlib import Path
from typing import Optional

import typer
import typer.core
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from .domain import ServiceTarget
from .errors import InputError
from .jsonout import strict_json
from .live import SolverDisplay

MANUAL = """wfm: workforce management for contact centers. From your contact history it forecasts \
volume and handle time per interval, turns the forecast into the agents each interval needs to hit \
your service target, and builds a roster for your named agents.

[bold]Start here:[/] [cyan]wfm demo[/] runs the whole pipeline on sample_data/ and writes the forecast, \
requirements, roster (CSV and Excel), scenarios and report.html to out/.

[bold]The pipeline, one step at a time:[/]

  1. [cyan]wfm forecast[/] HISTORY.csv --timezone Europe/Berlin --interval 30 --out forecast.csv

  2. [cyan]wfm staff[/] --input forecast.csv --shrinkage 0.3 --out requirements.csv

  3. [cyan]wfm roster[/] roster_input.json --time-limit 60 --seed 0 --out roster.csv

[bold]All of it from one config file[/], with a simulation of the roster: [cyan]wfm plan[/] \
sample_data/plan.yaml; what-ifs on it: [cyan]wfm scenario run[/] sample_data/scenarios.yaml.

[bold]Over HTTP[/], with a web view at http://127.0.0.1:8000/ui: [cyan]wfm serve[/] (API keys: \
[cyan]wfm apikey create[/]).

Options mean the same in every command: --out/-o the file or folder to write, --interval minutes \
(15, 30 or 60), --timezone the site's IANA zone, --time-limit solver seconds, --seed the solver's \
random seed, --solver-threads CP-SAT threads (solver.workers in a setup file), --processes local worker \
processes. [cyan]wfm COMMAND --help[/] lists every option with its unit."""

EPILOG = """[bold]Exit codes[/], the same for every command: 0 done; 1 no result (no roster within the \
time limit, or rules that cannot all hold, named in the message); 2 bad input or options (the message \
names the file, line and column, or the option); 3 a roster broke a hard rule in the independent \
validator (a solver bug; nothing is published silently); 130 interrupted. Messages go to stderr, \
results to stdout or --out."""

# `wfm --help` lists commands in the order a newcomer uses them, not the order they are defined.
ORDER = ["demo", "forecast", "staff", "roster", "plan", "scenario", "simulate", "kpi", "review", "intraday", "site",
         "serve", "apikey"]


class ManualOrder(typer.core.TyperGroup):
    def list_commands(self, ctx):
        names = super().list_commands(ctx)
        return sorted(names, key=lambda n: ORDER.index(n) if n in ORDER else len(ORDER))


app = typer.Typer(help=MANUAL, epilog=EPILOG, rich_markup_mode="rich", cls=ManualOrder,
                  no_args_is_help=True, add_completion=False, pretty_exceptions_enable=False)
console = Console()
err = Console(stderr=True, soft_wrap=True)  # messages stay on one line for scripts that grep them

EXIT_NO_RESULT, EXIT_INPUT, EXIT_RULES_BROKEN = 1, 2, 3
PIPELINE, PLANNING, SERVICE = "Pipeline", "Plans and what-ifs", "HTTP service"


def fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(EXIT_INPUT)


# `--workers` meant solver threads in some commands and processes in others; each meaning now has
# its own name. The old spelling still works for a while, with a note on stderr.
OLD_WORKERS = typer.Option(None, "--workers", hidden=True, help="Deprecated: see the command's help.")


def _renamed(new_value, old_value, new_name: str):
    if old_value is None:
        return new_value
    err.print(f"[yellow]note:[/] --workers is deprecated here; use {new_name}", highlight=False)
    return old_value if new_value is None else new_value


def _target(**kwargs) -> ServiceTarget:
    try:
        return ServiceTarget(**kwargs)
    except ValidationError as exc:
        fail("; ".join(e["msg"].removeprefix("Value error, ") for e in exc.errors()))


@app.command(rich_help_panel=PIPELINE)
def staff(
    volume: Optional[float] = typer.Option(None, help="Contacts offered in one interval (single-interval mode)."),
    aht: Optional[float] = typer.Option(None, help="Average handle time per contact, seconds (talk + hold + wrap)."),
    input: Optional[Path] = typer.Option(None, "--input", "-i", help=(
        "CSV with interval_start,volume,aht_seconds[,queue][,open][,agents]. An agents column: the service those "
        "agents give.")),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the requirements CSV here."),
    interval: Optional[int] = typer.Option(None, help=(
        "Interval length in minutes: 15, 30 or 60. Inferred from --input when omitted; 30 for a single interval.")),
    timezone: Optional[str] = typer.Option(None, help=(
        "IANA timezone for timestamps without a UTC offset, and for output (e.g. Europe/Berlin).")),
    sl: float = typer.Option(0.8, help=(
        "Service-level target: fraction answered within --answer-seconds, strictly between 0 and 1.")),
    no_sl: bool = typer.Option(False, "--no-sl", help=(
        "No service-level target (use ASA, occupancy or abandonment targets only).")),
    answer_seconds: float = typer.Option(20.0, help="Service-level threshold T in seconds (the 20 in 80/20)."),
    asa_seconds: Optional[float] = typer.Option(None, help="Cap on average speed of answer, seconds."),
    max_occupancy: Optional[float] = typer.Option(None, help="Cap on agent occupancy, in (0, 1], e.g. 0.85."),
    shrinkage: float = typer.Option(0.0, help=(
        "Share of paid time off the queue (breaks, training, absence), in [0, 1). scheduled = ceil(agents / (1 - "
        "shrinkage)).")),
    patience_seconds: Optional[float] = typer.Option(None, help=(
        "Mean caller patience, seconds. Switches to Erlang A (abandonment).")),
    abandon_rate: Optional[float] = typer.Option(None, help=(
        "Cap on abandoned/offered, in (0, 1). Needs --patience-seconds.")),
    concurrency: int = typer.Option(1, help=(
        "Chat: sessions one agent handles at once; AHT is then per session at that concurrency.")),
    min_agents: int = typer.Option(0, help="Minimum on-queue agents in every open interval."),
    deadline_minutes: Optional[float] = typer.Option(None, help=(
        "Back-office/email: every item must be finished within this many minutes (workload model, no queueing).")),
    format: str = typer.Option("table", "--format", "-f", help=(
        "Output: table, json or csv (csv goes to stdout when --out is not given).")),
    agents: Optional[int] = typer.Option(None, help="On-queue agents: answer the SL, ASA, occupancy (and abandonment "
                                                    "with --patience-seconds) they give, in every interval; "
                                                    "overrides an agents column."),
) -> None:
    """Agents needed per interval to meet a service target (Erlang C, Erlang A, chat, back office);
    or, with --agents or an agents column, the service a given headcount gives.

    Single interval:  wfm staff --volume 100 --aht 180 --interval 30 --sl 0.8 --answer-seconds 20 --format json

    Whole file:       wfm staff --input volumes.csv --out requirements.csv

    Given headcount:  wfm staff --volume 100 --aht 180 --interval 30 --agents 12 --format json
    """
    from .io import REQUIREMENT_COLUMNS, infer_interval_minutes, read_interval_csv, write_csv
    from .staffing.frames import staff_frame, summarize
    from .staffing.headcount import service_frame

    if format not in ("table", "json", "csv"):
        fail(f"--format={format!r}: use table, json or csv")
    target = _target(service_level=None if no_sl else sl, answer_seconds=answer_seconds,
                     max_asa_seconds=asa_seconds, max_occupancy=max_occupancy, shrinkage=shrinkage,
                     patience_seconds=patience_seconds, max_abandon_rate=abandon_rate,
                     concurrency=concurrency, min_agents=min_agents)
    if interval is not None and interval not in (15, 30, 60):
        fail(f"--interval={interval}: must be 15, 30 or 60 minutes")
    try:
        if input is None:
            if volume is None or aht is None:
                fail("give --volume and --aht for one interval, or --input FILE for many")
            _staff_single(volume, aht, interval or 30, target, deadline_minutes, format, agents)
            return
        frame = read_interval_csv(input, timezone)
        if (agents is not None or "agents" in frame) and deadline_minutes is not None:
            fail("--deadline-minutes staffs back-office work; a given headcount (--agents, agents column) "
                 "is for queues")
        minutes = interval or infer_interval_minutes(frame["interval_start"], frame["queue"])
        if interval is not None and frame.groupby("queue").size().max() > 1:
            spacing = infer_interval_minutes(frame["interval_start"], frame["queue"], strict=False)
            if spacing != interval:
                fail(f"--interval={interval}: the file's intervals are {spacing:g} minutes apart")
        if agents is not None or "agents" in frame:
            req = service_frame(frame, minutes, target, agents)
        else:
            req = staff_frame(frame, minutes, target, deadline_minutes)
    except InputError as exc:
        fail(str(exc))
    columns = REQUIREMENT_COLUMNS + [c for c in ("abandon_rate", "workload_agents", "utc_offset_minutes") if c in req]
    req = req[[c for c in columns if c in req]]
    if out is not None:
        write_csv(req, out)
    if format == "csv" and out is None:
        write_csv(req, sys.stdout)
        return
    summary = summarize(req, minutes)
    if format == "json":
        print(strict_json({"interval_minutes": minutes, "queues": summary.to_dict("records")}))
        return
    _print_summary(summary, minutes, out)


def _staff_single(volume, aht, minutes, target, deadline_minutes, format, agents=None):
    from .staffing.backoffice import backoffice_requirement
    from .staffing.headcount import service_for_agents
    from .staffing.requirements import required_agents

    if agents is not None and deadline_minutes is not None:
        fail("--deadline-minutes staffs back-office work; --agents is for queues")
    if deadline_minutes is not None:
        res = backoffice_requirement([volume], [aht], minutes, deadline_minutes,
                                     utilization=target.max_occupancy or 1.0, shrinkage=target.shrinkage)
        row = {k: (float(v[0]) if k == "workload_agents" else int(v[0])) for k, v in res.items()}
    else:
        res = (required_agents([volume], [aht], minutes, target) if agents is None
               else service_for_agents([volume], [aht], minutes, agents, target))
        row = {k: float(v) for k, v in res.to_frame().iloc[0].items()}
        row["agents"], row["scheduled_agents"] = int(row["agents"]), int(row["scheduled_agents"])
        row["load_erlangs"] = float(res.load_erlangs[0])
        row["model"] = ("erlang_a" if target.patience_seconds else "erlang_c") + (
            f"+concurrency{target.concurrency}" if target.concurrency > 1 else "")
    row = {"volume": volume, "aht_seconds": aht, "interval_minutes": minutes, **row}
    if format == "json":
        print(strict_json(row))
        return
    table = Table(title="Staffing for one interval", show_header=False)
    for k, v in row.items():
        table.add_row(k, f"{v:.4g}" if isinstance(v, float) else str(v))
    console.print(table)


def _print_summary(summary, minutes, out):
    table = Table(title=f"Requirements ({minutes}-minute intervals)")
    for col in ("queue", "contacts", "peak agents", "peak scheduled", "agent-hours", "scheduled hours",
                "SL", "ASA s", "occupancy"):
        table.add_column(col, justify="left" if col == "queue" else "right")
    for r in summary.to_dict("records"):
        table.add_row(str(r["queue"]), f"{r['contacts']:,.0f}", str(r["peak_agents"]), str(r["peak_scheduled"]),
                      f"{r['agent_hours']:,.1f}", f"{r['scheduled_hours']:,.1f}",
                      _pct(r.get("service_level")), _num(r.get("asa_seconds")), _pct(r.get("occupancy")))
    console.print(table)
    if out is not None:
        err.print(f"requirements written to [bold]{out}[/]")


def _pct(v):
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:.1f}%"


def _signed_pct(v):
    return "-" if v is None or not math.isfinite(v) else f"{100 * v:+.1f}%"


def _num(v):
    return "-" if v is None or not math.isfinite(v) else f"{v:.1f}"


def _wait(v):
    """A wait in seconds; an infinite one (fewer agents than the work) is 'unbounded', not inf."""
    return "unbounded" if v is not None and math.isinf(v) else _num(v)


@app.command(context_settings={"allow_interspersed_args": True}, rich_help_panel=PIPELINE)
def forecast(
    args: list[str] = typer.Argument(..., metavar="[backtest] HISTORY",
                                     help=(
                                         "History file (CSV, TSV, .gz or Parquet). Prefix with 'backtest' to only "
                                         "score models.")),
    days: int = typer.Option(7, help="Days to forecast, starting the day after the last day of history."),
    interval: int = typer.Option(60, help="Interval length in minutes: 15, 30 or 60."),
    timezone: str = typer.Option(..., help="Site timezone (IANA, e.g. Europe/Berlin): intervals and days are local."),
    model: str = typer.Option("auto", help=(
        "seasonal_naive, weekly_profile, daily_profile, level_profile, ensemble, or auto (the ensemble unless seasonal "
        "naive wins every backtest fold by 10%).")),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=(
        "Write the forecast CSV here (with backtest: the scores CSV).")),
    level: float = typer.Option(0.9, help="Prediction-interval level for volume_lower/volume_upper, e.g. 0.9."),
    folds: int = typer.Option(4, help="Backtest folds of one week each (rolling origin)."),
    country: Optional[str] = typer.Option(None, help=(
        "Public holidays of this country (ISO code, e.g. DE, US) as special days.")),
    subdivision: Optional[str] = typer.Option(None, help="State/province for --country holidays, e.g. BY."),
    calendar: Optional[Path] = typer.Option(None, help=(
        "CSV of special days: date[,name][,factor]. factor = volume vs a normal day, 'closed' = 0; "
        "empty = learn from history (else pooled over similar days).")),
    timestamp_col: str = typer.Option("created_at", help="Contact timestamp column; 'date+time' joins two columns."),
    timestamp_format: Optional[str] = typer.Option(None, help=(
        "strftime format for non-ISO timestamps, e.g. '%y%m%d %H:%M:%S'.")),
    queue_col: str = typer.Option("queue", help="Queue column (optional in the file)."),
    channel_col: str = typer.Option("channel", help="Channel column (optional in the file)."),
    handle_col: str = typer.Option("handle_seconds", help="Handle-time column in seconds (optional)."),
    interval_start_col: str = typer.Option("interval_start", help="Interval reports: interval start column."),
    volume_col: Optional[str] = typer.Option(None, help=(
        "Interval reports: contacts offered column (default: volume/offered/calls/contacts/count).")),
    aht_col: str = typer.Option("aht_seconds", help="Interval reports: AHT column in seconds (optional)."),
    ignore_offset: bool = typer.Option(False, "--ignore-offset", help=(
        "Read timestamps as local wall-clock time even if they carry an offset or Z.")),
    max_handle_seconds: float = typer.Option(14400, help="Handle times above this are bad rows (seconds)."),
    on_bad_row: str = typer.Option("error", help=(
        "error: stop at the first bad row, naming line and column; drop: skip bad rows and report them.")),
    drop_if: list[str] = typer.Option([], help=(
        "Skip rows where COLUMN=VALUE (repeatable), e.g. outcome=PHANTOM. Counted in the summary.")),
    handle_if: list[str] = typer.Option([], help=(
        "Count a handle time only where COLUMN=VALUE (repeatable), e.g. outcome=AGENT: other rows stay in volume.")),
) -> None:
    """Forecast contact volume (with prediction intervals) and AHT per interval.

    wfm forecast HISTORY.csv --days 7 --interval 60 --timezone Europe/Berlin --out forecast.csv

    wfm forecast backtest HISTORY.csv --timezone Europe/Berlin
    """
    from forecasts.ingest import ColumnMap
    from forecasts.models import MODELS
    from forecasts.service import HistoryOptions, make_calendar, run_backtest, run_forecast
    from .io import write_csv

    mode, paths = ("backtest", args[1:]) if args and args[0] == "backtest" else ("forecast", args)
    if len(paths) != 1:
        fail("give exactly one history file: wfm forecast [backtest] HISTORY")
    filters: dict[str, list[str]] = {}
    handled_only: dict[str, list[str]] = {}
    for option, items, target in (("--drop-if", drop_if, filters), ("--handle-if", handle_if, handled_only)):
        for item in items:
            if "=" not in item:
                fail(f"{option}={item!r}: use COLUMN=VALUE")
            col, value = item.split("=", 1)
            target.setdefault(col.strip(), []).append(value.strip())
    columns = ColumnMap(timestamp=timestamp_col, queue=queue_col, channel=channel_col, handle_seconds=handle_col,
                        volume=volume_col, interval_start=interval_start_col, aht_seconds=aht_col)
    try:
        opts = HistoryOptions(timezone=timezone, interval_minutes=interval, columns=columns,
                              timestamp_format=timestamp_format, ignore_offset=ignore_offset,
                              max_handle_seconds=max_handle_seconds, on_bad_row=on_bad_row, drop_if=filters,
                              handle_if=handled_only)
        cal = make_calendar(country, subdivision, calendar)
        if mode == "backtest":
            models = list(MODELS) if model == "auto" else [model]
            scores, report = run_backtest(paths[0], opts, models, cal, level, folds)
        else:
            result, report = run_forecast(paths[0], opts, days, model, cal, level, folds)
            scores = result.scores
    except (InputError, ValueError) as exc:
        fail(str(exc))
    err.print(report.summary(), highlight=False)
    _print_scores(scores, level)
    if mode == "backtest":
        if out is not None:
            write_csv(scores, out)
            err.print(f"backtest scores written to [bold]{out}[/]")
        return
    for queue, name in result.chosen.items():
        outliers = result.outliers.get(queue)
        extra = f"; outlier days left out: {', '.join(map(str, outliers))}" if outliers else ""
        if queue in result.level_shifts:
            ratio, since = result.level_shifts[queue]
            extra += f"; new level since {since}: x{ratio:.2f} of before"
        if queue in result.month_start:
            extra += f"; days 1-5 of a month x{result.month_start[queue]:.2f}"
        err.print(f"{queue}: {name}{extra}", highlight=False)
    for day, (special, factors) in result.special_days.items():
        used = ", ".join(f"{q} x{f:.2f}" for q, f in factors.items())
        err.print(f"special day {day}: {special.name} ({special.kind}): {used}", highlight=False)
    if out is not None:
        write_csv(result.forecast, out)
        err.print(f"forecast of {days} days from {result.first_day} written to [bold]{out}[/]")
    else:
        write_csv(result.forecast, sys.stdout)


def _print_scores(scores, level):
    table = Table(title=f"Backtest (rolling origin, one-week folds; coverage of the {level:.0%} band)")
    for col in ("model", "queue", "folds", "WAPE", "MASE", "bias", "coverage"):
        table.add_column(col, justify="left" if col in ("model", "queue") else "right")
    for r in scores.sort_values(["queue", "wape"]).to_dict("records"):
        table.add_row(r["model"], str(r["queue"]), str(r["folds"]), _pct(r["wape"]), f"{r['mase']:.3f}",
                      _signed_pct(r["bias"]), _pct(r["coverage"]))
    err.print(table)
    for r in scores.dropna(subset=["coverage_special"]).to_dict("records") if "coverage_special" in scores else []:
        err.print(f"coverage on special days: {r['queue']} {r['model']} {_pct(r['coverage_special'])}",
                  highlight=False)


KPI_HELP = """Achieved KPIs per interval, day or week, per queue and for all queues together (queue `all`).

wfm kpi HISTORY.csv --timezone Europe/Berlin --interval 60 --answer-seconds 20 --by day --out kpi.csv

The history is read as by `wfm forecast` (same files and column options). KPI columns, by default: \
wait_seconds (time to answer, or to abandon), abandoned (true/false; or --abandoned-if outcome=HANG), \
and for tickets first_response_at, resolved_at and csat. A KPI whose column is missing is left out, with a note.

[bold]Definitions.[/] offered = contacts created in the period; answered = offered - abandoned.

service_level = answered within --answer-seconds (wait <= T) / offered: abandoned contacts count against \
it (--exclude-short-abandons S takes contacts abandoned within S seconds out of its denominator).

asa_seconds = mean wait of answered contacts; abandon_rate = abandoned / offered; aht_seconds = mean \
handle time of answered contacts with a handle time above 0.

first_response_p50/p90_seconds, resolution_p50_seconds = percentiles (linear interpolation) of the time \
from created_at, over the contacts that have one; resolved_rate = contacts with a resolved_at / offered; \
csat_mean = mean of the csat_responses scores given. See docs/kpi.md."""


def _column_values(items: list[str], option: str) -> dict[str, list[str]]:
    """COLUMN=VALUE options (repeatable) -> {column: [values]}."""
    out: dict[str, list[str]] = {}
    for item in items:
        if "=" not in item:
            fail(f"{option}={item!r}: use COLUMN=VALUE")
        col, value = item.split("=", 1)
        out.setdefault(col.strip(), []).append(value.strip())
    return out


@app.command(help=KPI_HELP, rich_help_panel=PIPELINE)
def kpi(
    history: Path = typer.Argument(..., help="History file (CSV, TSV, .gz or Parquet), one row per contact."),
    timezone: str = typer.Option(..., help="Site timezone (IANA, e.g. Europe/Berlin): intervals, days and weeks are "
                                           "local."),
    interval: int = typer.Option(60, help="Interval length in minutes for --by interval: 15, 30 or 60."),
    answer_seconds: float = typer.Option(20.0, help="Service-level threshold T in seconds: answered with wait <= T "
                                                    "counts as within target."),
    by: str = typer.Option("interval", help="Period of each row: interval, day or week (weeks start on Monday)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Write the KPI CSV here (default: stdout)."),
    exclude_short_abandons: Optional[float] = typer.Option(None, help="Contacts abandoned within this many seconds "
                                                                      "leave the service level's denominator."),
    last_days: Optional[int] = typer.Option(None, help="Only the history's last N local days (7: its last week)."),
    abandoned_if: list[str] = typer.Option([], help="Abandoned where COLUMN=VALUE (repeatable values), e.g. "
                                                    "outcome=HANG; instead of the abandoned column."),
    wait_col: str = typer.Option("wait_seconds", help="Wait column in seconds: time to answer, or to abandon."),
    abandoned_col: str = typer.Option("abandoned", help="Abandoned flag column (true/false, yes/no, 1/0)."),
    first_response_col: str = typer.Option("first_response_at", help="Tickets: first response timestamp column."),
    resolved_col: str = typer.Option("resolved_at", help="Tickets: resolution timestamp column."),
    csat_col: str = typer.Option("csat", help="Customer-satisfaction score column (empty: no response)."),
    timestamp_col: str = typer.Option("created_at", help="Contact timestamp column; 'date+time' joins two columns."),
    timestamp_format: Optional[str] = typer.Option(None, help="strftime format for non-ISO timestamps (every "
                                                              "timestamp column), e.g. '%y%m%d %H:%M:%S'."),
    queue_col: str = typer.Option("queue", help="Queue column (optional in the file)."),
    channel_col: str = typer.Option("channel", help="Channel column (optional in the file)."),
    handle_col: str = typer.Option("handle_seconds", help="Handle-time column in seconds (optional)."),
    ignore_offset: bool = typer.Option(False, "--ignore-offset", help="Read timestamps as local wall-clock time even "
                                                                      "if they carry an offset or Z."),
    max_handle_seconds: float = typer.Option(14400, help="Handle times above this are bad rows (seconds)."),
    on_bad_row: str = typer.Option("error", help="error: stop at the first bad row, naming line and column; drop: "
                                                 "skip bad rows and report them."),
    drop_if: list[str] = typer.Option([], help="Skip rows where COLUMN=VALUE (repeatable), e.g. outcome=PHANTOM. "
                                               "Counted in the summary."),
) -> None:
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions
    from .io import write_csv
    from .kpi import KpiColumns, KpiOptions, compute_kpis

    columns = ColumnMap(timestamp=timestamp_col, queue=queue_col, channel=channel_col, handle_seconds=handle_col)
    opts = HistoryOptions(timezone=timezone, interval_minutes=interval, columns=columns,
                          timestamp_format=timestamp_format, ignore_offset=ignore_offset,
                          max_handle_seconds=max_handle_seconds, on_bad_row=on_bad_row,
                          drop_if=_column_values(drop_if, "--drop-if"))
    options = KpiOptions(answer_seconds=answer_seconds, by=by, exclude_short_abandons=exclude_short_abandons,
                         last_days=last_days,
                         abandoned_if=_column_values(abandoned_if, "--abandoned-if"),
                         columns=KpiColumns(wait_seconds=wait_col, abandoned=abandoned_col,
                                            first_response_at=first_response_col, resolved_at=resolved_col,
                                            csat=csat_col))
    try:
        result = compute_kpis(history, opts, options)
    except InputError as exc:
        fail(str(exc))
    err.print(result.report.summary(), highlight=False)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)
    if out is None:
        write_csv(result.table, sys.stdout)
        return
    write_csv(result.table, out)
    console.print(f"KPIs of {len(result.table):,} rows (by {by}) written to [bold]{out}[/]")


@app.command(rich_help_panel=PIPELINE)
def roster(
    input: Path = typer.Argument(..., help=(
        "Roster input JSON (horizon, requirements, templates, agents, rules, weights); "
        "or the word curtois followed by a Curtois-Qu benchmark instance file.")),
    instance: Optional[Path] = typer.Argument(None, help="With `curtois`: the benchmark instance (InstanceN.txt)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=(
        "Write the roster CSV (one row per agent shift) here.")),
    coverage: Optional[Path] = typer.Option(None, help=(
        "Write coverage per queue and interval (required, on-queue, under, over, projected SL).")),
    time_limit: Optional[float] = typer.Option(None, help="Solver time limit in seconds (overrides the input)."),
    solver_threads: Optional[int] = typer.Option(None, help=(
        "CP-SAT solver threads (solver.workers in the input); 1 gives the same roster for the same input and seed.")),
    workers: Optional[int] = OLD_WORKERS,
    seed: Optional[int] = typer.Option(None, help="Solver random seed."),
    format: str = typer.Option("table", "--format", "-f", help="table (summary and explanation) or json (one line)."),
) -> None:
    """Build a roster for named agents with CP-SAT, check it with the independent validator,
    and explain which rule cost what.

    While it solves, a live line shows the time against --time-limit, the best objective, the
    bound and the gap (one line per improvement when stderr is not a terminal).
    Exit codes: 0 a roster; 1 none (the conflicting rules and agents are named, or the time
    limit ran out first); 2 bad input; 3 the roster breaks a hard rule (a solver bug).

    Benchmark mode: wfm roster curtois Instance7.txt --time-limit 60 --solver-threads 2 --out roster.csv
    writes the benchmark's grid (employee, shift per day) and prints one JSON line (objective as
    the validator scores it, status, bound, seconds)."""
    from .roster.domain import RosterInput
    from .roster.report import roster_frame
    from .rostering import roster_summary, solve_checked

    workers = _renamed(solver_threads, workers, "--solver-threads")
    if str(input) == "curtois":
        if instance is None:
            fail("curtois: give the instance file, e.g. wfm roster curtois Instance1.txt")
        _curtois(instance, out, time_limit, workers, seed)
        return
    if instance is not None:
        fail(f"unexpected argument {str(instance)!r} (only `wfm roster curtois INSTANCE` takes two)")
    try:
        data = RosterInput.model_validate_json(input.read_text())
    except FileNotFoundError:
        fail(f"input={str(input)!r}: file not found")
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]))
    overrides = {k: v for k, v in (("time_limit_seconds", time_limit), ("workers", workers), ("seed", seed))
                 if v is not None}
    if overrides:
        try:
            params = type(data.solver)(**{**data.solver.model_dump(), **overrides})
        except ValidationError as exc:
            fail("; ".join(f"{e['loc'][0]}: {e['msg']}" for e in exc.errors()))
        data = data.model_copy(update={"solver": params})
    try:
        if format == "json":
            result = solve_checked(data)
        else:
            with SolverDisplay(err, data.solver.time_limit_seconds, f"rostering {len(data.agents)} agents") as show:
                result = solve_checked(data, show)
    except InputError as exc:
        fail(str(exc))
    if result.roster is None:
        if format == "json":
            print(strict_json({"status": result.status, "conflicts": result.solved.conflicts,
                               "seconds": result.seconds}))
        err.print(f"[bold red]no roster ({result.status}):[/] {result.reason}", highlight=False)
        raise typer.Exit(EXIT_NO_RESULT)
    report, cov, tot, why = result.check, result.coverage, result.totals, result.explanation
    if out is not None:
        write_csv_frame(roster_frame(data, result.roster), out)
    if coverage is not None:
        write_csv_frame(cov, coverage)
    summary = roster_summary(result)
    summary.update(summary.pop("kpis"))  # this command's JSON has the KPIs at the top level
    if format == "json":
        print(strict_json(summary))
        if not report.feasible:
            raise typer.Exit(EXIT_RULES_BROKEN)
        return
    head = Table(title=f"Roster: {result.status}, {tot['shifts']} shifts", show_header=False)
    for k in ("objective", "bound", "gap", "contract_floor", "changeable_gap", "seconds", "under_hours", "over_hours",
              "paid_hours", "cost"):
        v = summary[k]
        head.add_row(k, "-" if v is None else (f"{100 * v:.2f}%" if k.endswith("gap") else f"{v:,.2f}"))
    head.add_row("bound source", summary["bound_source"] or "-")
    head.add_row("validator", "all hard rules hold" if report.feasible else f"{len(report.violations)} violations")
    console.print(head)
    table = Table(title="Which rule cost what")
    for col in ("rule", "penalty", "mostly"):
        table.add_column(col, justify="right" if col == "penalty" else "left")
    for row in why:
        table.add_row(row["rule"], f"{row['penalty']:,.0f}", row["mostly"])
    console.print(table)
    if not report.feasible:  # a solver bug: say so loudly and fail, never publish silently
        for violation in report.violations[:20]:
            err.print(f"[bold red]violation:[/] {violation}", highlight=False)
        raise typer.Exit(EXIT_RULES_BROKEN)


def _curtois(instance: Path, out: Optional[Path], time_limit, workers, seed) -> None:
    """Solve a Curtois-Qu instance; the grid CSV and one JSON line, as benchmark scripts expect."""
    import csv

    from .roster import curtois
    from .roster.solver import solve_roster
    from .roster.validator import validate

    if time_limit is not None and time_limit <= 0 or workers is not None and workers < 1:
        fail("--time-limit must be > 0 and --solver-threads >= 1")
    try:
        data = curtois.load(instance, time_limit=time_limit or 60, workers=workers or 2, seed=seed or 0)
    except FileNotFoundError:
        fail(f"instance={str(instance)!r}: file not found")
    except (InputError, ValidationError, IndexError) as exc:
        fail(f"{instance}: {exc}")
    result = solve_roster(data)
    if result.roster is None:
        print(strict_json({"objective": None, "status": result.status, "bound": result.bound,
                          "seconds": round(result.seconds, 2), "conflicts": result.conflicts}))
        raise typer.Exit(EXIT_NO_RESULT)
    report = validate(data, result.roster)
    if out is not None:
        with open(out, "w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(curtois.header(data))
            writer.writerows(curtois.grid_rows(data, result.roster))
    best = curtois.best_known(instance)
    print(strict_json({"objective": report.objective, "status": result.status, "bound": result.bound,
                      "bound_source": result.bound_source, "seconds": round(result.seconds, 2), "best_known": best,
                      "gap_to_best_known": curtois.gap(report.objective, best), "feasible": report.feasible,
                      "violations": [str(v) for v in report.violations[:10]]}))
    if not report.feasible:
        raise typer.Exit(EXIT_RULES_BROKEN)


def write_csv_frame(frame, path):
    from .io import write_csv

    write_csv(frame, path)
    err.print(f"written: [bold]{path}[/]")  # stdout carries only results (the JSON)


@app.command(rich_help_panel=PIPELINE)
def demo(out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for the demo outputs."),
         data: Path = typer.Option(Path("sample_data"), help="Folder with the sample inputs."),
         time_limit: Optional[float] = typer.Option(None, "--time-limit", "--roster-seconds",
                                                    help=(
                                                        "Roster solver time limit in seconds (default: the setup's,"
                                                        " 30).")),
         seed: Optional[int] = typer.Option(None, help="Roster solver random seed (default: the setup's, 0).")) -> None:
    """Run the whole pipeline on the sample data: forecast, requirements, roster, scenarios,
    roster.xlsx and report.html in --out; prints a summary and where each file is.

    Exit codes: 0 done, 1 no roster found (the other files are still written), 2 bad input,
    3 the roster breaks a hard rule (a solver bug)."""
    from .demo import run_demo

    if time_limit is not None and time_limit <= 0:
        fail(f"--time-limit={time_limit:g}: must be > 0 seconds")
    try:
        result = run_demo(data, out, console, time_limit, seed, progress_console=err)
    except FileNotFoundError as exc:
        fail(f"{exc.filename}: file not found (run from the repository root, or give --data)")
    except InputError as exc:
        fail(str(exc))
    if not result.roster_ok:
        err.print(f"[bold red]roster:[/] {result.reason}", highlight=False)
        raise typer.Exit(EXIT_NO_RESULT if "roster" not in result.written else EXIT_RULES_BROKEN)


apikey_app = typer.Typer(help="API keys for the HTTP service (stored hashed; each belongs to a tenant).",
                         no_args_is_help=True)
app.add_typer(apikey_app, name="apikey", rich_help_panel=SERVICE)


@app.command(rich_help_panel=SERVICE)
def serve(
    host: str = typer.Option("127.0.0.1", help="Address to bind. Use 0.0.0.0 to serve the network (auth stays on)."),
    port: int = typer.Option(8000, help="TCP port."),
    database_url: Optional[str] = typer.Option(None, help="SQLAlchemy URL of the job store (default: WFM_DATABASE_URL, "
                                                          "else sqlite:///wfm-jobs.db)."),
    solver_processes: Optional[int] = typer.Option(None, help=(
        "Roster/plan jobs solved at once (WFM_SOLVER_PROCESSES).")),
    no_auth: bool = typer.Option(False, "--no-auth", help="Serve without API keys. Only on a loopback address."),
    log_level: str = typer.Option("info", help="uvicorn log level."),
    http_processes: Optional[int] = typer.Option(None, min=1, max=64, help=(
        "HTTP worker processes (uvicorn), default 1. One per core serves synchronous calls such as staffing on every "
        "core; each runs its own job runner on the shared job store.")),
    workers: Optional[int] = typer.Option(None, "--workers", min=1, max=64, hidden=True,
                                          help="Deprecated: --http-processes."),
) -> None:
    """Run the HTTP API and its web view (FastAPI on uvicorn): the page at /ui, OpenAPI docs at /docs.

    The web view asks for an API key (kept in the browser tab only) unless the server runs
    with --no-auth, which is allowed on a loopback address only."""
    import uvicorn

    from api.app import create_app
    from api.middleware import is_loopback
    from api.settings import Settings

    workers = _renamed(http_processes, workers, "--http-processes") or 1
    if no_auth and not is_loopback(host):
        fail(f"--no-auth refuses to bind {host}: without API keys the service may only listen on a loopback "
             "address (127.0.0.1, ::1, localhost)")
    try:
        settings = Settings.from_env(database_url=database_url, solver_processes=solver_processes)
    except ValueError as exc:
        fail(str(exc))
    if no_auth:
        settings = dataclasses.replace(settings, auth=False)
        err.print("[bold yellow]warning:[/] authentication is off (--no-auth); loopback only", highlight=False)
    if workers == 1:
        uvicorn.run(create_app(settings), host=host, port=port, log_level=log_level, proxy_headers=False)
        return
    if no_auth:  # worker processes build their settings from WFM_*, and no variable switches auth off
        fail("--no-auth serves with one HTTP process only (drop --http-processes)")
    from api.store import Store

    # The workers read their settings from the environment they inherit; the tables are made
    # here once, so the workers do not race to create them.
    os.environ.update({"WFM_DATABASE_URL": settings.database_url,
                       "WFM_SOLVER_PROCESSES": str(settings.solver_processes)})
    Store(settings.database_url, settings.database_schema).dispose()
    uvicorn.run("api.app:create_app", factory=True, workers=workers, host=host, port=port, log_level=log_level,
                proxy_headers=False)


STORE_URL_HELP = "Job store URL (default: WFM_DATABASE_URL, else sqlite:///wfm-jobs.db)."


def _key_store(database_url: str | None):
    from api.settings import Settings
    from api.store import Store

    settings = Settings.from_env(database_url=database_url)
    return Store(settings.database_url, settings.database_schema)


@apikey_app.command("create")
def apikey_create(
    tenant: str = typer.Option(..., help="Tenant the key belongs to: it sees only its own jobs."),
    expires_days: Optional[float] = typer.Option(None, min=0.0, help="Days until the key stops working "
                                                                     "(default: never)."),
    database_url: Optional[str] = typer.Option(None, help=STORE_URL_HELP),
) -> None:
    """Create an API key and print it once (only its hash is stored)."""
    if not tenant.strip() or len(tenant) > 200:
        fail(f"--tenant={tenant!r}: give a name of 1 to 200 characters")
    store = _key_store(database_url)
    key = store.create_api_key(tenant.strip(), expires_days * 86_400 if expires_days is not None else None)
    store.dispose()
    print(key)
    err.print(f"API key for tenant [bold]{tenant.strip()}[/] (shown once; send it as the X-API-Key header)",
              highlight=False)


@apikey_app.command("list")
def apikey_list(
    tenant: Optional[str] = typer.Option(None, help="Only this tenant's keys."),
    database_url: Optional[str] = typer.Option(None, help=STORE_URL_HELP),
) -> None:
    """The keys (id, tenant, created, expires, status): never a key itself, which is not stored."""
    from datetime import datetime, timezone

    store = _key_store(database_url)
    keys = store.list_api_keys(tenant)
    store.dispose()

    def when(t):
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M UTC") if t is not None else "never"

    print("id,tenant,created,expires,status")
    for k in keys:
        status = "revoked" if k.revoked else "active" if k.active else "expired"
        print(f"{k.id},{k.tenant},{when(k.created_at)},{when(k.expires_at)},{status}")


@apikey_app.command("revoke")
def apikey_revoke(
    key_id: str = typer.Argument(..., help="The key's id (from `wfm apikey list`)."),
    database_url: Optional[str] = typer.Option(None, help=STORE_URL_HELP),
) -> None:
    """Revoke a key: every server on this store refuses it within a second."""
    store = _key_store(database_url)
    done = store.revoke_api_key(key_id)
    store.dispose()
    if not done:
        fail(f"no API key has id {key_id!r} (see `wfm apikey list`)")
    err.print(f"revoked {key_id}", highlight=False)


@apikey_app.command("rotate")
def apikey_rotate(
    key_id: str = typer.Argument(..., help="The key's id (from `wfm apikey list`)."),
    grace_minutes: float = typer.Option(0.0, min=0.0, help="Minutes the old key keeps working, so clients "
                                                           "can switch (default: it stops at once)."),
    database_url: Optional[str] = typer.Option(None, help=STORE_URL_HELP),
) -> None:
    """A new key for the same tenant, printed once; the old one stops now or after --grace-minutes."""
    store = _key_store(database_url)
    rotated = store.rotate_api_key(key_id, grace_minutes * 60)
    store.dispose()
    if rotated is None:
        fail(f"no active API key has id {key_id!r} (see `wfm apikey list`)")
    new_id, key = rotated
    print(key)
    err.print(f"new key {new_id} (shown once); the old key {key_id} "
              + (f"works {grace_minutes:g} more minutes" if grace_minutes else "is revoked"), highlight=False)


@app.command(rich_help_panel=PLANNING)
def plan(
    config: Path = typer.Argument(..., help="Plan config (YAML or JSON), e.g. sample_data/plan.yaml."),
    out: Path = typer.Option(Path("out/plan"), "--out", "-o", help="Folder for every output of the plan."),
    interval: Optional[int] = typer.Option(None, help="Interval length in minutes (15, 30, 60); overrides the config."),
    timezone: Optional[str] = typer.Option(None, help="Site timezone (IANA); overrides the config."),
    time_limit: Optional[float] = typer.Option(None, help="Roster solver time limit in seconds; overrides the config."),
    seed: Optional[int] = typer.Option(None, help="Roster solver seed; overrides the config."),
    solver_threads: Optional[int] = typer.Option(None, help=(
        "CP-SAT solver threads (roster.solver.workers); overrides the config.")),
    workers: Optional[int] = OLD_WORKERS,
) -> None:
    """History -> forecast -> requirements -> roster -> simulation, every output written to --out.

    Exit codes: 0 done, 1 no roster found (forecast and requirements are still written),
    2 bad input, 3 the roster breaks a rule (a solver bug)."""
    from .plan import load_config, run_plan
    from .plan_files import write_plan

    workers = _renamed(solver_threads, workers, "--solver-threads")
    try:
        cfg = load_config(config, interval=interval, timezone=timezone, time_limit=time_limit, seed=seed,
                          workers=workers)
        solver = cfg.roster.solver if cfg.roster is not None else None
        with SolverDisplay(err, solver.time_limit_seconds if solver else None, "rostering", lazy=True) as show:
            result = run_plan(cfg, log=lambda m: err.print(m, highlight=False), progress=show)
    except InputError as exc:
        fail(str(exc))
    written = write_plan(result, out)
    _print_headline(result)
    _print_metrics("Plan: every measure", result.metrics, result.base.horizon.timezone)
    for name, path in written.items():
        console.print(f"{name:>18}: {path}", highlight=False)
    if result.roster is not None and result.roster.roster is None:
        err.print(f"[bold red]no roster ({result.roster.status}):[/] {result.roster.reason}", highlight=False)
        raise typer.Exit(1)
    if not result.ok:
        err.print(f"[bold red]roster rejected:[/] {result.roster.reason}", highlight=False)
        raise typer.Exit(3)


def _print_headline(result):
    from .outputs.headline import headline_rows, plan_headline

    h = plan_headline(result)
    table = Table(title="Plan: the headline", show_header=False)
    for label, value, note in headline_rows(h):
        table.add_row(label, value, note)
    console.print(table)
    if h["solver"]:
        console.print(f"Note: {h['solver']}", highlight=False)


def _print_metrics(title, m, timezone=None):
    table = Table(title=title, show_header=False)
    rows = [("contacts", f"{m.contacts:,.0f}"), ("required FTE", f"{m.required_fte:,.1f}"),
            ("scheduled paid hours", _num(m.scheduled_paid_hours)), ("cost", _num(m.cost)),
            ("under / over agent-hours", f"{_num(m.under_hours)} / {_num(m.over_hours)}"),
            ("SL (Erlang) week / worst", f"{_pct(m.service_level)} / {_pct(m.service_level_worst)}"),
            ("worst-SL interval", _interval_text(m.worst_interval, timezone)),
            ("ASA s week / worst", f"{_num(m.asa_seconds)} / {_wait(m.asa_seconds_worst)}"),
            ("abandonment week / worst", f"{_pct(m.abandon_rate)} / {_pct(m.abandon_rate_worst)}"),
            ("occupancy week / worst", f"{_pct(m.occupancy)} / {_pct(m.occupancy_worst)}"),
            ("SL simulated", _sim_sl(m))]
    for k, v in rows:
        table.add_row(k, v)
    console.print(table)


def _interval_text(worst: str | None, timezone: str | None) -> str:
    """PlanMetrics.worst_interval ('queue ISO-start') as 'Fri 05 Jun 11:30 queue'."""
    from .outputs.headline import interval_label

    if not worst or timezone is None:
        return worst or "-"
    queue, start = worst.rsplit(" ", 1)
    return interval_label(queue, start, timezone)


def _sim_sl(m):
    if m.simulated_service_level is None:
        return "-"
    return (f"{_pct(m.simulated_service_level)} ({_pct(m.simulated_service_level_low)}-"
            f"{_pct(m.simulated_service_level_high)})")


scenario_app = typer.Typer(help="What-if scenarios on a base plan.", no_args_is_help=True)
app.add_typer(scenario_app, name="scenario", rich_help_panel=PLANNING)


@scenario_app.command("run")
def scenario_run(
    file: Path = typer.Argument(..., help="Scenario file (YAML or JSON): base plan, mode and scenarios."),
    mode: Optional[str] = typer.Option(None, help=(
        "requirements (seconds; the base roster stays in force) or roster (reroster every scenario); overrides the "
        "file.")),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=(
        "Folder for comparison.csv, report.json and each scenario's tables.")),
    interval: Optional[int] = typer.Option(None, help="Interval length in minutes; overrides the base config."),
    timezone: Optional[str] = typer.Option(None, help="Site timezone; overrides the base config."),
    time_limit: Optional[float] = typer.Option(None, help="Roster solver time limit per roster, seconds."),
    seed: Optional[int] = typer.Option(None, help="Roster solver and simulation seed."),
    processes: Optional[int] = typer.Option(None, help=(
        "Scenarios run at once in local processes (default: CPU count; 1 = in this process).")),
    workers: Optional[int] = OLD_WORKERS,
    dask: Optional[str] = typer.Option(None, help=(
        "Run on this Dask scheduler (tcp://host:8786); default: $WFM_DASK_SCHEDULER.")),
    format: str = typer.Option("table", "--format", "-f", help="table or json (the report, one line)."),
) -> None:
    """Run a scenario set and compare every scenario with the base: required FTE, paid hours,
    cost, under/over-coverage, SL/ASA/abandonment/occupancy (week and worst interval), and the
    simulated SL against Erlang's promise. A failing scenario reports why; the others go on."""
    from .executor import make_executor
    from .scenarios import load_request, run_scenarios

    if mode is not None and mode not in ("requirements", "roster"):
        fail(f"--mode={mode!r}: use requirements or roster")
    if format not in ("table", "json"):
        fail(f"--format={format!r}: use table or json")
    try:
        request = load_request(file, mode, interval=interval, timezone=timezone, time_limit=time_limit, seed=seed)
        if seed is not None:
            sim = request.simulation if "simulation" in request.model_fields_set else request.base.simulation
            if sim is not None:
                request = request.model_copy(update={"simulation": sim.model_copy(update={"seed": seed})})
        executor = make_executor(_renamed(processes, workers, "--processes"), dask)
        frames = {} if out is not None else None
        report = run_scenarios(request, executor, lambda m: err.print(m, highlight=False), tables=frames)
    except InputError as exc:
        fail(str(exc))
    if out is not None:
        _write_scenarios(out, report, frames)
    if format == "json":
        print(report.model_dump_json())
    else:
        _print_comparison(report)
    if report.base.status == "failed" or all(s.status == "failed" for s in report.scenarios):
        raise typer.Exit(1)


def _write_scenarios(out, report, frames):
    from .io import write_csv
    from .scenarios import slug

    write_csv(report.table(), out / "comparison.csv")
    (out / "report.json").write_text(report.model_dump_json(indent=1))
    for name, tables in frames.items():
        for kind, frame in tables.items():
            write_csv(frame, out / slug(name) / f"{kind}.csv")
    err.print(f"written: [bold]{out / 'comparison.csv'}[/], report.json and one folder per scenario")


def _cell(m, deltas, fields, kind):
    """'value' or 'week / worst', and the change against the base on a second line."""
    fmt = {"pct": _pct, "num": _wait, "int": lambda x: "-" if x is None else f"{x:,.0f}"}[kind]
    text = " / ".join(fmt(getattr(m, f)) for f in fields)
    changes = [deltas.get(f) for f in fields]
    if all(d is None or abs(d) < 1e-9 for d in changes):
        return text
    show = [("-" if d is None else (f"{100 * d:+.1f}pt" if kind == "pct" else f"{d:+,.1f}")) for d in changes]
    return text + "\n" + " / ".join(show)


def _print_comparison(report):
    columns = [("req. FTE", ["required_fte"], "num"), ("paid h", ["scheduled_paid_hours"], "int"),
               ("cost", ["cost"], "int"), ("under / over h", ["under_hours", "over_hours"], "num"),
               ("SL week / worst", ["service_level", "service_level_worst"], "pct"),
               ("ASA s week / worst", ["asa_seconds", "asa_seconds_worst"], "num"),
               ("abandoned week / worst", ["abandon_rate", "abandon_rate_worst"], "pct"),
               ("occupancy week / worst", ["occupancy", "occupancy_worst"], "pct")]
    table = Table(title=f"Scenarios, {report.mode} mode, {report.days} days from {report.horizon_start} "
                        "(second line: change against the base)")
    table.add_column("scenario", min_width=16)
    for label, _, _ in columns:
        table.add_column(label, justify="right")
    table.add_column("SL simulated (CI)", justify="right")
    for r in [report.base, *report.scenarios]:
        if r.status == "failed":
            table.add_row(r.name, f"[red]failed: {r.error}[/]")
            continue
        table.add_row(r.name, *[_cell(r.metrics, r.deltas, f, k) for _, f, k in columns], _sim_sl(r.metrics))
    wide = Console(width=max(console.width, 170)) if not console.is_terminal else console
    wide.print(table)
    for r in report.scenarios:
        for note in r.notes:
            err.print(f"{r.name}: {note}", highlight=False)


site_app = typer.Typer(help="Site setups: agents, contracts, templates, rules (docs/site-setup.md).",
                        no_args_is_help=True)
app.add_typer(site_app, name="site", rich_help_panel=PLANNING)


@site_app.command("from-csv")
def site_from_csv(
    staff: Path = typer.Argument(..., help="Staff list CSV, one row per agent: id, skills (a;b), min_hours, ..."),
    base: Optional[Path] = typer.Option(None, help="Setup file (JSON/YAML) to take templates, rules, weights and "
                                                   "solver from; its agents are replaced."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Setup JSON to write (default: stdout)."),
) -> None:
    """Make the agents of a site setup from a staff list, the rest from --base."""
    from .site import setup_from_csv

    for path in (staff, base):
        if path is not None and not path.is_file():
            fail(f"{path}: no such file")
    try:
        setup = setup_from_csv(staff, base)
    except InputError as exc:
        fail(f"{staff if exc.field != 'base' else base}: {exc}")
    text = strict_json(setup, indent=1) + "\n"
    if out is None:
        sys.stdout.write(text)
        return
    out.write_text(text)
    err.print(f"{len(setup['agents'])} agents written to {out}"
              + ("" if "templates" in setup else "; add templates (and rules, weights) before rostering"),
              highlight=False)


@app.command(rich_help_panel=PLANNING)
def simulate(
    plan: Path = typer.Argument(..., help=(
        "A folder written by `wfm plan` (roster_input.json, roster.json), or a roster input JSON with --roster.")),
    roster: Optional[Path] = typer.Option(None, help="Roster JSON (default: roster.json beside the input)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help=(
        "Folder for simulation.csv (per interval) and simulation_summary.csv.")),
    replications: int = typer.Option(10, help="Seeded replications behind each confidence interval (>= 2)."),
    seed: int = typer.Option(0, help="Simulation seed: the same seed gives the same numbers."),
    confidence: float = typer.Option(0.95, help="Confidence level of the intervals."),
    history: Optional[Path] = typer.Option(None, help=(
        "Contact history (created_at, queue, handle_seconds) for --arrivals history or --handle-times history.")),
    arrivals: str = typer.Option("poisson", help=(
        "poisson (at the forecast rate) or history (replay the history's contacts; moved by whole weeks when it "
        "ends before the roster).")),
    handle_times: str = typer.Option("exponential", help=(
        "exponential (forecast AHT) or history (resampled, scaled to the forecast AHT).")),
    timezone: Optional[str] = typer.Option(None, help=(
        "Timezone for history timestamps without an offset (default: the roster's).")),
    processes: Optional[int] = typer.Option(None, help=(
        "Replications run in this many local processes (default: CPU count).")),
    workers: Optional[int] = OLD_WORKERS,
    dask: Optional[str] = typer.Option(None, help=(
        "Run replications on this Dask scheduler; default: $WFM_DASK_SCHEDULER.")),
) -> None:
    """Play a roster out contact by contact and compare the simulated SL, ASA, abandonment and
    occupancy (with confidence intervals) with what Erlang promised for it."""
    from .executor import make_executor
    from .roster.domain import Roster, RosterInput
    from .simulate import SimulationOptions, read_contacts, simulate_roster

    input_path = plan / "roster_input.json" if plan.is_dir() else plan
    roster_path = roster or input_path.parent / "roster.json"
    try:
        options = SimulationOptions(replications=replications, seed=seed, confidence=confidence, arrivals=arrivals,
                                    handle_times=handle_times)
    except ValidationError as exc:
        fail("; ".join(f"--{str(e['loc'][0]).replace('_', '-')}: {e['msg']}" for e in exc.errors()))
    try:
        data = RosterInput.model_validate_json(_read(input_path, "input"))
        shifts = Roster.model_validate_json(_read(roster_path, "roster"))
    except ValidationError as exc:
        fail("; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()[:5]))
    try:
        contacts = None
        if "history" in (arrivals, handle_times):
            if history is None:
                fail("--arrivals history and --handle-times history need --history FILE")
            contacts = read_contacts(history, timezone or data.horizon.timezone)
        with make_executor(_renamed(processes, workers, "--processes"), dask) as executor:
            result = simulate_roster(data, shifts, options, executor, contacts)
    except InputError as exc:
        fail(str(exc))
    if out is not None:
        write_csv_frame(result.intervals, out / "simulation.csv")
        write_csv_frame(result.summary, out / "simulation_summary.csv")
    table = Table(title=f"Simulation: {replications} replications, {result.contacts:,} contacts in "
                        f"{result.seconds:.1f} s ({confidence:.0%} intervals)")
    for col in ("queue", "offered", "SL Erlang", "SL simulated", "ASA Erlang", "ASA simulated", "abandonment",
                "occupancy"):
        table.add_column(col, justify="left" if col == "queue" else "right")
    for r in result.summary.to_dict("records"):
        table.add_row(r["queue"], f"{r['offered']:,.0f}", _pct(r.get("erlang_service_level")),
                      f"{_pct(r['service_level'])} ({_pct(r['service_level_low'])}-{_pct(r['service_level_high'])})",
                      _num(r.get("erlang_asa_seconds")),
                      f"{_num(r['asa_seconds'])} ({_num(r['asa_seconds_low'])}-{_num(r['asa_seconds_high'])})",
                      _pct(r["abandon_rate"]), _pct(r["occupancy"]))
    console.print(table)


@app.command(rich_help_panel=PLANNING)
def review(
    plan_dir: Path = typer.Argument(..., help="A folder written by `wfm plan` (summary.json, forecast.csv, "
                                              "requirements.csv; coverage.csv and roster_input.json with a roster)."),
    actuals: Path = typer.Option(..., help="What happened: contact history covering the plan's days (read as by "
                                           "`wfm forecast` and `wfm kpi`)."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for review_intervals.csv and "
                                                                 "review_days.csv."),
    sl: float = typer.Option(0.8, help="Service-level target for queues the plan has no target for (a plan "
                                       "without a roster)."),
    answer_seconds: float = typer.Option(20.0, help="Its threshold T in seconds."),
    timestamp_col: str = typer.Option("created_at", help="Contact timestamp column; 'date+time' joins two columns."),
    timestamp_format: Optional[str] = typer.Option(None, help="strftime format for non-ISO timestamps."),
    queue_col: str = typer.Option("queue", help="Queue column (optional in the file)."),
    handle_col: str = typer.Option("handle_seconds", help="Handle-time column in seconds (optional)."),
    wait_col: str = typer.Option("wait_seconds", help="Wait column in seconds (for the achieved service level)."),
    abandoned_col: str = typer.Option("abandoned", help="Abandoned flag column (true/false)."),
    abandoned_if: list[str] = typer.Option([], help="Abandoned where COLUMN=VALUE, e.g. outcome=HANG."),
    drop_if: list[str] = typer.Option([], help="Skip rows where COLUMN=VALUE (repeatable)."),
) -> None:
    """Plan against actuals: forecast vs actual volume and AHT (WAPE, bias), agents required vs
    rostered vs needed (the actuals staffed to the same target), promised vs achieved service
    level, per interval and per day. Definitions: wfm.review's docstring and docs/kpi.md."""
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions
    from .io import write_csv
    from .kpi import KpiColumns, KpiOptions
    from .review import review_plan

    columns = ColumnMap(timestamp=timestamp_col, queue=queue_col, handle_seconds=handle_col)
    reading = HistoryOptions(timezone="UTC", columns=columns, timestamp_format=timestamp_format,
                             drop_if=_column_values(drop_if, "--drop-if"))
    kpi_options = KpiOptions(answer_seconds=answer_seconds, abandoned_if=_column_values(abandoned_if, "--abandoned-if"),
                             columns=KpiColumns(wait_seconds=wait_col, abandoned=abandoned_col))
    try:
        result = review_plan(plan_dir, actuals, reading, kpi_options,
                             _target(service_level=sl, answer_seconds=answer_seconds))
    except InputError as exc:
        fail(str(exc))
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)
    if out is not None:
        write_csv(result.intervals, out / "review_intervals.csv")
        write_csv(result.days, out / "review_days.csv")
        err.print(f"written: {out / 'review_intervals.csv'}, {out / 'review_days.csv'}", highlight=False)
    _print_review(result.days)


@app.command(rich_help_panel=PLANNING)
def intraday(
    plan_dir: Path = typer.Argument(..., help="A folder written by `wfm plan` with a roster (roster.json, "
                                              "roster_input.json, forecast.csv, requirements.csv, summary.json)."),
    actuals: Path = typer.Option(..., help="The day's contacts so far (read as by `wfm forecast`); contacts at or "
                                           "after --now are left out."),
    now: str = typer.Option(..., help="The instant to re-plan from, site wall clock (2026-05-27T11:00) or with "
                                      "an offset; floored to its interval."),
    out: Optional[Path] = typer.Option(None, "--out", "-o", help="Folder for reforecast.csv, ratios.csv, "
                                                                 "coverage.csv, offers.csv, roster.json, "
                                                                 "summary.json."),
    time_limit: float = typer.Option(20.0, help="Seconds for the re-plan's solver."),
    seed: int = typer.Option(0, help="The solver's seed."),
    prior_contacts: float = typer.Option(50.0, help="Forecast contacts that weigh as much as the forecast itself: "
                                                    "the actuals' weight is E / (E + this), E the contacts forecast "
                                                    "so far."),
    max_weight: float = typer.Option(0.8, help="The actuals' weight never exceeds this (0-1)."),
    change_weight: int = typer.Option(20, help="Penalty per shift changed (under-coverage costs the roster's "
                                               "weights.under per agent-interval)."),
    max_offers: int = typer.Option(10, help="Offers listed per kind (overtime, voluntary time off)."),
    timestamp_col: str = typer.Option("created_at", help="Contact timestamp column; 'date+time' joins two columns."),
    timestamp_format: Optional[str] = typer.Option(None, help="strftime format for non-ISO timestamps."),
    queue_col: str = typer.Option("queue", help="Queue column (optional in the file)."),
    handle_col: str = typer.Option("handle_seconds", help="Handle-time column in seconds (optional)."),
    drop_if: list[str] = typer.Option([], help="Skip rows where COLUMN=VALUE (repeatable)."),
) -> None:
    """Intraday: reforecast the rest of the day from the actuals so far (a ratio whose weight grows
    with the evidence, bounded, with an interval), staff it again, re-plan the remaining hours with
    the fewest changes (the past fixed; breaks moved, shifts extended, cut or moved within contracts
    and rest rules; checked by the independent validator), and rank overtime and voluntary-time-off
    offers by their effect on the rest of the day's service level. Definitions: docs/intraday.md."""
    from forecasts.ingest import ColumnMap
    from forecasts.service import HistoryOptions
    from .intraday import BrokenReplan, IntradayOptions, NoReplan, run_intraday, summary_lines, write_intraday

    columns = ColumnMap(timestamp=timestamp_col, queue=queue_col, handle_seconds=handle_col)
    reading = HistoryOptions(timezone="UTC", columns=columns, timestamp_format=timestamp_format,
                             drop_if=_column_values(drop_if, "--drop-if"))
    options = IntradayOptions(prior_contacts=prior_contacts, max_weight=max_weight, time_limit_seconds=time_limit,
                              seed=seed, change_weight=change_weight, max_offers=max_offers)
    try:
        result = run_intraday(plan_dir, actuals, now, options, reading)
    except InputError as exc:
        fail(str(exc))
    except NoReplan as exc:
        err.print(f"[bold red]no result:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_NO_RESULT)
    except BrokenReplan as exc:
        err.print(f"[bold red]error:[/] {exc}", highlight=False)
        raise typer.Exit(EXIT_RULES_BROKEN)
    for note in result.notes:
        err.print(f"note: {note}", highlight=False)
    if out is not None:
        written = write_intraday(result, out)
        err.print("written: " + ", ".join(str(p) for p in written.values()), highlight=False)
    for line in summary_lines(result):
        console.print(line, highlight=False)
    if len(result.offers):
        table = Table(title="Offers (ranked per kind)")
        for col in ("rank", "kind", "agent", "action", "start", "end", "hours", "SL after", "SL change"):
            table.add_column(col, justify="left" if col in ("kind", "agent", "action", "start", "end") else "right")
        for r in result.offers.to_dict("records"):
            table.add_row(str(r["rank"]), r["kind"], r["agent"], r["action"], r["start"][11:16], r["end"][11:16],
                          f"{r['hours_change']:+g}", _pct(r["service_level_after"]),
                          f"{r['service_level_change']:+.1%}")
        console.print(table)


def _print_review(days):
    table = Table(title="Plan against actuals, per day")
    heads = [("day", "day"), ("queue", "queue"), ("forecast", "forecast_volume"), ("actual", "actual_volume"),
             ("WAPE", "volume_wape"), ("bias", "volume_bias"), ("AHT bias", "aht_bias"),
             ("req. h", "required_hours"), ("rostered h", "rostered_hours"), ("needed h", "needed_hours"),
             ("SL promised", "promised_service_level"), ("SL achieved", "achieved_service_level")]
    heads = [(label, col) for label, col in heads if col in days]
    for label, _ in heads:
        table.add_column(label, justify="left" if label in ("day", "queue") else "right")
    fmt = {"volume_wape": _pct, "volume_bias": _signed_pct, "aht_bias": _signed_pct,
           "promised_service_level": _pct, "achieved_service_level": _pct}
    for r in days.to_dict("records"):
        table.add_row(*[str(r[c]) if c in ("day", "queue") else fmt.get(c, lambda v: f"{v:,.0f}")(r[c])
                        for _, c in heads])
    (Console(width=max(console.width, 150)) if not console.is_terminal else console).print(table)


def _read(path: Path, what: str) -> str:
    try:
        return path.read_text()
    except FileNotFoundError:
        fail(f"{what}={str(path)!r}: file not found")
    except IsADirectoryError:
        fail(f"{what}={str(path)!r}: is a folder")


def main() -> None:
    try:
        app()
    except KeyboardInterrupt:
        sys.exit(130)
    except OSError as exc:  # e.g. an output path that cannot be written
        err.print(f"[bold red]error:[/] {exc.strerror or exc}: {exc.filename or ''}", highlight=False)
        sys.exit(EXIT_INPUT)
