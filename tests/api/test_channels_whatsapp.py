"""WhatsApp Cloud API end to end: Meta's webhook in, a loopback Graph API out, on SQLite and
PostgreSQL. The stand-in records what the service sends; nothing is patched."""

from __future__ import annotations

import re
import threading
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from agent import ConversationUpdate, Reply, Turn, TurnResult
from api.app import create_app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    EchoKnowledgeAssistant,
    WebhookReceiver,
    database_url_fixture,
    postgres_database_fixture,
    receiver_fixture,
)
from tests.api.conftest_channels import (  # noqa: F401 (fixtures, used by name)
    ADMIN,
    CUSTOMER,
    FAST_CHANNELS,
    PHONE_NUMBER_ID,
    VERIFY_TOKEN,
    WA_CONVERSATION,
    ChannelApp,
    ProviderStandIn,
    channel_settings,
    channels_fixture,
    eventually,
    make_channel_app_fixture,
    provider_fixture,
    wa_media,
    wa_status,
    wa_text,
    whatsapp_payload,
)

PROBLEM = "application/problem+json"


def _hand_off(channels: ChannelApp, *, at: datetime | None = None) -> str:
    channels.whatsapp(whatsapp_payload(wa_text("wamid.ho", "Voglio parlare con un operatore", at=at)))
    handoffs = eventually(
        lambda: channels.client.get("/v1/handoffs?status=open", headers=channels.operator()).json()["items"]
    )
    assert [h["conversation_id"] for h in handoffs] == [WA_CONVERSATION]
    handoff_id = handoffs[0]["id"]
    claimed = channels.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=channels.operator())
    assert claimed.status_code == 200, claimed.text
    return str(handoff_id)


def test_meta_verification_echoes_the_challenge_when_the_token_matches(channels: ChannelApp) -> None:
    response = channels.client.get(
        "/channels/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": VERIFY_TOKEN, "hub.challenge": "1158201444"},
    )

    assert response.status_code == 200
    assert response.text == "1158201444"
    assert response.headers["content-type"].startswith("text/plain")


def test_meta_verification_with_another_token_is_refused(channels: ChannelApp) -> None:
    response = channels.client.get(
        "/channels/whatsapp/webhook",
        params={"hub.mode": "subscribe", "hub.verify_token": "guess", "hub.challenge": "1158201444"},
    )

    assert response.status_code == 403
    assert "1158201444" not in response.text


def test_a_bad_signature_is_401_and_nothing_is_stored_or_sent(channels: ChannelApp, provider: ProviderStandIn) -> None:
    forged = channels.whatsapp(whatsapp_payload(wa_text("wamid.forged", "Quali sono gli orari?")), secret="not-it")
    # A genuine message afterwards: once its reply is out, the forged one would have been too.
    channels.whatsapp(whatsapp_payload(wa_text("wamid.real", "E i resi?", customer="393330000000")))
    provider.wait_accepted(1)

    assert forged.status_code == 401
    assert forged.headers["content-type"] == PROBLEM
    assert "X-Hub-Signature-256" in forged.json()["detail"]
    assert [r.body["to"] for r in provider.requests] == ["393330000000"]
    assert channels.conversation(WA_CONVERSATION).status_code == 404


