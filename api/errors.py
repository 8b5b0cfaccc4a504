"""Exceptions raised by the service functions where the fact is known.

`api.problems` turns each into one application/problem+json response (RFC 9457); the service
functions themselves never build HTTP responses.
"""

from __future__ import annotations

from sportello.errors import SportelloError


class ServiceError(SportelloError):
    """Base class for a request the service refuses; the message is shown as the problem detail."""


class NotFound(ServiceError):
    """Base class: the path names something that does not exist."""


class UnknownConversation(NotFound):
    def __init__(self, conversation_id: str) -> None:
        super().__init__(
            f"no conversation {conversation_id!r}: a conversation starts with its first "
            f"POST /v1/conversations/{conversation_id}/messages"
        )
        self.conversation_id = conversation_id


class UnknownHandoff(NotFound):
    def __init__(self, handoff_id: str) -> None:
        super().__init__(f"no handoff {handoff_id!r}: list them with GET /v1/handoffs?status=open")
        self.handoff_id = handoff_id


class UnknownKey(NotFound):
    def __init__(self, key_id: str) -> None:
        super().__init__(f"no API key {key_id!r}: list them with GET /v1/keys")


class UnknownWebhook(NotFound):
    def __init__(self, webhook_id: str) -> None:
        super().__init__(f"no webhook subscription {webhook_id!r}: list them with GET /v1/webhooks")


class UnknownDelivery(NotFound):
    def __init__(self, webhook_id: str, delivery_id: str) -> None:
        super().__init__(
            f"no delivery {delivery_id!r} of webhook subscription {webhook_id!r}: list them with "
            f"GET /v1/webhooks/{webhook_id}/deliveries?status=failed"
        )


class UnknownSource(NotFound):
    def __init__(self, source_id: str, known: list[str]) -> None:
        listed = ", ".join(known) if known else "none"
        super().__init__(f"no source {source_id!r} in the manifest (known sources: {listed})")


class UnknownSyncJob(NotFound):
    def __init__(self, job_id: str) -> None:
        super().__init__(f"no sync job {job_id!r}: start one with POST /v1/sources/{{id}}/sync")


class Conflict(ServiceError):
    """Base class: the request is valid but the resource's current state forbids it."""


class InvalidTransition(Conflict):
    """A handoff cannot move from its current state to the requested one."""

    def __init__(self, handoff_id: str, current: str, action: str, hint: str) -> None:
        super().__init__(f"cannot {action} handoff {handoff_id!r}: it is {current}; {hint}")
        self.handoff_id = handoff_id
        self.current = current


class NotYourHandoff(Conflict):
    """An operator acted on a handoff claimed by someone else."""

    def __init__(self, handoff_id: str, action: str) -> None:
        super().__init__(
            f"cannot {action} handoff {handoff_id!r}: another operator claimed it; "
            "only the operator who claimed a handoff can reply to or resolve it"
        )


class MessageIdTaken(Conflict):
    """A customer message reused the id of an operator message in the same conversation."""

    def __init__(self, conversation_id: str, message_id: str) -> None:
        super().__init__(
            f"message_id {message_id!r} already names another message in conversation {conversation_id!r}; "
            "send a unique message_id per message"
        )


class MessageIdReused(Conflict):
    """A message_id sent again with another text: not a retry, so not answered with the old reply."""

    def __init__(self, conversation_id: str, message_id: str) -> None:
        super().__init__(
            f"message_id {message_id!r} in conversation {conversation_id!r} was already used for another text; "
            "a retry must repeat the same text, a new message needs a new message_id"
        )


class HandoffAlreadyOpen(Conflict):
    def __init__(self, conversation_id: str, handoff_id: str) -> None:
        super().__init__(
            f"conversation {conversation_id!r} already has an active handoff {handoff_id!r}; "
            "resolve it before requesting another"
        )
        self.handoff_id = handoff_id


class SubscriptionDisabled(Conflict):
    """Dead letters of a disabled subscription are not sent again until an admin enables it."""

    def __init__(self, webhook_id: str, reason: str | None) -> None:
        because = f" ({reason})" if reason else ""
        super().__init__(
            f"webhook subscription {webhook_id!r} is disabled{because}: enable it first with "
            f'PATCH /v1/webhooks/{webhook_id} {{"enabled": true}}, then retry its deliveries'
        )


class DeliveryNotFailed(Conflict):
    """Only a dead letter is sent again: a pending delivery is on its way, a delivered one arrived."""

    def __init__(self, delivery_id: str, status: str) -> None:
        super().__init__(
            f"delivery {delivery_id!r} is {status}, not failed: only failed deliveries are sent again"
        )


class InvalidCursor(ServiceError):
    """A pagination cursor that was not produced by the service."""


class InvalidPeriod(ServiceError):
    """An analytics period whose start is not before its end."""


class NotConfigured(ServiceError):
    """The service lacks configuration the route needs (no manifest, no index)."""


class AuthenticationFailed(ServiceError):
    """No key, or a key the service does not know (or revoked)."""


class Forbidden(ServiceError):
    """The key is valid but its role may not use this route."""


class RateLimited(ServiceError):
    def __init__(self, retry_after: float, scope: str = "this key") -> None:
        super().__init__(f"too many requests for {scope}; retry in {max(1, round(retry_after))} s")
        self.retry_after = retry_after
