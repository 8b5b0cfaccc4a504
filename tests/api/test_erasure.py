"""Erasure, export and retention of a conversation, on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import update
from typer.testing import CliRunner

from api import models
from api.webhooks import DeliveryPolicy
from sportello.cli import app as cli
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
)

EVENTS = ["message.received", "reply.sent", "handoff.requested", "feedback.received", "conversation.erased"]


def _service_with_history(make_service: Any) -> tuple[Service, str]:
    """A conversation with messages, a handoff, feedback and queued events (nobody delivers them),
    and another conversation that must be left alone."""
    service = make_service(delivery=DeliveryPolicy(enabled=False))
    subscription = service.client.post(
        "/v1/webhooks", json={"url": "http://127.0.0.1:9/hooks", "events": EVENTS}, headers=service.admin
    ).json()
    service.send("wa-erase", "Quali sono gli orari?")
    service.send("wa-erase", "Voglio parlare con un operatore")
    service.client.post(
        "/v1/conversations/wa-erase/feedback", json={"rating": 2, "comment": "lento"}, headers=service.key("channel")
    )
    service.send("wa-keep", "Quali sono gli orari?")
    return service, subscription["id"]


def _events(service: Service, subscription_id: str) -> list[dict[str, Any]]:
    deliveries = service.client.get(f"/v1/webhooks/{subscription_id}/deliveries", headers=service.admin).json()
    return deliveries


def test_erasing_a_conversation_deletes_everything_about_it_and_announces_it(make_service: Any) -> None:
    service, subscription_id = _service_with_history(make_service)

    erased = service.client.delete("/v1/conversations/wa-erase", headers=service.admin)

    assert erased.status_code == 200, erased.text
    # Every table with a conversation_id is listed (channel and analytics tables included, 0 here).
    assert {"channel_inbound", "channel_outbox", "reply_facts"} <= set(erased.json()["erased"])
    assert {table: n for table, n in erased.json()["erased"].items() if n} == {
        "messages": 4,
        "handoffs": 1,
        "feedback": 1,
        "webhook_deliveries": 6,
        "conversations": 1,
    }
    assert service.client.get("/v1/conversations/wa-erase", headers=service.key("channel")).status_code == 404
    assert service.client.get("/v1/conversations/wa-erase/export", headers=service.admin).status_code == 404
    assert service.client.get("/v1/conversations/wa-keep", headers=service.key("channel")).status_code == 200
    with service.app.state.runtime.db.session() as session:
        payloads = [d.payload for d in session.query(models.WebhookDelivery)]
    assert not any("orari" in p and "wa-erase" in p for p in payloads)
    types = sorted(d["event_type"] for d in _events(service, subscription_id))
    assert types == ["conversation.erased", "message.received", "reply.sent"]  # the last two: wa-keep


def test_the_erased_event_names_the_conversation_and_no_customer_data(make_service: Any) -> None:
    service, _ = _service_with_history(make_service)

    service.client.delete("/v1/conversations/wa-erase", headers=service.admin)

    with service.app.state.runtime.db.session() as session:
        row = session.query(models.WebhookDelivery).filter_by(event_type="conversation.erased").one()
    data = json.loads(row.payload)["data"]
    assert set(data) == {"conversation_id", "channel", "reason", "at"}
    assert (data["conversation_id"], data["reason"]) == ("wa-erase", "request")


def test_only_an_admin_may_erase_or_export(make_service: Any) -> None:
    service, _ = _service_with_history(make_service)

    for role in ("channel", "operator", "content"):
        assert service.client.delete("/v1/conversations/wa-erase", headers=service.key(role)).status_code == 403
        assert service.client.get("/v1/conversations/wa-erase/export", headers=service.key(role)).status_code == 403


def test_erasing_an_unknown_conversation_is_404(make_service: Any) -> None:
    service = make_service()

    assert service.client.delete("/v1/conversations/nobody", headers=service.admin).status_code == 404


def test_the_export_holds_every_message_handoff_feedback_and_event_of_the_conversation(make_service: Any) -> None:
    service, _ = _service_with_history(make_service)

    export = service.client.get("/v1/conversations/wa-erase/export", headers=service.admin)

    assert export.status_code == 200, export.text
    body = export.json()
    assert body["conversation"]["id"] == "wa-erase"
    assert [(m["role"], m["text"]) for m in body["messages"]][:2] == [
        ("customer", "Quali sono gli orari?"),
        ("bot", "Siamo aperti dal lunedì al sabato, 9–19."),
    ]
    assert [h["reason"] for h in body["handoffs"]] == ["human_requested"]
    assert [(f["rating"], f["comment"]) for f in body["feedback"]] == [(2, "lento")]
    assert len(body["webhook_deliveries"]) == 6
    assert all(row["conversation_id"] == "wa-erase" for row in body["webhook_deliveries"])


def test_retention_erases_conversations_idle_longer_than_the_setting(
    make_service: Any, database_url: str, tmp_path: Path
) -> None:
    service, _ = _service_with_history(make_service)
    now = datetime.now(UTC)
    with service.app.state.runtime.db.session() as session:
        session.execute(
            update(models.Conversation)
            .where(models.Conversation.id == "wa-erase")
            .values(updated_at=now - timedelta(days=40))
        )
        session.commit()
    env = {"SPORTELLO_DATABASE_URL": database_url, "SPORTELLO_DATA_DIR": str(tmp_path / "data"),
           "SPORTELLO_RETENTION_DAYS": "30"}

    result = CliRunner().invoke(cli, ["retention", "run", "--json", "--now", now.isoformat()], env=env)

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "retention_days": 30.0,
        "erased": ["wa-erase"],
        "erased_count": 1,
        "audit_retention_days": None,
        "audit_pruned": 0,
    }
    assert service.client.get("/v1/conversations/wa-erase", headers=service.key("channel")).status_code == 404
    assert service.client.get("/v1/conversations/wa-keep", headers=service.key("channel")).status_code == 200


def test_retention_without_the_setting_says_how_to_set_it(tmp_path: Path) -> None:
    env = {"SPORTELLO_DATA_DIR": str(tmp_path / "data"), "SPORTELLO_RETENTION_DAYS": None,
           "SPORTELLO_AUDIT_RETENTION_DAYS": None}

    result = CliRunner().invoke(cli, ["retention", "run"], env=env)

    assert result.exit_code == 2
    assert "SPORTELLO_RETENTION_DAYS" in result.output
    assert "SPORTELLO_AUDIT_RETENTION_DAYS" in result.output
