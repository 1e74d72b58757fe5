"""Pure functions of the web view's script (api/ui/app.js) run in Node and checked against
the report's Python twins: the Gantt chart's time axis is the same in both. Skips without node."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest

from wfm.outputs.charts import hour_ticks

SCRIPT = Path(__file__).resolve().parents[1] / "api" / "ui" / "app.js"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="no node on PATH")


def script_functions(*names: str) -> str:
    """The source of top-level declarations of app.js by name (const arrows and functions)."""
    text = SCRIPT.read_text()
    parts = []
    for name in names:
        match = re.search(rf"^(const {name} = .*?;|function {name}\(.*?^}})$", text, re.M | re.S)
        assert match, name
        parts.append(match.group(1))
    return "\n".join(parts)


def run_js(body: str):
    code = script_functions("pad", "wallText", "wallMs", "hourTicks") + "\n" + body
    out = subprocess.run([NODE, "-e", code], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


@pytest.mark.parametrize("first,last", [("2026-03-28 23:00", "2026-03-29 08:00"),
                                        ("2026-06-01 07:30", "2026-06-07 22:15"),
                                        ("2026-06-01 00:00", "2026-06-01 00:00")])
def test_web_gantt_ticks_match_the_report(first, last):
    got = run_js(f'console.log(JSON.stringify(hourTicks(wallMs("{first}"), wallMs("{last}"))))')
    ticks, labels = hour_ticks(pd.Timestamp(first), pd.Timestamp(last))
    assert got["labels"] == labels
    assert [pd.Timestamp(v) for v in got["values"]] == ticks
