"""Chatwoot as an agent bot, end to end against a loopback Chatwoot, on SQLite and PostgreSQL:
the bot answers while the conversation is pending, hands off by opening it, stays silent while an
agent holds it open, and answers again once the agent resolves it."""

from __future__ import annotations

from tests.api.conftest_api import database_url_fixture, postgres_database_fixture  # noqa: F401
from tests.api.conftest_channels import (  # noqa: F401 (fixtures, used by name)
    ChannelApp,
    ProviderStandIn,
    channels_fixture,
    cw_message,
    eventually,
    make_channel_app_fixture,
    provider_fixture,
)

CONVERSATION = "chatwoot:3:55"
MESSAGES = "/api/v1/accounts/3/conversations/55/messages"


def test_an_incoming_message_is_answered_in_its_conversation(channels: ChannelApp, provider: ProviderStandIn) -> None:
    ack = channels.chatwoot(cw_message(1001, "Quali sono gli orari?"))

    sent = provider.wait_accepted(1)[0]
    assert ack.json() == {"stored": 1, "duplicates": 0}
    assert sent.path == MESSAGES
    assert sent.headers["api_access_token"] == "chatwoot-bot-token"
    assert sent.body["message_type"] == "outgoing"
    assert sent.body["content"].startswith("Siamo aperti dal lunedì al sabato, 9–19.\n\nFonte: Negozi e orari")


def test_the_bots_own_outgoing_messages_and_private_notes_are_ignored(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    note = cw_message(1002, "nota interna: orari?")
    note["private"] = True

    echoes = [channels.chatwoot(cw_message(1001, "Siamo aperti…", message_type="outgoing")), channels.chatwoot(note)]
    channels.chatwoot(cw_message(1003, "Quali sono i resi?"))
    provider.wait_accepted(1)

    assert [e.json()["stored"] for e in echoes] == [0, 0]
    assert channels.assistant.calls == 1


def test_a_repeated_message_id_is_answered_once(channels: ChannelApp, provider: ProviderStandIn) -> None:
    acks = [channels.chatwoot(cw_message(1010, "Quali sono gli orari?")).json()["stored"] for _ in range(2)]
    provider.wait_accepted(1)  # (sent together, the next message would join the same turn)
    channels.chatwoot(cw_message(1011, "Quali sono i resi?"))
    provider.wait_accepted(2)

    assert acks == [1, 0]
    assert channels.assistant.calls == 2


def test_a_handoff_opens_the_conversation_in_chatwoot_after_the_reply(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.chatwoot(cw_message(1020, "Voglio parlare con un operatore"))

    reply, toggle = provider.wait_accepted(2)
    assert (reply.path, reply.body["content"]) == (MESSAGES, "Ti passo a un collega.")
    assert (toggle.path, toggle.body) == ("/api/v1/accounts/3/conversations/55/toggle_status", {"status": "open"})


def test_while_the_conversation_is_open_in_chatwoot_the_bot_stays_silent(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    held = channels.chatwoot(cw_message(1030, "Quali sono gli orari?", status="open"))
    channels.chatwoot(cw_message(1031, "Quali sono gli orari?", conversation=56))
    sent = provider.wait_accepted(1)

    assert held.json()["stored"] == 1
    assert [s.path for s in sent] == ["/api/v1/accounts/3/conversations/56/messages"]
    assert channels.assistant.calls == 1


def test_once_the_agent_resolves_it_the_bot_answers_again_and_the_handoff_is_resolved(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.chatwoot(cw_message(1040, "Voglio parlare con un operatore"))
    provider.wait_accepted(2)
    channels.chatwoot(cw_message(1041, "Ci siete?", status="open"))

    channels.chatwoot({"event": "conversation_status_changed", "id": 55, "status": "resolved",
                       "account": {"id": 3}, "messages": []})
    channels.chatwoot(cw_message(1042, "Quali sono i resi?", status="pending"))

    sent = provider.wait_accepted(3)
    assert sent[-1].body["content"].startswith("Hai 30 giorni per il reso.")
    handoffs = channels.client.get("/v1/handoffs", headers=channels.operator()).json()["items"]
    assert [(h["status"], h["resolution_note"]) for h in handoffs] == [("resolved", "resolved in chatwoot")]
    assert channels.assistant.calls == 2


def test_an_operator_reply_through_the_api_is_posted_to_the_chatwoot_conversation(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.chatwoot(cw_message(1050, "Voglio parlare con un operatore"))
    provider.wait_accepted(2)
    handoff_id = eventually(
        lambda: channels.client.get("/v1/handoffs?status=open", headers=channels.operator()).json()["items"]
    )[0]["id"]
    channels.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=channels.operator())

    replied = channels.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Sono Anna, eccomi."}, headers=channels.operator()
    )

    sent = provider.wait_accepted(3)[-1]
    assert replied.status_code == 201
    assert (sent.path, sent.body["content"]) == (MESSAGES, "Sono Anna, eccomi.")
