"""`sportello secrets new-key | rotate` and the audit rows of `sportello keys`, on SQLite and
PostgreSQL."""

from __future__ import annotations

import base64
import json
from typing import Any

from sqlalchemy import create_engine, text
from typer.testing import CliRunner

from api.secretbox import SecretBox
from sportello.cli import app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
)

OLD = base64.urlsafe_b64encode(b"o" * 32).decode()
NEW = base64.urlsafe_b64encode(b"n" * 32).decode()


def _stored_secret(database_url: str) -> str:
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            return str(connection.execute(text("SELECT secret FROM webhook_subscriptions")).scalar_one())
    finally:
        engine.dispose()


def _subscribed(make_service: Any) -> str:
    service: Service = make_service(secret_key=OLD)
    created = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/h", "events": ["reply.sent"]}, headers=service.admin
    )
    return str(created.json()["secret"])


def test_rotate_re_encrypts_the_stored_secrets_with_the_first_key(make_service: Any, database_url: str) -> None:
    secret = _subscribed(make_service)
    env = {"SPORTELLO_DATABASE_URL": database_url, "SPORTELLO_SECRET_KEY": f"{NEW},{OLD}"}

    result = CliRunner().invoke(app, ["secrets", "rotate", "--json"], env=env)

    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"rewritten": 1}
    assert SecretBox((NEW,), "test").open(_stored_secret(database_url), what="it") == secret


def test_rotate_without_the_old_key_says_which_secret_it_cannot_open_and_changes_nothing(
    make_service: Any, database_url: str
) -> None:
    _subscribed(make_service)
    before = _stored_secret(database_url)
    env = {"SPORTELLO_DATABASE_URL": database_url, "SPORTELLO_SECRET_KEY": NEW}

    result = CliRunner().invoke(app, ["secrets", "rotate"], env=env)

    assert result.exit_code == 2
    assert "SPORTELLO_SECRET_KEY" in result.output and "webhook wh_" in result.output
    assert _stored_secret(database_url) == before


def test_new_key_prints_a_key_the_secret_box_accepts() -> None:
    result = CliRunner().invoke(app, ["secrets", "new-key"])

    key = result.output.strip()
    assert result.exit_code == 0
    assert SecretBox((key,), "test").open(SecretBox((key,), "test").seal("x"), what="it") == "x"


def test_a_key_made_from_the_command_line_is_audited_as_the_cli(make_service: Any, database_url: str) -> None:
    service: Service = make_service(secret_key=OLD)
    env = {"SPORTELLO_DATABASE_URL": database_url, "SPORTELLO_SECRET_KEY": OLD}

    made = CliRunner().invoke(app, ["keys", "create", "--role", "operator", "--name", "anna", "--json"], env=env)

    items = service.client.get("/v1/audit", headers=service.admin).json()["items"]
    assert made.exit_code == 0, made.output
    assert [(i["action"], i["target"]["id"], i["actor"]["id"]) for i in items] == [
        ("key.create", json.loads(made.output)["id"], "local")
    ]


def test_serve_with_a_malformed_secret_key_exits_naming_the_variable(tmp_path: Any) -> None:
    env = {"SPORTELLO_DATA_DIR": str(tmp_path), "SPORTELLO_SECRET_KEY": "not-a-fernet-key"}

    # An address no socket can bind: were the key not checked first, serve would fail, not hang.
    result = CliRunner().invoke(app, ["serve", "--host", "256.256.256.256", "--port", "0"], env=env)

    assert result.exit_code == 2
    assert "SPORTELLO_SECRET_KEY" in result.output
