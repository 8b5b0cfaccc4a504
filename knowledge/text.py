"""Text normalisation for lexical search: accent and case folding, stop words, stemming.

Content and questions mix Italian and English, so a token is indexed under its Italian and
English stems both; a query token matches whichever the content used.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_ITALIAN

_WORD = re.compile(r"[a-z0-9]+(?:[.,:][0-9]+)?")
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_ITALIAN)


def fold(text: str) -> str:
    """Lower-case and strip accents ("Lunedì" → "lunedi")."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text).replace("'", " ").replace("’", " "))


def search_tokens(text: str) -> list[str]:
    """Tokens for BM25: folded words minus stop words, each as Italian and English stem."""
    out: list[str] = []
    italian, english = _stemmer("italian"), _stemmer("english")
    for word in words(text):
        if word in _STOPWORDS or (len(word) < 2 and not word.isdigit()):
            continue
        it_stem = italian.stemWord(word)
        en_stem = english.stemWord(word)
        out.append(it_stem)
        if en_stem != it_stem:
            out.append(en_stem)
    return out
