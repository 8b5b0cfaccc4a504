"""The website crawler against real sites on 127.0.0.1 (and a folder through DirectoryTransport)."""

from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from knowledge.errors import SourceError, SourceFormatError, SourceUnreachable
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.web import CrawlResult, DirectoryTransport, PageState, crawl_website_sync, page_title
from tests.sites import closed_port_url, serve_site

NOW = datetime(2026, 5, 4, 9, 0, tzinfo=UTC)
LATER = datetime(2026, 5, 5, 9, 0, tzinfo=UTC)


def page(title: str, body: str, *, lang: str = "it", head: str = "") -> str:
    return (
        f"<!doctype html><html lang='{lang}'><head><title>{title} | Acme</title>{head}</head><body>"
        "<header><nav><a href='/'>Home</a> <a href='/negozi/'>Negozi</a></nav></header>"
        f"<main><h1>{title}</h1>{body}</main><footer>Acme S.p.A. — tutti i diritti riservati</footer></body></html>"
    )


def sitemap(urls: list[str], lastmod: dict[str, str] | None = None) -> str:
    lastmod = lastmod or {}
    rows = "".join(
        f"<url><loc>{u}</loc>" + (f"<lastmod>{lastmod[u]}</lastmod>" if u in lastmod else "") + "</url>"
        for u in urls
    )
    return f'<?xml version="1.0" encoding="UTF-8"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{rows}</urlset>'


def crawl(url: str, previous: dict[str, PageState] | None = None, now: datetime = NOW, **spec: object) -> CrawlResult:
    source = SourceSpec(id="site", type="website", url=url, **spec)
    manifest = Manifest(brand="Acme", sources=[source])
    return crawl_website_sync(source, manifest, previous=previous or {}, now=now, retry_delay=0)


def urls(result: CrawlResult) -> list[str]:
    return sorted(doc.url for doc in result.documents)


def small_site() -> dict[str, object]:
    return {
        "/": page("Home", "<p>Benvenuti nel sito di Acme.</p><a href='/resi/'>Resi</a> <a href='/spedizioni/'>Spedizioni</a>"),
        "/resi/": page("Resi", "<p>Hai 30 giorni per restituire un prodotto.</p>"),
        "/spedizioni/": page("Spedizioni", "<p>Spediamo in 24/48 ore in tutta Italia.</p>"),
    }


# --- sitemaps and robots ---------------------------------------------------------------------------


def test_sitemap_index_is_followed_and_each_page_keeps_its_lastmod() -> None:
    with serve_site() as site:
        site.set("/robots.txt", f"User-agent: *\nAllow: /\nSitemap: {site.url('/sitemap_index.xml')}\n", "text/plain")
        site.set("/sitemap_index.xml", (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{site.url('/pages.xml')}</loc></sitemap>"
            f"<sitemap><loc>{site.url('/stores.xml')}</loc></sitemap></sitemapindex>"
        ), "application/xml")
        site.set("/pages.xml", sitemap([site.url("/resi/")], {site.url("/resi/"): "2026-03-01"}), "application/xml")
        site.set("/stores.xml", sitemap([site.url("/negozi/")], {site.url("/negozi/"): "2026-04-02T10:00:00+00:00"}),
                 "application/xml")
        site.set("/resi/", page("Resi", "<p>Hai 30 giorni per restituire un prodotto.</p>"))
        site.set("/negozi/", page("Negozi", "<p>Due negozi a Milano.</p>"))

        result = crawl(site.url("/sitemap_index.xml"))

        by_url = {doc.url: doc for doc in result.documents}
        assert sorted(by_url) == [site.url("/negozi/"), site.url("/resi/")]
        assert by_url[site.url("/negozi/")].updated_at == datetime(2026, 4, 2, 10, 0, tzinfo=UTC)
        assert by_url[site.url("/negozi/")].updated_at_evidence == "sitemap:lastmod"
        # A date-only lastmod is midnight in the brand's time zone (Europe/Rome, +01:00 on 1 March).
        assert by_url[site.url("/resi/")].updated_at == datetime(2026, 2, 28, 23, 0, tzinfo=UTC)


