"""Erasure and export of a conversation (GDPR art. 17 and 15/20): everything stored about it.

"Everything" is read from the schema, not listed by hand: every table with a `conversation_id`
column (messages, handoffs, feedback, the webhook outbox, and any table added later, such as
analytics rows) plus the conversation row itself. A new table that names its conversation is
erased and exported without touching this module.

Erasure deletes in one transaction and then queues `conversation.erased` (with the id and the
channel only) so subscribers erase their copies. Retention (`SPORTELLO_RETENTION_DAYS`) erases
conversations whose last activity is older than that, in batches; `sportello retention run`
runs it (from cron or a systemd timer).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Table, delete, select
from sqlalchemy.orm import Session

from api import audit, models
from api.db import rows_affected
from api.errors import UnknownConversation
from api.webhooks import emit

RETENTION_BATCH = 200  # conversations per transaction: keeps each write short


def tables_about_conversations() -> list[Table]:
    """Every table with a conversation_id column, children before the tables they reference."""
    return [
        table
        for table in reversed(models.Base.metadata.sorted_tables)
        if "conversation_id" in table.c and table.name != models.Conversation.__tablename__
    ]


def export_conversation(
    session: Session, conversation_id: str, *, now: datetime, actor: audit.Actor
) -> dict[str, Any]:
    """Every stored row about the conversation, table by table, as column → value (the export
    itself is audited: who read everything about this customer, and when)."""
    conversations = models.Conversation.__table__
    row = session.execute(select(conversations).where(conversations.c.id == conversation_id)).first()
    if row is None:
        raise UnknownConversation(conversation_id)
    out: dict[str, Any] = {"conversation": dict(row._mapping)}
    for table in tables_about_conversations():
        query = select(table).where(table.c.conversation_id == conversation_id).order_by(*table.primary_key.columns)
        out[table.name] = [dict(r._mapping) for r in session.execute(query)]
    audit.record(session, actor, audit.CONVERSATION_EXPORT, conversation_id, now=now)
    session.commit()
    return out


def erase_conversation(
    session: Session, conversation_id: str, *, now: datetime, actor: audit.Actor, reason: str = "request"
) -> dict[str, int]:
    """Delete the conversation and every row about it, queue `conversation.erased`, commit.

    Returns the number of rows deleted per table."""
    conversation = session.get(models.Conversation, conversation_id)
    if conversation is None:
        raise UnknownConversation(conversation_id)
    channel = conversation.channel
    counts = _delete_rows(session, conversation_id)
    session.expunge(conversation)
    emit(
        session,
        "conversation.erased",
        {"conversation_id": conversation_id, "channel": channel, "reason": reason, "at": now},
        now=now,
    )
    audit.record(session, actor, audit.CONVERSATION_ERASE, conversation_id, now=now, detail={"reason": reason})
    session.commit()
    return counts


def _delete_rows(session: Session, conversation_id: str) -> dict[str, int]:
    counts: dict[str, int] = {}
    for table in tables_about_conversations():
        result = session.execute(delete(table).where(table.c.conversation_id == conversation_id))
        counts[table.name] = rows_affected(result)
    result = session.execute(delete(models.Conversation).where(models.Conversation.id == conversation_id))
    counts[models.Conversation.__tablename__] = rows_affected(result)
    return counts


def erase_expired(session: Session, *, retention_days: float, now: datetime) -> list[str]:
    """Erase every conversation whose last activity is older than `retention_days`; their ids."""
    cutoff = now - timedelta(days=retention_days)
    erased: list[str] = []
    while True:
        ids = list(
            session.scalars(
                select(models.Conversation.id)
                .where(models.Conversation.updated_at < cutoff)
                .order_by(models.Conversation.updated_at, models.Conversation.id)
                .limit(RETENTION_BATCH)
            )
        )
        session.rollback()
        if not ids:
            return erased
        for conversation_id in ids:
            try:
                erase_conversation(session, conversation_id, now=now, actor=audit.RETENTION, reason="retention")
            except UnknownConversation:  # erased meanwhile by a request
                session.rollback()
                continue
            erased.append(conversation_id)
