"""The agent on a brand it was never tuned on: an English homeware shop in the UK, in pounds.

Nothing in the agent may assume the demo brand's language, currency, country or vocabulary.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from agent.assistant import Assistant
from agent.conversation import Conversation
from agent.reply import HandoffReason, Reply
from knowledge.index import KnowledgeBase
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest

BRAND = Path(__file__).resolve().parents[1] / "brands" / "homely" / "sources.yaml"
NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/London"))


@pytest.fixture(scope="module")
def homely(tmp_path_factory: pytest.TempPathFactory, embedder) -> Assistant:
    manifest = load_manifest(BRAND)
    data_dir = tmp_path_factory.mktemp("homely")
    sync_manifest(manifest, data_dir=data_dir, embedder=embedder, now=NOW)
    return Assistant(manifest, KnowledgeBase.open(data_dir, embedder=embedder))


def ask(assistant: Assistant, message: str) -> Reply:
    return assistant.respond(Conversation("t"), message, now=NOW).reply


def test_the_shipping_rule_is_applied_in_the_brands_currency(homely: Assistant) -> None:
    reply = ask(homely, "How much is delivery on a £45 order?")
    assert "£4.95" in reply.text
    assert "€" not in reply.text


def test_an_italian_question_is_answered_in_italian_with_the_brands_currency(homely: Assistant) -> None:
    reply = ask(homely, "Quanto costa la consegna per un ordine da 70 sterline?")
    assert reply.language == "it"
    assert "£" in reply.text and "€" not in reply.text


def test_sunday_hours_come_from_the_store_feed(homely: Assistant) -> None:
    reply = ask(homely, "Is the Leeds store open on Sunday?")
    assert "11:00" in reply.text and "16:00" in reply.text
    assert {c.source_id for c in reply.citations} == {"stores"}


def test_holiday_closures_follow_the_brands_country(homely: Assistant) -> None:
    reply = ask(homely, "Are you open on Christmas Day in Leeds?")
    assert "closed" in reply.text


def test_stock_answers_do_not_call_themselves_prices(homely: Assistant) -> None:
    reply = ask(homely, "Is the Crumb toaster in stock?")
    assert "out of stock" in reply.text
    assert "Price as of" not in reply.text


def test_a_product_the_shop_does_not_sell_is_handed_off(homely: Assistant) -> None:
    reply = ask(homely, "Do you sell sofas?")
    assert not reply.grounded
    assert reply.handoff is not None and reply.handoff.reason == HandoffReason.NO_ANSWER


def test_a_question_about_a_product_as_such_is_answered_from_its_row(homely: Assistant) -> None:
    # Without the product's name nothing is left to search for: the product is the topic.
    reply = ask(homely, "Have you got the Crumb toaster?")
    assert reply.grounded and reply.handoff is None
    assert [c.source_id for c in reply.citations] == ["products"]
    assert "out of stock" in reply.text


def test_a_product_row_answers_what_it_speaks_of(homely: Assistant) -> None:
    reply = ask(homely, "Crumb toaster: is it any good for bagels?")
    assert [c.source_id for c in reply.citations] == ["products"]
    assert "bagel" in reply.text


def test_a_usage_question_no_source_answers_is_handed_off_not_given_the_product_row(homely: Assistant) -> None:
    reply = ask(homely, "How do I descale the Crumb toaster?")
    assert not reply.grounded
    assert reply.handoff is not None and reply.handoff.reason == HandoffReason.NO_ANSWER


def test_a_question_after_thanks_is_answered_not_thanked(homely: Assistant) -> None:
    first = homely.respond(Conversation("thanks-then-question"), "Is the Leeds store open on Sunday?", now=NOW)
    reply = homely.respond(first.apply(Conversation("thanks-then-question")), "ok thanks. and do you offer gift wrapping?", now=NOW).reply
    assert "£3" in reply.text
    assert reply.handoff is None


def test_a_new_topic_announced_as_such_does_not_inherit_the_store(homely: Assistant) -> None:
    first = homely.respond(Conversation("new-topic"), "Is the Leeds store open on Sunday?", now=NOW)
    reply = homely.respond(first.apply(Conversation("new-topic")), "thanks. different question: can I pay with Klarna?", now=NOW).reply
    assert "Klarna" in reply.text
    assert "stores" not in {c.source_id for c in reply.citations}
