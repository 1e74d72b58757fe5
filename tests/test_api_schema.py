"""Schemathesis against the service's own OpenAPI schema: generated requests to every
operation never get a 5xx, and every answer (status, content type, headers, body) is one the
schema documents. Bounded: 8 examples per operation keep it to seconds. Run on SQLite and, when
a server answers at WFM_TEST_POSTGRES_URL, on PostgreSQL (its driver refuses what SQLite takes,
e.g. a NUL byte in a path id); without one the PostgreSQL run skips, naming why.

Stateful too: sequences that follow the schema's OpenAPI links (api/openapi_links.py), e.g. create
a roster job -> its status -> its roster, create a site -> patch it -> read it, with the same checks.

Not checked: that every schema-violating request is refused (pydantic's lax mode reads
`false` as 0 and "60" as 60 on purpose) and that every schema-valid request is accepted (a
service level of 1.5 fits the schema's number but is a 422 with a reason).
"""

import os
import tempfile
import time
import uuid
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from schemathesis.checks import (content_type_conformance, not_a_server_error, response_headers_conformance,
                                 response_schema_conformance, status_code_conformance)
from sqlalchemy import create_engine, text

from api.app import create_app
from api.openapi_links import LINKS
from api.settings import Settings
from api.store import Store
from api_helpers import history_rows

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
    store = Store(database_url, database_schema)
    key = store.create_api_key("fuzz")
    app = create_app(Settings(database_url=database_url, database_schema=database_schema, max_agents=5,
                              max_templates=3, max_horizon_days=3, max_solve_seconds=1, max_solver_threads=1,
                              job_grace_seconds=2, max_intervals=2000, max_history_rows=1000,
                              max_body_bytes=200_000))
    return schemathesis.openapi.from_asgi("/openapi.json", app), key, (app, store)


sqlite_schema, SQLITE_KEY, SQLITE_APP = fuzzed_app(
    f"sqlite:///{Path(tempfile.mkdtemp(prefix='wfm-schema-')) / 'jobs.db'}")
PG_MISSING = postgres_error()
pg_schema, PG_KEY, PG_APP = (None, None, None) if PG_MISSING else fuzzed_app(PG_URL, PG_SCHEMA)

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
FUZZ = settings(max_examples=8, deadline=None, derandomize=True,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])

# Stateful: sequences that follow the schema's links (a created job to its status, result and
# cancellation; a created site to its reads and changes). Small by default; WFM_FUZZ_SEQUENCES=200
# (say) for a fuller run, with WFM_FUZZ_PLANS=1 to send valid plans too.
STATEFUL = settings(max_examples=int(os.environ.get("WFM_FUZZ_SEQUENCES", "12")), stateful_step_count=5,
                    deadline=None, derandomize=True, suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate])  # no shrinking: the database remembers earlier sequences
FINISHED = {"succeeded", "failed", "cancelled"}
SITE_IDS = st.from_regex(r"[A-Za-z0-9][A-Za-z0-9_.@-]{0,20}", fullmatch=True)
SITES = st.fixed_dictionaries({"id": SITE_IDS, "name": st.text(min_size=1, max_size=20),
                               "timezone": st.sampled_from(["Europe/Berlin", "America/New_York", "UTC"]),
                               "interval_minutes": st.sampled_from([15, 30, 60])})
ROSTERS = st.builds(
    lambda start, zone, agents, limit: {
        "horizon": {"start": start, "days": 1, "interval_minutes": 60, "timezone": zone},
        "requirements": [{"queue": "sales", "agents": [1] * hours_of(start, zone)}],
        "templates": [{"id": "day", "start_times": ["08:00", "09:00"], "length_minutes": 480}],
        "agents": [{"id": f"a{i}", "skills": ["sales"]} for i in range(agents)],
        "solver": {"time_limit_seconds": limit}},
    st.sampled_from(["2026-06-01", "2026-03-29", "2026-10-25"]),  # an ordinary day, 23 and 25 hours in Berlin
    st.sampled_from(["Europe/Berlin", "UTC"]), st.integers(1, 3), st.sampled_from([0.5, 1]))


