"""wfm.site and `wfm site from-csv`: a staff list CSV made into a site setup's agents, with every
bad cell named by its line and column."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from typer.testing import CliRunner

from wfm.cli import app
from wfm.errors import InputError
from wfm.roster.domain import Agent
from wfm.site import agents_from_csv, setup_from_csv

ROOT = Path(__file__).resolve().parents[1]
SAMPLE_SETUP = ROOT / "sample_data" / "roster_setup.json"


def write(tmp_path: Path, text: str, name: str = "staff.csv") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_a_staff_list_becomes_agents_with_their_contracts(tmp_path):
    staff = write(tmp_path, "id,skills,min_hours,max_hours,max_days,cost_per_hour,unavailable_days,template_caps\n"
                            "ana,billing,32,40,5,24,2026-05-27..2026-05-29,\n"
                            "ben, billing ; tech ,12,20,,20,2026-06-01,part=3\n")
    ana, ben = agents_from_csv(staff)
    assert ana == Agent(id="ana", skills=["billing"], cost_per_hour=24,
                        contract={"min_hours": 32, "max_hours": 40, "max_days": 5},
                        unavailable_days=["2026-05-27", "2026-05-28", "2026-05-29"])
    assert ben.skills == ["billing", "tech"] and ben.contract.template_caps == {"part": 3}
    assert ben.contract.max_days == 5  # an empty cell keeps the default


def test_the_setup_takes_templates_rules_and_weights_from_the_base(tmp_path):
    staff = write(tmp_path, "id,skills\nana,billing\n")
    setup = setup_from_csv(staff, SAMPLE_SETUP)
    base = json.loads(SAMPLE_SETUP.read_text())
    assert setup["agents"] == [{"id": "ana", "skills": ["billing"]}]
    assert {k: setup[k] for k in ("templates", "rules", "weights", "solver")} == \
        {k: base[k] for k in ("templates", "rules", "weights", "solver")}


@pytest.mark.parametrize("text, line, column", [
    ("id,skills,max_hours\nana,billing,40\nben,billing,forty\n", 3, "max_hours"),
    ("id,skills\nana,billing\nana,tech\n", 3, "id"),
    ("id,skills\nana,\n", 2, "skills"),
    ("id,skills,min_hours,max_hours\nana,billing,30,20\n", 2, "min_hours"),
    ("id,skills,unavailable_days\nana,billing,2026-13-01\n", 2, "unavailable_days"),
    ("id,skills,unavailable_days\nana,billing,2026-06-03..2026-06-01\n", 2, "unavailable_days"),
    ("id,skills,template_caps\nana,billing,late\n", 2, "template_caps"),
    ("id,skills,max_days\nana,billing,9\n", 2, "max_days"),
    ("id,skills,max_days\nana,billing,4.5\n", 2, "max_days"),
    ("id,skills,cost_per_hour\nana,billing,inf\n", 2, "cost_per_hour"),
    ("id,skills,template_caps\nana,billing,late=two\n", 2, "template_caps"),
    ("id,skils\nana,billing\n", 1, "header"),
    ("id,min_hours\nana,10\n", 1, "header"),
    ("id,skills\nana,billing,extra\n", 2, "row"),
])
def test_a_bad_cell_is_named_by_line_and_column(tmp_path, text, line, column):
    with pytest.raises(InputError) as exc:
        agents_from_csv(write(tmp_path, text))
    assert (exc.value.line, exc.value.field) == (line, column)


def test_a_cap_on_a_template_the_base_lacks_is_an_error_naming_it(tmp_path):
    staff = write(tmp_path, "id,skills,template_caps\nana,billing,full=2\nben,billing,late=2\n")
    with pytest.raises(InputError, match="no template 'late'") as exc:
        setup_from_csv(staff, SAMPLE_SETUP)
    assert (exc.value.line, exc.value.field) == (3, "template_caps")


def test_an_excel_workbook_saved_as_csv_gets_a_plain_message(tmp_path):
    staff = tmp_path / "staff.csv"
    staff.write_bytes(b"PK\x03\x04" + bytes(100))
    with pytest.raises(InputError, match="Excel workbook: save it as CSV"):
        agents_from_csv(staff)


names = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789-_", min_size=1, max_size=12)
contracts = st.fixed_dictionaries({"min_hours": st.integers(0, 20), "max_hours": st.integers(20, 60),
                                   "min_days": st.integers(0, 3), "max_days": st.integers(3, 7)})


@given(st.lists(st.tuples(names, st.lists(names, min_size=1, max_size=3, unique=True), contracts,
                          st.integers(0, 60)), min_size=1, max_size=8, unique_by=lambda row: row[0]))
def test_any_staff_list_reads_back_as_the_agents_it_was_written_from(tmp_path_factory, rows):
    path = tmp_path_factory.mktemp("prop") / "staff.csv"
    with path.open("w", newline="") as f:
        out = csv.writer(f)
        hours_and_days = ("min_hours", "max_hours", "min_days", "max_days")
        out.writerow(["id", "skills", *hours_and_days, "cost_per_hour"])
        for agent_id, skills, c, cost in rows:
            out.writerow([agent_id, ";".join(skills), *(c[k] for k in hours_and_days), cost])
    expected = [Agent(id=a, skills=s, contract=c, cost_per_hour=cost) for a, s, c, cost in rows]
    assert agents_from_csv(path) == expected


def test_cli_writes_the_setup_to_out(tmp_path):
    staff = write(tmp_path, "id,skills,min_hours,max_hours\nana,billing,0,40\n")
    out = tmp_path / "setup.json"
    result = CliRunner().invoke(app, ["site", "from-csv", str(staff), "--base", str(SAMPLE_SETUP), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["agents"] == [{"id": "ana", "skills": ["billing"],
                                                      "contract": {"min_hours": 0.0, "max_hours": 40.0}}]


def test_cli_prints_only_the_json_without_out_and_names_the_line_on_error(tmp_path):
    good = CliRunner().invoke(app, ["site", "from-csv", str(write(tmp_path, "id,skills\nana,billing\n"))])
    assert good.exit_code == 0 and json.loads(good.stdout) == {"agents": [{"id": "ana", "skills": ["billing"]}]}
    bad = CliRunner().invoke(app, ["site", "from-csv", str(write(tmp_path, "id,skills,max_days\nana,billing,x\n"))])
    assert bad.exit_code == 2 and "line 2, max_days='x'" in bad.output
