"""Extractive answering: the sentences of the retrieved passages that best answer the question,
and how well the evidence covers what was asked (the grounding check)."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from knowledge.index import Passage
from knowledge.text import MONTHS, content_words, search_tokens, stems, without_update_statements

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-ZÀ-Ý0-9«\"“(])")
_TABLE_RULE = re.compile(r"^\|?\s*:?-{2,}")


@dataclass(frozen=True)
class Evidence:
    sentence: str
    passage: Passage
    score: float


def passage_body(passage: Passage) -> str:
    """The passage text without the 'Title › Heading' line chunking put in front."""
    first, _, rest = passage.text.partition("\n")
    return rest if rest and first.startswith(passage.title) else passage.text


def informative(sentence: str) -> bool:
    """A sentence that says something besides a date ("Aggiornato il 16 novembre 2026.", "Last
    updated 20 October 2026." do not): at least two content words that are neither month names
    nor part of an "updated on <date>" statement."""
    return len(set(content_words(without_update_statements(sentence))) - _MONTH_WORDS) >= 2


_MONTH_WORDS = frozenset(MONTHS)


def sentences(text: str) -> list[str]:
    """The text's sentences (a table row as one), leaving out those that only state a date."""
    return [s for s in _all_sentences(text) if informative(s)]


def _all_sentences(text: str) -> list[str]:
    out: list[str] = []
    for line in text.splitlines():
        line = line.strip().lstrip("#").strip()
        if not line or _TABLE_RULE.match(line):
            continue
        if line.startswith("|"):
            cells = [c.strip() for c in line.strip("|").split("|") if c.strip()]
            out.append(": ".join(cells[:1]) + (" " + " ".join(cells[1:]) if len(cells) > 1 else ""))
            continue
        out.extend(s.strip() for s in _SENTENCE_END.split(line) if s.strip())
    return out


def select_evidence(
    question: str,
    passages: list[Passage],
    idf: Callable[[str], float],
    *,
    max_sentences: int = 3,
    max_chars: int = 480,
    clean: Callable[[str], str] = lambda s: s,
    language: str | None = None,
) -> list[Evidence]:
    """The sentences that best answer `question`, in reading order.

    A sentence is scored by the question words it shares, plus half of those its passage's title
    shares (an FAQ answer, "Sì, dal lunedì al venerdì...", rarely repeats its question).  For a
    passage in another language than the question's, words cannot be compared: its opening
    sentences stand in, ranked by the passage's retrieval rank.
    """
    asked = set(search_tokens(question))
    typical = sum(idf(t) for t in asked) / max(len(asked), 1)
    scored: list[tuple[float, int, int, Evidence]] = []
    for rank, passage in enumerate(passages[:4]):
        prior = 1.0 / (1 + rank)
        title_overlap = sum(idf(t) for t in asked & set(search_tokens(passage.title + " " + passage.heading)))
        foreign = bool(language and passage.language and passage.language != language)
        for position, sentence in enumerate(sentences(clean(passage_body(passage)))):
            if foreign:
                overlap = typical * (1.0 if position < 2 else 0.0)
            else:
                overlap = sum(idf(t) for t in asked & set(search_tokens(sentence)))
                overlap = overlap + 0.5 * title_overlap if overlap > 0 or position < 2 else 0.0
            if overlap <= 0:
                continue
            score = overlap * (0.6 + 0.4 * prior)
            scored.append((score, rank, position, Evidence(sentence, passage, score)))
    if not scored:
        return []
    scored.sort(key=lambda item: (-item[0], item[1], item[2]))
    top_score = scored[0][0]
    chosen: list[tuple[int, int, Evidence]] = []
    used = 0
    for score, rank, position, evidence in scored:
        if len(chosen) >= max_sentences or score < 0.45 * top_score:
            break
        if used + len(evidence.sentence) > max_chars and chosen:
            continue
        chosen.append((rank, position, evidence))
        used += len(evidence.sentence)
    # Read in document order: the best passage first, its sentences in the order written.
    chosen.sort(key=lambda item: (item[0], item[1]))
    return [evidence for _, _, evidence in chosen]


def coverage(
    question: str,
    evidence_text: str,
    idf: Callable[[str], float],
    known: Callable[[str], bool] = lambda token: True,
    *,
    count_unknown: bool = True,
) -> float:
    """IDF-weighted share of the question's content words found in the evidence (0..1).

    A word counts once, found if any of its Italian/English stems is in the evidence.  A word
    the knowledge never uses ("monopattini", "Japan") weighs the most: it is usually the very
    thing the customer asks about.  When the customer writes in another language than the
    evidence (`count_unknown=False`), unknown words are translation gaps, not missing
    knowledge, and are left out.
    """
    present = set(search_tokens(evidence_text))
    total = found = 0.0
    for word in dict.fromkeys(content_words(question)):
        variants = stems(word)
        is_known = any(known(v) for v in variants)
        if not is_known and not count_unknown:
            continue
        weight = max(idf(v) for v in variants)
        total += weight
        if variants & present:
            found += weight
    return found / total if total > 0 else 0.0
