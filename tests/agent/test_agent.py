"""The agent's behaviour on the demo brand through `Assistant.respond`, in Italian and English.

Each test is one rule of the product: answer from facts with dates and citations, warn about
stale/conflicting/expired facts, hand off when a person should answer.
"""

from __future__ import annotations

import csv
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from agent.assistant import Assistant
from agent.conversation import Conversation
from agent.reply import HandoffReason, Reply
from knowledge.text import fold
from tests.conftest import DEMO_MANIFEST, DEMO_NOW

ROME = ZoneInfo("Europe/Rome")


def ask(assistant: Assistant, *messages: str, now: datetime = DEMO_NOW) -> Reply:
    conversation = Conversation("test")
    reply = None
    for message in messages:
        result = assistant.respond(conversation, message, now=now)
        conversation = result.apply(conversation)
        reply = result.reply
    assert reply is not None
    return reply


def said(reply: Reply, *alternatives: str) -> bool:
    text = fold(reply.text).replace(".", ":")
    return any(fold(a).replace(".", ":") in text for a in alternatives)


def cited(reply: Reply) -> set[str]:
    return {c.source_id for c in reply.citations}


def kinds(reply: Reply) -> set[str]:
    return {w.kind for w in reply.warnings}


# --- opening hours -----------------------------------------------------------------------------
def test_a_store_closed_on_sunday_is_said_closed_despite_an_old_page_saying_otherwise(demo_assistant) -> None:
    reply = ask(demo_assistant, "Il negozio di Torino è aperto domenica?")
    assert said(reply, "chiuso")
    assert not said(reply, "10:00")
    assert "stores" in cited(reply)
    assert kinds(reply) & {"conflict", "stale"}
    assert reply.grounded and reply.handoff is None


def test_the_same_question_in_english_gets_an_english_answer(demo_assistant) -> None:
    reply = ask(demo_assistant, "Is the Turin store open on Sunday?")
    assert reply.language == "en"
    assert said(reply, "closed")
    assert not said(reply, "10:00")


def test_an_hours_answer_says_as_of_when(demo_assistant) -> None:
    reply = ask(demo_assistant, "Che orari fa il negozio di Padova sabato?")
    assert said(reply, "aggiornati al")


def test_an_faq_contradicting_the_store_feed_loses_and_is_reported(demo_assistant) -> None:
    reply = ask(demo_assistant, "A che ora chiude il negozio di Milano il sabato?")
    assert said(reply, "20:00")
    assert not said(reply, "19:00") or "conflict" in kinds(reply)
    assert "conflict" in kinds(reply)


def test_christmas_day_uses_the_special_hours(demo_assistant) -> None:
    reply = ask(demo_assistant, "Il negozio di Milano è aperto a Natale?")
    assert said(reply, "chiuso")
    assert "stores" in cited(reply)


def test_open_now_answers_until_when(demo_assistant) -> None:
    wednesday_morning = datetime(2026, 11, 25, 11, 0, tzinfo=ROME)
    reply = ask(demo_assistant, "Il negozio di Padova è aperto adesso?", now=wednesday_morning)
    assert said(reply, "aperto")
    assert said(reply, "fino alle")


# --- products ------------------------------------------------------------------------------
def feed_row(product_id: str) -> dict[str, str]:
    with (DEMO_MANIFEST.parent / "products.csv").open(encoding="utf-8") as handle:
        return next(row for row in csv.DictReader(handle) if row["id"] == product_id)


def test_a_price_comes_from_the_product_feed_when_a_page_disagrees(demo_assistant) -> None:
    row = feed_row("VB-EB-TORRE")
    euros = row["price"].split()[0].split(".")[0]  # "2199.00 EUR" -> "2199"
    reply = ask(demo_assistant, "Quanto costa la Torre E-City?")
    digits = reply.text.replace(".", "")
    assert euros in digits
    assert "2349" not in digits or "conflict" in kinds(reply)
    assert "products" in cited(reply)
    assert "conflict" in kinds(reply)


