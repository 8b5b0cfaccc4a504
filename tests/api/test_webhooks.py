"""Signed webhooks and restarts, through a real uvicorn server on loopback (httpx as the channel)
and a real HTTP receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from standardwebhooks import Webhook

from api.app import create_app
from api.metrics import Metrics
from api.webhooks import DeliveryPolicy, DeliveryWorker, retry_delay, signature_headers
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    FAST_DELIVERY,
    EchoKnowledgeAssistant,
    Service,
    WebhookReceiver,
    database_url_fixture,
    make_service_fixture,
    make_settings,
    postgres_database_fixture,
    receiver_fixture,
    running_server,
    service_fixture,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


class Channel:
    """What a messaging channel does over HTTP: keys, messages, handoff calls."""

    def __init__(self, client: httpx.Client) -> None:
        self.http = client
        self.keys: dict[str, dict[str, str]] = {}
        self.key_ids: dict[str, str] = {}

    def key(self, role: str, name: str | None = None) -> dict[str, str]:
        name = name or role
        if name not in self.keys:
            created = self.http.post("/v1/keys", json={"role": role, "name": name}, headers=ADMIN)
            assert created.status_code == 201, created.text
            self.keys[name] = {"Authorization": f"Bearer {created.json()['key']}"}
            self.key_ids[name] = created.json()["id"]
        return self.keys[name]

    def subscribe(self, url: str, events: list[str]) -> dict[str, Any]:
        created = self.http.post("/v1/webhooks", json={"url": url, "events": events}, headers=ADMIN)
        assert created.status_code == 201, created.text
        return created.json()

    def send(self, conversation_id: str, text: str, message_id: str | None = None) -> dict[str, Any]:
        body = {"text": text, "user_id": "u-42", "channel": "telegram"}
        if message_id:
            body["message_id"] = message_id
        response = self.http.post(
            f"/v1/conversations/{conversation_id}/messages", json=body, headers=self.key("channel")
        )
        assert response.status_code == 200, response.text
        return response.json()


def _serve(tmp_path: Path, database_url: str, delivery: DeliveryPolicy = FAST_DELIVERY) -> Any:
    settings = make_settings(tmp_path, database_url)
    return running_server(create_app(settings, assistant=EchoKnowledgeAssistant(), delivery=delivery))


ALL_EVENTS = [
    "message.received",
    "reply.sent",
    "handoff.requested",
    "handoff.claimed",
    "operator.message",
    "handoff.resolved",
    "feedback.received",
]


def test_a_reply_event_is_delivered_signed_after_the_receiver_fails_twice(
    tmp_path: Path, database_url: str, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 2
    with _serve(tmp_path, database_url) as base, httpx.Client(base_url=base, timeout=10) as http:
        channel = Channel(http)
        receiver.secret = channel.subscribe(receiver.url, ["reply.sent"])["secret"]

        reply = channel.send("tg-1", "opening hours?", message_id="m-1")
        accepted = receiver.wait_for(1)

    assert [r.status for r in receiver.requests] == [500, 500, 204]
    assert len({r.headers["webhook-id"] for r in receiver.requests}) == 1  # same id on every retry
    event = accepted[0].event
    assert event["type"] == "reply.sent"
    assert event["data"]["in_reply_to"] == "m-1"
    assert event["data"]["reply"] == reply["reply"]
    assert event["data"]["channel"] == "telegram"


def test_every_step_of_a_handoff_emits_a_signed_event(
    tmp_path: Path, database_url: str, receiver: WebhookReceiver
) -> None:
    with _serve(tmp_path, database_url) as base, httpx.Client(base_url=base, timeout=10) as http:
        channel = Channel(http)
        receiver.secret = channel.subscribe(receiver.url, ALL_EVENTS)["secret"]
        operator = channel.key("operator")

        channel.send("tg-2", "opening hours?")
        handoff_id = channel.send("tg-2", "I want a human please")["handoff"]["id"]
        http.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator).raise_for_status()
        http.post(f"/v1/handoffs/{handoff_id}/messages", json={"text": "Hi, Anna here."}, headers=operator)
        http.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator).raise_for_status()
        after = channel.send("tg-2", "and returns?")
        http.post("/v1/conversations/tg-2/feedback", json={"rating": 5}, headers=channel.key("channel"))
        accepted = receiver.wait_for(11)

    assert after["status"] == "bot" and after["reply"]["grounded"] is True
    events = {}
    for delivery in accepted:
        events.setdefault(delivery.event["type"], []).append(delivery.event["data"])
    assert Counter({k: len(v) for k, v in events.items()}) == Counter(
        {
            "message.received": 3,
            "reply.sent": 3,
            "handoff.requested": 1,
            "handoff.claimed": 1,
            "operator.message": 1,
            "handoff.resolved": 1,
            "feedback.received": 1,
        }
    )
    requested = events["handoff.requested"][0]
    assert requested["reason"] == "human_requested"
    assert [t["role"] for t in requested["transcript"]] == ["customer", "bot", "customer", "bot"]
    message = events["operator.message"][0]
    assert (message["channel"], message["user_id"], message["text"]) == ("telegram", "u-42", "Hi, Anna here.")
    assert message["operator"] == channel.key_ids["operator"]


def test_a_reply_does_not_wait_for_a_stuck_receiver(
    tmp_path: Path, database_url: str, receiver: WebhookReceiver
) -> None:
    receiver.hold = threading.Event()
    with _serve(tmp_path, database_url) as base, httpx.Client(base_url=base, timeout=10) as http:
        channel = Channel(http)
        receiver.secret = channel.subscribe(receiver.url, ["message.received"])["secret"]
        channel.send("tg-3", "opening hours?")
        receiver.wait_arrived(1)  # the first delivery is now stuck in the receiver

        second = channel.send("tg-3", "and returns?")  # would time out if replies waited for it

        receiver.hold.set()
        receiver.wait_for(2)
    assert second["reply"]["grounded"] is True


def test_a_restart_loses_no_conversation_handoff_key_or_pending_event(
    tmp_path: Path, database_url: str, receiver: WebhookReceiver
) -> None:
    stopped_before_delivering = DeliveryPolicy(enabled=False)
    with (
        _serve(tmp_path, database_url, stopped_before_delivering) as base,
        httpx.Client(base_url=base) as http,
    ):
        channel = Channel(http)
        receiver.secret = channel.subscribe(receiver.url, ALL_EVENTS)["secret"]
        operator = channel.key("operator")
        first = channel.send("tg-4", "opening hours?", message_id="m-1")
        handoff_id = channel.send("tg-4", "operatore per favore")["handoff"]["id"]
        http.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator).raise_for_status()

    with _serve(tmp_path, database_url) as base, httpx.Client(base_url=base, timeout=10) as http:
        delivered = receiver.wait_for(6)
        conversation = http.get("/v1/conversations/tg-4", headers=channel.key("channel")).json()
        replayed = http.post(
            "/v1/conversations/tg-4/messages",
            json={"text": "opening hours?", "user_id": "u-42", "channel": "telegram", "message_id": "m-1"},
            headers=channel.key("channel"),
        )
        reply = http.post(f"/v1/handoffs/{handoff_id}/messages", json={"text": "Eccomi"}, headers=operator)

    assert sorted(d.event["type"] for d in delivered) == sorted(
        ["message.received", "reply.sent"] * 2 + ["handoff.requested", "handoff.claimed"]
    )
    assert [m["role"] for m in conversation["messages"]] == ["customer", "bot", "customer", "bot"]
    assert conversation["handoff"] == {"id": handoff_id, "reason": "human_requested", "status": "claimed"}
    assert replayed.json() == first
    assert reply.status_code == 201  # the same operator still holds the claim


class FakeClock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def test_a_failing_receiver_is_retried_with_doubling_delays_then_given_up(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    receiver.fail_first = 99
    service: Service = make_service(delivery=DeliveryPolicy(enabled=False))
    created = service.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["reply.sent"]}, headers=service.admin
    ).json()
    service.send("c-retry", "opening hours?")
    clock = FakeClock()
    policy = DeliveryPolicy(base_delay=10, max_attempts=3)
    worker = DeliveryWorker(service.app.state.runtime.db, policy, Metrics(), clock=clock)

    async def drive() -> list[int]:
        sent = []
        async with httpx.AsyncClient(timeout=5) as client:
            for step in (0, 0, 9.9, 0.1, 19.9, 0.1, 1000):
                clock.advance(step)
                sent.append(await worker.deliver_due(client))
        return sent

    assert asyncio.run(drive()) == [1, 0, 0, 1, 0, 1, 0]
    deliveries = service.client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=service.admin).json()
    assert [(d["status"], d["attempts"], d["last_status_code"]) for d in deliveries] == [("failed", 3, 500)]


def test_retry_delays_double_from_the_base_up_to_the_cap() -> None:
    policy = DeliveryPolicy(base_delay=5, max_delay=30)

    assert [retry_delay(n, policy) for n in (1, 2, 3, 4, 5)] == [5, 10, 20, 30, 30]


def test_signatures_are_hmac_sha256_over_id_timestamp_and_body() -> None:
    secret = "whsec_" + base64.b64encode(b"k" * 32).decode()
    at = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
    body = '{"type":"reply.sent"}'

    headers = signature_headers(secret, "evt_1", body, at)

    expected = hmac.new(b"k" * 32, f"evt_1.{int(at.timestamp())}.{body}".encode(), hashlib.sha256).digest()
    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()
    assert headers["webhook-id"] == "evt_1"
    assert headers["webhook-timestamp"] == str(int(at.timestamp()))


def test_a_signature_verifies_with_the_standard_webhooks_library() -> None:
    secret = "whsec_" + base64.b64encode(b"s" * 32).decode()
    body = '{"type":"handoff.claimed","data":{}}'

    headers = signature_headers(secret, "evt_2", body, datetime.now(UTC))

    assert Webhook(secret).verify(body, headers) == {"type": "handoff.claimed", "data": {}}


def test_a_subscription_returns_its_secret_once(service: Service) -> None:
    created = service.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["reply.sent"]},
        headers=service.admin,
    )
    listed = service.client.get("/v1/webhooks", headers=service.admin).json()

    assert created.status_code == 201
    assert created.json()["secret"].startswith("whsec_")
    assert listed == [{k: v for k, v in created.json().items() if k != "secret"}]


def test_an_unknown_event_type_is_rejected_naming_the_field(service: Service) -> None:
    response = service.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook", "events": ["order.shipped"]},
        headers=service.admin,
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.events[0]: ")


def test_a_deleted_subscription_receives_nothing_more(make_service: Any, receiver: WebhookReceiver) -> None:
    service: Service = make_service(delivery=DeliveryPolicy(enabled=False))
    created = service.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["reply.sent"]}, headers=service.admin
    ).json()
    service.send("c-del", "hours?")

    deleted = service.client.delete(f"/v1/webhooks/{created['id']}", headers=service.admin)

    assert deleted.status_code == 204
    assert (
        service.client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=service.admin).status_code
        == 404
    )
    worker = DeliveryWorker(service.app.state.runtime.db, FAST_DELIVERY, Metrics())

    async def drive() -> int:
        async with httpx.AsyncClient() as client:
            return await worker.deliver_due(client)

    assert asyncio.run(drive()) == 0


def test_finished_deliveries_are_pruned_after_the_retention_period(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=DeliveryPolicy(enabled=False))
    created = service.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["reply.sent"]}, headers=service.admin
    ).json()
    receiver.secret = created["secret"]
    service.send("c-prune", "hours?")
    clock = FakeClock()
    worker = DeliveryWorker(service.app.state.runtime.db, DeliveryPolicy(keep_days=7), Metrics(), clock=clock)

    async def deliver() -> int:
        async with httpx.AsyncClient() as client:
            return await worker.deliver_due(client)

    assert asyncio.run(deliver()) == 1
    clock.advance(6 * 86400)
    kept = worker.prune()
    clock.advance(2 * 86400)
    pruned = worker.prune()

    assert (kept, pruned) == (0, 1)
    assert service.client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=service.admin).json() == []
