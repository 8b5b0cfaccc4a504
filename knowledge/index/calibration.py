"""How this embedder scores unrelated questions on this knowledge base: the yardstick for "a strong
match", measured at each sync and stored with the index.

Cosine similarities of a sentence-embedding model are compressed and model-specific (with
multilingual-e5 an unrelated question still scores ~0.8 against any passage), so a fixed
threshold would be one model's and one brand's. Instead the sync asks questions no brand answers
(`calibration_questions.yaml`: weather, sport, maths, jokes, in several languages), takes each
one's best similarity against this index's chunks, and keeps that null distribution. A match is
then judged by how far it stands above it (`Calibration.z`), whatever the model or the brand.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from functools import cache
from typing import Any

import numpy as np
import yaml

from knowledge.index.embedding import Embedder
from knowledge.index.vectors import package_file, sentence_vectors, sentences_of

__all__ = ["Calibration", "calibrate", "calibration_questions"]

_QUESTIONS = "calibration_questions.yaml"


@dataclass(frozen=True)
class Calibration:
    """The null distribution of best-passage similarity for questions this index cannot answer."""

    embedder: str
    questions: int
    mean: float
    std: float
    q50: float
    q90: float
    q95: float
    q99: float
    top: float
    def z(self, similarity: float) -> float:
        """How many null standard deviations `similarity` stands above the null mean."""
        return (similarity - self.mean) / (self.std or 1e-6)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        # Indexes synced before a field existed lack it: its default stands.
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


@cache
def calibration_questions() -> tuple[str, ...]:
    data = yaml.safe_load(package_file("knowledge.index", _QUESTIONS).read_text(encoding="utf-8"))
    return tuple(sentences_of(data))


def calibrate(chunk_vectors: np.ndarray, embedder: Embedder) -> Calibration:
    """The calibration of an index whose (unit-length) chunk vectors are `chunk_vectors`."""
    questions = calibration_questions()
    vectors = sentence_vectors(package_file("knowledge.index", _QUESTIONS), questions, embedder)
    if chunk_vectors.size == 0 or vectors.shape[1] != chunk_vectors.shape[1]:
        best = np.zeros(len(questions), dtype=np.float32)
    else:
        best = (vectors @ chunk_vectors.T).max(axis=1)
    q50, q90, q95, q99 = (float(np.quantile(best, q)) for q in (0.5, 0.9, 0.95, 0.99))
    return Calibration(
        embedder=embedder.name,
        questions=len(questions),
        mean=float(best.mean()),
        std=float(best.std()),
        q50=q50,
        q90=q90,
        q95=q95,
        q99=q99,
        top=float(best.max()),
    )

