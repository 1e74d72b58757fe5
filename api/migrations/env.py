"""Alembic's entry point: runs on the connection `api.migrations.upgrade` hands over."""

from alembic import context

from api.migrations import VERSION_TABLE

config = context.config
connection = config.attributes["connection"]
context.configure(connection=connection, version_table=VERSION_TABLE,
                  version_table_schema=config.attributes.get("schema"),
                  render_as_batch=connection.dialect.name == "sqlite")  # SQLite alters tables by copying them
with context.begin_transaction():
    context.run_migrations()
