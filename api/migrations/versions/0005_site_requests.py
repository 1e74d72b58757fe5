"""Time-off and shift-swap requests of a site, and which request a schedule version applied.

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wfm_site_requests",
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("id", sa.String(32), primary_key=True),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("check_result", sa.Text, nullable=False),
        sa.Column("decision", sa.Text),
        sa.Column("revision", sa.Integer, nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("created_at", sa.Float, nullable=False),
        sa.Column("decided_at", sa.Float),
        sa.Column("applied_version", sa.Integer),
    )
    op.create_index("ix_wfm_site_requests_created", "wfm_site_requests", ["tenant", "site_id", "created_at"])
    schema = op.get_context().version_table_schema  # an ALTER names its schema itself (as 0002 does)
    op.add_column("wfm_site_schedules", sa.Column("request_id", sa.String(32)), schema=schema)


def downgrade() -> None:
    op.drop_column("wfm_site_schedules", "request_id", schema=op.get_context().version_table_schema)
    op.drop_index("ix_wfm_site_requests_created", "wfm_site_requests")
    op.drop_table("wfm_site_requests")
