"""Pydantic models at the HTTP boundary: what clients send and what they get back (and what
/docs shows). Inside the service, plain dicts and dataclasses travel instead."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Path, Query
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
    "conversation.erased",
]
# Control characters are refused at the edge, in every field, on every backend alike: PostgreSQL
# cannot store a NUL at all (a 500 there, stored on SQLite), and the others only hide text from
# the operator who reads it. Free text keeps tab, newline and carriage return. C1 controls
# (U+0080–U+009F) and U+FEFF are refused too: JSON Schema's `\s` and pydantic's stripping
# disagree about them, and the patterns below are what /openapi.json promises.
_CONTROL = r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufeff"
_LINE_CONTROL = r"\x00-\x1f\x7f-\x9f\ufeff"
# Ids are chosen by channels (a chat id, a phone number with a prefix); no whitespace, '/' or control.
ID_PATTERN = rf"^[^\s/{_LINE_CONTROL}]{{1,200}}$"
# Free text that must say something: at least one visible character (so "\f" or " " is refused,
# consistently with minLength 1 after the whitespace is stripped).
TEXT_PATTERN = rf"^[^{_CONTROL}]*[^\s{_LINE_CONTROL}][^{_CONTROL}]*$"
# Optional free text (a comment, a note): may be empty, never a control character.
NOTE_PATTERN = rf"^[^{_CONTROL}]*$"
# One line, at least one visible character (a user id, a key name, a language tag).
LINE_PATTERN = rf"^[^{_LINE_CONTROL}]*[^\s{_LINE_CONTROL}][^{_LINE_CONTROL}]*$"
# Pagination cursors are URL-safe base64 (api.cursors.encode_cursor).
CURSOR_PATTERN = r"^[A-Za-z0-9_-]{1,500}$"
# What a pattern means, for the 422 problem (pydantic would quote the regular expression).
PATTERN_HINTS = {
    ID_PATTERN: "expected an id: 1–200 characters without whitespace, '/' or control characters",
    TEXT_PATTERN: "expected text with a visible character and no control characters (tab and newline are fine)",
    NOTE_PATTERN: "control characters are not allowed (tab and newline are fine)",
    LINE_PATTERN: "expected one line with a visible character and no control characters",
    CURSOR_PATTERN: "expected the next_cursor of a previous page, unchanged",
}

# Path and query parameters of the same shapes, for the routes.
PathId = Annotated[str, Path(pattern=ID_PATTERN, description="an id as the service or the manifest gave it")]
CursorQuery = Annotated[
    str | None, Query(pattern=CURSOR_PATTERN, description="the next_cursor of the previous page")
]


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
    text: str = Field(min_length=1, max_length=4000, pattern=TEXT_PATTERN)
    user_id: str = Field(min_length=1, max_length=200, pattern=LINE_PATTERN)
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


class ErasureOut(BaseModel):
    conversation_id: str
    erased: dict[str, int] = Field(description="rows deleted, per table")


class FeedbackIn(_In):
    rating: int = Field(ge=1, le=5)
    comment: str | None = Field(default=None, max_length=2000, pattern=NOTE_PATTERN)


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
    summary: str | None = Field(default=None, max_length=2000, pattern=NOTE_PATTERN)
    language: str | None = Field(default=None, max_length=16, pattern=LINE_PATTERN)


class HandoffPage(BaseModel):
    items: list[HandoffOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


class OperatorMessageIn(_In):
    text: str = Field(min_length=1, max_length=4000, pattern=TEXT_PATTERN)
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
    note: str | None = Field(default=None, max_length=2000, pattern=NOTE_PATTERN)


# --- keys ----------------------------------------------------------------------------------
class KeyIn(_In):
    # The rule below, in the schema too, so what /openapi.json accepts is what the route accepts.
    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"properties": {"role": {"const": "channel"}}},
                {"properties": {"channel": {"type": "null"}}},
            ]
        }
    )

    role: Role
    name: str = Field(min_length=1, max_length=200, pattern=LINE_PATTERN)
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


# --- audit log ------------------------------------------------------------------------------
class AuditActorOut(BaseModel):
    id: str = Field(description="the key id (local: the sportello CLI; retention: the scheduled erasure)")
    name: str
    role: str


class AuditTargetOut(BaseModel):
    type: str
    id: str | None


class AuditEntryOut(BaseModel):
    id: str
    at: datetime
    actor: AuditActorOut
    action: str
    target: AuditTargetOut
    outcome: Literal["succeeded", "denied"]
    detail: dict[str, Any] = Field(description="ids and enumerations only; never message text, URLs or secrets")


class AuditPage(BaseModel):
    items: list[AuditEntryOut]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next page; null on the last page")


# --- webhooks ------------------------------------------------------------------------------
class WebhookIn(_In):
    url: AnyHttpUrl
    events: list[EventType] = Field(min_length=1)


class WebhookOut(BaseModel):
    id: str
    url: str
    events: list[str]
    created_at: datetime
    enabled: bool = Field(description="false: nothing is queued or sent for it (see disabled_reason)")
    disabled_at: datetime | None
    disabled_reason: str | None = Field(
        description="why it was disabled: the receiver answered 410 Gone, or an admin disabled it"
    )


class WebhookPatch(_In):
    enabled: bool = Field(
        description="true enables a disabled subscription again (events from now on; dead letters stay); "
        "false disables it and ends its pending deliveries as failed"
    )


class WebhookCreated(WebhookOut):
    secret: str = Field(description="whsec_... signing secret (Standard Webhooks), shown once")


DeliveryStatus = Literal["pending", "delivered", "failed"]


class DeliveryOut(BaseModel):
    id: str
    event_type: str
    status: DeliveryStatus = Field(
        description="failed: the dead-letter state, after the last attempt or when the subscription was disabled"
    )
    attempts: int
    next_attempt_at: datetime | None = Field(description="null: due now")
    last_error: str | None
    last_status_code: int | None
    created_at: datetime
    delivered_at: datetime | None


class RedeliveryOut(BaseModel):
    count: int = Field(description="how many dead letters were queued again")
    deliveries: list[DeliveryOut] = Field(
        description="the deliveries queued again, oldest first: pending, attempts 0, due now; each keeps its "
        "id, which is the `webhook-id` header the receiver dedupes by"
    )


# --- knowledge -----------------------------------------------------------------------------
class FailedPageOut(BaseModel):
    source_id: str
    url: str
    error: str


class SyncJobOut(BaseModel):
    id: str
    source_id: str
    status: Literal["queued", "running", "succeeded", "partial", "failed"] = Field(
        description="partial: the sync was applied but some pages failed (see failed_pages); "
        "they keep their previous version"
    )
    requested_by: str
    report: dict[str, Any] | None
    failed_pages: list[FailedPageOut]
    error: str | None
    error_type: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
