"""Telegram end to end: Updates in with the secret token, a loopback Bot API out, on SQLite and
PostgreSQL; and `sportello channels telegram set-webhook` against the same stand-in."""

from __future__ import annotations

from typer.testing import CliRunner

from sportello.cli import app as cli
from tests.api.conftest_api import database_url_fixture, postgres_database_fixture  # noqa: F401
from tests.api.conftest_channels import (  # noqa: F401 (fixtures, used by name)
    BOT_TOKEN,
    TELEGRAM_SECRET,
    ChannelApp,
    ProviderStandIn,
    channels_fixture,
    make_channel_app_fixture,
    provider_fixture,
    tg_update,
)


def test_an_update_without_the_secret_token_is_401_and_nothing_is_stored(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    forged = channels.telegram(tg_update(1, "Quali sono gli orari?", chat_id=5), secret="wrong")
    channels.telegram(tg_update(2, "Quali sono gli orari?", chat_id=6))
    provider.wait_accepted(1)

    assert forged.status_code == 401
    assert [r.body["chat_id"] for r in provider.requests] == [6]
    assert channels.conversation("telegram:5").status_code == 404


def test_a_text_message_is_answered_with_send_message_to_its_chat(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    ack = channels.telegram(tg_update(10, "Quali sono gli orari?"))

    sent = provider.wait_accepted(1)[0]
    assert ack.status_code == 200
    assert sent.path == f"/bot{BOT_TOKEN}/sendMessage"
    assert sent.body == {
        "chat_id": 777,
        "text": "Siamo aperti dal lunedì al sabato, 9–19.\n\n"
        "Fonte: Negozi e orari – https://brand.test/negozi (1 novembre 2026)",
    }
    assert "parse_mode" not in sent.body  # plain text: nothing shown as raw markup
    assert channels.conversation("telegram:777").json()["channel"] == "telegram"


def test_a_repeated_update_id_is_answered_once(channels: ChannelApp, provider: ProviderStandIn) -> None:
    update = tg_update(20, "Quali sono gli orari?")

    acks = [channels.telegram(update).json() for _ in range(3)]
    provider.wait_accepted(1)  # (sent together, the next message would join the same turn)
    channels.telegram(tg_update(21, "Quali sono i resi?"))
    sent = provider.wait_accepted(2)

    assert [a["stored"] for a in acks] == [1, 0, 0]
    assert [s.text.split("\n")[0] for s in sent] == [
        "Siamo aperti dal lunedì al sabato, 9–19.",
        "Hai 30 giorni per il reso.",
    ]
    assert channels.assistant.calls == 2


def test_flood_control_is_waited_out_for_the_retry_after_telegram_gives(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    provider.fail(1, 429, {"ok": False, "error_code": 429, "description": "Too Many Requests: retry after 1",
                           "parameters": {"retry_after": 1}})

    channels.telegram(tg_update(30, "Quali sono gli orari?"))

    refused, accepted = provider.wait_requests(2)
    assert (refused.status, accepted.status) == (429, 200)
    assert accepted.at - refused.at >= 0.9


def test_a_sticker_gets_the_only_text_reply_in_the_language_telegram_reports(
    channels: ChannelApp, provider: ProviderStandIn
) -> None:
    channels.telegram(tg_update(40, None, language="it", extra={"sticker": {"file_id": "s1", "emoji": "👍"}}))

    sent = provider.wait_accepted(1)[0]
    assert sent.text == "Mi dispiace, leggo solo i messaggi di testo: scrivimi la tua domanda in un messaggio."
    assert channels.conversation("telegram:777").json()["messages"][0]["text"] == "[sticker]"
    assert channels.assistant.calls == 0


def test_a_group_chat_is_never_answered(channels: ChannelApp, provider: ProviderStandIn) -> None:
    group = tg_update(50, "Quali sono gli orari?", chat_id=-100)
    group["message"]["chat"]["type"] = "group"

    ack = channels.telegram(group)
    channels.telegram(tg_update(51, "Quali sono gli orari?"))
    provider.wait_accepted(1)

    assert ack.json()["stored"] == 0
    assert [r.body["chat_id"] for r in provider.requests] == [777]


def test_set_webhook_registers_the_url_with_the_secret_token(provider: ProviderStandIn) -> None:
    env = {
        "SPORTELLO_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SPORTELLO_TELEGRAM_SECRET_TOKEN": TELEGRAM_SECRET,
        "SPORTELLO_TELEGRAM_API_BASE": provider.url,
    }

    result = CliRunner().invoke(
        cli, ["channels", "telegram", "set-webhook", "https://bot.brand.test/channels/telegram/webhook", "--json"],
        env=env,
    )

    assert result.exit_code == 0, result.output
    (call,) = provider.requests
    assert call.path == f"/bot{BOT_TOKEN}/setWebhook"
    assert call.body["url"] == "https://bot.brand.test/channels/telegram/webhook"
    assert call.body["secret_token"] == TELEGRAM_SECRET
    assert call.body["allowed_updates"] == ["message"]


def test_set_webhook_without_a_secret_token_says_what_to_set(provider: ProviderStandIn) -> None:
    env = {"SPORTELLO_TELEGRAM_BOT_TOKEN": BOT_TOKEN, "SPORTELLO_TELEGRAM_SECRET_TOKEN": "",
           "SPORTELLO_TELEGRAM_API_BASE": provider.url}

    result = CliRunner().invoke(cli, ["channels", "telegram", "set-webhook", "https://bot.brand.test/x"], env=env)

    assert result.exit_code == 2
    assert "SPORTELLO_TELEGRAM_SECRET_TOKEN" in result.output
    assert provider.requests == []
