"""Chunking: token-bounded chunks that carry their title and heading, with stable ids."""

from __future__ import annotations

from datetime import UTC, datetime

from knowledge.documents import Document
from knowledge.index import ChunkingPolicy, chunk_document, count_tokens


def page(text: str, title: str = "Spedizioni") -> Document:
    return Document("site", "website", "page", "https://shop.example/spedizioni", "https://shop.example/spedizioni",
                    title, text, "it", None, "none", datetime(2026, 1, 1, tzinfo=UTC))


def test_every_chunk_starts_with_the_title_and_its_heading() -> None:
    chunks = chunk_document(page("# Spedizioni\nIntro.\n## Costi\nLa spedizione costa 6,90 €.\n## Tempi\nDue giorni."))
    assert [c.text.splitlines()[0] for c in chunks] == ["Spedizioni", "Spedizioni › Costi", "Spedizioni › Tempi"]


def test_long_sections_are_split_within_the_token_budget() -> None:
    policy = ChunkingPolicy(max_tokens=80, overlap_tokens=10)
    chunks = chunk_document(page("## Costi\n" + "La spedizione standard costa 6,90 euro. " * 80), policy)
    assert len(chunks) > 5
    # the heading line is added on top of the body budget
    assert all(count_tokens(c.text) <= 80 + 12 for c in chunks)


def test_chunk_ids_are_stable_across_runs_and_carry_provenance_metadata() -> None:
    document = page("## Costi\nLa spedizione costa 6,90 €.")
    first, second = chunk_document(document), chunk_document(document)
    assert [c.id for c in first] == [c.id for c in second]
    meta = first[0].metadata
    for key in ("source_id", "source_type", "url", "title", "updated_at", "updated_at_evidence", "fetched_at",
                "content_hash", "language"):
        assert key in meta


def test_token_counts_work_offline_with_the_bundled_encoding() -> None:
    assert count_tokens("Quando aprite domenica?") > 3
