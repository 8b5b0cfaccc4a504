"""A webhook receiver down for an hour, in simulated time: the delivery worker runs with the
production retry policy on a clock the test moves forward, the receiver refuses connections (its
port is closed), events keep being emitted, and then it comes back on the same port. Every event
reaches it exactly once (counted by `webhook-id`), on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections import Counter
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
from sqlalchemy import select

from api import models
from api.metrics import Metrics
from api.webhooks import DeliveryPolicy, DeliveryWorker, retry_delay
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
)

MINUTE = timedelta(minutes=1)


class Clock:
    """The worker's clock, moved by the test instead of waited for."""

    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now


class CountingReceiver:
    """Answers 204 to every POST on `port` and records its `webhook-id`."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.webhook_ids: list[str] = []
        self._server: ThreadingHTTPServer | None = None

    def start(self) -> None:
        ids = self.webhook_ids

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                self.rfile.read(int(self.headers.get("content-length", 0)))
                ids.append(self.headers["webhook-id"])
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def _deliver(worker: DeliveryWorker, client: httpx.AsyncClient) -> None:
    while await worker.deliver_due(client):
        pass


def test_events_emitted_during_an_hour_long_receiver_outage_are_each_delivered_once(make_service: Any) -> None:
    service = make_service(delivery=DeliveryPolicy(enabled=False))  # only the worker below sends
    port = _closed_port()
    created = service.client.post(
        "/v1/webhooks",
        json={"url": f"http://127.0.0.1:{port}/hooks", "events": ["message.received", "reply.sent"]},
        headers=service.admin,
    )
    assert created.status_code == 201
    clock = Clock()
    policy = DeliveryPolicy(timeout=2.0)  # the production schedule: 5 s doubling, capped at an hour
    worker = DeliveryWorker(service.app.state.runtime.db, policy, Metrics(), clock=clock)
    # Signatures are not checked here: their timestamps follow the simulated clock, an hour ahead
    # of the receiver's (tests/api/test_webhooks.py checks them).
    receiver = CountingReceiver(port)

    async def drill() -> None:
        async with httpx.AsyncClient(timeout=policy.timeout) as client:
            for minute in range(60):  # down: every attempt is refused; a message every 10 minutes
                if minute % 10 == 0:
                    assert service.send(f"c-{minute}", "opening hours?").status_code == 200
                await _deliver(worker, client)
                clock.now += MINUTE
            receiver.start()
            for _minute in range(int(policy.max_delay // 60) + 1):  # back: the next retry reaches it
                await _deliver(worker, client)
                clock.now += MINUTE

    try:
        asyncio.run(drill())
    finally:
        receiver.stop()

    with service.app.state.runtime.db.session() as session:
        outbox = {row.id: row.status for row in session.scalars(select(models.WebhookDelivery))}
    sent = Counter(receiver.webhook_ids)
    assert len(outbox) == 12
    assert set(sent) == set(outbox)
    assert [webhook_id for webhook_id, times in sent.items() if times != 1] == []
    assert set(outbox.values()) == {"delivered"}


def test_the_default_retry_schedule_outlasts_a_receiver_down_for_a_day() -> None:
    policy = DeliveryPolicy()

    last_attempt = sum(retry_delay(n, policy) for n in range(1, policy.max_attempts))

    assert last_attempt >= 24 * 3600
