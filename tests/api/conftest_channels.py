"""Fixtures for the messaging channel tests, imported explicitly like conftest_api.

- `ProviderStandIn`: a real HTTP server on loopback standing in for the Graph API, the Telegram
  Bot API or Chatwoot. It records every request and answers like the provider, or with the
  failures it was told to give first (a 429 storm, a 500 outage).
- `channel_app`: the service with all three channels configured against one stand-in, under a
  TestClient (so the lifespan runs the channel worker), with short retry delays.
- payload builders for Meta's, Telegram's and Chatwoot's webhooks, and Meta's signature.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from api.channels import ChannelPolicy
from tests.api.conftest_api import ADMIN_KEY, FAST_DELIVERY, WAIT, EchoKnowledgeAssistant, make_settings

T = TypeVar("T")
APP_SECRET = "meta-app-secret"
VERIFY_TOKEN = "verify-me"
TELEGRAM_SECRET = "tg-secret-token"
BOT_TOKEN = "123456:telegram-bot-token"
PHONE_NUMBER_ID = "106540352242922"
CUSTOMER = "393331234567"
FAST_CHANNELS = ChannelPolicy(
    base_delay=0.02, max_delay=0.2, max_attempts=5, timeout=5.0, poll_interval=0.1, lease=5.0, turn_lease=5.0
)
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


# --- the providers' APIs ---------------------------------------------------------------------
@dataclass
class Sent:
    path: str
    headers: dict[str, str]
    body: dict[str, Any]
    status: int
    at: float

    @property
    def text(self) -> str:
        """The message text, whichever provider's shape the body has."""
        if "text" in self.body and isinstance(self.body["text"], dict):
            return str(self.body["text"]["body"])  # WhatsApp
        return str(self.body.get("text") or self.body.get("content") or "")


@dataclass
class ProviderStandIn:
    """Answers like the provider the path belongs to; `fail(count, status, body)` makes the next
    `count` requests fail that way first. Every request is recorded, accepted or not."""

    requests: list[Sent] = field(default_factory=list)
    # Called with each request before it is answered (a test pulls the database away there).
    on_request: Callable[[], None] | None = None
    _failures: list[tuple[int, dict[str, Any]]] = field(default_factory=list)
    _ids: Any = field(default_factory=lambda: itertools.count(1))
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def fail(self, count: int, status: int, body: dict[str, Any] | None = None) -> None:
        with self._cond:
            self._failures.extend([(status, body or {})] * count)

    def heal(self) -> None:
        with self._cond:
            self._failures.clear()

    def start(self) -> ProviderStandIn:
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                raw = self.rfile.read(int(self.headers.get("content-length", 0)))
                if stand_in.on_request is not None:
                    stand_in.on_request()
                status, answer = stand_in._answer(self.path, {k.lower(): v for k, v in self.headers.items()}, raw)
                payload = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _answer(self, path: str, headers: dict[str, str], raw: bytes) -> tuple[int, dict[str, Any]]:
        body = json.loads(raw or b"{}")
        with self._cond:
            if self._failures:
                status, answer = self._failures.pop(0)
            else:
                status, answer = 200, self._success(path)
            self.requests.append(Sent(path, headers, body, status, time.monotonic()))
            self._cond.notify_all()
        return status, answer

    def _success(self, path: str) -> dict[str, Any]:
        n = next(self._ids)
        if "/bot" in path:  # Telegram
            return {"ok": True, "result": {"message_id": n, "chat": {}, "date": 0, "text": ""}}
        if "/api/v1/accounts/" in path:  # Chatwoot
            return {"id": n, "content": "", "message_type": 1}
        return {"messaging_product": "whatsapp", "contacts": [], "messages": [{"id": f"wamid.sent.{n}"}]}

    @property
    def accepted(self) -> list[Sent]:
        with self._cond:
            return [r for r in self.requests if r.status == 200]

    def wait_accepted(self, count: int, timeout: float = WAIT) -> list[Sent]:
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(r.status == 200 for r in self.requests) >= count, timeout)
            accepted = [r for r in self.requests if r.status == 200]
        assert ok, f"expected {count} accepted requests, got {len(accepted)}: {[r.status for r in self.requests]}"
        return accepted

    def wait_requests(self, count: int, timeout: float = WAIT) -> list[Sent]:
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.requests) >= count, timeout)
            seen = list(self.requests)
        assert ok, f"expected {count} requests, got {len(seen)}"
        return seen


@pytest.fixture(name="provider")
def provider_fixture() -> Iterator[ProviderStandIn]:
    stand_in = ProviderStandIn().start()
    yield stand_in
    stand_in.stop()


# --- the service -------------------------------------------------------------------------------
def channel_settings(tmp_path: Path, database_url: str, provider: ProviderStandIn, **overrides: Any) -> Any:
    values: dict[str, Any] = {
        "whatsapp_verify_token": VERIFY_TOKEN,
        "whatsapp_app_secret": APP_SECRET,
        "whatsapp_access_token": "EAAG-access-token",
        "whatsapp_api_base": f"{provider.url}/v21.0",
        "telegram_bot_token": BOT_TOKEN,
        "telegram_secret_token": TELEGRAM_SECRET,
        "telegram_api_base": provider.url,
        "chatwoot_url": provider.url,
        "chatwoot_bot_token": "chatwoot-bot-token",
        "debounce_seconds": 0.0,
    }
    values.update(overrides)
    return make_settings(tmp_path, database_url, **values)


