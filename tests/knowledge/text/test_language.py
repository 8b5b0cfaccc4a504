from __future__ import annotations

import pytest

from knowledge.text import SUPPORTED_LANGUAGES, detect_language, warm_up


@pytest.mark.parametrize(
    "text",
    [
        "Quanto costa il casco integrale?",
        "Avete la bici da corsa in taglia 54?",
        "Vorrei restituire la bici che ho comprato la settimana scorsa",
        "Orari del negozio di Padova",
    ],
)
def test_an_italian_sentence_is_italian(text: str) -> None:
    assert detect_language(text, default="en") == "it"


@pytest.mark.parametrize(
    "text",
    [
        "How much is the full-face helmet?",
        "Do you have the road bike in size 54?",
        "I'd like to return the bike I bought last week",
        "Opening hours of the Padova store",
    ],
)
def test_an_english_sentence_is_english(text: str) -> None:
    assert detect_language(text, default="it") == "en"


@pytest.mark.parametrize("text", ["ciao", "ok", "grazie", "hi", "?", "ok grazie", "thanks!", "👍", "123"])
def test_a_short_message_keeps_the_conversation_language(text: str) -> None:
    assert detect_language(text, previous="en") == "en"
    assert detect_language(text, previous="it", default="en") == "it"


@pytest.mark.parametrize("text", ["ciao", "ok", "?", "", "   ", "42"])
def test_an_ambiguous_first_message_uses_the_default(text: str) -> None:
    assert detect_language(text, default="it") == "it"
    assert detect_language(text, default="en") == "en"


@pytest.mark.parametrize(
    ("text", "expected"), [("hi", "en"), ("hello", "en"), ("grazie", "it"), ("buongiorno", "it")]
)
def test_a_first_greeting_sets_the_language_it_obviously_belongs_to(text: str, expected: str) -> None:
    assert detect_language(text, default="it" if expected == "en" else "en") == expected


def test_a_full_sentence_in_the_other_language_switches_the_conversation() -> None:
    assert detect_language("Sorry, could you answer in English please?", previous="it") == "en"


def test_a_product_name_alone_does_not_switch_an_italian_conversation() -> None:
    assert detect_language("Trek Fuel EX 8", previous="it") == "it"


def test_an_unrecognised_previous_language_falls_back_to_the_default() -> None:
    assert detect_language("ok", previous="ja", default="it") == "it"


def test_a_message_in_a_language_the_brand_does_not_serve_is_recognised_as_such() -> None:
    message = "Bonjour, est-ce que vous livrez aussi en Belgique et combien de temps faut-il compter ?"
    assert detect_language(message, default="it", expected=("it", "en")) == "fr"


def test_the_answer_is_always_a_supported_language_or_the_default() -> None:
    for text in ["Bonjour, avez-vous des vélos?", "Hola, ¿tenéis bicicletas?", "Guten Tag"]:
        assert detect_language(text, default="it") in SUPPORTED_LANGUAGES


def test_warm_up_builds_the_detector_once() -> None:
    warm_up()
    warm_up()
    assert detect_language("Dove si trova il negozio?") == "it"


@pytest.mark.parametrize(
    "text",
    [
        "Is the Bologna store open on Sundays?",
        "is there a ferry from Piombino to Rio Marina this Sunday?",
        "how much is one adult Civitavecchia to Olbia? no cabin",
        "Can I buy the Meridia X12 Mini now?",
    ],
)
def test_italian_place_and_product_names_do_not_make_an_english_question_italian(text: str) -> None:
    assert detect_language(text, default="it", expected=("it", "en")) == "en"


def test_an_english_product_name_does_not_make_an_italian_question_english() -> None:
    assert detect_language("il Christmas Feast Box 2026 si può già ordinare?", default="en") == "it"


def test_names_the_caller_knows_are_not_read_as_language() -> None:
    # "power bank" is a product of the brand: without it, what is left is plainly Italian.
    text = "avete il power bank da 10000?"
    assert detect_language(text, default="en", expected=("en", "it"), names={"power", "bank"}) == "it"


def test_a_first_message_clearly_ahead_in_one_served_language_sets_it() -> None:
    # lingua gives English under 0.5 here (the rest spread over other languages), Italian far less.
    assert detect_language("hello there", default="it", expected=("it", "en")) == "en"
    assert detect_language("ok cool", default="it", expected=("it", "en")) == "en"
