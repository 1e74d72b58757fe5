"""The job store against SQLite and PostgreSQL: tenants, idempotency, claims, leases, recovery.

PostgreSQL (127.0.0.1:5432, database `test`) gets a schema of its own per test, dropped
afterwards, so parallel runs never see each other's rows; the tests skip, saying why, when
no server answers.
"""

import os
import threading
import time
import uuid

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import create_engine, select, text

from api.store import (CANCELLED, FAILED, QUEUED, RUNNING, SUCCEEDED, IdempotencyConflict, Store, TooManyJobs,
                       api_keys, fair_order, hash_key)

PG_URL = os.environ.get("WFM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def _postgres_or_skip() -> str:
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        pytest.skip(f"PostgreSQL job-store tests skipped: no server at {PG_URL} ({type(exc).__name__}); "
                    "the SQLite variants ran")
    return PG_URL


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = Store(f"sqlite:///{tmp_path / 'jobs.db'}")
        yield s
        s.dispose()
        return
    url = _postgres_or_skip()
    schema = f"wfm_test_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    s = Store(url, schema=schema)
    yield s
    s.dispose()
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def test_api_keys_are_stored_hashed_and_resolve_to_their_tenant(store):
    key = store.create_api_key("acme")
    other = store.create_api_key("globex")
    assert key != other and key.startswith("wfm_") and len(key) > 40
    assert store.tenant_for_key(key) == "acme" and store.tenant_for_key(other) == "globex"
    assert store.tenant_for_key(key + "x") is None and store.tenant_for_key("") is None
    with store.engine.connect() as conn:
        stored = [r._mapping for r in conn.execute(select(api_keys))]
    assert all(key not in str(dict(r)) for r in stored)  # the key itself is nowhere in the table
    assert {r["key_hash"] for r in stored} == {hash_key(key), hash_key(other)}


def test_a_tenant_sees_only_its_own_jobs(store):
    job, created = store.submit("acme", "roster", '{"x": 1}', 5.0)
    assert created and job.status == QUEUED and job.attempts == 0
    assert store.get(job.id, "acme").id == job.id
    assert store.get(job.id, "globex") is None
    assert store.cancel(job.id, "globex") is None
    assert store.get(job.id, "acme").status == QUEUED  # the other tenant's cancel did nothing


def test_idempotency_key_returns_the_first_job_and_rejects_a_different_body(store):
    first, created = store.submit("acme", "roster", '{"x": 1}', 5.0, idempotency_key="k1")
    again, created_again = store.submit("acme", "roster", '{"x": 1}', 5.0, idempotency_key="k1")
    assert created and not created_again and again.id == first.id
    with pytest.raises(IdempotencyConflict):
        store.submit("acme", "roster", '{"x": 2}', 5.0, idempotency_key="k1")
    # Keys are per tenant: the same key elsewhere is a new job.
    other, created_other = store.submit("globex", "roster", '{"x": 1}', 5.0, idempotency_key="k1")
    assert created_other and other.id != first.id


def test_concurrent_retries_with_one_key_make_one_job(store):
    ids, errors = [], []

    def submit():
        try:
            ids.append(store.submit("acme", "roster", '{"x": 1}', 5.0, idempotency_key="race")[0].id)
        except Exception as exc:  # pragma: no cover - the assertion below reports it
            errors.append(exc)

    threads = [threading.Thread(target=submit) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(ids) == 8 and len(set(ids)) == 1


def test_each_queued_job_is_claimed_by_exactly_one_runner_oldest_first(store):
    submitted = [store.submit("acme", "roster", f'{{"n": {k}}}', 5.0)[0].id for k in range(12)]
    claimed: dict[str, list[str]] = {"a": [], "b": [], "c": []}

    def runner(owner):
        while True:
            got = store.claim(owner, lease_seconds=30, limit=2)
            if not got:
                return
            claimed[owner].extend(j.id for j in got)

    threads = [threading.Thread(target=runner, args=(o,)) for o in claimed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    everything = [j for ids in claimed.values() for j in ids]
    assert sorted(everything) == sorted(submitted) and len(set(everything)) == len(everything)
    job = store.get(submitted[0], with_input=True)
    assert job.status == RUNNING and job.attempts == 1 and job.input == '{"n": 0}'


def test_claim_takes_the_oldest_first(store):
    first = store.submit("acme", "roster", "{}", 5.0)[0]
    time.sleep(0.01)
    store.submit("acme", "roster", '{"b": 1}', 5.0)
    assert [j.id for j in store.claim("r1", 30, limit=1)] == [first.id]


def test_only_the_owner_can_finish_and_a_finished_job_keeps_its_result(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", 30)
    assert not store.finish(job.id, "r2", '{"stolen": true}')
    assert store.finish(job.id, "r1", '{"ok": true}', progress={"objective": 3.0, "bound": 1.0, "seconds": 0.5})
    done = store.get(job.id, with_result=True)
    assert done.status == SUCCEEDED and done.result == '{"ok": true}' and done.progress["objective"] == 3.0
    assert not store.fail(job.id, "r1", {"reason": "late"})  # finished jobs stay finished
    assert store.get(job.id).status == SUCCEEDED


def test_cancel_queued_at_once_and_running_by_request(store):
    queued = store.submit("acme", "roster", '{"a": 1}', 5.0)[0]
    assert store.cancel(queued.id, "acme").status == CANCELLED
    running = store.submit("acme", "roster", '{"b": 1}', 5.0)[0]
    store.claim("r1", 30)
    view = store.cancel(running.id, "acme")
    assert view.status == RUNNING and view.cancel_requested
    assert store.cancel_requested("r1", [running.id]) == [running.id]
    assert store.cancel_requested("r2", [running.id]) == []
    assert store.fail(running.id, "r1", {"reason": "cancelled", "message": "x"}, status=CANCELLED)
    assert store.get(running.id).status == CANCELLED


def test_expired_leases_are_queued_again_then_failed_after_max_attempts(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    for attempt in (1, 2):
        assert [j.id for j in store.claim(f"runner-{attempt}", lease_seconds=0.05)] == [job.id]
        assert store.recover_expired(max_attempts=3)[QUEUED] == 0  # lease still valid
        time.sleep(0.1)
        assert store.recover_expired(max_attempts=3)[QUEUED] == 1
        view = store.get(job.id)
        assert view.status == QUEUED and view.attempts == attempt and view.error["reason"] == "worker_lost"
    store.claim("runner-3", lease_seconds=0.05)
    time.sleep(0.1)
    assert store.recover_expired(max_attempts=3)[FAILED] == 1
    view = store.get(job.id)
    assert view.status == FAILED and view.attempts == 3 and "3 times" in view.error["message"]
    # The dead runner's late result is refused.
    assert not store.finish(job.id, "runner-3", "{}")


def test_renewing_keeps_a_lease_and_a_lost_lease_is_reported(store):
    # 0.6 s leases renewed every 0.2 s for 1 s, longer than a lease: only renewing keeps it, and a
    # loaded machine's slow database call has 0.4 s of margin (0.2 s leases renewed every 0.1 s
    # failed there once).
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", lease_seconds=0.6)
    for _ in range(5):
        time.sleep(0.2)
        assert store.renew("r1", [job.id], lease_seconds=0.6) == {job.id}
        assert store.recover_expired(3)[QUEUED] == 0
    time.sleep(0.8)
    store.recover_expired(3)
    store.claim("r2", lease_seconds=30)
    assert store.renew("r1", [job.id], 0.2) == set()  # r1 must stop its worker


def test_a_cancelled_job_of_a_dead_runner_ends_cancelled(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", lease_seconds=0.05)
    store.cancel(job.id, "acme")
    time.sleep(0.1)
    assert store.recover_expired(3)[CANCELLED] == 1
    assert store.get(job.id).status == CANCELLED


def test_worker_death_retries_then_fails(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", 30)
    assert store.retry_or_fail(job.id, "r1", 2, "worker_died", "exit -9") == QUEUED
    store.claim("r1", 30)
    assert store.retry_or_fail(job.id, "r1", 2, "worker_died", "exit -9") == FAILED
    view = store.get(job.id)
    assert view.status == FAILED and view.error["reason"] == "worker_died" and view.attempts == 2


def test_a_clean_shutdown_gives_the_job_back_without_counting_the_attempt(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", 30)
    store.release(job.id, "r1")
    view = store.get(job.id)
    assert view.status == QUEUED and view.attempts == 0


def test_a_runner_never_recovers_its_own_jobs(store):
    job = store.submit("acme", "roster", "{}", 5.0)[0]
    store.claim("r1", lease_seconds=0.05)
    time.sleep(0.1)
    assert store.recover_expired(3, own="r1")[QUEUED] == 0  # r1 is alive: it is the one asking
    assert store.recover_expired(3, own="r2")[QUEUED] == 1
    assert store.get(job.id).status == QUEUED


def test_a_job_that_succeeds_after_a_retry_shows_no_error(store):
    job = store.submit("acme", "roster", "{}", 10.0)[0]
    store.claim("r1", 30)
    assert store.retry_or_fail(job.id, "r1", 3, "worker_died", "exit -9") == QUEUED
    assert store.get(job.id).error["reason"] == "worker_died"
    store.claim("r2", 30)
    assert store.finish(job.id, "r2", "{}")
    done = store.get(job.id)
    assert done.status == SUCCEEDED and done.error is None and done.attempts == 2


@pytest.mark.parametrize("job_id", ["abc\x00def", "0" * 31 + "\x00", "../etc", "A" * 32, "x" * 10_000])
def test_an_id_of_no_job_shape_names_no_job_and_never_reaches_the_database(store, job_id):
    assert store.get(job_id) is None and store.cancel(job_id, "acme") is None


def test_claims_go_to_the_tenant_with_the_fewest_jobs_running_then_the_longest_waiting(store):
    for _ in range(5):
        store.submit("big", "roster", "{}", 5.0)
    late = store.submit("small", "roster", "{}", 5.0)[0]  # queued after all of big's
    first = store.claim("r1", 30)[0]
    assert first.tenant == "big"                        # nobody runs anything: the longest waiting
    second = store.claim("r1", 30)[0]
    assert second.id == late.id                         # big runs one, small none: small's turn
    assert store.claim("r1", 30)[0].tenant == "big"


@given(st.dictionaries(st.sampled_from("abcdef"), st.floats(0, 100), min_size=1),
       st.dictionaries(st.sampled_from("abcdef"), st.integers(0, 5)))
def test_fair_order_puts_fewest_running_first_then_longest_waiting(heads, running):
    order = fair_order(heads, running)
    assert sorted(order) == sorted(heads)
    keys = [(running.get(t, 0), heads[t]) for t in order]
    assert keys == sorted(keys)


def test_a_tenant_over_its_quota_is_refused_and_others_are_not(store):
    store.max_active_jobs = 2
    a, _ = store.submit("acme", "roster", "{}", 5.0, idempotency_key="k1")
    store.submit("acme", "roster", "{}", 5.0)
    with pytest.raises(TooManyJobs):
        store.submit("acme", "roster", "{}", 5.0)
    assert store.submit("acme", "roster", "{}", 5.0, idempotency_key="k1")[0].id == a.id  # a replay is served
    assert store.submit("globex", "roster", "{}", 5.0)[1]
    store.cancel(a.id, "acme")
    assert store.submit("acme", "roster", "{}", 5.0)[1]  # a finished job frees its place


def test_the_job_list_pages_newest_first_and_filters(store):
    made = [store.submit("acme", "roster" if k % 2 else "plan", "{}", 5.0)[0] for k in range(5)]
    store.submit("globex", "roster", "{}", 5.0)
    page = store.list_jobs("acme", limit=2)
    rest = store.list_jobs("acme", limit=10, before=page[-1].id)
    assert [j.id for j in page + rest] == [j.id for j in reversed(made)]
    assert {j.kind for j in store.list_jobs("acme", kind="plan")} == {"plan"}
    assert len(store.list_jobs("acme", kind="plan")) == 3
    store.cancel(made[0].id, "acme")
    assert [j.id for j in store.list_jobs("acme", status="cancelled")] == [made[0].id]
    assert store.list_jobs("globex", before=made[0].id) == []  # another tenant's job is no cursor
