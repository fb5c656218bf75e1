"""API keys, and jobs owned by the key that made them (idempotency keys per owner).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-06 00:00:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("scope", sa.String(16), nullable=False),
        sa.Column("secret_sha256", sa.String(64), nullable=False),
        sa.Column("rate", sa.String(64), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("secret_sha256", name="uq_api_keys_secret_sha256"),
    )
    # Jobs made before keys existed were anonymous ("").
    with op.batch_alter_table("jobs") as batch:
        batch.add_column(sa.Column("owner", sa.String(32), nullable=False, server_default=""))
        batch.drop_constraint("uq_jobs_idempotency_key", type_="unique")
        batch.create_unique_constraint(
            "uq_jobs_owner_idempotency_key", ["owner", "idempotency_key"]
        )
        batch.create_index("ix_jobs_owner_created_at_id", ["owner", "created_at", "id"])


def downgrade() -> None:
    with op.batch_alter_table("jobs") as batch:
        batch.drop_index("ix_jobs_owner_created_at_id")
        batch.drop_constraint("uq_jobs_owner_idempotency_key", type_="unique")
        batch.create_unique_constraint("uq_jobs_idempotency_key", ["idempotency_key"])
        batch.drop_column("owner")
    op.drop_table("api_keys")
