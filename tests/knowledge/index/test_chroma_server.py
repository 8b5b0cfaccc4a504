"""The index in a `chroma run` server: synced into it, searched from it, and what happens while it
is down (lexical-only, each passage still scored by meaning) and once it is back (dense again,
without reopening). Every test runs a real server process on loopback and stops it for real."""

from __future__ import annotations

from pathlib import Path

import pytest

from knowledge.index import KnowledgeBase
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest
from tests.conftest import ChromaServer

FAQ_CSV = """question,answer,updated_at,url
Quanto costa la spedizione?,La spedizione costa 5 euro ed è gratuita sopra i 60 euro.,2026-11-01,/faq#spedizione
Posso restituire un ordine?,Hai 14 giorni per il reso gratuito in negozio o con il corriere.,2026-11-01,/faq#resi
Quali metodi di pagamento accettate?,"Accettiamo carta di credito, PayPal e bonifico bancario.",2026-11-01,/faq#pagamenti
Fate il noleggio di kayak?,Noleggiamo kayak biposto a 40 euro al giorno con giubbotto incluso.,2026-11-01,/faq#noleggio
Organizzate corsi per principianti?,I corsi per principianti durano tre sabati mattina e costano 120 euro.,2026-11-01,/faq#corsi
"""
QUESTION = "quanto costa noleggiare un kayak per un giorno?"
ANSWER_URL = "https://kayak.example/faq#noleggio"


def faq_brand(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "faq.csv").write_text(FAQ_CSV, encoding="utf-8")
    manifest = folder / "sources.yaml"
    manifest.write_text(
        "brand: Kayak Point\nlanguage: it\ntimezone: Europe/Rome\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://kayak.example\n",
        encoding="utf-8",
    )
    return manifest


@pytest.fixture()
def synced(tmp_path: Path, chroma: ChromaServer, embedder) -> Path:
    """The FAQ brand synced into the Chroma server; returns the data dir (the catalog)."""
    data_dir = tmp_path / "data"
    sync_manifest(load_manifest(faq_brand(tmp_path / "brand")), data_dir=data_dir, chroma_url=chroma.url,
                  embedder=embedder)
    return data_dir


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sync_into_a_chroma_server_writes_no_local_vectors_and_serves_from_the_server(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    kb = KnowledgeBase.open(synced, chroma_url=chroma.url, embedder=embedder, in_memory_limit=0)
    top = kb.search(QUESTION, k=1, mode="dense")
    assert not (synced / "chroma").exists()
    assert not kb.vectors_in_memory
    assert top[0].url == ANSWER_URL
    assert not top[0].lexical_only


def test_while_the_chroma_server_is_down_search_is_lexical_only_with_the_same_similarity(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    kb = KnowledgeBase.open(synced, chroma_url=chroma.url, embedder=embedder, in_memory_limit=0, retry_seconds=0)
    before = kb.search(QUESTION, k=1, mode="dense")[0]
    chroma.stop()
    during = kb.search(QUESTION, k=1, mode="dense")[0]
    assert kb.vector_outage is not None
    assert during.lexical_only
    assert during.chunk_id == before.chunk_id
    # Embedded here by the same model: the similarity the grounding check reads is the server's.
    assert during.dense_score == pytest.approx(before.dense_score, abs=1e-3)


def test_dense_search_resumes_when_the_chroma_server_is_back_without_reopening(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    kb = KnowledgeBase.open(synced, chroma_url=chroma.url, embedder=embedder, in_memory_limit=0, retry_seconds=0)
    chroma.stop()
    assert kb.search(QUESTION, k=1, mode="hybrid")[0].lexical_only
    chroma.start()
    after = kb.search(QUESTION, k=1, mode="hybrid")[0]
    assert not after.lexical_only
    assert kb.vector_outage is None
    assert after.url == ANSWER_URL


def test_a_knowledge_base_opened_while_the_server_is_down_copies_the_vectors_once_it_answers(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    chroma.stop()
    kb = KnowledgeBase.open(synced, chroma_url=chroma.url, embedder=embedder, retry_seconds=0)
    down = kb.search(QUESTION, k=1, mode="dense")
    chroma.start()
    up = kb.search(QUESTION, k=1, mode="dense")
    assert down[0].lexical_only and down[0].url == ANSWER_URL
    assert not up[0].lexical_only
    assert kb.vectors_in_memory
    assert kb.dense_scores(kb.query_vector(QUESTION)) is not None


def test_the_server_is_asked_again_only_once_the_retry_interval_has_passed(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    clock = Clock()
    kb = KnowledgeBase(  # opened as `open` does, with a clock the test moves
        *_parts(synced, chroma, embedder), in_memory_limit=0, retry_seconds=5.0, clock=clock
    )
    chroma.stop()
    assert kb.search(QUESTION, k=1, mode="dense")[0].lexical_only
    chroma.start()
    clock.now += 4.9
    too_soon = kb.search(QUESTION, k=1, mode="dense")[0]
    clock.now += 0.2
    due = kb.search(QUESTION, k=1, mode="dense")[0]
    assert too_soon.lexical_only
    assert not due.lexical_only


def test_a_vector_search_without_the_question_finds_nothing_while_the_server_is_down(
    synced: Path, chroma: ChromaServer, embedder
) -> None:
    kb = KnowledgeBase.open(synced, chroma_url=chroma.url, embedder=embedder, in_memory_limit=0, retry_seconds=0)
    vector = kb.query_vector(QUESTION)
    chroma.stop()
    assert kb.search_vector(vector, k=1) == []
    found = kb.search_vector(vector, k=1, query=QUESTION)
    assert found[0].lexical_only and found[0].url == ANSWER_URL


def _parts(data_dir: Path, chroma: ChromaServer, embedder):  # noqa: ANN202 - (catalog, index, embedder)
    from knowledge.index import Catalog, ChunkIndex, chroma_client

    catalog = Catalog(data_dir)
    name = catalog.meta("active_collection")
    assert name is not None
    return catalog, ChunkIndex(chroma_client(data_dir, chroma.url), name, create=False), embedder
