"""`wfm --help` reads like a manual: what it is, where to start, the steps, exit codes; and
every command shares the option names the manual promises."""

import re

import typer.main
from typer.testing import CliRunner

from wfm.cli import app


def test_top_level_help_is_a_manual():
    res = CliRunner().invoke(app, ["--help"], env={"COLUMNS": "120"})
    assert res.exit_code == 0
    text = re.sub(r"\s+", " ", res.stdout)
    for phrase in ("Start here: wfm demo", "1. wfm forecast", "2. wfm staff", "3. wfm roster", "web view at",
                   "Exit codes", "0 done; 1 no result", "2 bad input", "3 a roster broke a hard rule"):
        assert phrase in text, phrase
    expected = ["demo", "forecast", "staff", "roster", "plan", "scenario", "simulate", "serve", "apikey"]
    listed = [n for n in expected if re.search(rf"│ {n}\s", res.stdout)]
    order = sorted(listed, key=lambda n: re.search(rf"│ {n}\s", res.stdout).start())
    assert order == expected


def test_shared_options_have_the_same_names_everywhere():
    group = typer.main.get_command(app)
    options = {name: {o for p in cmd.params if p.param_type_name == "option" for o in p.opts}
               for name, cmd in group.commands.items()}
    for command in ("staff", "forecast", "roster", "demo", "plan", "simulate"):
        assert {"--out", "-o"} <= options[command], command
    for command in ("staff", "forecast", "plan"):
        assert {"--interval", "--timezone"} <= options[command], command
    for command in ("roster", "demo", "plan"):
        assert {"--time-limit", "--seed"} <= options[command], command
