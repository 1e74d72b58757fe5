"""`wfm intraday`: the sample plan's Wednesday at 11:00, with the morning running over (or under)
its forecast. Actuals are made here from the plan's own forecast; rules are checked by the
independent validator and the past is compared instant by instant from the rosters alone."""

import json
import shutil
from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from wfm.cli import app
from wfm.errors import InputError
from wfm.intraday import IntradayOptions, run_intraday
from wfm.roster.domain import Roster, RosterInput
from wfm.roster.validator import validate

ROOT = Path(__file__).resolve().parents[1]
NOW = pd.Timestamp("2026-05-27T11:00:00+02:00")
DAY = NOW.date()
runner = CliRunner()


@pytest.fixture(scope="module")
def plan(tmp_path_factory):
    """The sample plan, its roster solved to a deterministic limit: the same roster on any load."""
    import yaml

    folder = tmp_path_factory.mktemp("intraday")
    config = yaml.safe_load((ROOT / "sample_data" / "plan.yaml").read_text())
    sample = ROOT / "sample_data"
    config["history"].update(file=str(sample / "tickets.csv.gz"), calendar=str(sample / "calendar.csv"))
    config["roster"]["setup"] = str(sample / "roster_setup.json")
    config["roster"]["solver"] = {"time_limit_seconds": 60, "workers": 1, "seed": 0, "deterministic_limit": 4}
    config["simulation"] = None
    (folder / "plan.yaml").write_text(yaml.safe_dump(config))
    res = runner.invoke(app, ["plan", str(folder / "plan.yaml"), "--out", str(folder / "plan")])
    assert res.exit_code == 0, res.output
    return folder / "plan"


def actuals(plan: Path, path: Path, factor: float, until: pd.Timestamp = NOW) -> Path:
    """`factor` times the forecast's contacts in every interval of the day before `until`, spread
    evenly, each handled in the forecast's AHT."""
    forecast = pd.read_csv(plan / "forecast.csv")
    rows = []
    for r in forecast.itertuples():
        start = pd.Timestamp(r.interval_start)
        if start.date() != DAY or start >= until:
            continue
        n = int(round(r.volume * factor))
        rows += [{"created_at": (start + pd.Timedelta(seconds=int(1800 * (k + 0.5) / n))).isoformat(),
                  "queue": r.queue, "handle_seconds": round(r.aht_seconds)} for k in range(n)]
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


def load(plan: Path) -> tuple[RosterInput, Roster]:
    return (RosterInput.model_validate_json((plan / "roster_input.json").read_text()),
            Roster.model_validate_json((plan / "roster.json").read_text()))


def state(roster: Roster, instant: pd.Timestamp) -> dict:
    """Per agent at an instant: off, on break, or the queue worked."""
    out = {}
    for s in roster.shifts:
        if not pd.Timestamp(s.start) <= instant < pd.Timestamp(s.end):
            continue
        if any(pd.Timestamp(b.start) <= instant < pd.Timestamp(b.end) for b in s.breaks):
            out[s.agent] = "break"
        else:
            out[s.agent] = next((g.queue for g in s.segments
                                 if pd.Timestamp(g.start) <= instant < pd.Timestamp(g.end)), "idle")
    return out


def on_queue(roster: Roster, instant: pd.Timestamp, queue: str) -> int:
    return sum(1 for s in roster.shifts for g in s.segments
               if g.queue == queue and pd.Timestamp(g.start) <= instant < pd.Timestamp(g.end))


def with_requirements(data: RosterInput, reforecast: pd.DataFrame, reference: Roster) -> RosterInput:
    """The plan's input with the reforecast's requirements, scoring changes against the plan."""
    index = {ts: i for i, ts in enumerate(data.horizon.interval_starts())}
    reqs = []
    for req in data.requirements:
        agents = list(req.agents)
        for row in reforecast[reforecast["queue"] == req.queue].itertuples():
            agents[index[pd.Timestamp(row.interval_start)]] = float(row.required_after)
        reqs.append(req.model_copy(update={"agents": agents}))
    return data.model_copy(update={"requirements": reqs, "reference": reference,
                                   "weights": data.weights.model_copy(update={"change": 20})})


