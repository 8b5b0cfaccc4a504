"""The FAQ source: a CSV, JSON or YAML list of question/answer pairs kept by a content team.

One Document per entry.  Its key comes from the question, not the row, so re-ordering the
file keeps every document (and chunk) id.
"""

from __future__ import annotations

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
        documents: list[Document] = []
        first_seen: dict[str, str] = {}
        for row in table.rows:
            document = _document(row, spec, manifest, now)
            if document.key in first_seen:
                raise FeedProblem(
                    f"{row.where}: the same question is already at {first_seen[document.key]}"
                    " — merge the two answers into one entry"
                )
            first_seen[document.key] = row.where
            documents.append(document)
    except FeedProblem as exc:
        raise SourceFormatError(spec.id, str(exc)) from None
    return documents


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


def _document(row: Row, spec: SourceSpec, manifest: Manifest, now: datetime) -> Document:
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
    return Document(
        source_id=spec.id,
        source_type=spec.type,
        kind="faq",
        key=stable_key(question),
        url=url,
        title=question,
        text=f"{question}\n\n{answer}",
        # Help-centre exports often mix languages (a few English entries in an Italian FAQ):
        # each entry gets its own, unless the manifest pins the source's language.
        language=spec.language or detect_language(f"{question} {answer}", default=manifest.language),
        updated_at=updated_at,
        updated_at_evidence="feed:updated_at" if updated_at else "none",
        fetched_at=now,
        data={"faq": {"question": question, "answer": answer}},
    )
