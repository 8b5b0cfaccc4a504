"""Stage 6, decide: whether the turn goes to a person, the reply the customer reads, and the
conversation update.

A signal (health, injury, danger, legal, anger, a person requested) always hands off, with words
for the customer that fit it. Conversation gets a short friendly reply. An answer that does not
hold hands off as `no_answer` (or `repeated_failure` when the customer asks again what the bot
could not answer); an answer resting only on stale sources is given with its warning and a person
offered. A message in a language the brand does not serve is answered in the brand's language,
saying which languages are served.
"""

from __future__ import annotations

import re
from datetime import datetime

from agent.answers.composition import Composition
from agent.conversation import Conversation, ConversationUpdate, Turn
from agent.phrases import join_names, language_name, phrase
from agent.reply import Handoff, HandoffReason, Reply
from agent.signals.safety import SensitiveSignal
from agent.support_hours import when_a_person_answers
from agent.turn.state import Check, Resources, Understanding
from knowledge.text import fold

__all__ = [
    "act_reply",
    "answer_reply",
    "conversation_update",
    "decide_handoff",
    "handoff_reply",
    "is_repeated_failure",
    "near_duplicate",
    "summarize_for_operator",
]

SUMMARY_MAX_CHARS = 300
_REASON_LABELS: dict[HandoffReason, str] = {
    HandoffReason.HUMAN_REQUESTED: "customer asked for a person",
    HandoffReason.MEDICAL: "medical question",
    HandoffReason.INJURY: "injury reported",
    HandoffReason.LEGAL: "legal matter",
    HandoffReason.SAFETY: "product safety report",
    HandoffReason.COMPLAINT: "angry complaint",
    HandoffReason.NO_ANSWER: "no answer found in the sources",
    HandoffReason.REPEATED_FAILURE: "question repeated after an unanswered reply",
    HandoffReason.STALE_INFORMATION: "sources may be out of date",
    HandoffReason.REQUESTED_EXTERNALLY: "handoff requested by the channel",
    HandoffReason.INTERNAL_ERROR: "the assistant failed on this message",
}


# --- replies -----------------------------------------------------------------------------------
def act_reply(res: Resources, u: Understanding) -> Reply:
    """Conversation, answered as such: no retrieval, no citation, no handoff."""
    act = u.act or "acknowledgement"
    text = _languages_note(res, u, phrase(u.language, f"act.{act}", brand=res.manifest.brand), only=True)
    return Reply(text=text, language=u.language, grounded=False)


def handoff_reply(
    res: Resources,
    conversation: Conversation,
    u: Understanding,
    now: datetime,
    reason: HandoffReason,
    *,
    topic: str | None = None,
    trigger: str | None = None,
    evidence: list[str] | None = None,
) -> Reply:
    lang = u.language
    handoff = Handoff(
        reason,
        summarize_for_operator(conversation, u.message, reason, lang, detected=u.detected, trigger=trigger),
        lang,
        [*(evidence or []), *([f"matched: {trigger}"] if trigger else [])],
    )
    lead = phrase(lang, f"handoff.{topic}") if topic and topic != str(reason) and _has(lang, f"handoff.{topic}") \
        else phrase(lang, f"handoff.{reason}")
    text = f"{lead} {availability(res, lang, now)}".strip()
    return Reply(text=_languages_note(res, u, text, only=True), language=lang, grounded=False, handoff=handoff)


def signal_reply(res: Resources, conversation: Conversation, u: Understanding, now: datetime,
                 signal: SensitiveSignal) -> Reply:
    return handoff_reply(res, conversation, u, now, signal.reason, topic=signal.topic, trigger=signal.matched)


def answer_reply(
    res: Resources, conversation: Conversation, u: Understanding, now: datetime, comp: Composition, checked: Check,
    evidence: list[str],
) -> Reply:
    lang = u.language
    decided = decide_handoff(signal=None, grounded=checked.grounded, conversation=conversation, message=u.message,
                             lang=lang, evidence=evidence, detected=u.detected)
    if decided is not None and not checked.grounded:
        return handoff_reply(res, conversation, u, now, decided.reason, evidence=evidence)
    handoff = decided  # grounded, yet the customer repeats a question the bot failed: a person looks
    text = comp.text
    if handoff is not None:
        text = f"{text}\n\n{phrase(lang, 'handoff_offer')} {availability(res, lang, now)}".strip()
    elif comp.needs_human:
        reason = HandoffReason.STALE_INFORMATION
        handoff = Handoff(
            reason,
            summarize_for_operator(conversation, u.message, reason, lang, detected=u.detected),
            lang,
            evidence,
        )
        text = f"{text}\n\n{phrase(lang, 'handoff_offer')} {availability(res, lang, now)}".strip()
    return Reply(
        text=_languages_note(res, u, text),
        language=lang,
        grounded=True,
        citations=comp.citations,
        warnings=comp.warnings,
        handoff=handoff,
    )


def _has(lang: str, key: str) -> bool:
    try:
        phrase(lang, key)
    except KeyError:
        return False
    return True


def _languages_note(res: Resources, u: Understanding, text: str, *, only: bool = False) -> str:
    """In a language the brand does not serve: say which ones it serves, in the brand's language."""
    if u.served:
        return text
    names = join_names([language_name(code, u.language) for code in res.served_languages], u.language)
    key = "languages_served_only" if only else "languages_served"
    return f"{phrase(u.language, key, languages=names)} {text}".strip()