def test_sitemap_crawl_reads_only_the_listed_pages() -> None:
    with serve_site() as site:
        site.set("/robots.txt", f"Sitemap: {site.url('/map.xml')}\n", "text/plain")
        site.set("/map.xml", sitemap([site.url("/resi/")]), "application/xml")
        site.set("/resi/", page("Resi", "<p>Trenta giorni.</p>"))
        site.set("/", page("Home", "<a href='/spedizioni/'>Spedizioni</a>"))

        result = crawl(site.url("/map.xml"))

        assert urls(result) == [site.url("/resi/")]
        assert "/spedizioni/" not in site.paths()


def test_gzipped_sitemap_is_read() -> None:
    with serve_site() as site:
        site.set("/sitemap.xml.gz", gzip.compress(sitemap([site.url("/resi/")]).encode()), "application/gzip")
        site.set("/resi/", page("Resi", "<p>Trenta giorni.</p>"))

        result = crawl(site.url("/sitemap.xml.gz"))

        assert urls(result) == [site.url("/resi/")]


def test_page_disallowed_by_robots_is_skipped_and_never_requested() -> None:
    with serve_site(small_site()) as site:
        site.set("/robots.txt", "User-agent: SportelloBot\nDisallow: /resi/\n", "text/plain")
        site.set("/sitemap.xml", sitemap([site.url("/"), site.url("/resi/"), site.url("/spedizioni/")]),
                 "application/xml")

        result = crawl(site.url("/sitemap.xml"))

        assert urls(result) == [site.url("/"), site.url("/spedizioni/")]
        assert (site.url("/resi/"), "disallowed by robots.txt") in result.skipped
        assert "/resi/" not in site.paths()


# --- link-following crawl ------------------------------------------------------------------------


def test_start_page_links_are_followed_on_the_same_host_only() -> None:
    pages = small_site()
    pages["/resi/"] = page("Resi", "<p>Trenta giorni.</p><a href='https://elsewhere.example/x'>Partner</a>")
    with serve_site(pages) as site:
        result = crawl(site.url("/"))

        # /negozi/ (linked from the menu) answers 404: requested, then simply absent.
        assert urls(result) == [site.url("/"), site.url("/resi/"), site.url("/spedizioni/")]
        assert sorted(site.paths()) == ["/", "/negozi/", "/resi/", "/robots.txt", "/spedizioni/"]


def test_include_and_exclude_patterns_choose_the_pages() -> None:
    with serve_site(small_site()) as site:
        site.set("/sitemap.xml", sitemap([site.url("/"), site.url("/resi/"), site.url("/spedizioni/")]),
                 "application/xml")

        result = crawl(site.url("/sitemap.xml"), include=[r"/(resi|spedizioni)/"], exclude=[r"/spedizioni/"])

        assert urls(result) == [site.url("/resi/")]
        reasons = dict(result.skipped)
        assert reasons[site.url("/")] == "not matched by include patterns"
        assert reasons[site.url("/spedizioni/")] == "excluded by pattern '/spedizioni/'"
        assert "/spedizioni/" not in site.paths()


def test_start_page_outside_include_patterns_is_still_read_for_its_links() -> None:
    with serve_site(small_site()) as site:
        result = crawl(site.url("/"), include=[r"/resi/$"])

        assert urls(result) == [site.url("/resi/")]
        assert (site.url("/"), "not matched by include patterns") in result.skipped
        assert "/spedizioni/" not in site.paths()


def test_start_page_disallowed_by_robots_is_refused_with_a_clear_error() -> None:
    with serve_site({**small_site(), "/robots.txt": ("User-agent: *\nDisallow: /\n", "text/plain")}) as site, \
            pytest.raises(SourceError, match="robots.txt disallows"):
        crawl(site.url("/"))
    assert site.paths() == ["/robots.txt"]


