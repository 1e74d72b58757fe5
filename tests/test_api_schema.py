"""Schemathesis against the service's own OpenAPI schema: generated requests to every
operation never get a 5xx, and every answer (status, content type, headers, body) is one the
schema documents. Bounded: 8 examples per operation keep it to seconds.

Not checked: that every schema-violating request is refused (pydantic's lax mode reads
`false` as 0 and "60" as 60 on purpose) and that every schema-valid request is accepted (a
service level of 1.5 fits the schema's number but is a 422 with a reason).
"""

import tempfile
from pathlib import Path

import schemathesis
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)
from hypothesis import HealthCheck, settings

from api.app import create_app
from api.settings import Settings
from api.store import Store

_db = f"sqlite:///{Path(tempfile.mkdtemp(prefix='wfm-schema-')) / 'jobs.db'}"
KEY = Store(_db).create_api_key("fuzz")
# Tiny limits: a generated roster that is accepted solves (or is stopped) within a second.
app = create_app(Settings(database_url=_db, max_agents=5, max_templates=3, max_horizon_days=3,
                          max_solve_seconds=1, max_solver_threads=1, job_grace_seconds=2, max_intervals=2000,
                          max_history_rows=500, max_body_bytes=200_000))
schema = schemathesis.openapi.from_asgi("/openapi.json", app)


CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]


@schema.parametrize()
@settings(max_examples=8, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
def test_no_server_errors_and_answers_match_the_schema(case):
    case.call_and_validate(headers={"X-API-Key": KEY}, checks=CHECKS)