class ChannelApp:
    def __init__(self, client: TestClient, assistant: Any) -> None:
        self.client = client
        self.assistant = assistant
        self._operators: dict[str, dict[str, str]] = {}

    def whatsapp(self, payload: dict[str, Any], *, secret: str = APP_SECRET) -> Any:
        raw = json.dumps(payload).encode()
        return self.client.post(
            "/channels/whatsapp/webhook",
            content=raw,
            headers={"content-type": "application/json", "x-hub-signature-256": meta_signature(raw, secret)},
        )

    def telegram(self, update: dict[str, Any], *, secret: str = TELEGRAM_SECRET) -> Any:
        return self.client.post(
            "/channels/telegram/webhook", json=update, headers={"x-telegram-bot-api-secret-token": secret}
        )

    def chatwoot(self, event: dict[str, Any]) -> Any:
        return self.client.post("/channels/chatwoot/webhook", json=event)

    def operator(self, name: str = "op-1") -> dict[str, str]:
        if name not in self._operators:
            created = self.client.post("/v1/keys", json={"role": "operator", "name": name}, headers=ADMIN)
            assert created.status_code == 201, created.text
            self._operators[name] = {"Authorization": f"Bearer {created.json()['key']}"}
        return self._operators[name]

    def conversation(self, conversation_id: str) -> Any:
        return self.client.get(f"/v1/conversations/{conversation_id}", headers=self.operator())


@pytest.fixture(name="make_channel_app")
def make_channel_app_fixture(tmp_path: Path, database_url: str, provider: ProviderStandIn) -> Iterator[Any]:
    """`make_channel_app(assistant=..., **settings) -> ChannelApp`; apps are closed at teardown."""
    with ExitStack() as stack:

        def build(*, assistant: Any = None, **overrides: Any) -> ChannelApp:
            assistant = assistant if assistant is not None else EchoKnowledgeAssistant()
            settings = channel_settings(tmp_path, database_url, provider, **overrides)
            app = create_app(settings, assistant=assistant, delivery=FAST_DELIVERY, channel_policy=FAST_CHANNELS)
            return ChannelApp(stack.enter_context(TestClient(app)), assistant)

        yield build


@pytest.fixture(name="channels")
def channels_fixture(make_channel_app: Any) -> ChannelApp:
    return make_channel_app()


def eventually(probe: Callable[[], T], timeout: float = WAIT) -> T:
    """Poll `probe` every 20 ms until it returns something truthy (for state another thread writes)."""
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value or time.monotonic() > deadline:
            assert value, f"nothing after {timeout} s"
            return value
        time.sleep(0.02)


# --- payloads ----------------------------------------------------------------------------------
def meta_signature(raw: bytes, secret: str = APP_SECRET) -> str:
    return "sha256=" + hmac.new(secret.encode(), raw, hashlib.sha256).hexdigest()


def whatsapp_payload(*messages: dict[str, Any], statuses: list[dict[str, Any]] | None = None,
                     customer: str = CUSTOMER) -> dict[str, Any]:
    value: dict[str, Any] = {
        "messaging_product": "whatsapp",
        "metadata": {"display_phone_number": "15550001111", "phone_number_id": PHONE_NUMBER_ID},
    }
    if messages:
        value["contacts"] = [{"profile": {"name": "Giulia"}, "wa_id": customer}]
        value["messages"] = list(messages)
    if statuses:
        value["statuses"] = statuses
    return {
        "object": "whatsapp_business_account",
        "entry": [{"id": "WABA-1", "changes": [{"field": "messages", "value": value}]}],
    }


def wa_text(wamid: str, body: str, *, at: datetime | None = None, customer: str = CUSTOMER) -> dict[str, Any]:
    stamp = int((at or datetime.now().astimezone()).timestamp())
    return {"from": customer, "id": wamid, "timestamp": str(stamp), "type": "text", "text": {"body": body}}


def wa_media(wamid: str, kind: str, *, customer: str = CUSTOMER) -> dict[str, Any]:
    stamp = int(datetime.now().astimezone().timestamp())
    return {"from": customer, "id": wamid, "timestamp": str(stamp), "type": kind,
            kind: {"id": "media-1", "mime_type": "audio/ogg"}}


def wa_status(sent_id: str, status: str) -> dict[str, Any]:
    stamp = int(datetime.now().astimezone().timestamp())
    return {"id": sent_id, "status": status, "timestamp": str(stamp), "recipient_id": CUSTOMER}


WA_CONVERSATION = f"whatsapp:{PHONE_NUMBER_ID}:{CUSTOMER}"


def tg_update(update_id: int, text: str | None = None, *, chat_id: int = 777, language: str = "it",
              extra: dict[str, Any] | None = None) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id * 10,
        "from": {"id": chat_id, "is_bot": False, "first_name": "Luca", "language_code": language},
        "chat": {"id": chat_id, "type": "private", "first_name": "Luca"},
        "date": int(datetime.now().astimezone().timestamp()),
    }
    if text is not None:
        message["text"] = text
    message.update(extra or {})
    return {"update_id": update_id, "message": message}


def cw_message(message_id: int, content: str | None, *, status: str = "pending", conversation: int = 55,
               account: int = 3, message_type: str = "incoming") -> dict[str, Any]:
    return {
        "event": "message_created",
        "id": message_id,
        "content": content,
        "message_type": message_type,
        "content_type": "text",
        "private": False,
        "sender": {"id": 901, "name": "Marta", "type": "contact"},
        "account": {"id": account, "name": "Brand"},
        "inbox": {"id": 4, "name": "Sito"},
        "conversation": {"id": conversation, "status": status, "inbox_id": 4,
                         "contact_inbox": {"contact_id": 901}},
        "attachments": [],
    }