def test_a_text_message_is_acknowledged_at_once_and_answered_with_its_sources(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    ack = channels.whatsapp(whatsapp_payload(wa_text("wamid.1", "Quali sono gli orari?")))

    sent = provider.wait_accepted(1)[0]
    assert ack.status_code == 200
    assert ack.json() == {"stored": 1, "duplicates": 0}
    assert sent.path == f"/v21.0/{PHONE_NUMBER_ID}/messages"
    assert sent.headers["authorization"] == "Bearer EAAG-access-token"
    assert sent.body["messaging_product"] == "whatsapp"
    assert (sent.body["to"], sent.body["type"]) == (CUSTOMER, "text")
    assert sent.text == (
        "Siamo aperti dal lunedì al sabato, 9–19.\n\n"
        "Fonte: Negozi e orari – https://brand.test/negozi (1 novembre 2026)"
    )


def test_the_conversation_id_is_derived_and_listed_with_its_channel(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    _hand_off(channels)

    handoffs = channels.client.get("/v1/handoffs", headers=channels.operator()).json()["items"]

    assert [(h["conversation_id"], h["channel"], h["user_id"]) for h in handoffs] == [
        (f"whatsapp:{PHONE_NUMBER_ID}:{CUSTOMER}", "whatsapp", CUSTOMER)
    ]


def test_a_duplicate_wamid_is_answered_once(channels: ChannelApp, provider: ProviderStandIn) -> None:
    payload = whatsapp_payload(wa_text("wamid.dup", "Quali sono gli orari?"))

    first = channels.whatsapp(payload)
    retries = [channels.whatsapp(payload) for _ in range(2)]
    provider.wait_accepted(1)  # (sent together, the next message would join the same turn)
    channels.whatsapp(whatsapp_payload(wa_text("wamid.next", "E i resi?")))
    sent = provider.wait_accepted(2)

    assert first.json()["stored"] == 1
    assert [r.json() for r in retries] == [{"stored": 0, "duplicates": 1}] * 2
    assert [s.text.split("\n")[0] for s in sent] == [
        "Siamo aperti dal lunedì al sabato, 9–19.",
        "Hai 30 giorni per il reso.",
    ]
    assert channels.assistant.calls == 2


def test_messages_split_across_bubbles_within_the_debounce_get_one_reply(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(debounce_seconds=1.0)

    for index, text in enumerate(["ciao", "volevo sapere", "a che ora siete aperti sabato?"]):
        channels.whatsapp(whatsapp_payload(wa_text(f"wamid.b{index}", text)))
    channels.whatsapp(whatsapp_payload(wa_text("wamid.other", "E i resi?", customer="393330000000")))
    provider.wait_accepted(2)

    assert channels.assistant.calls == 2
    mine = next(c for c in channels.assistant.seen if c.id == WA_CONVERSATION)
    assert mine.turns == []  # one turn: the first the conversation has
    transcript = channels.conversation(WA_CONVERSATION).json()["messages"]
    assert [(m["role"], m["text"]) for m in transcript] == [
        ("customer", "ciao\nvolevo sapere\na che ora siete aperti sabato?"),
        ("bot", "Siamo aperti dal lunedì al sabato, 9–19."),
    ]
    assert [r.body["to"] for r in provider.accepted].count(CUSTOMER) == 1


def test_an_operator_reply_reaches_the_customer_on_whatsapp(channels: ChannelApp, provider: ProviderStandIn) -> None:
    handoff_id = _hand_off(channels)

    replied = channels.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Buongiorno, sono **Anna**."}, headers=channels.operator()
    )

    sent = provider.wait_accepted(2)[-1]
    assert replied.status_code == 201
    assert (sent.body["to"], sent.text) == (CUSTOMER, "Buongiorno, sono Anna.")


def _console_form(channels: ChannelApp, path: str) -> dict[str, str]:
    """Sign an operator in to the console and return the CSRF token of the page at `path`."""
    secret = channels.operator()["Authorization"].removeprefix("Bearer ")
    login = channels.client.get("/console/login").text
    token = re.search(r'name="csrf" value="([^"]+)"', login)
    assert token, login
    signed_in = channels.client.post("/console/login", data={"key": secret, "csrf": token.group(1)}, follow_redirects=False)
    assert signed_in.status_code == 303, signed_in.text
    page = channels.client.get(path)
    token = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert token, page.text
    return {"csrf": token.group(1)}


def test_an_operator_reply_written_in_the_console_reaches_the_customer_on_whatsapp(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    handoff_id = _hand_off(channels)
    form = _console_form(channels, f"/console/handoffs/{handoff_id}")

    replied = channels.client.post(
        f"/console/handoffs/{handoff_id}/reply", data={**form, "text": "Buongiorno, sono Anna."}, follow_redirects=False
    )

    assert replied.status_code == 303, replied.text
    sent = provider.wait_accepted(2)[-1]
    assert (sent.body["to"], sent.text) == (CUSTOMER, "Buongiorno, sono Anna.")


def test_a_console_reply_after_the_24_hour_window_shows_the_window_closed_message_and_stores_nothing(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    handoff_id = _hand_off(channels, at=datetime.now(UTC) - timedelta(hours=25))
    form = _console_form(channels, f"/console/handoffs/{handoff_id}")

    refused = channels.client.post(f"/console/handoffs/{handoff_id}/reply", data={**form, "text": "Eccomi"})

    assert refused.status_code == 409
    assert "SPORTELLO_WHATSAPP_TEMPLATE" in refused.text
    assert provider.requests == []
    transcript = channels.conversation(WA_CONVERSATION).json()["messages"]
    assert "operator" not in [m["role"] for m in transcript]


def test_an_operator_reply_after_the_24_hour_window_is_refused_with_window_closed(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    wrote_at = datetime.now(UTC) - timedelta(hours=25)
    handoff_id = _hand_off(channels, at=wrote_at)

    refused = channels.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Eccomi"}, headers=channels.operator()
    )

    assert provider.requests == []  # not even the bot's reply: it was due after the window closed
    assert refused.status_code == 409
    problem = refused.json()
    assert problem["type"] == "urn:sportello:problem:window-closed"
    assert (wrote_at + timedelta(hours=24)).replace(microsecond=0).isoformat() in problem["detail"]
    assert "SPORTELLO_WHATSAPP_TEMPLATE" in problem["detail"]
    transcript = channels.conversation(WA_CONVERSATION).json()["messages"]
    assert "operator" not in [m["role"] for m in transcript]


def test_with_a_template_configured_it_goes_instead_once_the_window_closed(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    channels = make_channel_app(whatsapp_template="riprendi_conversazione:it")
    handoff_id = _hand_off(channels, at=datetime.now(UTC) - timedelta(hours=30))

    replied = channels.client.post(
        f"/v1/handoffs/{handoff_id}/messages", json={"text": "Eccomi"}, headers=channels.operator()
    )

    sent = provider.wait_accepted(1)[-1]
    assert replied.status_code == 201
    assert sent.body["type"] == "template"
    assert sent.body["template"] == {"name": "riprendi_conversazione", "language": {"code": "it"}}


def test_a_429_storm_is_waited_out_and_every_reply_is_sent_exactly_once(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    throttled = {"error": {"message": "(#130429) Rate limit hit", "type": "OAuthException", "code": 130429}}
    pair_rate = {"error": {"message": "(#131056) Pair rate limit hit", "code": 131056}}
    provider.fail(4, 429, throttled)
    provider.fail(4, 400, pair_rate)
    customers = [f"39333000000{i}" for i in range(3)]

    for index, customer in enumerate(customers):
        channels.whatsapp(whatsapp_payload(wa_text(f"wamid.s{index}", "Quali sono gli orari?", customer=customer)))
    sent = provider.wait_accepted(3)

    assert len(provider.requests) >= 8 + 3
    assert sorted(s.body["to"] for s in sent) == customers
    summary = eventually(  # the third send is recorded just after the stand-in answered it
        lambda: next((c for c in channels.client.get("/v1/channels", headers=channels.operator()).json()["channels"]
                      if c["name"] == "whatsapp" and c["sent"] == 3), None)
    )
    assert (summary["pending"], summary["failed"]) == (0, 0)
    assert "130429" in summary["last_error"] or "131056" in summary["last_error"]


def test_a_long_reply_is_split_at_sentence_boundaries_under_4096_characters(
    make_channel_app: Any, provider: ProviderStandIn
) -> None:
    sentences = [f"Frase numero {i} della risposta, che spiega con calma un dettaglio." for i in range(200)]
    channels = make_channel_app(assistant=_Saying(" ".join(sentences)))

    channels.whatsapp(whatsapp_payload(wa_text("wamid.long", "Raccontami tutto")))

    parts = provider.wait_accepted(4)
    assert all(len(p.text) <= 4096 for p in parts)
    assert all(p.text.endswith(".") for p in parts)
    assert " ".join(p.text for p in parts) == " ".join(sentences)


def test_a_voice_message_is_kept_and_answered_that_only_text_is_read_in_the_customers_language(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.whatsapp(whatsapp_payload(wa_text("wamid.t", "Ciao, quali sono gli orari?")))
    provider.wait_accepted(1)

    channels.whatsapp(whatsapp_payload(wa_media("wamid.voice", "audio")))

    notice = provider.wait_accepted(2)[-1]
    assert notice.text == "Mi dispiace, leggo solo i messaggi di testo: scrivimi la tua domanda in un messaggio."
    transcript = channels.conversation(WA_CONVERSATION).json()["messages"]
    assert transcript[-2]["text"] == "[audio]"
    assert channels.assistant.calls == 1


def test_delivery_statuses_are_stored_once_and_emitted_as_events(
    channels: ChannelApp, provider: ProviderStandIn, receiver: WebhookReceiver
) -> None:
    subscribed = channels.client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["message.status"]}, headers=ADMIN
    ).json()
    receiver.secret = subscribed["secret"]
    channels.whatsapp(whatsapp_payload(wa_text("wamid.st", "Quali sono gli orari?")))
    sent_id = provider.wait_accepted(1)[0]
    receiver.wait_for(1)
    wamid = receiver.accepted[0].event["data"]["provider_message_id"]

    for status in ("sent", "delivered", "delivered", "read"):
        channels.whatsapp(whatsapp_payload(statuses=[wa_status(wamid, status)]))

    events = [d.event["data"] for d in receiver.wait_for(3)]
    assert sent_id.status == 200
    assert [e["status"] for e in events] == ["sent", "delivered", "read"]
    assert {e["conversation_id"] for e in events} == {WA_CONVERSATION}
    assert events[0]["message_id"].startswith("rpl")


def test_a_channel_with_missing_credentials_is_reported_by_readyz(make_channel_app: Any) -> None:
    channels = make_channel_app(whatsapp_access_token=None)

    ready = channels.client.get("/readyz").json()
    listed = channels.client.get("/v1/channels", headers=channels.operator()).json()["channels"]

    assert ready["checks"]["channel.whatsapp"] == "missing SPORTELLO_WHATSAPP_ACCESS_TOKEN"
    assert ready["checks"]["channel.telegram"] == "ok"
    assert listed[0]["missing"] == ["SPORTELLO_WHATSAPP_ACCESS_TOKEN"]


class _Saying(EchoKnowledgeAssistant):
    def __init__(self, text: str) -> None:
        super().__init__()
        self.text = text

    def respond(self, conversation: Any, message: str, *, now: datetime | None = None) -> TurnResult:
        self.calls += 1
        reply = Reply(text=self.text, language="it", grounded=True)
        return TurnResult(reply, ConversationUpdate((Turn("customer", message, now), Turn("bot", self.text, now)), {}))


def test_a_reply_pending_at_a_restart_is_sent_once_after_it(
    tmp_path: Path, database_url: str, provider: ProviderStandIn
) -> None:
    provider.fail(10_000, 500, {"error": {"message": "Service temporarily unavailable", "code": 2}})
    patient = replace(FAST_CHANNELS, max_attempts=10_000)
    before, after = EchoKnowledgeAssistant(), EchoKnowledgeAssistant()
    settings = channel_settings(tmp_path, database_url, provider)

    with TestClient(create_app(settings, assistant=before, channel_policy=patient)) as client:
        ChannelApp(client, before).whatsapp(whatsapp_payload(wa_text("wamid.r", "Quali sono gli orari?")))
        provider.wait_requests(2)  # the Graph API is down: the reply waits in the outbox
    provider.heal()
    with TestClient(create_app(settings, assistant=after, channel_policy=patient)):
        sent = provider.wait_accepted(1)

    assert [s.body["to"] for s in sent] == [CUSTOMER]
    assert (before.calls, after.calls) == (1, 0)  # answered once, sent after the restart
    assert len(provider.accepted) == 1


def test_a_message_acknowledged_before_a_restart_is_answered_after_it(
    tmp_path: Path, database_url: str, provider: ProviderStandIn
) -> None:
    assistant = EchoKnowledgeAssistant()
    waiting = channel_settings(tmp_path, database_url, provider, debounce_seconds=60.0)

    with TestClient(create_app(waiting, assistant=assistant, channel_policy=FAST_CHANNELS)) as client:
        ack = ChannelApp(client, assistant).whatsapp(whatsapp_payload(wa_text("wamid.a", "Quali sono i resi?")))
    with TestClient(create_app(replace(waiting, debounce_seconds=0.0), assistant=assistant,
                               channel_policy=FAST_CHANNELS)):
        sent = provider.wait_accepted(1)

    assert ack.status_code == 200
    assert sent[0].text.startswith("Hai 30 giorni per il reso.")
    assert assistant.calls == 1


def test_the_webhook_is_acknowledged_before_the_turn_runs(make_channel_app: Any, provider: ProviderStandIn) -> None:
    release = threading.Event()
    channels = make_channel_app(assistant=_Waiting(release))

    ack = channels.whatsapp(whatsapp_payload(wa_text("wamid.slow", "Quali sono gli orari?")))
    answered_before = len(provider.requests)
    release.set()

    assert ack.status_code == 200
    assert answered_before == 0
    assert provider.wait_accepted(1)[0].body["to"] == CUSTOMER


def test_two_workers_sharing_the_database_answer_a_retried_wamid_once(
    tmp_path: Path, database_url: str, provider: ProviderStandIn
) -> None:
    settings = channel_settings(tmp_path, database_url, provider)
    first, second = EchoKnowledgeAssistant(), EchoKnowledgeAssistant()
    customers = [f"39333100000{i}" for i in range(4)]

    with TestClient(create_app(settings, assistant=first, channel_policy=FAST_CHANNELS)) as one, \
            TestClient(create_app(settings, assistant=second, channel_policy=FAST_CHANNELS)) as two:
        for index, customer in enumerate(customers):
            payload = whatsapp_payload(wa_text(f"wamid.w{index}", "Quali sono gli orari?", customer=customer))
            for client in (one, two, one):  # Meta retrying against whichever worker answers
                ChannelApp(client, None).whatsapp(payload)
        provider.wait_accepted(len(customers))
        # Another message per customer, answered after the first: a second reply would come first.
        for index, customer in enumerate(customers):
            ChannelApp(two, None).whatsapp(
                whatsapp_payload(wa_text(f"wamid.w{index}b", "Quali sono i resi?", customer=customer))
            )
        sent = provider.wait_accepted(2 * len(customers))

    assert first.calls + second.calls == 2 * len(customers)
    assert sorted(s.body["to"] for s in sent) == sorted(customers * 2)
    for customer in customers:
        texts = [s.text.split("\n")[0] for s in sent if s.body["to"] == customer]
        assert texts == ["Siamo aperti dal lunedì al sabato, 9–19.", "Hai 30 giorni per il reso."]


class _Waiting(EchoKnowledgeAssistant):
    def __init__(self, release: threading.Event) -> None:
        super().__init__()
        self.release = release

    def respond(self, conversation: Any, message: str, *, now: datetime | None = None) -> TurnResult:
        assert self.release.wait(timeout=15)
        return super().respond(conversation, message, now=now)


def test_erasing_a_whatsapp_conversation_erases_what_the_channel_stored(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.whatsapp(whatsapp_payload(wa_text("wamid.gdpr", "Quali sono gli orari?")))
    provider.wait_accepted(1)
    eventually(lambda: channels.client.get("/v1/channels", headers=channels.operator()).json()["channels"][0]["sent"])

    erased = channels.client.delete(f"/v1/conversations/{WA_CONVERSATION}", headers=ADMIN)

    assert erased.status_code == 200, erased.text
    counts = erased.json()["erased"]
    assert (counts["channel_inbound"], counts["channel_outbox"], counts["channel_conversations"]) == (2, 1, 1)
