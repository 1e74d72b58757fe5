"""The examples in the docs, run for real.

A ```console block holds commands (`$ ...`, continued by a trailing backslash or an open quote)
each followed by the output it prints. `curl` commands run against the app in process (a
FastAPI TestClient): `$KEY` is a real API key, a job id shown in a documented answer stands for the
id the run gets, and a pipe after curl (`| python3 -c ...`) runs in a shell on the answer.

JSON answers are shown with line breaks added for reading (`| python3 -m json.tool` gives the same
data) and compared as data: every key and every value must match, except values that change from
run to run (ids, clocks, timings), which must only have the same type.

`python tests/doc_examples.py docs/api.md` rewrites the outputs in the file from a real run.
"""

from __future__ import annotations

import json
import re
import shlex
import subprocess
import sys
import time
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
WIDTH = 150
SHOWN_HEADERS = ("location", "content-type", "content-disposition", "idempotent-replayed", "etag")
# Values that change from run to run: compared by type only.
VOLATILE = {"id", "created_at", "started_at", "finished_at", "elapsed_seconds", "seconds", "attempts", "at",
            "key_id", "published_at"}
# A job just submitted may already have been claimed by the time its 202 is written: queued or
# running, and its start and elapsed time null or not.
IN_FLIGHT = {"queued", "running"}
MAYBE_NULL = {"started_at", "finished_at", "elapsed_seconds"}
VOLATILE_UNDER = {"timings", "progress"}  # solve times; a job's progress is where the solver was when polled
FINISHED = ("succeeded", "failed", "cancelled")


@dataclass
class Example:
    line: int          # 1-based line of the `$` in the markdown
    command: str       # without the `$ `, continuation lines joined as written
    output: str        # what the doc shows after it
    out_start: int     # 0-based index of the first output line in the file's lines
    out_end: int


def examples(path: Path) -> list[Example]:
    lines = path.read_text().splitlines()
    found, in_console, i = [], False, 0
    while i < len(lines):
        line = lines[i]
        if line.startswith("```"):
            in_console = line.strip() == "```console" if not in_console else False
            i += 1
            continue
        if in_console and line.startswith("$ "):
            start, command = i, line[2:]
            while not _complete(command):
                i += 1
                command += "\n" + lines[i]
            i += 1
            out_start = i
            while i < len(lines) and not lines[i].startswith("$ ") and not lines[i].startswith("```"):
                i += 1
            found.append(Example(start + 1, command, "\n".join(lines[out_start:i]), out_start, i))
            continue
        i += 1
    return found


def _complete(command: str) -> bool:
    if command.rstrip().endswith("\\"):
        return False
    try:
        shlex.split(command, comments=True)
    except ValueError:  # an open quote: the command goes on on the next line
        return False
    return True


def split_pipe(command: str) -> tuple[list[str], str | None]:
    """curl's arguments, and the shell pipeline after it (if any)."""
    lexer = shlex.shlex(command.replace("\\\n", " "), posix=True, punctuation_chars="|")
    lexer.whitespace_split = True
    lexer.commenters = "#"
    tokens = list(lexer)
    if "|" not in tokens:
        return tokens, None
    cut = tokens.index("|")
    return tokens[:cut], " ".join(t if t == "|" else shlex.quote(t) for t in tokens[cut + 1:])


def _json_or_none(res) -> dict:
    try:
        found = res.json()
    except ValueError:
        return {}
    return found if isinstance(found, dict) else {}


