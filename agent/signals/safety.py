"""When a message must go to a person: health, injury, self-harm, danger, legal matters, anger,
or a request for a human. Pure functions over the message and its query vector.

Two readers, any sector:
- **Lexicons** (`safety:` in `agent/languages/<lang>.yaml`): harm, danger and legal matters as
  *events or intentions* ("I burned my hand", "c'è odore di gas"), never topics, so "anti-scald
  valve", "fire red" or "gas hob" are product words. Every language's patterns are tried on every
  message (customers mix languages), the message's own first so `matched` reads naturally.
- **Meaning**: the k nearest example sentences (`agent.signals.exemplars`). It speaks only with a
  strong majority and only when the knowledge base does not answer the message well: a message
  the brand's own FAQ answers is a question, not an incident.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, lru_cache

from agent.phrases import lexicons
from agent.reply import HandoffReason
from agent.signals.exemplars import ExemplarVote
from knowledge.text import fold

__all__ = ["SensitiveSignal", "classify_message", "lexicon_signal", "meaning_signal"]

# Lexicon family → the reason the operator sees. Order is precedence: when a message carries
# several signals the most urgent names the handoff (a fall with a broken arm is an injury even
# if the customer is also furious).
FAMILIES: dict[str, HandoffReason] = {
    "self_harm": HandoffReason.MEDICAL,
    "safety": HandoffReason.SAFETY,
    "injury": HandoffReason.INJURY,
    "medical": HandoffReason.MEDICAL,
    "legal": HandoffReason.LEGAL,
    "human": HandoffReason.HUMAN_REQUESTED,
    "complaint": HandoffReason.COMPLAINT,
}
# Of the nearest example sentences, how many must agree before meaning alone hands off (of 7).
STRONG_VOTE = 5
# Meaning alone hands off only where missing a handoff harms someone; a complaint, a legal matter
# or a request for a person is said in words the lexicons read.
MEANING_FAMILIES = frozenset({"injury", "medical", "self_harm", "safety"})


@dataclass(frozen=True)
class SensitiveSignal:
    reason: HandoffReason
    topic: str  # the family ("self_harm", "safety", …): picks the words of the reply
    matched: str  # the customer's own words that triggered it (for the operator's summary)
    how: str  # "lexicon", "brand_term" (the manifest's `sensitive:`), "tone" or "meaning"


def _compile(pattern: str) -> re.Pattern[str]:
    # A space in a lexicon pattern stands for any whitespace run: customers type double spaces and newlines.
    return re.compile(pattern.replace(" ", r"\s+"), re.IGNORECASE)


@cache
def _patterns() -> dict[str, dict[str, tuple[re.Pattern[str], ...]]]:
    """family → language → compiled patterns."""
    out: dict[str, dict[str, tuple[re.Pattern[str], ...]]] = {}
    for lang, families in lexicons("safety").items():
        for family, patterns in (families or {}).items():
            out.setdefault(family, {})[lang] = tuple(_compile(p) for p in patterns or ())
    return out


@cache
def _tone() -> tuple[tuple[re.Pattern[str], ...], tuple[re.Pattern[str], ...]]:
    positive: list[re.Pattern[str]] = []
    negative: list[re.Pattern[str]] = []
    for words in lexicons("tone").values():
        positive += [_compile(rf"\b{w}\b") for w in words.get("positive") or ()]
        negative += [_compile(rf"\b{w}\b" if not w.startswith("n'") else w) for w in words.get("negative") or ()]
    return tuple(positive), tuple(negative)


_EXCLAMATIONS = re.compile(r"(!\s*){3,}|[!?]{4,}")


def _in_order(lang: str, languages: Iterable[str]) -> list[str]:
    return sorted(languages, key=lambda candidate: candidate != lang)


def lexicon_signal(text: str, lang: str, brand_terms: Mapping[str, Sequence[str]] | None = None) -> SensitiveSignal | None:
    """The first lexicon family whose pattern (or brand term, from the manifest's `sensitive:`)
    the message matches, in precedence order."""
    folded = fold(text)
    patterns = _patterns()
    for family, reason in FAMILIES.items():
        by_lang = patterns.get(family, {})
        for language in _in_order(lang, by_lang):
            for pattern in by_lang[language]:
                match = pattern.search(folded)
                if match:
                    return SensitiveSignal(reason, family, text[match.start() : match.end()].strip(), "lexicon")
        for term in (brand_terms or {}).get(family, ()):
            match = _term_pattern(term).search(folded)
            if match:
                return SensitiveSignal(reason, family, text[match.start() : match.end()].strip(), "brand_term")
    tone = _tone_signal(text, folded)
    return SensitiveSignal(HandoffReason.COMPLAINT, "complaint", tone, "tone") if tone else None


def _tone_signal(text: str, folded: str) -> str | None:
    """Shouting in capitals or a volley of '!!!' with a negative word and no friendly one.

    Intensity alone is not anger: some people type everything in capitals, and "Arrivata!!!" is joy.
    """
    positive, negative = _tone()
    if any(p.search(folded) for p in positive) or not any(p.search(folded) for p in negative):
        return None
    if _is_shouting(text) or _EXCLAMATIONS.search(text):
        return text.strip()[:80]
    return None


def _is_shouting(text: str) -> bool:
    # Three or more words in capitals making most of the message; acronyms and product codes
    # ("IVA", "XT M8100") are too short or too few to count.
    words = re.findall(r"[^\W\d_]{2,}", text)
    upper = [w for w in words if w.isupper() and len(w) >= 3]
    letters = sum(len(w) for w in upper)
    return len(upper) >= 3 and letters >= 12 and len(upper) >= 0.6 * len(words)


def meaning_signal(text: str, vote: ExemplarVote, *, answered_well: bool) -> SensitiveSignal | None:
    """A handoff read from meaning alone: a strong majority of sensitive neighbours, for a message
    the knowledge base does not answer well."""
    if not vote.is_("sensitive"):
        return None
    family = vote.label.split(".", 1)[1]
    reason = FAMILIES.get(family)
    if reason is None:
        return None
    # Where missing a handoff harms someone, a strong majority speaks when the knowledge base does
    # not answer the message well, and all but one of the nearest examples even when it seems to
    # (the rule dialogue acts follow: "my child swallowed the gel of the ice pack" lands near the
    # FAQ entry about ice packs). Elsewhere every nearest example must agree.
    if family in MEANING_FAMILIES:
        needed = vote.neighbours - 1 if answered_well else STRONG_VOTE
    else:
        needed = vote.neighbours
    if vote.votes < needed:
        return None
    return SensitiveSignal(reason, family, text.strip()[:80], "meaning")


@lru_cache(maxsize=512)
def _term_pattern(term: str) -> re.Pattern[str]:
    words = fold(term).split()
    return re.compile(r"(?<!\w)" + r"\s+".join(re.escape(w) for w in words) + r"(?!\w)")


def classify_message(
    text: str,
    lang: str,
    vote: ExemplarVote | None = None,
    *,
    answered_well: bool = True,
    brand_terms: Mapping[str, Sequence[str]] | None = None,
) -> SensitiveSignal | None:
    """The signal a customer message carries, or None for an ordinary message."""
    signal = lexicon_signal(text, lang, brand_terms)
    if signal is None and vote is not None:
        signal = meaning_signal(text, vote, answered_well=answered_well)
    return signal
