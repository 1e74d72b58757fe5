"""History uploads are held to their limits while they are read: rows, decompressed bytes and
the decompression ratio, for CSV, gzip (one member or many), Parquet and .xlsx; a gzip bomb is
refused with a 422 naming body.file and the setting, in bounded memory. Forecasts share their
processes fairly between tenants (api.fairness)."""

import asyncio
import gzip
import io
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pandas as pd
import pytest
from fastapi.testclient import TestClient
from hypothesis import given, settings
from hypothesis import strategies as st

from api.app import create_app
from api.fairness import FairGate
from api.settings import Settings
from api_helpers import history_rows
from forecasts.upload import UploadLimits, UploadTooLarge, check_upload

ROW = b"2026-03-02T08:00:00Z,billing,300\n"
HEADER = b"created_at,queue,handle_seconds\n"


def bomb(compressed_bytes: int) -> bytes:
    """A .csv.gz of about `compressed_bytes` that expands about a thousand times: a header member
    and copies of one member holding many identical rows (gzip readers join the members)."""
    member = gzip.compress(ROW * 300_000, compresslevel=9)
    return gzip.compress(HEADER) + member * max(1, compressed_bytes // len(member))


def make_client(tmp_path, **limits):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", max_body_bytes=25 * 2**20, **limits))
    client = TestClient(app, base_url="http://127.0.0.1")
    return client


def upload(client, name: str, data: bytes, key: str):
    return client.post("/v1/forecasts", files={"file": (name, data, "application/octet-stream")},
                       data={"timezone": "Europe/Berlin", "days": "1", "folds": "1"}, headers={"X-API-Key": key})


@pytest.fixture(scope="module")
def small_limits(tmp_path_factory):
    with make_client(tmp_path_factory.mktemp("uploads"), max_history_rows=5_000, max_history_bytes=2_000_000,
                     max_decompression_ratio=50) as client:
        yield client, client.app.state.store.create_api_key("acme")


def refusal(res) -> tuple[str, str]:
    assert res.status_code == 422, res.text
    field = res.json()["fields"][0]
    return field["field"], field["message"]


def test_a_gzip_bomb_is_refused_by_its_rows_bytes_or_ratio(tmp_path):
    data = bomb(200_000)
    unbounded = {"max_history_rows": 10**9, "max_history_bytes": 10**12, "max_decompression_ratio": 1e6}
    for limits, setting in [({**unbounded, "max_history_rows": 1_000}, "WFM_MAX_HISTORY_ROWS"),
                            ({**unbounded, "max_history_bytes": 5_000_000}, "WFM_MAX_HISTORY_BYTES"),
                            ({**unbounded, "max_decompression_ratio": 100}, "WFM_MAX_DECOMPRESSION_RATIO")]:
        with make_client(tmp_path, **limits) as client:
            key = client.app.state.store.create_api_key("acme")
            field, message = refusal(upload(client, "history.csv.gz", data, key))
            assert field == "body.file" and setting in message, message


def test_a_single_member_bomb_is_refused_too(small_limits):
    client, key = small_limits
    data = gzip.compress(HEADER + ROW * 200_000)  # 6.6 MB in one member
    assert refusal(upload(client, "history.gz", data, key))[0] == "body.file"


def test_plain_csv_and_parquet_are_held_to_the_row_limit(small_limits):
    client, key = small_limits
    field, message = refusal(upload(client, "history.csv", HEADER + ROW * 5_001, key))
    assert field == "body.file" and "5,000 rows" in message
    frame = pd.DataFrame({"created_at": ["2026-03-02T08:00:00Z"] * 6_000, "queue": "q"})
    buffer = io.BytesIO()
    frame.to_parquet(buffer)
    field, message = refusal(upload(client, "history.parquet", buffer.getvalue(), key))
    assert field == "body.file" and "WFM_MAX_HISTORY_ROWS" in message


def test_a_workbook_is_held_to_its_declared_size(small_limits):
    client, key = small_limits
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/workbook.xml", b"<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b" " * 3_000_000)
    field, message = refusal(upload(client, "history.csv", buffer.getvalue(), key))
    assert field == "body.file" and "WFM_MAX_HISTORY_BYTES" in message


