"""report.html: one self-contained file (Plotly's JavaScript inlined, no network at view time)
with the week's plan: summary, forecast vs history, required vs scheduled agents, the roster
as a Gantt chart, KPIs per day, the solver's explanation and the scenario comparison."""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path

import pandas as pd
import plotly.io as pio
from plotly.offline import get_plotlyjs

from . import charts
from .headline import changeable_text, headline_rows, week_headline
from .tables import accuracy_table, daily_kpis

# (id, heading): every report has these sections, in this order (tests check each one).
SECTIONS = [("summary", "Summary"), ("forecast", "Forecast vs history"),
            ("coverage", "Required vs scheduled agents"), ("roster", "Roster"),
            ("daily-kpis", "KPIs per day"), ("review", "Plan vs actual"),
            ("explanation", "Why the roster looks like this"),
            ("scenarios", "Scenarios")]


@dataclass
class ReportInput:
    first_day: date
    timezone: str
    interval_minutes: int
    history: pd.DataFrame                   # interval_start, queue, volume (aggregated history)
    forecast: pd.DataFrame                  # interval_start, queue, volume, volume_lower, volume_upper
    scores: pd.DataFrame                    # backtest table
    chosen: dict[str, str]                  # queue -> model
    requirements: pd.DataFrame              # staffing output
    coverage: pd.DataFrame | None = None    # roster coverage with service_level and volume
    shifts: pd.DataFrame | None = None      # roster CSV rows
    timeline: pd.DataFrame | None = None    # shifts and breaks (tables.timeline_frame)
    agents: list[str] = field(default_factory=list)
    solve: dict = field(default_factory=dict)  # status, gap, seconds, feasible, violations, reason
    explanation: list[dict] = field(default_factory=list)
    scenarios: pd.DataFrame | None = None   # whatif.compare_whatifs (or the scenario runner's table)
    scenario_note: str = ""
    targets: dict | None = None             # queue -> ServiceTarget: ASA and the worst interval in words
    fte_hours: float = 40.0
    review: pd.DataFrame | None = None      # wfm.review's days table: the plan against what happened
    review_note: str = ""


def write_report(data: ReportInput, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render_report(data), encoding="utf-8")
    return path


def render_report(data: ReportInput) -> str:
    body = {"summary": _summary(data), "forecast": _forecast(data), "coverage": _coverage(data),
            "roster": _roster(data), "daily-kpis": _daily(data), "review": _review(data),
            "explanation": _explanation(data), "scenarios": _scenarios(data)}
    nav = " · ".join(f'<a href="#{key}">{html.escape(title)}</a>' for key, title in SECTIONS)
    sections = "\n".join(f'<section id="{key}"><h2>{html.escape(title)}</h2>\n{body[key]}\n</section>'
                         for key, title in SECTIONS)
    title = f"wfm plan: the week from {data.first_day:%A %d %B %Y}"
    return _page(title, f"{html.escape(data.timezone)}, {data.interval_minutes}-minute intervals", sections,
                 f"<nav>{nav}</nav>")


