"""Schema migrations: from an empty database and from the previous release's (tables made by
`metadata.create_all`, jobs and keys in them, no version table), on SQLite and PostgreSQL; after
them the database matches the tables the code declares."""

import json

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Boolean, Column, Float, MetaData, String, Table, create_engine, inspect, text

from api import migrations, schedules, site_requests, sites  # noqa: F401  (their tables join `metadata`, to compare)
from api.sites import Registry
from api.store import Store, api_keys, jobs, metadata
from test_api_store import _postgres_or_skip  # noqa: F401  (the PostgreSQL server probe shared by the store tests)

import os
import uuid


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request, tmp_path):
    """(url, schema) of an empty database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'jobs.db'}", None
        return
    url = _postgres_or_skip()
    schema = f"wfm_mig_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    yield url, schema
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def _engine(url, schema):
    engine = create_engine(url)
    return engine.execution_options(schema_translate_map={None: schema}) if schema else engine


def _tables(engine, schema) -> set[str]:
    return set(inspect(engine).get_table_names(schema=schema))


def _drift(engine, schema) -> list:
    """What autogenerate would change to make the database match the declared tables."""
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"include_schemas": False, "version_table_schema": schema})
        if schema:
            conn.execute(text(f'SET search_path TO "{schema}"'))
        return [d for d in compare_metadata(context, metadata)
                if not (d[0] == "remove_table" and d[1].name == migrations.VERSION_TABLE)]


def test_an_empty_database_gets_every_table_and_matches_the_code(database):
    url, schema = database
    store = Store(url, schema)
    assert migrations.current(store.engine, schema) == "0005"
    assert {"wfm_jobs", "wfm_api_keys", "wfm_sites", "wfm_site_items", "wfm_site_audit", "wfm_site_schedules",
            "wfm_site_requests",
            migrations.VERSION_TABLE} <= _tables(store.engine, schema)
    assert _drift(store.engine, schema) == []
    store.dispose()


@pytest.mark.parametrize("with_expiry", [False, True], ids=["before-key-expiry", "with-key-expiry"])
def test_the_previous_release_database_is_adopted_with_its_jobs_and_keys(database, with_expiry):
    url, schema = database
    # The previous releases: create_all of the job and key tables (keys with or without expires_at).
    old = _engine(url, schema)
    previous = MetaData()
    jobs.to_metadata(previous)
    Table("wfm_api_keys", previous, Column("id", String(32), primary_key=True),
          Column("tenant", String(200), nullable=False), Column("key_hash", String(64), nullable=False, unique=True),
          Column("created_at", Float, nullable=False), Column("revoked", Boolean, nullable=False),
          *([Column("expires_at", Float)] if with_expiry else []))
    previous.create_all(old)
    with old.begin() as conn:
        conn.execute(jobs.insert().values(id="a" * 32, tenant="acme", kind="roster", status="succeeded",
                                          input="{}", request_hash="h", time_limit_seconds=5.0, attempts=1,
                                          cancel_requested=False, created_at=1.0, result='{"ok": true}'))
    assert migrations.VERSION_TABLE not in _tables(old, schema)
    old.dispose()
    store = Store(url, schema)
    with store.engine.begin() as conn:  # a key made by the previous release still works after the upgrade
        conn.execute(api_keys.insert().values(id="k" * 32, tenant="acme", key_hash="0" * 64, created_at=1.0,
                                              revoked=False, expires_at=None))
    assert migrations.current(store.engine, schema) == "0005"
    assert json.loads(store.get("a" * 32, "acme", with_result=True).result) == {"ok": True}
    Registry(store.engine).create_site("acme", {"id": "ber", "name": "Berlin", "timezone": "Europe/Berlin",
                                                "interval_minutes": 15}, "k" * 32)
    assert _drift(store.engine, schema) == []
    store.dispose()
    again = Store(url, schema)  # a restart on the migrated database changes nothing
    assert Registry(again.engine).get_site("acme", "ber").body["name"] == "Berlin"
    again.dispose()


def test_a_database_at_the_first_revision_moves_up_to_the_newest(database):
    url, schema = database
    engine = _engine(url, schema)
    migrations.upgrade(engine, schema, revision="0001")
    assert migrations.current(engine, schema) == "0001"
    assert "wfm_sites" not in _tables(engine, schema)
    assert "expires_at" not in {c["name"] for c in inspect(engine).get_columns("wfm_api_keys", schema=schema)}
    migrations.upgrade(engine, schema)
    assert migrations.current(engine, schema) == "0005" and "wfm_sites" in _tables(engine, schema)
    engine.dispose()
