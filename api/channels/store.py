"""The channels' state in the database: webhooks stored once, turns claimed one at a time per
conversation, and the outbox (enqueued idempotently, claimed in order per conversation).

Every function takes `now`; none keeps state in the process, so any number of workers may share
one database. Uniqueness does the deduplication: (channel, external_id) for what comes in, the
outbox's `dedup_key` for what goes out, and the transcript's (conversation_id, message_id).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.concurrency import run_in_threadpool
from sqlalchemy import func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from api import models
from api.channels.base import Channel, ChannelMessage, DeliveryStatus, OutgoingRequest, SendOutcome, Webhook
from api.channels.models import ChannelConversation, ChannelInbound, ChannelOutbox
from api.db import Database, rows_affected
from api.handoffs import active_handoff
from api.webhooks import emit

log = logging.getLogger(__name__)

# Set on a session that wrote channel rows; the worker wakes after that session commits.
CHANNEL_FLAG = "channel_rows_written"


# Conditional UPDATEs below skip the ORM's in-session synchronisation: they are checked by their
# rowcount, and evaluating them against every loaded row made a claim O(rows²).
def insert_ignoring_duplicates(session: Session, model: type[Any], values: dict[str, Any]) -> bool:
    """INSERT … ON CONFLICT DO NOTHING; True when the row is new. Atomic across workers."""
    dialect = session.get_bind().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    key = list(model.__table__.primary_key.columns)
    # RETURNING, not rowcount: psycopg reports -1 for a skipped INSERT … ON CONFLICT.
    result = session.execute(insert(model).values(**values).on_conflict_do_nothing().returning(*key))
    return result.first() is not None


# --- what comes in -------------------------------------------------------------------------
@dataclass(frozen=True)
class Accepted:
    stored: int
    duplicates: int


def accept(session: Session, channel: Channel, webhook: Webhook, *, now: datetime) -> Accepted:
    """Store a verified webhook's messages and statuses (each once) and commit. No turn runs
    here: the webhook is answered at once and the worker answers the customer."""
    stored = duplicates = 0
    for remote in webhook.remote:
        _remote_status(session, channel, remote.conversation_id, remote.status, now=now)
    for message in webhook.messages:
        held = channel.holds(message.remote_status)
        inserted = insert_ignoring_duplicates(
            session,
            ChannelInbound,
            {
                "channel": channel.name,
                "external_id": message.external_id,
                "conversation_id": message.conversation_id,
                "kind": message.kind,
                "text": message.text,
                "state": "muted" if held else "pending",
                "sent_at": message.sent_at,
                "received_at": now,
            },
        )
        if not inserted:
            duplicates += 1
            continue
        stored += 1
        _touch_conversation(session, channel, message, now=now)
        if message.remote_status is not None:
            _remote_status(session, channel, message.conversation_id, message.remote_status, now=now)
    for status in webhook.statuses:
        record_status(session, channel, status, now=now)
    session.info[CHANNEL_FLAG] = True
    session.commit()
    return Accepted(stored, duplicates)


async def store_webhook(db: Database, channel: Channel, webhook: Webhook, *, now: datetime) -> Accepted:
    """`accept` in a worker thread, for the channels' async webhook routes."""

    def run() -> Accepted:
        with db.session() as session:
            return accept(session, channel, webhook, now=now)

    return await run_in_threadpool(run)


def _touch_conversation(session: Session, channel: Channel, message: ChannelMessage, *, now: datetime) -> None:
    # The window counts from when the customer wrote, by the provider's clock (never in the future).
    wrote_at = min(message.sent_at or now, now)
    insert_ignoring_duplicates(
        session,
        ChannelConversation,
        {
            "conversation_id": message.conversation_id,
            "channel": channel.name,
            "user_id": message.user_id,
            "address": message.address,
            "language": message.language,
            "last_customer_at": wrote_at,
            "created_at": now,
            "updated_at": now,
        },
    )
    row = session.get(ChannelConversation, message.conversation_id, populate_existing=True)
    assert row is not None
    row.address = {**row.address, **message.address}
    row.language = message.language or row.language
    if row.last_customer_at is None or wrote_at > row.last_customer_at:
        row.last_customer_at = wrote_at
    row.updated_at = now


def _remote_status(session: Session, channel: Channel, conversation_id: str, status: str, *, now: datetime) -> None:
    row = session.get(ChannelConversation, conversation_id)
    if row is not None:
        row.remote_status = status
    if channel.holds(status) is False:
        # The other side gave the conversation back (an agent resolved it there): so do we.
        release_handoff(session, conversation_id, note=f"{status} in {channel.name}", now=now)