def test_a_morning_twenty_percent_over_raises_the_rest_of_the_day_and_the_replan_covers_it(plan, tmp_path):
    data, before = load(plan)
    result = run_intraday(plan, actuals(plan, tmp_path / "a.csv", 1.2), "2026-05-27T11:00",
                          IntradayOptions(time_limit_seconds=30))
    rf = result.reforecast
    # the rest of the day's reforecast moves up by 10-30%, per queue and in total
    for _, g in rf.groupby("queue"):
        assert 0.10 <= g["volume"].sum() / g["forecast_volume"].sum() - 1 <= 0.30
    assert 0.10 <= rf["volume"].sum() / rf["forecast_volume"].sum() - 1 <= 0.30
    assert (pd.to_datetime(rf["interval_start"], utc=True) >= NOW).all()
    # requirements rise, never fall
    assert rf["required_after"].sum() > rf["required_before"].sum()
    assert (rf["required_after"] >= rf["required_before"]).all()
    # every hard rule holds (the validator, on the plan's own input)
    assert validate(data, result.roster).feasible
    # the past is untouched: every agent off, on break or on the same queue at every instant before now
    for instant in pd.date_range(NOW.normalize(), NOW, freq="30min", inclusive="left"):
        assert state(result.roster, instant) == state(before, instant), instant
    # shifts are only extended, cut or moved today: none added or dropped, other days as they were
    old = {(s.agent, s.day): s for s in before.shifts}
    new = {(s.agent, s.day): s for s in result.roster.shifts}
    assert set(old) == set(new)
    changed = [k for k in old if (old[k].template, old[k].start) != (new[k].template, new[k].start)]
    assert all(day == DAY for _, day in changed)
    assert changed or result.changed.get("breaks_moved"), result.summary  # something moved to add coverage
    for key in changed:  # a shift running at now keeps its start
        if pd.Timestamp(old[key].start) < NOW:
            assert new[key].start == old[key].start
    for key, s in old.items():
        if key[1] != DAY:
            assert new[key] == s
    # it adds coverage where the new requirement is short
    rest = [(pd.Timestamp(r.interval_start), r.queue, r.required_after) for r in rf.itertuples()]

    def short(roster):
        return sum(max(need - on_queue(roster, t, q), 0) for t, q, need in rest)

    assert short(result.roster) < short(before)
    # ...by the fewest changes: undoing any one change scores worse for the validator
    each_change_is_needed(data, before, result)
    assert result.summary["shifts_changed"] == len(changed)
    assert result.summary["solver_status"] == "OPTIMAL"  # the fewest changes for this coverage, proven
    assert result.summary["after"]["service_level"] > result.summary["before"]["service_level"]


def each_change_is_needed(data: RosterInput, before: Roster, result) -> int:
    """Undoing any one changed shift (back to the plan's) breaks a rule or scores worse for the
    validator against the new requirements; returns how many shifts changed."""
    old = {(s.agent, s.day): s for s in before.shifts}
    changed = [(s.agent, s.day) for s in result.roster.shifts
               if (old[s.agent, s.day].template, old[s.agent, s.day].start) != (s.template, s.start)]
    scored = with_requirements(data, result.reforecast, before)
    best = validate(scored, result.roster).objective
    for key in changed:
        undone = Roster(shifts=[old[key] if (s.agent, s.day) == key else s for s in result.roster.shifts])
        check = validate(scored, undone)
        assert not check.feasible or check.objective > best, key
    return len(changed)


def offers_keep_every_rule(data: RosterInput, roster: Roster, result) -> None:
    """Each offer, taken on its own on top of the re-plan, keeps every rule of the named agent's contract."""
    templates = {t.id: t for t in data.templates}
    agents = {a.id: a for a in data.agents}
    assert len(result.offers) == len(result.offer_shifts)
    for offer, shift in zip(result.offers.to_dict("records"), result.offer_shifts):
        agent = offer["agent"]
        mine = [s for s in roster.shifts if s.agent == agent and s.day == DAY]
        taken = [s for s in roster.shifts if not (s.agent == agent and s.day == DAY)] + ([shift] if shift else [])
        assert validate(data, Roster(shifts=taken)).feasible, offer
        hours = sum(templates[s.template].paid_minutes for s in taken if s.agent == agent) / 60
        contract = agents[agent].contract
        assert contract.min_hours <= hours <= contract.max_hours, offer
        if offer["kind"] == "overtime":
            assert offer["service_level_change"] > 0
            assert not mine or pd.Timestamp(shift.end) > pd.Timestamp(mine[0].end)
        else:
            assert shift is None or pd.Timestamp(shift.end) < pd.Timestamp(mine[0].end)
            assert pd.Timestamp(shift.start if shift else mine[0].start) >= NOW or shift is not None
    ranks = result.offers.groupby("kind")["rank"].apply(list)
    for kind, values in ranks.items():
        assert values == list(range(1, len(values) + 1)), kind


