"""Stage 4, compose: the answer text, citations and warnings, by the configured composer.

A question with several parts ("How much is shipping? And how long does it take?") gets one
unit per part, each cited; every other question gets one source unit or one structured answer.
"""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import datetime

from agent.answers.composition import Composition
from agent.answers.offline import ComposeInput
from agent.answers.units import AnswerUnit
from agent.composers import Composer
from agent.signals.intents import detect_intent
from agent.turn.retrieve import retrieve
from agent.turn.state import Assessment, Resources, Retrieval, Understanding

__all__ = ["compose", "question_parts"]

_PART = re.compile(r"[^?]+\?")
_MIN_PART_WORDS = 3


def question_parts(question: str) -> list[str]:
    """The separate questions of one message: sentences ending with '?', each of a few words."""
    parts = [p.strip(" ,;.") for p in _PART.findall(question)]
    parts = [p for p in parts if len(p.split()) >= _MIN_PART_WORDS]
    return parts if len(parts) >= 2 else [question]


def compose(
    res: Resources,
    composer: Composer,
    u: Understanding,
    retrieval: Retrieval,
    assessment: Assessment,
    now: datetime,
) -> Composition:
    parts = question_parts(u.question) if not u.follow_up else [u.question]
    if len(parts) == 1:
        return composer.compose(_input(res, u, retrieval, assessment, now, u.question or u.message), u.product)
    compositions: list[Composition] = []
    seen: set[str] = set()
    for part in parts:
        part_retrieval = retrieve(res, u, query=part)
        part_u = _with_intent(u, part)
        comp = composer.compose(_input(res, part_u, part_retrieval, assessment, now, part), part_u.product)
        key = ",".join(sorted(c.url or c.source_id for c in comp.citations))
        if not comp.text or key in seen:
            continue
        seen.add(key)
        compositions.append(comp)
    return _merge(compositions) if compositions else composer.compose(
        _input(res, u, retrieval, assessment, now, u.question), u.product
    )


def _with_intent(u: Understanding, part: str) -> Understanding:
    return replace(u, intent=detect_intent(part), question=part, query=part)


def _input(
    res: Resources, u: Understanding, retrieval: Retrieval, assessment: Assessment, now: datetime, message: str
) -> ComposeInput:
    return ComposeInput(
        message=message,
        lang=u.language,
        intent=u.intent,
        subject=u.subject,
        passages=retrieval.passages,
        state=assessment.state,
        now=now,
        idf=res.kb.idf,
        known=res.kb.known,
        clean=res.clean,
        country=res.manifest.country,
        documents=list(res.documents.values()),
        context=u.context,
        units=retrieval.units,
        store_words=res.store_words,
        spread=res.calibration.std,
        lexical_doc=retrieval.lexical_doc,
        same_answer=lambda a, b: _same_answer(res, a, b),
    )


# Two passages this close say the same thing (one FAQ answer written in two languages, a page
# repeated): they are not rivals for the question.
SAME_ANSWER = 0.97


def _same_answer(res: Resources, a: AnswerUnit, b: AnswerUnit) -> bool:
    va, vb = res.kb.vector_of(a.passage.chunk_id), res.kb.vector_of(b.passage.chunk_id)
    return va is not None and vb is not None and float(va @ vb) >= SAME_ANSWER


def _merge(parts: list[Composition]) -> Composition:
    first = parts[0]
    merged = Composition(
        "\n\n".join(p.text for p in parts),
        grounded=all(p.grounded for p in parts),
        composer=first.composer,
        kind="multipart" if len(parts) > 1 else first.kind,
        needs_human=any(p.needs_human for p in parts),
        evidence=[e for p in parts for e in p.evidence],
        similarity=min((p.similarity for p in parts if p.similarity is not None), default=None),
        same_language=all(p.same_language for p in parts),
    )
    for part in parts:
        for citation in part.citations:
            merged.add_citation(citation)
        for warning in part.warnings:
            merged.add_warning(warning)
    merged.parts = parts
    return merged
