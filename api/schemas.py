"""Pydantic models at the HTTP boundary: what clients send and what they get back (and what
/docs shows). Inside the service, plain dicts and dataclasses travel instead."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import AnyHttpUrl, BaseModel, ConfigDict, Field, model_validator

from agent import HandoffReason
from api.keys import Role

Channel = Literal["whatsapp", "telegram", "chatwoot", "web", "api"]
HandoffStatus = Literal["open", "claimed", "resolved"]
EventType = Literal[
    "message.received",
    "reply.sent",
    "handoff.requested",
    "handoff.claimed",
    "operator.message",
    "handoff.resolved",
    "feedback.received",
    "knowledge.issue_found",
    "message.status",
]
# Ids are chosen by channels (a chat id, a phone number with a prefix); no whitespace or '/'.
ID_PATTERN = r"^[^\s/]{1,200}$"


class Problem(BaseModel):
    """RFC 9457 problem details: every error response has this shape."""

    type: str = Field(examples=["urn:sportello:problem:invalid-transition"])
    title: str
    status: int
    detail: str
    instance: str | None = None


def problem_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses` for the error statuses a router can return."""
    return {
        status: {
            "model": Problem,
            "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": "problem details",
        }
        for status in statuses
    }


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


# --- conversations -----------------------------------------------------------------------
class MessageIn(_In):
    text: str = Field(min_length=1, max_length=4000)
    user_id: str = Field(min_length=1, max_length=200)
    channel: Channel
    message_id: str | None = Field(
        default=None,
        pattern=ID_PATTERN,
        description="the channel's message id: a retry with the same id is a no-op",
    )


class CitationOut(BaseModel):
    source_id: str
    url: str | None
    title: str
    updated_at: datetime | None
    stale: bool


class WarningOut(BaseModel):
    kind: Literal["stale", "expired", "conflict"]
    detail: str
    sources: list[str]


class ReplyOut(BaseModel):
    text: str
    language: str
    grounded: bool
    citations: list[CitationOut]
    warnings: list[WarningOut]


class HandoffRef(BaseModel):
    id: str
    reason: str
    status: HandoffStatus


class MessageOut(BaseModel):
    conversation_id: str
    message_id: str
    status: Literal["bot", "handed_off"]
    reply: ReplyOut | None = Field(
        description="null while a person holds the conversation: the bot stays silent"
    )
    handoff: HandoffRef | None


class TurnOut(BaseModel):
    message_id: str
    role: Literal["customer", "bot", "operator"]
    text: str
    at: datetime
    author: str | None = Field(description="the customer's user_id, or the operator's key id")
    # Bot turns only (null otherwise):
    language: str | None = None
    grounded: bool | None = None
    citations: list[CitationOut] | None = None
    warnings: list[WarningOut] | None = None


class FeedbackIn(_In):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000)


class FeedbackOut(BaseModel):
    id: str
    conversation_id: str
    rating: int
    comment: str | None
    created_at: datetime


class HandoffOut(BaseModel):
    id: str
    conversation_id: str
    status: HandoffStatus
    reason: str
    summary: str
    language: str | None
    evidence: list[Any]
    requested_by: str
    claimed_by: str | None
    created_at: datetime
    claimed_at: datetime | None
    resolved_at: datetime | None
    resolution_note: str | None
    channel: str
    user_id: str
    transcript: list[TurnOut] | None = Field(default=None, description="included when fetching one handoff")


class ConversationOut(BaseModel):
    id: str
    channel: str
    user_id: str
    status: Literal["bot", "handed_off"]
    language: str | None
    created_at: datetime
    updated_at: datetime
    handoff: HandoffRef | None
    messages: list[TurnOut]
    handoffs: list[HandoffRef]
    feedback: list[FeedbackOut]


class HandoffRequestIn(_In):
    reason: HandoffReason = HandoffReason.REQUESTED_EXTERNALLY
    summary: str | None = Field(default=None, max_length=2000)
    language: str | None = Field(default=None, max_length=16)


class HandoffPage(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class OperatorMessageIn(_In):
    text: str = Field(min_length=1, max_length=4000)
    message_id: str | None = Field(default=None, pattern=ID_PATTERN)


class OperatorMessageOut(BaseModel):
    conversation_id: str
    handoff_id: str
    message_id: str
    role: Literal["operator"]
    text: str
    at: datetime
    author: str | None = Field(description="the operator's key id")


class ResolveIn(_In):
    note: str | None = Field(default=None, max_length=2000)


# --- keys ----------------------------------------------------------------------------------
class KeyIn(_In):
    role: Role
    name: str = Field(min_length=1, max_length=200)
    channel: Channel | None = Field(
        default=None, description="channel keys only: the key reads and writes only this channel's conversations"
    )

    @model_validator(mode="after")
    def _channel_only_for_channel_keys(self) -> KeyIn:
        if self.channel is not None and self.role != "channel":
            raise ValueError(f"only channel keys have a channel; a {self.role} key reaches every conversation")
        return self


class KeyOut(BaseModel):
    id: str
    name: str
    role: str
    created_at: datetime
    channel: str | None = None


class KeyCreated(KeyOut):
    key: str = Field(description="the secret, shown once: store it now")


# --- webhooks ------------------------------------------------------------------------------
class WebhookIn(_In):
    url: AnyHttpUrl
    events: list[EventType] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_... signing secret (Standard Webhooks), shown once")


class DeliveryOut(BaseModel):
    id: str
    event_type: str
    status: Literal["pending", "delivered", "failed"]
    attempts: int
    next_attempt_at: datetime | None = Field(description="null: due now")
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


# --- knowledge -----------------------------------------------------------------------------
class SyncJobOut(BaseModel):
    id: str
    source_id: str
    status: Literal["queued", "running", "succeeded", "failed"]
    requested_by: str
    report: dict[str, Any] | None
    error: str | None
    error_type: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