class CurlRunner:
    """Runs documented curl commands against a TestClient; keeps the documented-to-real id map."""

    def __init__(self, client, key: str, workdir: Path):
        self.client, self.key, self.workdir = client, key, workdir
        self.ids: dict[str, str] = {}   # documented id -> id of this run

    def run(self, example: Example) -> str:
        command = example.command.replace("$KEY", self.key)
        for shown, real in self.ids.items():
            command = command.replace(shown, real)
        args, pipe = split_pipe(command)
        res, include = self._request(args)
        if res.headers.get("content-type", "").startswith("application/json") and res.status_code == 202:
            self._learn_id(example.output, res.json()["id"])
            self._wait(res.json()["id"])
        elif res.status_code == 201 and re.fullmatch(r"[0-9a-f]{32}", str(_json_or_none(res).get("id"))):
            self._learn_id(example.output, res.json()["id"])  # a created resource with a generated id (a request)
        shown = self._show(res, include, pipe)
        for documented, real in self.ids.items():
            shown = shown.replace(real, documented)
        return shown

    def _request(self, args: list[str]):
        assert args[0] == "curl", f"not a curl command: {args[0]}"
        method, headers, data, form, files, url, out, include = None, {}, None, {}, {}, None, None, False
        it = iter(args[1:])
        for arg in it:
            if arg in ("-X", "--request"):
                method = next(it)
            elif arg in ("-H", "--header"):
                name, _, value = next(it).partition(":")
                headers[name.strip()] = value.strip()
            elif arg in ("-d", "--data", "--data-binary"):
                value = next(it)
                data = (ROOT / value[1:]).read_bytes() if value.startswith("@") else value.encode()
            elif arg in ("-F", "--form"):
                name, _, value = next(it).partition("=")
                if value.startswith("@"):
                    files[name] = (Path(value[1:]).name, (ROOT / value[1:]).read_bytes())
                else:
                    form[name] = value
            elif arg in ("-o", "--output"):
                out = next(it)
            elif re.fullmatch(r"-[sSi]+", arg):
                include = include or "i" in arg
            elif not arg.startswith("-"):
                url = arg
            else:
                raise AssertionError(f"curl option {arg} is not understood by the docs test")
        path = re.sub(r"^(https?://)?[^/]+", "", url)
        method = method or ("POST" if data is not None or form or files else "GET")
        res = self.client.request(method, path, headers=headers, content=data, data=form or None,
                                  files=files or None)
        if out:
            (self.workdir / Path(out).name).write_bytes(res.content)
        return res, (include, out)

    def _learn_id(self, documented_output: str, real: str) -> None:
        match = re.search(r'"id":\s*"([0-9a-f]{32})"', documented_output)
        self.ids[match.group(1) if match else real] = real

    def _wait(self, job_id: str, timeout: float = 120) -> None:
        """The doc shows each job once it has finished."""
        deadline = time.time() + timeout
        while time.time() < deadline:
            view = self.client.get(f"/v1/jobs/{job_id}", headers={"X-API-Key": self.key}).json()
            if view["status"] in FINISHED:
                return
            time.sleep(0.1)
        raise AssertionError(f"job {job_id} did not finish in {timeout} s")

    def _show(self, res, include_and_out, pipe: str | None) -> str:
        include, out = include_and_out
        parts = []
        if include:
            parts.append(f"HTTP/1.1 {res.status_code} {HTTPStatus(res.status_code).phrase}")
            parts += [f"{h}: {res.headers[h]}" for h in SHOWN_HEADERS if h in res.headers]
        if out:
            return "\n".join(parts)
        if pipe:
            done = subprocess.run(["bash", "-c", pipe], input=res.content, capture_output=True, cwd=ROOT)
            assert done.returncode == 0, f"{pipe} failed on {res.text[:300]}: {done.stderr.decode()}"
            body = done.stdout.decode().rstrip("\n")
        elif res.headers.get("content-type", "").startswith("application/json"):
            body = pretty(res.json())
        else:
            body = res.text.rstrip("\n")
        return "\n".join(parts + ([body] if body else []))


def pretty(value, indent: int = 0) -> str:
    """JSON on one line where it fits in WIDTH, else one member per line, two spaces a level."""
    flat = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    if indent + len(flat) <= WIDTH or not isinstance(value, (dict, list)) or not value:
        return flat
    pad = " " * (indent + 2)
    if isinstance(value, dict):
        items = [f"{pad}{json.dumps(k, ensure_ascii=False)}:{pretty(v, indent + 2)}" for k, v in value.items()]
        return "{\n" + ",\n".join(items) + "\n" + " " * indent + "}"
    items = [pad + pretty(v, indent + 2) for v in value]
    return "[\n" + ",\n".join(items) + "\n" + " " * indent + "]"


