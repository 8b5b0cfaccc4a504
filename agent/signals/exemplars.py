"""Reading a message by meaning: its nearest example sentences (`agent/languages/exemplars.yaml`,
written in several languages and for every sector), compared with the turn's own query vector.

The vote is among the k nearest examples, so no similarity constant is needed: a message about a
"fire red" kettle sits among the ordinary product questions, one about a kettle that caught fire
among the safety reports. Each label is a path in the file (`sensitive.injury`,
`acts.greeting`, `benign`).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import yaml

from knowledge.index import Embedder, sentence_vectors

__all__ = ["EXEMPLARS_FILE", "ExemplarVote", "Exemplars", "load_exemplars"]

EXEMPLARS_FILE = Path(__file__).resolve().parents[1] / "languages" / "exemplars.yaml"
NEIGHBOURS = 7


@dataclass(frozen=True)
class ExemplarVote:
    label: str  # the majority label among the nearest examples ("" when none has a majority)
    votes: int  # how many of the nearest examples carry it
    neighbours: int
    similarity: float  # the nearest example's similarity
    nearest: str  # the nearest example's label
    text: str  # the nearest example itself (for traces)

    def is_(self, prefix: str) -> bool:
        return self.label == prefix or self.label.startswith(prefix + ".")


@dataclass(frozen=True)
class Exemplars:
    labels: tuple[str, ...]
    texts: tuple[str, ...]
    matrix: np.ndarray  # unit rows, one per example

    def vote(self, vector: np.ndarray, k: int = NEIGHBOURS) -> ExemplarVote:
        """The majority label of the `k` nearest examples to a unit query vector."""
        if not len(self.labels):
            return ExemplarVote("", 0, 0, 0.0, "", "")
        scores = self.matrix @ vector
        k = min(k, len(self.labels))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        counts = Counter(self.labels[i] for i in top)
        label, votes = counts.most_common(1)[0]
        if votes * 2 <= k:  # no majority: the message is between kinds
            label = ""
        first = int(top[0])
        return ExemplarVote(label, votes, k, float(scores[first]), self.labels[first], self.texts[first])


def _flatten(node: object, path: str) -> list[tuple[str, str]]:
    """(label, sentence) pairs; a language code level is not part of the label."""
    if isinstance(node, str):
        return [(path, node)]
    if isinstance(node, list):
        return [pair for item in node for pair in _flatten(item, path)]
    if isinstance(node, dict):
        out: list[tuple[str, str]] = []
        for key, value in node.items():
            is_language = isinstance(value, list) and len(str(key)) in (2, 3) and str(key).isalpha()
            out += _flatten(value, path if is_language else (f"{path}.{key}" if path else str(key)))
        return out
    return []


@cache
def _pairs() -> tuple[tuple[str, str], ...]:
    return tuple(_flatten(yaml.safe_load(EXEMPLARS_FILE.read_text(encoding="utf-8")), ""))


def load_exemplars(embedder: Embedder) -> Exemplars:
    """The examples and their vectors (shipped for the bundled embedder, else embedded once)."""
    pairs = _pairs()
    texts = [text for _, text in pairs]
    matrix = sentence_vectors(EXEMPLARS_FILE, texts, embedder)
    return Exemplars(tuple(label for label, _ in pairs), tuple(texts), matrix)
