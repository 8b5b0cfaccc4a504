"""One source unit per answer: an FAQ entry's whole answer, or the best sentences of one page
passage, cleaned for a chat bubble.

Replies made of sentences picked across several sources read as spliced ("a delivery-time answer
ending with a sentence about refunds"). A unit is what one source says about one thing: the FAQ
entry as its authors wrote it, or one passage of a page.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from agent.answers.extractive import Evidence, passage_body, select_evidence, sentences
from knowledge import Document
from knowledge.index import Passage
from knowledge.text import search_tokens

__all__ = ["AnswerUnit", "answer_units", "chat_text", "cut_at_sentence"]

# Chat bubbles: WhatsApp and Telegram take 4,096 characters; a reply people read on a phone is
# much shorter. Long FAQ answers are cut at a sentence boundary under this.
MAX_UNIT_CHARS = 900

_MARKDOWN_LINK = re.compile(r"\[([^\]]+)\]\((?:[^)]+)\)")
_EMPHASIS = re.compile(r"(\*\*|__|\*|_|`)(?=\S)(.+?)(?<=\S)\1")
_BULLET = re.compile(r"^\s*(?:[-*•·▪‣◦]|\d{1,2}[.)])\s+")
_HEADING = re.compile(r"^\s*#{1,6}\s*")
_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+")


@dataclass(frozen=True)
class AnswerUnit:
    doc_id: str
    kind: str  # faq | page | product | store
    passage: Passage  # the unit's best-ranked passage (its dense score is the match strength)
    text: str  # what a reply quotes
    evidence: tuple[Evidence, ...] = ()  # for a page: the sentences chosen
    support: float = 0.0  # how much of the question's wording the quoted text carries (IDF-weighted)

    @property
    def similarity(self) -> float:
        return self.passage.dense_score or 0.0


def chat_text(text: str, limit: int = MAX_UNIT_CHARS) -> str:
    """Plain text a chat shows as written: no markdown, list items as sentences, one paragraph."""
    lines = []
    for raw in text.replace("\r\n", "\n").split("\n"):
        line = _HEADING.sub("", _BULLET.sub("", raw)).strip()
        if not line or set(line) <= set("-|:= "):
            continue
        line = _MARKDOWN_LINK.sub(r"\1", line)
        line = _EMPHASIS.sub(r"\2", line)
        line = line.replace("|", " ").strip()
        if line and line[-1] not in ".!?:;…":
            line += "."
        lines.append(" ".join(line.split()))
    return cut_at_sentence(" ".join(lines), limit)


def cut_at_sentence(text: str, limit: int = MAX_UNIT_CHARS) -> str:
    """The longest run of whole sentences under `limit` (a single long sentence is cut at a word)."""
    if len(text) <= limit:
        return text
    kept = ""
    for sentence in _SENTENCE_END.split(text):
        candidate = f"{kept} {sentence}".strip()
        if len(candidate) > limit:
            break
        kept = candidate
    if kept:
        return kept
    return text[:limit].rsplit(" ", 1)[0].rstrip(",;:") + "…"


def answer_units(
    question: str,
    passages: list[Passage],
    documents: dict[str, Document],
    idf: Callable[[str], float],
    *,
    clean: Callable[[str], str],
    language: str | None,
    limit: int = MAX_UNIT_CHARS,
) -> list[AnswerUnit]:
    """The retrieved passages grouped by document, best first, each as the unit a reply quotes."""
    units: list[AnswerUnit] = []
    seen: set[str] = set()
    for passage in passages:
        if passage.doc_id in seen:
            continue
        seen.add(passage.doc_id)
        document = documents.get(passage.doc_id)
        faq = document.data.get("faq") if document is not None else None
        if isinstance(faq, dict) and faq.get("answer"):
            text = chat_text(clean(str(faq["answer"])), limit)
            if text:
                support = _support(question, f"{faq.get('question', '')} {text}", idf)
                units.append(AnswerUnit(passage.doc_id, "faq", passage, text, support=support))
            continue
        if document is not None:
            # A chunk can start or end mid-sentence: read the passage's sentences whole from its document.
            passage = replace(passage, text=_whole_sentences(passage, document.text))
        evidence = select_evidence(question, [passage], idf, clean=clean, language=language)
        if not evidence:
            # Nothing in the passage shares a word with the question (another language, a
            # paraphrase): its opening sentences stand for it.
            opening = [s for s in sentences(clean(passage_body(passage)))][:2]
            evidence = [Evidence(s, passage, 0.0) for s in opening]
        text = chat_text(" ".join(e.sentence for e in evidence), limit)
        if text:
            support = _support(question, f"{passage.title} {passage.heading} {text}", idf)
            units.append(AnswerUnit(passage.doc_id, passage.kind or "page", passage, text, tuple(evidence), support))
    return units


def _support(question: str, text: str, idf: Callable[[str], float]) -> float:
    asked = set(search_tokens(question))
    if not asked:
        return 0.0
    present = set(search_tokens(text))
    total = sum(idf(t) for t in asked)
    return sum(idf(t) for t in asked & present) / total if total else 0.0


def _whole_sentences(passage: Passage, document_text: str) -> str:
    """The passage with its first and last sentence completed from the document it was cut from."""
    first, _, body = passage.text.partition("\n")
    header = first if body and first.startswith(passage.title) else ""
    body = body if header else passage.text
    probe = body.strip()[:60]
    start = document_text.find(probe) if probe else -1
    if start < 0:
        return passage.text
    end = start + len(body.strip())
    # Back to the start of the sentence, forward to its end (or the end of the paragraph).
    while start > 0 and document_text[start - 1] not in ".!?\n":
        start -= 1
    match = _SENTENCE_CLOSE.search(document_text, max(end - 1, start))
    end = match.end() if match else len(document_text)
    whole = document_text[start:end].strip()
    return f"{header}\n{whole}" if header else whole


_SENTENCE_CLOSE = re.compile(r"[.!?](?=\s|$)|\n")
