"""The human handoff lifecycle through the HTTP API, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    Service,
    database_url_fixture,
    make_service_fixture,
    postgres_database_fixture,
    service_fixture,
)

PROBLEM = "application/problem+json"


def _hand_off(service: Service, conversation_id: str = "c-h") -> dict[str, Any]:
    service.send(conversation_id, "Quali sono gli orari?")
    body = service.send(conversation_id, "Voglio parlare con un operatore").json()
    assert body["status"] == "handed_off", body
    return body


def _claim(service: Service, handoff_id: str, operator: str = "op-1") -> Any:
    return service.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=service.key("operator", operator))


def test_asking_for_a_person_opens_a_handoff_with_reason_and_the_reply(service: Service) -> None:
    body = _hand_off(service)

    assert body["reply"]["text"] == "Ti passo a un collega."
    assert body["handoff"]["reason"] == "human_requested"
    assert body["handoff"]["status"] == "open"


def test_a_handoff_carries_reason_transcript_summary_and_language(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]

    handoff = service.client.get(f"/v1/handoffs/{handoff_id}", headers=service.key("operator")).json()

    assert handoff["reason"] == "human_requested"
    assert handoff["summary"].startswith("Customer asked for a person")
    assert handoff["language"] == "it"
    assert handoff["requested_by"] == "bot"
    assert [t["role"] for t in handoff["transcript"]] == ["customer", "bot", "customer", "bot"]


def test_while_a_handoff_is_open_the_bot_stays_silent_and_keeps_the_message(service: Service) -> None:
    _hand_off(service)
    calls = service.assistant.calls

    body = service.send("c-h", "C'è qualcuno?", message_id="waiting").json()

    assert body["reply"] is None
    assert body["status"] == "handed_off"
    assert body["handoff"]["status"] == "open"
    assert service.assistant.calls == calls
    transcript = service.client.get("/v1/conversations/c-h", headers=service.key("operator")).json()
    assert transcript["messages"][-1]["text"] == "C'è qualcuno?"


def test_a_silent_message_retried_is_stored_once(service: Service) -> None:
    _hand_off(service)

    first = service.send("c-h", "hello?", message_id="w1")
    again = service.send("c-h", "hello?", message_id="w1")

    assert again.json() == first.json()
    transcript = service.client.get("/v1/conversations/c-h", headers=service.key("operator")).json()
    assert sum(m["message_id"] == "w1" for m in transcript["messages"]) == 1


def test_the_full_lifecycle_gives_the_conversation_back_to_the_bot(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    operator = service.key("operator", "op-1")

    claimed = _claim(service, handoff_id)
    replied = service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Buongiorno, sono Anna."}, headers=operator
    )
    resolved = service.client.post(
        f"/v1/handoffs/{handoff_id}/resolve", json={"note": "answered"}, headers=operator
    )
    after = service.send("c-h", "E i resi?").json()

    assert claimed.status_code == 200 and claimed.json()["status"] == "claimed"
    assert claimed.json()["claimed_by"] == service.key_id("operator", "op-1")
    assert replied.status_code == 201 and replied.json()["role"] == "operator"
    assert resolved.status_code == 200 and resolved.json()["status"] == "resolved"
    assert resolved.json()["resolution_note"] == "answered"
    assert after["status"] == "bot"
    assert after["handoff"] is None
    assert after["reply"]["text"] == "Hai 30 giorni per il reso."


def test_the_bot_sees_the_operator_turn_when_it_answers_again(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    operator = service.key("operator", "op-1")
    _claim(service, handoff_id)
    service.client.post(f"/v1/handoffs/{handoff_id}/messages", json={"text": "Ecco a lei."}, headers=operator)
    service.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator)

    service.send("c-h", "grazie, e gli orari?")

    last_call = service.assistant.seen[-1]
    assert [t.role for t in last_call.turns][-1] == "operator"
    assert last_call.turns[-1].text == "Ecco a lei."


def test_operator_messages_appear_in_the_transcript_with_their_author(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)

    service.client.post(
        f"/v1/handoffs/{handoff_id}/messages",
        json={"text": "Eccomi", "message_id": "op-m1"},
        headers=service.key("operator", "op-1"),
    )

    transcript = service.client.get("/v1/conversations/c-h", headers=service.key("channel")).json()
    last = transcript["messages"][-1]
    assert (last["role"], last["text"], last["message_id"]) == ("operator", "Eccomi", "op-m1")
    assert last["author"] == service.key_id("operator", "op-1")


def test_an_operator_message_retried_with_its_message_id_is_stored_once(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)
    operator = service.key("operator", "op-1")
    body = {"text": "Eccomi", "message_id": "op-dup"}

    first = service.client.post(f"/v1/handoffs/{handoff_id}/messages", json=body, headers=operator)
    again = service.client.post(f"/v1/handoffs/{handoff_id}/messages", json=body, headers=operator)

    assert (first.status_code, again.status_code) == (201, 200)
    assert again.headers["Idempotent-Replayed"] == "true"
    transcript = service.client.get("/v1/conversations/c-h", headers=operator).json()
    assert sum(m["message_id"] == "op-dup" for m in transcript["messages"]) == 1


def test_claiming_twice_by_the_same_operator_is_harmless(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)

    again = _claim(service, handoff_id)

    assert again.status_code == 200
    assert again.json()["status"] == "claimed"


def test_claiming_a_handoff_another_operator_holds_is_409(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id, "op-1")

    response = _claim(service, handoff_id, "op-2")

    assert response.status_code == 409
    assert response.headers["content-type"] == PROBLEM
    assert "claimed by another operator" in response.json()["detail"]


def test_claiming_a_resolved_handoff_is_409_with_a_clear_problem(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)
    service.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=service.key("operator", "op-1"))

    response = _claim(service, handoff_id, "op-2")

    assert response.status_code == 409
    problem = response.json()
    assert problem["title"] == "Invalid transition"
    assert problem["type"] == "urn:sportello:problem:invalid-transition"
    assert "resolved" in problem["detail"]


def test_replying_to_a_handoff_you_did_not_claim_is_409(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id, "op-1")

    response = service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "hi"}, headers=service.key("operator", "op-2")
    )

    assert response.status_code == 409
    assert response.json()["title"] == "Not your handoff"


def test_replying_to_an_unclaimed_handoff_is_409_asking_to_claim_first(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]

    response = service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "hi"}, headers=service.key("operator")
    )

    assert response.status_code == 409
    assert "claim it first" in response.json()["detail"]


def test_resolving_a_handoff_you_did_not_claim_is_409(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id, "op-1")

    response = service.client.post(
        f"/v1/handoffs/{handoff_id}/resolve", headers=service.key("operator", "op-2")
    )

    assert response.status_code == 409


def test_resolving_twice_is_409(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)
    operator = service.key("operator", "op-1")
    service.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator)

    response = service.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator)

    assert response.status_code == 409
    assert "resolved" in response.json()["detail"]


def test_an_unknown_handoff_is_404(service: Service) -> None:
    response = service.client.post("/v1/handoffs/ho_missing/claim", headers=service.key("operator"))

    assert response.status_code == 404
    assert response.headers["content-type"] == PROBLEM


def test_a_handoff_can_be_requested_from_outside(service: Service) -> None:
    service.send("c-ext", "opening hours?")

    response = service.client.post(
        "/v1/conversations/c-ext/handoff", json={"summary": "VIP customer"}, headers=service.key("channel")
    )

    assert response.status_code == 201
    handoff = response.json()
    assert handoff["reason"] == "requested_externally"
    assert handoff["summary"] == "VIP customer"
    assert handoff["language"] == "en"
    assert handoff["requested_by"] == service.key_id("channel")
    assert service.send("c-ext", "hello").json()["reply"] is None


def test_an_outside_request_without_summary_summarizes_the_last_customer_message(service: Service) -> None:
    service.send("c-ext2", "My order never arrived and I am upset")

    handoff = service.client.post("/v1/conversations/c-ext2/handoff", headers=service.key("operator")).json()

    assert handoff["summary"] == "My order never arrived and I am upset"


def test_requesting_a_second_handoff_while_one_is_open_is_409(service: Service) -> None:
    _hand_off(service)

    response = service.client.post("/v1/conversations/c-h/handoff", headers=service.key("channel"))

    assert response.status_code == 409
    assert response.json()["title"] == "Handoff already open"


def test_requesting_a_handoff_for_an_unknown_conversation_is_404(service: Service) -> None:
    response = service.client.post("/v1/conversations/ghost/handoff", headers=service.key("channel"))

    assert response.status_code == 404


def test_an_unknown_handoff_reason_is_rejected_naming_the_field(service: Service) -> None:
    service.send("c-r", "hours?")

    response = service.client.post(
        "/v1/conversations/c-r/handoff", json={"reason": "boredom"}, headers=service.key("channel")
    )

    assert response.status_code == 422
    assert response.json()["detail"].startswith("body.reason: ")


def test_open_handoffs_are_listed_oldest_first_in_pages(service: Service) -> None:
    ids = [_hand_off(service, f"c-{n}")["handoff"]["id"] for n in range(5)]
    operator = service.key("operator")

    first = service.client.get("/v1/handoffs", params={"status": "open", "limit": 2}, headers=operator).json()
    second = service.client.get(
        "/v1/handoffs",
        params={"status": "open", "limit": 2, "cursor": first["next_cursor"]},
        headers=operator,
    ).json()
    third = service.client.get(
        "/v1/handoffs",
        params={"status": "open", "limit": 2, "cursor": second["next_cursor"]},
        headers=operator,
    ).json()

    listed = [h["id"] for page in (first, second, third) for h in page["items"]]
    assert sorted(listed) == sorted(ids)
    assert len(set(listed)) == 5
    assert third["next_cursor"] is None


def test_the_status_filter_leaves_out_claimed_handoffs(service: Service) -> None:
    claimed = _hand_off(service, "c-1")["handoff"]["id"]
    still_open = _hand_off(service, "c-2")["handoff"]["id"]
    _claim(service, claimed)

    page = service.client.get(
        "/v1/handoffs", params={"status": "open"}, headers=service.key("operator")
    ).json()

    assert [h["id"] for h in page["items"]] == [still_open]


def test_a_forged_cursor_is_a_400_problem(service: Service) -> None:
    response = service.client.get(
        "/v1/handoffs", params={"cursor": "not-a-cursor"}, headers=service.key("operator")
    )

    assert response.status_code == 400
    assert response.headers["content-type"] == PROBLEM


def test_the_conversation_lists_its_handoffs_with_their_status(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]

    body = service.client.get("/v1/conversations/c-h", headers=service.key("operator")).json()

    assert body["status"] == "handed_off"
    assert body["handoff"] == {"id": handoff_id, "reason": "human_requested", "status": "open"}
    assert body["handoffs"] == [body["handoff"]]


def test_an_operator_message_reusing_a_customer_message_id_is_409(service: Service) -> None:
    service.send("c-h", "hours?", message_id="shared-id")
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)

    response = service.client.post(
        f"/v1/handoffs/{handoff_id}/messages",
        json={"text": "hi", "message_id": "shared-id"},
        headers=service.key("operator", "op-1"),
    )

    assert response.status_code == 409
    assert "unique message_id" in response.json()["detail"]


def test_a_customer_message_reusing_an_operator_message_id_is_409(service: Service) -> None:
    handoff_id = _hand_off(service)["handoff"]["id"]
    _claim(service, handoff_id)
    operator = service.key("operator", "op-1")
    service.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "hi", "message_id": "op-7"}, headers=operator
    )
    service.client.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator)

    response = service.send("c-h", "thanks", message_id="op-7")

    assert response.status_code == 409


# --- which handoffs hold the conversation -------------------------------------------------------
def test_after_a_no_answer_handoff_the_bot_keeps_answering_what_it_can_ground(service: Service) -> None:
    first = service.send("c-na", "Spedite su Marte?").json()
    assert first["handoff"]["reason"] == "no_answer"

    body = service.send("c-na", "Quali sono gli orari?").json()

    assert body["reply"]["text"] == "Siamo aperti dal lunedì al sabato, 9–19."
    assert body["reply"]["grounded"] is True
    # The same handoff waits and collects the transcript; no second one is opened.
    assert body["handoff"] == first["handoff"]
    handoff = service.client.get(f"/v1/handoffs/{first['handoff']['id']}", headers=service.key("operator")).json()
    assert [t["text"] for t in handoff["transcript"] if t["role"] == "customer"] == [
        "Spedite su Marte?", "Quali sono gli orari?"]


def test_asking_for_a_person_while_a_no_answer_handoff_waits_makes_it_hold(service: Service) -> None:
    first = service.send("c-na2", "Spedite su Marte?").json()
    calls = service.assistant.calls

    asked = service.send("c-na2", "Voglio parlare con un operatore").json()
    later = service.send("c-na2", "Quali sono gli orari?").json()

    assert asked["handoff"]["id"] == first["handoff"]["id"]
    assert asked["handoff"]["reason"] == "human_requested"
    assert later["reply"] is None
    assert service.assistant.calls == calls + 1


def test_a_claimed_handoff_holds_whatever_its_reason(service: Service) -> None:
    handoff_id = service.send("c-na3", "Spedite su Marte?").json()["handoff"]["id"]
    assert _claim(service, handoff_id).status_code == 200

    body = service.send("c-na3", "Quali sono gli orari?").json()

    assert body["reply"] is None
    assert body["handoff"]["status"] == "claimed"
