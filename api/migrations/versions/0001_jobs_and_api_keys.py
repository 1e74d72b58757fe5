"""The previous release's schema: jobs and API keys (made by metadata.create_all, no version table).

A database that already has these tables is adopted as it is; an empty one gets them.

Revision ID: 0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _exists(name: str) -> bool:
    schema = op.get_context().version_table_schema
    return sa.inspect(op.get_bind()).has_table(name, schema=schema)


def upgrade() -> None:
    if not _exists("wfm_api_keys"):
        op.create_table(
            "wfm_api_keys",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("tenant", sa.String(200), nullable=False),
            sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("revoked", sa.Boolean, nullable=False),
        )
    if not _exists("wfm_jobs"):
        op.create_table(
            "wfm_jobs",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("tenant", sa.String(200), nullable=False),
            sa.Column("kind", sa.String(16), nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("input", sa.Text, nullable=False),
            sa.Column("request_hash", sa.String(64), nullable=False),
            sa.Column("idempotency_key", sa.String(200)),
            sa.Column("time_limit_seconds", sa.Float, nullable=False),
            sa.Column("result", sa.Text),
            sa.Column("error", sa.Text),
            sa.Column("progress", sa.Text),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("cancel_requested", sa.Boolean, nullable=False),
            sa.Column("owner", sa.String(64)),
            sa.Column("lease_until", sa.Float),
            sa.Column("worker_pid", sa.Integer),
            sa.Column("created_at", sa.Float, nullable=False),
            sa.Column("started_at", sa.Float),
            sa.Column("finished_at", sa.Float),
            sa.UniqueConstraint("tenant", "idempotency_key", name="wfm_jobs_idempotency"),
        )
        op.create_index("ix_wfm_jobs_tenant", "wfm_jobs", ["tenant"])
        op.create_index("ix_wfm_jobs_status", "wfm_jobs", ["status"])


def downgrade() -> None:
    op.drop_table("wfm_jobs")
    op.drop_table("wfm_api_keys")