def _page(title: str, where: str, body: str, nav: str = "") -> str:
    """One self-contained HTML page (styles and Plotly inline), as every report of wfm is."""
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{html.escape(title)}</title>
<style>{CSS}</style>
<script type="text/javascript">{get_plotlyjs()}</script>
</head><body>
<header><h1>{html.escape(title)}</h1>
<p class="meta">Site time zone {where}.
Generated {datetime.now():%Y-%m-%d %H:%M} by wfm. Every time shown is the site's local time.</p>
{nav}</header>
<main>
{body}
</main></body></html>
"""


def _figure(fig) -> str:
    return pio.to_html(fig, full_html=False, include_plotlyjs=False,
                       config={"displaylogo": False, "responsive": True})


def _fmt(value, kind: str) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "-"
    if kind == "pct":
        return f"{100 * value:.1f}%"
    if kind == "dpct":
        return f"{100 * value:+.1f} pt"
    if kind == "int":
        return f"{value:,.0f}"
    if kind == "num":
        return f"{value:,.1f}"
    if kind == "dnum":
        return f"{value:+,.1f}"
    return html.escape(str(value))


def _table(frame: pd.DataFrame, columns: list[tuple[str, str, str]], cls: str = "") -> str:
    """columns: (frame column, heading, format kind)."""
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in columns)
    rows = []
    for r in frame.to_dict("records"):
        cells = "".join(f'<td class="{k}">{_fmt(r.get(c), k)}</td>' for c, _, k in columns)
        rows.append(f"<tr>{cells}</tr>")
    return f'<table class="{cls}"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _card(label: str, value: str, note: str = "") -> str:
    return (f'<div class="card"><div class="label">{html.escape(label)}</div>'
            f'<div class="value">{html.escape(value)}</div><div class="note">{html.escape(note)}</div></div>')


def summary_headline(data: ReportInput) -> dict:
    paid = None if data.shifts is None else float(data.shifts["paid_hours"].sum())
    return week_headline(data.requirements, data.coverage, paid, data.interval_minutes, data.fte_hours,
                         data.targets, data.timezone, data.solve if data.shifts is not None else None)


def _summary(data: ReportInput) -> str:
    head = summary_headline(data)
    acc = accuracy_table(data.scores, data.chosen)
    s = data.solve
    if data.shifts is not None:
        validator = "validator: all rules hold" if s.get("feasible") else "validator: VIOLATIONS"
        roster_note = f"{len(data.shifts)} shifts; {validator}" + (" (see note 1)" if head["solver"] else "")
    else:
        roster_note = f"no roster: {s.get('reason', '')}"
    cards = "".join([_card(label, value, note) for label, value, note in headline_rows(head)]
                    + [_card("roster", str(s.get("status", "none")), roster_note)])
    footnote = (f'<p class="footnote">1. {html.escape(head["solver"])}</p>' if head["solver"] else "")
    accuracy = _table(acc, [("queue", "queue", "text"), ("model", "model chosen", "text"),
                            ("wape", "WAPE (backtest)", "pct"), ("seasonal_naive_wape", "seasonal naive WAPE", "pct"),
                            ("band_coverage", "band coverage", "pct")])
    return (f'<div class="cards">{cards}</div>\n{footnote}<h3>Forecast accuracy</h3>\n'
            f"<p>Rolling-origin backtest over the last weeks of history; WAPE = absolute errors / contacts. "
            f"Band coverage: how often actual volume fell inside the prediction band.</p>{accuracy}")


def _forecast(data: ReportInput) -> str:
    return ("<p>Contacts per interval: the last three weeks of history (grey), the forecast (blue) and its "
            "prediction band (shaded). Plan to the band's upper edge to be safe on a busy week.</p>"
            + _figure(charts.forecast_figure(data.history, data.forecast, data.timezone)))


def _coverage(data: ReportInput) -> str:
    if data.coverage is None:
        return "<p>No roster, so nothing is scheduled yet.</p>"
    return ("<p>Heat map: on-queue agents minus the agents needed, by day and time of day. Red is short "
            "(service suffers), blue is spare. Hover for the projected SL and ASA of each interval.</p>"
            + _figure(charts.coverage_heatmap(with_service_text(data), data.timezone))
            + "<p>The same over the week: agents needed (red), on queue (blue) and on shift including "
              "breaks (dotted).</p>"
            + _figure(charts.coverage_lines(data.coverage, data.timezone)))


def with_service_text(data: ReportInput) -> pd.DataFrame:
    """The roster's coverage with each interval's projected service in words ('SL 85%, ASA 12 s',
    'unstaffed', 'no contacts'), for the heat map's hover."""
    if not data.targets:
        return data.coverage
    from .headline import interval_service, service_text

    service = interval_service(data.requirements, data.interval_minutes, data.targets, data.coverage)
    texts = [service_text(r) for r in service.to_dict("records")]
    keyed = pd.DataFrame({"queue": service["queue"].to_numpy(), "service_text": texts,
                          "key": pd.to_datetime(service["interval_start"], utc=True, format="ISO8601").to_numpy()})
    cov = data.coverage.assign(key=pd.to_datetime(data.coverage["interval_start"], utc=True,
                                                  format="ISO8601").to_numpy())
    merged = cov.merge(keyed, on=["queue", "key"], how="left").drop(columns=["key"])
    return merged.assign(service_text=merged["service_text"].fillna("-"))


def _roster(data: ReportInput) -> str:
    if data.timeline is None:
        return f"<p>No roster: {html.escape(str(data.solve.get('reason', '')))}</p>"
    return (f"<p>{len(data.shifts)} shifts for {len(data.agents)} agents. Bars are shifts, coloured by shift "
            "template; the black marks inside them are breaks and lunches. Hover for times; drag to zoom.</p>"
            + _figure(charts.gantt_figure(data.timeline, data.agents)))


def _daily(data: ReportInput) -> str:
    if data.coverage is None:
        return "<p>No roster, so no KPIs per day.</p>"
    kpis = daily_kpis(data.coverage, data.shifts, data.interval_minutes, data.timezone)
    columns = [("day", "day", "text"), ("contacts", "contacts", "int"),
               ("required_hours", "agent-hours needed", "num"), ("on_queue_hours", "on-queue hours", "num"),
               ("under_hours", "under-coverage h", "num"), ("over_hours", "over-coverage h", "num"),
               ("service_level", "projected SL", "pct"), ("shifts", "shifts", "int"),
               ("paid_hours", "paid hours", "num")]
    if data.targets:
        kpis["worst"] = daily_worst(data)
        columns.append(("worst", "worst interval (SL, ASA)", "text"))
    return _table(kpis, columns, cls="kpis")


