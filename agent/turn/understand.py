"""Stage 1, understand: what the message is before anything is looked up.

Its language (and whether the brand serves it), the question inside it (greetings and thanks
removed), whether it is only conversation, a signal a person must answer, what it asks about,
which store or product it names, and whether it leans on the previous question. One query
embedding is made here and reused by every later stage.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import numpy as np

from agent.catalog_match import ProductRef
from agent.conversation import Conversation
from agent.signals.acts import read_act, split_message
from agent.signals.intents import Intent, detect_intent
from agent.signals.safety import classify_message
from agent.turn.state import Resources, Subject, Understanding
from knowledge.facts import StoreRef, find_stores
from knowledge.text import base_language, detect_language, words

__all__ = ["understand"]

# A follow-up is short: a long message carries its own question.
FOLLOW_UP_MAX_WORDS = 12


def understand(conversation: Conversation, message: str, now: datetime, res: Resources) -> Understanding:
    served = res.served_languages
    default = served[0]
    previous_language = conversation.focus.get("language")
    parts = split_message(message)
    question = parts.question
    asked = question or message
    stores = list(res.knowledge_state(now).stores)
    # What the message names, found once: its words are not read as language, and it is the subject.
    named_stores = find_stores(asked, stores)
    named_product = res.products.find(asked)
    detected = detect_language(message, default=default, previous=previous_language, expected=served,
                               names=_names(named_stores, named_product, res))
    is_served = base_language(detected) in served
    language = detected if is_served else default

    vector = None
    vote = None
    strength = 0.0
    if question:
        vector = res.kb.query_vector(question)
        vote = res.exemplars.vote(vector)
        strength = _strength(res, vector, question)
    # Closer to this knowledge base than any unrelated question came: the brand answers this.
    answered_well = strength >= res.calibration.top
    act = read_act(message, parts, vote, answered_well=answered_well)
    signal = classify_message(message, detected, vote, answered_well=answered_well, brand_terms=_brand_terms(res))

    intent = detect_intent(asked)
    subject, product = _subject(asked, conversation, stores, named_stores, named_product, res)
    previous = conversation.customer_turns()[-1] if conversation.customer_turns() else None
    follow_up = (
        act is None
        and previous is not None
        and "new_topic" not in parts.acts
        and _leans_on_previous(asked, intent, subject, product, answered_well)
    )
    context = None
    if follow_up and previous is not None:
        context = previous.text
        if intent.name == "general" and previous.intent and previous.intent != "general":
            # "E quello di Milano il sabato?" continues the previous question's topic.
            intent = Intent(previous.intent, intent.scores, intent.amount)
    else:
        subject = _without_focus(subject)
    query = _query(asked, subject, context)
    if query != asked and question:
        vector = res.kb.query_vector(query)
    return Understanding(
        message=message,
        question=question,
        language=language,
        detected=detected,
        served=is_served,
        act=act if signal is None else None,
        signal=signal,
        intent=intent,
        subject=subject,
        product=product if (product is not None and (not subject.product_from_focus or follow_up)) else None,
        follow_up=follow_up,
        context=context,
        query=query if question else "",
        vector=vector,
        vote=vote,
        strength=strength,
    )


def reconsider(u: Understanding, res: Resources) -> Understanding:
    """The message read again once the knowledge base proved not to answer it (the check refused
    every candidate): what looked like a question the brand answers ("ciao, come va oggi?" close
    to an FAQ entry) is judged by the rules for messages it does not answer, so small talk gets a
    friendly reply and a message whose meaning is sensitive goes to a person, not to `no_answer`."""
    if u.act is not None or u.signal is not None or u.vote is None:
        return u
    signal = classify_message(u.message, u.detected, u.vote, answered_well=False, brand_terms=_brand_terms(res))
    if signal is not None:
        return replace(u, signal=signal)
    act = read_act(u.message, split_message(u.message), u.vote, answered_well=False)
    return replace(u, act=act) if act is not None else u


def _brand_terms(res: Resources) -> dict[str, list[str]]:
    return {str(family): terms for family, terms in res.manifest.sensitive.items()}


def _strength(res: Resources, vector: np.ndarray, question: str) -> float:
    scores = res.kb.dense_scores(vector)
    if scores is not None:
        return scores[0][1] if scores else 0.0
    # The question's words find the passage while the vector index does not answer (lexical-only).
    top = res.kb.search_vector(vector, k=1, query=question)
    return top[0].dense_score or 0.0 if top else 0.0


# Intents that are a topic by themselves ("what is your return policy?"); hours, price and stock
# need a subject (a store, a product), so "what time on Saturday?" or "and how much is it?" lean
# on the previous turn's subject.
TOPIC_INTENTS = frozenset({"returns", "shipping", "warranty", "payment", "promotion", "services", "store_info"})
SUBJECT_INTENTS = frozenset({"hours", "price", "availability"})


def _leans_on_previous(
    text: str, intent: Intent, subject: Subject, product: ProductRef | None, answered_well: bool
) -> bool:
    """A follow-up has no topic of its own. "E quello di Milano?" names a store but asks nothing of
    its own; "what time on Saturday?" asks for hours with no store; a short question that the
    knowledge base does not answer on its own leans on the one before."""
    if len(text.split()) > FOLLOW_UP_MAX_WORDS or intent.name in TOPIC_INTENTS:
        return False
    own_subject = (subject.store_key and not subject.store_from_focus) or (
        subject.product_key and not subject.product_from_focus
    )
    if own_subject:
        return intent.name == "general"
    if intent.name in SUBJECT_INTENTS:
        return True
    return not answered_well


def _subject(
    message: str,
    conversation: Conversation,
    stores: list[StoreRef],
    named: list[StoreRef],
    named_product: ProductRef | None,
    res: Resources,
) -> tuple[Subject, ProductRef | None]:
    short = len(message.split()) <= FOLLOW_UP_MAX_WORDS
    store_key = store_label = None
    from_focus = False
    if len(named) == 1:
        store_key, store_label = named[0].key, _store_label(named[0])
    elif not named and short and conversation.focus.get("store"):
        match = [s for s in stores if s.key == conversation.focus["store"]]
        if match:
            store_key, store_label, from_focus = match[0].key, _store_label(match[0]), True
    product = named_product
    product_from_focus = False
    if product is None and short and conversation.focus.get("product") and not named:
        product = next((p for p in res.products.products if p.key == conversation.focus["product"]), None)
        product_from_focus = product is not None
    subject = Subject(
        store_key, store_label, from_focus, product.key if product else None, product.title if product else None,
        product_from_focus,
    )
    return subject, product


def _names(stores: list[StoreRef], product: ProductRef | None, res: Resources) -> frozenset[str]:
    """The words of the product and stores the message names, and of the brand's store names: they
    name things in whatever language the brand chose, not the customer's."""
    named: set[str] = set(res.store_words)
    if product is not None:
        named |= product.tokens
    for store in stores:
        named.update(words(" ".join([store.name, store.city or "", *store.aliases])))
    return frozenset(named)


def _without_focus(subject: Subject) -> Subject:
    """A message with a topic of its own does not inherit the conversation's store or product."""
    return Subject(
        None if subject.store_from_focus else subject.store_key,
        None if subject.store_from_focus else subject.store_label,
        False,
        None if subject.product_from_focus else subject.product_key,
        None if subject.product_from_focus else subject.product_title,
        False,
    )


def _query(message: str, subject: Subject, context: str | None) -> str:
    extra = [context] if context else []
    if subject.store_from_focus and subject.store_label:
        extra.append(subject.store_label)
    if subject.product_from_focus and subject.product_title:
        extra.append(subject.product_title)
    return " ".join([message, *extra])


def _store_label(store: StoreRef) -> str:
    return f"{store.name} {store.city or ''}".strip()
