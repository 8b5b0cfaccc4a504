"""Human handoff: open → claimed → resolved, and the operator's messages in between.

Transitions are conditional UPDATEs (`... WHERE status = 'open'`), so two operators claiming at
once cannot both win; the loser gets a 409 that says who holds it and what to do. A partial
unique index keeps at most one open-or-claimed handoff per conversation.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select, tuple_, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import audit, models
from api.cursors import decode_cursor, encode_cursor
from api.db import rows_affected
from api.errors import (
    HandoffAlreadyOpen,
    InvalidTransition,
    MessageIdReused,
    MessageIdTaken,
    NotYourHandoff,
    UnknownConversation,
    UnknownHandoff,
)
from api.keys import Principal
from api.schemas import ID_PATTERN
from api.webhooks import emit

SUMMARY_CHARS = 280


def active_handoff(session: Session, conversation_id: str) -> models.Handoff | None:
    return session.scalars(
        select(models.Handoff).where(
            models.Handoff.conversation_id == conversation_id,
            models.Handoff.status.in_(models.ACTIVE_HANDOFF),
        )
    ).first()


def handoff_ref(row: models.Handoff) -> dict[str, Any]:
    return {"id": row.id, "reason": row.reason, "status": row.status}


def transcript(session: Session, conversation_id: str) -> list[dict[str, Any]]:
    messages = session.scalars(
        select(models.Message)
        .where(models.Message.conversation_id == conversation_id)
        .order_by(models.Message.seq)
    )
    turns = []
    for m in messages:
        turn: dict[str, Any] = {
            "message_id": m.message_id,
            "role": m.role,
            "text": m.text,
            "at": m.created_at,
            "author": m.author,
        }
        if m.role == "bot" and m.reply is not None:
            turn |= {k: m.reply.get(k) for k in ("language", "grounded", "citations", "warnings")}
        turns.append(turn)
    return turns


def handoff_view(session: Session, row: models.Handoff, *, with_transcript: bool = False) -> dict[str, Any]:
    conversation = session.get(models.Conversation, row.conversation_id)
    assert conversation is not None  # foreign key
    view = {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "status": row.status,
        "reason": row.reason,
        "summary": row.summary,
        "language": row.language,
        "evidence": row.evidence,
        "requested_by": row.requested_by,
        "claimed_by": row.claimed_by,
        "created_at": row.created_at,
        "claimed_at": row.claimed_at,
        "resolved_at": row.resolved_at,
        "resolution_note": row.resolution_note,
        "channel": conversation.channel,
        "user_id": conversation.user_id,
    }
    if with_transcript:
        view["transcript"] = transcript(session, row.conversation_id)
    return view


def handoff_event(session: Session, row: models.Handoff) -> dict[str, Any]:
    """The `handoff.requested` payload: everything a helpdesk needs to pick the case up."""
    return handoff_view(session, row, with_transcript=True)


def summarize(session: Session, conversation_id: str) -> str:
    """A short summary when the requester gave none: the customer's latest message, trimmed."""
    last = session.scalars(
        select(models.Message.text)
        .where(models.Message.conversation_id == conversation_id, models.Message.role == "customer")
        .order_by(models.Message.seq.desc())
        .limit(1)
    ).first()
    if not last:
        return ""
    text = " ".join(last.split())
    return text if len(text) <= SUMMARY_CHARS else text[: SUMMARY_CHARS - 1].rstrip() + "…"


def open_handoff(
    session: Session,
    conversation: models.Conversation,
    *,
    reason: str,
    summary: str,
    language: str | None,
    evidence: list[Any],
    requested_by: str,
    now: datetime,
) -> models.Handoff:
    """Add an open handoff to the session (the caller commits and emits)."""
    row = models.Handoff(
        id=models.new_id("ho"),
        conversation_id=conversation.id,
        status="open",
        reason=reason,
        summary=summary or summarize(session, conversation.id),
        language=language,
        evidence=evidence,
        requested_by=requested_by,
        created_at=now,
    )
    session.add(row)
    session.flush()  # the partial unique index rejects a second active handoff here
    return row


def request_handoff(
    session: Session,
    conversation_id: str,
    *,
    reason: str,
    summary: str | None,
    language: str | None,
    principal: Principal,
    now: datetime,
) -> models.Handoff:
    """A handoff asked for from outside (a channel button, an operator, a CRM rule)."""
    conversation = session.get(models.Conversation, conversation_id)
    if conversation is None:
        raise UnknownConversation(conversation_id)
    existing = active_handoff(session, conversation_id)
    if existing is not None:
        raise HandoffAlreadyOpen(conversation_id, existing.id)
    try:
        row = open_handoff(
            session,
            conversation,
            reason=reason,
            summary=summary or "",
            language=language or conversation.language,
            evidence=[],
            requested_by=principal.key_id,
            now=now,
        )
    except IntegrityError:
        session.rollback()
        existing = active_handoff(session, conversation_id)
        raise HandoffAlreadyOpen(conversation_id, existing.id if existing else "?") from None
    conversation.updated_at = now
    emit(session, "handoff.requested", handoff_event(session, row), now=now)
    session.commit()
    return row


def get_handoff(session: Session, handoff_id: str) -> models.Handoff:
    row = session.get(models.Handoff, handoff_id)
    if row is None:
        raise UnknownHandoff(handoff_id)
    return row


