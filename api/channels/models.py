"""The channels' tables: what came in (deduplicated), each conversation's channel state, and the
outbox of requests to the channels' APIs. All state lives here, so any worker process may take
any webhook and any send (no per-process memory of windows, duplicates or order)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from api.models import Base


class ChannelConversation(Base):
    """How to answer a conversation on its channel, and when its customer last wrote."""

    __tablename__ = "channel_conversations"

    conversation_id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(200))
    address: Mapped[dict[str, Any]] = mapped_column(JSON)  # what the channel's API needs to answer
    language: Mapped[str | None] = mapped_column(String(16))
    # WhatsApp's customer service window is counted from this (the message's own timestamp).
    last_customer_at: Mapped[datetime | None]
    # The conversation's status on the other side (Chatwoot: open while an agent holds it).
    remote_status: Mapped[str | None] = mapped_column(String(32))
    # One turn at a time per conversation, across workers: a claim sets this in the future.
    turn_lease_until: Mapped[datetime | None]
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class ChannelInbound(Base):
    """One provider event (a message or a delivery status), stored once per provider id."""

    __tablename__ = "channel_inbound"
    __table_args__ = (
        UniqueConstraint("channel", "external_id", name="uq_channel_inbound_external"),
        Index("ix_channel_inbound_state", "state", "conversation_id"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    channel: Mapped[str] = mapped_column(String(32))
    external_id: Mapped[str] = mapped_column(String(300))  # wamid, update_id, Chatwoot message id
    conversation_id: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(16))  # text | media | status
    text: Mapped[str] = mapped_column(Text)
    # pending → claimed (by a turn) → done; muted while a person holds it on the other side;
    # failed when the turn could not be stored; status rows are born done.
    state: Mapped[str] = mapped_column(String(16))
    turn_key: Mapped[str | None] = mapped_column(String(300))  # the message id the turn is stored under
    sent_at: Mapped[datetime | None]  # the provider's timestamp
    received_at: Mapped[datetime]


class ChannelOutbox(Base):
    """One request to a channel's API, sent by the worker in order per conversation, retried with
    backoff; `dedup_key` makes enqueueing the same reply twice a no-op."""

    __tablename__ = "channel_outbox"
    __table_args__ = (Index("ix_channel_outbox_pending", "status", "seq"),)

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    dedup_key: Mapped[str] = mapped_column(String(400), unique=True)
    channel: Mapped[str] = mapped_column(String(32))
    conversation_id: Mapped[str] = mapped_column(String(200), index=True)
    purpose: Mapped[str] = mapped_column(String(16))  # reply | operator | template | notice | status
    message_id: Mapped[str | None] = mapped_column(String(200))  # the transcript message it carries
    path: Mapped[str] = mapped_column(Text)  # below the channel's API base; secrets are added at send
    body: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))  # pending | sent | failed | expired
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None]  # null: due now; in the future: backing off or leased
    last_status_code: Mapped[int | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_attempt_at: Mapped[datetime | None]
    provider_message_id: Mapped[str | None] = mapped_column(String(300), index=True)
    delivery_status: Mapped[str | None] = mapped_column(String(16))  # sent | delivered | read | failed
    created_at: Mapped[datetime]
    sent_at: Mapped[datetime | None]


class ChannelKeyScope(Base):
    """A channel key that reads and writes only its own channel's conversations."""

    __tablename__ = "channel_key_scopes"

    key_id: Mapped[str] = mapped_column(String(40), ForeignKey("api_keys.id"), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
