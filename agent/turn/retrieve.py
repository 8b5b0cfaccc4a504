"""Stage 2, retrieve: the passages for the turn's query (the question, with the previous one for a
follow-up), reranked toward the store the customer means, grouped into source units."""

from __future__ import annotations

from dataclasses import replace

from agent.answers.units import AnswerUnit, answer_units
from agent.turn.check import MIN_Z
from agent.turn.state import Resources, Retrieval, Subject, Understanding
from knowledge.index import KnowledgeBase, Passage, SearchMode
from knowledge.text import fold, search_tokens

__all__ = ["carries", "lexical_doc", "rerank", "retrieve", "search"]


def search(
    kb: KnowledgeBase,
    query: str,
    subject: Subject,
    *,
    k: int,
    mode: SearchMode,
    store_names: dict[str, tuple[str, ...]],
    language: str | None,
) -> list[Passage]:
    passages = kb.search(query, k=k * 2, mode=mode)
    return rerank(passages, subject, store_names, language)[:k]


def retrieve(res: Resources, u: Understanding, *, query: str | None = None) -> Retrieval:
    """The passages and units for the turn (or for one part of a question with several)."""
    text = query if query is not None else u.query
    if not text:
        return Retrieval([], [])
    if u.product is not None and u.intent.name not in PRODUCT_DATA_INTENTS:
        # "How do I descale the X?": the product may be the context, not the topic. Its name would
        # pull the search to its own feed row; the question without it finds the FAQ that answers.
        # When what is left matches nothing clearly ("do you have the X?", "does the X fit the Y?"),
        # the product itself may be the topic: its row joins the candidates, if it speaks of what
        # was asked.
        topic = without_words(text, u.product.tokens)
        if topic and topic != text:
            usage = _retrieve(res, u, topic, products=False)
            if usage.units and res.calibration.z(usage.units[0].similarity) >= MIN_Z:
                return usage
            # The product's own row answers only what it speaks of: "is it good for bagels?" (its
            # row says "bagel setting"), not "how do I descale it?" (a question no source answers).
            # Other sources compete with the words the customer asked with, not with the product's
            # name, which every page of a shop that sells it shares.
            passages, units = _search_units(res, u, text)
            rows = [unit for unit in units if unit.kind == "product" and carries(unit.text, topic)]
            ranked = sorted([*rows, *usage.units], key=lambda unit: -unit.similarity)
            return _retrieval(res, passages, ranked, usage.lexical_doc)
    return _retrieve(res, u, text, products=True)


def carries(text: str, question: str) -> bool:
    """Whether `text` speaks of any of the question's content words (a question of none: it does)."""
    asked = set(search_tokens(question))
    return not asked or bool(asked & set(search_tokens(text)))


def _retrieve(res: Resources, u: Understanding, text: str, *, products: bool) -> Retrieval:
    passages, units = _search_units(res, u, text)
    if not products:
        units = [unit for unit in units if unit.kind != "product"]
    return _retrieval(res, passages, units, lexical_doc(res, text))


def _search_units(res: Resources, u: Understanding, text: str) -> tuple[list[Passage], list[AnswerUnit]]:
    passages = search(res.kb, text, u.subject, k=res.k, mode=res.retrieval_mode, store_names=res.store_names,
                      language=u.language)
    return passages, answer_units(text, passages, res.documents, res.kb.idf, clean=res.clean, language=u.language)


def _retrieval(res: Resources, passages: list[Passage], units: list[AnswerUnit], lexical: str | None) -> Retrieval:
    lexical_only = any(p.lexical_only for p in passages) or (not passages and res.kb.vector_outage is not None)
    return Retrieval(passages, units, lexical, lexical_only=lexical_only)


def lexical_doc(res: Resources, text: str) -> str | None:
    """The document BM25 ranks first for the question's topic words. Store names are left out: they
    say which store, not what about it, and would point at the store's own page."""
    names = frozenset(w for aliases in res.store_names.values() for alias in aliases for w in alias.split())
    topic = without_words(text, names | res.store_words)
    hits = res.kb.search(topic, k=1, mode="bm25") if topic.strip() else []
    return hits[0].doc_id if hits else None


# What a product's feed row answers: its price and stock. Any other question about it is answered
# by the brand's FAQ and pages.
PRODUCT_DATA_INTENTS = frozenset({"price", "availability"})


def without_words(text: str, drop: frozenset[str]) -> str:
    """`text` without the words (folded) in `drop`."""
    kept = [w for w in text.split() if fold(w).strip(".,;:!?()\"'") not in drop]
    return " ".join(kept)


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
