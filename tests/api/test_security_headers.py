"""Security headers on every response, and /metrics behind SPORTELLO_METRICS_KEY when it is set."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

METRICS_KEY = "mk_test_scraper"


def _responses(service: Service) -> dict[str, Any]:
    client, channel = service.client, service.key("channel")
    return {
        "ok": client.get("/healthz"),
        "reply": service.send("c-h", "Quali sono gli orari?"),
        "not found": client.get("/v1/conversations/nobody", headers=channel),
        "unauthenticated": client.get("/v1/handoffs"),
        "wrong method": client.put("/v1/keys", headers=service.admin),
        "too large": service.send("c-big", "x" * 9_000),
        "unmatched": client.get("/nowhere"),
        "metrics": client.get("/metrics"),
    }


def test_every_response_carries_the_security_headers(service: Service) -> None:
    for name, response in _responses(service).items():
        assert response.headers["x-content-type-options"] == "nosniff", name
        assert response.headers["referrer-policy"] == "no-referrer", name
        assert response.headers["x-frame-options"] == "DENY", name
        assert response.headers["content-security-policy"] == "default-src 'none'; frame-ancestors 'none'", name
        assert response.headers["cache-control"] == "no-store", name
        assert "strict-transport-security" not in response.headers, name  # plain HTTP


def test_html_pages_keep_their_own_framing_and_script_policy(service: Service) -> None:
    docs = service.client.get("/docs")

    assert docs.status_code == 200
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in docs.headers  # Swagger UI loads its scripts


def test_over_https_responses_ask_for_https_from_now_on(service: Service) -> None:
    # Without `with`: the app's lifespan already runs under the service's own client.
    response = TestClient(service.app, base_url="https://testserver").get("/healthz")

    assert response.headers["strict-transport-security"] == "max-age=31536000"


@pytest.mark.parametrize(("headers", "status"), [({}, 401), ({"Authorization": "Bearer wrong"}, 401),
                                                 ({"Authorization": f"Bearer {METRICS_KEY}"}, 200)])
def test_metrics_need_the_metrics_key_when_one_is_set(make_service: Any, headers: dict[str, str], status: int) -> None:
    service = make_service(metrics_key=METRICS_KEY)

    response = service.client.get("/metrics", headers=headers)

    assert response.status_code == status
    if status == 401:
        assert response.headers["content-type"] == "application/problem+json"
        assert response.headers["www-authenticate"] == "Bearer"
