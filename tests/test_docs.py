"""The README and docs/ stay true: the README is short and names the two commands, every link
resolves, every `wfm` command shown parses against today's CLI, the cheap ones run for real with
the output shown, and every server setting is documented. (docs/api.md: test_docs_api.py.)"""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from api.settings import Settings
from doc_examples import ROOT, examples
from wfm.cli import app

README = ROOT / "README.md"
PAGES = [README, *sorted((ROOT / "docs").glob("*.md")), ROOT / "bench" / "RESULTS.md"]
WFM = str(Path(sys.executable).parent / "wfm")
# Shown commands cheap enough to run in a test, in the order they are shown (later ones use
# earlier ones' files); the rest are parsed only.
RUN = ("wfm staff", "wfm forecast sample_data", "wfm roster docs/examples", "wfm site from-csv")


def shown_commands(page: Path):
    return [e for e in examples(page) if e.command.startswith("wfm ")]


def test_readme_is_short_and_names_the_two_commands():
    text = README.read_text()
    assert len(text.splitlines()) <= 300
    assert "make demo" in text and "make test" in text


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_relative_link_resolves(page):
    for target in re.findall(r"\]\(([^)#]+)(?:#[^)]*)?\)", page.read_text()):
        if not re.match(r"[a-z]+:", target):
            assert (page.parent / target).exists(), f"{page.name} links to {target}, which does not exist"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_examples_hold_no_placeholders(page):
    for example in examples(page):
        assert "..." not in example.command + example.output, f"{page.name} line {example.line}"


def parse_error(args: list[str]) -> str | None:
    """The CLI's complaint about these arguments, or None. `--help` is eager: the CLI parses every
    option given (an unknown one is an error) and then only prints the help, running nothing."""
    result = CliRunner().invoke(app, [*args, "--help"])
    return None if result.exit_code == 0 else result.output


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_every_wfm_command_shown_parses(page):
    for example in shown_commands(page):
        args = shlex.split(example.command.replace("\\\n", " "), comments=True)[1:]
        error = parse_error(args)
        assert error is None, f"{page.name} line {example.line}: `{example.command}`: {error}"


def test_the_parse_check_catches_an_unknown_option_and_subcommand():
    assert "No such option" in parse_error(["staff", "--volume", "1", "--no-such-option"])
    assert parse_error(["scenario", "walk"])
    assert parse_error(["staff", "--volume", "1"]) is None


def test_cheap_commands_run_and_print_what_is_shown(tmp_path):
    for folder in ("sample_data", "docs"):
        (tmp_path / folder).symlink_to(ROOT / folder)
    shown = [e for page in PAGES for e in shown_commands(page)]
    ran = 0
    for example in shown:
        if not example.command.startswith(RUN):
            continue
        args = shlex.split(example.command.replace("\\\n", " "), comments=True)
        done = subprocess.run([WFM, *args[1:]], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                              env={**os.environ, "COLUMNS": "120"})
        assert done.returncode == 0, f"`{example.command}`: {done.stderr}"
        if example.output.strip():
            printed = done.stdout.strip() or done.stderr.strip()
            try:
                assert json.loads(printed) == json.loads(example.output), example.command
            except ValueError:
                assert printed == example.output.strip(), example.command
        ran += 1
    assert ran >= 5


def test_every_server_setting_is_documented():
    deploy = (ROOT / "docs" / "deploy.md").read_text()
    for field in Settings.__dataclass_fields__:
        if field != "auth":
            assert f"`WFM_{field.upper()}`" in deploy, field


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_python_examples_run(page, monkeypatch):
    monkeypatch.chdir(ROOT)  # examples name files from the project root
    for block in re.findall(r"```python\n(.*?)```", page.read_text(), flags=re.S):
        exec(compile(block, str(page), "exec"), {})