REVIEW_COLUMNS = [
    ("day", "day", "text"), ("queue", "queue", "text"), ("forecast_volume", "forecast", "int"),
    ("actual_volume", "actual", "int"), ("volume_wape", "WAPE", "pct"), ("volume_bias", "bias", "dpct"),
    ("aht_bias", "AHT bias", "dpct"), ("required_hours", "required h", "num"), ("rostered_hours", "rostered h", "num"),
    ("needed_hours", "needed h", "num"), ("promised_service_level", "SL promised", "pct"),
    ("achieved_service_level", "SL achieved", "pct")]


def _review(data: ReportInput) -> str:
    if data.review is None or data.review.empty:
        return ("<p>No actuals reviewed yet. Once the week has happened, <code>wfm review PLAN_DIR --actuals "
                "HISTORY</code> compares this plan with it (docs/kpi.md).</p>")
    intro = ("<p>Per day and queue: forecast against actual contacts (WAPE over the day's intervals; bias = "
             "(forecast - actual) / actual), agent-hours required by the plan, rostered, and needed to serve "
             "the actual contacts at the same target, and the service level promised against the one achieved "
             "(answered within the target / offered).</p>")
    note = f"<p>{html.escape(data.review_note)}</p>" if data.review_note else ""
    columns = [c for c in REVIEW_COLUMNS if c[0] in data.review]
    return intro + note + _table(data.review.assign(day=data.review["day"].astype(str)), columns, cls="review")


def daily_worst(data: ReportInput) -> list[str]:
    """Per local day and for the week: the worst interval in words (daily_kpis' rows, in order)."""
    from .headline import interval_service, worst_interval
    from .tables import local

    service = interval_service(data.requirements, data.interval_minutes, data.targets, data.coverage)
    days = local(service["interval_start"], data.timezone).dt.date.to_numpy()
    texts = []
    for day in sorted(set(days)):
        worst = worst_interval(service[days == day], data.timezone)
        texts.append("-" if worst is None else worst["text"])
    worst = worst_interval(service, data.timezone)
    return texts + ["-" if worst is None else worst["text"]]


def _explanation(data: ReportInput) -> str:
    if not data.explanation:
        return "<p>No roster, so nothing to explain.</p>"
    s = data.solve
    intro = (f"<p>The solver minimises a weighted sum of penalties, one per rule; the independent validator "
             f"recomputed each one. Solver status {html.escape(str(s.get('status')))}, optimality gap "
             f"{_fmt(s.get('gap'), 'pct')}{html.escape(changeable_text(s))} "
             f"after {_fmt(s.get('seconds'), 'num')} s.</p>")
    table = _table(pd.DataFrame(data.explanation), [("rule", "rule", "text"), ("penalty", "penalty", "int"),
                                                   ("mostly", "mostly for", "text")])
    return intro + _figure(charts.explanation_figure(data.explanation)) + table


NEEDS_ROSTER = "needs roster mode"
SCENARIO_COLUMNS = [
    ("scenario", "scenario", "text"), ("contacts", "contacts", "int"), ("required_fte", "FTE needed", "num"),
    ("required_fte_delta", "vs base", "dnum"), ("service_level", "projected SL", "pct"),
    ("service_level_delta", "vs base", "dpct"), ("under_hours", "under-coverage h", "num"),
    ("under_hours_delta", "vs base", "dnum")]


def needs_roster_mode(row: dict) -> str:
    """The roster changes a requirements-mode scenario did not apply ('' when none)."""
    value = row.get("needs_roster_mode")
    return value if isinstance(value, str) else ""


def scenario_cell(row: dict, column: str, kind: str) -> str:
    """A change the scenario's run could not show (it needs a new roster) reads 'needs roster
    mode', never '+0.0'."""
    value = row.get(column)
    unchanged = value is None or (isinstance(value, float) and (not math.isfinite(value) or abs(value) < 1e-9))
    if column.endswith("_delta") and needs_roster_mode(row) and (unchanged or value == 0):
        return NEEDS_ROSTER
    return ("-" if value is None else str(value)) if kind == "text" else _fmt(value, kind)


