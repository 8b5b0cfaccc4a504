"""Which language a message (or an FAQ entry) is written in, with the conversation's memory.

Statistical detectors are unreliable on one or two words ("ok", "ciao", "hi", "?"): lingua scores
"hello" as Italian. So a short message never switches a conversation's language, and a first message
only sets it when the detector is confident; otherwise the brand's default language is used.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from knowledge.text.lexicon import LANGUAGES, language_data

# Languages recognised in messages and documents: every language with a data file, plus widely
# written ones, so a message in a language the brand does not serve is told apart (and answered
# with the languages it does serve) instead of being read as the brand's own.
_RECOGNISED = {
    "it": Language.ITALIAN,
    "en": Language.ENGLISH,
    "fr": Language.FRENCH,
    "de": Language.GERMAN,
    "es": Language.SPANISH,
    "pt": Language.PORTUGUESE,
    "nl": Language.DUTCH,
}
SUPPORTED_LANGUAGES: tuple[str, ...] = tuple(sorted(set(LANGUAGES) | set(_RECOGNISED)))
_LINGUA = {language: code for code, language in _RECOGNISED.items()}


@lru_cache(maxsize=1)
def _chat_words() -> dict[str, frozenset[str]]:
    return {lang: frozenset(str(w) for w in language_data(lang).get("chat_words") or ()) for lang in LANGUAGES}


@lru_cache(maxsize=1)
def _neutral_words() -> frozenset[str]:
    return frozenset(str(w) for lang in LANGUAGES for w in language_data(lang).get("neutral_words") or ())


# Confidence lingua must reach before a message sets or changes the language. One or two words
# need near certainty; a sentence carries enough n-grams. A language nobody declared needs more:
# short Italian and Spanish look alike, and a wrong switch answers a customer in the wrong language.
_SHORT_MESSAGE_WORDS = 2
_MIN_CONFIDENCE_SHORT = 0.9
_MIN_CONFIDENCE = 0.8
_MIN_CONFIDENCE_UNDECLARED = 0.5
_UNDECLARED_MARGIN = 3.0  # times the best served language's confidence
_MIN_WORDS_UNDECLARED = 3

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Building loads the n-gram models (~0.2 s): once per process. High-accuracy mode is kept: it is
    # still ~15 µs per short message, and low-accuracy mode is markedly worse on short texts.
    return LanguageDetectorBuilder.from_languages(*_RECOGNISED.values()).with_preloaded_language_models().build()


def warm_up() -> None:
    """Load the detector now (at service start) so the first customer does not pay for it."""
    _detector()


def detect_language(
    text: str, *, default: str = "it", previous: str | None = None, expected: tuple[str, ...] = ()
) -> str:
    """The language `text` is written in, as an ISO 639-1 code.

    `previous` is the language the conversation has been using; `default` the brand's language;
    `expected` the languages the brand serves (more likely than others). A message too short or
    too ambiguous to judge keeps `previous`, or else `default`.
    """
    known = set(SUPPORTED_LANGUAGES)
    fallback = previous if previous in known else default
    words = [w.lower() for w in _WORD.findall(unicodedata.normalize("NFC", text))]
    neutral = _neutral_words()
    if all(w in neutral for w in words):
        return fallback
    chat_language = _chat_language(words)
    if chat_language is not None:
        # "ok grazie" in an English conversation is politeness, not a switch.
        return fallback if previous in known else chat_language
    short = len(words) <= _SHORT_MESSAGE_WORDS
    if short and previous in known:
        return previous
    ranked = _ranked(text)
    if not ranked:
        return fallback
    likely = set(expected) | {default} | ({previous} if previous else set())
    top, top_value = ranked[0]
    best_likely = max((value for lang, value in ranked if lang in likely), default=0.0)
    if (
        top not in likely
        and top_value >= _MIN_CONFIDENCE_UNDECLARED
        and top_value >= _UNDECLARED_MARGIN * best_likely
        and len(words) >= _MIN_WORDS_UNDECLARED
    ):
        return top
    # Among the languages the brand serves, confidence renormalised to them alone.
    total = sum(value for lang, value in ranked if lang in likely) or 1.0
    language, value = max(((lang, v / total) for lang, v in ranked if lang in likely), key=lambda p: p[1],
                          default=(fallback, 0.0))
    needed = _MIN_CONFIDENCE_SHORT if short else _MIN_CONFIDENCE
    return language if value >= needed else fallback


def _chat_language(words: list[str]) -> str | None:
    """The language of a message made only of greetings/thanks words, if they all agree."""
    languages: set[str] = set()
    for word in words:
        if word in _neutral_words():
            continue
        matching = [lang for lang, vocab in _chat_words().items() if word in vocab]
        if not matching:
            return None
        languages.update(matching)
    return languages.pop() if len(languages) == 1 else None


def _ranked(text: str) -> list[tuple[str, float]]:
    return [(_LINGUA[v.language], v.value) for v in _detector().compute_language_confidence_values(text)]