def test_max_pages_stops_the_crawl_and_says_so() -> None:
    with serve_site({**small_site(), "/negozi/": page("Negozi", "<p>Milano.</p>")}) as site:
        result = crawl(site.url("/"), max_pages=2)

        assert len(result.documents) == 2
        assert [reason for _, reason in result.skipped] == ["over max_pages 2"] * 2


# --- resync ---------------------------------------------------------------------------------------


def test_unchanged_pages_answer_304_on_resync_and_keep_their_document() -> None:
    with serve_site(small_site()) as site:
        first = crawl(site.url("/"))
        site.clear_log()

        second = crawl(site.url("/"), previous=first.states, now=LATER)

        assert sorted(site.not_modified()) == ["/", "/resi/", "/spedizioni/"]
        assert second.unchanged == {site.url("/"), site.url("/resi/"), site.url("/spedizioni/")}
        assert {d.doc_id: d for d in second.documents} == {d.doc_id: d for d in first.documents}
        assert all(doc.fetched_at == NOW for doc in second.documents)


def test_changed_page_is_refetched_with_a_new_content_hash_and_others_stay_unchanged() -> None:
    with serve_site(small_site()) as site:
        first = crawl(site.url("/"))
        site.set("/resi/", page("Resi", "<p>Ora hai 60 giorni per restituire un prodotto.</p>"))

        second = crawl(site.url("/"), previous=first.states, now=LATER)

        before = {d.url: d for d in first.documents}
        after = {d.url: d for d in second.documents}
        assert after[site.url("/resi/")].content_hash != before[site.url("/resi/")].content_hash
        assert "60 giorni" in after[site.url("/resi/")].text
        assert after[site.url("/resi/")].fetched_at == LATER
        assert second.unchanged == {site.url("/"), site.url("/spedizioni/")}


def test_page_with_only_last_modified_is_revalidated_with_if_modified_since() -> None:
    stamp = "Tue, 03 Mar 2026 10:00:00 GMT"
    with serve_site() as site:
        site.set("/resi/", page("Resi", "<p>Trenta giorni.</p>"), headers={"Last-Modified": stamp}, etag=False)
        first = crawl(site.url("/resi/"))

        second = crawl(site.url("/resi/"), previous=first.states, now=LATER)

        assert first.documents[0].updated_at_evidence == "http:last-modified"
        assert site.requested("/resi/")[-1].headers["If-Modified-Since"] == stamp
        assert second.unchanged == {site.url("/resi/")}


def test_removed_page_is_absent_after_resync() -> None:
    with serve_site(small_site()) as site:
        first = crawl(site.url("/"))
        site.remove("/spedizioni/")

        second = crawl(site.url("/"), previous=first.states, now=LATER)

        assert urls(second) == [site.url("/"), site.url("/resi/")]
        assert second.failed == []


def test_page_failing_after_retries_is_reported_failed_and_keeps_its_state() -> None:
    with serve_site(small_site()) as site:
        first = crawl(site.url("/"))
        site.fail("/resi/", 503, times=10)

        second = crawl(site.url("/"), previous=first.states, now=LATER)

        assert second.failed == [(site.url("/resi/"), "HTTP 503")]
        assert len(site.requested("/resi/")) == 1 + 3  # first crawl, then 1 try + 2 retries
        assert second.states[site.url("/resi/")] == first.states[site.url("/resi/")]
        assert site.url("/resi/") not in urls(second)


def test_transient_server_error_is_retried() -> None:
    with serve_site(small_site()) as site:
        site.fail("/resi/", 503, times=1)

        result = crawl(site.url("/"))

        assert site.url("/resi/") in urls(result)
        assert result.failed == []


# --- redirects, canonical, content types ---------------------------------------------------------


