"""What every channel is: a small class with a name, its settings, how to answer an address on
its API and how to read that API's answer. Its webhook route turns the provider's payload into
`Webhook` (messages, delivery statuses, remote statuses); everything after that is shared.

Adding a channel is one module with a `Channel` subclass and its router, plus one registration
in `api/channels/builtin.py`.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, ClassVar, Literal

from fastapi import APIRouter

from sportello.settings import ENV_PREFIX, Settings

Kind = Literal["text", "media"]


@dataclass(frozen=True)
class ChannelMessage:
    """A customer's message as the channel delivered it."""

    external_id: str  # the provider's id for deduplication (wamid, update_id, message id)
    conversation_id: str  # derived: whatsapp:{phone_number_id}:{wa_id}, telegram:{chat_id}, …
    user_id: str
    kind: Kind
    text: str  # the text, or a placeholder such as "[image]" for a message we cannot read
    address: dict[str, Any]  # what the channel's API needs to answer this conversation
    sent_at: datetime | None = None
    language: str | None = None  # when the channel tells (Telegram's language_code)
    remote_status: str | None = None  # the conversation's status on the other side (Chatwoot)


@dataclass(frozen=True)
class DeliveryStatus:
    """The provider's word on a message we sent: sent, delivered, read or failed."""

    provider_message_id: str
    status: str
    at: datetime | None = None
    errors: list[Any] = field(default_factory=list)


@dataclass(frozen=True)
class RemoteStatus:
    """The conversation changed status on the other side (an agent opened or resolved it)."""

    conversation_id: str
    status: str


@dataclass
class Webhook:
    messages: list[ChannelMessage] = field(default_factory=list)
    statuses: list[DeliveryStatus] = field(default_factory=list)
    remote: list[RemoteStatus] = field(default_factory=list)


@dataclass(frozen=True)
class OutgoingRequest:
    """A POST to the channel's API, as stored in the outbox (no secrets: they are added at send)."""

    path: str
    body: dict[str, Any]
    purpose: str = "reply"


@dataclass(frozen=True)
class SendOutcome:
    ok: bool
    status_code: int | None
    provider_message_id: str | None = None
    rate_limited: bool = False  # back off and try again, however many times it takes
    retry_after: float | None = None  # seconds, when the provider says how long
    permanent: bool = False  # the request itself is refused: retrying cannot help
    error: str | None = None


def refused(status_code: int, error: str) -> SendOutcome:
    """A provider's error answer that is not a rate limit: a 4xx other than a timeout or a conflict
    refuses the request itself (retrying cannot help); anything else is worth another attempt."""
    permanent = 400 <= status_code < 500 and status_code not in (408, 409)
    return SendOutcome(False, status_code, permanent=permanent, error=error)


def retry_after_seconds(headers: dict[str, str]) -> float | None:
    """The HTTP Retry-After header as seconds, when it is a plain number (the HTTP-date form and
    anything else unreadable leave the backoff to the outbox)."""
    value = (headers.get("retry-after") or "").strip()
    return float(value) if value.replace(".", "", 1).isdigit() else None


def env_name(setting: str) -> str:
    return f"{ENV_PREFIX}{setting.upper()}"


class Channel:
    """The interface every channel implements; the defaults suit a channel without extras."""

    name: ClassVar[str]
    text_limit: ClassVar[int] = 4096
    # Settings that, when any is set, make the channel configured; all of them are required.
    credentials: ClassVar[tuple[str, ...]] = ()
    # WhatsApp: free-form messages only this long after the customer's last message.
    reply_window: ClassVar[timedelta | None] = None
    router: APIRouter

    def configured(self, settings: Settings) -> bool:
        return any(getattr(settings, name) for name in self.credentials)

    def missing(self, settings: Settings) -> list[str]:
        """The variables a configured channel still lacks (for /readyz and GET /v1/channels)."""
        return [env_name(name) for name in self.credentials if not getattr(settings, name)]

    def endpoint(self, settings: Settings, path: str) -> tuple[str, dict[str, str]]:
        """The URL and headers (with the credentials) of a stored request."""
        raise NotImplementedError

    def text_request(self, address: dict[str, Any], text: str, purpose: str = "reply") -> OutgoingRequest:
        raise NotImplementedError

    def outcome(self, status_code: int, body: Any, headers: dict[str, str]) -> SendOutcome:
        raise NotImplementedError

    def holds(self, remote_status: str | None) -> bool | None:
        """True: a person holds the conversation on the other side (the bot stays silent);
        False: the other side gave it back to the bot; None: the channel has no such notion."""
        return None

    def handoff_requests(self, address: dict[str, Any]) -> list[OutgoingRequest]:
        """What to tell the other side when the bot hands a conversation to a person."""
        return []

    def template_request(
        self, address: dict[str, Any], settings: Settings, language: str | None
    ) -> OutgoingRequest | None:
        """The approved template to send instead of a free-form message outside the window."""
        return None


class ChannelRegistry:
    """Channels by name; `with_channel` returns a new registry (the built-in one stays as it is)."""

    def __init__(self, channels: tuple[Channel, ...] = ()) -> None:
        self._channels = {c.name: c for c in channels}

    def with_channel(self, channel: Channel) -> ChannelRegistry:
        return ChannelRegistry((*self._channels.values(), channel))

    def get(self, name: str) -> Channel | None:
        return self._channels.get(name)

    def __iter__(self) -> Iterator[Channel]:
        return iter(self._channels.values())

    def names(self) -> list[str]:
        return list(self._channels)
