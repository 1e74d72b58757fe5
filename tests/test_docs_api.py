"""docs/api.md cannot drift: every curl example in it runs against the app (real job runner and
worker processes) and its answer must match the one documented, ids, clocks and timings aside."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from fastapi.testclient import TestClient

from api.app import create_app
from api.settings import Settings
from doc_examples import ROOT, CurlRunner, differences, examples, mismatches, split_pipe

API_DOC = ROOT / "docs" / "api.md"


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    # `wfm serve`'s defaults, on a database of the test's own
    database = tmp_path_factory.mktemp("docs-api") / "jobs.db"
    with TestClient(create_app(Settings(database_url=f"sqlite:///{database}", poll_seconds=0.05))) as c:
        yield c


def test_every_documented_request_gives_the_documented_answer(client, tmp_path):
    runner = CurlRunner(client, client.app.state.store.create_api_key("docs"), tmp_path)
    curls = [e for e in examples(API_DOC) if e.command.startswith("curl")]
    assert len(curls) >= 20
    for example in curls:
        found = differences(example.output, runner.run(example))
        assert not found, f"docs/api.md line {example.line}: {example.command}\n" + "\n".join(found)


def documented_requests() -> set[tuple[str, str]]:
    """(method, path) of every curl example, as the docs test sends it."""
    found = set()
    for example in examples(API_DOC):
        if not example.command.startswith("curl"):
            continue
        args, _ = split_pipe(example.command)
        url = next(a for a in args[1:] if a.startswith("localhost"))
        method = args[args.index("-X") + 1] if "-X" in args else \
            "POST" if {"-d", "--data", "-F"} & set(args) else "GET"
        found.add((method, re.sub(r"^localhost:\d+", "", url).split("?")[0]))
    return found


def test_every_endpoint_of_the_schema_has_an_example(client):
    documented = documented_requests()
    for path, methods in client.app.openapi()["paths"].items():
        pattern = re.compile(re.sub(r"\{[^}]+\}", "[^/]+", path))
        for method in methods:
            assert any(m == method.upper() and pattern.fullmatch(p) for m, p in documented), \
                f"docs/api.md has no example of {method.upper()} {path}"


def test_examples_hold_no_placeholders():
    for example in examples(API_DOC):
        assert "..." not in example.command and "..." not in example.output, example.line


def test_the_comparison_catches_a_changed_value_and_ignores_only_volatile_ones():
    doc = {"id": "a" * 32, "status": "succeeded", "elapsed_seconds": 0.2, "kpis": {"shifts": 2}}
    assert mismatches(doc, {**doc, "id": "b" * 32, "elapsed_seconds": 1.5}) == []
    assert mismatches(doc, {**doc, "kpis": {"shifts": 3}}) == [".kpis.shifts: 2 vs 3"]
    assert mismatches(doc, {**doc, "elapsed_seconds": None}) == []  # a job not started yet
    assert mismatches({"seconds": 1.5}, {"seconds": None})
    assert mismatches(doc, {k: v for k, v in doc.items() if k != "kpis"})
    assert differences("HTTP/1.1 202 Accepted\n{}", "HTTP/1.1 200 OK\n{}")
    assert differences("a,b\n1,2", "a,b\n1,3")
    assert mismatches({"status": "queued"}, {"status": "running"}) == []
    assert mismatches({"status": "queued"}, {"status": "failed"})


def test_examples_are_parsed_with_their_continuation_lines(tmp_path):
    doc = tmp_path / "x.md"
    doc.write_text("```console\n$ curl -s host/a -d '\n  {\"x\": 1}'\n{\"ok\":true}\n$ curl -s host/b \\\n"
                   "    -H 'A: b'\nplain\n```\n")
    found = examples(Path(doc))
    assert [e.command for e in found] == ["curl -s host/a -d '\n  {\"x\": 1}'", "curl -s host/b \\\n    -H 'A: b'"]
    assert [e.output for e in found] == ['{"ok":true}', "plain"]
