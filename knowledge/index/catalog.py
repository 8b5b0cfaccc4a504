"""The catalog: what is in the index now, per source, kept in one SQLite file in the data dir.

It holds every document (with its structured data, for facts), every chunk's text and
metadata (for BM25 and for building passages), the HTTP validators used for conditional GET,
and which Chroma collection is live.  A sync writes a whole new state in one transaction
(`Catalog.commit_sync`), so readers see either the old state or the new one.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from knowledge.documents import Chunk, StoredDocument, document_from_dict, document_to_dict

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS documents (
    doc_id TEXT PRIMARY KEY,
    source_id TEXT NOT NULL,
    url TEXT,
    content_hash TEXT NOT NULL,
    etag TEXT,
    last_modified TEXT,
    body TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS documents_source ON documents(source_id);
CREATE TABLE IF NOT EXISTS chunks (
    chunk_id TEXT PRIMARY KEY,
    doc_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    text TEXT NOT NULL,
    metadata TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_doc ON chunks(doc_id);
CREATE TABLE IF NOT EXISTS sources (
    source_id TEXT PRIMARY KEY,
    type TEXT NOT NULL,
    last_sync TEXT,
    last_status TEXT,
    documents INTEGER NOT NULL DEFAULT 0,
    counts TEXT NOT NULL DEFAULT '{}',
    errors TEXT NOT NULL DEFAULT '[]'
);
"""


@dataclass(frozen=True)
class SourceStatus:
    id: str
    type: str
    last_sync: str | None
    last_status: str | None
    documents: int
    counts: dict[str, int] = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StoredChunk:
    chunk_id: str
    doc_id: str
    text: str
    metadata: dict[str, Any]


class Catalog:
    def __init__(self, data_dir: Path) -> None:
        data_dir.mkdir(parents=True, exist_ok=True)
        self.path = data_dir / "catalog.sqlite"
        with self._connect() as db:
            db.executescript(SCHEMA)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        db = sqlite3.connect(self.path, timeout=30)
        try:
            with db:  # one transaction: commit on success, roll back on error
                yield db
        finally:
            db.close()

    # --- reading -------------------------------------------------------------------------
    def meta(self, key: str) -> str | None:
        with self._connect() as db:
            row = db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def documents(self, source_id: str | None = None) -> list[StoredDocument]:
        query = "SELECT body, etag, last_modified FROM documents"
        args: tuple[Any, ...] = ()
        if source_id is not None:
            query += " WHERE source_id = ?"
            args = (source_id,)
        with self._connect() as db:
            rows = db.execute(query + " ORDER BY doc_id", args).fetchall()
        return [StoredDocument(document_from_dict(json.loads(b)), e, lm) for b, e, lm in rows]

    def chunks(self) -> list[StoredChunk]:
        with self._connect() as db:
            rows = db.execute("SELECT chunk_id, doc_id, text, metadata FROM chunks ORDER BY chunk_id").fetchall()
        return [StoredChunk(c, d, t, json.loads(m)) for c, d, t, m in rows]

    def chunk_hashes(self) -> dict[str, str]:
        """chunk id → hash of its text, to reuse embeddings of unchanged chunks."""
        with self._connect() as db:
            rows = db.execute("SELECT chunk_id, metadata FROM chunks").fetchall()
        return {cid: json.loads(meta)["chunk_hash"] for cid, meta in rows}

    def sources(self) -> list[SourceStatus]:
        with self._connect() as db:
            rows = db.execute(
                "SELECT source_id, type, last_sync, last_status, documents, counts, errors FROM sources"
                " ORDER BY source_id"
            ).fetchall()
        return [SourceStatus(r[0], r[1], r[2], r[3], r[4], json.loads(r[5]), json.loads(r[6])) for r in rows]

    # --- writing -------------------------------------------------------------------------
    def commit_sync(
        self,
        *,
        replaced_sources: Iterable[str],
        documents: Iterable[StoredDocument],
        chunks: Iterable[Chunk],
        statuses: Iterable[SourceStatus],
        meta: dict[str, str],
    ) -> None:
        """Replace the documents and chunks of `replaced_sources` and record the sync, atomically."""
        replaced = list(replaced_sources)
        with self._connect() as db:
            for source_id in replaced:
                db.execute(
                    "DELETE FROM chunks WHERE doc_id IN (SELECT doc_id FROM documents WHERE source_id = ?)",
                    (source_id,),
                )
                db.execute("DELETE FROM documents WHERE source_id = ?", (source_id,))
            db.executemany(
                "INSERT INTO documents (doc_id, source_id, url, content_hash, etag, last_modified, body)"
                " VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (
                        sd.document.doc_id,
                        sd.document.source_id,
                        sd.document.url,
                        sd.document.content_hash,
                        sd.etag,
                        sd.last_modified,
                        json.dumps(document_to_dict(sd.document), ensure_ascii=False, default=str),
                    )
                    for sd in documents
                ],
            )
            db.executemany(
                "INSERT INTO chunks (chunk_id, doc_id, position, text, metadata) VALUES (?, ?, ?, ?, ?)",
                [(c.id, c.doc_id, c.index, c.text, json.dumps(c.metadata, ensure_ascii=False)) for c in chunks],
            )
            self._write_statuses(db, statuses)
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(meta.items()),
            )

    def update_validators(self, validators: Iterable[tuple[str, str | None, str | None]]) -> None:
        with self._connect() as db:
            db.executemany(
                "UPDATE documents SET etag = ?, last_modified = ? WHERE doc_id = ?",
                [(etag, last_modified, doc_id) for doc_id, etag, last_modified in validators],
            )

    def record_meta(self, meta: dict[str, str]) -> None:
        with self._connect() as db:
            db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                list(meta.items()),
            )

    def record_statuses(self, statuses: Iterable[SourceStatus]) -> None:
        with self._connect() as db:
            self._write_statuses(db, statuses)

    @staticmethod
    def _write_statuses(db: sqlite3.Connection, statuses: Iterable[SourceStatus]) -> None:
        db.executemany(
            "INSERT INTO sources (source_id, type, last_sync, last_status, documents, counts, errors)"
            " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT(source_id) DO UPDATE SET type = excluded.type,"
            " last_sync = excluded.last_sync, last_status = excluded.last_status,"
            " documents = excluded.documents, counts = excluded.counts, errors = excluded.errors",
            [
                (s.id, s.type, s.last_sync, s.last_status, s.documents, json.dumps(s.counts), json.dumps(s.errors))
                for s in statuses
            ],
        )


def utc_iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds")
