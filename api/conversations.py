"""Conversations: a customer message in, a cited reply (or silence while a person holds the
conversation) out, with the transcript, the agent's state and the events persisted together.

Idempotency: (conversation_id, message_id) is unique in the database. A retry finds the stored
response and returns it; two concurrent deliveries of the same message both compute a reply,
but only the first commit wins — the second hits the unique constraint, rolls back (so no
second reply and no second event) and returns the winner's stored response.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

from pydantic_core import to_jsonable_python
from sqlalchemy import select, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from agent import Conversation, ConversationUpdate, HandoffReason, Reply, Turn, TurnResult, failed_reply
from api import models
from api.errors import MessageIdReused, MessageIdTaken, UnknownConversation
from api.handoffs import active_handoff, handoff_event, handoff_ref, open_handoff, transcript
from api.webhooks import emit, enabled_subscriptions

log = logging.getLogger(__name__)


class Assistant(Protocol):
    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult: ...


@dataclass(frozen=True)
class InboundMessage:
    text: str
    user_id: str
    channel: str
    message_id: str | None = None


@dataclass(frozen=True)
class PostedMessage:
    """The response body, and what happened (for metrics): `replayed` means a retry."""

    response: dict[str, Any]
    replayed: bool
    reply: Reply | None = None
    opened_handoff_reason: str | None = None


def reply_view(reply: Reply) -> dict[str, Any]:
    """The reply as JSON values, formatted exactly as the API returns them (stored for replays)."""
    return to_jsonable_python(
        {
            "text": reply.text,
            "language": reply.language,
            "grounded": reply.grounded,
            "citations": [
                {
                    "source_id": c.source_id,
                    "url": c.url,
                    "title": c.title,
                    "updated_at": c.updated_at,
                    "stale": c.stale,
                }
                for c in reply.citations
            ],
            "warnings": [
                {"kind": w.kind, "detail": w.detail, "sources": list(w.sources)} for w in reply.warnings
            ],
        }
    )


def post_message(
    session: Session,
    conversation_id: str,
    inbound: InboundMessage,
    *,
    assistant: Callable[[], Assistant],
    now: datetime,
) -> PostedMessage:
    """Store a customer message and answer it, unless a person holds the conversation: an operator
    claimed it, or it was handed off for a reason that holds (`HandoffReason.holds`). While a
    handoff for another reason (no answer, stale information) waits, the bot keeps answering."""
    message_id = inbound.message_id or models.new_id("msg")
    serialized = _one_turn_at_a_time(session, conversation_id)
    stored = _stored_response(session, conversation_id, message_id, inbound.text)
    if stored is not None:
        return PostedMessage(stored, replayed=True)

    held_by = active_handoff(session, conversation_id)
    if held_by is not None and _holds(held_by):
        return _commit_or_replay(
            session,
            conversation_id,
            message_id,
            inbound.text,
            lambda: _store_silently(session, conversation_id, message_id, inbound, held_by, now),
        )

    # Held in this frame until the turn is stored: the session's identity map keeps only rows
    # something references, and _store_turn then finds it there instead of reading it again.
    conversation_row = session.get(models.Conversation, conversation_id)
    state = _agent_state(session, conversation_id, conversation_row)
    if not serialized:
        # SQLite: end the read transaction before the agent runs (it may call an LLM for seconds);
        # its writers queue on one lock anyway. On PostgreSQL the transaction, and with it the
        # conversation's lock, lasts until the turn is stored: the price is one connection per
        # turn in flight (idle in transaction, no snapshot held under READ COMMITTED).
        session.rollback()
    try:
        result = assistant().respond(state, inbound.text, now=now)
    except Exception:
        # The assistant could not even be built or run (an index or manifest that cannot load): the
        # message is still stored and goes to a person, with a reply that says so.
        log.exception("turn.failed conversation=%s", conversation_id)
        reply = failed_reply(inbound.text, state.focus.get("language"))
        result = TurnResult(reply, ConversationUpdate((Turn("customer", inbound.text, now),
                                                       Turn("bot", reply.text, now, grounded=False)), dict(state.focus)))

    def write() -> PostedMessage:
        return _store_turn(session, conversation_id, message_id, inbound, result.update, result.reply, now)

    return _commit_or_replay(session, conversation_id, message_id, inbound.text, write)


def store_unanswered(
    session: Session, conversation_id: str, inbound: InboundMessage, *, now: datetime
) -> PostedMessage:
    """Store a customer message without a turn: the bot does not answer it (a messaging channel's
    message past the per-customer limit, api/channels/worker.py). It is in the transcript and the
    export, `message.received` is emitted, and an operator sees it; no assistant runs, no reply
    is sent. A retry of a message already answered returns that answer, as `post_message` does."""
    message_id = inbound.message_id or models.new_id("msg")
    _one_turn_at_a_time(session, conversation_id)
    stored = _stored_response(session, conversation_id, message_id, inbound.text)
    if stored is not None:
        return PostedMessage(stored, replayed=True)

    def write() -> PostedMessage:
        conversation = _conversation_row(session, conversation_id, inbound, now)
        customer = _customer_row(conversation_id, message_id, inbound, now)
        handoff = active_handoff(session, conversation_id)
        response = {
            "conversation_id": conversation_id,
            "message_id": message_id,
            "status": "handed_off" if handoff is not None else "bot",
            "reply": None,
            "handoff": handoff_ref(handoff) if handoff is not None else None,
        }
        customer.response = response
        session.add(customer)
        session.flush()
        emit(session, "message.received", _message_event(conversation, customer, handoff.id if handoff else None), now=now)
        return PostedMessage(response, replayed=False)

    return _commit_or_replay(session, conversation_id, message_id, inbound.text, write)


def _one_turn_at_a_time(session: Session, conversation_id: str) -> bool:
    """On PostgreSQL, wait for the conversation's transaction-scoped advisory lock, so turns of one
    conversation run one at a time across every worker, in the order they got the lock: the next
    one reads the state (and a repeated message_id) the previous one stored. True when taken.
    The two-key form keeps our keys apart from other users of advisory locks."""
    if session.get_bind().dialect.name != "postgresql":
        return False
    session.execute(
        text("SELECT pg_advisory_xact_lock(hashtext('sportello.turn'), hashtext(:conversation_id))"),
        {"conversation_id": conversation_id},
    )
    return True


def _commit_or_replay(
    session: Session, conversation_id: str, message_id: str, text: str, write: Callable[[], PostedMessage]
) -> PostedMessage:
    # Two attempts: the first may lose a race (same message, or the conversation created
    # concurrently by another message); the second sees the winner's rows.
    for attempt in range(2):
        try:
            result = write()
            session.commit()
            return result
        except IntegrityError:
            session.rollback()
            stored = _stored_response(session, conversation_id, message_id, text)
            if stored is not None:
                return PostedMessage(stored, replayed=True)
            if _message_id_taken(session, conversation_id, message_id):
                raise MessageIdTaken(conversation_id, message_id) from None
            if attempt == 1:
                raise
    raise AssertionError("unreachable")


def _message_id_taken(session: Session, conversation_id: str, message_id: str) -> bool:
    query = select(models.Message.seq).where(
        models.Message.conversation_id == conversation_id, models.Message.message_id == message_id
    )
    return session.scalar(query) is not None


def _stored_response(
    session: Session, conversation_id: str, message_id: str, text: str
) -> dict[str, Any] | None:
    """The response a retry of this message gets; MessageIdReused when the id came with another text."""
    row = session.scalars(
        select(models.Message).where(
            models.Message.conversation_id == conversation_id,
            models.Message.message_id == message_id,
            models.Message.role == "customer",
        )
    ).first()
    if row is None:
        return None
    if row.text != text:
        raise MessageIdReused(conversation_id, message_id)
    return row.response


def _conversation_row(
    session: Session,
    conversation_id: str,
    inbound: InboundMessage,
    now: datetime,
    *,
    focus: dict[str, str] | None = None,
    language: str | None = None,
) -> models.Conversation:
    """The conversation's row, created (with `focus` and `language`) when it is new."""
    row = session.get(models.Conversation, conversation_id)
    if row is None:
        row = models.Conversation(
            id=conversation_id,
            channel=inbound.channel,
            user_id=inbound.user_id,
            focus=focus or {},
            language=language,
            created_at=now,
            updated_at=now,
        )
        session.add(row)
        session.flush()  # a concurrent creation fails here, inside the retry loop
    row.updated_at = now
    return row