def release_handoff(session: Session, conversation_id: str, *, note: str, now: datetime) -> None:
    handoff = active_handoff(session, conversation_id)
    if handoff is None:
        return
    handoff.status, handoff.resolved_at, handoff.resolution_note = "resolved", now, note
    emit(
        session,
        "handoff.resolved",
        {"handoff_id": handoff.id, "conversation_id": conversation_id, "operator": None, "note": note, "at": now},
        now=now,
    )


def record_status(session: Session, channel: Channel, status: DeliveryStatus, *, now: datetime) -> bool:
    """Store a delivery status once and emit `message.status`; False for a repeat."""
    sent = session.scalars(
        select(ChannelOutbox).where(
            ChannelOutbox.channel == channel.name,
            ChannelOutbox.provider_message_id == status.provider_message_id,
        )
    ).first()
    inserted = insert_ignoring_duplicates(
        session,
        ChannelInbound,
        {
            "channel": channel.name,
            "external_id": f"status:{status.provider_message_id}:{status.status}",
            "conversation_id": sent.conversation_id if sent is not None else "",
            "kind": "status",
            "text": status.status,
            "state": "done",
            "sent_at": status.at,
            "received_at": now,
        },
    )
    if not inserted:
        return False
    if sent is not None:
        sent.delivery_status = status.status
    emit(
        session,
        "message.status",
        {
            "conversation_id": sent.conversation_id if sent is not None else None,
            "message_id": sent.message_id if sent is not None else None,
            "channel": channel.name,
            "provider_message_id": status.provider_message_id,
            "status": status.status,
            "errors": status.errors,
            "at": status.at or now,
        },
        now=now,
    )
    return True


# --- turns -----------------------------------------------------------------------------------
@dataclass(frozen=True)
class ClaimedTurn:
    conversation_id: str
    channel: str
    user_id: str
    address: dict[str, Any]
    language: str | None
    turn_key: str  # the transcript message id: the first message of the group
    kind: str
    text: str
    inbound: tuple[int, ...]


def ripe_conversations(
    session: Session, *, now: datetime, debounce: float, limit: int
) -> tuple[list[str], datetime | None]:
    """Conversations whose pending messages have stopped arriving for `debounce` seconds (or
    that waited 5× that in all, so a chatty customer is still answered), and when the next one
    ripens."""
    rows = session.execute(
        select(
            ChannelInbound.conversation_id,
            func.max(ChannelInbound.received_at),
            func.min(ChannelInbound.received_at),
            func.min(ChannelInbound.state),
        )
        .where(ChannelInbound.state.in_(("pending", "claimed")))
        .group_by(ChannelInbound.conversation_id)
    ).all()
    quiet = timedelta(seconds=debounce)
    ripe: list[str] = []
    next_at: datetime | None = None
    for conversation_id, newest, oldest, state in rows:
        newest, oldest = _aware(newest), _aware(oldest)
        ready_at = min(newest + quiet, oldest + 5 * quiet)
        if state == "pending" and ready_at > now:  # min is "claimed" when a group was left over
            next_at = ready_at if next_at is None else min(next_at, ready_at)
            continue
        ripe.append(conversation_id)
    return ripe[:limit], next_at


def _aware(value: Any) -> datetime:
    # Aggregates skip the column type: SQLite hands back naive (or textual) UTC values.
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


def claim_turn(session: Session, conversation_id: str, *, now: datetime, lease: float) -> ClaimedTurn | None:
    """Take the conversation's next group of messages, or None when another worker holds it.

    A group left claimed by a worker that died is taken again under the same turn key, so the
    transcript's idempotency returns the stored reply instead of answering twice. A group is the
    leading run of pending messages of one kind: texts together, a non-text message alone.
    """
    won = rows_affected(session.execute(
        update(ChannelConversation).execution_options(synchronize_session=False)
        .where(
            ChannelConversation.conversation_id == conversation_id,
            (ChannelConversation.turn_lease_until.is_(None)) | (ChannelConversation.turn_lease_until <= now),
        )
        .values(turn_lease_until=now + timedelta(seconds=lease))
    ))
    if not won:
        session.rollback()
        return None
    conversation = session.get(ChannelConversation, conversation_id, populate_existing=True)
    assert conversation is not None
    rows = list(
        session.scalars(
            select(ChannelInbound)
            .where(ChannelInbound.conversation_id == conversation_id, ChannelInbound.state.in_(("pending", "claimed")))
            .order_by(ChannelInbound.seq)
        )
    )
    left_over = [r for r in rows if r.state == "claimed"]
    if left_over:
        group = [r for r in left_over if r.turn_key == left_over[0].turn_key]
    else:
        group = []
        for row in rows:
            if group and (row.kind != group[0].kind or row.kind != "text"):
                break
            group.append(row)
    if not group:
        conversation.turn_lease_until = None
        session.commit()
        return None
    turn_key = group[0].turn_key or group[0].external_id
    for row in group:
        row.state, row.turn_key = "claimed", turn_key
    session.commit()
    return ClaimedTurn(
        conversation_id=conversation_id,
        channel=conversation.channel,
        user_id=conversation.user_id,
        address=dict(conversation.address),
        language=conversation.language,
        turn_key=turn_key,
        kind=group[0].kind,
        text="\n".join(r.text for r in group),
        inbound=tuple(r.seq for r in group),
    )


