"""The paraphrase benchmark's arithmetic: retrieval rank and end-to-end outcome of the same question."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from agent import Citation, Conversation, Handoff, HandoffReason, Reply
from evals import ParaphraseScore, paraphrase_cases, score_paraphrases
from evals.suite import Case, Suite


@dataclass(frozen=True)
class _Passage:
    doc_id: str
    source_id: str
    url: str


def _suite(*cases: Case) -> Suite:
    return Suite(name="s", path=Path("s.yaml"), manifest=Path("/brand/sources.yaml"), now=None, cases=list(cases))


PASSAGES = {
    "refund": [_Passage("a", "faq", "/faq#refund"), _Passage("a", "faq", "/faq#refund"), _Passage("b", "faq", "/faq#returns")],
    "returns": [_Passage("a", "faq", "/faq#refund"), _Passage("b", "faq", "/faq#returns")],
}


def _reply(url: str | None, *, handoff: bool = False) -> Reply:
    citations = [Citation("faq", url, "t", None)] if url else []
    return Reply("…", "it", url is not None and not handoff, citations,
                 handoff=Handoff(HandoffReason.NO_ANSWER, "s", "it") if handoff else None)


def test_only_single_turn_answerable_cases_with_a_cite_are_measured() -> None:
    suite = _suite(
        Case("one", ("q",), cite=("#refund",)),
        Case("two-turns", ("q", "and?"), cite=("#refund",)),
        Case("unanswerable", ("q",), cite=("#refund",), unanswerable=True),
        Case("no-cite", ("q",)),
        Case("handoff", ("q",), cite=("#refund",), handoff=True),
    )
    assert [c.id for c in paraphrase_cases(suite)] == ["one"]


def test_ranks_count_documents_and_success_needs_the_first_citation() -> None:
    cases = [
        Case("hit", ("refund",), cite=("#refund",)),
        Case("second", ("refund",), cite=("#returns",)),  # second document, though third passage
        Case("refused", ("returns",), cite=("#returns",)),
    ]
    replies = {"hit": _reply("/faq#refund"), "second": _reply("/faq#refund"), "refused": _reply(None, handoff=True)}

    def respond(conversation: Conversation, text: str, now: datetime | None) -> Reply:
        return replies[conversation.id.removeprefix("paraphrase-")]

    results = score_paraphrases(cases, search=lambda q: PASSAGES[q], respond=respond, now=lambda c: None)
    assert [r.rank for r in results] == [1, 2, 2]
    assert [r.cited_first for r in results] == [True, False, False]
    assert [r.answered for r in results] == [True, True, False]
    score = ParaphraseScore.of(results)
    assert (score.recall_at_1, score.success_at_1, score.answered) == (0.3333, 0.3333, 0.6667)
    assert score.mrr == round((1 + 0.5 + 0.5) / 3, 4)
    assert score.gap == 0.0