def test_a_broken_gzip_is_a_422_not_a_500(small_limits):
    client, key = small_limits
    data = gzip.compress(HEADER + ROW * 10)
    for broken in (data[:-12], b"\x1f\x8b" + b"\x00" * 40):
        assert refusal(upload(client, "history.csv.gz", broken, key))[0] == "body.file"


def test_uploads_within_the_limits_forecast_alike_compressed_or_not(small_limits):
    client, key = small_limits
    csv = pd.DataFrame(history_rows(weeks=2)).to_csv(index=False).encode()
    plain, packed = upload(client, "h.csv", csv, key), upload(client, "h.csv.gz", gzip.compress(csv), key)
    assert plain.status_code == packed.status_code == 200, (plain.text, packed.text)
    assert plain.json()["intervals"] == packed.json()["intervals"]


@pytest.mark.parametrize("rows", [0, 1, 2, 4_999, 5_000])
def test_the_row_count_is_exact_at_the_limit(rows):
    limits = UploadLimits(rows=5_000, bytes=10**9, ratio=10**6)
    body = HEADER + ROW * rows
    for data, suffix in ((body, ".csv"), (gzip.compress(body), ".csv.gz"), (body.rstrip(b"\n"), ".csv")):
        assert check_upload(data, suffix, limits).rows == rows
    with pytest.raises(UploadTooLarge):
        check_upload(gzip.compress(body + ROW), ".csv.gz", UploadLimits(rows=rows, bytes=10**9, ratio=10**6))


MEASURE = """
import gzip, json, resource, sys, tempfile, time
sys.path.insert(0, sys.argv[1])
from fastapi.testclient import TestClient
from api.app import create_app
from api.settings import Settings
from test_api_uploads import bomb
data = bomb(20 * 2**20)
app = create_app(Settings(database_url=f"sqlite:///{tempfile.mkdtemp()}/jobs.db", max_body_bytes=25 * 2**20))
with TestClient(app, base_url="http://127.0.0.1") as client:
    key = client.app.state.store.create_api_key("acme")
    files = {"file": ("history.csv.gz", data, "application/gzip")}
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    res = client.post("/v1/forecasts", files=files, data={"timezone": "UTC"}, headers={"X-API-Key": key})
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"status": res.status_code, "field": res.json()["fields"][0]["field"], "bytes": len(data),
                  "extra_mb": (after - before) / 1024}))
"""


