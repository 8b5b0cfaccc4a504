"""The OpenAPI document says what the service does: statuses, Allow on 405, patterns. On SQLite and
PostgreSQL."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"


def _operations(service: Service) -> list[tuple[str, str, dict[str, Any]]]:
    paths = service.client.get("/openapi.json").json()["paths"]
    return [(path, method, op) for path, ops in paths.items() for method, op in ops.items()]


def _schema(service: Service, name: str) -> dict[str, Any]:
    return service.client.get("/openapi.json").json()["components"]["schemas"][name]


def test_an_undecodable_body_is_a_400_problem_every_body_route_documents(service: Service) -> None:
    with_body = [(p, m, op) for p, m, op in _operations(service) if "requestBody" in op]
    assert len(with_body) >= 5

    for path, method, operation in with_body:
        url = re.sub(r"\{[^}]+\}", "x", path)
        response = service.client.request(
            method, url, content=b"\xff\xfe{", headers={**service.admin, "content-type": "application/json"}
        )
        assert response.status_code == 400, (method, path, response.text)
        assert response.headers["content-type"] == PROBLEM
        assert "400" in operation["responses"], (method, path)


def test_every_status_an_operation_answers_with_here_is_documented(service: Service) -> None:
    operations = {(p, m): op for p, m, op in _operations(service)}

    assert "200" in operations[("/v1/handoffs/{handoff_id}/messages", "post")]["responses"]  # a replay
    assert "503" in operations[("/readyz", "get")]["responses"]  # no index yet


def test_readiness_without_an_index_is_the_documented_503(service: Service) -> None:
    response = service.client.get("/readyz")

    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("put", "/v1/webhooks", {"GET", "POST"}),
        ("patch", "/v1/conversations/c1", {"GET", "DELETE"}),
        ("put", "/v1/keys/key_1", {"DELETE"}),
        ("put", "/v1/webhooks/wh_1", {"GET", "PATCH", "DELETE"}),
    ],
)
def test_a_405_lists_every_method_the_path_allows(service: Service, method: str, path: str, allowed: set[str]) -> None:
    response = service.client.request(method, path, headers=service.admin)

    assert response.status_code == 405
    assert response.headers["content-type"] == PROBLEM
    assert set(response.headers["allow"].split(", ")) - {"HEAD"} == allowed


@pytest.mark.parametrize("name", ["\f", " ", "\t\n", "\u00a0", "\u0085", "\ufeff"])
def test_a_name_with_nothing_visible_is_refused_as_the_schema_says(service: Service, name: str) -> None:
    pattern = _schema(service, "KeyIn")["properties"]["name"]["pattern"]

    response = service.client.post("/v1/keys", json={"role": "channel", "name": name}, headers=service.admin)

    assert re.search(pattern, name) is None
    assert response.status_code == 422
    assert response.json()["errors"][0]["field"] == "body.name"


def test_a_name_with_spaces_around_it_is_accepted_as_the_schema_says(service: Service) -> None:
    pattern = _schema(service, "KeyIn")["properties"]["name"]["pattern"]

    response = service.client.post("/v1/keys", json={"role": "channel", "name": " whatsapp "}, headers=service.admin)

    assert re.search(pattern, " whatsapp ") is not None
    assert response.status_code == 201
    assert response.json()["name"] == "whatsapp"


def test_the_same_message_id_with_another_text_is_a_409_not_a_replay(service: Service) -> None:
    first = service.send("c-409", "Quali sono gli orari?", message_id="m-1")

    again = service.send("c-409", "Voglio parlare con un operatore", message_id="m-1")

    assert first.status_code == 200
    assert again.status_code == 409, again.text
    assert again.headers["content-type"] == PROBLEM
    assert "m-1" in again.json()["detail"]


def test_the_same_operator_message_id_with_another_text_is_a_409(service: Service) -> None:
    service.send("c-op", "Quali sono gli orari?")
    handoff_id = service.send("c-op", "Voglio parlare con un operatore").json()["handoff"]["id"]
    operator = service.key("operator")
    service.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator)
    service.client.post(f"/v1/handoffs/{handoff_id}/messages", json={"text": "Eccomi", "message_id": "o-1"}, headers=operator)

    again = service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Arrivo", "message_id": "o-1"}, headers=operator
    )

    assert again.status_code == 409, again.text