def _customer_row(
    conversation_id: str, message_id: str, inbound: InboundMessage, now: datetime, *, intent: str | None = None
) -> models.Message:
    return models.Message(
        conversation_id=conversation_id,
        message_id=message_id,
        role="customer",
        text=inbound.text,
        author=inbound.user_id,
        intent=intent,
        created_at=now,
    )


def _message_event(
    conversation: models.Conversation, row: models.Message, handoff_id: str | None
) -> dict[str, Any]:
    return {
        "conversation_id": conversation.id,
        "message_id": row.message_id,
        "channel": conversation.channel,
        "user_id": row.author,
        "text": row.text,
        "at": row.created_at,
        "handoff_id": handoff_id,
    }


def _store_silently(
    session: Session,
    conversation_id: str,
    message_id: str,
    inbound: InboundMessage,
    handoff: models.Handoff,
    now: datetime,
) -> PostedMessage:
    """A person holds the conversation: keep the message for them, send no reply."""
    conversation = _conversation_row(session, conversation_id, inbound, now)
    customer = _customer_row(conversation_id, message_id, inbound, now)
    response = {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "status": "handed_off",
        "reply": None,
        "handoff": handoff_ref(handoff),
    }
    customer.response = response
    session.add(customer)
    session.flush()
    emit(session, "message.received", _message_event(conversation, customer, handoff.id), now=now)
    return PostedMessage(response, replayed=False)


