"""Operator replies (`POST /v1/handoffs/{id}/messages`) delivered on the conversation's channel.

The window is checked before the message is stored, so a refused reply leaves no trace: on
WhatsApp a free-form message goes only within 24 hours of the customer's last message; after
that the configured template goes instead, or the reply is refused with 409 window-closed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import handoffs, models
from api.channels.base import ChannelRegistry, OutgoingRequest
from api.channels.errors import WindowClosed
from api.channels.formatting import plain_text, split_message
from api.channels.store import channel_conversation, enqueue
from api.keys import Principal
from sportello.settings import Settings


@dataclass(frozen=True)
class OperatorDelivery:
    channel: str
    conversation_id: str
    requests: list[OutgoingRequest]


def plan_operator_reply(
    session: Session,
    channels: ChannelRegistry,
    settings: Settings,
    handoff_id: str,
    *,
    text: str,
    message_id: str | None,
    now: datetime,
) -> OperatorDelivery | None:
    """What to send for an operator's reply, or None when the conversation has no channel of ours.

    Raises WindowClosed when the channel's window has closed and no template is configured. A
    retried message (same message_id, already stored) is planned again without the check: it was
    accepted once, and the outbox's dedup key keeps it from going twice.
    """
    handoff = session.get(models.Handoff, handoff_id)
    if handoff is None:
        return None  # operator_message raises UnknownHandoff
    conversation = channel_conversation(session, handoff.conversation_id)
    channel = channels.get(conversation.channel) if conversation is not None else None
    if conversation is None or channel is None:
        return None
    retried = message_id is not None and session.scalar(
        select(models.Message.seq).where(
            models.Message.conversation_id == handoff.conversation_id, models.Message.message_id == message_id
        )
    )
    window = channel.reply_window
    if window is not None and not retried and conversation.last_customer_at is not None:
        closed_at = conversation.last_customer_at + window
        if closed_at <= now:
            template = channel.template_request(conversation.address, settings, handoff.language)
            if template is None:
                raise WindowClosed(handoff.conversation_id, closed_at)
            return OperatorDelivery(channel.name, conversation.conversation_id, [template])
    parts = split_message(plain_text(text), channel.text_limit)
    requests = [channel.text_request(conversation.address, part, "operator") for part in parts]
    return OperatorDelivery(channel.name, conversation.conversation_id, requests)


def queue_operator_reply(session: Session, delivery: OperatorDelivery, message_id: str, *, now: datetime) -> None:
    for index, request in enumerate(delivery.requests):
        key = f"operator:{delivery.conversation_id}:{message_id}:{index}"
        enqueue(session, delivery.channel, delivery.conversation_id, key, request, message_id=message_id, now=now)
    session.commit()


def send_operator_reply(
    session: Session,
    channels: ChannelRegistry,
    settings: Settings,
    handoff_id: str,
    principal: Principal,
    *,
    text: str,
    message_id: str | None,
    now: datetime,
) -> tuple[dict[str, Any], bool]:
    """An operator's reply from anywhere (the API, the console): checked against the channel's
    window first (WindowClosed stores nothing), stored in the transcript, then queued for the
    customer's channel. Returns the message's view and whether it is new (False: a replay)."""
    delivery = plan_operator_reply(session, channels, settings, handoff_id, text=text, message_id=message_id, now=now)
    view, created = handoffs.operator_message(session, handoff_id, principal, text=text, message_id=message_id, now=now)
    if delivery is not None:
        queue_operator_reply(session, delivery, view["message_id"], now=now)
    return view, created
