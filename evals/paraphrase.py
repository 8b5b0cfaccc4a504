"""The paraphrase benchmark: does the agent keep what retrieval found?

On every single-turn case that names the source it must cite and has an answer, two numbers of the
same question: retrieval's (the rank of the first passage from a cited source: recall@1 and MRR)
and the agent's, end to end (success@1: the reply's first citation is a cited source; answered:
the reply is grounded and hands nothing off). A gap between recall@1 and success@1 is what the
agent lost: a right passage refused as ungrounded, or outvoted by another when composing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from agent import Conversation, Reply
from evals.retrieval import first_hit, mean_reciprocal_rank, recall_at
from evals.scoring import cite_matches
from evals.suite import Case, Suite

__all__ = ["ParaphraseResult", "ParaphraseScore", "paraphrase_cases", "score_paraphrases"]


@dataclass(frozen=True)
class ParaphraseResult:
    case_id: str
    category: str
    rank: int | None  # of the first passage from a cited source, 1-based; None beyond k
    cited_first: bool  # the reply's first citation is a cited source
    answered: bool  # grounded, no handoff


@dataclass(frozen=True)
class ParaphraseScore:
    cases: int
    recall_at_1: float | None
    mrr: float | None
    success_at_1: float | None
    answered: float | None

    @property
    def gap(self) -> float | None:
        """Points of recall@1 the agent does not turn into a cited answer."""
        if self.recall_at_1 is None or self.success_at_1 is None:
            return None
        return round(100 * (self.recall_at_1 - self.success_at_1), 1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "gap_points": self.gap}

    @classmethod
    def of(cls, results: list[ParaphraseResult]) -> ParaphraseScore:
        n = len(results)
        ranks = [r.rank for r in results]
        return cls(
            cases=n,
            recall_at_1=recall_at(ranks, 1),
            mrr=mean_reciprocal_rank(ranks),
            success_at_1=round(sum(r.cited_first for r in results) / n, 4) if n else None,
            answered=round(sum(r.answered for r in results) / n, 4) if n else None,
        )


def paraphrase_cases(suite: Suite) -> list[Case]:
    """Single-turn cases with an answer and a source to cite."""
    return [c for c in suite.cases if c.cite and not c.unanswerable and len(c.turns) == 1 and c.expected_handoff is False]


def score_paraphrases(
    cases: Iterable[Case],
    *,
    search: Callable[[str], list[Any]],
    respond: Callable[[Conversation, str, datetime | None], Reply],
    now: Callable[[Case], datetime | None],
) -> list[ParaphraseResult]:
    """`search(query)` returns passages best first; `respond` is the assistant's turn."""
    results = []
    for case in cases:
        query = case.turns[0]
        rank = first_hit(_first_per_document(search(query)), case.cite)
        reply = respond(Conversation(f"paraphrase-{case.id}"), query, now(case))
        first = reply.citations[0] if reply.citations else None
        cited_first = first is not None and any(cite_matches(e, first.source_id, first.url) for e in case.cite)
        answered = reply.grounded and reply.handoff is None
        results.append(ParaphraseResult(case.id, case.category, rank, cited_first, answered))
    return results


def _first_per_document(passages: list[Any]) -> list[Any]:
    """Ranks over documents: a second passage of the same entry is not a second candidate."""
    seen: set[str] = set()
    out = []
    for passage in passages:
        if passage.doc_id not in seen:
            seen.add(passage.doc_id)
            out.append(passage)
    return out
