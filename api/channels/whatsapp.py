"""WhatsApp Cloud API: Meta's webhook (verification and signed notifications) in, the Graph API's
`/{phone_number_id}/messages` out.

Payloads: https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/payload-examples —
`entry[].changes[].value` carries `metadata.phone_number_id`, `contacts`, `messages` and
`statuses`. Meta retries a notification until it gets a 200, so the same `wamid` can arrive more
than once: it is stored once (api/channels/store.py).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request
from fastapi.responses import PlainTextResponse

from api.channels.base import (
    Channel,
    ChannelMessage,
    DeliveryStatus,
    OutgoingRequest,
    SendOutcome,
    Webhook,
    refused,
    retry_after_seconds,
)
from api.channels.errors import BadSignature, ChannelNotConfigured
from api.channels.store import store_webhook
from api.deps import NowDep, RuntimeDep
from api.errors import Forbidden
from api.schemas import problem_responses
from sportello.settings import Settings

# Throughput (130429: the number's messages per second) and pair rate (131056: too many messages
# to one recipient): wait and send again. https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes
RATE_LIMIT_CODES = frozenset({4, 80007, 130429, 131056})


def valid_signature(body: bytes, header: str | None, secret: str) -> bool:
    """X-Hub-Signature-256 is 'sha256=' + HMAC-SHA256 of the raw body with the app secret."""
    if not header or not header.startswith("sha256="):
        return False
    expected = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, header.removeprefix("sha256="))


def _moment(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), UTC)
    except (TypeError, ValueError):
        return None


def _message(phone_number_id: str, item: dict[str, Any]) -> ChannelMessage | None:
    kind = str(item.get("type") or "")
    text: str | None = None
    if kind == "text":
        text = str((item.get("text") or {}).get("body") or "")
    elif kind == "button":  # a template's quick reply
        text = str((item.get("button") or {}).get("text") or "")
    elif kind == "interactive":
        reply = item.get("interactive") or {}
        chosen = reply.get("button_reply") or reply.get("list_reply") or {}
        text = str(chosen.get("title") or "")
    elif kind in ("reaction", "system", "ephemeral", "order", "request_welcome"):
        return None  # nothing a customer asked
    wa_id = str(item.get("from") or "")
    if not wa_id or not item.get("id"):
        return None
    media = text is None or not text.strip()
    caption = str((item.get(kind) or {}).get("caption") or "") if isinstance(item.get(kind), dict) else ""
    return ChannelMessage(
        external_id=str(item["id"]),
        conversation_id=f"whatsapp:{phone_number_id}:{wa_id}",
        user_id=wa_id,
        kind="media" if media else "text",
        text=(f"[{kind or 'unsupported'}] {caption}".strip() if media else str(text)),
        address={"phone_number_id": phone_number_id, "wa_id": wa_id},
        sent_at=_moment(item.get("timestamp")),
    )


def parse(payload: dict[str, Any]) -> Webhook:
    webhook = Webhook()
    for entry in payload.get("entry") or []:
        for change in entry.get("changes") or []:
            value = change.get("value") or {}
            phone_number_id = str((value.get("metadata") or {}).get("phone_number_id") or "")
            if not phone_number_id:
                continue
            for item in value.get("messages") or []:
                message = _message(phone_number_id, item)
                if message is not None:
                    webhook.messages.append(message)
            for status in value.get("statuses") or []:
                if status.get("id") and status.get("status"):
                    webhook.statuses.append(
                        DeliveryStatus(
                            str(status["id"]),
                            str(status["status"]),
                            _moment(status.get("timestamp")),
                            list(status.get("errors") or []),
                        )
                    )
    return webhook


class WhatsApp(Channel):
    name = "whatsapp"
    text_limit = 4096
    credentials = ("whatsapp_verify_token", "whatsapp_app_secret", "whatsapp_access_token")
    reply_window = timedelta(hours=24)

    def endpoint(self, settings: Settings, path: str) -> tuple[str, dict[str, str]]:
        return settings.whatsapp_api_base.rstrip("/") + path, {
            "Authorization": f"Bearer {settings.whatsapp_access_token}"
        }

    def text_request(self, address: dict[str, Any], text: str, purpose: str = "reply") -> OutgoingRequest:
        return OutgoingRequest(
            f"/{address['phone_number_id']}/messages",
            {
                "messaging_product": "whatsapp",
                "recipient_type": "individual",
                "to": address["wa_id"],
                "type": "text",
                "text": {"body": text, "preview_url": False},
            },
            purpose,
        )

    def template_request(
        self, address: dict[str, Any], settings: Settings, language: str | None
    ) -> OutgoingRequest | None:
        if not settings.whatsapp_template:
            return None
        name, _, code = settings.whatsapp_template.partition(":")
        return OutgoingRequest(
            f"/{address['phone_number_id']}/messages",
            {
                "messaging_product": "whatsapp",
                "to": address["wa_id"],
                "type": "template",
                "template": {"name": name, "language": {"code": code or language or "en"}},
            },
            "template",
        )

    def outcome(self, status_code: int, body: Any, headers: dict[str, str]) -> SendOutcome:
        if 200 <= status_code < 300:
            messages = body.get("messages") if isinstance(body, dict) else None
            sent_id = str(messages[0].get("id")) if messages else None
            return SendOutcome(True, status_code, provider_message_id=sent_id)
        error = body.get("error") if isinstance(body, dict) else None
        code = error.get("code") if isinstance(error, dict) else None
        detail = f"Graph API answered HTTP {status_code}" + (
            f", error {code}: {error.get('message', '')}" if isinstance(error, dict) else ""
        )
        if status_code == 429 or code in RATE_LIMIT_CODES:
            return SendOutcome(False, status_code, rate_limited=True, retry_after=retry_after_seconds(headers), error=detail[:500])
        return refused(status_code, detail[:500])


CHANNEL = WhatsApp()
# What a provider may get back, documented in /openapi.json like every other route.
router = APIRouter(prefix="/channels/whatsapp", tags=["channels"], responses=problem_responses(401, 403, 413, 503))


@router.get("/webhook", response_class=PlainTextResponse)
def verify(
    runtime: RuntimeDep,
    mode: Annotated[str | None, Query(alias="hub.mode")] = None,
    token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
    challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
) -> PlainTextResponse:
    """Meta's verification request: echo `hub.challenge` when the token is ours, 403 otherwise."""
    # 403 as problem+json like every other refusal (it was a bare text/plain body, undocumented).
    expected = runtime.settings.whatsapp_verify_token
    if mode == "subscribe" and expected and token and hmac.compare_digest(token, expected) and challenge:
        return PlainTextResponse(challenge)
    raise Forbidden(
        "webhook verification failed: hub.mode must be subscribe, hub.verify_token must be "
        "SPORTELLO_WHATSAPP_VERIFY_TOKEN and hub.challenge must be given"
    )


@router.post("/webhook")
async def receive(request: Request, runtime: RuntimeDep, now: NowDep) -> dict[str, Any]:
    """A signed notification: stored (each message once) and acknowledged; the reply follows."""
    secret = runtime.settings.whatsapp_app_secret
    if not secret:
        raise ChannelNotConfigured("whatsapp", ["SPORTELLO_WHATSAPP_APP_SECRET"])
    body = await request.body()
    if not valid_signature(body, request.headers.get("x-hub-signature-256"), secret):
        raise BadSignature(
            "X-Hub-Signature-256 does not match the body: is SPORTELLO_WHATSAPP_APP_SECRET the app secret "
            "of the Meta app that sends these notifications?"
        )
    try:
        payload = json.loads(body)
    except ValueError:
        return {"stored": 0, "duplicates": 0}  # signed but unreadable: nothing to answer
    webhook = parse(payload if isinstance(payload, dict) else {})
    accepted = await store_webhook(runtime.db, CHANNEL, webhook, now=now)
    return {"stored": accepted.stored, "duplicates": accepted.duplicates}


CHANNEL.router = router
