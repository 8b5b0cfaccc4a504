"""Main-content extraction from HTML pages, and which date a page counts as last updated."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from knowledge.sources.web import extract_page, page_updated_at

ROME = ZoneInfo("Europe/Rome")
URL = "https://www.acme.example/negozi/milano/"

STORE_PAGE = """<!doctype html>
<html lang="it-IT">
<head>
  <title>Negozio di Milano | Acme</title>
  <link rel="canonical" href="/negozi/milano/">
  <script type="application/ld+json">
  {"@context": "https://schema.org", "@graph": [
    {"@type": "WebPage", "dateModified": "2026-03-03T10:00:00+01:00"},
    {"@type": "Store", "name": "Acme Milano", "telephone": "+39 02 1234567"}
  ]}
  </script>
  <script type="application/ld+json">{"@type": "BreadcrumbList", "itemListElement": [],}</script>
</head>
<body>
  <div id="cookie-banner" class="cookie-consent">Usiamo i cookie per migliorarti la navigazione. Accetta tutti</div>
  <header><nav><a href="/">Home</a> <a href="/negozi/">Tutti i negozi</a> <a href="https://social.example/acme">Social</a></nav></header>
  <main>
    <h1>Negozio di Milano</h1>
    <p>Il negozio di Milano è in Corso Vittorio Emanuele 10, a due passi dal Duomo.</p>
    <h2>Orari di apertura</h2>
    <table>
      <tr><th>Giorno</th><th>Orario</th></tr>
      <tr><td>Lunedì - Venerdì</td><td>10:00 - 19:30</td></tr>
      <tr><td>Domenica</td><td>chiuso</td></tr>
    </table>
    <h2>Servizi</h2>
    <ul><li>Ritiro ordini online</li><li>Resi in negozio</li></ul>
    <a href="/negozi/milano/eventi#oggi">Eventi</a>
  </main>
  <aside class="newsletter"><form><p>Iscriviti alla newsletter e ricevi il 10% di sconto</p><input type="email"></form></aside>
  <footer><p>Acme S.p.A. · P.IVA 01234567890 · Tutti i diritti riservati</p><p>Ultimo aggiornamento: 12/10/2026</p></footer>
</body>
</html>"""


@pytest.fixture(scope="module")
def store_page():
    return extract_page(STORE_PAGE, URL)


def test_menus_footers_cookie_banners_and_newsletter_boxes_are_left_out(store_page) -> None:
    for boilerplate in ("Tutti i negozi", "cookie", "newsletter", "P.IVA"):
        assert boilerplate not in store_page.text


def test_headings_survive_as_markdown_lines(store_page) -> None:
    assert "# Negozio di Milano" in store_page.text.splitlines()
    assert "## Orari di apertura" in store_page.text.splitlines()
    assert store_page.headings == ["Negozio di Milano", "Orari di apertura", "Servizi"]


def test_table_rows_survive_in_the_text_and_as_cells(store_page) -> None:
    assert "| Lunedì - Venerdì | 10:00 - 19:30 |" in store_page.text.splitlines()
    assert store_page.tables == [[["Giorno", "Orario"], ["Lunedì - Venerdì", "10:00 - 19:30"], ["Domenica", "chiuso"]]]


def test_jsonld_graph_is_flattened_and_sloppy_json_is_still_read(store_page) -> None:
    assert [node["@type"] for node in store_page.jsonld] == ["WebPage", "Store", "BreadcrumbList"]


MICRODATA_PAGE = """<!doctype html><html lang="en"><head><title>Our Leeds shop</title></head><body><main>
<div itemscope itemtype="https://schema.org/HardwareStore">
  <h1 itemprop="name">Acme Leeds</h1>
  <p itemprop="address" itemscope itemtype="https://schema.org/PostalAddress">
    <span itemprop="streetAddress">12 Briggate</span>, <span itemprop="addressLocality">Leeds</span></p>
  <meta itemprop="openingHours" content="Mo-Sa 09:00-17:30">Monday to Saturday 9am to 5.30pm
</div>
<script type="application/ld+json">{"@type": "WebPage", // a comment a CMS left
 "name": "Leeds",}</script>
