"""The audit log: who did what to which thing, when, and how it went — for the actions of admins
and operators (keys, webhooks, syncs, erasure and export, handoffs).

A row is written by the service function that makes the change, in the same transaction, just
before its commit: an action that fails (404, 409, a validation error) rolls back and leaves no
row, an action that happened always has one. Authorization failures are the exception: a valid
key whose role may not use an audited route gets a row with outcome `denied` (written by
`api.deps.require`, in its own transaction), because "who tried to mint a key" is what an
auditor asks. Unknown keys have no actor and are counted by the auth-failure limit instead.

Rows name things by id and never hold message bodies, notes, URLs or secrets. They have no
`conversation_id` column, so erasing a conversation (api/erasure.py erases every table that has
one) keeps the record that it was erased; the conversation's id is the target id.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from sqlalchemy import delete, select, tuple_
from sqlalchemy.orm import Session

from api import models
from api.cursors import decode_cursor, encode_cursor


class Actor(Protocol):
    """Who acts: an API key's principal (api.keys.Principal), or the CLI and the scheduler."""

    @property
    def key_id(self) -> str: ...
    @property
    def name(self) -> str: ...
    @property
    def role(self) -> str: ...


@dataclass(frozen=True)
class LocalActor:
    """An actor without an API key: `sportello` commands run on the server, the retention job."""

    key_id: str
    name: str
    role: str = "admin"


CLI = LocalActor("local", "sportello CLI")
RETENTION = LocalActor("retention", "SPORTELLO_RETENTION_DAYS", "system")
AUDIT_RETENTION = LocalActor("retention", "SPORTELLO_AUDIT_RETENTION_DAYS", "system")
PRUNE_BATCH = 1000  # rows per DELETE: keeps each write short on a large log


ActionName = Literal[
    "key.create",
    "key.revoke",
    "webhook.create",
    "webhook.delete",
    "webhook.update",
    "webhook.redeliver",
    "source.sync",
    "conversation.erase",
    "conversation.export",
    "audit.prune",
    "handoff.claim",
    "handoff.reply",
    "handoff.resolve",
]


@dataclass(frozen=True)
class Action:
    name: ActionName
    target_type: str
    target_param: str | None = None  # the route's path parameter naming the target (denied rows)


KEY_CREATE = Action("key.create", "key")
KEY_REVOKE = Action("key.revoke", "key", "key_id")
WEBHOOK_CREATE = Action("webhook.create", "webhook")
WEBHOOK_DELETE = Action("webhook.delete", "webhook", "webhook_id")
WEBHOOK_UPDATE = Action("webhook.update", "webhook", "webhook_id")
WEBHOOK_REDELIVER = Action("webhook.redeliver", "webhook", "webhook_id")
SYNC_START = Action("source.sync", "source", "source_id")
CONVERSATION_ERASE = Action("conversation.erase", "conversation", "conversation_id")
CONVERSATION_EXPORT = Action("conversation.export", "conversation", "conversation_id")
AUDIT_PRUNE = Action("audit.prune", "audit_log")
HANDOFF_CLAIM = Action("handoff.claim", "handoff", "handoff_id")
HANDOFF_REPLY = Action("handoff.reply", "handoff", "handoff_id")
HANDOFF_RESOLVE = Action("handoff.resolve", "handoff", "handoff_id")
# The API routes that perform each action, for the `denied` rows of api.deps.require.
ROUTES: dict[tuple[str, str], Action] = {
    ("POST", "/v1/keys"): KEY_CREATE,
    ("DELETE", "/v1/keys/{key_id}"): KEY_REVOKE,
    ("POST", "/v1/webhooks"): WEBHOOK_CREATE,
    ("DELETE", "/v1/webhooks/{webhook_id}"): WEBHOOK_DELETE,
    ("PATCH", "/v1/webhooks/{webhook_id}"): WEBHOOK_UPDATE,
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/retry"): WEBHOOK_REDELIVER,
    ("POST", "/v1/webhooks/{webhook_id}/deliveries/{delivery_id}/retry"): WEBHOOK_REDELIVER,
    ("POST", "/v1/sources/{source_id}/sync"): SYNC_START,
    ("DELETE", "/v1/conversations/{conversation_id}"): CONVERSATION_ERASE,
    ("GET", "/v1/conversations/{conversation_id}/export"): CONVERSATION_EXPORT,
    ("POST", "/v1/handoffs/{handoff_id}/claim"): HANDOFF_CLAIM,
    ("POST", "/v1/handoffs/{handoff_id}/messages"): HANDOFF_REPLY,
    ("POST", "/v1/handoffs/{handoff_id}/resolve"): HANDOFF_RESOLVE,
}


def record(
    session: Session,
    actor: Actor,
    action: Action,
    target_id: str | None,
    *,
    now: datetime,
    outcome: str = "succeeded",
    detail: dict[str, Any] | None = None,
) -> None:
    """Add the audit row to the caller's transaction (the caller commits). `detail` holds ids and
    enumerations only (a role, a channel, event types), never text a person wrote or a secret."""
    session.add(
        models.AuditEntry(
            id=models.new_id("aud"),
            at=now,
            actor_id=actor.key_id,
            actor_name=actor.name,
            actor_role=actor.role,
            action=action.name,
            target_type=action.target_type,
            target_id=target_id,
            outcome=outcome,
            detail=detail or {},
        )
    )


def prune(session: Session, *, retention_days: float, now: datetime) -> int:
    """Delete the rows older than `retention_days` (in batches, each committed) and leave one
    `audit.prune` row saying how many went and from when (none when nothing was old enough): an
    auditor reading a log that starts late sees why. Returns how many rows were deleted."""
    cutoff = now - timedelta(days=retention_days)
    entry = models.AuditEntry
    pruned = 0
    while True:
        ids = list(session.scalars(select(entry.id).where(entry.at < cutoff).order_by(entry.at).limit(PRUNE_BATCH)))
        if not ids:
            break
        session.execute(delete(entry).where(entry.id.in_(ids)).execution_options(synchronize_session=False))
        session.commit()
        pruned += len(ids)
    if not pruned:
        return 0
    record(
        session,
        AUDIT_RETENTION,
        AUDIT_PRUNE,
        None,
        now=now,
        detail={"pruned": pruned, "before": cutoff.isoformat(), "retention_days": retention_days},
    )
    session.commit()
    return pruned


def list_entries(
    session: Session, *, action: str | None, actor: str | None, limit: int, cursor: str | None
) -> tuple[list[models.AuditEntry], str | None]:
    """Newest first, keyset-paginated on (at, id)."""
    entry = models.AuditEntry
    query = select(entry).order_by(entry.at.desc(), entry.id.desc())
    if action is not None:
        query = query.where(entry.action == action)
    if actor is not None:
        query = query.where(entry.actor_id == actor)
    if cursor:
        before_at, before_id = decode_cursor(cursor, r"aud_[0-9a-f]{20}")
        query = query.where(tuple_(entry.at, entry.id) < tuple_(before_at, before_id))
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, encode_cursor(rows[-1].at, rows[-1].id) if more and rows else None


def entry_view(row: models.AuditEntry) -> dict[str, Any]:
    return {
        "id": row.id,
        "at": row.at,
        "actor": {"id": row.actor_id, "name": row.actor_name, "role": row.actor_role},
        "action": row.action,
        "target": {"type": row.target_type, "id": row.target_id},
        "outcome": row.outcome,
        "detail": row.detail,
    }
