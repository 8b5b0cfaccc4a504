"""The FAQ source: a CSV, JSON or YAML list of question/answer pairs kept by a content team.

One Document per entry.  Its key comes from the question, not the row, so re-ordering the
file keeps every document (and chunk) id.

Help-centre exports repeat questions (the same question with another answer, often in two
sections), and the file is read as it is:

- copies that also give the same answer are one entry (the newest date is kept);
- questions that get different answers are indexed as separate documents, and each records the
  question's plain key and its own place in the file (`data["faq"]["same_question"]`,
  `data["faq"]["line"]`) so the health report can ask for the answers to be merged. Their keys
  are the question's key plus a short hash of what tells the entries apart: the entry's URL
  (anchor included) when no other copy shares it, else its answer. Neither depends on the row's
  position, and an entry whose question is not repeated keeps the question's key alone.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, replace
from datetime import datetime

from knowledge.documents import Document
from knowledge.errors import FeedProblem, SourceFormatError
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.files import SourceFile, decode_text, file_format
from knowledge.sources.rows import (
    Row,
    Table,
    csv_table,
    json_table,
    parse_feed_date,
    plain_text,
    resolve_link,
    yaml_table,
)
from knowledge.text import detect_language, stable_key

# Header names a person may write (after lower-casing; spaces become '_'), by canonical column.
ALIASES = {
    "domanda": "question",
    "answer_text": "answer",
    "risposta": "answer",
    "aggiornato_il": "updated_at",
    "aggiornato": "updated_at",
    "ultimo_aggiornamento": "updated_at",
    "last_updated": "updated_at",
    "updated": "updated_at",
    "link": "url",
    "pagina": "url",
}


def parse_faq(
    data: bytes,
    name: str,
    *,
    spec: SourceSpec,
    manifest: Manifest,
    now: datetime,
    media_type: str | None = None,
    charset: str | None = None,
) -> list[Document]:
    """Documents for every entry; any bad entry fails the whole source with a message naming it."""
    try:
        table = _read_table(SourceFile(data, name, media_type, charset))
        table.require_columns("question", "answer")
        if not table.rows:
            raise FeedProblem(f"{name}: no FAQ entries found — add rows under the header 'question,answer'")
        entries = [_entry(position, row, spec, manifest) for position, row in enumerate(table.rows)]
    except FeedProblem as exc:
        raise SourceFormatError(spec.id, str(exc)) from None
    groups: dict[str, list[_Entry]] = {}
    for entry in entries:
        groups.setdefault(entry.question_key, []).append(entry)
    documents: list[tuple[int, Document]] = []
    for group in groups.values():
        kept = _distinct_answers(group)
        for entry in kept:
            key = _entry_key(entry, kept)
            documents.append((entry.position, _document(entry, key, spec, manifest, now, repeated=len(kept) > 1)))
    return [document for _, document in sorted(documents, key=lambda item: item[0])]


@dataclass(frozen=True)
class _Entry:
    position: int  # in the file, to keep its order
    where: str  # "faq.csv line 7"
    question: str
    answer: str
    url: str | None
    updated_at: datetime | None

    @property
    def question_key(self) -> str:
        return stable_key(self.question)

    @property
    def same_answer(self) -> str:
        return " ".join(self.answer.casefold().split())


def _read_table(source: SourceFile) -> Table:
    fmt = file_format(source)
    text = decode_text(source.data, source.name, source.charset)
    if fmt == "json":
        return json_table(text, source.name, ALIASES)
    if fmt == "yaml":
        return yaml_table(text, source.name, ALIASES)
    if fmt == "csv":
        return csv_table(text, source.name, ALIASES)
    raise FeedProblem(f"{source.name}: an FAQ source must be CSV, JSON or YAML, not {fmt.upper()}")


def _distinct_answers(group: list[_Entry]) -> list[_Entry]:
    """The entries of one question, copies with the same answer made one (dated by the newest)."""
    kept: dict[str, _Entry] = {}
    for entry in group:
        first = kept.setdefault(entry.same_answer, entry)
        if first is not entry and entry.updated_at and (first.updated_at is None or entry.updated_at > first.updated_at):
            kept[entry.same_answer] = replace(first, updated_at=entry.updated_at)
    return list(kept.values())


def _entry_key(entry: _Entry, entries: list[_Entry]) -> str:
    """The question's key; for a question asked more than once, plus a hash of the entry's URL
    when no other entry shares it, else of its answer (see the module docstring)."""
    if len(entries) == 1:
        return entry.question_key
    own_url = entry.url is not None and sum(1 for e in entries if e.url == entry.url) == 1
    tell_apart = f"url:{entry.url}" if own_url else f"answer:{entry.same_answer}"
    return f"{entry.question_key}-{hashlib.sha1(tell_apart.encode('utf-8')).hexdigest()[:8]}"


def _entry(position: int, row: Row, spec: SourceSpec, manifest: Manifest) -> _Entry:
    question = plain_text(row.required("question", "write the question or delete the entry"))
    answer = plain_text(row.required("answer", "write the answer or delete the entry"))
    try:
        url = resolve_link(row.value("url"), spec.base_url or spec.url)
    except ValueError as exc:
        raise row.problem("url", str(exc)) from None
    updated_at = None
    if row.value("updated_at"):
        try:
            updated_at = parse_feed_date(row.value("updated_at"), manifest.tz)
        except ValueError as exc:
            raise row.problem("updated_at", str(exc)) from None
    return _Entry(position, row.where, question, answer, url, updated_at)


def _document(
    entry: _Entry, key: str, spec: SourceSpec, manifest: Manifest, now: datetime, *, repeated: bool
) -> Document:
    question, answer = entry.question, entry.answer
    faq: dict[str, str] = {"question": question, "answer": answer}
    if repeated:
        faq |= {"same_question": entry.question_key, "line": entry.where}
    return Document(
        source_id=spec.id,
        source_type=spec.type,
        kind="faq",
        key=key,
        url=entry.url,
        title=question,
        text=f"{question}\n\n{answer}",
        # Help-centre exports often mix languages (a few English entries in an Italian FAQ):
        # each entry gets its own, unless the manifest pins the source's language.
        language=spec.language or detect_language(f"{question} {answer}", default=manifest.language),
        updated_at=entry.updated_at,
        updated_at_evidence="feed:updated_at" if entry.updated_at else "none",
        fetched_at=now,
        data={"faq": faq},
    )
