"""Schemathesis against the service's own OpenAPI schema: generated requests to every
operation never get a 5xx, and every answer (status, content type, headers, body) is one the
schema documents. Bounded: 8 examples per operation keep it to seconds. Run on SQLite and, when
a server answers at WFM_TEST_POSTGRES_URL, on PostgreSQL (its driver refuses what SQLite takes,
e.g. a NUL byte in a path id); without one the PostgreSQL run skips, naming why.

Not checked: that every schema-violating request is refused (pydantic's lax mode reads
`false` as 0 and "60" as 60 on purpose) and that every schema-valid request is accepted (a
service level of 1.5 fits the schema's number but is a 422 with a reason).
"""

import os
import tempfile
import uuid
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)
from sqlalchemy import create_engine, text

from api.app import create_app
from api.settings import Settings
from api.store import Store

PG_URL = os.environ.get("WFM_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")
PG_SCHEMA = f"wfm_fuzz_{os.getpid()}_{uuid.uuid4().hex[:8]}"


def postgres_error() -> str | None:
    """Why PostgreSQL cannot be used here, or None when it can."""
    try:
        engine = create_engine(PG_URL, connect_args={"connect_timeout": 3})
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
        engine.dispose()
    except Exception as exc:
        return f"no PostgreSQL at {PG_URL} ({type(exc).__name__})"
    return None


def fuzzed_app(database_url: str, database_schema: str | None = None):
    """The app with tiny limits (a generated roster that is accepted solves, or is stopped, within
    a second) and a key for the fuzzer."""
    key = Store(database_url, database_schema).create_api_key("fuzz")
    app = create_app(Settings(database_url=database_url, database_schema=database_schema, max_agents=5,
                              max_templates=3, max_horizon_days=3, max_solve_seconds=1, max_solver_threads=1,
                              job_grace_seconds=2, max_intervals=2000, max_history_rows=500,
                              max_body_bytes=200_000))
    return schemathesis.openapi.from_asgi("/openapi.json", app), key


sqlite_schema, SQLITE_KEY = fuzzed_app(f"sqlite:///{Path(tempfile.mkdtemp(prefix='wfm-schema-')) / 'jobs.db'}")
PG_MISSING = postgres_error()
pg_schema, PG_KEY = (None, None) if PG_MISSING else fuzzed_app(PG_URL, PG_SCHEMA)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
FUZZ = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])


@sqlite_schema.parametrize()
@FUZZ
def test_no_server_errors_and_answers_match_the_schema(case):
    case.call_and_validate(headers={"X-API-Key": SQLITE_KEY}, checks=CHECKS)


if pg_schema is not None:
    @pytest.fixture(scope="module", autouse=True)
    def drop_the_fuzz_schema():
        yield
        engine = create_engine(PG_URL)
        with engine.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{PG_SCHEMA}" CASCADE'))
        engine.dispose()

    @pg_schema.parametrize()
    @FUZZ
    def test_no_server_errors_and_answers_match_the_schema_on_postgresql(case):
        case.call_and_validate(headers={"X-API-Key": PG_KEY}, checks=CHECKS)
else:
    def test_no_server_errors_and_answers_match_the_schema_on_postgresql():
        pytest.skip(f"schemathesis on PostgreSQL skipped: {PG_MISSING}; the SQLite run covers the API")