def test_a_20_mb_bomb_is_refused_within_200_mb_of_memory():
    """Peak memory of the refusal, in a fresh process (ru_maxrss only grows): the upload's own
    copies and the bounded decompression, never the expanded file."""
    out = subprocess.run([sys.executable, "-c", MEASURE, str(Path(__file__).parent)], capture_output=True, text=True,
                         timeout=300, cwd=Path(__file__).parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["status"] == 422 and result["field"] == "body.file" and result["bytes"] > 19 * 2**20
    assert result["extra_mb"] < 200, result


# --- fairness between tenants -----------------------------------------------------------------

async def play(slots: int, events: list[tuple[str, int]]) -> None:
    """Arrivals ("A".. tenants) and finishes (index of an entered call), checking after each step
    that no slot stays idle while a tenant below its share waits, and that no tenant takes them all."""
    gate = FairGate(slots)
    inside: list[asyncio.Event] = []
    tasks = []

    async def call(tenant):
        done = asyncio.Event()
        async with gate.slot(tenant):
            inside.append(done)
            await done.wait()

    for kind, value in events:
        if kind == "arrive":
            tasks.append(asyncio.ensure_future(call(value)))
        elif inside:
            inside.pop(value % len(inside)).set()
        for _ in range(5):
            await asyncio.sleep(0)
        assert gate.running() <= slots
        if slots > 1:
            assert all(gate.running(t) <= slots - 1 for t in "ABC")
        if gate.waiting():
            assert gate.running() == slots or all(gate.running(t) >= gate.per_tenant for t in gate.waiting_tenants())
    for event in inside:
        event.set()
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


@settings(max_examples=60)
@given(st.integers(1, 3), st.lists(st.one_of(st.tuples(st.just("arrive"), st.sampled_from("ABC")),
                                             st.tuples(st.just("finish"), st.integers(0, 10))), max_size=25))
def test_the_gate_never_exceeds_its_slots_nor_gives_one_tenant_all(slots, events):
    asyncio.run(play(slots, events))


def test_another_tenant_is_not_queued_behind_a_big_forecast():
    async def scenario():
        gate = FairGate(2)
        release = asyncio.Event()
        order = []

        async def call(tenant, name, hold=False):
            async with gate.slot(tenant):
                order.append(name)
                if hold:
                    await release.wait()

        big = asyncio.ensure_future(call("A", "A big", hold=True))
        await asyncio.sleep(0)
        second = asyncio.ensure_future(call("A", "A second", hold=True))
        await asyncio.sleep(0)
        other = asyncio.ensure_future(call("B", "B small"))
        await asyncio.wait_for(other, 5)  # B gets the free process while A's big one runs
        assert order == ["A big", "B small"] and gate.running("A") == 1 and gate.waiting() == 1
        release.set()
        await asyncio.wait_for(asyncio.gather(big, second), 5)
        assert order == ["A big", "B small", "A second"] and gate.running() == 0

    asyncio.run(scenario())


def test_a_caller_that_leaves_while_waiting_frees_its_place():
    async def scenario():
        gate = FairGate(1)
        release = asyncio.Event()

        async def call(tenant):
            async with gate.slot(tenant):
                await release.wait()

        first = asyncio.ensure_future(call("A"))
        await asyncio.sleep(0)
        left = asyncio.ensure_future(call("B"))
        await asyncio.sleep(0)
        left.cancel()
        await asyncio.gather(left, return_exceptions=True)
        assert gate.waiting() == 0 and gate.running() == 1
        release.set()
        await first
        assert gate.running() == 0

    asyncio.run(scenario())


def test_a_kpi_upload_is_held_to_the_same_limits(small_limits):
    client, key = small_limits
    res = client.post("/v1/kpis", files={"file": ("history.csv.gz", bomb(50_000), "application/gzip")},
                      data={"timezone": "UTC"}, headers={"X-API-Key": key})
    field, message = refusal(res)
    assert field == "body.file" and "WFM_MAX_" in message


def test_through_the_api_another_tenants_forecast_passes_a_queued_one(tmp_path):
    """Tenant A has one forecast running and one waiting; tenant B's forecast, sent after both,
    gets the free process and answers before A's second."""
    import threading
    import time

    with make_client(tmp_path, forecast_processes=2) as client:
        store, gate = client.app.state.store, client.app.state.forecast_gate
        keys = {"acme": store.create_api_key("acme"), "globex": store.create_api_key("globex")}
        body = {"timezone": "Europe/Berlin", "days": 7, "folds": 4, "history": history_rows(weeks=12)}
        answered = []

        def post(tenant, label, weeks=None):
            data = body if weeks is None else {**body, "folds": 1, "days": 1, "history": history_rows(weeks=weeks)}
            res = client.post("/v1/forecasts", json=data, headers={"X-API-Key": keys[tenant]})
            answered.append((label, res.status_code))

        threads = [threading.Thread(target=post, args=("acme", "A first")),
                   threading.Thread(target=post, args=("acme", "A second"))]
        for thread in threads:
            thread.start()
        deadline = time.time() + 60
        while not (gate.running("acme") == 1 and gate.waiting() == 1) and time.time() < deadline:
            time.sleep(0.01)
        assert gate.running("acme") == 1 and gate.waiting() == 1, "A's second forecast never queued"
        post("globex", "B", weeks=2)
        for thread in threads:
            thread.join(120)
    labels = [label for label, _ in answered]
    assert all(status == 200 for _, status in answered), answered
    assert labels.index("B") < labels.index("A second"), answered
