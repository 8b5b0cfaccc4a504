"""The per-customer limit on messaging channels: a conversation past
SPORTELLO_RATE_LIMIT_PER_CUSTOMER_PER_MINUTE turns a minute keeps every message (acknowledged 200,
stored in the transcript, `message.received` emitted) but gets no bot turn for it, counted in
/metrics and logged. Never a 429 to the provider: Meta, Telegram and Chatwoot send again whatever
did not get a 2xx. Real webhooks in, the loopback provider stand-in out, on SQLite and PostgreSQL."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    WebhookReceiver,
    database_url_fixture,
    postgres_database_fixture,
    receiver_fixture,
)
from tests.api.conftest_channels import (  # noqa: F401 (fixtures, used by name)
    ADMIN,
    WA_CONVERSATION,
    ChannelApp,
    ProviderStandIn,
    cw_message,
    eventually,
    make_channel_app_fixture,
    provider_fixture,
    tg_update,
    wa_text,
    whatsapp_payload,
)

QUESTIONS = ["Quali sono gli orari?", "E i resi?", "Siete aperti sabato?", "E il reso di un regalo?"]


def _customer_messages(channels: ChannelApp, conversation_id: str) -> list[dict[str, Any]]:
    response = channels.conversation(conversation_id)
    if response.status_code != 200:
        return []
    return [m for m in response.json()["messages"] if m["role"] == "customer"]


def _send_one_turn_at_a_time(channels: ChannelApp, send: Any, conversation_id: str, count: int) -> list[Any]:
    """Send `count` messages, each once the previous one's turn is stored (one turn each)."""
    acks = []
    for n in range(count):
        acks.append(send(n))
        eventually(lambda n=n: len(_customer_messages(channels, conversation_id)) == n + 1)
    return acks


def test_whatsapp_messages_past_the_limit_are_acknowledged_and_stored_but_not_answered(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=2)

    acks = _send_one_turn_at_a_time(
        channels, lambda n: channels.whatsapp(whatsapp_payload(wa_text(f"wamid.l{n}", QUESTIONS[n]))),
        WA_CONVERSATION, 4,
    )

    assert [a.status_code for a in acks] == [200] * 4
    assert [a.json() for a in acks] == [{"stored": 1, "duplicates": 0}] * 4
    transcript = channels.conversation(WA_CONVERSATION).json()["messages"]
    assert [(m["role"], m["text"]) for m in transcript] == [
        ("customer", QUESTIONS[0]),
        ("bot", "Siamo aperti dal lunedì al sabato, 9–19."),
        ("customer", QUESTIONS[1]),
        ("bot", "Hai 30 giorni per il reso."),
        ("customer", QUESTIONS[2]),
        ("customer", QUESTIONS[3]),
    ]
    assert channels.assistant.calls == 2
    assert len(provider.wait_accepted(2)) == 2


def test_a_limited_message_is_emitted_as_received_with_no_reply_event(
    make_channel_app: Any, provider: ProviderStandIn, receiver: WebhookReceiver
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=1)
    created = channels.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["message.received", "reply.sent"]}, headers=ADMIN
    )
    receiver.secret = created.json()["secret"]

    _send_one_turn_at_a_time(
        channels, lambda n: channels.whatsapp(whatsapp_payload(wa_text(f"wamid.e{n}", QUESTIONS[n]))),
        WA_CONVERSATION, 2,
    )
    events = [(d.event["type"], d.event["data"].get("text")) for d in receiver.wait_for(3)]

    assert sorted(events, key=str) == sorted(
        [("message.received", QUESTIONS[0]), ("reply.sent", None), ("message.received", QUESTIONS[1])], key=str
    )


def test_limited_turns_are_counted_in_metrics_and_logged_without_the_text(
    make_channel_app: Any, provider: ProviderStandIn, caplog: pytest.LogCaptureFixture
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=1)

    with caplog.at_level(logging.INFO, logger="api.channels.worker"):
        _send_one_turn_at_a_time(
            channels, lambda n: channels.whatsapp(whatsapp_payload(wa_text(f"wamid.m{n}", QUESTIONS[n]))),
            WA_CONVERSATION, 3,
        )

    metrics = channels.client.get("/metrics").text
    assert 'sportello_channel_turns_limited_total{channel="whatsapp"} 2.0' in metrics
    limited = [r for r in caplog.records if r.getMessage() == "channel_turn_limited"]
    assert [(r.__dict__["conversation_id"], r.__dict__["limit_per_minute"]) for r in limited] == [
        (WA_CONVERSATION, 1), (WA_CONVERSATION, 1)
    ]
    assert not any(question in r.getMessage() + str(r.__dict__) for r in limited for question in QUESTIONS)


def test_another_customer_of_the_same_number_is_still_answered(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=1)
    _send_one_turn_at_a_time(
        channels, lambda n: channels.whatsapp(whatsapp_payload(wa_text(f"wamid.a{n}", QUESTIONS[n]))),
        WA_CONVERSATION, 2,
    )

    channels.whatsapp(whatsapp_payload(wa_text("wamid.b0", "E i resi?", customer="393330000000")))
    sent = provider.wait_accepted(2)

    assert sorted(s.body["to"] for s in sent) == ["393330000000", "393331234567"]


def test_telegram_messages_past_the_limit_are_acknowledged_and_stored_but_not_answered(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=1)

    acks = _send_one_turn_at_a_time(
        channels, lambda n: channels.telegram(tg_update(100 + n, QUESTIONS[n])), "telegram:777", 3
    )

    assert [a.status_code for a in acks] == [200] * 3
    assert [m["text"] for m in _customer_messages(channels, "telegram:777")] == QUESTIONS[:3]
    assert channels.assistant.calls == 1
    assert [s.path.rsplit("/", 1)[-1] for s in provider.wait_accepted(1)] == ["sendMessage"]


def test_chatwoot_messages_past_the_limit_are_acknowledged_and_stored_but_not_answered(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(rate_limit_per_customer_per_minute=1)

    acks = _send_one_turn_at_a_time(
        channels, lambda n: channels.chatwoot(cw_message(500 + n, QUESTIONS[n])), "chatwoot:3:55", 3
    )

    assert [a.status_code for a in acks] == [200] * 3
    assert [m["text"] for m in _customer_messages(channels, "chatwoot:3:55")] == QUESTIONS[:3]
    assert channels.assistant.calls == 1
    assert len(provider.wait_accepted(1)) == 1