<script type="application/ld+json">{ this block is broken </script>
</main></body></html>"""


def test_microdata_store_nodes_are_read_next_to_json_ld() -> None:
    page = extract_page(MICRODATA_PAGE, "https://acme.example/leeds/")
    store = next(node for node in page.jsonld if node.get("@type") == "HardwareStore")
    assert store["name"] == "Acme Leeds"
    assert store["openingHours"] == "Mo-Sa 09:00-17:30"
    assert store["address"]["addressLocality"] == "Leeds"


def test_a_json_ld_block_with_comments_is_read_and_a_broken_one_hides_nothing_else() -> None:
    page = extract_page(MICRODATA_PAGE, "https://acme.example/leeds/")
    assert {"@type": "WebPage", "name": "Leeds"} in page.jsonld


def test_page_metadata_is_read(store_page) -> None:
    assert store_page.title == "Negozio di Milano | Acme"
    assert store_page.language == "it"
    assert store_page.canonical == URL


def test_links_are_absolute_same_host_and_without_fragments(store_page) -> None:
    assert store_page.links == [
        "https://www.acme.example/",
        "https://www.acme.example/negozi/",
        "https://www.acme.example/negozi/milano/eventi",
    ]


def test_footer_dates_stay_visible_for_freshness(store_page) -> None:
    assert "Ultimo aggiornamento: 12/10/2026" in store_page.visible_text


def test_short_page_without_main_element_keeps_its_heading_and_list() -> None:
    html = (
        "<html><body><div class='menu'><nav><a href='/'>Home</a></nav></div>"
        "<div id='wrap'><h1>Spedizioni</h1><p>Spediamo in 24/48 ore.</p>"
        "<ul><li>Standard: 4,90 €</li><li>Express: 9,90 €</li></ul></div>"
        "<footer>© Acme</footer></body></html>"
    )

    page = extract_page(html, "https://acme.example/spedizioni")

    assert page.text == "# Spedizioni\n\nSpediamo in 24/48 ore.\n\n- Standard: 4,90 €\n- Express: 9,90 €"
    assert page.title == "Spedizioni"


def test_chrome_marked_only_by_class_names_is_left_out_but_cards_and_accordions_stay() -> None:
    html = (
        "<html lang='en'><body><div class='site-header'><a href='/'>Acme</a>"
        "<ul class='menu'><li><a href='/shop'>Shop</a></li><li><a href='/faq'>FAQ</a></li></ul></div>"
        "<div class='container'><div class='col-8'><h1>Frequently asked questions</h1>"
        "<button class='accordion-btn'>Can I pay with PayPal?</button>"
        "<div class='panel' hidden><p>Yes, we accept PayPal.</p></div>"
        "<div class='card'><div class='card-header'>Milano store</div><div class='card-body'>Open daily</div></div>"
        "</div><div class='col-4 sidebar'><h3>Follow us</h3><p>Instagram</p></div></div>"
        "<div class='footer-wrap'><p>© 2025 Acme Ltd.</p></div></body></html>"
    )

    text = extract_page(html, "https://acme.example/faq").text

    assert text == (
        "# Frequently asked questions\n\nCan I pay with PayPal?\n\nYes, we accept PayPal.\n\n"
        "Milano store\n\nOpen daily"
    )


def test_lists_of_links_inside_main_are_content_not_menus() -> None:
    html = (
        "<body><nav><ul><li><a href='/'>Home</a></li></ul></nav><main><h1>Acme</h1>"
        "<p>Biciclette dal 2009, per la città e la montagna, in tre negozi in Italia.</p><h2>In evidenza</h2>"
        "<ul><li><a href='/promo/'>Natale: -15% sui caschi fino al 24 dicembre</a></li>"
        "<li><a href='/bici/'>Aurora City: la più venduta</a></li></ul></main></body>"
    )

    text = extract_page(html, "https://acme.example/").text

    assert "- Natale: -15% sui caschi fino al 24 dicembre\n- Aurora City: la più venduta" in text
    assert "Home" not in text


def test_definition_lists_keep_term_and_value_on_one_line() -> None:
    html = "<main><h1>Orari</h1><dl><dt>Lunedì</dt><dd>9:00-19:00</dd><dt>Domenica</dt><dd>chiuso</dd></dl></main>"

    page = extract_page(html, "https://acme.example/orari")

    assert "- Lunedì: 9:00-19:00\n- Domenica: chiuso" in page.text


def test_page_about_cookies_is_not_mistaken_for_a_cookie_banner() -> None:
    html = "<main class='cookie-policy'><h1>Cookie policy</h1><p>Usiamo solo cookie tecnici.</p></main>"

    assert "Usiamo solo cookie tecnici." in extract_page(html, "https://acme.example/cookie").text


def test_page_with_only_menus_has_no_text() -> None:
    html = "<html><body><header><nav><a href='/'>Home</a><a href='/x'>X</a></nav></header><footer>© Acme</footer></body></html>"

    assert extract_page(html, "https://acme.example/").text == ""


# --- page dates ----------------------------------------------------------------------------------

LASTMOD = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
HEADER = "Wed, 21 Oct 2025 07:28:00 GMT"
MODIFIED = [{"@type": "WebPage", "dateModified": "2026-04-01T09:00:00Z", "datePublished": "2020-01-01"}]
PUBLISHED = [{"@type": "Article", "datePublished": "2024-05-06T08:00:00+02:00"}]


@pytest.mark.parametrize(
    ("jsonld", "text", "lastmod", "header", "expected", "evidence"),
    [
        (MODIFIED, "Aggiornato il 3 marzo 2023", LASTMOD, HEADER, datetime(2026, 4, 1, 9, 0, tzinfo=UTC),
         "jsonld:dateModified"),
        ([], "Aggiornato il 3 marzo 2023", LASTMOD, HEADER, datetime(2023, 3, 2, 23, 0, tzinfo=UTC),
         "page:visible_date"),
        (PUBLISHED, "Testo senza date", LASTMOD, HEADER, LASTMOD, "sitemap:lastmod"),
        (PUBLISHED, "Testo senza date", None, HEADER, datetime(2025, 10, 21, 7, 28, tzinfo=UTC),
         "http:last-modified"),
        (PUBLISHED, "Testo senza date", None, None, datetime(2024, 5, 6, 6, 0, tzinfo=UTC), "jsonld:datePublished"),
        ([], "Testo senza date", None, "not a date", None, "none"),
    ],
)
def test_page_date_comes_from_the_best_evidence_available(jsonld, text, lastmod, header, expected, evidence) -> None:
    assert page_updated_at(jsonld, text, lastmod, header, "it", ROME) == (expected, evidence)


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("Aggiornato il 3 marzo 2023", "it", datetime(2023, 3, 3, tzinfo=ROME)),
        ("Pagina aggiornata al 12/10/2026.", "it", datetime(2026, 10, 12, tzinfo=ROME)),
        ("Ultimo aggiornamento: 1° luglio 2025", "it", datetime(2025, 7, 1, tzinfo=ROME)),
        ("Ultima modifica: lunedì 5 gennaio 2026", "it", datetime(2026, 1, 5, tzinfo=ROME)),
        ("Aggiornato a settembre 2024", "it", datetime(2024, 9, 1, tzinfo=ROME)),
        ("Last updated: March 3, 2023", "en", datetime(2023, 3, 3, tzinfo=ROME)),
        ("Updated on 2026-10-01", "en", datetime(2026, 10, 1, tzinfo=ROME)),
        ("Last modified 4th November 2025", "en", datetime(2025, 11, 4, tzinfo=ROME)),
        ("Updated 10/25/2024", "en", datetime(2024, 10, 25, tzinfo=ROME)),
        ("Last updated: 03/04/2025", "en-US", datetime(2025, 3, 4, tzinfo=ROME)),
    ],
)
def test_visible_update_dates_are_read_in_italian_and_english(text: str, lang: str, expected: datetime) -> None:
    assert page_updated_at([], text, None, None, lang, ROME) == (expected.astimezone(UTC), "page:visible_date")


@pytest.mark.parametrize(
    "text",
    ["Pubblicato il 3 marzo 2023", "Ordina entro il 12/10/2026", "Aggiornato il 31 febbraio 2023", "Aggiornato di recente"],
)
def test_dates_that_do_not_say_when_the_page_changed_are_ignored(text: str) -> None:
    assert page_updated_at([], text, None, None, "it", ROME) == (None, "none")


def test_latest_of_several_update_lines_wins() -> None:
    text = "Aggiornato il 1 marzo 2024.\n...\nAggiornato il 5 maggio 2025."

    assert page_updated_at([], text, None, None, "it", ROME)[0] == datetime(2025, 5, 5, tzinfo=ROME).astimezone(UTC)


def test_naive_sitemap_lastmod_is_read_in_the_brand_time_zone() -> None:
    updated, _ = page_updated_at([], "", datetime(2026, 7, 1), None, "it", ROME)

    assert updated == datetime(2026, 6, 30, 22, 0, tzinfo=UTC)
