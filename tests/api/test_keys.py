"""API keys, roles and rate limits. Roles do not depend on the database, so this module runs on
SQLite only (the persistence of keys across restarts is covered in test_api_webhooks.py)."""

from __future__ import annotations

import json
import logging
import sqlite3
import uuid
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from api.ratelimit import RateLimiter
from sportello.cli import app as commands_app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    Service,
    make_service_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"
MESSAGE = {"text": "opening hours?", "user_id": "u", "channel": "web"}


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


# (method, path, json body, roles allowed besides admin)
ROUTES = [
    ("POST", "/v1/conversations/c1/messages", MESSAGE, {"channel"}),
    ("GET", "/v1/conversations/c1", None, {"channel", "operator"}),
    ("POST", "/v1/conversations/c1/feedback", {"rating": 4}, {"channel"}),
    ("POST", "/v1/conversations/c1/handoff", None, {"channel", "operator"}),
    ("GET", "/v1/handoffs", None, {"operator"}),
    ("GET", "/v1/handoffs/ho_x", None, {"operator"}),
    ("POST", "/v1/handoffs/ho_x/claim", None, {"operator"}),
    ("POST", "/v1/handoffs/ho_x/messages", {"text": "hi"}, {"operator"}),
    ("POST", "/v1/handoffs/ho_x/resolve", None, {"operator"}),
    ("GET", "/v1/sources", None, {"content"}),
    ("POST", "/v1/sources/faq/sync", None, {"content"}),
    ("GET", "/v1/knowledge/health", None, {"content"}),
    ("GET", "/v1/search?q=orari", None, {"content"}),
    ("GET", "/v1/keys", None, set()),
    ("POST", "/v1/keys", {"role": "channel", "name": "x"}, set()),
    ("DELETE", "/v1/keys/key_x", None, set()),
    ("GET", "/v1/webhooks", None, set()),
    ("POST", "/v1/webhooks", {"url": "http://127.0.0.1:9/h", "events": ["reply.sent"]}, set()),
]


@pytest.mark.parametrize("role", ["channel", "operator", "content", "admin"])
def test_each_role_reaches_exactly_its_routes(service: Service, role: str) -> None:
    headers = service.admin if role == "admin" else service.key(role)
    refused, admitted = [], []
    for method, path, body, _ in ROUTES:
        status = service.client.request(method, path, json=body, headers=headers).status_code
        assert status != 401, (method, path)
        (admitted if status != 403 else refused).append((method, path))
    expected_admitted = [(m, p) for m, p, _, allowed in ROUTES if role == "admin" or role in allowed]
    assert admitted == expected_admitted
    assert len(refused) == len(ROUTES) - len(expected_admitted)


def test_a_wrong_role_gets_a_403_problem_naming_the_roles_needed(service: Service) -> None:
    response = service.client.get("/v1/handoffs", headers=service.key("channel"))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM
    assert (
        response.json()["detail"] == "a channel key cannot use this route; it needs one of: admin, operator"
    )


def test_a_missing_key_is_401_with_a_bearer_challenge(service: Service) -> None:
    response = service.client.post("/v1/conversations/c1/messages", json=MESSAGE)

    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.headers["content-type"] == PROBLEM


def test_an_unknown_key_is_401(service: Service) -> None:
    response = service.client.get("/v1/handoffs", headers={"Authorization": "Bearer sk_made_up"})

    assert response.status_code == 401


def test_a_key_sent_with_another_scheme_is_401(service: Service) -> None:
    response = service.client.get("/v1/handoffs", headers={"Authorization": f"Basic {ADMIN_KEY}"})

    assert response.status_code == 401


def test_the_admin_key_from_settings_can_create_keys(service: Service) -> None:
    created = service.client.post(
        "/v1/keys", json={"role": "channel", "name": "whatsapp-prod"}, headers=service.admin
    )

    assert created.status_code == 201
    body = created.json()
    assert body["key"].startswith("sk_")
    assert (body["role"], body["name"]) == ("channel", "whatsapp-prod")
    assert body["id"].startswith("key_")


def test_without_an_admin_key_setting_the_bootstrap_secret_is_refused(make_service: Any) -> None:
    service = make_service(admin_key=None)

    response = service.client.get("/v1/keys", headers=service.admin)

    assert response.status_code == 401


def test_a_new_key_works_at_once_and_is_listed_without_its_secret(service: Service) -> None:
    headers = service.key("operator", "desk")

    listed = service.client.get("/v1/keys", headers=service.admin).json()

    assert service.client.get("/v1/handoffs", headers=headers).status_code == 200
    assert [(k["name"], k["role"]) for k in listed] == [("desk", "operator")]
    assert "key" not in listed[0]