def test_overtime_goes_to_agents_whose_contracts_leave_room(plan, tmp_path):
    roomy = tmp_path / "plan"
    shutil.copytree(plan, roomy)
    raw = json.loads((roomy / "roster_input.json").read_text())
    for agent in raw["agents"]:  # a sixth day and eight more hours allowed, and no start-time band
        agent["contract"].update(max_days=6, max_hours=agent["contract"]["max_hours"] + 8)
    raw["rules"]["start_time_tolerance_minutes"] = None
    (roomy / "roster_input.json").write_text(json.dumps(raw))
    # a morning at 2.5 times the forecast: the ratio's bound (2) holds, and moves alone cannot cover it
    result = run_intraday(roomy, actuals(plan, tmp_path / "a.csv", 2.5), NOW.isoformat(),
                          IntradayOptions(time_limit_seconds=30))
    data = RosterInput.model_validate(raw)
    before = Roster.model_validate_json((roomy / "roster.json").read_text())
    assert validate(data, result.roster).feasible
    assert each_change_is_needed(data, before, result) > 0  # shifts extended or moved, each one needed
    assert (result.offers["kind"] == "overtime").any()
    offers_keep_every_rule(data, result.roster, result)
    gains = list(result.offers.loc[result.offers["kind"] == "overtime", "service_level_change"]
                 / result.offers.loc[result.offers["kind"] == "overtime", "hours_change"])
    assert gains == sorted(gains, reverse=True)


def test_a_quiet_morning_offers_time_off_where_agents_are_surplus_and_the_target_holds(plan, tmp_path):
    loose = tmp_path / "plan"
    shutil.copytree(plan, loose)
    raw = json.loads((loose / "roster_input.json").read_text())
    for agent in raw["agents"]:  # no weekly minimum: an agent may take time off
        agent["contract"].update(min_hours=0, min_days=0)
    (loose / "roster_input.json").write_text(json.dumps(raw))
    result = run_intraday(loose, actuals(plan, tmp_path / "a.csv", 0.5), NOW, IntradayOptions(time_limit_seconds=30))
    data = RosterInput.model_validate(raw)
    rf = result.reforecast
    assert rf["volume"].sum() < rf["forecast_volume"].sum()
    assert validate(data, result.roster).feasible
    vto = result.offers[result.offers["kind"] == "vto"]
    assert len(vto) and (vto["service_level_after"] >= 0.8).all() and (vto["hours_change"] < 0).all()
    assert not (result.offers["kind"] == "overtime").any()
    offers_keep_every_rule(data, result.roster, result)
    skills = {a.id: set(a.skills) for a in data.agents}

    def over(queues):
        return sum(max(on_queue(result.roster, pd.Timestamp(r.interval_start), r.queue) - r.required_after, 0)
                   for r in rf.itertuples() if r.queue in queues)

    def worked(shift):
        instants = pd.to_datetime(rf["interval_start"].unique())
        return {t for t in instants for g in (shift.segments if shift else [])
                if pd.Timestamp(g.start) <= t < pd.Timestamp(g.end)}

    for offer, shift in zip(result.offers.to_dict("records"), result.offer_shifts):
        # time off only as far as the rest of the day is over-covered on the agent's queues
        mine = next(s for s in result.roster.shifts if s.agent == offer["agent"] and s.day == DAY)
        assert len(worked(mine) - worked(shift)) <= over(skills[offer["agent"]]), offer


def test_the_weight_grows_with_the_evidence_and_stays_bounded(plan, tmp_path):
    early = run_intraday(plan, actuals(plan, tmp_path / "a.csv", 1.2, NOW - pd.Timedelta(hours=2)),
                         NOW - pd.Timedelta(hours=2), IntradayOptions(time_limit_seconds=10))
    late = run_intraday(plan, actuals(plan, tmp_path / "b.csv", 1.2, NOW + pd.Timedelta(hours=2)),
                        NOW + pd.Timedelta(hours=2), IntradayOptions(time_limit_seconds=10))
    for queue in early.ratios["queue"]:
        e, lt = (r.ratios.set_index("queue").loc[queue] for r in (early, late))
        assert lt["forecast_so_far"] > e["forecast_so_far"]
        assert 1.0 < e["multiplier"] < lt["multiplier"] < 1.2
        assert lt["weight"] <= 0.8
        assert e["multiplier_lower"] <= e["multiplier"] <= e["multiplier_upper"]
        # less evidence, wider interval
        assert e["multiplier_upper"] - e["multiplier_lower"] > 0