def finish_turn(
    session: Session, turn: ClaimedTurn, requests: list[tuple[str, OutgoingRequest, str | None]], *,
    state: str, now: datetime,
) -> None:
    """Queue the turn's requests (key, request, message id), mark its messages, free the conversation."""
    for key, request, message_id in requests:
        enqueue(session, turn.channel, turn.conversation_id, key, request, message_id=message_id, now=now)
    session.execute(update(ChannelInbound).execution_options(synchronize_session=False).where(ChannelInbound.seq.in_(turn.inbound)).values(state=state))
    session.execute(
        update(ChannelConversation).execution_options(synchronize_session=False)
        .where(ChannelConversation.conversation_id == turn.conversation_id)
        .values(turn_lease_until=None)
    )
    session.info[CHANNEL_FLAG] = True
    session.commit()


def release_turn(session: Session, conversation_id: str) -> None:
    """Give back a claimed turn unfinished: its messages stay claimed under their turn key, so the
    next claim takes the same group again and the transcript's idempotency answers it once."""
    session.execute(
        update(ChannelConversation).execution_options(synchronize_session=False)
        .where(ChannelConversation.conversation_id == conversation_id)
        .values(turn_lease_until=None)
    )
    session.commit()


# --- the outbox ------------------------------------------------------------------------------
def enqueue(
    session: Session,
    channel: str,
    conversation_id: str,
    dedup_key: str,
    request: OutgoingRequest,
    *,
    message_id: str | None,
    now: datetime,
) -> bool:
    """Add a request to the outbox unless one with `dedup_key` is there already; the caller commits."""
    session.info[CHANNEL_FLAG] = True
    return insert_ignoring_duplicates(
        session,
        ChannelOutbox,
        {
            "dedup_key": dedup_key[:400],
            "channel": channel,
            "conversation_id": conversation_id,
            "purpose": request.purpose,
            "message_id": message_id,
            "path": request.path,
            "body": request.body,
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": None,
            "created_at": now,
        },
    )


@dataclass(frozen=True)
class DueSend:
    seq: int
    channel: str
    conversation_id: str
    path: str
    body: dict[str, Any]
    message_id: str | None
    purpose: str


def claim_due(
    session: Session, *, now: datetime, lease: float, limit: int, windows: dict[str, timedelta]
) -> tuple[list[DueSend], datetime | None]:
    """The oldest pending request of each conversation, when it is due (and when the next one is).

    Only the head of each conversation's queue is sent, so a customer reads the parts of a reply
    in order even while one of them is backing off. A claim is a conditional UPDATE that leases
    the row: two workers never send the same row at once, and a worker that dies gives it back.
    A free-form message whose channel window has closed meanwhile is not sent (`expired`).
    """
    pending = list(
        session.scalars(
            select(ChannelOutbox).where(ChannelOutbox.status == "pending").order_by(ChannelOutbox.seq).limit(2000)
        )
    )
    heads: dict[str, ChannelOutbox] = {}
    for row in pending:
        heads.setdefault(row.conversation_id, row)
    due: list[DueSend] = []
    next_at: datetime | None = None
    for row in heads.values():
        if len(due) >= limit:
            break
        if row.next_attempt_at is not None and row.next_attempt_at > now:
            next_at = row.next_attempt_at if next_at is None else min(next_at, row.next_attempt_at)
            continue
        window = windows.get(row.channel)
        if window is not None and row.purpose != "template" and _window_closed(session, row.conversation_id, window, now):
            row.status, row.last_error = "expired", "the channel's reply window closed before it could be sent"
            continue
        won = rows_affected(session.execute(
            update(ChannelOutbox).execution_options(synchronize_session=False)
            .where(
                ChannelOutbox.seq == row.seq,
                ChannelOutbox.status == "pending",
                (ChannelOutbox.next_attempt_at.is_(None)) | (ChannelOutbox.next_attempt_at <= now),
            )
            .values(next_attempt_at=now + timedelta(seconds=lease))
        ))
        if won:
            due.append(
                DueSend(row.seq, row.channel, row.conversation_id, row.path, dict(row.body), row.message_id, row.purpose)
            )
    session.commit()
    return due, next_at