def test_redirect_is_followed_and_the_document_is_keyed_by_the_final_url() -> None:
    with serve_site(small_site()) as site:
        site.redirect("/returns", "/resi/")
        site.set("/sitemap.xml", sitemap([site.url("/returns")]), "application/xml")

        result = crawl(site.url("/sitemap.xml"))

        assert [doc.key for doc in result.documents] == [site.url("/resi/")]
        assert site.paths()[-2:] == ["/returns", "/resi/"]


def test_same_host_canonical_link_becomes_the_document_key() -> None:
    with serve_site() as site:
        site.set("/resi/?utm_source=mail", page("Resi", "<p>Trenta giorni.</p>", head="<link rel='canonical' href='/resi/'>"))
        site.set("/sitemap.xml", sitemap([site.url("/resi/?utm_source=mail")]), "application/xml")

        result = crawl(site.url("/sitemap.xml"))

        assert [doc.key for doc in result.documents] == [site.url("/resi/")]


def test_resync_finds_a_redirected_page_by_its_document_url_and_gets_304() -> None:
    with serve_site(small_site()) as site:
        site.redirect("/returns", "/resi/")
        site.set("/sitemap.xml", sitemap([site.url("/returns")]), "application/xml")
        first = crawl(site.url("/sitemap.xml"))
        by_document_url = {s.document.url: s for s in first.states.values() if s.document is not None}
        site.clear_log()

        second = crawl(site.url("/sitemap.xml"), previous=by_document_url, now=LATER)

        assert site.not_modified() == ["/resi/"]
        assert second.documents == first.documents


def test_pages_wrongly_sharing_one_canonical_url_are_both_kept() -> None:
    home_canonical = "<link rel='canonical' href='/'>"
    with serve_site() as site:
        site.set("/", page("Home", "<p>Benvenuti.</p>", head=home_canonical))
        site.set("/resi/", page("Resi", "<p>Trenta giorni.</p>", head=home_canonical))
        site.set("/sitemap.xml", sitemap([site.url("/resi/"), site.url("/")]), "application/xml")

        result = crawl(site.url("/sitemap.xml"))

        assert {doc.url: doc.title for doc in result.documents} == {site.url("/"): "Home", site.url("/resi/"): "Resi"}


def test_non_html_page_is_skipped_with_its_content_type() -> None:
    with serve_site(small_site()) as site:
        site.set("/listino.pdf", b"%PDF-1.4", "application/pdf")
        site.set("/sitemap.xml", sitemap([site.url("/resi/"), site.url("/listino.pdf")]), "application/xml")

        result = crawl(site.url("/sitemap.xml"))

        assert urls(result) == [site.url("/resi/")]
        assert (site.url("/listino.pdf"), "content-type application/pdf") in result.skipped


# --- documents -----------------------------------------------------------------------------------


def test_document_carries_title_language_structured_data_and_best_date() -> None:
    jsonld = '<script type="application/ld+json">{"@context":"https://schema.org","@graph":[' \
             '{"@type":"WebPage","dateModified":"2026-04-20T08:00:00Z"},{"@type":"Store","name":"Acme Milano"}]}</script>'
    body = "<p>Ultimo aggiornamento: 3 marzo 2023</p><table><tr><th>Giorno</th><th>Orario</th></tr>" \
           "<tr><td>Lunedì</td><td>9-19</td></tr></table>"
    with serve_site({"/negozi/": page("Negozi", body, lang="it-IT", head=jsonld)}) as site:
        result = crawl(site.url("/negozi/"))

        doc = result.documents[0]
        assert (doc.source_type, doc.kind, doc.title, doc.language) == ("website", "page", "Negozi", "it")
        assert doc.updated_at == datetime(2026, 4, 20, 8, 0, tzinfo=UTC)
        assert doc.updated_at_evidence == "jsonld:dateModified"
        assert doc.fetched_at == NOW
        assert "| Lunedì | 9-19 |" in doc.text
        assert doc.data["tables"] == [[["Giorno", "Orario"], ["Lunedì", "9-19"]]]
        assert [node["@type"] for node in doc.data["jsonld"]] == ["WebPage", "Store"]
        assert doc.data["headings"] == ["Negozi"]
        assert site.url("/negozi/") in doc.data["links"]