def _store_turn(
    session: Session,
    conversation_id: str,
    message_id: str,
    inbound: InboundMessage,
    update: ConversationUpdate,
    reply: Reply,
    now: datetime,
) -> PostedMessage:
    focus = dict(update.focus)
    conversation = _conversation_row(session, conversation_id, inbound, now, focus=focus, language=reply.language)
    conversation.focus = focus
    conversation.language = reply.language or conversation.language
    # The customer turn keeps its intent: the next turn's follow-up reads it from there ("E quello
    # di Milano il sabato?" goes on asking the hours), as it does from the agent's own Conversation.
    asked = next((t for t in update.turns if t.role == "customer"), None)
    customer = _customer_row(conversation_id, message_id, inbound, now, intent=asked.intent if asked else None)
    body = reply_view(reply)
    bot = models.Message(
        conversation_id=conversation_id,
        message_id=models.new_id("rpl"),
        role="bot",
        text=reply.text,
        intent=_intent(reply),
        reply={k: v for k, v in body.items() if k != "text"},
        created_at=now,
    )
    handoff = active_handoff(session, conversation_id)
    opened_reason = None
    if reply.handoff is None:
        # The common turn: its response is known before anything is written, so the customer's
        # message (with it) and the reply are one INSERT, where a retried message_id fails.
        response = customer.response = _turn_response(conversation_id, message_id, body, handoff)
        session.add_all([customer, bot])
        session.flush()
    else:
        session.add(customer)
        session.flush()  # a retried message_id fails here, before the handoff is written
        session.add(bot)
        if handoff is not None and reply.handoff.reason.holds and not _holds(handoff):
            # A waiting no-answer handoff becomes one that holds (the customer now asks for a
            # person, or writes about an injury): the operator sees the new reason and the bot
            # falls silent.
            handoff.reason = str(reply.handoff.reason)
            handoff.summary = reply.handoff.summary
            opened_reason = handoff.reason
        if handoff is None:
            handoff = open_handoff(  # its summary, when the agent gave none, is this message
                session,
                conversation,
                reason=str(reply.handoff.reason),
                summary=reply.handoff.summary,
                language=reply.handoff.language or reply.language,
                evidence=list(reply.handoff.evidence),
                requested_by="bot",
                now=now,
            )
            opened_reason = handoff.reason
        response = customer.response = _turn_response(conversation_id, message_id, body, handoff)
        session.flush()

    # The turn's two or three events go to the same subscriptions: read them once.
    enabled = enabled_subscriptions(session)
    emit(session, "message.received", _message_event(conversation, customer, None), now=now, enabled=enabled)
    emit(
        session,
        "reply.sent",
        {
            "conversation_id": conversation_id,
            "message_id": bot.message_id,
            "in_reply_to": message_id,
            "channel": conversation.channel,
            "user_id": conversation.user_id,
            "reply": body,
            "at": now,
        },
        now=now,
        enabled=enabled,
    )
    # (The event's body reads the transcript: only when a subscription wants it.)
    if opened_reason is not None and handoff is not None and any("handoff.requested" in s.events for s in enabled):
        emit(session, "handoff.requested", handoff_event(session, handoff), now=now, enabled=enabled)
    return PostedMessage(response, replayed=False, reply=reply, opened_handoff_reason=opened_reason)


