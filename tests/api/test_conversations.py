"""Conversations through the HTTP API (TestClient), on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from agent.assistant import TurnResult
from agent.conversation import Conversation
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    EchoKnowledgeAssistant,
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"


def test_a_channel_message_gets_a_cited_reply(service: Service) -> None:
    response = service.send("wa-39333", "Quali sono gli orari?", message_id="m1")

    assert response.status_code == 200
    body = response.json()
    assert body["conversation_id"] == "wa-39333"
    assert body["message_id"] == "m1"
    assert body["status"] == "bot"
    assert body["handoff"] is None
    assert body["reply"]["grounded"] is True
    assert body["reply"]["language"] == "it"
    assert body["reply"]["citations"] == [
        {
            "source_id": "stores",
            "url": "https://brand.test/negozi",
            "title": "Negozi e orari",
            "updated_at": "2026-11-01T00:00:00Z",
            "stale": False,
        }
    ]


def test_reply_warnings_are_returned_with_kind_detail_and_sources(service: Service) -> None:
    body = service.send("c-warn", "How do returns work?").json()

    assert body["reply"]["warnings"] == [
        {"kind": "stale", "detail": "This policy page was last updated over a year ago.", "sources": ["faq"]}
    ]
    assert body["reply"]["citations"][0]["stale"] is True


def test_a_message_without_message_id_gets_a_generated_one(service: Service) -> None:
    body = service.send("c-gen", "hours?").json()

    assert body["message_id"].startswith("msg_")


def test_retrying_a_message_id_returns_the_same_response_without_a_second_reply(service: Service) -> None:
    first = service.send("c-retry", "What are your opening hours?", message_id="wamid.1")
    again = service.send("c-retry", "What are your opening hours?", message_id="wamid.1")

    assert again.status_code == 200
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert service.assistant.calls == 1
    transcript = service.client.get("/v1/conversations/c-retry", headers=service.key("channel")).json()
    assert [m["role"] for m in transcript["messages"]] == ["customer", "bot"]


def test_the_same_message_id_in_another_conversation_is_a_new_message(service: Service) -> None:
    service.send("c-a", "hours?", message_id="same")
    other = service.send("c-b", "hours?", message_id="same")

    assert "Idempotent-Replayed" not in other.headers
    assert service.assistant.calls == 2


class RacingAssistant(EchoKnowledgeAssistant):
    """Holds every call until `parties` calls are inside respond(), so concurrent deliveries of one
    message all get past the idempotency check before any of them writes."""

    def __init__(self, parties: int) -> None:
        super().__init__()
        self.barrier = threading.Barrier(parties, timeout=10)

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        self.barrier.wait()
        return super().respond(conversation, message, now=now)


def test_concurrent_deliveries_of_one_message_store_one_reply_and_return_one_response(
    make_service: Any,
) -> None:
    service = make_service(assistant=RacingAssistant(parties=3))
    headers = service.key("channel")
    body = {"text": "opening hours?", "user_id": "u", "channel": "telegram", "message_id": "tg-77"}

    def deliver() -> Any:
        return service.client.post("/v1/conversations/race/messages", json=body, headers=headers)

    with ThreadPoolExecutor(3) as pool:
        responses = list(pool.map(lambda _: deliver(), range(3)))

    assert [r.status_code for r in responses] == [200, 200, 200]
    assert len({r.text for r in responses}) == 1
    assert sum("Idempotent-Replayed" in r.headers for r in responses) == 2
    transcript = service.client.get("/v1/conversations/race", headers=headers).json()
    assert [m["role"] for m in transcript["messages"]] == ["customer", "bot"]


def test_the_transcript_keeps_every_reply_with_its_citations_and_warnings(service: Service) -> None:
    service.send("c-log", "opening hours?", message_id="1")
    service.send("c-log", "and returns?", message_id="2")

    body = service.client.get("/v1/conversations/c-log", headers=service.key("channel")).json()

    assert body["status"] == "bot"
    assert body["channel"] == "whatsapp"
    assert [(m["role"], m["message_id"]) for m in body["messages"][::2]] == [
        ("customer", "1"),
        ("customer", "2"),
    ]
    bots = body["messages"][1::2]
    assert [b["role"] for b in bots] == ["bot", "bot"]
    assert bots[0]["citations"][0]["source_id"] == "stores"
    assert bots[1]["warnings"][0]["kind"] == "stale"
    assert body["messages"][0]["citations"] is None  # customer turns carry no citations


def test_the_agent_sees_earlier_turns_and_its_saved_focus(service: Service) -> None:
    service.send("c-focus", "opening hours?")
    service.send("c-focus", "thanks")

    second_call = service.assistant.seen[1]
    assert [t.role for t in second_call.turns] == ["customer", "bot"]
    assert second_call.focus == {"topic": "hours", "language": "en"}


def test_an_unknown_conversation_is_a_404_problem(service: Service) -> None:
    response = service.client.get("/v1/conversations/nobody", headers=service.key("channel"))

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM
    problem = response.json()
    assert problem["status"] == 404
    assert problem["title"] == "Unknown conversation"
    assert "nobody" in problem["detail"]


def test_a_missing_field_is_named_in_the_validation_problem(service: Service) -> None:
    response = service.client.post(
        "/v1/conversations/c1/messages",
        json={"user_id": "u", "channel": "web"},
        headers=service.key("channel"),
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM
    assert response.json()["detail"] == "body.text: Field required"
    assert response.json()["errors"] == [{"field": "body.text", "message": "Field required"}]


def test_an_unknown_channel_is_rejected_naming_the_field(service: Service) -> None:
    response = service.client.post(
        "/v1/conversations/c1/messages",
        json={"text": "hi", "user_id": "u", "channel": "fax"},
        headers=service.key("channel"),
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.channel: ")


def test_invalid_json_is_a_422_problem(service: Service) -> None:
    response = service.client.post(
        "/v1/conversations/c1/messages",
        content=b"{not json",
        headers={**service.key("channel"), "content-type": "application/json"},
    )

    assert response.status_code == 422
    assert response.headers["content-type"] == PROBLEM


def test_a_body_over_the_size_limit_is_413_before_reaching_the_agent(service: Service) -> None:
    response = service.send("c-big", "x" * 9_000)

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "8000 bytes" in response.json()["detail"]  # the limit, SPORTELLO_MAX_BODY_BYTES
    assert service.assistant.calls == 0


def test_a_streamed_body_over_the_size_limit_is_413_too(service: Service) -> None:
    def chunks() -> Any:
        for _ in range(10):
            yield b"x" * 1_000

    response = service.client.post(
        "/v1/conversations/c-big/messages",
        content=chunks(),  # no Content-Length: chunked transfer
        headers={**service.key("channel"), "content-type": "application/json"},
    )

    assert response.status_code == 413
    assert response.headers["content-type"] == PROBLEM
    assert "8000 bytes" in response.json()["detail"]
    assert service.assistant.calls == 0


def test_feedback_is_stored_on_the_conversation(service: Service) -> None:
    service.send("c-fb", "hours?")

    created = service.client.post(
        "/v1/conversations/c-fb/feedback",
        json={"rating": 5, "comment": "Chiaro!"},
        headers=service.key("channel"),
    )

    assert created.status_code == 201
    assert created.json()["rating"] == 5
    transcript = service.client.get("/v1/conversations/c-fb", headers=service.key("channel")).json()
    assert [(f["rating"], f["comment"]) for f in transcript["feedback"]] == [(5, "Chiaro!")]


def test_a_rating_outside_one_to_five_is_rejected(service: Service) -> None:
    service.send("c-fb2", "hours?")

    response = service.client.post(
        "/v1/conversations/c-fb2/feedback", json={"rating": 6}, headers=service.key("channel")
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.rating: ")


def test_feedback_on_an_unknown_conversation_is_404(service: Service) -> None:
    response = service.client.post(
        "/v1/conversations/nope/feedback", json={"rating": 3}, headers=service.key("channel")
    )

    assert response.status_code == 404


# --- a turn that fails on our side ----------------------------------------------------------------
class _BrokenAssistant:
    """An assistant that cannot answer at all (as when its index fails to load)."""

    calls = 0

    def respond(self, conversation: Any, message: str, *, now: Any = None) -> Any:
        raise RuntimeError("index unavailable")


def test_a_turn_that_fails_still_stores_the_message_and_hands_off(make_service: Any) -> None:
    service = make_service(assistant=_BrokenAssistant())

    body = service.send("c-broken", "Ciao, a che ora aprite sabato?", message_id="m1").json()

    assert body["handoff"]["reason"] == "internal_error"
    assert body["reply"]["text"]  # the customer is told a person will answer
    stored = service.client.get("/v1/conversations/c-broken", headers=service.key("operator")).json()
    assert [m["text"] for m in stored["messages"] if m["role"] == "customer"] == ["Ciao, a che ora aprite sabato?"]
    assert service.send("c-broken", "Ciao, a che ora aprite sabato?", message_id="m1").json() == body