def test_cli_writes_the_files_and_the_before_after(plan, tmp_path):
    out = tmp_path / "out"
    res = runner.invoke(app, ["intraday", str(plan), "--actuals", str(actuals(plan, tmp_path / "a.csv", 1.2)),
                              "--now", "2026-05-27T11:00", "--out", str(out), "--time-limit", "20"])
    assert res.exit_code == 0, res.output
    assert "before: SL" in res.stdout and "after:  SL" in res.stdout
    for name in ("reforecast.csv", "ratios.csv", "coverage.csv", "offers.csv", "roster.json", "summary.json",
                 "intraday.html"):
        assert (out / name).exists(), name
    page = (out / "intraday.html").read_text()
    assert '<section id="before-after">' in page and '<section id="offers">' in page and "Plotly.newPlot" in page
    summary = json.loads((out / "summary.json").read_text())
    assert summary["feasible"] is True and summary["after"]["under_hours"] < summary["before"]["under_hours"]
    before_after = f"{summary['before']['under_hours']:.1f} h / {summary['after']['under_hours']:.1f} h"
    assert before_after in page
    coverage = pd.read_csv(out / "coverage.csv")
    assert coverage["interval_start"].str.endswith("+02:00").all()  # the site's wall clock


def test_bad_input_names_the_field(plan, tmp_path):
    history = actuals(plan, tmp_path / "a.csv", 1.2)
    with pytest.raises(InputError, match="now"):
        run_intraday(plan, history, "2026-06-10T11:00")
    with pytest.raises(InputError, match="now"):
        run_intraday(plan, history, "eleven o'clock")
    with pytest.raises(InputError, match="no contacts"):
        run_intraday(plan, history, "2026-05-28T11:00")
    bare = tmp_path / "bare"
    shutil.copytree(plan, bare)
    (bare / "roster.json").unlink()
    with pytest.raises(InputError, match="roster.json"):
        run_intraday(bare, history, "2026-05-27T11:00")
    res = runner.invoke(app, ["intraday", str(plan), "--actuals", str(history), "--now", "2026-06-10T11:00"])
    assert res.exit_code == 2 and "now" in res.stderr


def test_a_25_hour_day_is_replanned_to_its_own_midnight(tmp_path):
    """The autumn DST change (Europe/Berlin, Sunday 25 October 2026, 03:00 back to 02:00): the day
    has 25 hours and its rest from 11:00 is 13 hourly intervals, to 23:00 (24 hours after the
    day's first midnight would stop an hour short)."""
    days = pd.date_range("2026-10-24", periods=3, freq="D")
    rows = [{"interval_start": ts.isoformat(), "queue": "q", "volume": 12.0 if 8 <= ts.hour < 22 else 0.0,
             "aht_seconds": 180.0}
            for day in days for ts in pd.date_range(day.tz_localize("Europe/Berlin"),
                                                    (day + pd.Timedelta(days=1)).tz_localize("Europe/Berlin"),
                                                    freq="60min", inclusive="left")]
    pd.DataFrame(rows).to_csv(tmp_path / "forecast.csv", index=False)
    templates = [{"id": "D", "start_times": ["08:00", "10:00", "14:00"], "length_minutes": 480,
                  "breaks": [{"name": "lunch", "minutes": 60, "earliest_minutes": 180, "latest_minutes": 300,
                              "paid": False}]}]
    config = {"timezone": "Europe/Berlin", "interval_minutes": 60, "forecast": {"file": "forecast.csv", "days": 3},
              "queues": {"q": {"service_level": 0.8, "answer_seconds": 20}}, "simulation": None,
              "roster": {"templates": templates, "solver": {"time_limit_seconds": 5, "workers": 1, "seed": 0},
                         "agents": [{"id": f"a{k}", "skills": ["q"], "contract": {"min_hours": 0, "max_hours": 40}}
                                    for k in range(6)]}}
    (tmp_path / "plan.json").write_text(json.dumps(config))
    res = runner.invoke(app, ["plan", str(tmp_path / "plan.json"), "--out", str(tmp_path / "plan")])
    assert res.exit_code == 0, res.output
    contacts = [{"created_at": (pd.Timestamp("2026-10-25T08:00:00+01:00") + pd.Timedelta(minutes=4 * k)).isoformat(),
                 "queue": "q", "handle_seconds": 180} for k in range(45)]  # 15 an hour until 11:00
    pd.DataFrame(contacts).to_csv(tmp_path / "today.csv", index=False)
    result = run_intraday(tmp_path / "plan", tmp_path / "today.csv", "2026-10-25T11:00",
                          IntradayOptions(time_limit_seconds=10))
    starts = [pd.Timestamp(t).isoformat() for t in result.coverage["interval_start"]]
    assert len(starts) == 13 and starts[0] == "2026-10-25T11:00:00+01:00" and starts[-1] == "2026-10-25T23:00:00+01:00"
    assert len(result.reforecast) == 13
    data, _ = load(tmp_path / "plan")
    assert validate(data, result.roster).feasible
