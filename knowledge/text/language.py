"""Which language a message (or an FAQ entry) is written in, with the conversation's memory.

Statistical detectors are unreliable on one or two words ("ok", "ciao", "hi", "?"): lingua scores
"hello" as Italian. So a short message never switches a conversation's language, and a first message
only sets it when the detector is confident; otherwise the brand's default language is used.

Names are not evidence of a language: "Is the Bologna store open on Sundays?" or "avete il power
bank?" carry a place or a product named in another language. The detector reads the message without
capitalised words inside a sentence, numbers and the names the caller knows (the product or store
the message names), as long as a few words remain.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Collection
from functools import lru_cache

from lingua import Language, LanguageDetector, LanguageDetectorBuilder

from knowledge.text.lexicon import LANGUAGES, language_data
from knowledge.text.normalize import fold

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
# lingua spreads its confidence over every language it knows, so a clear English sentence may get
# 0.47 against Italian's 0.2: among the served languages, a leader this many times ahead of the
# next one is a decision too.
_LEAD_RATIO = 2.0
# Fewer words than this left once names are taken out: read the message as written.
_MIN_WORDS_WITHOUT_NAMES = 2

_WORD = re.compile(r"[^\W\d_]+(?:'[^\W\d_]+)?")
_TOKEN = re.compile(r"[^\W_]+(?:'[^\W\d_]+)?|[.!?;:\n]")
_SENTENCE_ENDS = frozenset(".!?;:\n")


@lru_cache(maxsize=1)
def _detector() -> LanguageDetector:
    # Building loads the n-gram models (~0.2 s): once per process. High-accuracy mode is kept: it is
    # still ~15 µs per short message, and low-accuracy mode is markedly worse on short texts.
    return LanguageDetectorBuilder.from_languages(*_RECOGNISED.values()).with_preloaded_language_models().build()


def warm_up() -> None:
    """Load the detector now (at service start) so the first customer does not pay for it."""
    _detector()


def detect_language(
    text: str,
    *,
    default: str = "it",
    previous: str | None = None,
    expected: tuple[str, ...] = (),
    names: Collection[str] = (),
) -> str:
    """The language `text` is written in, as an ISO 639-1 code.

    `previous` is the language the conversation has been using; `default` the brand's language;
    `expected` the languages the brand serves (more likely than others); `names` folded words
    (`knowledge.text.words`) that name things and say nothing about the language. A message too
    short or too ambiguous to judge keeps `previous`, or else `default`.
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
    ranked = _ranked(_without_names(text, names))
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
    served = sorted(((value, lang) for lang, value in ranked if lang in likely), reverse=True)
    if not served:
        return fallback
    (value, language), runner_up = served[0], (served[1][0] if len(served) > 1 else 0.0)
    total = sum(v for v, _ in served) or 1.0
    needed = _MIN_CONFIDENCE_SHORT if short else _MIN_CONFIDENCE
    if value / total >= needed or (value > 0.0 and value >= _LEAD_RATIO * runner_up):
        return language
    return fallback


def _without_names(text: str, names: Collection[str]) -> str:
    """`text` without what names things: numbers, words the caller knows as names, and capitalised
    words that do not start a sentence — unless too little would be left to judge."""
    kept: list[str] = []
    sentence_start = True
    for match in _TOKEN.finditer(unicodedata.normalize("NFC", text)):
        token = match.group(0)
        if token in _SENTENCE_ENDS:
            sentence_start = True
            continue
        capitalised_inside = not sentence_start and token[0].isupper() and len(token) > 1
        sentence_start = False
        if capitalised_inside or any(ch.isdigit() for ch in token) or fold(token) in names:
            continue
        kept.append(token)
    return " ".join(kept) if len(kept) >= _MIN_WORDS_WITHOUT_NAMES else text


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
