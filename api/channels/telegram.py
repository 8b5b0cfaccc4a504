"""Telegram Bot API: Updates in through a webhook that carries our secret token, `sendMessage` out.

https://core.telegram.org/bots/api#setwebhook — Telegram sends the `secret_token` given to
setWebhook in `X-Telegram-Bot-Api-Secret-Token` and retries an Update until it gets a 2xx, so the
same `update_id` can arrive twice: it is stored once. Only private chats are answered: the bot
never speaks in a group it was added to.
"""

from __future__ import annotations

import hmac
import json
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request

from api.channels.base import Channel, ChannelMessage, OutgoingRequest, SendOutcome, Webhook, refused
from api.channels.errors import BadSignature, ChannelNotConfigured
from api.channels.store import store_webhook
from api.deps import NowDep, RuntimeDep
from api.schemas import problem_responses
from sportello.settings import Settings

NOT_TEXT = ("photo", "voice", "audio", "video", "video_note", "document", "sticker", "location",
            "contact", "animation", "venue", "poll", "dice")


def parse(update: dict[str, Any]) -> Webhook:
    webhook = Webhook()
    message = update.get("message")
    if not isinstance(message, dict) or "update_id" not in update:
        return webhook  # edits, channel posts, callbacks: nothing to answer
    chat = message.get("chat") or {}
    if chat.get("type") != "private" or chat.get("id") is None:
        return webhook
    sender = message.get("from") or {}
    text = message.get("text")
    kind = next((k for k in NOT_TEXT if k in message), "unsupported")
    caption = str(message.get("caption") or "")
    readable = isinstance(text, str) and text.strip()
    try:
        sent_at = datetime.fromtimestamp(int(message["date"]), UTC)
    except (KeyError, TypeError, ValueError):
        sent_at = None
    webhook.messages.append(
        ChannelMessage(
            external_id=str(update["update_id"]),
            conversation_id=f"telegram:{chat['id']}",
            user_id=str(sender.get("id") or chat["id"]),
            kind="text" if readable else "media",
            text=str(text) if readable else f"[{kind}] {caption}".strip(),
            address={"chat_id": chat["id"]},
            sent_at=sent_at,
            language=str(sender["language_code"])[:16] if sender.get("language_code") else None,
        )
    )
    return webhook


class Telegram(Channel):
    name = "telegram"
    text_limit = 4096
    credentials = ("telegram_bot_token", "telegram_secret_token")

    def endpoint(self, settings: Settings, path: str) -> tuple[str, dict[str, str]]:
        return f"{settings.telegram_api_base.rstrip('/')}/bot{settings.telegram_bot_token}{path}", {}

    def text_request(self, address: dict[str, Any], text: str, purpose: str = "reply") -> OutgoingRequest:
        # No parse_mode: the text is sent as plain text, so nothing is shown as raw markup.
        return OutgoingRequest("/sendMessage", {"chat_id": address["chat_id"], "text": text}, purpose)

    def outcome(self, status_code: int, body: Any, headers: dict[str, str]) -> SendOutcome:
        body = body if isinstance(body, dict) else {}
        if 200 <= status_code < 300 and body.get("ok", True):
            result = body.get("result") if isinstance(body.get("result"), dict) else {}
            sent_id, chat = result.get("message_id"), (result.get("chat") or {}).get("id")
            # message_id is unique within a chat only: the chat makes it unique here.
            provider_id = f"{chat}:{sent_id}" if sent_id is not None else None
            return SendOutcome(True, status_code, provider_message_id=provider_id)
        detail = f"Bot API answered HTTP {status_code}: {body.get('description', '')}"[:500]
        retry_after = (body.get("parameters") or {}).get("retry_after")
        if status_code == 429 or retry_after is not None:
            # Flood control: Telegram says how many seconds to wait.
            wait = float(retry_after) if isinstance(retry_after, int | float) else None
            return SendOutcome(False, status_code, rate_limited=True, retry_after=wait, error=detail)
        return refused(status_code, detail)


CHANNEL = Telegram()
# What a provider may get back, documented in /openapi.json like every other route.
router = APIRouter(prefix="/channels/telegram", tags=["channels"], responses=problem_responses(401, 413, 503))


@router.post("/webhook")
async def receive(request: Request, runtime: RuntimeDep, now: NowDep) -> dict[str, Any]:
    """An Update: stored once per update_id and acknowledged; the reply follows from the outbox."""
    secret = runtime.settings.telegram_secret_token
    if not secret:
        raise ChannelNotConfigured("telegram", ["SPORTELLO_TELEGRAM_SECRET_TOKEN"])
    given = request.headers.get("x-telegram-bot-api-secret-token") or ""
    if not hmac.compare_digest(given.encode(), secret.encode()):
        raise BadSignature(
            "X-Telegram-Bot-Api-Secret-Token does not match SPORTELLO_TELEGRAM_SECRET_TOKEN: register the "
            "webhook with `sportello channels telegram set-webhook URL`"
        )
    try:
        update = json.loads(await request.body())
    except ValueError:
        return {"stored": 0, "duplicates": 0}
    accepted = await store_webhook(runtime.db, CHANNEL, parse(update if isinstance(update, dict) else {}), now=now)
    return {"stored": accepted.stored, "duplicates": accepted.duplicates}


def telegram_set_webhook_request(settings: Settings, url: str) -> tuple[str, dict[str, Any]]:
    """The setWebhook call `sportello channels telegram set-webhook URL` makes."""
    endpoint, _ = CHANNEL.endpoint(settings, "/setWebhook")
    return endpoint, {
        "url": url,
        "secret_token": settings.telegram_secret_token,
        "allowed_updates": ["message"],
        "drop_pending_updates": False,
    }


CHANNEL.router = router
