"""The channels' refusals, raised where the fact is known; api.problems maps them (by their
ServiceError branch) to problem+json."""

from __future__ import annotations

from datetime import datetime

from api.errors import AuthenticationFailed, Conflict, NotConfigured


class BadSignature(AuthenticationFailed):
    """A webhook whose signature or secret token does not match: nothing is stored."""


class ChannelNotConfigured(NotConfigured):
    def __init__(self, channel: str, missing: list[str]) -> None:
        super().__init__(
            f"the {channel} channel is not configured: set {', '.join(missing)} and restart"
        )


class WindowClosed(Conflict):
    """WhatsApp lets a business write free-form only within 24 hours of the customer's last message."""

    def __init__(self, conversation_id: str, closed_at: datetime) -> None:
        super().__init__(
            f"the 24-hour customer service window of {conversation_id!r} closed at "
            f"{closed_at.isoformat()}: WhatsApp accepts a free-form message only within 24 hours of "
            "the customer's last message; after that an approved template is the only way "
            "(set SPORTELLO_WHATSAPP_TEMPLATE), or wait for the customer to write again"
        )
        self.closed_at = closed_at
