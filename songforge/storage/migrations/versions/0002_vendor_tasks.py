"""The vendor task table (``vendor_tasks``), made here so that processes starting together on
PostgreSQL never race to create it (its ``create_all`` then finds it and does nothing).

Revision ID: 0002
Revises: 0001
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    if sa.inspect(op.get_bind()).has_table("vendor_tasks"):
        return
    op.create_table(
        "vendor_tasks",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("ref", sa.String(128)),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("param", sa.Text, nullable=False),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("owner_key_id", sa.String(32)),
        sa.Column("callback_url", sa.Text),
        sa.Column("error_code", sa.Integer),
        sa.Column("error_message", sa.Text),
        sa.Column("sent", sa.Text, nullable=False),
        sa.Column("created_at", sa.DateTime, nullable=False),
        sa.Column("updated_at", sa.DateTime, nullable=False),
        sa.Column("completed_at", sa.DateTime),
    )
    for column in ("kind", "ref", "owner_key_id"):
        op.create_index(f"ix_vendor_tasks_{column}", "vendor_tasks", [column])


def downgrade() -> None:
    op.drop_table("vendor_tasks")
