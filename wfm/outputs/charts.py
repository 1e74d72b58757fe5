"""Plotly figures of a plan: forecast vs history, coverage (heat map and lines), the roster as
a Gantt chart, the solver's explanation and the scenario comparison.

Every time axis is the site's wall clock (naive local times): a chart reads like the clock on
the office wall, and a 23- or 25-hour DST day keeps its own hours.
"""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from .tables import wall_clock

SHIFT_COLOURS = ["#4c78a8", "#f58518", "#54a24b", "#b279a2", "#e45756", "#72b7b2"]
BREAK_COLOUR = "#222222"
LAYOUT = dict(template="plotly_white", margin=dict(l=60, r=20, t=40, b=40), hovermode="closest")


def _queues(frame: pd.DataFrame) -> list[str]:
    return sorted(frame["queue"].astype(str).unique())


def forecast_figure(history: pd.DataFrame, forecast: pd.DataFrame, timezone: str,
                    history_days: int = 21) -> go.Figure:
    """Per queue: the last `history_days` of actual volume, the forecast and its prediction band."""
    queues = _queues(forecast)
    fig = make_subplots(rows=len(queues), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{q}: contacts per interval" for q in queues])
    hist = history.assign(t=wall_clock(history["interval_start"], timezone).to_numpy())
    fc = forecast.assign(t=wall_clock(forecast["interval_start"], timezone).to_numpy())
    cutoff = fc["t"].min() - pd.Timedelta(days=history_days)
    for row, q in enumerate(queues, start=1):
        h = hist[(hist["queue"] == q) & (hist["t"] >= cutoff)]
        f = fc[fc["queue"] == q]
        first = row == 1
        fig.add_trace(go.Scatter(x=h["t"], y=h["volume"], name="history", line=dict(color="#888", width=1),
                                 legendgroup="history", showlegend=first), row=row, col=1)
        fig.add_trace(go.Scatter(x=f["t"], y=f["volume_upper"], line=dict(width=0), hoverinfo="skip",
                                 legendgroup="band", showlegend=False), row=row, col=1)
        fig.add_trace(go.Scatter(x=f["t"], y=f["volume_lower"], name="prediction band", fill="tonexty",
                                 fillcolor="rgba(76,120,168,0.25)", line=dict(width=0), legendgroup="band",
                                 showlegend=first), row=row, col=1)
        fig.add_trace(go.Scatter(x=f["t"], y=f["volume"], name="forecast", line=dict(color="#4c78a8", width=2),
                                 legendgroup="forecast", showlegend=first), row=row, col=1)
    fig.update_layout(**LAYOUT, height=260 * len(queues) + 60)
    return fig


def _coverage_local(coverage: pd.DataFrame, timezone: str) -> pd.DataFrame:
    t = wall_clock(coverage["interval_start"], timezone)
    return coverage.assign(t=t.to_numpy(), day=t.dt.strftime("%a %d %b").to_numpy(),
                           date=t.dt.date.to_numpy(), clock=t.dt.strftime("%H:%M").to_numpy(),
                           gap=(coverage["on_queue"] - coverage["required"]).to_numpy())


def coverage_heatmap(coverage: pd.DataFrame, timezone: str) -> go.Figure:
    """Per queue, day x time of day: on-queue minus required agents (red = short, blue = spare).
    A clock time that occurs twice (the 25-hour DST day) shows its worse interval."""
    cov = _coverage_local(coverage, timezone)
    queues = _queues(cov)
    fig = make_subplots(rows=len(queues), cols=1, vertical_spacing=0.3 / len(queues),
                        subplot_titles=[f"{q}: on-queue minus required agents" for q in queues])
    days = cov.drop_duplicates("date").sort_values("date")["day"].tolist()
    # Only the clock times something happens at (needed or scheduled), so open hours fill the width.
    busy = cov[(cov["required"] > 0) | (cov["on_queue"] > 0)]
    clocks = sorted((busy if len(busy) else cov)["clock"].unique())
    limit = max(float(cov["gap"].abs().max()), 1.0)
    for row, q in enumerate(queues, start=1):
        part = cov[cov["queue"] == q]
        grid = lambda col, how: part.pivot_table(index="day", columns="clock", values=col, aggfunc=how  # noqa: E731
                                                 ).reindex(index=days, columns=clocks)
        gap, req, have = grid("gap", "min"), grid("required", "max"), grid("on_queue", "min")
        layers = [req.stack(future_stack=True), have.stack(future_stack=True)]
        hover = "%{y} %{x}<br>required %{customdata[0]}<br>on queue %{customdata[1]}<br>gap %{z}"
        if "service_text" in part:  # the projected SL/ASA in words (a repeated clock time shows its first)
            layers.append(grid("service_text", "first").stack(future_stack=True))
            hover += "<br>%{customdata[2]}"
        custom = pd.concat(layers, axis=1).to_numpy()
        fig.add_trace(go.Heatmap(
            z=gap.to_numpy(), x=clocks, y=days, zmid=0, zmin=-limit, zmax=limit, colorscale="RdBu",
            customdata=custom.reshape(len(days), len(clocks), len(layers)), showscale=row == 1,
            colorbar=dict(title="agents", len=0.5),
            hovertemplate=hover + "<extra>" + q + "</extra>"), row=row, col=1)
        fig.update_yaxes(autorange="reversed", row=row, col=1)
    fig.update_xaxes(tickangle=-60)
    fig.update_layout(**LAYOUT, height=270 * len(queues) + 60)
    return fig


def coverage_lines(coverage: pd.DataFrame, timezone: str) -> go.Figure:
    """Per queue over the week: required vs on-queue agents (and agents on shift, breaks included)."""
    cov = _coverage_local(coverage, timezone)
    queues = _queues(cov)
    fig = make_subplots(rows=len(queues), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{q}: agents per interval" for q in queues])
    series = [("required", "required", dict(color="#e45756", width=2)),
              ("on_queue", "on queue", dict(color="#4c78a8", width=2)),
              ("scheduled", "on shift (breaks included)", dict(color="#9ecae9", width=1, dash="dot"))]
    for row, q in enumerate(queues, start=1):
        part = cov[cov["queue"] == q]
        for col, name, line in series:
            if col in part:
                fig.add_trace(go.Scatter(x=part["t"], y=part[col], name=name, line=dict(shape="hv", **line),
                                         legendgroup=col, showlegend=row == 1), row=row, col=1)
    fig.update_layout(**LAYOUT, height=250 * len(queues) + 60)
    return fig


def gantt_figure(timeline: pd.DataFrame, agents: list[str] | None = None) -> go.Figure:
    """The roster: one row per agent, a bar per shift (coloured by template) with its breaks
    drawn inside it in black."""
    agents = agents or sorted(timeline["agent"].unique())
    fig = go.Figure()
    shifts = timeline[timeline["kind"] == "shift"]
    breaks = timeline[timeline["kind"] != "shift"]
    for i, (template, part) in enumerate(shifts.groupby("template", sort=True)):
        fig.add_trace(_bars(part, f"shift: {template}", SHIFT_COLOURS[i % len(SHIFT_COLOURS)], 0.8))
    if len(breaks):
        fig.add_trace(_bars(breaks, "breaks", BREAK_COLOUR, 0.45))
    fig.update_yaxes(categoryorder="array", categoryarray=list(reversed(agents)), type="category")
    if len(timeline):
        ticks, labels = hour_ticks(timeline["start"].min(), timeline["end"].max())
        # Explicit ticks: a printout shows the hours of each day, not only the dates.
        fig.update_xaxes(type="date", tickmode="array", tickvals=ticks, ticktext=labels, showgrid=True,
                         gridcolor="#d0d0d0", range=[ticks[0], ticks[-1]], tickfont=dict(size=10),
                         minor=dict(dtick=3600 * 1000, showgrid=True, gridcolor="#f0f0f0"), mirror="ticks",
                         ticks="outside", title_text="site time (every 6 hours; day names at midnight)")
    fig.update_layout(**{**LAYOUT, "hovermode": "closest"}, barmode="overlay", height=22 * len(agents) + 140,
                      legend=dict(orientation="h", y=1.02, yanchor="bottom"))
    return fig


def hour_ticks(first, last, every_hours: int = 6) -> tuple[list[pd.Timestamp], list[str]]:
    """Wall-clock ticks every `every_hours` from the midnight before `first` to the one after
    `last`: '06:00' within a day and 'Mon 02 Mar' at each midnight."""
    start = pd.Timestamp(first).floor("D")
    end = pd.Timestamp(last).ceil("D")
    end = end if end > start else start + pd.Timedelta(days=1)
    ticks = list(pd.date_range(start, end, freq=f"{every_hours}h"))
    labels = [t.strftime("%a %d %b") if t.hour == 0 and t.minute == 0 else t.strftime("%H:%M") for t in ticks]
    return ticks, labels


def _bars(part: pd.DataFrame, name: str, colour: str, width: float) -> go.Bar:
    duration_ms = (part["end"] - part["start"]).dt.total_seconds() * 1000
    label = part["kind"].where(part["kind"] != "shift", part["template"])
    text = (part["agent"] + " " + label + " " + part["start"].dt.strftime("%a %H:%M") + "-"
            + part["end"].dt.strftime("%H:%M"))
    return go.Bar(y=part["agent"], base=part["start"], x=duration_ms, orientation="h", name=name,
                  marker=dict(color=colour), width=width, hovertext=text, hoverinfo="text")


def explanation_figure(explanation: list[dict]) -> go.Figure:
    """Penalty per rule of the objective, largest at the top."""
    rows = sorted(explanation, key=lambda r: r["penalty"])
    fig = go.Figure(go.Bar(x=[r["penalty"] for r in rows], y=[r["rule"] for r in rows], orientation="h",
                           marker=dict(color="#4c78a8"),
                           hovertext=[r.get("mostly") or "" for r in rows]))
    fig.update_layout(**LAYOUT, height=40 * len(rows) + 120, xaxis_title="penalty (objective units)")
    return fig


def scenario_figure(table: pd.DataFrame) -> go.Figure:
    """Required FTE and projected service level per scenario (the base first)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=["required FTE", "projected SL with the roster in force"])
    fig.add_trace(go.Bar(x=table["scenario"], y=table["required_fte"], name="required FTE",
                         marker=dict(color="#4c78a8")), row=1, col=1)
    fig.add_trace(go.Bar(x=table["scenario"], y=table["service_level"], name="projected SL",
                         marker=dict(color="#54a24b")), row=1, col=2)
    fig.update_yaxes(tickformat=".0%", row=1, col=2)
    fig.update_layout(**LAYOUT, height=380, showlegend=False)
    return fig


def intraday_figure(coverage: pd.DataFrame, timezone: str) -> go.Figure:
    """Per queue over the rest of the day: the new requirement against the agents on queue before
    and after the intraday re-plan."""
    cov = _coverage_local(coverage.assign(on_queue=coverage["on_queue_after"]), timezone)
    queues = _queues(cov)
    fig = make_subplots(rows=len(queues), cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=[f"{q}: agents per interval, rest of the day" for q in queues])
    series = [("required", "required (reforecast)", dict(color="#e45756", width=2)),
              ("on_queue_before", "on queue before", dict(color="#9ecae9", width=2, dash="dot")),
              ("on_queue_after", "on queue after the re-plan", dict(color="#4c78a8", width=2))]
    for row, q in enumerate(queues, start=1):
        part = cov[cov["queue"] == q]
        for col, name, line in series:
            fig.add_trace(go.Scatter(x=part["t"], y=part[col], name=name, line=dict(shape="hv", **line),
                                     legendgroup=col, showlegend=row == 1), row=row, col=1)
    fig.update_layout(**LAYOUT, height=250 * len(queues) + 60)
    return fig
