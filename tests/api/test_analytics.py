"""Care analytics (GET /v1/analytics) on SQLite and PostgreSQL: one small week of conversations,
built through the public routes with the clock held, and every figure checked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from api.deps import get_now
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    embedding_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
)

T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


class Clock:
    """The service's clock (the `get_now` dependency), moved by the test."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def build_week(service: Service, clock: Clock) -> None:
    """Six conversations in the period (and one before it):
    a contained, rated 5; b cited with a stale warning, then a person (claimed +60 s, first reply
    +120 s, resolved +300 s, rated 4), and the same customer back an hour later (b2, contained);
    c a person, first reply +600 s; d no answer (handed off); e an ungrounded reply."""
    operator = service.key("operator")

    def at(offset: timedelta) -> None:
        clock.at = T0 + offset

    def send(conversation: str, user: str, text: str) -> Any:
        response = service.send(conversation, text, user_id=user)
        assert response.status_code == 200, response.text
        return response.json()

    def handoff_of(conversation: str) -> str:
        body = service.client.get(f"/v1/conversations/{conversation}", headers=service.key("channel")).json()
        return body["handoff"]["id"]

    at(-timedelta(days=10))
    send("z", "zed", "what are your hours?")
    at(timedelta(0))
    send("a", "ann", "what are your hours?")
    service.client.post("/v1/conversations/a/feedback", json={"rating": 5}, headers=service.key("channel"))
    send("b", "bob", "can I return this?")
    send("b", "bob", "I want a person")
    ho_b = handoff_of("b")
    at(timedelta(seconds=60))
    assert service.client.post(f"/v1/handoffs/{ho_b}/claim", headers=operator).status_code == 200
    at(timedelta(seconds=120))
    assert service.client.post(f"/v1/handoffs/{ho_b}/messages", json={"text": "Hi Bob"}, headers=operator).status_code == 201
    at(timedelta(seconds=300))
    assert service.client.post(f"/v1/handoffs/{ho_b}/resolve", headers=operator).status_code == 200
    service.client.post("/v1/conversations/b/feedback", json={"rating": 4}, headers=service.key("channel"))
    at(timedelta(hours=1))
    send("b2", "bob", "and your opening hours?")
    at(timedelta(hours=2))
    send("c", "cat", "a human please")
    ho_c = handoff_of("c")
    service.client.post(f"/v1/handoffs/{ho_c}/claim", headers=operator)
    at(timedelta(hours=2, seconds=600))
    service.client.post(f"/v1/handoffs/{ho_c}/messages", json={"text": "Hello"}, headers=operator)
    at(timedelta(hours=3))
    send("d", "dan", "do you deliver to mars?")
    send("e", "eve", "is the moon made of cheese?")


@pytest.fixture
def week(make_service: Any, embedding_url: str) -> dict[str, Any]:
    service = make_service(embedding_base_url=embedding_url)
    clock = Clock(T0)
    service.app.dependency_overrides[get_now] = clock
    build_week(service, clock)
    response = service.client.get(
        "/v1/analytics",
        params={"since": (T0 - timedelta(days=1)).isoformat(), "until": (T0 + timedelta(days=1)).isoformat()},
        headers=service.key("manager"),
    )
    assert response.status_code == 200, response.text
    return response.json()


def test_conversations_count_only_those_started_in_the_period(week: dict[str, Any]) -> None:
    assert week["conversations"] == 6


def test_the_contained_rate_counts_grounded_conversations_without_a_handoff(week: dict[str, Any]) -> None:
    assert (week["contained"], week["contained_rate"]) == (2, round(2 / 6, 4))


def test_handoffs_are_counted_by_reason(week: dict[str, Any]) -> None:
    assert week["handoffs"] == {"total": 3, "by_reason": {"human_requested": 2, "no_answer": 1}}


def test_first_response_percentiles_run_from_the_handoff_to_the_first_operator_message(week: dict[str, Any]) -> None:
    assert week["first_response_seconds"] == {"handoffs": 3, "answered": 2, "p50": 120.0, "p90": 600.0}