def _window_closed(session: Session, conversation_id: str, window: timedelta, now: datetime) -> bool:
    closes = window_closes_at(session, conversation_id, window)
    return closes is not None and closes <= now


def window_closes_at(session: Session, conversation_id: str, window: timedelta) -> datetime | None:
    row = session.get(ChannelConversation, conversation_id)
    if row is None or row.last_customer_at is None:
        return None
    return row.last_customer_at + window


@dataclass(frozen=True)
class Backoff:
    base_delay: float
    max_delay: float
    max_attempts: int

    def delay(self, attempts: int) -> float:
        return min(self.max_delay, self.base_delay * 2 ** max(0, attempts - 1))


def record_send(
    session: Session, due: DueSend, outcome: SendOutcome, backoff: Backoff, *, now: datetime
) -> str:
    """Write one attempt's outcome; returns sent | retry | failed (or erased: the conversation was
    erased while the request was in flight)."""
    row = session.get(ChannelOutbox, due.seq)
    if row is None:
        return "erased"
    row.attempts += 1
    row.last_attempt_at = now
    row.last_status_code = outcome.status_code
    if outcome.error:  # kept after a later success: GET /v1/channels shows what the channel met
        row.last_error = outcome.error
    if outcome.ok:
        row.status, row.sent_at, row.next_attempt_at = "sent", now, None
        row.provider_message_id = outcome.provider_message_id
        result = "sent"
    elif outcome.permanent or (not outcome.rate_limited and row.attempts >= backoff.max_attempts):
        row.status, row.next_attempt_at = "failed", None
        result = "failed"
    else:
        # Rate limits are waited out, never given up on: the message is delayed, not dropped.
        wait = outcome.retry_after if outcome.retry_after is not None else backoff.delay(row.attempts)
        row.next_attempt_at = now + timedelta(seconds=max(0.0, wait))
        result = "retry"
    if result in ("sent", "failed"):
        emit(
            session,
            "message.status",
            {
                "conversation_id": row.conversation_id,
                "message_id": row.message_id,
                "channel": row.channel,
                "provider_message_id": row.provider_message_id,
                "status": result,
                "errors": [outcome.error] if outcome.error else [],
                "at": now,
            },
            now=now,
        )
        if result == "sent" and row.provider_message_id:
            # Providers report "sent" too; this one counts as theirs (stored once).
            insert_ignoring_duplicates(
                session,
                ChannelInbound,
                {
                    "channel": row.channel,
                    "external_id": f"status:{row.provider_message_id}:sent",
                    "conversation_id": row.conversation_id,
                    "kind": "status",
                    "text": "sent",
                    "state": "done",
                    "sent_at": now,
                    "received_at": now,
                },
            )
            row.delivery_status = row.delivery_status or "sent"
    session.commit()
    return result


def release(session: Session, seqs: set[int]) -> None:
    """Interrupted sends were not attempts: due again at the next start."""
    if seqs:
        session.execute(
            update(ChannelOutbox).execution_options(synchronize_session=False)
            .where(ChannelOutbox.seq.in_(seqs), ChannelOutbox.status == "pending")
            .values(next_attempt_at=None)
        )
        session.commit()


def channel_summary(session: Session, channel: str) -> dict[str, Any]:
    """Counts of the outbox and the last error an attempt met (for GET /v1/channels)."""
    counts = dict(
        session.execute(
            select(ChannelOutbox.status, func.count()).where(ChannelOutbox.channel == channel).group_by(ChannelOutbox.status)
        ).all()
    )
    last = session.scalars(
        select(ChannelOutbox)
        .where(ChannelOutbox.channel == channel, ChannelOutbox.last_error.is_not(None))
        .order_by(ChannelOutbox.last_attempt_at.desc(), ChannelOutbox.seq.desc())
        .limit(1)
    ).first()
    return {
        "pending": counts.get("pending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0) + counts.get("expired", 0),
        "last_error": last.last_error if last is not None else None,
        "last_error_at": last.last_attempt_at if last is not None else None,
    }


def channel_conversation(session: Session, conversation_id: str) -> ChannelConversation | None:
    return session.get(ChannelConversation, conversation_id)


def conversation_language(session: Session, conversation_id: str) -> str | None:
    row = session.get(models.Conversation, conversation_id)
    return row.language if row is not None else None
