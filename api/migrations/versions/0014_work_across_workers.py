"""Background work correct across workers: webhook subscriptions can be disabled (a receiver that
answers 410 Gone, or an admin), sync jobs carry a lease their runner renews, and the index has a
generation number every worker watches.

- `webhook_subscriptions.disabled_at`, `disabled_reason`: NULL while the subscription is enabled.
- `webhook_deliveries (subscription_id, status, created_at)`: the dead-letter list of one
  subscription (`GET /v1/webhooks/{id}/deliveries?status=failed`) without a scan; and pending
  rows in claim order `(created_at, id)`, so a claim reads its batch from the index instead of
  sorting every pending row (measured with benchmarks/outbox.py: a 3,000-row backlog cost a
  19 ms sort per batch of 20 on PostgreSQL).
- `sync_jobs.lease_owner`, `lease_expires_at`: who runs the job and until when it is presumed
  alive; a running job whose lease has expired is interrupted by whichever worker looks next.
  At most one job runs at a time across every worker (a partial unique index on `status`): two
  syncs would race to swap the same index. Jobs running when this migration runs carry no lease
  (they were started by a version that failed every running job at start): they end as
  interrupted here.
- `knowledge_index`: one row, the generation of the published index, bumped by each sync that
  publishes a new one.

Revision ID: 0014_work_across_workers
Revises: 0013_analytics_reply_lookup
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014_work_across_workers"
down_revision = "0013_analytics_reply_lookup"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("disabled_reason", sa.Text(), nullable=True))
    op.create_index(
        "ix_webhook_deliveries_subscription_status",
        "webhook_deliveries",
        ["subscription_id", "status", "created_at"],
    )
    op.create_index(
        "ix_webhook_deliveries_pending_order",
        "webhook_deliveries",
        ["created_at", "id"],
        sqlite_where=sa.text("status = 'pending'"),
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.execute(
        "UPDATE sync_jobs SET status = 'failed', error_type = 'Interrupted',"
        " error = 'the service was upgraded while this sync ran; start a new one'"
        " WHERE status = 'running'"
    )
    with op.batch_alter_table("sync_jobs") as batch_op:
        batch_op.add_column(sa.Column("lease_owner", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("lease_expires_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_index(
            "uq_sync_jobs_one_running",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )
    knowledge_index = op.create_table(
        "knowledge_index",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("generation", sa.Integer(), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.bulk_insert(knowledge_index, [{"id": 1, "generation": 0, "published_at": None}])


def downgrade() -> None:
    op.drop_table("knowledge_index")
    with op.batch_alter_table("sync_jobs") as batch_op:
        batch_op.drop_index("uq_sync_jobs_one_running")
        batch_op.drop_column("lease_expires_at")
        batch_op.drop_column("lease_owner")
    op.drop_index("ix_webhook_deliveries_pending_order", table_name="webhook_deliveries")
    op.drop_index("ix_webhook_deliveries_subscription_status", table_name="webhook_deliveries")
    with op.batch_alter_table("webhook_subscriptions") as batch_op:
        batch_op.drop_column("disabled_reason")
        batch_op.drop_column("disabled_at")
