"""API keys expire: wfm_api_keys.expires_at (None: never).

Added only where missing: a database made between key expiry and migrations already has it.

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    schema = op.get_context().version_table_schema
    columns = {c["name"] for c in sa.inspect(op.get_bind()).get_columns("wfm_api_keys", schema=schema)}
    if "expires_at" not in columns:
        op.add_column("wfm_api_keys", sa.Column("expires_at", sa.Float), schema=schema)


def downgrade() -> None:
    op.drop_column("wfm_api_keys", "expires_at", schema=op.get_context().version_table_schema)
