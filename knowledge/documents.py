"""The units that flow through ingestion: Document (one page, FAQ entry, product or store)
and Chunk (a token-sized piece of a document, the unit that is embedded and retrieved)."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

# Where a document's `updated_at` came from, best evidence first.  Recorded on every
# document and chunk so a reader can judge how much to trust the date.
EVIDENCE_ORDER = (
    "jsonld:dateModified",
    "feed:updated_at",
    "page:visible_date",
    "sitemap:lastmod",
    "http:last-modified",
    "jsonld:datePublished",
    "none",
)


@dataclass(frozen=True)
class Document:
    """One readable unit of brand knowledge with its provenance.

    `key` is stable within its source (the canonical URL of a page, the id of a feed row), so
    re-syncing the same content yields the same document and the same chunk ids.
    `text` is plain text; headings are kept as lines starting with '#'.
    `data` holds structured data: JSON-LD blocks of a page (`data["jsonld"]`), a product's
    fields (`data["product"]`), a store's address and hours (`data["store"]`), an FAQ's
    question and answer (`data["faq"]`).
    """

    source_id: str
    source_type: str
    kind: str  # page | faq | product | store
    key: str
    url: str | None
    title: str
    text: str
    language: str
    updated_at: datetime | None
    updated_at_evidence: str
    fetched_at: datetime
    data: dict[str, Any] = field(default_factory=dict)

    @property
    def content_hash(self) -> str:
        """Hash of what the reader sees and what facts are extracted from (not of fetch times)."""
        payload = json.dumps(
            {
                "title": self.title,
                "text": self.text,
                "url": self.url,
                "updated_at": self.updated_at.isoformat() if self.updated_at else None,
                "data": self.data,
            },
            sort_keys=True,
            default=str,
            ensure_ascii=False,
        )
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]

    @property
    def doc_id(self) -> str:
        return f"{self.source_id}:{self.key}"


@dataclass(frozen=True)
class StoredDocument:
    """A document as the last sync stored it, with the HTTP validators for a conditional re-read."""

    document: Document
    etag: str | None = None
    last_modified: str | None = None


@dataclass(frozen=True)
class Chunk:
    """A token-sized piece of a document: what gets embedded, indexed and cited."""

    id: str
    doc_id: str
    index: int
    text: str  # what is embedded: title/heading path first, then the body
    metadata: dict[str, str | int | float | bool]


def document_to_dict(document: Document) -> dict[str, Any]:
    return {
        "source_id": document.source_id,
        "source_type": document.source_type,
        "kind": document.kind,
        "key": document.key,
        "url": document.url,
        "title": document.title,
        "text": document.text,
        "language": document.language,
        "updated_at": document.updated_at.isoformat() if document.updated_at else None,
        "updated_at_evidence": document.updated_at_evidence,
        "fetched_at": document.fetched_at.isoformat(),
        "data": document.data,
    }


def document_from_dict(raw: dict[str, Any]) -> Document:
    return Document(
        source_id=raw["source_id"],
        source_type=raw["source_type"],
        kind=raw["kind"],
        key=raw["key"],
        url=raw["url"],
        title=raw["title"],
        text=raw["text"],
        language=raw["language"],
        updated_at=datetime.fromisoformat(raw["updated_at"]) if raw["updated_at"] else None,
        updated_at_evidence=raw["updated_at_evidence"],
        fetched_at=datetime.fromisoformat(raw["fetched_at"]),
        data=raw.get("data") or {},
    )