def test_keys_are_stored_hashed(service: Service, tmp_path: Path) -> None:
    secret = service.key("channel")["Authorization"].split()[1]

    with sqlite3.connect(tmp_path / "service.db") as db:
        dump = "\n".join(db.iterdump())

    assert secret not in dump


def test_a_revoked_key_is_refused_with_401(service: Service) -> None:
    headers = service.key("operator")
    key_id = service.key_id("operator")

    revoked = service.client.delete(f"/v1/keys/{key_id}", headers=service.admin)

    assert revoked.status_code == 204
    assert service.client.get("/v1/handoffs", headers=headers).status_code == 401
    assert service.client.get("/v1/keys", headers=service.admin).json() == []


def test_revoking_an_unknown_key_is_404(service: Service) -> None:
    assert service.client.delete("/v1/keys/key_nope", headers=service.admin).status_code == 404


def test_an_unknown_role_is_rejected_naming_the_field(service: Service) -> None:
    response = service.client.post("/v1/keys", json={"role": "root", "name": "x"}, headers=service.admin)

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.role: ")


def test_a_key_over_its_rate_limit_gets_429_with_retry_after(make_service: Any) -> None:
    service = make_service(rate_limit_per_minute=2)
    headers = service.key("operator")

    statuses = [service.client.get("/v1/handoffs", headers=headers).status_code for _ in range(3)]
    refused = service.client.get("/v1/handoffs", headers=headers)

    assert statuses == [200, 200, 429]
    assert refused.headers["content-type"] == PROBLEM
    assert int(refused.headers["retry-after"]) >= 1


def test_rate_limits_are_per_key(make_service: Any) -> None:
    service = make_service(rate_limit_per_minute=2)
    first, second = service.key("operator", "a"), service.key("operator", "b")
    service.client.get("/v1/handoffs", headers=first)
    service.client.get("/v1/handoffs", headers=first)

    assert service.client.get("/v1/handoffs", headers=first).status_code == 429
    assert service.client.get("/v1/handoffs", headers=second).status_code == 200


def test_a_token_bucket_refills_at_the_configured_rate() -> None:
    limiter = RateLimiter(per_minute=60)
    for _ in range(60):
        assert limiter.acquire("k", now=100.0) is None

    assert limiter.acquire("k", now=100.0) == pytest.approx(1.0)
    assert limiter.acquire("k", now=100.5) == pytest.approx(0.5)
    assert limiter.acquire("k", now=101.0) is None


def test_logs_never_contain_keys_or_message_text(service: Service, caplog: pytest.LogCaptureFixture) -> None:
    headers = service.key("channel")
    secret = headers["Authorization"].split()[1]
    caplog.set_level(logging.DEBUG)

    # Distinctive enough never to appear by chance (a bare "4111" does, in a timestamp or a pid).
    card = f"4111-{uuid.uuid4().hex}"
    service.client.post(
        "/v1/conversations/c-log/messages",
        json={"text": f"my card number is {card}", "user_id": "u", "channel": "web"},
        headers=headers,
    )
    service.client.get("/v1/handoffs", headers={"Authorization": f"Bearer {ADMIN_KEY}"})

    logged = "\n".join(f"{r.getMessage()} {json.dumps(vars(r), default=str)}" for r in caplog.records)
    assert "request" in logged
    for secret_text in (secret, ADMIN_KEY, card, "my card number"):
        assert secret_text not in logged


# --- the CLI ---------------------------------------------------------------------------------------
def test_the_cli_creates_a_key_the_service_accepts(service: Service, database_url: str) -> None:
    result = CliRunner().invoke(
        commands_app,
        ["keys", "create", "--role", "channel", "--name", "cli", "--json"],
        env={"SPORTELLO_DATABASE_URL": database_url},
    )

    assert result.exit_code == 0, result.output
    created = json.loads(result.stdout)
    response = service.client.post(
        "/v1/conversations/c-cli/messages",
        json=MESSAGE,
        headers={"Authorization": f"Bearer {created['key']}"},
    )
    assert response.status_code == 200


def test_the_cli_revokes_a_key(service: Service, database_url: str) -> None:
    headers = service.key("operator")
    env = {"SPORTELLO_DATABASE_URL": database_url}

    result = CliRunner().invoke(commands_app, ["keys", "revoke", service.key_id("operator")], env=env)

    assert result.exit_code == 0, result.output
    assert service.client.get("/v1/handoffs", headers=headers).status_code == 401


def test_the_cli_refuses_an_unknown_role(database_url: str) -> None:
    result = CliRunner().invoke(
        commands_app, ["keys", "create", "--role", "root"], env={"SPORTELLO_DATABASE_URL": database_url}
    )

    assert result.exit_code != 0
    assert "unknown role" in result.output
