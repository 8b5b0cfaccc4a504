"""Channel keys scoped to their channel: a Telegram key cannot read or write WhatsApp's
conversations (they look like ones that do not exist), on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _key(service: Service, channel: str | None, name: str) -> dict[str, str]:
    body: dict[str, Any] = {"role": "channel", "name": name}
    if channel is not None:
        body["channel"] = channel
    created = service.client.post("/v1/keys", json=body, headers=ADMIN)
    assert created.status_code == 201, created.text
    assert created.json()["channel"] == channel
    return {"Authorization": f"Bearer {created.json()['key']}"}


def _send(service: Service, key: dict[str, str], conversation_id: str, channel: str) -> Any:
    body = {"text": "Quali sono gli orari?", "user_id": "u-1", "channel": channel}
    return service.client.post(f"/v1/conversations/{conversation_id}/messages", json=body, headers=key)


def test_a_channel_key_reads_and_writes_only_its_own_channels_conversations(service: Service) -> None:
    whatsapp, telegram = _key(service, "whatsapp", "wa"), _key(service, "telegram", "tg")
    assert _send(service, whatsapp, "whatsapp:1:39333", "whatsapp").status_code == 200

    read = service.client.get("/v1/conversations/whatsapp:1:39333", headers=telegram)
    written = _send(service, telegram, "whatsapp:1:39333", "telegram")
    feedback = service.client.post("/v1/conversations/whatsapp:1:39333/feedback", json={"rating": 1}, headers=telegram)
    own = service.client.get("/v1/conversations/whatsapp:1:39333", headers=whatsapp)

    assert (read.status_code, written.status_code, feedback.status_code) == (404, 404, 404)
    assert own.status_code == 200


def test_a_scoped_key_cannot_write_as_another_channel(service: Service) -> None:
    telegram = _key(service, "telegram", "tg")

    response = _send(service, telegram, "fresh-conversation", "whatsapp")

    assert response.status_code == 403
    assert "telegram" in response.json()["detail"]


def test_only_channel_keys_take_a_channel(service: Service) -> None:
    response = service.client.post(
        "/v1/keys", json={"role": "operator", "name": "op", "channel": "telegram"}, headers=ADMIN
    )

    assert response.status_code == 422


def test_keys_are_listed_with_their_channel(service: Service) -> None:
    _key(service, "telegram", "tg")
    _key(service, None, "legacy")

    listed = {k["name"]: k["channel"] for k in service.client.get("/v1/keys", headers=ADMIN).json()}

    assert (listed["tg"], listed["legacy"]) == ("telegram", None)
