"""How a reply reads on a phone: plain text, short source lines, parts under the channel's limit."""

from __future__ import annotations

from api.channels import CHANNELS
from api.channels.formatting import plain_text, reply_messages, split_message


def test_markdown_a_phone_would_show_raw_is_written_out() -> None:
    text = "## Orari\n**Torino**: aperto, vedi [la pagina](https://brand.test/torino).\n* lunedì\n* martedì"

    assert plain_text(text) == "Orari\nTorino: aperto, vedi la pagina (https://brand.test/torino).\n- lunedì\n- martedì"


def test_sources_are_short_lines_in_the_replys_language_with_their_date() -> None:
    reply = {
        "text": "We are open.",
        "language": "en",
        "citations": [
            {"title": "Stores", "url": "https://brand.test/stores", "updated_at": "2026-11-01T00:00:00Z"},
            {"title": "Stores", "url": "https://brand.test/stores", "updated_at": "2026-11-01T00:00:00Z"},
            {"title": "FAQ", "url": None, "updated_at": None},
        ],
    }

    assert reply_messages(reply, 4096) == [
        "We are open.\n\nSource: Stores – https://brand.test/stores (1 November 2026)\nSource: FAQ"
    ]


def test_a_long_text_is_split_between_sentences_and_every_part_fits() -> None:
    sentence = "Questa frase è lunga quanto basta per riempire il messaggio. "
    text = (sentence * 100).strip()

    parts = split_message(text, 500)

    assert all(len(p) <= 500 for p in parts)
    assert all(p.endswith("messaggio.") for p in parts)
    assert " ".join(parts) == text


def test_a_sentence_longer_than_the_limit_breaks_between_words() -> None:
    parts = split_message("parola " * 30, 50)

    assert all(len(p) <= 50 for p in parts)
    assert " ".join(parts).split() == ["parola"] * 30


def test_each_channel_is_registered_once_under_its_name_with_its_webhook() -> None:
    assert CHANNELS.names() == ["whatsapp", "telegram", "chatwoot"]
    for channel in CHANNELS:
        assert any(getattr(r, "path", "") == f"/channels/{channel.name}/webhook" for r in channel.router.routes)
