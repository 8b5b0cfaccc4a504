"""Words for lexical search: stop words and stems.

Content and questions mix Italian and English, so a token is indexed under its Italian and
English stems both; a query token matches whichever the content used.
"""

from __future__ import annotations

from functools import lru_cache

import Stemmer
from bm25s.stopwords import STOPWORDS_EN, STOPWORDS_ITALIAN

from knowledge.text.normalize import words

__all__ = ["content_words", "search_tokens", "stems"]

# bm25s ships a short English list; questions are full of auxiliaries, pronouns and question
# words that say nothing about the topic ("do you", "posso", "cosa", "avete").
_QUESTION_WORDS = frozenset(
    ["i", "me", "my", "we", "our", "you", "your", "yours", "he", "she", "they", "them", "it", "its", "this", "that", "these", "those", "am", "is", "are", "was", "were", "be", "been", "being", "have", "has", "had", "do", "does", "did", "doing", "can", "could", "would", "should", "will", "shall", "may", "might", "must", "what", "which", "who", "whom", "whose", "when", "where", "why", "how", "there", "here", "please", "thanks", "thank", "hello", "hi", "hey", "ok", "okay", "yes", "no", "not", "any", "some", "all", "also", "just", "about", "tell", "know", "want", "need", "like", "get", "got", "io", "tu", "lui", "lei", "noi", "voi", "loro", "mi", "ti", "ci", "vi", "si", "mio", "mia", "miei", "mie", "tuo", "tua", "vostro", "vostra", "nostro", "nostra", "suo", "sua", "posso", "puoi", "puo", "possiamo", "potete", "possono", "vorrei", "volevo", "voglio", "vuoi", "sapere", "dire", "dite", "dici", "mi", "dite", "ho", "hai", "ha", "abbiamo", "avete", "hanno", "sono", "sei", "siamo", "siete", "e", "era", "c", "ce", "cosa", "cos", "come", "quale", "quali", "quanto", "quanta", "quanti", "quante", "dove", "quando", "perche", "chi", "che", "ciao", "salve", "buongiorno", "buonasera", "grazie", "prego", "per", "favore", "fate", "fai", "fa", "faccio", "qualcosa", "qualche", "ancora", "gia", "anche", "solo", "tutto", "tutti", "tutte", "molto"]
)
_STOPWORDS = frozenset(STOPWORDS_EN) | frozenset(STOPWORDS_ITALIAN) | _QUESTION_WORDS


@lru_cache(maxsize=2)
def _stemmer(language: str) -> Stemmer.Stemmer:
    return Stemmer.Stemmer(language)


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


_CASE_DETAILS = frozenset(["euro", "eur", "€", "giorni", "giorno", "days", "day", "anni", "anno", "years", "year"])


def content_words(text: str) -> list[str]:
    """Folded words of a text that can carry its topic: stop and question words, numbers and
    units removed (an amount or a date is the customer's case, not the topic)."""
    return [
        w for w in words(text)
        if w not in _STOPWORDS and w not in _CASE_DETAILS and len(w) >= 2 and not any(c.isdigit() for c in w)
    ]


def stems(word: str) -> set[str]:
    return {_stemmer("italian").stemWord(word), _stemmer("english").stemWord(word)}
