"""Published schedules: each publication of a roster for a site is a new version.

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "wfm_site_schedules",
        sa.Column("tenant", sa.String(200), primary_key=True),
        sa.Column("site_id", sa.String(64), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("job_id", sa.String(32), nullable=False),
        sa.Column("published_at", sa.Float, nullable=False),
        sa.Column("key_id", sa.String(32)),
        sa.Column("shifts", sa.Text, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("wfm_site_schedules")
