"""Words for lexical search: stop words and stems.

Content and questions mix languages, so a token is indexed under its stem in every language the
code has a data file for (`knowledge/text/languages/<lang>.yaml`, section `lexical`); a query
token matches whichever the content used. Adding a language is one data file: its Snowball
stemmer, its bm25s stop-word list and its question words.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache

import bm25s.stopwords
import Stemmer

from knowledge.text.lexicon import KNOWLEDGE_LANGUAGES
from knowledge.text.normalize import words

__all__ = ["content_words", "search_tokens", "stems"]


@dataclass(frozen=True)
class _Lexical:
    stemmers: tuple[Stemmer.Stemmer, ...]
    stopwords: frozenset[str]
    case_details: frozenset[str]


@cache
def _lexical() -> _Lexical:
    stemmers: list[Stemmer.Stemmer] = []
    stop: set[str] = set()
    case: set[str] = set()
    for lang, section in sorted(KNOWLEDGE_LANGUAGES.sections("lexical").items()):
        if section.get("stemmer"):
            stemmers.append(Stemmer.Stemmer(section["stemmer"]))
        if section.get("stopwords"):
            # bm25s ships the lists as module constants: STOPWORDS_EN, STOPWORDS_ITALIAN, …
            listed = getattr(bm25s.stopwords, f"STOPWORDS_{section['stopwords']}", None)
            if listed is None:
                raise ValueError(f"languages/{lang}.yaml: bm25s has no stop-word list {section['stopwords']!r}")
            stop.update(listed)
        stop.update(str(w) for w in section.get("question_words") or ())
        case.update(str(w) for w in section.get("case_details") or ())
    return _Lexical(tuple(stemmers), frozenset(stop), frozenset(case))


def _stems_in_order(word: str, stemmers: tuple[Stemmer.Stemmer, ...]) -> list[str]:
    return list(dict.fromkeys(s.stemWord(word) for s in stemmers))


def search_tokens(text: str) -> list[str]:
    """Tokens for BM25: folded words minus stop words, each under its stem in every language."""
    lexical = _lexical()
    out: list[str] = []
    for word in words(text):
        if word in lexical.stopwords or (len(word) < 2 and not word.isdigit()):
            continue
        # Each distinct stem once, in the languages' order (plain loops: this runs on every
        # query and on every sentence an answer weighs).
        start = len(out)
        for stemmer in lexical.stemmers:
            stem = stemmer.stemWord(word)
            if stem not in out[start:]:
                out.append(stem)
    return out


def content_words(text: str) -> list[str]:
    """Folded words of a text that can carry its topic: stop and question words, numbers and
    units removed (an amount or a date is the customer's case, not the topic)."""
    lexical = _lexical()
    return [
        w for w in words(text)
        if w not in lexical.stopwords and w not in lexical.case_details and len(w) >= 2
        and not any(c.isdigit() for c in w)
    ]


def stems(word: str) -> set[str]:
    return set(_stems_in_order(word, _lexical().stemmers))