def list_handoffs(
    session: Session, *, status: str | None, limit: int, cursor: str | None
) -> tuple[list[models.Handoff], str | None]:
    """Oldest first (the queue order), keyset-paginated on (created_at, id)."""
    query = select(models.Handoff).order_by(models.Handoff.created_at, models.Handoff.id)
    if status is not None:
        query = query.where(models.Handoff.status == status)
    if cursor:
        after_at, after_id = decode_cursor(cursor, ID_PATTERN)
        query = query.where(tuple_(models.Handoff.created_at, models.Handoff.id) > tuple_(after_at, after_id))
    rows = list(session.scalars(query.limit(limit + 1)))
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = encode_cursor(rows[-1].created_at, rows[-1].id) if more and rows else None
    return rows, next_cursor


def claim(session: Session, handoff_id: str, principal: Principal, *, now: datetime) -> models.Handoff:
    won = rows_affected(session.execute(
        update(models.Handoff)
        .where(models.Handoff.id == handoff_id, models.Handoff.status == "open")
        .values(status="claimed", claimed_by=principal.key_id, claimed_at=now)
    ))
    row = get_handoff(session, handoff_id)
    if not won:
        session.rollback()
        if row.status == "claimed" and row.claimed_by == principal.key_id:
            return row  # claiming twice is harmless
        if row.status == "claimed":
            raise InvalidTransition(
                handoff_id,
                "claimed by another operator",
                "claim",
                "pick another handoff from GET /v1/handoffs?status=open",
            )
        raise InvalidTransition(
            handoff_id,
            "resolved",
            "claim",
            f"ask for a new one with POST /v1/conversations/{row.conversation_id}/handoff if the customer needs a person again",
        )
    session.refresh(row)
    emit(
        session,
        "handoff.claimed",
        {
            "handoff_id": row.id,
            "conversation_id": row.conversation_id,
            "operator": principal.key_id,
            "at": now,
        },
        now=now,
    )
    audit.record(session, principal, audit.HANDOFF_CLAIM, row.id, now=now)
    session.commit()
    return row


def _require_claimer(row: models.Handoff, principal: Principal, action: str) -> None:
    if row.status == "open":
        raise InvalidTransition(
            row.id, "open", action, f"claim it first with POST /v1/handoffs/{row.id}/claim"
        )
    if row.status == "resolved":
        raise InvalidTransition(
            row.id,
            "resolved",
            action,
            "the conversation is back with the bot; request a new handoff if needed",
        )
    if row.claimed_by != principal.key_id:
        raise NotYourHandoff(row.id, action)


def operator_message(
    session: Session,
    handoff_id: str,
    principal: Principal,
    *,
    text: str,
    message_id: str | None,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """Store the operator's reply in the transcript and queue it for the channel to deliver.

    Returns (message view, created); a repeated message_id returns the stored message.
    """
    # Lock the handoff row (PostgreSQL) so a concurrent resolve cannot interleave.
    row = session.get(models.Handoff, handoff_id, with_for_update=True)
    if row is None:
        raise UnknownHandoff(handoff_id)
    message_id = message_id or models.new_id("op")
    existing = session.scalars(
        select(models.Message).where(
            models.Message.conversation_id == row.conversation_id, models.Message.message_id == message_id
        )
    ).first()
    if existing is not None:
        if existing.role != "operator":
            raise MessageIdTaken(row.conversation_id, message_id)
        if existing.text != text:
            raise MessageIdReused(row.conversation_id, message_id)
        return _operator_view(existing, row), False
    _require_claimer(row, principal, "reply to")
    conversation = session.get(models.Conversation, row.conversation_id)
    assert conversation is not None
    message = models.Message(
        conversation_id=row.conversation_id,
        message_id=message_id,
        role="operator",
        text=text,
        author=principal.key_id,
        created_at=now,
    )
    session.add(message)
    conversation.updated_at = now
    session.flush()
    emit(
        session,
        "operator.message",
        {
            "conversation_id": row.conversation_id,
            "handoff_id": row.id,
            "message_id": message_id,
            "channel": conversation.channel,
            "user_id": conversation.user_id,
            "text": text,
            "operator": principal.key_id,
            "language": row.language,
            "at": now,
        },
        now=now,
    )
    audit.record(session, principal, audit.HANDOFF_REPLY, row.id, now=now, detail={"message_id": message_id})
    session.commit()
    return _operator_view(message, row), True


def _operator_view(message: models.Message, handoff: models.Handoff) -> dict[str, Any]:
    return {
        "conversation_id": message.conversation_id,
        "handoff_id": handoff.id,
        "message_id": message.message_id,
        "role": "operator",
        "text": message.text,
        "at": message.created_at,
        "author": message.author,
    }


def resolve(
    session: Session, handoff_id: str, principal: Principal, *, note: str | None, now: datetime
) -> models.Handoff:
    row = get_handoff(session, handoff_id)
    _require_claimer(row, principal, "resolve")
    won = rows_affected(session.execute(
        update(models.Handoff)
        .where(
            models.Handoff.id == handoff_id,
            models.Handoff.status == "claimed",
            models.Handoff.claimed_by == principal.key_id,
        )
        .values(status="resolved", resolved_at=now, resolution_note=note)
    ))
    if not won:  # changed between the read and the update
        session.rollback()
        _require_claimer(get_handoff(session, handoff_id), principal, "resolve")
    session.refresh(row)
    emit(
        session,
        "handoff.resolved",
        {
            "handoff_id": row.id,
            "conversation_id": row.conversation_id,
            "operator": principal.key_id,
            "note": note,
            "at": now,
        },
        now=now,
    )
    audit.record(session, principal, audit.HANDOFF_RESOLVE, row.id, now=now)  # never the note
    session.commit()
    return row
