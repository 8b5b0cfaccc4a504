"""Dialogue acts: greetings, thanks, goodbyes, acknowledgements and small talk are conversation,
not questions. They get a short friendly reply: no retrieval, no citation, no handoff.

A message is split into the words that open or close it ("Ciao,", "grazie mille!") and what is
left: the question. When nothing is left, the opening or closing words say which act it is;
"Ciao, a che ora aprite sabato?" keeps its question and is answered. Short messages with no
opening words are read by meaning (their nearest example sentences), and only when the knowledge
base does not answer them well: "come va?" is small talk, "come va la consegna?" a question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from agent.phrases import lexicons
from agent.signals.exemplars import ExemplarVote
from knowledge.text import content_words, fold

__all__ = ["ACTS", "MessageParts", "read_act", "split_message"]

# Which act a message made only of such words is, when it has several ("grazie, ciao!" is a goodbye).
ACTS = ("goodbye", "thanks", "greeting", "small_talk", "acknowledgement")
# Words stripped from around a question. Small talk ("come va?") is an act only as a whole message:
# "come va la consegna?" asks about deliveries.
# `new_topic` ("altra cosa:", "different question,") also tells the turn not to lean on the previous one.
_WRAPPERS = ("goodbye", "thanks", "greeting", "acknowledgement", "filler", "new_topic")
_SHORT = 8  # words: longer messages are questions, whatever their nearest examples are
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?", re.UNICODE)
_GAP = re.compile(r"[\s\W_]*", re.UNICODE)  # punctuation, spaces, emoji between wrappers


@dataclass(frozen=True)
class MessageParts:
    question: str  # what is left once opening and closing words are removed ("" when nothing is)
    acts: tuple[str, ...]  # the acts of the words removed, in order


@cache
def _small_talk() -> frozenset[str]:
    return frozenset(
        " ".join(fold(phrase).split()) for table in lexicons("acts").values() for phrase in table.get("small_talk") or ()
    )


@cache
def _phrases() -> tuple[tuple[str, str], ...]:
    """(folded phrase, act), longest first, in every language."""
    pairs: set[tuple[str, str]] = set()
    for table in lexicons("acts").values():
        for act in _WRAPPERS:
            for phrase in table.get(act) or ():
                pairs.add((" ".join(fold(phrase).split()), act))
    return tuple(sorted(pairs, key=lambda pair: -len(pair[0])))


@cache
def _patterns() -> tuple[tuple[re.Pattern[str], re.Pattern[str], str], ...]:
    """Each phrase compiled once: (at a position, at the end of a text, act), longest first."""
    out = []
    for phrase, act in _phrases():
        body = r"\s+".join(re.escape(part) for part in phrase.split())
        out.append((re.compile(body), re.compile(body + r"\Z"), act))
    return tuple(out)


@cache
def _ending_with() -> dict[str, tuple[tuple[re.Pattern[str], str], ...]]:
    """The phrases by their last word: a text can only end with a phrase that ends with its last word."""
    table: dict[str, list[tuple[re.Pattern[str], str]]] = {}
    for (phrase, _), (_, at_end, act) in zip(_phrases(), _patterns(), strict=True):
        table.setdefault(phrase.split()[-1], []).append((at_end, act))
    return {word: tuple(patterns) for word, patterns in table.items()}


def _match_at(folded: str, start: int) -> tuple[int, str] | None:
    """The longest wrapper phrase starting at `start` and ending at a word boundary. An
    acknowledgement opens a question only when punctuation or another opening follows it ("ok, e
    sabato?", "ok thanks. and ..."): "great deals this week?" asks about deals."""
    for at, _, act in _patterns():
        match = at.match(folded, start)
        if not match or (match.end() < len(folded) and folded[match.end()].isalnum()):
            continue
        rest = folded[match.end():]
        if act == "acknowledgement" and rest.strip() and not re.match(r"\s*[^\w\s]", rest):
            after = _GAP.match(folded, match.end()).end()  # type: ignore[union-attr]
            if _match_at(folded, after) is None:
                continue
        return match.end(), act
    return None


def _match_before(folded: str, end: int) -> tuple[int, str] | None:
    """The longest wrapper phrase ending at `end` and starting at a word boundary."""
    head = folded[:end]
    last = head.rsplit(None, 1)[-1] if head.strip() else ""
    for at_end, act in _ending_with().get(last, ()):
        match = at_end.search(head)
        if match and (match.start() == 0 or not folded[match.start() - 1].isalnum()):
            return match.start(), act
    return None


def split_message(text: str) -> MessageParts:
    """The question inside a message, without the greetings, thanks and fillers around it."""
    folded = fold(text)
    start, end = 0, len(folded)
    opening: list[str] = []
    closing: list[str] = []
    while True:
        start = _GAP.match(folded, start).end() if start < end else start  # type: ignore[union-attr]
        found = _match_at(folded, start) if start < end else None
        if found is None or found[0] > end:
            break
        start, act = found
        opening.append(act)
    while end > start:
        stripped = folded[start:end].rstrip(" \t\n\r.,;:!?¡¿-–—…()[]\"'*~")
        # emoji and other symbols at the end
        while stripped and not stripped[-1].isalnum() and not stripped[-1].isspace():
            stripped = stripped[:-1].rstrip()
        end = start + len(stripped)
        found = _match_before(folded, end)
        if found is None or found[0] < start:
            break
        end, act = found
        closing.insert(0, act)
    question = text[start:end].strip(" \t\n\r,;:-–—")
    # What is left may be only a conjunction or a pronoun ("va bene, ciao e buona giornata"); asked
    # as a question it is one, however plain its words ("and what days?", "e quindi?").
    asked = "?" in text[start:]
    if not _WORD.search(question) or (
        not content_words(question) and not any(c.isdigit() for c in question) and not asked
    ):
        question = ""
    return MessageParts(question, tuple(opening + closing))


def _primary(acts: tuple[str, ...]) -> str | None:
    real = [a for a in acts if a not in ("filler", "new_topic")]
    return next((act for act in ACTS if act in real), None)


def read_act(text: str, parts: MessageParts, vote: ExemplarVote | None, *, answered_well: bool) -> str | None:
    """The dialogue act a whole message is, or None when it asks something."""
    if not parts.question:
        return _primary(parts.acts) or ("acknowledgement" if text.strip() else None)
    words = _WORD.findall(parts.question)
    if " ".join(fold(" ".join(words)).split()) in _small_talk():
        return "small_talk"
    if len(words) > _SHORT or vote is None or not vote.is_("acts"):
        return None
    # A short message the examples call conversation: by a majority when the knowledge base does not
    # answer it well, by all but one of them even when it seems to ("ciao, come va oggi?" lands
    # near a page that says "oggi siamo 34 persone").
    needed = vote.neighbours - 1 if answered_well else vote.neighbours // 2 + 1
    return vote.label.split(".", 1)[1] if vote.votes >= needed else None