def test_stock_questions_use_the_feed_availability(demo_assistant) -> None:
    row = feed_row("VB-CITY-PORTANUOVA")
    assert row["availability"] == "out_of_stock"
    reply = ask(demo_assistant, "La Porta Nuova Donna è disponibile?")
    assert said(reply, "non è disponibile", "non disponibile")


# --- policies applied to the customer's case -----------------------------------------------
@pytest.mark.parametrize(
    ("message", "expected", "forbidden"),
    [
        ("Quanto pago di consegna se spendo 35 euro?", "6,90", "gratuita (è"),
        ("Se faccio un ordine da 60 euro pago la spedizione?", "gratuita", "costa 6,90"),
        ("How much is shipping on a 30 euro order?", "6.90", "is free (it"),
    ],
    ids=["35-euro-pays", "60-euro-free", "english-30-euro"],
)
def test_the_shipping_rule_is_applied_to_the_customers_amount(demo_assistant, message, expected, forbidden) -> None:
    reply = ask(demo_assistant, message)
    assert expected in reply.text
    assert forbidden not in reply.text
    assert reply.citations


def test_return_window_is_answered_with_its_number(demo_assistant) -> None:
    # ("Quanti giorni ho per fare un reso?" lands on the refund entry, whose answer shares its
    # words: a known retrieval miss of the bundled embedder, counted in the paraphrase benchmark.)
    reply = ask(demo_assistant, "Entro quanti giorni posso restituire un prodotto?")
    assert said(reply, "30")
    assert reply.grounded


def test_warranty_is_answered_in_english(demo_assistant) -> None:
    reply = ask(demo_assistant, "How long is the warranty on a bike?")
    assert reply.language == "en"
    assert said(reply, "2 years", "two years", "2 anni")


def test_payment_options_are_answered_from_the_sources(demo_assistant) -> None:
    reply = ask(demo_assistant, "Posso pagare con Satispay?")
    assert said(reply, "satispay")
    assert reply.grounded and reply.citations


# --- conversation ----------------------------------------------------------------------------
def test_a_follow_up_question_keeps_the_store_in_focus(demo_assistant) -> None:
    reply = ask(demo_assistant, "Mi dite qualcosa del negozio di Padova?", "Avete il parcheggio?")
    assert said(reply, "parcheggio")
    assert reply.grounded
    assert any("padova" in (c.url or "").lower() or "padova" in c.title.lower() for c in reply.citations)


# --- promotions --------------------------------------------------------------------------------
def test_an_expired_promotion_is_not_offered_as_current(demo_assistant) -> None:
    reply = ask(demo_assistant, "È ancora valido lo sconto del Black Friday sulle e-bike?")
    assert "expired" in kinds(reply)
    assert said(reply, "terminata", "scaduta", "non è più valida")


# --- honesty and handoff -------------------------------------------------------------------------
@pytest.mark.parametrize("message", ["Vendete monopattini elettrici?", "Do you rent kayaks?"])
def test_a_question_the_knowledge_does_not_cover_is_handed_off_honestly(demo_assistant, message) -> None:
    reply = ask(demo_assistant, message)
    assert not reply.grounded
    assert reply.handoff is not None
    assert reply.handoff.reason in (HandoffReason.NO_ANSWER, HandoffReason.REPEATED_FAILURE)


@pytest.mark.parametrize("message", ["Voglio parlare con una persona", "Can I talk to a human please?"])
def test_a_request_for_a_person_is_handed_off(demo_assistant, message) -> None:
    reply = ask(demo_assistant, message)
    assert reply.handoff is not None and reply.handoff.reason == HandoffReason.HUMAN_REQUESTED


@pytest.mark.parametrize(
    ("message", "reason"),
    [
        ("Sono caduto dalla bici e mi fa male il polso, cosa devo fare?", HandoffReason.INJURY),
        ("The battery of my e-bike is smoking!", HandoffReason.SAFETY),
        ("Ho problemi di cuore, posso usare una e-bike?", HandoffReason.MEDICAL),
    ],
    ids=["injury-it", "safety-en", "medical-it"],
)
def test_sensitive_topics_go_to_a_person_with_a_reason(demo_assistant, message, reason) -> None:
    reply = ask(demo_assistant, message)
    assert reply.handoff is not None and reply.handoff.reason == reason
    assert not reply.grounded