def split_output(text: str) -> tuple[list[str], str]:
    """The status and header lines of `curl -i`, and the body."""
    lines = text.splitlines()
    head = []
    if lines and lines[0].startswith("HTTP/"):
        head.append(lines.pop(0))
        while lines and re.match(r"^[a-z-]+: ", lines[0]):
            head.append(lines.pop(0))
    return head, "\n".join(lines)


def mismatches(documented, actual, path: tuple = ()) -> list[str]:
    """Where two JSON values differ, ignoring the values of VOLATILE keys (type only)."""
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in path) or "(top)"
    if path and path[-1] in MAYBE_NULL and (documented is None or actual is None):
        return []
    if path and (path[-1] in VOLATILE or any(p in VOLATILE_UNDER for p in path[:-1])):
        same_kind = (documented is None) == (actual is None) and \
            isinstance(documented, (int, float)) == isinstance(actual, (int, float))
        return [] if same_kind else [f"{where}: {documented!r} vs {actual!r}"]
    if path and path[-1] == "status" and isinstance(documented, str) and isinstance(actual, str) \
            and {documented, actual} <= IN_FLIGHT:
        return []
    if isinstance(documented, dict) and isinstance(actual, dict):
        if documented.keys() != actual.keys():
            return [f"{where}: keys {sorted(documented)} vs {sorted(actual)}"]
        return [m for k in documented for m in mismatches(documented[k], actual[k], path + (k,))]
    if isinstance(documented, list) and isinstance(actual, list):
        if len(documented) != len(actual):
            return [f"{where}: {len(documented)} items vs {len(actual)}"]
        return [m for i, (d, a) in enumerate(zip(documented, actual)) for m in mismatches(d, a, path + (i,))]
    if isinstance(documented, float) or isinstance(actual, float):
        ok = isinstance(actual, (int, float)) and isinstance(documented, (int, float)) \
            and abs(documented - actual) <= 1e-9 * max(1.0, abs(documented))
        return [] if ok else [f"{where}: {documented!r} vs {actual!r}"]
    return [] if documented == actual else [f"{where}: {documented!r} vs {actual!r}"]


def differences(documented: str, actual: str) -> list[str]:
    doc_head, doc_body = split_output(documented)
    real_head, real_body = split_output(actual)
    found = [f"header {h!r} not in the answer {real_head}" for h in doc_head if h not in real_head]
    try:
        doc_json, real_json = json.loads(doc_body), json.loads(real_body)
    except ValueError:
        if doc_body.strip() != real_body.strip():
            found.append(f"output differs:\n--- documented\n{doc_body}\n--- actual\n{real_body}")
        return found
    return found + mismatches(doc_json, real_json)


def update(path: Path, runner: CurlRunner) -> None:
    """Rewrite each curl example's output in the file with what a real run printed."""
    lines = path.read_text().splitlines()
    outputs = [(e, runner.run(e)) for e in examples(path) if e.command.startswith("curl")]
    for example, shown in reversed(outputs):
        lines[example.out_start:example.out_end] = shown.splitlines() if shown else []
    path.write_text("\n".join(lines) + "\n")


if __name__ == "__main__":
    import tempfile

    sys.path.insert(0, str(ROOT / "tests"))
    from fastapi.testclient import TestClient

    from api.app import create_app
    from api.settings import Settings

    with tempfile.TemporaryDirectory() as tmp, \
            TestClient(create_app(Settings(database_url=f"sqlite:///{tmp}/jobs.db", poll_seconds=0.05))) as client:
        key = client.app.state.store.create_api_key("acme")
        for doc in sys.argv[1:]:
            update(Path(doc), CurlRunner(client, key, Path(tmp)))
