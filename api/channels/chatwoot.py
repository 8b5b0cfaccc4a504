"""Chatwoot agent bot: `message_created` events in, the conversation's messages API out.

https://www.chatwoot.com/developers/api/ — an agent bot receives every event of the inboxes it is
connected to, its own outgoing messages included (ignored here). While Chatwoot's conversation is
`open` an agent holds it and the bot stays silent; a handoff sets it `open` through toggle_status;
when the agent resolves it, the bot answers again (and our handoff is resolved too).
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import APIRouter, Request

from api.channels.base import (
    Channel,
    ChannelMessage,
    OutgoingRequest,
    RemoteStatus,
    SendOutcome,
    Webhook,
    refused,
    retry_after_seconds,
)
from api.channels.errors import ChannelNotConfigured
from api.channels.store import store_webhook
from api.deps import NowDep, RuntimeDep
from api.schemas import problem_responses
from sportello.settings import Settings

STATUS_EVENTS = ("conversation_status_changed", "conversation_resolved", "conversation_opened", "conversation_updated")


def _account_id(payload: dict[str, Any], conversation: dict[str, Any]) -> Any:
    account = payload.get("account") or {}
    if account.get("id") is not None:
        return account["id"]
    if conversation.get("account_id") is not None:
        return conversation["account_id"]
    messages = conversation.get("messages") or [{}]
    return (messages[0] or {}).get("account_id")


def parse(payload: dict[str, Any]) -> Webhook:
    webhook = Webhook()
    event = payload.get("event")
    if event in STATUS_EVENTS:
        account = _account_id(payload, payload)
        if account is not None and payload.get("id") is not None and payload.get("status"):
            webhook.remote.append(RemoteStatus(f"chatwoot:{account}:{payload['id']}", str(payload["status"])))
        return webhook
    if event != "message_created":
        return webhook
    incoming = payload.get("message_type") in ("incoming", 0)
    if not incoming or payload.get("private") or payload.get("id") is None:
        return webhook  # our own replies, agents' messages and private notes
    conversation = payload.get("conversation") or {}
    account = _account_id(payload, conversation)
    if account is None or conversation.get("id") is None:
        return webhook
    sender = payload.get("sender") or {}
    text = payload.get("content")
    readable = isinstance(text, str) and text.strip()
    attachments = payload.get("attachments") or []
    kind = str((attachments[0] or {}).get("file_type") or "attachment") if attachments else "unsupported"
    webhook.messages.append(
        ChannelMessage(
            external_id=str(payload["id"]),
            conversation_id=f"chatwoot:{account}:{conversation['id']}",
            user_id=str(sender.get("id") or conversation.get("contact_inbox", {}).get("contact_id") or "contact"),
            kind="text" if readable else "media",
            text=str(text) if readable else f"[{kind}]",
            address={"account": account, "conversation": conversation["id"]},
            remote_status=str(conversation["status"]) if conversation.get("status") else None,
        )
    )
    return webhook


class Chatwoot(Channel):
    name = "chatwoot"
    text_limit = 4096
    credentials = ("chatwoot_url", "chatwoot_bot_token")

    def endpoint(self, settings: Settings, path: str) -> tuple[str, dict[str, str]]:
        return f"{str(settings.chatwoot_url).rstrip('/')}{path}", {"api_access_token": str(settings.chatwoot_bot_token)}

    def _conversation(self, address: dict[str, Any]) -> str:
        return f"/api/v1/accounts/{address['account']}/conversations/{address['conversation']}"

    def text_request(self, address: dict[str, Any], text: str, purpose: str = "reply") -> OutgoingRequest:
        return OutgoingRequest(
            f"{self._conversation(address)}/messages",
            {"content": text, "message_type": "outgoing", "private": False},
            purpose,
        )

    def holds(self, remote_status: str | None) -> bool | None:
        if remote_status is None:
            return None
        return remote_status == "open"  # pending: with the bot; resolved: closed, the bot answers again

    def handoff_requests(self, address: dict[str, Any]) -> list[OutgoingRequest]:
        return [OutgoingRequest(f"{self._conversation(address)}/toggle_status", {"status": "open"}, "status")]

    def outcome(self, status_code: int, body: Any, headers: dict[str, str]) -> SendOutcome:
        if 200 <= status_code < 300:
            sent_id = body.get("id") if isinstance(body, dict) else None
            return SendOutcome(True, status_code, provider_message_id=str(sent_id) if sent_id is not None else None)
        detail = f"Chatwoot answered HTTP {status_code}"
        if status_code == 429:
            return SendOutcome(
                False, status_code, rate_limited=True, retry_after=retry_after_seconds(headers), error=detail
            )
        return refused(status_code, detail)


CHANNEL = Chatwoot()
# What a provider may get back, documented in /openapi.json like every other route.
router = APIRouter(prefix="/channels/chatwoot", tags=["channels"], responses=problem_responses(413, 503))


@router.post("/webhook")
async def receive(request: Request, runtime: RuntimeDep, now: NowDep) -> dict[str, Any]:
    """An agent bot event: incoming messages stored once per message id; the reply follows."""
    missing = CHANNEL.missing(runtime.settings)
    if missing:
        raise ChannelNotConfigured("chatwoot", missing)
    try:
        payload = json.loads(await request.body())
    except ValueError:
        return {"stored": 0, "duplicates": 0}
    accepted = await store_webhook(runtime.db, CHANNEL, parse(payload if isinstance(payload, dict) else {}), now=now)
    return {"stored": accepted.stored, "duplicates": accepted.duplicates}


CHANNEL.router = router
