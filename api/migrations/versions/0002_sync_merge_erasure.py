"""Identical pending syncs merge (one queued job per source) and outbox rows name their conversation
(so erasing a conversation finds its events).

Revision ID: 0002
Revises: 0002_channels
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0002_channels"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sync_jobs") as batch_op:
        batch_op.create_index(
            "uq_sync_jobs_queued_source",
            ["source_id"],
            unique=True,
            sqlite_where=sa.text("status = 'queued'"),
            postgresql_where=sa.text("status = 'queued'"),
        )
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.add_column(sa.Column("conversation_id", sa.String(length=200), nullable=True))
        batch_op.create_index("ix_webhook_deliveries_conversation_id", ["conversation_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("webhook_deliveries") as batch_op:
        batch_op.drop_index("ix_webhook_deliveries_conversation_id")
        batch_op.drop_column("conversation_id")
    with op.batch_alter_table("sync_jobs") as batch_op:
        batch_op.drop_index("uq_sync_jobs_queued_source")
