"""Boilerplate repeated across pages (the same chunk text) is embedded once per sync; every chunk
keeps its own id, metadata and citation, and shares the one vector."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from knowledge.index import KnowledgeBase
from knowledge.sources import load_manifest
from knowledge.sync import same_text_key, sync_manifest
from tests.knowledge.sync.test_sync import sitemap
from tests.sites import LoopbackSite, serve_site

SHIPPING = ("Spediamo in tutta Italia in 24-48 ore. La spedizione è gratuita da 49 euro, sotto costa 5,90 euro; "
            "il numero di tracciamento arriva per email.")
RETURNS = "Hai 30 giorni per il reso: gratuito in negozio, 4,90 euro con il corriere."


def variant(size: str) -> str:
    """One size of one product: its own line, then the shop's sections every product page repeats."""
    return (f"<html lang='it'><head><title>Casco Urban | Kayak Point</title></head><body><main>"
            f"<h1>Casco Urban</h1><h2>Taglia</h2><p>Questa pagina è la taglia {size} del Casco Urban, "
            f"per una circonferenza della testa da misurare in centimetri.</p>"
            f"<h2>Spedizione</h2><p>{SHIPPING}</p><h2>Resi</h2><p>{RETURNS}</p></main></body></html>")


class RecordingEmbedder:
    """The session's real embedder, recording every passage text it is given."""

    def __init__(self, inner) -> None:  # noqa: ANN001 - knowledge.index.Embedder
        self.inner = inner
        self.name = inner.name
        self.texts: list[str] = []

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        self.texts.extend(texts)
        return self.inner.embed_passages(texts)

    def embed_query(self, text: str) -> np.ndarray:
        return self.inner.embed_query(text)


@pytest.fixture()
def shop(tmp_path: Path) -> Iterator[tuple[Path, LoopbackSite]]:
    with serve_site({}) as site:
        paths = [f"/casco-urban/{size}/" for size in ("s", "m", "l")]
        for path in paths:
            site.set(path, variant(path.split("/")[2].upper()))
        site.set("/sitemap.xml", sitemap(site.base_url, paths), "application/xml")
        manifest = tmp_path / "sources.yaml"
        manifest.write_text(
            f"brand: Kayak Point\nlanguage: it\ntimezone: Europe/Rome\nsources:\n"
            f"  - id: site\n    type: website\n    url: {site.base_url}/sitemap.xml\n",
            encoding="utf-8",
        )
        yield manifest, site


def test_boilerplate_repeated_across_pages_is_embedded_once_and_each_chunk_keeps_its_page(
    shop: tuple[Path, LoopbackSite], tmp_path: Path, embedder
) -> None:
    manifest, site = shop
    recording = RecordingEmbedder(embedder)
    report = sync_manifest(load_manifest(manifest), data_dir=tmp_path / "data", embedder=recording)
    kb = KnowledgeBase.open(tmp_path / "data", embedder=embedder)
    shipping = [c for c in kb.chunks if SHIPPING in c.text]

    assert len(recording.texts) == len({same_text_key(t) for t in recording.texts})  # no text twice
    assert report.chunks_embedded == report.chunks_unique < report.chunks_total
    assert sorted(c.metadata["url"] for c in shipping) == sorted(site.url(f"/casco-urban/{s}/") for s in "sml")
    assert len({c.chunk_id for c in shipping}) == 3
    vectors = [kb.vector_of(c.chunk_id) for c in shipping]
    assert all(v is not None and np.array_equal(v, vectors[0]) for v in vectors)


def test_a_new_page_of_known_boilerplate_embeds_only_its_own_text(
    shop: tuple[Path, LoopbackSite], tmp_path: Path, embedder
) -> None:
    manifest, site = shop
    sync_manifest(load_manifest(manifest), data_dir=tmp_path / "data", embedder=embedder)
    paths = [f"/casco-urban/{size}/" for size in ("s", "m", "l", "xl")]
    site.set("/casco-urban/xl/", variant("XL"))
    site.set("/sitemap.xml", sitemap(site.base_url, paths), "application/xml")
    recording = RecordingEmbedder(embedder)
    report = sync_manifest(load_manifest(manifest), data_dir=tmp_path / "data", embedder=recording)

    assert report.index_changed
    assert [("taglia XL" in t) for t in recording.texts] == [True]  # the shipping and returns vectors are reused


def test_texts_that_differ_only_in_spacing_are_one_text() -> None:
    assert same_text_key("Spedizione\n  gratuita da 49 euro ") == same_text_key("Spedizione gratuita da 49 euro")
    assert same_text_key("Spedizione gratuita") != same_text_key("spedizione gratuita")
