"""A full SQLite database: `PRAGMA max_page_count` caps the file at its current size, and SQLite
then fails a write that needs another page with SQLITE_FULL, exactly as on a full disk (the
drill `python -m benchmarks.drills disk_full` fills a real tmpfs). The message is refused with a
507 problem+json, nothing of it is stored, and the service writes again once space returns."""

from __future__ import annotations

import itertools
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, text

from api import models
from api.webhooks import DeliveryPolicy
from tests.api.conftest_api import Service, make_service_fixture  # noqa: F401 (fixtures, used by name)
from tests.api.conftest_channels import eventually

# Over SQLite's page (4 KiB): storing it needs new overflow pages, which a full file cannot add.
LONG_TEXT = "opening hours? " + "a question with many words " * 140


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


@contextmanager
def full_database(engine: Engine) -> Iterator[None]:
    """Every connection of `engine` may not grow the file past its size now; lifted on exit."""
    with engine.connect() as connection:
        pages = int(connection.execute(text("PRAGMA page_count")).scalar_one())

    def cap(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.execute(f"PRAGMA max_page_count = {pages}")

    event.listen(engine, "connect", cap)
    engine.dispose()  # pooled connections are replaced by capped ones
    try:
        yield
    finally:
        event.remove(engine, "connect", cap)
        engine.dispose()


def _stored(service: Service, model: Any, conversation_id: str) -> int:
    with service.app.state.runtime.db.session() as session:
        query = select(func.count()).select_from(model).where(model.conversation_id == conversation_id)
        return int(session.scalar(query) or 0)


@pytest.fixture(name="subscribed")
def subscribed_fixture(make_service: Any) -> Service:
    service = make_service(delivery=DeliveryPolicy(enabled=False))  # events stay in the outbox
    created = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["message.received"]}, headers=service.admin
    )
    assert created.status_code == 201
    assert service.send("c-1", "opening hours?", message_id="m-1").status_code == 200
    return service


def test_a_message_that_does_not_fit_in_a_full_database_is_a_507_problem(subscribed: Service) -> None:
    with full_database(subscribed.app.state.runtime.db.engine):
        response = subscribed.send("c-1", LONG_TEXT, message_id="m-2")

    assert response.status_code == 507, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert int(response.headers["retry-after"]) >= 1
    assert response.json()["title"] == "Database full"


def test_a_message_refused_by_a_full_database_is_not_half_stored(subscribed: Service) -> None:
    with full_database(subscribed.app.state.runtime.db.engine):
        subscribed.send("c-1", LONG_TEXT, message_id="m-2")

    assert _stored(subscribed, models.Message, "c-1") == 2  # the first turn only
    assert _stored(subscribed, models.WebhookDelivery, "c-1") == 1


def test_the_service_stores_the_message_once_space_returns(subscribed: Service) -> None:
    with full_database(subscribed.app.state.runtime.db.engine):
        assert subscribed.send("c-1", LONG_TEXT, message_id="m-2").status_code == 507

    assert subscribed.send("c-1", LONG_TEXT, message_id="m-2").status_code == 200
    assert _stored(subscribed, models.Message, "c-1") == 4
    assert _stored(subscribed, models.WebhookDelivery, "c-1") == 2


def test_the_webhook_worker_waits_between_polls_while_the_database_refuses_writes(
    make_service: Any, caplog: pytest.LogCaptureFixture
) -> None:
    service = make_service()  # the webhook worker runs, polling every 0.2 s
    service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": ["message.received"]}, headers=service.admin
    )
    engine = service.app.state.runtime.db.engine

    def read_only(dbapi_connection: Any, _record: Any) -> None:  # reads work, every write fails
        dbapi_connection.execute("PRAGMA query_only = ON")

    with caplog.at_level(logging.WARNING, logger="api.webhooks"):
        assert service.send("c-1", "opening hours?").status_code == 200  # a delivery to retry
        event.listen(engine, "connect", read_only)
        engine.dispose()
        failures = eventually(lambda: _three([r for r in caplog.records if r.name == "api.webhooks"]))
        event.remove(engine, "connect", read_only)
        engine.dispose()

    gaps = [later.created - earlier.created for earlier, later in itertools.pairwise(failures)]
    assert min(gaps) >= 0.15, gaps  # a poll interval apart, not a busy loop


def _three(records: list[logging.LogRecord]) -> list[logging.LogRecord] | None:
    return records[:3] if len(records) >= 3 else None
