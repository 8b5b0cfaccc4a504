"""Fault drills fast enough for every run: PostgreSQL going away under the service, reached
through a loopback relay that is cut (every connection reset, new ones refused), reset (open
connections die, a blip) and restored. A customer message is stored whole or not at all, the
client is told to retry (503 problem+json with Retry-After, never a 500, no traceback in the log),
the service recovers without a restart, a channel message acknowledged to the provider is still
answered once, and a send made while the database was away is not made again.

A full database: tests/api/test_disk_full.py; a receiver down for an hour: test_receiver_outage.py.
The slower drills (kill -9 of `sportello serve`, a real PostgreSQL restart under load, a tmpfs
that fills up) are scripts: `python -m benchmarks.drills` (README, "Running in production")."""

from __future__ import annotations

import asyncio
import logging
import threading
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy.exc
from fastapi.testclient import TestClient
from sqlalchemy import func, select

from agent.assistant import TurnResult
from agent.conversation import Conversation
from api import models
from api.app import create_app
from api.channels import ChannelWorker
from api.metrics import Metrics
from api.webhooks import DeliveryPolicy, DeliveryWorker
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    PG_DATABASE,
    PG_HOST,
    PG_PORT,
    WAIT,
    EchoKnowledgeAssistant,
    Service,
    WebhookReceiver,
    _pg_admin,
    make_service_fixture,
    postgres_database_fixture,
    require_server,
)
from tests.api.conftest_channels import (  # noqa: F401 (fixtures, used by name)
    FAST_CHANNELS,
    ChannelApp,
    channel_settings,
    eventually,
    make_channel_app_fixture,
    provider_fixture,
    wa_text,
    whatsapp_payload,
)
from tests.relay import TcpRelay

NO_DELIVERY = DeliveryPolicy(enabled=False)


# --- fixtures ----------------------------------------------------------------------------------
@pytest.fixture(name="relay")
def relay_fixture() -> Iterator[TcpRelay]:
    require_server("PostgreSQL", PG_HOST, PG_PORT)
    with TcpRelay(PG_HOST, PG_PORT) as relay:
        yield relay


@pytest.fixture(name="database_url")
def relayed_database_url_fixture(relay: TcpRelay, postgres_database: str) -> Iterator[str]:
    """PostgreSQL reached through `relay`, in a schema of its own."""
    schema = postgres_database + uuid.uuid4().hex[:12]
    with _pg_admin() as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    yield (
        f"postgresql+psycopg://postgres@127.0.0.1:{relay.port}/{PG_DATABASE}"
        f"?options=-csearch_path%3D{schema}&connect_timeout=3"
    )
    with _pg_admin() as connection:
        connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


class HeldAssistant(EchoKnowledgeAssistant):
    """Takes its turns like the echo assistant, except that a turn waits for `release` while
    `hold` is set: the moment to pull the database away from under it."""

    def __init__(self) -> None:
        super().__init__()
        self.hold = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        if self.hold:
            self.arrived.set()
            assert self.release.wait(WAIT), "the test never released the turn"
        return super().respond(conversation, message, now=now)


def _assert_retry_later(response: httpx.Response, status: int = 503) -> None:
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["status"] == status


def _rows(service: Service, model: Any, conversation_id: str) -> int:
    with service.app.state.runtime.db.session() as session:
        return int(session.scalar(
            select(func.count()).select_from(model).where(model.conversation_id == conversation_id)
        ) or 0)


# --- PostgreSQL out of reach ---------------------------------------------------------------------
def test_requests_get_503_with_retry_after_while_postgresql_is_out_of_reach(
    make_service: Any, relay: TcpRelay
) -> None:
    service = make_service(delivery=NO_DELIVERY)
    assert service.send("c-1", "opening hours?", message_id="m-1").status_code == 200

    relay.cut()

    _assert_retry_later(service.send("c-1", "and returns?", message_id="m-2"))
    _assert_retry_later(service.client.get("/v1/conversations/c-1", headers=service.key("channel")))


def test_the_service_answers_again_once_postgresql_is_back_without_a_restart(
    make_service: Any, relay: TcpRelay
) -> None:
    service = make_service(delivery=NO_DELIVERY)
    assert service.send("c-1", "opening hours?", message_id="m-1").status_code == 200
    relay.cut()
    assert service.send("c-1", "and returns?", message_id="m-2").status_code == 503

    relay.restore()

    assert service.send("c-1", "and returns?", message_id="m-2").status_code == 200
    messages = service.client.get("/v1/conversations/c-1", headers=service.key("channel")).json()["messages"]
    assert [m["role"] for m in messages] == ["customer", "bot", "customer", "bot"]


def test_a_turn_cut_off_by_a_database_outage_is_not_half_stored(make_service: Any, relay: TcpRelay) -> None:
    assistant = HeldAssistant()
    service = make_service(assistant=assistant, delivery=NO_DELIVERY)
    service.client.post("/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["message.received"]},
                        headers=service.admin)
    assistant.hold = True
    answer: list[httpx.Response] = []
    sender = threading.Thread(target=lambda: answer.append(service.send("c-1", "opening hours?", message_id="m-1")))
    sender.start()
    assert assistant.arrived.wait(WAIT)

    relay.cut()  # the turn's transaction (it holds the conversation's lock) dies under it
    assistant.release.set()
    sender.join(WAIT)
    _assert_retry_later(answer[0])
    relay.restore()

    assert _rows(service, models.Message, "c-1") == 0
    assert _rows(service, models.WebhookDelivery, "c-1") == 0
    assistant.hold = False
    assert service.send("c-1", "opening hours?", message_id="m-1").status_code == 200
    assert _rows(service, models.Message, "c-1") == 2
    assert _rows(service, models.WebhookDelivery, "c-1") == 1


