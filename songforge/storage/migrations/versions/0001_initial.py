"""The job store as it was before migrations: ``jobs`` and ``api_keys``.

Databases made by the earlier ``create_all`` already have these tables; they are adopted as they
are (only what is missing is created).

Revision ID: 0001
Revises:
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def _has_table(name: str) -> bool:
    return sa.inspect(op.get_bind()).has_table(name)


def upgrade() -> None:
    if not _has_table("jobs"):
        op.create_table(
            "jobs",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("batch_id", sa.String(32)),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("updated_at", sa.DateTime, nullable=False),
            sa.Column("status", sa.String(16), nullable=False),
            sa.Column("stage", sa.String(16)),
            sa.Column("progress_pct", sa.Float, nullable=False),
            sa.Column("request", sa.Text, nullable=False),
            sa.Column("dialect", sa.String(32), nullable=False),
            sa.Column("attempts", sa.Integer, nullable=False),
            sa.Column("error_code", sa.String(64)),
            sa.Column("error_message", sa.Text),
            sa.Column("result", sa.Text),
            sa.Column("callback_url", sa.Text),
            sa.Column("owner_key_id", sa.String(32)),
            sa.Column("variation_index", sa.Integer, nullable=False),
            sa.Column("claim_token", sa.String(32)),
            sa.Column("claimed_at", sa.DateTime),
            sa.Column("not_before", sa.DateTime),
        )
        for column in ("batch_id", "created_at", "status", "owner_key_id"):
            op.create_index(f"ix_jobs_{column}", "jobs", [column])
    if not _has_table("api_keys"):
        op.create_table(
            "api_keys",
            sa.Column("id", sa.String(32), primary_key=True),
            sa.Column("name", sa.String(200), nullable=False),
            sa.Column("tier", sa.String(16), nullable=False),
            sa.Column("key_hash", sa.String(64), nullable=False, unique=True),
            sa.Column("created_at", sa.DateTime, nullable=False),
            sa.Column("revoked_at", sa.DateTime),
        )


def downgrade() -> None:
    op.drop_table("api_keys")
    op.drop_table("jobs")