def test_language_falls_back_to_the_source_then_the_manifest() -> None:
    html = "<html><head><title>Returns</title></head><body><main><h1>Returns</h1><p>30 days.</p></main></body></html>"
    with serve_site({"/": html}) as site:
        assert crawl(site.url("/"), language="en").documents[0].language == "en"
        assert crawl(site.url("/")).documents[0].language == "it"


def test_page_whose_title_is_only_the_brand_is_titled_by_its_heading() -> None:
    html = "<html><head><title>ACME</title></head><body><main><h1>Resi</h1><p>Trenta giorni.</p></main></body></html>"
    with serve_site({"/resi/": html}) as site:
        assert crawl(site.url("/resi/")).documents[0].title == "Resi"


@pytest.mark.parametrize(
    ("title", "expected"),
    [
        ("Resi e rimborsi | Acme", "Resi e rimborsi"),
        ("Acme – Negozi", "Negozi"),
        ("Store hours - ACME Shop", "Store hours"),
        ("Acme", "Acme"),
        ("Spedizioni | Corriere espresso", "Spedizioni | Corriere espresso"),
    ],
)
def test_page_title_drops_the_brand_around_it(title: str, expected: str) -> None:
    assert page_title(title, "Acme") == expected


def test_progress_is_reported_per_page_with_the_total_from_the_sitemap() -> None:
    calls: list[tuple[int, int | None]] = []
    with serve_site(small_site()) as site:
        site.set("/sitemap.xml", sitemap([site.url("/"), site.url("/resi/")]), "application/xml")
        source = SourceSpec(id="site", type="website", url=site.url("/sitemap.xml"))
        crawl_website_sync(source, Manifest(brand="Acme", sources=[source]), previous={}, now=NOW,
                           on_progress=lambda done, total: calls.append((done, total)))

    assert sorted(calls) == [(1, 2), (2, 2)]


# --- unreachable ---------------------------------------------------------------------------------


def test_site_that_refuses_connections_raises_source_unreachable() -> None:
    url = closed_port_url()

    with pytest.raises(SourceUnreachable, match=r"cannot reach http://127\.0\.0\.1:\d+/: connection refused"):
        crawl(url)


def test_sitemap_answering_an_http_error_raises_source_unreachable() -> None:
    with serve_site(small_site()) as site:
        site.fail("/sitemap.xml", 500, times=10)

        with pytest.raises(SourceUnreachable, match="HTTP 500 — check the url in the manifest"):
            crawl(site.url("/sitemap.xml"))


def test_empty_sitemap_is_refused_instead_of_emptying_the_source() -> None:
    with serve_site({"/sitemap.xml": (sitemap([]), "application/xml")}) as site, \
            pytest.raises(SourceFormatError, match="lists no pages"):
        crawl(site.url("/sitemap.xml"))


def test_missing_start_page_raises_source_unreachable() -> None:
    with serve_site({}) as site, pytest.raises(SourceUnreachable, match="HTTP 404"):
        crawl(site.url("/nope/"))


# --- folders through DirectoryTransport ----------------------------------------------------------


def write_site(root: Path, files: dict[str, str]) -> Path:
    for name, content in files.items():
        target = root / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(content, encoding="utf-8")
    return root