def _turn_response(
    conversation_id: str, message_id: str, body: dict[str, Any], handoff: models.Handoff | None
) -> dict[str, Any]:
    return {
        "conversation_id": conversation_id,
        "message_id": message_id,
        "status": "handed_off" if handoff is not None else "bot",
        "reply": body,
        "handoff": handoff_ref(handoff) if handoff is not None else None,
    }


def _holds(handoff: models.Handoff) -> bool:
    if handoff.status == "claimed":
        return True
    try:
        return HandoffReason(handoff.reason).holds
    except ValueError:  # a reason written by another version: hold, the safe side
        return True


def _intent(reply: Reply) -> str | None:
    intent = reply.trace.get("intent") if isinstance(reply.trace, dict) else None
    return str(intent)[:64] if intent else None


def agent_state(session: Session, conversation_id: str) -> Conversation:
    """Rebuild the agent's view of a conversation (turns and focus) from the database."""
    return _agent_state(session, conversation_id, session.get(models.Conversation, conversation_id))


def _agent_state(session: Session, conversation_id: str, row: models.Conversation | None) -> Conversation:
    if row is None:
        return Conversation(id=conversation_id)
    messages = session.scalars(
        select(models.Message)
        .where(models.Message.conversation_id == conversation_id)
        .order_by(models.Message.seq)
    )
    turns = [
        Turn(
            role=m.role,  # type: ignore[arg-type]
            text=m.text,
            at=m.created_at,
            grounded=(m.reply or {}).get("grounded") if m.role == "bot" else None,
            intent=m.intent,
        )
        for m in messages
    ]
    return Conversation(id=conversation_id, turns=turns, focus=dict(row.focus or {}))


def get_conversation(session: Session, conversation_id: str) -> dict[str, Any]:
    row = session.get(models.Conversation, conversation_id)
    if row is None:
        raise UnknownConversation(conversation_id)
    handoffs = list(
        session.scalars(
            select(models.Handoff)
            .where(models.Handoff.conversation_id == conversation_id)
            .order_by(models.Handoff.created_at, models.Handoff.id)
        )
    )
    active = next((h for h in handoffs if h.status in models.ACTIVE_HANDOFF), None)
    feedback = session.scalars(
        select(models.Feedback)
        .where(models.Feedback.conversation_id == conversation_id)
        .order_by(models.Feedback.created_at, models.Feedback.id)
    )
    return {
        "id": row.id,
        "channel": row.channel,
        "user_id": row.user_id,
        "status": "handed_off" if active is not None else "bot",
        "language": row.language,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "handoff": handoff_ref(active) if active is not None else None,
        "messages": transcript(session, conversation_id),
        "handoffs": [handoff_ref(h) for h in handoffs],
        "feedback": [feedback_view(f) for f in feedback],
    }


def feedback_view(row: models.Feedback) -> dict[str, Any]:
    return {
        "id": row.id,
        "conversation_id": row.conversation_id,
        "rating": row.rating,
        "comment": row.comment,
        "created_at": row.created_at,
    }


def add_feedback(
    session: Session, conversation_id: str, *, rating: int, comment: str | None, now: datetime
) -> dict[str, Any]:
    conversation = session.get(models.Conversation, conversation_id)
    if conversation is None:
        raise UnknownConversation(conversation_id)
    row = models.Feedback(
        id=models.new_id("fb"),
        conversation_id=conversation_id,
        rating=rating,
        comment=comment,
        created_at=now,
    )
    session.add(row)
    session.flush()
    emit(
        session,
        "feedback.received",
        {
            "conversation_id": conversation_id,
            "feedback_id": row.id,
            "channel": conversation.channel,
            "user_id": conversation.user_id,
            "rating": rating,
            "comment": comment,
            "at": now,
        },
        now=now,
    )
    session.commit()
    return feedback_view(row)
