"""`sportello eval retrieval SUITE`: recall@k and MRR of BM25-only, dense-only and hybrid search on
the suite's cases that name the source they must cite — the numbers behind the default mode.

A hit is a passage whose source id or url contains one of the case's `cite` entries (the same
rule as citation scoring).  The query is the case's customer turns joined in order: a follow-up
("Avete il parcheggio?") only makes sense with the turn before it.  Timings: per query for each
mode (after one warm-up query), and the embedding model alone (query and passage).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np
from rich.table import Table

from evals.metrics import percentile
from evals.scoring import cite_matches
from evals.suite import Suite

if TYPE_CHECKING:
    from knowledge.index import Embedder

MODES = ("bm25", "dense", "hybrid")
KS = (1, 5, 10)
_PASSAGE_SAMPLE = 32


@dataclass(frozen=True)
class RetrievalCase:
    id: str
    query: str
    cite: tuple[str, ...]
    lang: str | None = None


def retrieval_cases(suite: Suite) -> list[RetrievalCase]:
    return [
        RetrievalCase(case.id, " ".join(case.turns), case.cite, case.lang)
        for case in suite.cases
        if case.cite and not case.unanswerable
    ]


def first_hit(passages: list[Any], cite: tuple[str, ...]) -> int | None:
    """1-based rank of the first passage matching a cite entry, None when none does."""
    for rank, passage in enumerate(passages, 1):
        if any(cite_matches(entry, passage.source_id, passage.url) for entry in cite):
            return rank
    return None


def recall_at(ranks: list[int | None], k: int) -> float | None:
    if not ranks:
        return None
    return round(sum(1 for r in ranks if r is not None and r <= k) / len(ranks), 4)


def mean_reciprocal_rank(ranks: list[int | None]) -> float | None:
    if not ranks:
        return None
    return round(sum(1 / r for r in ranks if r is not None) / len(ranks), 4)


class TimedEmbedder:
    """Wraps the index's embedder to time query embeddings apart from the search around them."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.name = inner.name
        self.query_ms: list[float] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        started = time.perf_counter()
        vector = self.inner.embed_query(text)
        self.query_ms.append((time.perf_counter() - started) * 1000)
        return vector


def benchmark(
    kb: Any,
    cases: list[RetrievalCase],
    *,
    suite_name: str,
    run_at: datetime,
    modes: tuple[str, ...] = MODES,
    ks: tuple[int, ...] = KS,
    embedder: TimedEmbedder | None = None,
) -> dict[str, Any]:
    """Run every case in every mode on `kb` (a knowledge.search.KnowledgeBase); the JSON report."""
    depth = max(ks)
    per_case: dict[str, dict[str, int | None]] = {case.id: {} for case in cases}
    results: dict[str, Any] = {}
    query_embedding_ms: list[float] = []
    for mode in modes:
        kb.search("warm up", k=1, mode=mode)  # first call loads models and caches; not timed
        if embedder is not None:
            embedder.query_ms.clear()
        timings: list[float] = []
        ranks: list[int | None] = []
        for case in cases:
            started = time.perf_counter()
            passages = kb.search(case.query, k=depth, mode=mode)
            timings.append((time.perf_counter() - started) * 1000)
            rank = first_hit(passages, case.cite)
            ranks.append(rank)
            per_case[case.id][mode] = rank
        if embedder is not None and mode == "dense":
            query_embedding_ms = list(embedder.query_ms)
        results[mode] = {
            **{f"recall@{k}": recall_at(ranks, k) for k in ks},
            "mrr": mean_reciprocal_rank(ranks),
            "query_ms_p50": percentile(timings, 50),
            "query_ms_p95": percentile(timings, 95),
        }
    return {
        "version": 1,
        "suite": suite_name,
        "run_at": run_at.isoformat(timespec="seconds"),
        "cases": len(cases),
        "ks": list(ks),
        "modes": results,
        "best_mode": _best(results),
        "embedding": _embedding_timings(kb, embedder, query_embedding_ms),
        "per_case": [
            {"id": case.id, "query": case.query, "cite": list(case.cite), "first_hit": per_case[case.id]}
            for case in cases
        ],
    }


def _best(results: dict[str, Any]) -> str | None:
    scored = [(m, r) for m, r in results.items() if r.get("mrr") is not None]
    if not scored:
        return None
    # MRR first, then recall@5, then the cheaper mode (list order: bm25 < dense < hybrid).
    order = {m: i for i, m in enumerate(MODES)}
    return max(scored, key=lambda item: (item[1]["mrr"], item[1].get("recall@5") or 0, -order.get(item[0], 0)))[0]


def _embedding_timings(kb: Any, embedder: TimedEmbedder | None, query_ms: list[float]) -> dict[str, Any]:
    if embedder is None:
        return {}
    sample = [chunk.text for chunk in getattr(kb, "chunks", [])[:_PASSAGE_SAMPLE]]
    passage_ms = None
    if sample:
        started = time.perf_counter()
        embedder.embed_passages(sample)
        passage_ms = round((time.perf_counter() - started) * 1000 / len(sample), 2)
    return {
        "model": embedder.name,
        "query_ms_p50": percentile(query_ms, 50),
        "query_ms_p95": percentile(query_ms, 95),
        "passage_ms_mean": passage_ms,
        "passages_timed": len(sample),
        "chunks_in_index": len(getattr(kb, "chunks", [])),
    }


def retrieval_table(report: dict[str, Any]) -> Table:
    ks = report["ks"]
    table = Table(title=f"Retrieval on {report['suite']}: {report['cases']} cases with a citation to find")
    table.add_column("mode")
    for k in ks:
        table.add_column(f"recall@{k}", justify="right")
    for column in ("MRR", "query p50 ms", "query p95 ms"):
        table.add_column(column, justify="right")
    for mode, row in report["modes"].items():
        best = " *" if mode == report.get("best_mode") else ""
        cells = [_fmt(row.get(f"recall@{k}")) for k in ks]
        table.add_row(mode + best, *cells, _fmt(row["mrr"]), _fmt(row["query_ms_p50"], 1), _fmt(row["query_ms_p95"], 1))
    embedding = report.get("embedding") or {}
    if embedding:
        table.caption = (
            f"* best by MRR. Embedding ({embedding['model']}): query p50 {_fmt(embedding['query_ms_p50'], 1)} ms, "
            f"p95 {_fmt(embedding['query_ms_p95'], 1)} ms; passage {_fmt(embedding['passage_ms_mean'], 2)} ms each "
            f"({embedding['chunks_in_index']} chunks in the index)."
        )
    return table


def _fmt(value: Any, digits: int = 3) -> str:
    return "–" if value is None else f"{value:.{digits}f}"