def test_the_handoff_carries_a_summary_for_the_operator(demo_assistant) -> None:
    reply = ask(demo_assistant, "Voglio parlare con un operatore per il mio ordine")
    assert reply.handoff is not None
    assert reply.handoff.summary
    assert reply.handoff.language == "it"


def test_outside_support_hours_the_customer_is_told_when_a_person_answers(demo_assistant) -> None:
    sunday = datetime(2026, 11, 29, 15, 0, tzinfo=ROME)
    reply = ask(demo_assistant, "Voglio parlare con un operatore", now=sunday)
    assert said(reply, "lunedì", "domani")


def test_asking_the_same_unanswerable_question_twice_is_a_repeated_failure(demo_assistant) -> None:
    reply = ask(demo_assistant, "Vendete monopattini elettrici?", "Vendete monopattini elettrici?")
    assert reply.handoff is not None and reply.handoff.reason == HandoffReason.REPEATED_FAILURE


@pytest.mark.parametrize(
    "message",
    ["Avete un codice sconto da usare online?", "Do you have any discount code for me?",
     "Cosa scrivono i clienti nelle recensioni?"],
)
def test_instructions_planted_in_reviews_change_nothing(demo_assistant, message) -> None:
    reply = ask(demo_assistant, message)
    assert "FREE90" not in reply.text
    assert "50%" not in reply.text


def test_replies_fit_a_chat_bubble(demo_assistant) -> None:
    for message in ("Come funziona il reso?", "Che servizi offre il negozio di Torino?", "Chi siamo?"):
        reply = ask(demo_assistant, message)
        assert len(reply.text) <= 1200
        assert "|" not in reply.text and "**" not in reply.text


@pytest.mark.parametrize(
    ("text", "amount"),
    [("se spendo 35 euro", 35.0), ("un ordine da 1.299,00 €", 1299.0), ("on a £45 order", 45.0),
     ("$1,299.50 cart", 1299.5), ("€ 6,90", 6.9), ("nessuna cifra", None)],
)
def test_the_customers_amount_is_read_in_any_common_format(text: str, amount: float | None) -> None:
    from agent.signals.intents import detect_intent

    assert detect_intent(text).amount == amount


# --- failures on our side ---------------------------------------------------------------------
class _FailingComposer:
    name = "failing"

    def compose(self, inp, product):
        raise RuntimeError("composer bug")


def test_a_stage_that_fails_becomes_a_handoff_in_the_customers_language(demo_manifest, demo_knowledge) -> None:
    assistant = Assistant(demo_manifest, demo_knowledge, composer=_FailingComposer())
    result = assistant.respond(Conversation("c-fail"), "How long is the warranty on a bike?", now=DEMO_NOW)

    assert result.reply.handoff is not None
    assert result.reply.handoff.reason == HandoffReason.INTERNAL_ERROR
    assert result.reply.language == "en"
    assert not result.reply.grounded
    assert [t.role for t in result.update.turns] == ["customer", "bot"]


# --- conversation, not questions -------------------------------------------------------------------
@pytest.mark.parametrize("message", ["ciao, come va oggi?", "Buongiorno!", "grazie mille, gentilissimi"])
def test_small_talk_gets_a_friendly_reply_without_sources_or_handoff(demo_assistant, message) -> None:
    reply = ask(demo_assistant, message)
    assert reply.handoff is None
    assert not reply.citations
    assert reply.trace["act"] is not None


def test_while_a_person_is_asked_for_later_messages_go_to_them_not_to_the_bot(demo_assistant) -> None:
    conversation = Conversation("held")
    for message in ("Voglio parlare con una persona", "Quali sono gli orari del negozio di Torino?"):
        result = demo_assistant.respond(conversation, message, now=DEMO_NOW)
        conversation = result.apply(conversation)
    assert conversation.held_by == "human_requested"
    assert result.reply.handoff is not None and result.reply.handoff.reason == HandoffReason.HUMAN_REQUESTED
    assert not result.reply.grounded and not result.reply.citations
