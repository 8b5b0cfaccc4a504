"""Webhook signing secrets are stored encrypted (SPORTELLO_SECRET_KEY, Fernet keys that rotate),
sign at a real loopback receiver all the same, and a wrong key is said plainly; on SQLite and
PostgreSQL."""

from __future__ import annotations

import asyncio
import base64
import stat
from pathlib import Path
from typing import Any

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, text

from api.db import Database, alembic_config
from api.metrics import Metrics
from api.secretbox import KEY_FILE, SecretBox, SecretKeyError, new_key
from api.webhooks import DeliveryPolicy, DeliveryWorker, reseal_secrets
from sportello.settings import Settings
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    WebhookReceiver,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    receiver_fixture,
)

# Fixed keys (test ids must be the same in every xdist worker); new_key() makes real ones.
OLD = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW = base64.urlsafe_b64encode(b"n" * 32).decode()
PAUSED = DeliveryPolicy(enabled=False)


def _stored_secrets(database_url: str) -> list[str]:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return [row[0] for row in connection.execute(text("SELECT secret FROM webhook_subscriptions"))]
    finally:
        engine.dispose()


def _subscribe(service: Service, url: str) -> dict[str, Any]:
    created = service.client.post("/v1/webhooks", json={"url": url, "events": ["reply.sent"]}, headers=service.admin)
    assert created.status_code == 201, created.text
    return created.json()


def _deliver(service: Service) -> int:
    worker = DeliveryWorker(service.app.state.runtime.db, DeliveryPolicy(), Metrics())

    async def run() -> int:
        async with httpx.AsyncClient(timeout=5.0) as client:
            return await worker.deliver_due(client)

    return asyncio.run(run())


def test_the_database_row_holds_the_signing_secret_encrypted_not_in_clear(
    make_service: Any, database_url: str
) -> None:
    service: Service = make_service(secret_key=OLD, delivery=PAUSED)

    secret = _subscribe(service, "http://127.0.0.1:9/hook")["secret"]

    [stored] = _stored_secrets(database_url)
    assert secret.startswith("whsec_")
    assert secret not in stored and secret.removeprefix("whsec_") not in stored
    assert stored.startswith("fernet:")
    assert SecretBox((OLD,), "test").open(stored, what="it") == secret


def test_a_delivery_signed_with_the_decrypted_secret_verifies_at_the_receiver(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    service: Service = make_service(secret_key=OLD, delivery=PAUSED)
    receiver.secret = _subscribe(service, receiver.url)["secret"]
    service.send("c-signed", "opening hours?")

    assert _deliver(service) == 1

    assert [r.status for r in receiver.requests] == [204]  # 204: the signature verified


def test_with_a_new_key_first_old_secrets_still_sign_and_rotating_moves_them_to_the_new_key(
    make_service: Any, database_url: str, receiver: WebhookReceiver
) -> None:
    before: Service = make_service(secret_key=OLD, delivery=PAUSED)
    receiver.secret = _subscribe(before, receiver.url)["secret"]
    after: Service = make_service(secret_key=f"{NEW}, {OLD}", delivery=PAUSED)
    after.send("c-rotate", "opening hours?")

    assert _deliver(after) == 1
    with after.app.state.runtime.db.session() as session:
        rewritten = reseal_secrets(session, after.app.state.runtime.secrets)

    [stored] = _stored_secrets(database_url)
    assert [r.status for r in receiver.requests] == [204]
    assert rewritten == 1
    assert SecretBox((NEW,), "test").open(stored, what="it") == receiver.secret
    with pytest.raises(SecretKeyError):
        SecretBox((OLD,), "test").open(stored, what="it")


def test_a_wrong_key_is_named_by_readyz_and_by_the_delivery_not_answered_with_a_500(
    make_service: Any, receiver: WebhookReceiver
) -> None:
    first: Service = make_service(secret_key=OLD, delivery=PAUSED)
    created = _subscribe(first, receiver.url)
    wrong: Service = make_service(secret_key=NEW, delivery=PAUSED)

    message = wrong.send("c-wrong", "opening hours?")
    ready = wrong.client.get("/readyz")
    _deliver(wrong)
    deliveries = wrong.client.get(f"/v1/webhooks/{created['id']}/deliveries", headers=wrong.admin).json()

    assert message.status_code == 200  # customers are still answered
    assert ready.status_code == 503
    assert ready.headers["content-type"] == "application/problem+json"
    assert "SPORTELLO_SECRET_KEY" in ready.json()["checks"]["secrets"]
    assert created["id"] in ready.json()["checks"]["secrets"]
    assert receiver.requests == []  # nothing sent unsigned
    assert deliveries[0]["status"] == "pending"
    assert "SPORTELLO_SECRET_KEY" in deliveries[0]["last_error"]


def test_the_migration_encrypts_secrets_the_previous_version_stored_in_clear(
    database_url: str, tmp_path: Path
) -> None:
    box = SecretBox((OLD,), "test")
    db = Database(database_url, secrets=box)
    try:
        command.upgrade(alembic_config(db.engine, box), "0014_work_across_workers")
        with db.engine.begin() as connection:
            connection.execute(
                text(
                    "INSERT INTO webhook_subscriptions (id, url, events, secret, created_at) "
                    "VALUES ('wh_old', 'http://127.0.0.1:9/h', '[]', 'whsec_aW4gY2xlYXI=', '2026-11-01 09:00:00')"
                )
            )

        db.migrate()
    finally:
        db.dispose()

    [stored] = _stored_secrets(database_url)
    assert stored.startswith("fernet:")
    assert box.open(stored, what="it") == "whsec_aW4gY2xlYXI="


def test_a_new_key_is_a_fernet_key_the_box_accepts() -> None:
    box = SecretBox((new_key(), OLD), "test")

    assert SecretBox((OLD,), "test").open(SecretBox((OLD,), "test").seal("x"), what="it") == "x"
    assert box.open(box.seal("whsec_y"), what="it") == "whsec_y"


def test_without_a_key_one_file_is_made_in_the_data_dir_readable_by_its_owner_only(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")

    first = SecretBox.from_settings(settings)
    second = SecretBox.from_settings(settings)

    assert first.keys == second.keys
    assert stat.S_IMODE((tmp_path / "data" / KEY_FILE).stat().st_mode) == 0o600
    assert second.open(first.seal("whsec_x"), what="it") == "whsec_x"


@pytest.mark.parametrize("value", ["not-a-key", f"{OLD},short", " , "])
def test_a_value_that_is_not_a_list_of_fernet_keys_is_refused_naming_the_variable(value: str) -> None:
    with pytest.raises(SecretKeyError, match="SPORTELLO_SECRET_KEY"):
        SecretBox.from_settings(Settings(secret_key=value))
