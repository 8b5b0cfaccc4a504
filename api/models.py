"""The service's tables (SQLAlchemy 2 declarative). Schema changes go through api/migrations.

Times are stored as UTC; `UTCDateTime` hands back aware datetimes on SQLite too, which has no
time zone type.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

ACTIVE_HANDOFF = ("open", "claimed")


class UTCDateTime(TypeDecorator[datetime]):
    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    type_annotation_map = {datetime: UTCDateTime, dict[str, Any]: JSON, list[Any]: JSON}


class ApiKey(Base):
    __tablename__ = "api_keys"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    # SHA-256 of the secret: a leaked database does not leak usable keys.
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime]
    revoked_at: Mapped[datetime | None]


class Conversation(Base):
    __tablename__ = "conversations"

    id: Mapped[str] = mapped_column(String(200), primary_key=True)
    channel: Mapped[str] = mapped_column(String(32))
    user_id: Mapped[str] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    focus: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime]
    updated_at: Mapped[datetime]


class Message(Base):
    """One turn of the transcript: a customer message, a bot reply or an operator message."""

    __tablename__ = "messages"
    # Idempotency: a channel retrying the same message_id hits this constraint.
    __table_args__ = (
        UniqueConstraint("conversation_id", "message_id", name="uq_messages_conversation_message"),
    )

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    message_id: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))  # customer | bot | operator
    text: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(200))  # customer user_id or operator key id
    intent: Mapped[str | None] = mapped_column(String(64))
    # Bot replies: language, grounded, citations, warnings (what the transcript shows).
    reply: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Customer messages: the exact response body returned, replayed on a retry.
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime]


class Handoff(Base):
    __tablename__ = "handoffs"
    __table_args__ = (
        # At most one open or claimed handoff per conversation, enforced by the database so two
        # concurrent requests cannot both open one.
        Index(
            "uq_handoffs_active_conversation",
            "conversation_id",
            unique=True,
            sqlite_where=text("status IN ('open', 'claimed')"),
            postgresql_where=text("status IN ('open', 'claimed')"),
        ),
        Index("ix_handoffs_status_created", "status", "created_at", "id"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"))
    status: Mapped[str] = mapped_column(String(16))  # open | claimed | resolved
    reason: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(Text)
    language: Mapped[str | None] = mapped_column(String(16))
    evidence: Mapped[list[Any]] = mapped_column(default=list)
    requested_by: Mapped[str] = mapped_column(String(64))  # "bot" or the key id that asked
    claimed_by: Mapped[str | None] = mapped_column(String(40))
    created_at: Mapped[datetime]
    claimed_at: Mapped[datetime | None]
    resolved_at: Mapped[datetime | None]
    resolution_note: Mapped[str | None] = mapped_column(Text)


class Feedback(Base):
    __tablename__ = "feedback"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(ForeignKey("conversations.id"), index=True)
    rating: Mapped[int] = mapped_column(Integer)
    comment: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime]


class WebSession(Base):
    """A browser session: an operator console sign-in (`console`) or a web-chat visitor (`chat`).

    The cookie holds a random token; only its SHA-256 is stored (like API keys). `csrf` is the
    token every console form must echo back.
    """

    __tablename__ = "web_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)  # sha256 of the cookie token
    kind: Mapped[str] = mapped_column(String(16))  # console | chat
    key_id: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(200))
    role: Mapped[str] = mapped_column(String(16))
    csrf: Mapped[str] = mapped_column(String(64))
    conversation_id: Mapped[str | None] = mapped_column(String(200))
    language: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ReplyFact(Base):
    """What analytics need of one bot reply, in narrow columns (api/analytics.py fills it from
    `messages` as they arrive): messages are append-only, so each reply is read from JSON once,
    not on every report. Deleting the message deletes its facts."""

    __tablename__ = "reply_facts"
    __table_args__ = (Index("ix_reply_facts_started", "started_at", "grounded"),)

    seq: Mapped[int] = mapped_column(ForeignKey("messages.seq", ondelete="CASCADE"), primary_key=True)
    conversation_id: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]  # the conversation's start: the cohort reports select on
    grounded: Mapped[bool] = mapped_column(Boolean)
    unanswered: Mapped[bool] = mapped_column(Boolean)
    question: Mapped[str | None] = mapped_column(Text)  # the customer message, when unanswered


class ReplyItem(Base):
    """One citation's source or one warning's kind of a bot reply (see ReplyFact)."""

    __tablename__ = "reply_items"
    __table_args__ = (Index("ix_reply_items_kind_started", "kind", "started_at", "value"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    seq: Mapped[int] = mapped_column(ForeignKey("messages.seq", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # citation | warning
    value: Mapped[str] = mapped_column(String(200))
    started_at: Mapped[datetime]


class WebhookSubscription(Base):
    __tablename__ = "webhook_subscriptions"

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    url: Mapped[str] = mapped_column(Text)
    events: Mapped[list[Any]] = mapped_column(default=list)
    # Signing needs the secret itself (Standard Webhooks symmetric HMAC), so it is encrypted, not
    # hashed: `fernet:<token>` (api/secretbox.py).
    secret: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime]
    # Set when the receiver answered 410 Gone (or an admin disabled it): nothing is queued or sent
    # for it until an admin enables it again (PATCH /v1/webhooks/{id}).
    disabled_at: Mapped[datetime | None]
    disabled_reason: Mapped[str | None] = mapped_column(Text)


class WebhookDelivery(Base):
    """The outbox: one row per (event, subscription), written in the same transaction as the
    change it reports, so an event exists if and only if the change was committed."""

    __tablename__ = "webhook_deliveries"
    __table_args__ = (
        Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
        Index("ix_webhook_deliveries_subscription_status", "subscription_id", "status", "created_at"),
        # Pending rows in claim order: a claim reads its batch from here instead of sorting them all.
        Index(
            "ix_webhook_deliveries_pending_order",
            "created_at",
            "id",
            sqlite_where=text("status = 'pending'"),
            postgresql_where=text("status = 'pending'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)  # the webhook-id header
    subscription_id: Mapped[str] = mapped_column(ForeignKey("webhook_subscriptions.id"), index=True)
    # The conversation the event is about (none for knowledge events): erasure finds it by this.
    conversation_id: Mapped[str | None] = mapped_column(String(200), index=True)
    event_type: Mapped[str] = mapped_column(String(64))
    payload: Mapped[str] = mapped_column(Text)  # the exact JSON body that is signed
    # pending | delivered | failed (the dead-letter state: out of attempts, or its subscription
    # was disabled; kept for GET /v1/webhooks/{id}/deliveries?status=failed until pruned)
    status: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # NULL: due now. Set only by the delivery worker, from its own clock (leases and retries),
    # so a request handled with another notion of "now" cannot postpone a delivery.
    next_attempt_at: Mapped[datetime | None]
    last_error: Mapped[str | None] = mapped_column(Text)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[datetime]
    delivered_at: Mapped[datetime | None]


class SyncJob(Base):
    __tablename__ = "sync_jobs"
    __table_args__ = (
        # Identical pending syncs merge: at most one queued job per source, across processes.
        Index(
            "uq_sync_jobs_queued_source",
            "source_id",
            unique=True,
            sqlite_where=text("status = 'queued'"),
            postgresql_where=text("status = 'queued'"),
        ),
        # One sync at a time across every worker: two would race to swap the same index.
        Index(
            "uq_sync_jobs_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    source_id: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16))  # queued | running | succeeded | partial | failed
    requested_by: Mapped[str] = mapped_column(String(40))
    report: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    error: Mapped[str | None] = mapped_column(Text)
    error_type: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime]
    started_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    # The runtime running the job and until when it is presumed alive; its runner renews the lease
    # while the sync runs, and a running job whose lease has expired is interrupted by any worker.
    lease_owner: Mapped[str | None] = mapped_column(String(64))
    lease_expires_at: Mapped[datetime | None]


class KnowledgeIndex(Base):
    """One row: the generation of the published index. A sync that publishes a new index bumps
    it; every worker compares it with the generation it serves and reloads when it moved."""

    __tablename__ = "knowledge_index"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    generation: Mapped[int] = mapped_column(Integer)
    published_at: Mapped[datetime | None]


class KnowledgeIssue(Base):
    """Issues already announced with `knowledge.issue_found`, so each is announced once."""

    __tablename__ = "knowledge_issues"

    fingerprint: Mapped[str] = mapped_column(String(64), primary_key=True)
    kind: Mapped[str] = mapped_column(String(32))
    first_seen_at: Mapped[datetime]


class AuditEntry(Base):
    """One admin or operator action (api/audit.py). No conversation_id column on purpose: erasing a
    conversation keeps the record that it was erased."""

    __tablename__ = "audit_log"
    __table_args__ = (
        Index("ix_audit_log_at", "at", "id"),
        Index("ix_audit_log_action_at", "action", "at"),
        Index("ix_audit_log_actor_at", "actor_id", "at"),
    )

    id: Mapped[str] = mapped_column(String(40), primary_key=True)
    at: Mapped[datetime]
    actor_id: Mapped[str] = mapped_column(String(40))  # the key id (never its secret)
    actor_name: Mapped[str] = mapped_column(String(200))
    actor_role: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(64))  # key.create, handoff.claim, …
    target_type: Mapped[str] = mapped_column(String(32))
    target_id: Mapped[str | None] = mapped_column(String(200))
    outcome: Mapped[str] = mapped_column(String(16))  # succeeded | denied
    detail: Mapped[dict[str, Any]] = mapped_column(default=dict)


def new_id(prefix: str) -> str:
    """A random public id such as `ho_3f9c…`; the prefix tells a reader what it names."""
    return f"{prefix}_{secrets.token_hex(10)}"
