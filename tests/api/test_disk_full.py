"""A full SQLite database: `PRAGMA max_page_count` caps the file at its current size, and SQLite
then fails a write that needs another page with SQLITE_FULL, exactly as on a full disk (the
drill `python -m benchmarks.drills disk_full` fills a real tmpfs). The message is refused with a
507 problem+json, nothing of it is stored, and the service writes again once space returns.

Readiness watches the free space itself: on a real tmpfs (mounted here when the tests run as
root, as the drill does) filled below SPORTELLO_MIN_FREE_BYTES, /readyz answers 503 naming the
folder and its free bytes, and 200 again once space returns; /healthz never asks."""

from __future__ import annotations

import itertools
import logging
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, func, select, text

from api import models
from api.app import create_app
from api.webhooks import DeliveryPolicy
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    EchoKnowledgeAssistant,
    Service,
    embedding_url_fixture,
    make_service_fixture,
    make_settings,
)
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


# --- readiness and free space --------------------------------------------------------------------
SMALL_DISK = 16 * 1024 * 1024
MIN_FREE = 4 * 1024 * 1024
FAQ = "question,answer,updated_at\nQuali sono gli orari?,Dal lunedì al sabato 9-19.,2026-11-01\n"


@pytest.fixture(name="small_disk")
def small_disk_fixture(tmp_path: Path) -> Iterator[Path]:
    """A 16 MB tmpfs of its own (as the drill mounts one): filling it fills nothing else."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    disk = tmp_path / "disk"
    disk.mkdir()
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={SMALL_DISK}", "tmpfs", str(disk)], capture_output=True, check=False
    )
    if mounted.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {mounted.stderr.decode().strip()}")
    yield disk
    subprocess.run(["umount", "-l", str(disk)], check=False)


@contextmanager
def nearly_full(disk: Path, leave: int) -> Iterator[None]:
    """Fill `disk` with a file until `leave` bytes are free; the file is removed on exit."""
    filler = disk / "filler"
    with filler.open("wb") as out:
        out.write(b"\0" * max(0, shutil.disk_usage(disk).free - leave))
    try:
        yield
    finally:
        filler.unlink()


@contextmanager
def ready_client(tmp_path: Path, embedding_url: str, *, data_dir: Path, database_url: str,
                 min_free: int = MIN_FREE) -> Iterator[TestClient]:
    """A service that is ready (an FAQ synced through the API, on the loopback embedder)."""
    brand = tmp_path / "brand"
    brand.mkdir(exist_ok=True)
    (brand / "faq.csv").write_text(FAQ, encoding="utf-8")
    manifest = brand / "sources.yaml"
    manifest.write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )
    settings = make_settings(
        tmp_path, database_url, data_dir=data_dir, manifest=manifest, embedding_base_url=embedding_url,
        min_free_bytes=min_free,
    )
    app = create_app(settings, assistant=EchoKnowledgeAssistant(), delivery=DeliveryPolicy(enabled=False))
    with TestClient(app) as client:
        admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=admin).json()["key"]
        synced = client.post("/v1/sources/faq/sync", headers={"Authorization": f"Bearer {key}"})
        assert synced.status_code == 202, synced.text
        yield client


def test_readyz_is_503_naming_the_data_dir_and_its_free_bytes_when_the_disk_is_nearly_full(
    tmp_path: Path, small_disk: Path, embedding_url: str
) -> None:
    data_dir = small_disk / "data"
    with ready_client(tmp_path, embedding_url, data_dir=data_dir,
                      database_url=f"sqlite:///{small_disk / 'sportello.db'}") as client:
        assert client.get("/readyz").status_code == 200, client.get("/readyz").text
        with nearly_full(small_disk, leave=MIN_FREE // 2):
            response = client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == "application/problem+json"
    body = response.json()
    failing = {name: state for name, state in body["checks"].items() if state != "ok"}
    assert list(failing) == ["disk"]
    assert failing["disk"].startswith(f"DiskSpaceLow: {data_dir} has ")
    free = int(failing["disk"].split(" has ")[1].split(" bytes free")[0])
    assert 0 < free < MIN_FREE
    assert f"SPORTELLO_MIN_FREE_BYTES={MIN_FREE}" in failing["disk"]
    assert "disk: DiskSpaceLow" in body["detail"]


def test_readyz_is_ready_again_once_space_returns(tmp_path: Path, small_disk: Path, embedding_url: str) -> None:
    with ready_client(tmp_path, embedding_url, data_dir=small_disk / "data",
                      database_url=f"sqlite:///{small_disk / 'sportello.db'}") as client:
        with nearly_full(small_disk, leave=MIN_FREE // 2):
            assert client.get("/readyz").status_code == 503
        after = client.get("/readyz")

    assert after.status_code == 200
    assert after.json()["checks"]["disk"] == "ok"


def test_healthz_stays_200_while_the_disk_is_nearly_full(tmp_path: Path, small_disk: Path, embedding_url: str) -> None:
    with (
        ready_client(tmp_path, embedding_url, data_dir=small_disk / "data",
                     database_url=f"sqlite:///{small_disk / 'sportello.db'}") as client,
        nearly_full(small_disk, leave=MIN_FREE // 2),
    ):
        health = client.get("/healthz")

    assert (health.status_code, health.json()) == (200, {"status": "ok"})


def test_the_sqlite_files_folder_is_watched_when_it_is_outside_the_data_dir(
    tmp_path: Path, small_disk: Path, embedding_url: str
) -> None:
    with (
        ready_client(tmp_path, embedding_url, data_dir=tmp_path / "data",
                     database_url=f"sqlite:///{small_disk / 'sportello.db'}") as client,
        nearly_full(small_disk, leave=MIN_FREE // 2),
    ):
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["disk"].startswith(f"DiskSpaceLow: {small_disk} has ")


def test_a_threshold_above_the_free_space_fails_readiness_without_a_full_disk(
    tmp_path: Path, embedding_url: str
) -> None:
    with ready_client(tmp_path, embedding_url, data_dir=tmp_path / "data",
                      database_url=f"sqlite:///{tmp_path / 'service.db'}", min_free=2**62) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert f"SPORTELLO_MIN_FREE_BYTES={2**62}" in response.json()["checks"]["disk"]


def test_a_threshold_of_zero_turns_the_disk_check_off(tmp_path: Path, embedding_url: str) -> None:
    with ready_client(tmp_path, embedding_url, data_dir=tmp_path / "data",
                      database_url=f"sqlite:///{tmp_path / 'service.db'}", min_free=0) as client:
        response = client.get("/readyz")

    assert response.status_code == 200
    assert "disk" not in response.json()["checks"]
