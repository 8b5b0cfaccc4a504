"""Deliveries out of attempts are dead letters one can list, and a receiver answering 410 Gone
disables its subscription until an admin enables it again; real receivers on loopback, on SQLite
and PostgreSQL."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

from api.metrics import Metrics
from api.webhooks import DeliveryPolicy, DeliveryWorker
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    WAIT,
    Service,
    WebhookReceiver,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    receiver_fixture,
    service_fixture,
)

STOPPED = DeliveryPolicy(enabled=False)  # only the worker a test drives sends


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


def _subscribe(service: Service, receiver: WebhookReceiver, events: list[str]) -> str:
    created = service.client.post("/v1/webhooks", json={"url": receiver.url, "events": events}, headers=service.admin)
    assert created.status_code == 201, created.text
    receiver.secret = created.json()["secret"]
    return str(created.json()["id"])


def _worker(service: Service, clock: Clock, **policy: Any) -> DeliveryWorker:
    return DeliveryWorker(service.app.state.runtime.db, DeliveryPolicy(**policy), Metrics(), clock=clock)


def _drive(worker: DeliveryWorker, clock: Clock, steps: list[float]) -> list[int]:
    """Advance the clock by each step and deliver what is due then; how many were sent each time."""

    async def run() -> list[int]:
        sent = []
        async with httpx.AsyncClient(timeout=5) as client:
            for step in steps:
                clock.advance(step)
                sent.append(await worker.deliver_due(client))
        return sent

    return asyncio.run(run())


def _deliveries(service: Service, webhook_id: str, query: str = "") -> list[dict[str, Any]]:
    response = service.client.get(f"/v1/webhooks/{webhook_id}/deliveries{query}", headers=service.admin)
    assert response.status_code == 200, response.text
    return list(response.json())


def test_a_delivery_out_of_attempts_is_listed_as_failed_with_its_last_status_and_error(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    receiver.fail_first = 2
    clock = Clock()
    worker = _worker(service, clock, base_delay=10, max_attempts=2)
    service.send("c-dead", "opening hours?")
    _drive(worker, clock, [0, 10])  # two attempts, both 500: out of attempts
    service.send("c-alive", "opening hours?")
    _drive(worker, clock, [0])  # the receiver accepts from now on

    failed = _deliveries(service, webhook_id, "?status=failed")
    delivered = _deliveries(service, webhook_id, "?status=delivered")

    assert [(d["status"], d["attempts"], d["last_status_code"], d["last_error"]) for d in failed] == [
        ("failed", 2, 500, "receiver answered HTTP 500")
    ]
    assert [(d["status"], d["attempts"]) for d in delivered] == [("delivered", 1)]
    assert {d["id"] for d in _deliveries(service, webhook_id)} == {failed[0]["id"], delivered[0]["id"]}
    assert _deliveries(service, webhook_id, "?status=pending") == []


def test_the_deliveries_list_refuses_an_unknown_status_naming_the_parameter(service: Service) -> None:
    created = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["reply.sent"]}, headers=service.admin
    ).json()

    response = service.client.get(f"/v1/webhooks/{created['id']}/deliveries?status=dead", headers=service.admin)

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "status" in response.json()["detail"]


def test_a_receiver_answering_410_disables_its_subscription_and_ends_its_pending_deliveries(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    receiver.fail_first, receiver.fail_status = 99, 410
    for n in range(3):
        service.send(f"c-gone-{n}", "opening hours?")
    clock = Clock()
    worker = _worker(service, clock, batch_size=1)

    sent = _drive(worker, clock, [0, 0, 3600])
    subscription = service.client.get(f"/v1/webhooks/{webhook_id}", headers=service.admin).json()
    deliveries = _deliveries(service, webhook_id)

    assert sent == [1, 0, 0]
    assert len(receiver.requests) == 1
    assert subscription["enabled"] is False
    assert "410" in subscription["disabled_reason"]
    assert subscription["disabled_at"] is not None
    assert sorted((d["status"], d["attempts"], d["last_status_code"]) for d in deliveries) == [
        ("failed", 0, None),
        ("failed", 0, None),
        ("failed", 1, 410),
    ]
    assert all(d["last_error"].startswith("subscription disabled: ") for d in deliveries if d["attempts"] == 0)


def test_nothing_is_queued_for_a_disabled_subscription(make_service: Any, receiver: WebhookReceiver) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["message.received", "reply.sent"])
    patched = service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": False}, headers=service.admin)

    service.send("c-quiet", "opening hours?")

    assert patched.status_code == 200, patched.text
    assert patched.json()["enabled"] is False
    assert patched.json()["disabled_reason"].startswith("disabled by admin key ")
    assert _deliveries(service, webhook_id) == []


def test_an_admin_enables_a_gone_subscription_again_and_new_events_are_delivered(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    receiver.fail_first, receiver.fail_status = 1, 410  # gone once, back afterwards
    clock = Clock()
    worker = _worker(service, clock)
    service.send("c-back", "opening hours?")
    _drive(worker, clock, [0])
    service.send("c-back", "and returns?")  # while disabled: never queued

    enabled = service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": True}, headers=service.admin)
    service.send("c-back", "and the hours again?")
    sent = _drive(worker, clock, [0])

    assert enabled.status_code == 200, enabled.text
    assert (enabled.json()["enabled"], enabled.json()["disabled_at"], enabled.json()["disabled_reason"]) == (
        True,
        None,
        None,
    )
    assert sent == [1]
    assert [r.status for r in receiver.requests] == [410, 204]
    assert receiver.accepted[0].event["data"]["in_reply_to"] is not None
    assert sorted(d["status"] for d in _deliveries(service, webhook_id)) == ["delivered", "failed"]


def test_the_running_worker_disables_a_subscription_whose_receiver_answers_410(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service()  # the app's own worker, in its lifespan
    webhook_id = _subscribe(service, receiver, ["message.received", "reply.sent"])
    receiver.fail_first, receiver.fail_status = 99, 410

    service.send("c-live", "opening hours?")
    receiver.wait_requests(1)
    deadline = time.monotonic() + WAIT
    while (subscription := service.client.get(f"/v1/webhooks/{webhook_id}", headers=service.admin).json())[
        "enabled"
    ] and time.monotonic() < deadline:
        time.sleep(0.02)
    service.send("c-live", "and returns?")

    assert subscription["enabled"] is False
    assert {d["status"] for d in _deliveries(service, webhook_id)} == {"failed"}
    assert len(_deliveries(service, webhook_id)) == 2  # the second message queued nothing
    assert len(receiver.requests) <= 2  # each of the first two events sent at most once, then none


def test_patching_an_unknown_subscription_is_a_404_problem(service: Service) -> None:
    response = service.client.patch("/v1/webhooks/wh_missing", json={"enabled": True}, headers=service.admin)

    assert response.status_code == 404
    assert response.headers["content-type"] == "application/problem+json"
    assert "wh_missing" in response.json()["detail"]


def test_a_patch_without_enabled_is_refused_naming_the_field(service: Service) -> None:
    created = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["reply.sent"]}, headers=service.admin
    ).json()

    response = service.client.patch(f"/v1/webhooks/{created['id']}", json={"url": "x"}, headers=service.admin)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] in ("body.enabled", "body.url")


def test_only_an_admin_may_enable_a_subscription(service: Service) -> None:
    created = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["reply.sent"]}, headers=service.admin
    ).json()

    response = service.client.patch(
        f"/v1/webhooks/{created['id']}", json={"enabled": True}, headers=service.key("operator")
    )

    assert response.status_code == 403


# --- sending dead letters again --------------------------------------------------------------------
def _dead_letter(service: Service, receiver: WebhookReceiver, clock: Clock, conversation_id: str = "c-dead") -> str:
    """One delivery that ran out of attempts (two 500s); the receiver accepts whatever comes next."""
    receiver.fail_first = len(receiver.requests) + 2
    service.send(conversation_id, "opening hours?")
    _drive(_worker(service, clock, base_delay=10, max_attempts=2), clock, [0, 10])
    failed = [d for d in _deliveries(service, _only_webhook(service), "?status=failed")]
    return str(failed[0]["id"])


def _only_webhook(service: Service) -> str:
    [webhook] = service.client.get("/v1/webhooks", headers=service.admin).json()
    return str(webhook["id"])


def _retry(service: Service, webhook_id: str, delivery_id: str | None = None, headers: Any = None) -> Any:
    path = f"/v1/webhooks/{webhook_id}/deliveries" + (f"/{delivery_id}" if delivery_id else "") + "/retry"
    return service.client.post(path, headers=headers or service.admin)


def test_an_admin_queues_one_dead_letter_again_with_its_attempts_reset(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    clock = Clock()
    delivery_id = _dead_letter(service, receiver, clock)

    response = _retry(service, webhook_id, delivery_id)

    assert response.status_code == 202, response.text
    body = response.json()
    assert body["count"] == 1
    [queued] = body["deliveries"]
    assert (queued["id"], queued["status"], queued["attempts"], queued["next_attempt_at"]) == (
        delivery_id, "pending", 0, None
    )
    assert _deliveries(service, webhook_id, "?status=failed") == []


def test_a_queued_dead_letter_is_delivered_once_under_its_original_webhook_id(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    clock = Clock()
    delivery_id = _dead_letter(service, receiver, clock)
    first_body = receiver.requests[0].body
    _retry(service, webhook_id, delivery_id)

    sent = _drive(_worker(service, clock), clock, [0, 0, 3600])

    assert sent == [1, 0, 0]
    assert [r.headers["webhook-id"] for r in receiver.requests] == [delivery_id] * 3  # 500, 500, then 204
    assert receiver.accepted[0].body == first_body  # the same event, signed afresh
    [delivered] = _deliveries(service, webhook_id)
    assert (delivered["status"], delivered["attempts"]) == ("delivered", 1)


def test_retrying_a_subscription_queues_every_dead_letter_and_only_those(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    clock = Clock()
    dead = {_dead_letter(service, receiver, clock, "c-1"), _dead_letter(service, receiver, clock, "c-2")}
    service.send("c-3", "opening hours?")
    _drive(_worker(service, clock), clock, [0])  # delivered at once

    response = _retry(service, webhook_id)
    sent = _drive(_worker(service, clock), clock, [0, 0])

    assert response.status_code == 202, response.text
    assert response.json()["count"] == 2
    assert {d["id"] for d in response.json()["deliveries"]} == dead
    assert sent == [2, 0]
    assert sorted(r.headers["webhook-id"] for r in receiver.accepted if r.headers["webhook-id"] in dead) == sorted(dead)
    assert {d["status"] for d in _deliveries(service, webhook_id)} == {"delivered"}


def test_retrying_a_subscription_without_dead_letters_queues_nothing(service: Service, receiver: WebhookReceiver) -> None:
    webhook_id = _subscribe(service, receiver, ["reply.sent"])

    response = _retry(service, webhook_id)

    assert response.status_code == 202
    assert response.json() == {"count": 0, "deliveries": []}


def test_a_disabled_subscription_must_be_enabled_before_its_dead_letters_are_sent_again(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    receiver.fail_first, receiver.fail_status = 1, 410
    clock = Clock()
    service.send("c-gone", "opening hours?")
    _drive(_worker(service, clock), clock, [0])
    [dead] = _deliveries(service, webhook_id, "?status=failed")

    refused_one = _retry(service, webhook_id, dead["id"])
    refused_all = _retry(service, webhook_id)
    service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": True}, headers=service.admin)
    accepted = _retry(service, webhook_id, dead["id"])
    sent = _drive(_worker(service, clock), clock, [0])

    for refused in (refused_one, refused_all):
        assert refused.status_code == 409
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["type"] == "urn:sportello:problem:subscription-disabled"
        assert f"webhook subscription {webhook_id!r} is disabled" in refused.json()["detail"]
        assert "410" in refused.json()["detail"]
        assert f'PATCH /v1/webhooks/{webhook_id} {{"enabled": true}}' in refused.json()["detail"]
    assert accepted.status_code == 202
    assert sent == [1]
    assert [r.status for r in receiver.requests] == [410, 204]


def test_a_refused_retry_changes_nothing_and_leaves_no_audit_row(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    clock = Clock()
    delivery_id = _dead_letter(service, receiver, clock)
    service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": False}, headers=service.admin)

    assert _retry(service, webhook_id, delivery_id).status_code == 409

    [dead] = _deliveries(service, webhook_id)
    assert (dead["status"], dead["attempts"]) == ("failed", 2)
    audit = service.client.get("/v1/audit?action=webhook.redeliver", headers=service.admin).json()
    assert audit["items"] == []


def test_a_delivery_that_is_not_failed_is_a_409_naming_its_status(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    clock = Clock()
    delivery_id = _dead_letter(service, receiver, clock)
    first = _retry(service, webhook_id, delivery_id)

    again = _retry(service, webhook_id, delivery_id)  # still pending: on its way
    _drive(_worker(service, clock), clock, [0])
    after = _retry(service, webhook_id, delivery_id)  # delivered

    assert first.status_code == 202
    assert (again.status_code, after.status_code) == (409, 409)
    assert again.json()["detail"] == f"delivery {delivery_id!r} is pending, not failed: only failed deliveries are sent again"
    assert f"{delivery_id!r} is delivered" in after.json()["detail"]
    assert len(receiver.accepted) == 1


def test_an_unknown_delivery_or_one_of_another_subscription_is_a_404_naming_it(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    delivery_id = _dead_letter(service, receiver, Clock())
    other = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hook", "events": ["reply.sent"]}, headers=service.admin
    ).json()["id"]

    unknown = _retry(service, webhook_id, "evt_missing")
    elsewhere = _retry(service, other, delivery_id)
    no_webhook = _retry(service, "wh_missing")

    assert (unknown.status_code, elsewhere.status_code, no_webhook.status_code) == (404, 404, 404)
    assert "evt_missing" in unknown.json()["detail"]
    assert delivery_id in elsewhere.json()["detail"] and other in elsewhere.json()["detail"]
    assert "wh_missing" in no_webhook.json()["detail"]


def test_a_malformed_delivery_id_is_a_422_naming_the_parameter(service: Service, receiver: WebhookReceiver) -> None:
    webhook_id = _subscribe(service, receiver, ["reply.sent"])

    response = _retry(service, webhook_id, "evt bad")

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "path.delivery_id"


def test_redelivery_is_audited_with_the_count_and_no_url(make_service: Any, receiver: WebhookReceiver) -> None:
    service: Service = make_service(delivery=STOPPED)
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    delivery_id = _dead_letter(service, receiver, Clock())

    _retry(service, webhook_id, delivery_id)
    _retry(service, webhook_id)

    items = service.client.get("/v1/audit?action=webhook.redeliver", headers=service.admin).json()["items"]
    assert [(i["target"], i["detail"]) for i in items] == [
        ({"type": "webhook", "id": webhook_id}, {"count": 0}),
        ({"type": "webhook", "id": webhook_id}, {"count": 1, "delivery_id": delivery_id}),
    ]
    assert items[0]["actor"]["role"] == "admin"
    assert receiver.url not in str(items)


def test_only_an_admin_may_send_dead_letters_again_and_a_refusal_is_audited(
    service: Service, receiver: WebhookReceiver
) -> None:
    webhook_id = _subscribe(service, receiver, ["reply.sent"])

    response = _retry(service, webhook_id, headers=service.key("operator"))

    assert response.status_code == 403
    [denied] = service.client.get("/v1/audit?action=webhook.redeliver", headers=service.admin).json()["items"]
    assert (denied["outcome"], denied["target"]["id"]) == ("denied", webhook_id)


def test_enabling_and_disabling_a_subscription_is_audited(service: Service, receiver: WebhookReceiver) -> None:
    webhook_id = _subscribe(service, receiver, ["reply.sent"])

    service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": False}, headers=service.admin)
    service.client.patch(f"/v1/webhooks/{webhook_id}", json={"enabled": True}, headers=service.admin)

    items = service.client.get("/v1/audit?action=webhook.update", headers=service.admin).json()["items"]
    assert [i["detail"] for i in items] == [{"enabled": True}, {"enabled": False}]


def test_the_running_worker_sends_a_dead_letter_as_soon_as_it_is_queued_again(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service()  # the app's own worker, FAST_DELIVERY: 5 attempts
    webhook_id = _subscribe(service, receiver, ["reply.sent"])
    receiver.fail_first = 5
    service.send("c-live", "opening hours?")
    receiver.wait_requests(5)
    deadline = time.monotonic() + WAIT
    while not _deliveries(service, webhook_id, "?status=failed") and time.monotonic() < deadline:
        time.sleep(0.02)

    response = _retry(service, webhook_id)
    [accepted] = receiver.wait_for(1)

    assert response.json()["count"] == 1
    assert accepted.headers["webhook-id"] == response.json()["deliveries"][0]["id"]