def test_csat_is_split_between_bot_only_and_with_a_person(week: dict[str, Any]) -> None:
    csat = week["csat"]
    assert (csat["all"]["count"], csat["all"]["mean"]) == (2, 4.5)
    assert csat["bot_only"]["distribution"]["5"] == 1 and csat["bot_only"]["count"] == 1
    assert csat["with_person"]["distribution"]["4"] == 1 and csat["with_person"]["count"] == 1


def test_a_customer_writing_again_within_72_hours_of_a_resolve_is_a_repeat_contact(week: dict[str, Any]) -> None:
    assert week["repeat_contact"] == {"window_hours": 72, "resolved": 1, "repeated": 1, "rate": 1.0}


def test_unanswered_questions_leave_out_requests_for_a_person(week: dict[str, Any]) -> None:
    assert week["unanswered"]["messages"] == 2, week["unanswered"]
    examples = {e for cluster in week["unanswered"]["clusters"] for e in cluster["examples"]}
    assert examples == {"do you deliver to mars?", "is the moon made of cheese?"}


def test_cited_sources_and_warnings_are_counted_over_the_bot_replies(week: dict[str, Any]) -> None:
    assert week["cited_sources"] == [{"source_id": "stores", "count": 2}, {"source_id": "faq", "count": 1}]
    assert week["warnings_by_kind"] == [{"kind": "stale", "count": 1}]


def test_analytics_need_a_manager_key(make_service: Any) -> None:
    service = make_service()
    assert service.client.get("/v1/analytics", headers=service.key("operator")).status_code == 403
    assert service.client.get("/v1/analytics", headers=service.key("manager")).status_code == 200


def test_a_period_that_ends_before_it_starts_is_a_400_problem(make_service: Any) -> None:
    service = make_service()
    response = service.client.get(
        "/v1/analytics", params={"since": "2026-11-02T00:00:00Z", "until": "2026-11-01T00:00:00Z"},
        headers=service.key("manager"),
    )
    assert response.status_code == 400
    assert "must be before" in response.json()["detail"]


class HashedEmbedder:
    """Bag-of-words vectors (tests.api.conftest_api.hashed_embedding): questions sharing words are close."""

    def embed_passages(self, texts: list[str]) -> Any:
        import numpy as np

        from tests.api.conftest_api import hashed_embedding

        return np.asarray([hashed_embedding(t) for t in texts])


def test_unanswered_questions_are_grouped_by_meaning_with_a_count_and_three_examples() -> None:
    from api.analytics import cluster_questions

    texts = [
        ("do you deliver to mars", 3),
        ("can i pay with bitcoin", 2),
        ("deliver to mars please", 1),
        ("pay with bitcoin ok", 1),
        ("deliver to mars today", 1),
        ("do you deliver to mars soon", 1),
        ("is the moon made of cheese", 1),
    ]
    clusters = cluster_questions(texts, HashedEmbedder())
    assert clusters[0] == {
        "count": 6,
        "examples": ["do you deliver to mars", "deliver to mars please", "deliver to mars today"],
    }
    assert clusters[1] == {"count": 3, "examples": ["can i pay with bitcoin", "pay with bitcoin ok"]}
    assert clusters[2]["examples"] == ["is the moon made of cheese"]


def test_a_second_report_counts_the_replies_stored_since_the_first_and_no_reply_twice(make_service: Any) -> None:
    service = make_service()
    manager = service.key("manager")
    service.send("r1", "what are your hours?")
    first = service.client.get("/v1/analytics", headers=manager).json()
    service.send("r2", "what are your hours?")
    service.send("r3", "can I return this?")
    second = service.client.get("/v1/analytics", headers=manager).json()
    again = service.client.get("/v1/analytics", headers=manager).json()
    assert first["cited_sources"] == [{"source_id": "stores", "count": 1}]
    assert second["cited_sources"] == [{"source_id": "stores", "count": 2}, {"source_id": "faq", "count": 1}]
    assert again["cited_sources"] == second["cited_sources"] and again["contained"] == second["contained"] == 3
