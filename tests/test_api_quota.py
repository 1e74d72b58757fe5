"""A tenant's solver seconds per hour (WFM_MAX_SOLVER_SECONDS_PER_HOUR): a job whose time limit,
with what the tenant's jobs solved in the last hour and what its queued and running jobs may
still take, would pass the quota is a 429 `solver_quota_exceeded` before it exists; other tenants
and replays are not affected. Accounting on SQLite and PostgreSQL, and concurrent submissions:
the check and the insert are one step per tenant, so two at once cannot both pass the quota."""

import os
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import create_engine, text

from api.app import create_app
from api.settings import Settings
from api.store import QUEUED, SolverTimeExhausted, Store, TooManyJobs
from api_helpers import roster_input

PG_URL = os.environ.get("WFM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'jobs.db'}", solver_seconds_per_hour=100)
        yield s
        s.dispose()
        return
    try:
        create_engine(PG_URL).connect().close()
    except Exception as exc:
        pytest.skip(f"PostgreSQL quota tests skipped: no server at {PG_URL} ({type(exc).__name__})")
    schema = f"wfm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    s = Store(PG_URL, schema=schema, solver_seconds_per_hour=100)
    yield s
    s.dispose()
    engine = create_engine(PG_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def test_queued_running_and_finished_jobs_count_toward_the_hour(store):
    first, _ = store.submit("acme", "roster", "{}", 60)
    now = time.time()
    assert store.solver_seconds("acme", now) == (0.0, 60.0)  # queued: its whole time limit is committed
    [claimed] = store.claim("runner", lease_seconds=30)
    assert claimed.id == first.id
    used, committed = store.solver_seconds("acme", claimed.started_at + 25)
    assert used == pytest.approx(25) and committed == pytest.approx(35)
    with pytest.raises(SolverTimeExhausted) as refused:  # 25 run + 35 still possible + 50 asked > 100
        store.submit("acme", "roster", "{}", 50)
    assert refused.value.limit == 100 and refused.value.asked == 50
    assert store.submit("globex", "roster", "{}", 50)[1]  # another tenant has its own hour
    assert store.submit("acme", "roster", "{}", 30)[1]  # 60 + 30 fit
    store.finish(first.id, "runner", "{}")
    finished = store.get(first.id)
    used, committed = store.solver_seconds("acme", finished.finished_at)
    assert used == pytest.approx(finished.finished_at - finished.started_at, abs=1) and committed == 30
    assert store.solver_seconds("acme", finished.finished_at + 3600 + 1) == (0.0, 30.0)  # out of the window


def test_a_job_past_the_quota_is_a_429_naming_the_setting_and_replays_still_answer(tmp_path):
    app = create_app(Settings(database_url=f"sqlite:///{tmp_path / 'jobs.db'}", max_solver_seconds_per_hour=10))
    with TestClient(app, base_url="http://127.0.0.1") as client:
        acme = {"X-API-Key": app.state.store.create_api_key("acme"), "Content-Type": "application/json"}
        globex = {"X-API-Key": app.state.store.create_api_key("globex"), "Content-Type": "application/json"}
        body = roster_input(agents=2, seconds=6, days=1).model_dump_json()
        first = client.post("/v1/rosters", content=body, headers={**acme, "Idempotency-Key": "one"})
        assert first.status_code == 202, first.text
        refused = client.post("/v1/rosters", content=body, headers=acme)
        assert refused.status_code == 429, refused.text
        answer = refused.json()
        assert answer["error"] == "solver_quota_exceeded" and answer["limit"] == 10
        assert "WFM_MAX_SOLVER_SECONDS_PER_HOUR" in answer["message"] and refused.headers["Retry-After"]
        replay = client.post("/v1/rosters", content=body, headers={**acme, "Idempotency-Key": "one"})
        assert replay.status_code == 202 and replay.json()["id"] == first.json()["id"]
        assert client.post("/v1/rosters", content=body, headers=globex).status_code == 202
        shorter = roster_input(agents=2, seconds=3, days=1).model_dump_json()
        assert client.post("/v1/rosters", content=shorter, headers=acme).status_code == 202  # 6 + 3 <= 10


def test_no_quota_by_default():
    assert Settings().max_solver_seconds_per_hour == 0
    assert Settings.from_env({"WFM_MAX_SOLVER_SECONDS_PER_HOUR": "7200"}).max_solver_seconds_per_hour == 7200


def submit_at_once(store: Store, tenant: str, count: int, seconds: float, **kw) -> tuple[int, int]:
    """`count` submissions released together from as many threads: (accepted, refused)."""
    start = threading.Barrier(count)

    def one(i: int) -> bool:
        start.wait()
        try:
            body = '{"n": 0}' if "idempotency_key" in kw else f'{{"n": {i}}}'  # a replay sends the same body
            store.submit(tenant, "roster", body, seconds, **kw)
            return True
        except (SolverTimeExhausted, TooManyJobs):
            return False

    with ThreadPoolExecutor(count) as pool:
        outcomes = list(pool.map(one, range(count)))
    return outcomes.count(True), outcomes.count(False)


def test_concurrent_submissions_never_pass_the_solver_quota_together(store):
    for round_ in range(5):  # 30 s each against 100 s an hour: three fit, whoever comes first
        tenant = f"acme-{round_}"
        assert submit_at_once(store, tenant, 8, 30) == (3, 5)
        used, committed = store.solver_seconds(tenant, time.time())
        assert used == 0 and committed == 90


def test_concurrent_submissions_never_pass_the_job_quota_together(store):
    for round_ in range(5):
        tenant = f"globex-{round_}"
        assert submit_at_once(store, tenant, 8, 1, max_active=2) == (2, 6)
        assert len(store.list_jobs(tenant, status=QUEUED)) == store.active_jobs(tenant) == 2


def test_concurrent_replays_of_one_key_make_one_job_and_are_never_refused(store):
    accepted, refused = submit_at_once(store, "initech", 8, 90, idempotency_key="same")
    assert (accepted, refused) == (8, 0)  # 90 s fits once; the seven others replay it
    assert store.active_jobs("initech") == 1
