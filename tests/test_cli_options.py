"""One meaning per option name across the commands: solver threads are --solver-threads,
local processes are --processes, HTTP processes are --http-processes; the old --workers (which
meant threads in some commands and processes in others) is hidden and still accepted with a
note on stderr."""

from __future__ import annotations

import typer.main
from typer.testing import CliRunner

from wfm.cli import app


def commands():
    for name, cmd in typer.main.get_command(app).commands.items():
        if hasattr(cmd, "commands"):  # a group: `scenario run`, `apikey create`
            for sub, subcmd in cmd.commands.items():
                yield f"{name} {sub}", subcmd
        else:
            yield name, cmd


def visible_options(cmd) -> dict[str, str]:
    return {opt: (p.help or "") for p in cmd.params if p.param_type_name == "option" and not p.hidden
            for opt in p.opts}


def test_each_option_name_has_one_meaning():
    by_name = dict(commands())
    meaning = {"--solver-threads": "threads", "--processes": "processes", "--http-processes": "HTTP"}
    users = {opt: [] for opt in meaning}
    for name, cmd in by_name.items():
        options = visible_options(cmd)
        assert "--workers" not in options, name
        for opt, word in meaning.items():
            if opt in options:
                assert word in options[opt], (name, opt)
                users[opt].append(name)
    assert sorted(users["--solver-threads"]) == ["plan", "roster"]
    assert sorted(users["--processes"]) == ["scenario run", "simulate"]
    assert users["--http-processes"] == ["serve"]


def test_the_old_spelling_still_works_with_a_note(tmp_path):
    res = CliRunner().invoke(app, ["roster", "curtois", str(tmp_path / "missing.txt"), "--workers", "1"])
    assert res.exit_code == 2
    assert "--workers is deprecated here; use --solver-threads" in res.output
    assert "missing.txt" in res.output and "file not found" in res.output
