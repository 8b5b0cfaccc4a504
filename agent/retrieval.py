"""Retrieval for one customer turn: the query (with the conversation's subject for follow-ups),
hybrid search, and a rerank that prefers passages about the store the customer means."""

from __future__ import annotations

from dataclasses import dataclass, replace

from knowledge.index import KnowledgeBase, Passage, SearchMode
from knowledge.text import fold


@dataclass(frozen=True)
class Subject:
    """What the turn is about: named in the message, or carried over from the conversation."""

    store_key: str | None = None
    store_label: str | None = None  # e.g. "Velò Padova (Padova)" for the query
    store_from_focus: bool = False
    product_key: str | None = None
    product_title: str | None = None
    product_from_focus: bool = False


def build_query(message: str, subject: Subject, context: str | None = None) -> str:
    extra = [context] if context else []
    if subject.store_from_focus and subject.store_label:
        extra.append(subject.store_label)
    if subject.product_from_focus and subject.product_title:
        extra.append(subject.product_title)
    return " ".join([message, *extra])


def retrieve(
    kb: KnowledgeBase,
    message: str,
    subject: Subject,
    *,
    k: int = 6,
    mode: SearchMode = "hybrid",
    store_names: dict[str, tuple[str, ...]] | None = None,
    language: str | None = None,
    context: str | None = None,
) -> list[Passage]:
    """`context`: the previous customer message, for follow-ups ("E per una e-bike?")."""
    passages = kb.search(build_query(message, subject, context), k=k * 2, mode=mode)
    return rerank(passages, subject, store_names or {}, language)[:k]


def rerank(
    passages: list[Passage],
    subject: Subject,
    store_names: dict[str, tuple[str, ...]],
    language: str | None,
) -> list[Passage]:
    """Demote passages about another store than the one asked about; nudge the reply language."""
    if not passages:
        return passages
    top = passages[0].score or 1.0
    rescored = []
    for passage in passages:
        score = passage.score / top
        if subject.store_key and store_names:
            folded = fold(passage.title + " " + passage.text)
            mine = any(alias in folded for alias in store_names.get(subject.store_key, ()))
            others = any(
                alias in folded for key, aliases in store_names.items() if key != subject.store_key for alias in aliases
            )
            if mine:
                score *= 1.3
            elif others:
                score *= 0.5
        if language and passage.language == language:
            score *= 1.05
        rescored.append(replace(passage, score=score))
    return sorted(rescored, key=lambda p: -p.score)
