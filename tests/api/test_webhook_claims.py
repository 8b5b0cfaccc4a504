"""Two delivery workers on one database (two engines, as two processes have) send each event once,
on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import threading
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import event

from api.db import Database
from api.metrics import Metrics
from api.webhooks import DeliveryPolicy, DeliveryWorker
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    WAIT,
    WebhookReceiver,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    receiver_fixture,
)

POLICY = DeliveryPolicy(base_delay=0.02, max_delay=0.2, max_attempts=5, timeout=5.0, poll_interval=0.2)


def _meet_after_reading_due_rows(db: Database, barrier: threading.Barrier) -> None:
    """Hold this engine's first read of the outbox until the other engine has read it too: the two
    workers then look at the same due rows at the same moment, which is the race two processes run."""
    met = threading.Event()

    @event.listens_for(db.engine, "after_cursor_execute")
    def _meet(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if not met.is_set() and statement.lstrip().upper().startswith("SELECT") and "webhook_deliveries" in statement:
            met.set()
            barrier.wait(timeout=WAIT)


def _deliver_once(worker: DeliveryWorker) -> int:
    async def run() -> int:
        async with httpx.AsyncClient(timeout=5.0) as client:
            return await worker.deliver_due(client)

    return asyncio.run(run())


def test_two_workers_on_one_database_send_each_event_once(
    make_service: Any, database_url: str, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    service = make_service(delivery=DeliveryPolicy(enabled=False))  # only the two workers below send
    created = service.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["message.received", "reply.sent"]}, headers=service.admin
    )
    receiver.secret = created.json()["secret"]
    for n in range(6):
        assert service.send(f"c-{n}", "Quali sono gli orari?").status_code == 200
    keys = service.app.state.runtime.secrets  # the same SPORTELLO_SECRET_KEY in both processes
    databases = [Database(database_url, secrets=keys), Database(database_url, secrets=keys)]
    barrier = threading.Barrier(2)
    workers = [DeliveryWorker(db, POLICY, Metrics()) for db in databases]
    for db in databases:
        _meet_after_reading_due_rows(db, barrier)
    try:
        threads = [threading.Thread(target=_deliver_once, args=(w,)) for w in workers]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=WAIT)
        while _deliver_once(workers[0]):  # whatever neither claimed in the race
            pass
    finally:
        for db in databases:
            db.dispose()

    sent = Counter(r.headers["webhook-id"] for r in receiver.requests)
    assert len(sent) == 12
    assert [webhook_id for webhook_id, times in sent.items() if times > 1] == []
