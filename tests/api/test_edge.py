"""What the API edge refuses before anything reaches the database: control characters in ids, text
and cursors (PostgreSQL cannot store a NUL), and SQL parameters in logs. On SQLite and PostgreSQL."""

from __future__ import annotations

import base64
import json
import logging
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from api.db import Database
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"
CUSTOMER_TEXT = "il mio codice fiscale è RSSMRA80A01H501U"
MESSAGE = {"text": "Quali sono gli orari?", "user_id": "user-1", "channel": "whatsapp"}


def _assert_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    assert response.headers["content-type"] == PROBLEM
    assert [e["field"] for e in response.json()["errors"]] == [field]


@pytest.mark.parametrize(
    ("field", "value"),
    [("text", "orari\x00?"), ("user_id", "user\x00-1"), ("message_id", "m\x001"), ("text", "orari\x07")],
)
def test_a_control_character_in_a_message_field_is_a_422_naming_the_field(
    service: Service, field: str, value: str
) -> None:
    response = service.client.post(
        "/v1/conversations/c1/messages", json={**MESSAGE, field: value}, headers=service.key("channel")
    )

    _assert_refused(response, f"body.{field}")


def test_a_nul_in_the_conversation_id_is_a_422_naming_the_path_parameter(service: Service) -> None:
    response = service.client.post(
        "/v1/conversations/c%001/messages", json=MESSAGE, headers=service.key("channel")
    )

    _assert_refused(response, "path.conversation_id")


def test_newlines_and_tabs_in_a_customer_message_are_kept(service: Service) -> None:
    response = service.send("c-lines", "Quali sono\ngli orari?\tgrazie")

    assert response.status_code == 200, response.text
    transcript = service.client.get("/v1/conversations/c-lines", headers=service.key("channel")).json()
    assert transcript["messages"][0]["text"] == "Quali sono\ngli orari?\tgrazie"


def test_a_nul_in_a_feedback_comment_is_a_422_naming_the_field(service: Service) -> None:
    service.send("c-fb", "Quali sono gli orari?")

    response = service.client.post(
        "/v1/conversations/c-fb/feedback", json={"rating": 4, "comment": "ok\x00"}, headers=service.key("channel")
    )

    _assert_refused(response, "body.comment")


@pytest.mark.parametrize("action", ["", "/claim", "/resolve", "/messages"])
def test_a_nul_in_a_handoff_id_is_a_422_naming_the_path_parameter(service: Service, action: str) -> None:
    method = service.client.get if action == "" else service.client.post
    kwargs: dict[str, Any] = {"json": {"text": "Eccomi"}} if action == "/messages" else {}

    response = method(f"/v1/handoffs/ho%00x{action}", headers=service.key("operator"), **kwargs)

    _assert_refused(response, "path.handoff_id")


def test_a_nul_in_a_cursor_is_a_422_naming_the_query_parameter(service: Service) -> None:
    response = service.client.get("/v1/handoffs?cursor=abc%00", headers=service.key("operator"))

    _assert_refused(response, "query.cursor")


def test_a_cursor_that_decodes_to_a_nul_is_a_400_invalid_cursor(service: Service) -> None:
    forged = base64.urlsafe_b64encode(json.dumps(["2026-11-01T00:00:00+00:00", "ho_\x00"]).encode())

    response = service.client.get(
        "/v1/handoffs", params={"cursor": forged.decode().rstrip("=")}, headers=service.key("operator")
    )

    assert response.status_code == 400, response.text
    assert response.headers["content-type"] == PROBLEM


def test_a_failed_statement_does_not_carry_its_parameters_into_the_error_or_the_log(
    database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    db = Database(database_url)
    try:
        with pytest.raises(SQLAlchemyError) as raised, db.engine.connect() as connection:
            # Fails on either backend after binding its parameter (no such table).
            connection.execute(text("INSERT INTO no_such_table (x) VALUES (:secret)"), {"secret": CUSTOMER_TEXT})
        logging.getLogger("test").error("failed", exc_info=raised.value)
    finally:
        db.dispose()

    assert CUSTOMER_TEXT not in str(raised.value)
    assert CUSTOMER_TEXT not in caplog.text
