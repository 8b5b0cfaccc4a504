"""The audit log: admin and operator actions leave a row (who, what, which target, when, how it
went) in the action's own transaction, never the words anyone wrote; GET /v1/audit lists them.
On SQLite and PostgreSQL."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text, update
from typer.testing import CliRunner

from api import models
from api.audit import ROUTES
from sportello.cli import app as cli
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    embedding_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"


def _audit(service: Service, **params: Any) -> dict[str, Any]:
    response = service.client.get("/v1/audit", params=params, headers=service.admin)
    assert response.status_code == 200, response.text
    return response.json()


def _raw_audit_rows(database_url: str) -> str:
    """Every audit row as stored, as one string (to look for what must not be there)."""
    engine = create_engine(database_url)
    try:
        with engine.connect() as connection:
            rows = [dict(r._mapping) for r in connection.execute(text("SELECT * FROM audit_log"))]
    finally:
        engine.dispose()
    return json.dumps(rows, default=str)


def _handoff(service: Service, conversation_id: str) -> str:
    service.send(conversation_id, "Quali sono gli orari?")
    return service.send(conversation_id, "Voglio parlare con un operatore").json()["handoff"]["id"]


def test_creating_and_revoking_a_key_leaves_a_row_each_naming_the_admin_and_the_key(service: Service) -> None:
    created = service.client.post("/v1/keys", json={"role": "operator", "name": "anna"}, headers=service.admin)
    key_id = created.json()["id"]
    service.client.delete(f"/v1/keys/{key_id}", headers=service.admin)

    items = _audit(service)["items"]

    assert [(i["action"], i["target"], i["outcome"]) for i in items] == [
        ("key.revoke", {"type": "key", "id": key_id}, "succeeded"),
        ("key.create", {"type": "key", "id": key_id}, "succeeded"),
    ]
    assert items[0]["actor"] == {"id": "key_admin_env", "name": "SPORTELLO_ADMIN_KEY", "role": "admin"}
    assert items[1]["detail"] == {"role": "operator", "channel": None}
    assert created.json()["key"] not in json.dumps(items)


def test_the_log_is_newest_first_and_pages_with_a_cursor(service: Service) -> None:
    ids = [service.key_id("channel", f"k{n}") for n in range(5)]

    first = _audit(service, limit=2)
    second = _audit(service, limit=2, cursor=first["next_cursor"])
    third = _audit(service, limit=2, cursor=second["next_cursor"])

    listed = [i["target"]["id"] for page in (first, second, third) for i in page["items"]]
    assert listed == list(reversed(ids))
    assert third["next_cursor"] is None


def test_the_log_filters_by_action_and_by_actor(service: Service) -> None:
    service.key_id("channel")
    handoff_id = _handoff(service, "c-filter")
    operator = service.key("operator")
    service.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator)

    claims = _audit(service, action="handoff.claim")["items"]
    by_operator = _audit(service, actor=service.key_id("operator"))["items"]

    assert [(i["action"], i["target"]["id"]) for i in claims] == [("handoff.claim", handoff_id)]
    assert [i["action"] for i in by_operator] == ["handoff.claim"]


def test_a_key_whose_role_may_not_act_leaves_a_denied_row(service: Service) -> None:
    operator = service.key("operator")

    refused = service.client.post("/v1/keys", json={"role": "admin", "name": "me"}, headers=operator)
    revoke = service.client.delete("/v1/keys/key_someone", headers=operator)

    denied = _audit(service, actor=service.key_id("operator"))["items"]
    assert (refused.status_code, revoke.status_code) == (403, 403)
    assert [(i["action"], i["target"]["id"], i["outcome"]) for i in denied] == [
        ("key.revoke", "key_someone", "denied"),
        ("key.create", None, "denied"),
    ]
    assert denied[0]["actor"]["role"] == "operator"


def test_an_action_that_fails_leaves_no_row(service: Service) -> None:
    missing = service.client.delete("/v1/keys/key_nobody", headers=service.admin)
    invalid = service.client.post("/v1/keys", json={"role": "king", "name": "x"}, headers=service.admin)

    assert (missing.status_code, invalid.status_code) == (404, 422)
    assert _audit(service)["items"] == []


def test_claim_reply_and_resolve_are_audited_without_the_operators_words(
    service: Service, database_url: str
) -> None:
    handoff_id = _handoff(service, "c-words")
    operator = service.key("operator")
    service.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator)
    service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Riservato: il suo ordine 4411"}, headers=operator
    )
    service.client.post(f"/v1/handoffs/{handoff_id}/resolve", json={"note": "Nota privata"}, headers=operator)

    items = _audit(service, actor=service.key_id("operator"))["items"]

    assert [i["action"] for i in items] == ["handoff.resolve", "handoff.reply", "handoff.claim"]
    assert {i["target"]["id"] for i in items} == {handoff_id}
    stored = _raw_audit_rows(database_url)
    assert "Riservato" not in stored and "4411" not in stored and "Nota privata" not in stored


def test_erasing_a_conversation_keeps_its_audit_rows_which_hold_no_customer_text(
    service: Service, database_url: str
) -> None:
    service.send("c-erase", "Il mio indirizzo è via Roma 12, quali sono gli orari?")
    exported = service.client.get("/v1/conversations/c-erase/export", headers=service.admin)
    erased = service.client.delete("/v1/conversations/c-erase", headers=service.admin)

    items = _audit(service)["items"]

    assert (exported.status_code, erased.status_code) == (200, 200)
    assert [(i["action"], i["target"]) for i in items[:2]] == [
        ("conversation.erase", {"type": "conversation", "id": "c-erase"}),
        ("conversation.export", {"type": "conversation", "id": "c-erase"}),
    ]
    assert "via Roma" not in _raw_audit_rows(database_url)


def test_webhook_subscriptions_are_audited_without_their_url_or_secret(service: Service, database_url: str) -> None:
    created = service.client.post(
        "/v1/webhooks",
        json={"url": "http://127.0.0.1:9/hook?token=t0ps3cret", "events": ["reply.sent"]},
        headers=service.admin,
    ).json()
    service.client.delete(f"/v1/webhooks/{created['id']}", headers=service.admin)

    items = _audit(service)["items"]

    assert [(i["action"], i["target"]["id"]) for i in items] == [
        ("webhook.delete", created["id"]),
        ("webhook.create", created["id"]),
    ]
    assert items[1]["detail"] == {"events": ["reply.sent"]}
    stored = _raw_audit_rows(database_url)
    assert "t0ps3cret" not in stored and created["secret"] not in stored


def test_only_an_admin_reads_the_audit_log(service: Service) -> None:
    response = service.client.get("/v1/audit", headers=service.key("operator"))

    assert response.status_code == 403
    assert response.headers["content-type"] == PROBLEM


def test_a_cursor_the_service_did_not_make_is_a_400_problem(service: Service) -> None:
    response = service.client.get("/v1/audit", params={"cursor": "bm90LWEtY3Vyc29y"}, headers=service.admin)

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_an_unknown_action_filter_is_a_422_naming_the_field(service: Service) -> None:
    response = service.client.get("/v1/audit", params={"action": "key.steal"}, headers=service.admin)

    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "query.action"


def test_a_sync_request_is_audited_with_its_job_and_whether_it_merged(
    make_service: Any, tmp_path: Path, embedding_url: str
) -> None:
    brand = tmp_path / "brand"
    brand.mkdir()
    (brand / "faq.csv").write_text(
        "question,answer,updated_at,url\nResi?,Hai 30 giorni.,2026-11-04,/faq/#resi\n", encoding="utf-8"
    )
    (brand / "sources.yaml").write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )
    service: Service = make_service(manifest=brand / "sources.yaml", embedding_base_url=embedding_url)

    job = service.client.post("/v1/sources/faq/sync", headers=service.key("content")).json()

    [item] = _audit(service, action="source.sync")["items"]
    assert item["target"] == {"type": "source", "id": "faq"}
    assert item["detail"] == {"job_id": job["id"], "merged": False}
    assert item["actor"]["role"] == "content"


def test_every_audited_route_is_a_route_of_the_app(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]
    routes = {(method.upper(), path) for path, operations in paths.items() for method in operations}

    assert set(ROUTES) <= routes
    for (_, path), action in ROUTES.items():
        assert action.target_param is None or "{" + action.target_param + "}" in path


# --- retention of the log itself -----------------------------------------------------------------
def _age(service: Service, key_ids: list[str], days: float) -> None:
    """Make the audit rows about these keys `days` old."""
    with service.app.state.runtime.db.session() as session:
        session.execute(
            update(models.AuditEntry)
            .where(models.AuditEntry.target_id.in_(key_ids))
            .values(at=datetime.now(UTC) - timedelta(days=days))
        )
        session.commit()


def _retention(database_url: str, tmp_path: Path, **env: str | None) -> Any:
    base: dict[str, str | None] = {
        "SPORTELLO_DATABASE_URL": database_url,
        "SPORTELLO_DATA_DIR": str(tmp_path / "data"),
        "SPORTELLO_RETENTION_DAYS": None,
        "SPORTELLO_AUDIT_RETENTION_DAYS": None,
    }
    return CliRunner().invoke(cli, ["retention", "run", "--json"], env={**base, **env})


def test_retention_deletes_audit_rows_older_than_the_audit_setting_and_counts_them(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    old = [service.key_id("channel", f"old-{n}") for n in range(3)]
    recent = service.key_id("channel", "recent")
    _age(service, old, days=100)

    result = _retention(database_url, tmp_path, SPORTELLO_AUDIT_RETENTION_DAYS="90")

    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {
        "retention_days": None,
        "erased": [],
        "erased_count": 0,
        "audit_retention_days": 90.0,
        "audit_pruned": 3,
    }
    assert [i["target"]["id"] for i in _audit(service, action="key.create")["items"]] == [recent]


def test_pruning_the_audit_log_leaves_one_row_saying_how_many_went_and_from_when(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    _age(service, [service.key_id("channel", "old")], days=400)

    _retention(database_url, tmp_path, SPORTELLO_AUDIT_RETENTION_DAYS="365")

    [row] = _audit(service, action="audit.prune")["items"]
    assert row["actor"] == {"id": "retention", "name": "SPORTELLO_AUDIT_RETENTION_DAYS", "role": "system"}
    assert row["target"] == {"type": "audit_log", "id": None}
    assert row["detail"]["pruned"] == 1
    assert row["detail"]["retention_days"] == 365.0
    assert datetime.fromisoformat(row["detail"]["before"]) < datetime.now(UTC) - timedelta(days=364)


def test_audit_rows_younger_than_the_setting_are_kept_and_nothing_is_recorded(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    service.key_id("channel", "young")

    result = _retention(database_url, tmp_path, SPORTELLO_AUDIT_RETENTION_DAYS="30")

    assert json.loads(result.stdout)["audit_pruned"] == 0
    assert [i["action"] for i in _audit(service)["items"]] == ["key.create"]


def test_with_both_settings_the_erasure_is_recorded_before_the_log_is_pruned(
    service: Service, database_url: str, tmp_path: Path
) -> None:
    service.send("c-idle", "opening hours?")
    with service.app.state.runtime.db.session() as session:
        session.execute(
            update(models.Conversation)
            .where(models.Conversation.id == "c-idle")
            .values(updated_at=datetime.now(UTC) - timedelta(days=60))
        )
        session.commit()
    _age(service, [service.key_id("channel")], days=60)  # the channel key behind send() is old too

    result = _retention(
        database_url, tmp_path, SPORTELLO_RETENTION_DAYS="30", SPORTELLO_AUDIT_RETENTION_DAYS="30"
    )

    counts = json.loads(result.stdout)
    assert (counts["erased"], counts["erased_count"], counts["audit_pruned"]) == (["c-idle"], 1, 1)
    # Both at the command's clock: the erasure's own row is new, so never pruned by the same run.
    assert sorted((i["action"], i["target"]["id"] or "") for i in _audit(service)["items"]) == [
        ("audit.prune", ""),
        ("conversation.erase", "c-idle"),
    ]


def test_an_audit_retention_of_zero_days_is_refused_naming_the_variable(database_url: str, tmp_path: Path) -> None:
    result = _retention(database_url, tmp_path, SPORTELLO_AUDIT_RETENTION_DAYS="0")

    assert result.exit_code == 2
    assert "SPORTELLO_AUDIT_RETENTION_DAYS" in result.output