def test_folder_source_is_crawled_at_its_base_url(tmp_path: Path) -> None:
    base = "https://www.acme.example"
    write_site(tmp_path / "site", {
        "index.html": page("Home", "<a href='/resi/'>Resi</a> <a href='/chi-siamo'>Chi siamo</a>"),
        "resi/index.html": page("Resi", "<p>Trenta giorni.</p>"),
        "chi-siamo.html": page("Chi siamo", "<p>Dal 1950.</p>"),
    })
    source = SourceSpec(id="site", type="website", path=Path("site"), base_url=base)
    manifest = Manifest(brand="Acme", sources=[source], root=tmp_path)

    first = crawl_website_sync(source, manifest, previous={}, now=NOW)
    second = crawl_website_sync(source, manifest, previous=first.states, now=LATER)

    assert sorted(d.url for d in first.documents) == [f"{base}/", f"{base}/chi-siamo", f"{base}/resi/"]
    assert second.unchanged == {f"{base}/", f"{base}/chi-siamo", f"{base}/resi/"}


def test_folder_source_starts_from_the_sitemap_named_in_its_robots_txt(tmp_path: Path) -> None:
    base = "https://www.acme.example"
    write_site(tmp_path, {
        "robots.txt": f"User-agent: *\nSitemap: {base}/map.xml\n",
        "map.xml": sitemap([f"{base}/resi/"], {f"{base}/resi/": "2026-01-10"}),
        "index.html": page("Home", "<a href='/chi-siamo.html'>Chi siamo</a>"),
        "resi/index.html": page("Resi", "<p>Trenta giorni.</p>"),
    })
    source = SourceSpec(id="site", type="website", path=tmp_path, base_url=base)

    result = crawl_website_sync(source, Manifest(brand="Acme", sources=[source]), previous={}, now=NOW)

    assert [(d.url, d.updated_at_evidence) for d in result.documents] == [(f"{base}/resi/", "sitemap:lastmod")]


def test_missing_folder_raises_source_unreachable(tmp_path: Path) -> None:
    source = SourceSpec(id="site", type="website", path=Path("nope"), base_url="https://acme.example")

    with pytest.raises(SourceUnreachable, match="check 'path' in the manifest"):
        crawl_website_sync(source, Manifest(brand="Acme", sources=[source], root=tmp_path), previous={}, now=NOW)


def test_directory_transport_serves_index_files_and_answers_304_to_a_matching_etag(tmp_path: Path) -> None:
    write_site(tmp_path, {"resi/index.html": "<h1>Resi</h1>", "sitemap.xml": "<urlset/>"})
    client = httpx.Client(transport=DirectoryTransport(tmp_path, "https://acme.example"))

    first = client.get("https://acme.example/resi/")
    again = client.get("https://acme.example/resi", headers={"If-None-Match": first.headers["ETag"]})
    xml = client.get("https://acme.example/sitemap.xml")

    assert (first.status_code, first.text, first.headers["Content-Type"]) == (200, "<h1>Resi</h1>", "text/html; charset=utf-8")
    assert again.status_code == 304
    assert "xml" in xml.headers["Content-Type"]


def test_directory_transport_answers_404_for_missing_files_and_paths_outside_the_folder(tmp_path: Path) -> None:
    write_site(tmp_path, {"site/index.html": "home", "secret.txt": "no"})
    client = httpx.Client(transport=DirectoryTransport(tmp_path / "site", "https://acme.example"))

    assert client.get("https://acme.example/missing.html").status_code == 404
    assert client.get("https://acme.example/%2e%2e/secret.txt").status_code == 404


def test_directory_transport_serves_a_base_url_with_a_path_prefix(tmp_path: Path) -> None:
    write_site(tmp_path, {"resi.html": "<h1>Resi</h1>"})
    client = httpx.Client(transport=DirectoryTransport(tmp_path, "https://acme.example/shop/"))

    assert client.get("https://acme.example/shop/resi").status_code == 200
    assert client.get("https://acme.example/resi").status_code == 404


def test_directory_transport_refuses_other_hosts_with_a_connect_error(tmp_path: Path) -> None:
    client = httpx.Client(transport=DirectoryTransport(tmp_path, "https://acme.example"))

    with pytest.raises(httpx.ConnectError, match="served only at https://acme.example"):
        client.get("https://other.example/")
