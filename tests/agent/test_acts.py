"""Dialogue acts around a question: what is conversation and what is left to answer."""

from __future__ import annotations

import pytest

from agent.signals.acts import read_act, split_message


@pytest.mark.parametrize(
    ("message", "question"),
    [
        ("ok thanks. and what's your return policy?", "and what's your return policy"),
        ("ok grazie. altra cosa: se perdo la sim cosa devo fare?", "se perdo la sim cosa devo fare"),
        ("thanks. different question: can I pay by card?", "can I pay by card"),
    ],
)
def test_thanks_and_acknowledgements_before_a_question_leave_the_question(message: str, question: str) -> None:
    assert split_message(message).question == question


def test_an_acknowledgement_word_that_starts_a_question_stays_in_it() -> None:
    assert split_message("great deals this week?").question == "great deals this week"


@pytest.mark.parametrize("message", ["ok thanks. different question: do you deliver?", "altra cosa: fate consegne?"])
def test_an_explicit_change_of_topic_is_marked(message: str) -> None:
    assert "new_topic" in split_message(message).acts


@pytest.mark.parametrize("message", ["and what days?", "e quindi?"])
def test_a_plain_worded_question_is_still_a_question(message: str) -> None:
    parts = split_message(message)
    assert parts.question
    assert read_act(message, parts, None, answered_well=False) is None


@pytest.mark.parametrize(("message", "act"), [("va bene, ciao e buona giornata", "goodbye"), ("ok?", "acknowledgement")])
def test_a_message_of_conversation_words_only_is_an_act(message: str, act: str) -> None:
    parts = split_message(message)
    assert parts.question == ""
    assert read_act(message, parts, None, answered_well=False) == act
