"""Webhook deliveries are claimed one per job, in order: an index to find a job's pending ones.

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-07 11:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0010"
down_revision: str | None = "0009"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_webhook_deliveries_job_state_next_attempt_at",
        "webhook_deliveries",
        ["job_id", "state", "next_attempt_at"],
    )


def downgrade() -> None:
    op.drop_index("ix_webhook_deliveries_job_state_next_attempt_at", "webhook_deliveries")
