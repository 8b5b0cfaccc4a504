"""Which language to reply in: Italian or English, decided per message with the conversation's memory.

Statistical detectors are unreliable on one or two words ("ok", "ciao", "hi", "?"): lingua scores
"hello" as Italian. So a short message never switches a conversation's language, and a first message
only sets it when the detector is confident; otherwise the brand's default language is used.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

SUPPORTED_LANGUAGES: tuple[str, ...] = ("it", "en")

_LINGUA = {Language.ITALIAN: "it", Language.ENGLISH: "en"}

# Chat words whose language is obvious to a person but not to an n-gram model. They decide only a
# conversation's *first* message.
_CHAT_WORDS: dict[str, frozenset[str]] = {
    "it": frozenset(
        [
            "grazie",
            "mille",
            "buongiorno",
            "buonasera",
            "buonanotte",
            "salve",
            "arrivederci",
            "perfetto",
            "certo",
            "va",
            "bene",
            "ottimo",
            "prego",
            "scusa",
            "scusate",
        ]
    ),
    "en": frozenset(
        [
            "hi",
            "hello",
            "hey",
            "thanks",
            "thank",
            "you",
            "thx",
            "ty",
            "cheers",
            "good",
            "morning",
            "afternoon",
            "evening",
            "yes",
            "yeah",
            "yep",
            "great",
            "please",
            "sorry",
        ]
    ),
}
# Written by Italian and English speakers alike: a message made only of these says nothing.
_NEUTRAL_WORDS = frozenset(["ok", "okay", "ciao", "si", "no", "bye"])

# Confidence lingua must reach (the two probabilities sum to 1) before a message sets or changes
# the language. One or two words need near certainty; a sentence carries enough n-grams.
_SHORT_MESSAGE_WORDS = 2
_MIN_CONFIDENCE_SHORT = 0.9
_MIN_CONFIDENCE = 0.8

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Building loads the n-gram models (~0.2 s): once per process. High-accuracy mode is kept: it is
    # still ~15 µs per short message, and low-accuracy mode is markedly worse on short texts.
    return LanguageDetectorBuilder.from_languages(*_LINGUA).with_preloaded_language_models().build()


def warm_up() -> None:
    """Load the detector now (at service start) so the first customer does not pay for it."""
    _detector()


def detect_language(text: str, *, default: str = "it", previous: str | None = None) -> str:
    """The language ("it" or "en") to answer `text` in.

    `previous` is the language the conversation has been using; `default` the brand's language.
    A message too short or too ambiguous to judge keeps `previous`, or else `default`.
    """
    fallback = previous if previous in SUPPORTED_LANGUAGES else default
    words = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]
    if all(w in _NEUTRAL_WORDS for w in words):
        return fallback
    chat_language = _chat_language(words)
    if chat_language is not None:
        # "ok grazie" in an English conversation is politeness, not a switch.
        return fallback if previous in SUPPORTED_LANGUAGES else chat_language
    short = len(words) <= _SHORT_MESSAGE_WORDS
    if short and previous in SUPPORTED_LANGUAGES:
        return previous
    language, confidence = _best_guess(text)
    needed = _MIN_CONFIDENCE_SHORT if short else _MIN_CONFIDENCE
    return language if language is not None and confidence >= needed else fallback


def _chat_language(words: list[str]) -> str | None:
    """The language of a message made only of greetings/thanks words, if they all agree."""
    languages: set[str] = set()
    for word in words:
        if word in _NEUTRAL_WORDS:
            continue
        matching = [lang for lang, vocab in _CHAT_WORDS.items() if word in vocab]
        if not matching:
            return None
        languages.update(matching)
    return languages.pop() if len(languages) == 1 else None


def _best_guess(text: str) -> tuple[str | None, float]:
    values = _detector().compute_language_confidence_values(text)
    if not values:
        return None, 0.0
    top = values[0]
    return _LINGUA.get(top.language), top.value
