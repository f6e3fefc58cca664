"""LRS report rollups: ``usage_daily`` (per key, UTC day, asset, source, cache tier and status:
counts, latency sum/min/max and a sparse latency histogram as JSON text) and
``usage_rollup_state`` (how far the rollup has got). See docs/lrs.md.

Revision ID: 0002
Revises: 0001
Create Date: 2026-06-22
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

def _big(name: str) -> sa.Column[int]:
    return sa.Column(name, sa.BigInteger(), nullable=False)


def upgrade() -> None:
    op.create_table(
        "usage_daily",
        sa.Column("api_key_id", sa.Text(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("asset", sa.Text(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("cache_tier", sa.Text(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False, autoincrement=False),
        _big("requests"), _big("sum_us"), _big("min_us"), _big("max_us"),
        sa.Column("latency_histogram", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("api_key_id", "day", "asset", "source", "cache_tier", "status",
                                name=op.f("pk_usage_daily")),
    )
    op.create_index(op.f("ix_usage_daily_day"), "usage_daily", ["day"], unique=False)
    op.create_table(
        "usage_rollup_state",
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("rolled_through", sa.Date(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False,
                  server_default=sa.text("CURRENT_TIMESTAMP")),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_usage_rollup_state")),
    )


def downgrade() -> None:
    op.drop_table("usage_rollup_state")
    op.drop_index(op.f("ix_usage_daily_day"), table_name="usage_daily")
    op.drop_table("usage_daily")