def hours_of(day: str, zone: str) -> int:
    start = datetime.fromisoformat(day).replace(tzinfo=ZoneInfo(zone))
    end = start + timedelta(days=1)  # wall-clock arithmetic: the next local midnight
    return round((end.astimezone(timezone.utc) - start.astimezone(timezone.utc)).total_seconds() / 3600)


# Generated bodies are mostly refused (a random timezone, requirements of the wrong length), which
# would end every sequence at its first step: the roots also draw from these valid ones.
VALID_ROOTS = {"POST /v1/sites": SITES, "POST /v1/rosters": ROSTERS}
if os.environ.get("WFM_FUZZ_PLANS"):  # a plan job takes seconds: in the fuller run only
    VALID_ROOTS["POST /v1/plans"] = st.builds(
        lambda agents, simulation: {
            "history": history_rows(weeks=2), "forecast": {"timezone": "Europe/Berlin", "days": 1, "folds": 1},
            "default_target": {"service_level": 0.8, "answer_seconds": 20},
            "templates": [{"id": "day", "start_times": ["08:00", "09:00"], "length_minutes": 480}],
            "agents": [{"id": f"a{i}", "skills": ["billing"]} for i in range(agents)],
            "solver": {"time_limit_seconds": 1}, "simulation": simulation},
        st.integers(1, 3), st.sampled_from([None, {"replications": 2}]))


def workflow(app, store: Store):
    """A schemathesis state machine over `app` following the OpenAPI links, positive requests only
    (the stateless run covers the negative ones). Each sequence is a new tenant and sees a job once
    it has finished, so that the same steps get the same answers (Hypothesis replays them)."""
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    schema.config.phases.stateful.inference.algorithms = []  # the schema's own links only
    schema.config.generation.update(modes=["positive"])

    @schema.hook
    def before_generate_body(context, strategy):
        valid = VALID_ROOTS.get(context.operation.label)
        return strategy if valid is None else st.one_of(strategy, valid)

    class Workflow(schema.as_state_machine()):
        def setup(self):
            self.tenant = f"fuzz-{uuid.uuid4().hex}"
            self.key = store.create_api_key(self.tenant)

        def get_call_kwargs(self, case):
            return {"headers": {"X-API-Key": self.key}}

        def before_call(self, case):
            job_id = case.path_parameters.get("job_id") if case.path_parameters else None
            if isinstance(job_id, str):
                wait_until_finished(app.state.store, job_id, self.tenant)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            if os.environ.get("WFM_FUZZ_TRACE"):
                print("TRACE", case.operation.label, response.status_code, response.content[:150])
            case.validate_response(response, checks=CHECKS, transport_kwargs=kwargs or None, recorder=self.recorder)

    return Workflow


def wait_until_finished(store: Store, job_id: str, tenant: str, seconds: float = 15.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        job = store.get(job_id, tenant)
        if job is None or job.status in FINISHED:
            return
        time.sleep(0.05)


@sqlite_schema.parametrize()
@FUZZ
def test_no_server_errors_and_answers_match_the_schema(case):
    case.call_and_validate(headers={"X-API-Key": SQLITE_KEY}, checks=CHECKS)


def test_every_link_of_the_schema_leads_to_an_operation():
    schema = SQLITE_APP[0].openapi()
    operations = {op["operationId"] for path in schema["paths"].values() for op in path.values()}
    for (method, path, status), links in LINKS.items():
        offered = schema["paths"][path][method]["responses"][status]["links"]
        assert sorted(offered) == sorted(name for name, *_ in links), (method, path, status)
        assert {link["operationId"] for link in offered.values()} <= operations


def test_sequences_follow_the_links_without_server_errors():
    workflow(*SQLITE_APP).run(settings=STATEFUL)


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

    def test_sequences_follow_the_links_without_server_errors_on_postgresql():
        workflow(*PG_APP).run(settings=STATEFUL)
else:
    def test_no_server_errors_and_answers_match_the_schema_on_postgresql():
        pytest.skip(f"schemathesis on PostgreSQL skipped: {PG_MISSING}; the SQLite run covers the API")

    def test_sequences_follow_the_links_without_server_errors_on_postgresql():
        pytest.skip(f"stateful schemathesis on PostgreSQL skipped: {PG_MISSING}; the SQLite run covers the API")
