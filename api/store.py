"""Job store and API keys in a SQL database (SQLAlchemy Core): an SQLite file by default,
PostgreSQL when the URL points at one. Knows nothing of HTTP.

A job moves queued -> running -> succeeded | failed | cancelled. A runner claims a queued job
with a conditional UPDATE (portable: no row locks needed) and holds it under a lease it renews;
when a runner dies, its lease runs out and the job is queued again (or failed once it has been
started `max_attempts` times). Every write by a runner names the owner it claimed with, so a
runner that lost its lease cannot overwrite the job's new owner.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import secrets
import time
import uuid
from dataclasses import dataclass

from sqlalchemy import (Boolean, Column, Float, Integer, MetaData, String, Table, Text, UniqueConstraint,
                        and_, create_engine, event, func, insert, or_, select, text, update)
from sqlalchemy.exc import IntegrityError

from . import migrations

QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED = "queued", "running", "succeeded", "failed", "cancelled"
FINISHED = (SUCCEEDED, FAILED, CANCELLED)
KEY_PREFIX = "wfm_"
JOB_ID = re.compile(r"[0-9a-f]{32}")  # uuid4().hex: anything else names no job (and never reaches the driver)

metadata = MetaData()

api_keys = Table(
    "wfm_api_keys", metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(200), nullable=False),
    Column("key_hash", String(64), nullable=False, unique=True),  # sha256 of the key; the key is never stored
    Column("created_at", Float, nullable=False),
    Column("revoked", Boolean, nullable=False, default=False),
    Column("expires_at", Float),  # None: never expires
)

jobs = Table(
    "wfm_jobs", metadata,
    Column("id", String(32), primary_key=True),
    Column("tenant", String(200), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("input", Text, nullable=False),
    Column("request_hash", String(64), nullable=False),
    Column("idempotency_key", String(200)),
    Column("time_limit_seconds", Float, nullable=False),
    Column("result", Text),
    Column("error", Text),            # JSON: {"reason": ..., "message": ..., ...}
    Column("progress", Text),         # JSON: {"objective": ..., "bound": ..., "seconds": ...}
    Column("attempts", Integer, nullable=False, default=0),
    Column("cancel_requested", Boolean, nullable=False, default=False),
    Column("owner", String(64)),
    Column("lease_until", Float),
    Column("worker_pid", Integer),
    Column("created_at", Float, nullable=False),
    Column("started_at", Float),
    Column("finished_at", Float),
    UniqueConstraint("tenant", "idempotency_key", name="wfm_jobs_idempotency"),
)


@dataclass
class ApiKeyInfo:
    """What may be shown of a key: never the key, nor its hash."""
    id: str
    tenant: str
    created_at: float
    expires_at: float | None
    revoked: bool

    @property
    def active(self) -> bool:
        return not self.revoked and (self.expires_at is None or self.expires_at > time.time())


class IdempotencyConflict(Exception):
    """The Idempotency-Key was used before with a different request."""


class TooManyJobs(Exception):
    """The tenant already has its quota of jobs queued or running."""

    def __init__(self, active: int, limit: int):
        super().__init__(f"{active} jobs queued or running; at most {limit} per tenant")
        self.active, self.limit = active, limit


class SolverTimeExhausted(Exception):
    """The tenant's solver seconds in the last hour, with what its queued and running jobs may
    still take and what the new job asks for, would pass its hourly quota."""

    def __init__(self, used: float, committed: float, asked: float, limit: float):
        super().__init__(f"{used + committed + asked:g} solver seconds; at most {limit:g} per hour")
        self.used, self.committed, self.asked, self.limit = used, committed, asked, limit


def fair_order(heads: dict[str, float], running: dict[str, int]) -> list[str]:
    """Tenants with queued jobs (tenant -> its oldest queued job's time) in the order their next
    job should start: fewest jobs running first, then the one waiting longest. One tenant's
    queue of a hundred jobs cannot hold the service while another tenant's one job waits."""
    return sorted(heads, key=lambda t: (running.get(t, 0), heads[t], t))


@dataclass
class Job:
    id: str
    tenant: str
    kind: str
    status: str
    attempts: int
    cancel_requested: bool
    created_at: float
    started_at: float | None
    finished_at: float | None
    time_limit_seconds: float
    progress: dict | None
    error: dict | None
    worker_pid: int | None
    input: str | None = None
    result: str | None = None

    @classmethod
    def from_row(cls, row) -> "Job":
        m = row._mapping
        return cls(id=m["id"], tenant=m["tenant"], kind=m["kind"], status=m["status"], attempts=m["attempts"],
                   cancel_requested=bool(m["cancel_requested"]), created_at=m["created_at"],
                   started_at=m["started_at"], finished_at=m["finished_at"],
                   time_limit_seconds=m["time_limit_seconds"],
                   progress=json.loads(m["progress"]) if m["progress"] else None,
                   error=json.loads(m["error"]) if m["error"] else None, worker_pid=m["worker_pid"],
                   input=m.get("input"), result=m.get("result"))


def hash_key(key: str) -> str:
    # Keys are 256-bit random tokens, so a fast hash is enough: there is nothing to brute-force.
    return hashlib.sha256(key.encode()).hexdigest()


def _summary_columns():
    return [c for c in jobs.c if c.name not in ("input", "result")]


class Store:
    def __init__(self, url: str, schema: str | None = None, max_active_jobs: int | None = None,
                 solver_seconds_per_hour: float | None = None):
        """`max_active_jobs`: a tenant's quota of jobs queued or running; `solver_seconds_per_hour`:
        its quota of job-process seconds in any hour (None or 0: no quota)."""
        self.url, self.max_active_jobs = url, max_active_jobs
        self.solver_seconds_per_hour = solver_seconds_per_hour or None
        sqlite = url.startswith("sqlite")
        kwargs = {"connect_args": {"check_same_thread": False, "timeout": 30}} if sqlite else {"pool_pre_ping": True}
        engine = create_engine(url, **kwargs)
        if sqlite:
            _private_file(engine.url.database)
            event.listen(engine, "connect", _sqlite_pragmas)
        if schema:
            with engine.begin() as conn:
                conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
            engine = engine.execution_options(schema_translate_map={None: schema})
        self.engine = engine
        migrations.upgrade(engine, schema)  # the schema comes from the migrations, not from `metadata`

    def dispose(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        with self.engine.connect() as conn:
            conn.execute(text("SELECT 1"))

    # --- API keys -------------------------------------------------------------------------

    def create_api_key(self, tenant: str, expires_in_seconds: float | None = None) -> str:
        """A new key for `tenant`; only its hash is stored, so this is the one time it is seen."""
        return self._new_key(tenant, expires_in_seconds)[1]

    def _new_key(self, tenant: str, expires_in_seconds: float | None) -> tuple[str, str]:
        key, key_id, now = KEY_PREFIX + secrets.token_urlsafe(32), uuid.uuid4().hex, time.time()
        expires = now + expires_in_seconds if expires_in_seconds is not None else None
        with self.engine.begin() as conn:
            conn.execute(insert(api_keys).values(id=key_id, tenant=tenant, key_hash=hash_key(key), created_at=now,
                                                 revoked=False, expires_at=expires))
        return key_id, key

    def tenant_for_key(self, key: str) -> str | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys.c.tenant).where(
                api_keys.c.key_hash == hash_key(key), api_keys.c.revoked.is_(False),
                or_(api_keys.c.expires_at.is_(None), api_keys.c.expires_at > time.time()))).first()
        return row[0] if row else None

    def list_api_keys(self, tenant: str | None = None) -> list[ApiKeyInfo]:
        query = select(api_keys.c.id, api_keys.c.tenant, api_keys.c.created_at, api_keys.c.expires_at,
                       api_keys.c.revoked).order_by(api_keys.c.tenant, api_keys.c.created_at)
        if tenant is not None:
            query = query.where(api_keys.c.tenant == tenant)
        with self.engine.connect() as conn:
            return [ApiKeyInfo(*row) for row in conn.execute(query)]

    def revoke_api_key(self, key_id: str) -> bool:
        """Revoke at once; False if no key has that id."""
        with self.engine.begin() as conn:
            return conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked=True)).rowcount > 0

    def rotate_api_key(self, key_id: str, grace_seconds: float = 0.0) -> tuple[str, str] | None:
        """A new key for the same tenant (its id and the key, shown once); the old one stops working
        at once, or after `grace_seconds` so clients can switch over. None if no key has that id."""
        with self.engine.connect() as conn:
            row = conn.execute(select(api_keys.c.tenant, api_keys.c.expires_at).where(
                api_keys.c.id == key_id, api_keys.c.revoked.is_(False))).first()
        if row is None:
            return None
        new = self._new_key(row.tenant, None)
        with self.engine.begin() as conn:
            if grace_seconds > 0:
                ends = time.time() + grace_seconds
                if row.expires_at is not None:
                    ends = min(ends, row.expires_at)
                conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(expires_at=ends))
            else:
                conn.execute(update(api_keys).where(api_keys.c.id == key_id).values(revoked=True))
        return new

    # --- submitting and reading jobs ------------------------------------------------------

    def submit(self, tenant: str, kind: str, input_json: str, time_limit_seconds: float,
               idempotency_key: str | None = None, max_active: int | None = None) -> tuple[Job, bool]:
        """Queue a job; (job, created). A repeated Idempotency-Key with the same input returns
        the first job; with a different input it raises IdempotencyConflict. A tenant with
        `max_active` jobs queued or running already gets TooManyJobs (a replay is never refused)."""
        request_hash = hashlib.sha256(f"{kind}\n{input_json}".encode()).hexdigest()
        now = time.time()
        row = dict(id=uuid.uuid4().hex, tenant=tenant, kind=kind, status=QUEUED, input=input_json,
                   request_hash=request_hash, idempotency_key=idempotency_key,
                   time_limit_seconds=time_limit_seconds, attempts=0, cancel_requested=False, created_at=now)
        if idempotency_key is not None:
            existing = self._by_idempotency_key(tenant, idempotency_key)
            if existing is not None:
                return self._replay(existing, request_hash), False
        max_active = self.max_active_jobs if max_active is None else max_active
        try:
            with self.engine.begin() as conn:
                self._lock_tenant(conn, tenant)  # the quotas' check and the insert, one tenant at a time
                existing = self._by_idempotency_key(tenant, idempotency_key, conn) if idempotency_key else None
                if existing is None:  # a replay that waited for the lock is still a replay, never refused
                    self._check_quotas(conn, tenant, time.time(), time_limit_seconds, max_active)
                    conn.execute(insert(jobs).values(**row))
            if existing is not None:
                return self._replay(existing, request_hash), False
        except IntegrityError:  # a concurrent request with the same key won the race
            existing = self._by_idempotency_key(tenant, idempotency_key) if idempotency_key else None
            if existing is None:
                raise
            return self._replay(existing, request_hash), False
        return self.get(row["id"], tenant), True

    def _lock_tenant(self, conn, tenant: str) -> None:
        """Hold the tenant's submissions until this transaction ends, so two concurrent ones cannot
        both pass a quota: PostgreSQL by a transaction-level advisory lock on the tenant, SQLite by
        taking its database write lock now (BEGIN IMMEDIATE) instead of at the insert."""
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"wfm_jobs:{tenant}"})
        elif conn.dialect.name == "sqlite":
            conn.exec_driver_sql("BEGIN IMMEDIATE")

    def _check_quotas(self, conn, tenant: str, now: float, time_limit_seconds: float, max_active: int | None) -> None:
        if max_active is not None:
            active = self._active_jobs(conn, tenant)
            if active >= max_active:
                raise TooManyJobs(active, max_active)
        if self.solver_seconds_per_hour is not None:
            used, committed = self._solver_seconds(conn, tenant, now)
            if used + committed + time_limit_seconds > self.solver_seconds_per_hour:
                raise SolverTimeExhausted(used, committed, time_limit_seconds, self.solver_seconds_per_hour)

    def solver_seconds(self, tenant: str, now: float, window: float = 3600.0) -> tuple[float, float]:
        """(seconds the tenant's jobs ran within the last `window` seconds, seconds its queued and
        running jobs may still run by their time limits). A job counts from its current attempt's start."""
        with self.engine.connect() as conn:
            return self._solver_seconds(conn, tenant, now, window)

    @staticmethod
    def _solver_seconds(conn, tenant: str, now: float, window: float = 3600.0) -> tuple[float, float]:
        query = select(jobs.c.status, jobs.c.started_at, jobs.c.finished_at, jobs.c.time_limit_seconds).where(
            jobs.c.tenant == tenant, or_(jobs.c.status.in_((QUEUED, RUNNING)), jobs.c.finished_at > now - window))
        used = committed = 0.0
        for status, started, finished, limit in conn.execute(query):
            ran = 0.0
            if started is not None:
                end = now if status in (QUEUED, RUNNING) or finished is None else finished
                ran = max(0.0, end - max(started, now - window))
            used += ran
            if status in (QUEUED, RUNNING):
                committed += max(0.0, limit - (now - started if status == RUNNING and started else 0.0))
        return used, committed

    def active_jobs(self, tenant: str) -> int:
        with self.engine.connect() as conn:
            return self._active_jobs(conn, tenant)

    @staticmethod
    def _active_jobs(conn, tenant: str) -> int:
        return conn.execute(select(func.count()).select_from(jobs).where(
            jobs.c.tenant == tenant, jobs.c.status.in_((QUEUED, RUNNING)))).scalar_one()

    def list_jobs(self, tenant: str, kind: str | None = None, status: str | None = None, limit: int = 20,
                  before: str | None = None) -> list[Job]:
        """The tenant's jobs, newest first; `before` (a job id) pages on from that job."""
        query = select(*_summary_columns()).where(jobs.c.tenant == tenant)
        if kind is not None:
            query = query.where(jobs.c.kind == kind)
        if status is not None:
            query = query.where(jobs.c.status == status)
        if before is not None:
            cursor = self.get(before, tenant)
            if cursor is None:
                return []
            query = query.where(or_(jobs.c.created_at < cursor.created_at,
                                    and_(jobs.c.created_at == cursor.created_at, jobs.c.id < cursor.id)))
        query = query.order_by(jobs.c.created_at.desc(), jobs.c.id.desc()).limit(limit)
        with self.engine.connect() as conn:
            return [Job.from_row(r) for r in conn.execute(query)]

    def _by_idempotency_key(self, tenant: str, key: str, conn=None):
        query = select(*_summary_columns(), jobs.c.request_hash).where(
            jobs.c.tenant == tenant, jobs.c.idempotency_key == key)
        if conn is not None:
            return conn.execute(query).first()
        with self.engine.connect() as conn:
            return conn.execute(query).first()

    @staticmethod
    def _replay(row, request_hash: str) -> Job:
        if row._mapping["request_hash"] != request_hash:
            raise IdempotencyConflict()
        return Job.from_row(row)

    def get(self, job_id: str, tenant: str | None = None, with_result: bool = False,
            with_input: bool = False) -> Job | None:
        """The job, or None if it does not exist or belongs to another tenant."""
        if not JOB_ID.fullmatch(job_id):
            return None
        cols = _summary_columns() + ([jobs.c.result] if with_result else []) + ([jobs.c.input] if with_input else [])
        query = select(*cols).where(jobs.c.id == job_id)
        if tenant is not None:
            query = query.where(jobs.c.tenant == tenant)
        with self.engine.connect() as conn:
            row = conn.execute(query).first()
        return Job.from_row(row) if row else None

    def cancel(self, job_id: str, tenant: str | None) -> Job | None:
        """Cancel a queued job at once; ask the runner to stop a running one."""
        if not JOB_ID.fullmatch(job_id):
            return None
        owned = [jobs.c.id == job_id] + ([jobs.c.tenant == tenant] if tenant is not None else [])
        with self.engine.begin() as conn:
            done = conn.execute(update(jobs).where(*owned, jobs.c.status == QUEUED).values(
                status=CANCELLED, cancel_requested=True, finished_at=time.time(),
                error=json.dumps({"reason": "cancelled", "message": "cancelled before it started"}))).rowcount
            if not done:
                conn.execute(update(jobs).where(*owned, jobs.c.status == RUNNING).values(cancel_requested=True))
        return self.get(job_id, tenant)

    # --- what a runner does ---------------------------------------------------------------

    def claim(self, owner: str, lease_seconds: float, limit: int = 1) -> list[Job]:
        """Take up to `limit` queued jobs for `owner`, fairly across tenants (`fair_order`), each
        tenant's oldest first."""
        claimed = []
        with self.engine.connect() as conn:
            heads = dict(conn.execute(select(jobs.c.tenant, func.min(jobs.c.created_at)).where(
                jobs.c.status == QUEUED).group_by(jobs.c.tenant)).all())
            running = dict(conn.execute(select(jobs.c.tenant, func.count()).where(
                jobs.c.status == RUNNING).group_by(jobs.c.tenant)).all())
        tries = 0
        while heads and len(claimed) < limit and tries < limit + 4:
            tries += 1
            tenant = fair_order(heads, running)[0]
            with self.engine.connect() as conn:
                job_id = conn.execute(select(jobs.c.id).where(jobs.c.tenant == tenant, jobs.c.status == QUEUED)
                                      .order_by(jobs.c.created_at).limit(1)).scalar()
            if job_id is None:
                del heads[tenant]
                continue
            now = time.time()
            with self.engine.begin() as conn:
                won = conn.execute(update(jobs).where(jobs.c.id == job_id, jobs.c.status == QUEUED).values(
                    status=RUNNING, owner=owner, lease_until=now + lease_seconds, started_at=now,
                    attempts=jobs.c.attempts + 1, progress=None, worker_pid=None)).rowcount
            if won:
                claimed.append(self.get(job_id, with_input=True))
                running[tenant] = running.get(tenant, 0) + 1
        return claimed

    def _mine(self, job_id: str, owner: str):
        return (jobs.c.id == job_id, jobs.c.owner == owner, jobs.c.status == RUNNING)

    def set_worker(self, job_id: str, owner: str, pid: int) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(worker_pid=pid))

    def renew(self, owner: str, job_ids: list[str], lease_seconds: float) -> set[str]:
        """Extend the leases; returns the ids this owner still holds."""
        if not job_ids:
            return set()
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(jobs.c.id.in_(job_ids), jobs.c.owner == owner,
                                            jobs.c.status == RUNNING).values(lease_until=time.time() + lease_seconds))
            return {r[0] for r in conn.execute(select(jobs.c.id).where(
                jobs.c.id.in_(job_ids), jobs.c.owner == owner, jobs.c.status == RUNNING))}

    def cancel_requested(self, owner: str, job_ids: list[str]) -> list[str]:
        if not job_ids:
            return []
        with self.engine.connect() as conn:
            return [r[0] for r in conn.execute(select(jobs.c.id).where(
                jobs.c.id.in_(job_ids), jobs.c.owner == owner, jobs.c.status == RUNNING,
                jobs.c.cancel_requested.is_(True)))]

    def set_progress(self, job_id: str, owner: str, progress: dict) -> None:
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(progress=json.dumps(progress)))

    def finish(self, job_id: str, owner: str, result_json: str, progress: dict | None = None) -> bool:
        values = dict(status=SUCCEEDED, result=result_json, finished_at=time.time(), owner=None, lease_until=None,
                      error=None)  # an earlier attempt's worker_lost is history, not this job's outcome
        if progress is not None:
            values["progress"] = json.dumps(progress)
        with self.engine.begin() as conn:
            return bool(conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(**values)).rowcount)

    def fail(self, job_id: str, owner: str, error: dict, status: str = FAILED) -> bool:
        with self.engine.begin() as conn:
            return bool(conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(
                status=status, error=json.dumps(error), finished_at=time.time(), owner=None,
                lease_until=None)).rowcount)

    def retry_or_fail(self, job_id: str, owner: str, max_attempts: int, reason: str, message: str) -> str:
        """After a worker died: queue the job again, or fail it once it has had `max_attempts` starts."""
        with self.engine.begin() as conn:
            row = conn.execute(select(jobs.c.attempts).where(*self._mine(job_id, owner))).first()
            if row is None:
                return "lost"
            if row[0] >= max_attempts:
                status, values = FAILED, dict(status=FAILED, finished_at=time.time(), error=json.dumps(
                    {"reason": reason, "message": f"{message}; gave up after {row[0]} attempts"}))
            else:
                status, values = QUEUED, dict(status=QUEUED, error=json.dumps({"reason": reason, "message": message}))
            conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(
                owner=None, lease_until=None, worker_pid=None, **values))
        return status

    def release(self, job_id: str, owner: str) -> None:
        """A runner shutting down cleanly gives its job back; the interrupted start does not count."""
        with self.engine.begin() as conn:
            conn.execute(update(jobs).where(*self._mine(job_id, owner)).values(
                status=QUEUED, owner=None, lease_until=None, worker_pid=None, attempts=jobs.c.attempts - 1))

    def recover_expired(self, max_attempts: int, own: str | None = None) -> dict[str, int]:
        """Running jobs whose runner stopped renewing its lease (it died): queue them again,
        or fail those already started `max_attempts` times. Cancelled ones become cancelled.
        `own`: the calling runner, whose jobs are alive whatever their lease says."""
        now = time.time()
        expired = (jobs.c.status == RUNNING, jobs.c.lease_until < now) + (
            (jobs.c.owner != own,) if own is not None else ())
        counts = {}
        with self.engine.begin() as conn:
            counts[CANCELLED] = conn.execute(update(jobs).where(*expired, jobs.c.cancel_requested.is_(True)).values(
                status=CANCELLED, owner=None, lease_until=None, finished_at=now,
                error=json.dumps({"reason": "cancelled", "message": "cancelled while its server was down"}))).rowcount
            counts[FAILED] = conn.execute(update(jobs).where(*expired, jobs.c.attempts >= max_attempts).values(
                status=FAILED, owner=None, lease_until=None, finished_at=now, error=json.dumps(
                    {"reason": "worker_lost", "message": f"its worker stopped {max_attempts} times "
                                                         "(server restarts or crashes); not retried again"}))).rowcount
            counts[QUEUED] = conn.execute(update(jobs).where(*expired).values(
                status=QUEUED, owner=None, lease_until=None, worker_pid=None, error=json.dumps(
                    {"reason": "worker_lost", "message": "its worker stopped; queued again"}))).rowcount
        return counts


def _private_file(path: str | None) -> None:
    """The SQLite file holds every tenant's data and key hashes: readable by its owner only (0600)."""
    if not path or path == ":memory:":
        return
    fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o600)
    os.close(fd)
    os.chmod(path, 0o600)


def _sqlite_pragmas(dbapi_conn, _record) -> None:
    # WAL lets readers run while the job runner writes; busy_timeout makes writers wait, not fail.
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=30000")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
