"""Webhook signing secrets encrypted at rest: the column widens to hold a Fernet token and every
plaintext secret written before is encrypted with the first key of SPORTELLO_SECRET_KEY (or the
data dir's key file), see api/secretbox.py. Downgrading decrypts them again.

Revision ID: 0015_secrets_at_rest
Revises: 0014_work_across_workers
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from api.secretbox import SecretBox, SecretKeyError, is_sealed

revision = "0015_secrets_at_rest"
down_revision = "0014_work_across_workers"
branch_labels = None
depends_on = None

_subscriptions = sa.table("webhook_subscriptions", sa.column("id", sa.String), sa.column("secret", sa.Text))


def _box() -> SecretBox:
    config = op.get_context().config
    box = config.attributes.get("secrets") if config is not None else None
    if box is None:
        raise SecretKeyError(
            "migration 0015 encrypts the stored webhook secrets and needs the keys: migrate through "
            "Database(url, secrets=SecretBox.from_settings(settings)).migrate()"
        )
    return box


def upgrade() -> None:
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.Text(), existing_type=sa.String(length=100), existing_nullable=False)
    connection = op.get_bind()
    rows = connection.execute(sa.select(_subscriptions.c.id, _subscriptions.c.secret)).all()
    plaintext = [(row.id, row.secret) for row in rows if not is_sealed(row.secret)]
    if not plaintext:
        return
    box = _box()
    for subscription_id, secret in plaintext:
        connection.execute(
            _subscriptions.update().where(_subscriptions.c.id == subscription_id).values(secret=box.seal(secret))
        )


def downgrade() -> None:
    connection = op.get_bind()
    rows = connection.execute(sa.select(_subscriptions.c.id, _subscriptions.c.secret)).all()
    sealed = [(row.id, row.secret) for row in rows if is_sealed(row.secret)]
    if sealed:
        box = _box()
        for subscription_id, secret in sealed:
            plain = box.open(secret, what=f"the signing secret of webhook {subscription_id}")
            connection.execute(
                _subscriptions.update().where(_subscriptions.c.id == subscription_id).values(secret=plain)
            )
    with op.batch_alter_table("webhook_subscriptions") as batch:
        batch.alter_column("secret", type_=sa.String(length=100), existing_type=sa.Text(), existing_nullable=False)
