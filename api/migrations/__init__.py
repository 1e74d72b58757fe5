"""Schema migrations (Alembic): `upgrade(engine, schema)` brings a database to the newest schema.

It works from an empty database and from the one the previous release made with
`metadata.create_all` (jobs and API keys, no version table): the first revision creates only the
tables that are missing, so that database is adopted as it stands.
"""

from __future__ import annotations

import time
from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError

HERE = Path(__file__).parent
VERSION_TABLE = "wfm_schema_version"
PG_LOCK = 0x77666D  # any constant: serialises servers starting at once on one PostgreSQL database


def config(connection, schema: str | None) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(HERE))
    cfg.attributes["connection"], cfg.attributes["schema"] = connection, schema
    return cfg


def upgrade(engine: Engine, schema: str | None = None, revision: str = "head", attempts: int = 3) -> None:
    """Migrate to `revision`. Processes starting together on one SQLite file may collide; the
    loser retries and finds the schema already done."""
    for attempt in range(attempts):
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": PG_LOCK})
                command.upgrade(config(conn, schema), revision)
            return
        except DBAPIError:
            if attempt == attempts - 1 or engine.dialect.name != "sqlite":
                raise
            time.sleep(0.2 * (attempt + 1))


def current(engine: Engine, schema: str | None = None) -> str | None:
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as conn:
        opts = {"version_table": VERSION_TABLE, "version_table_schema": schema}
        return MigrationContext.configure(conn, opts=opts).get_current_revision()
