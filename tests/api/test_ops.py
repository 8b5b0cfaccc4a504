"""Operations: liveness, metrics, OpenAPI docs and problem+json for framework errors (SQLite)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.api.conftest_api import Service, make_service_fixture, service_fixture  # noqa: F401 (fixtures)


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


def _samples(service: Service) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = service.client.get("/metrics")
    assert response.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(response.text)
        for s in family.samples
    }


def test_liveness_answers_without_a_key(service: Service) -> None:
    assert service.client.get("/healthz").json() == {"status": "ok"}


def test_metrics_count_replies_warnings_and_handoffs(service: Service) -> None:
    service.send("c-m", "opening hours?")
    service.send("c-m", "and returns?")
    service.send("c-m", "I want a human")

    samples = _samples(service)

    assert samples[("sportello_replies_total", (("grounded", "true"),))] == 2
    assert samples[("sportello_replies_total", (("grounded", "false"),))] == 1
    assert samples[("sportello_grounded_ratio", ())] == pytest.approx(2 / 3)
    assert samples[("sportello_reply_warnings_total", (("kind", "stale"),))] == 1
    assert samples[("sportello_handoffs_total", (("reason", "human_requested"),))] == 1


def test_request_metrics_are_labelled_by_route_template(service: Service) -> None:
    service.send("c-1", "opening hours?")
    service.send("c-2", "opening hours?")

    samples = _samples(service)

    route = "/v1/conversations/{conversation_id}/messages"
    labels = (("method", "POST"), ("route", route), ("status", "200"))
    assert samples[("sportello_http_requests_total", labels)] == 2
    count = ("sportello_http_request_duration_seconds_count", (("method", "POST"), ("route", route)))
    assert samples[count] == 2


def test_a_retried_message_is_not_counted_as_a_second_reply(service: Service) -> None:
    service.send("c-r", "opening hours?", message_id="m")
    service.send("c-r", "opening hours?", message_id="m")

    assert _samples(service)[("sportello_replies_total", (("grounded", "true"),))] == 1


def test_two_apps_in_one_process_keep_separate_metrics(make_service: Any) -> None:
    first, second = make_service(), make_service()
    first.send("c-1", "opening hours?")

    assert ("sportello_replies_total", (("grounded", "true"),)) not in _samples(second)


def test_a_wrong_method_is_a_405_problem(service: Service) -> None:
    response = service.client.put("/v1/keys", headers=service.admin)

    assert response.status_code == 405
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["status"] == 405


def test_the_openapi_document_describes_every_route(service: Service) -> None:
    paths = service.client.get("/openapi.json").json()["paths"]

    assert "/v1/conversations/{conversation_id}/messages" in paths
    assert "/v1/handoffs/{handoff_id}/claim" in paths
    assert "/v1/sources/{source_id}/sync/{job_id}" in paths
    assert service.client.get("/docs").status_code == 200