def test_a_database_outage_logs_no_traceback_and_no_customer_text(
    make_service: Any, relay: TcpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service(delivery=NO_DELIVERY)
    service.send("c-1", "opening hours?", message_id="m-1")
    relay.cut()

    with caplog.at_level(logging.INFO):
        service.send("c-1", "my secret order 4242-XYZ", message_id="m-2")

    assert [r.getMessage() for r in caplog.records if r.exc_info] == []
    assert not any("4242-XYZ" in r.getMessage() or "4242-XYZ" in str(r.__dict__) for r in caplog.records)
    assert "database_unavailable" in [r.getMessage() for r in caplog.records]


def test_a_channel_message_whose_turn_lost_its_database_connection_is_answered_once_later(
    make_channel_app: Any, relay: TcpRelay, provider: Any
) -> None:
    assistant = HeldAssistant()
    assistant.hold = True
    channels: ChannelApp = make_channel_app(assistant=assistant)
    ack = channels.whatsapp(whatsapp_payload(wa_text("wamid.1", "Quali sono gli orari?")))
    assert ack.status_code == 200  # acknowledged to Meta: from here on it must not be lost
    assert assistant.arrived.wait(WAIT)

    relay.reset()  # the turn's connection dies; the database itself answers again at once
    assistant.hold = False
    assistant.release.set()

    assert len(provider.wait_accepted(1)) == 1
    assert eventually(lambda: _roles(channels)) == ["customer", "bot"]


def _roles(channels: ChannelApp) -> list[str]:
    with channels.client.app.state.runtime.db.session() as session:  # type: ignore[attr-defined]
        return [m.role for m in session.scalars(select(models.Message).order_by(models.Message.seq))]


def test_the_background_workers_log_one_line_per_poll_and_no_traceback_while_the_database_is_away(
    make_channel_app: Any, relay: TcpRelay, caplog: pytest.LogCaptureFixture
) -> None:
    channels: ChannelApp = make_channel_app()  # the webhook, channel and sync workers all poll
    with caplog.at_level(logging.INFO):
        relay.cut()
        events = ("webhook_worker_database_unavailable", "channel_worker_database_unavailable")
        eventually(lambda: {r.getMessage() for r in caplog.records} >= set(events))
        relay.restore()

    assert channels.client.get("/healthz").status_code == 200
    assert [r.getMessage() for r in caplog.records if r.exc_info] == []


def test_a_delivery_sent_while_the_database_went_away_is_recorded_once_it_is_back_not_sent_again(
    make_service: Any, relay: TcpRelay
) -> None:
    service = make_service(delivery=NO_DELIVERY)  # only the worker below sends
    receiver = WebhookReceiver()
    receiver.start()
    try:
        created = service.client.post(
            "/v1/webhooks", json={"url": receiver.url, "events": ["message.received"]}, headers=service.admin
        ).json()
        receiver.secret = created["secret"]
        assert service.send("c-1", "opening hours?", message_id="m-1").status_code == 200
        now = [datetime.now(UTC)]
        worker = DeliveryWorker(service.app.state.runtime.db, DeliveryPolicy(), Metrics(), clock=lambda: now[0])

        async def drill() -> None:
            async with httpx.AsyncClient(timeout=5) as client:
                receiver.hold = threading.Event()  # the send is in flight when the database goes
                sending = asyncio.create_task(worker.deliver_due(client))
                await asyncio.to_thread(receiver.wait_arrived, 1)
                relay.cut()
                receiver.hold.set()
                with pytest.raises(sqlalchemy.exc.OperationalError):
                    await sending  # the outcome could not be stored
                relay.restore()
                now[0] += timedelta(seconds=DeliveryPolicy().lease + 1)  # past the claim's lease
                while await worker.deliver_due(client):
                    pass

        asyncio.run(drill())
    finally:
        receiver.stop()

    assert Counter(r.headers["webhook-id"] for r in receiver.requests).most_common(1)[0][1] == 1
    with service.app.state.runtime.db.session() as session:
        assert [row.status for row in session.scalars(select(models.WebhookDelivery))] == ["delivered"]


def test_a_channel_reply_sent_while_the_database_went_away_is_not_sent_to_the_customer_again(
    tmp_path: Path, database_url: str, relay: TcpRelay, provider: Any
) -> None:
    settings = channel_settings(tmp_path, database_url, provider)
    app = create_app(settings, assistant=EchoKnowledgeAssistant(), delivery=NO_DELIVERY,
                     channel_policy=replace(FAST_CHANNELS, enabled=False))  # only the worker below runs
    now = [datetime.now(UTC)]
    with TestClient(app) as client:
        channels = ChannelApp(client, None)
        assert channels.whatsapp(whatsapp_payload(wa_text("wamid.1", "Quali sono gli orari?"))).status_code == 200
        now[0] = datetime.now(UTC)  # the message has arrived by the worker's clock
        worker = ChannelWorker(app.state.runtime, FAST_CHANNELS, clock=lambda: now[0])

        async def drill() -> None:
            async with httpx.AsyncClient(timeout=5) as http:
                assert (await worker.take_turns())[0] == 1  # the reply is queued
                provider.on_request = relay.cut  # the database goes while the reply is on its way
                with pytest.raises(sqlalchemy.exc.OperationalError):
                    await worker.send_due(http)
                provider.on_request = None
                relay.restore()
                now[0] += timedelta(seconds=FAST_CHANNELS.lease + 1)  # past the send's lease
                while (await worker.send_due(http))[0]:
                    pass

        asyncio.run(drill())

    assert len(provider.requests) == 1