def availability(res: Resources, lang: str, now: datetime) -> str:
    """When a person will answer (never fails a turn)."""
    return when_a_person_answers(res.manifest, lang, now)


def conversation_update(conversation: Conversation, u: Understanding, reply: Reply, now: datetime) -> ConversationUpdate:
    intent = u.intent.name if u.act is None else f"act:{u.act}"
    focus = dict(conversation.focus)
    focus["language"] = reply.language
    if u.subject.store_key:
        focus["store"] = u.subject.store_key
    elif not u.follow_up and u.act is None:
        focus.pop("store", None)  # a new topic of its own: the store in focus no longer applies
    if u.subject.product_key:
        focus["product"] = u.subject.product_key
    elif not u.follow_up and u.act is None:
        focus.pop("product", None)
    turns = (
        Turn("customer", u.message, now, intent=intent),
        Turn("bot", reply.text, now, grounded=reply.grounded, intent=intent),
    )
    holds = reply.handoff is not None and reply.handoff.reason.holds
    return ConversationUpdate(turns, focus, str(reply.handoff.reason) if holds and reply.handoff else conversation.held_by)


def held_reply(res: Resources, conversation: Conversation, u: Understanding, now: datetime, reason: HandoffReason) -> Reply:
    """A message while a person holds the conversation: it goes to them, the bot does not answer it."""
    reply = handoff_reply(res, conversation, u, now, reason)
    text = f"{phrase(u.language, 'handoff.waiting')} {availability(res, u.language, now)}".strip()
    return Reply(text, reply.language, False, handoff=reply.handoff)


# --- handoff helpers ---------------------------------------------------------------------------
def decide_handoff(
    *,
    signal: SensitiveSignal | None,
    grounded: bool,
    conversation: Conversation,
    message: str,
    lang: str,
    evidence: list[str],
    detected: str | None = None,
) -> Handoff | None:
    """Whether this turn goes to a person, and what the operator needs to pick it up.

    A signal always wins. A question asked again after the bot could not answer it is a
    REPEATED_FAILURE (more telling for the operator than NO_ANSWER, so it is checked first); an
    ungrounded answer is NO_ANSWER.
    """
    if signal is not None:
        reason = signal.reason
    elif is_repeated_failure(conversation, message):
        reason = HandoffReason.REPEATED_FAILURE
    elif not grounded:
        reason = HandoffReason.NO_ANSWER
    else:
        return None
    trigger = signal.matched if signal else None
    summary = summarize_for_operator(conversation, message, reason, lang, detected=detected, trigger=trigger)
    return Handoff(reason=reason, summary=summary, language=lang, evidence=list(evidence))


def is_repeated_failure(conversation: Conversation, message: str) -> bool:
    """The customer asks again what the bot just failed to answer.

    `conversation` may or may not already hold `message` as its last turn: both are accepted.
    """
    turns = _history_before(conversation, message)
    last_customer = next((i for i in range(len(turns) - 1, -1, -1) if turns[i].role == "customer"), None)
    if last_customer is None:
        return False
    bot_after = [t for t in turns[last_customer + 1 :] if t.role == "bot"]
    if not bot_after or bot_after[-1].grounded is not False:
        return False
    return near_duplicate(turns[last_customer].text, message)


def _history_before(conversation: Conversation, message: str) -> list[Turn]:
    turns = list(conversation.turns)
    if turns and turns[-1].role == "customer" and _tokens(turns[-1].text) == _tokens(message):
        turns.pop()
    return turns


def near_duplicate(a: str, b: str, *, threshold: float = 0.5) -> bool:
    """Same question in other words: token Jaccard >= threshold, or one contains the other."""
    ta, tb = _tokens(a), _tokens(b)
    if not ta or not tb:
        return False
    set_a, set_b = set(ta), set(tb)
    if len(set_a & set_b) / len(set_a | set_b) >= threshold:
        return True
    shorter, longer = sorted((ta, tb), key=len)
    # Containment of a single word ("ciao" in "ciao, dove siete?") says nothing.
    return len(shorter) >= 2 and f" {' '.join(shorter)} " in f" {' '.join(longer)} "


def _tokens(text: str) -> list[str]:
    return re.findall(r"\w+", fold(text))


def summarize_for_operator(
    conversation: Conversation,
    message: str,
    reason: HandoffReason,
    lang: str,
    *,
    detected: str | None = None,
    trigger: str | None = None,
) -> str:
    """Two lines for the operator: why, in which language, and what the customer asked (≤ 300 chars)."""
    language = language_name(detected or lang, "en")
    head = f"{_REASON_LABELS.get(reason, str(reason))} · customer writes in {language}"
    if trigger and trigger.strip() != message.strip():
        head += f' · trigger: "{_shorten(trigger, 40)}"'
    focus = {k: v for k, v in conversation.focus.items() if k != "language"}
    if focus:
        head += " · about " + ", ".join(focus.values())
    head = _shorten(head, 160)
    asked = _shorten(message, SUMMARY_MAX_CHARS - len(head) - len('\nCustomer: ""'))
    return f'{head}\nCustomer: "{asked}"'


def _shorten(text: str, limit: int) -> str:
    flat = " ".join(text.split())
    if len(flat) <= limit:
        return flat
    return flat[: max(limit - 1, 0)].rstrip() + "…"