def _scenarios(data: ReportInput) -> str:
    if data.scenarios is None or data.scenarios.empty:
        return "<p>No scenarios were run.</p>"
    head = "".join(f"<th>{html.escape(h)}</th>" for _, h, _ in SCENARIO_COLUMNS) + "<th>note</th>"
    rows = []
    for r in data.scenarios.to_dict("records"):
        cells = "".join(f'<td class="{k}">{html.escape(scenario_cell(r, c, k))}</td>' for c, _, k in SCENARIO_COLUMNS)
        pending = needs_roster_mode(r)
        note = f"{pending}: {NEEDS_ROSTER} (wfm scenario run --mode roster)" if pending else ""
        rows.append(f'<tr>{cells}<td class="text">{html.escape(note)}</td></tr>')
    table = f'<table class="scenarios"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'
    return (f"<p>{html.escape(data.scenario_note)}</p>" + table
            + _figure(charts.scenario_figure(data.scenarios)))


CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0;color:#222;background:#fafafa}
header{background:#1f3b57;color:#fff;padding:16px 28px}header h1{margin:0 0 4px;font-size:1.5em}
header .meta{margin:0 0 8px;opacity:.85;font-size:.9em}nav a{color:#cfe3f7;margin-right:4px}
main{padding:8px 28px 40px;max-width:1400px}section{background:#fff;border:1px solid #e3e3e3;border-radius:6px;
padding:12px 20px;margin:18px 0}h2{margin-top:4px;color:#1f3b57}
.cards{display:flex;flex-wrap:wrap;gap:12px}.card{border:1px solid #dde5ee;border-radius:6px;padding:10px 14px;
min-width:170px;background:#f5f8fb}.card .label{font-size:.8em;color:#555}.card .value{font-size:1.6em;font-weight:600}
.card .note{font-size:.75em;color:#777;max-width:260px}.footnote{font-size:.8em;color:#666}
table{border-collapse:collapse;margin:8px 0;font-size:.9em}
th,td{border-bottom:1px solid #e6e6e6;padding:4px 10px;text-align:right}
th{background:#f0f3f6}td.text,th:first-child{text-align:left}
"""


# --- the intraday page (wfm intraday --out): before and after the re-plan ---------------------

OFFER_COLUMNS = [("rank", "rank", "int"), ("kind", "kind", "text"), ("agent", "agent", "text"),
                 ("action", "action", "text"), ("start_local", "start", "text"), ("end_local", "end", "text"),
                 ("hours_change", "paid hours", "dnum"), ("service_level_after", "SL after", "pct"),
                 ("service_level_change", "SL change", "dpct")]


def render_intraday(summary: dict, coverage: pd.DataFrame, offers: pd.DataFrame, timezone: str) -> str:
    """intraday.html: the rest of the day before and after the re-plan (cards, the requirement
    against agents on queue, the changes) and the ranked offers; self-contained like report.html."""
    before, after = summary["before"], summary["after"]
    cards = "".join([
        _card("rest-of-day contacts (reforecast)", _fmt(summary["forecast_rest_of_day"], "int"),
              ", ".join(f"{q} x{m:.2f}" for q, m in summary["multipliers"].items())),
        _card("projected SL before / after", f"{_fmt(before['service_level'], 'pct')} / "
              f"{_fmt(after['service_level'], 'pct')}", "Erlang, contact-weighted, rest of the day"),
        _card("under-coverage before / after", f"{before['under_hours']:.1f} h / {after['under_hours']:.1f} h",
              "on-queue agent-hours below the new requirement"),
        _card("changes", f"{summary['shifts_changed']} shifts, {summary['breaks_moved']} breaks",
              "shifts extended, cut or moved; breaks moved only (every rule checked by the validator)")])
    changed = "; ".join(f"{kind}: {', '.join(who)}" for kind, who in summary.get("changes", {}).items())
    table = offers.assign(start_local=offers["start"].str[11:16], end_local=offers["end"].str[11:16])
    title = f"wfm intraday: {summary['day']} from {summary['now'][11:16]}"
    body = (f'<section id="before-after"><h2>Before and after the re-plan</h2><div class="cards">{cards}</div>'
            f"<p>{html.escape(changed) or 'No shift changed.'}</p>"
            + _figure(charts.intraday_figure(coverage, timezone)) + "</section>"
            + '<section id="offers"><h2>Offers</h2><p>Overtime (ranked by service level gained per paid hour) '
              "and voluntary time off (by the least service given up per hour saved), each checked against the "
              "agent's contract and every rule; the service level is the rest of the day's with that offer "
              "alone taken.</p>"
            + (_table(table, OFFER_COLUMNS, cls="offers") if len(offers) else "<p>No offer: nobody can legally "
               "take overtime where the day is short, or time off where it is over-covered.</p>") + "</section>")
    return _page(title, html.escape(timezone), body)
