"""The product source: Google Merchant Center feeds as CSV, TSV and RSS/Atom XML."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from knowledge.errors import SourceFormatError
from knowledge.manifest import Manifest
from knowledge.sources import PRODUCTS_SOURCE
from knowledge.text import parse_availability, parse_price

NOW = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)

RSS = """<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0" xmlns:g="http://base.google.com/ns/1.0">
  <channel>
    <title>Ciclofficina</title>
    <item>
      <g:id>BIKE-1</g:id>
      <title>Gravel Uno</title>
      <link>https://shop.example/p/gravel-uno</link>
      <description>&lt;p&gt;Telaio in &lt;b&gt;alluminio&lt;/b&gt;.&lt;/p&gt;</description>
      <g:price>1299.00 EUR</g:price>
      <g:sale_price>999.00 EUR</g:sale_price>
      <g:availability>in stock</g:availability>
      <g:brand>Ciclo</g:brand>
      <g:updated_at>2025-02-10T09:30:00+01:00</g:updated_at>
      <g:shipping><g:country>IT</g:country><g:price>0 EUR</g:price></g:shipping>
    </item>
    <item>
      <g:id>HELMET-2</g:id>
      <g:title>Casco Aria</g:title>
      <g:link>/p/casco-aria</g:link>
      <g:price>89,90 EUR</g:price>
      <g:availability>preorder</g:availability>
    </item>
  </channel>
</rss>
"""

ATOM = """<?xml version="1.0"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:g="http://base.google.com/ns/1.0">
  <title>Shop</title>
  <entry>
    <g:id>LOCK-9</g:id>
    <title>U-lock</title>
    <link rel="alternate" href="https://shop.example/p/u-lock"/>
    <summary>Hardened steel.</summary>
    <updated>2025-01-05T08:00:00Z</updated>
    <g:price>€ 49,00</g:price>
    <g:availability>out_of_stock</g:availability>
  </entry>
</feed>
"""


def load_file(tmp_path: Path, filename: str, content: str, *, language: str = "it", **source: object):
    (tmp_path / filename).write_text(content, encoding="utf-8")
    manifest = Manifest.model_validate(
        {"brand": "Ciclofficina", "language": language, "root": tmp_path,
         "sources": [{"id": "shop", "type": "products", "path": filename, **source}]}
    )  # fmt: skip
    return PRODUCTS_SOURCE.load(manifest.sources[0], manifest, now=NOW)


def test_csv_rows_become_product_documents_keyed_by_id(tmp_path):
    content = (
        "id,title,description,link,price,availability,brand\n"
        "BIKE-1,Gravel Uno,Telaio in alluminio.,https://shop.example/p/1,1299.00 EUR,in stock,Ciclo\n"
    )
    [doc] = load_file(tmp_path, "products.csv", content)
    assert doc.kind == "product"
    assert doc.key == "BIKE-1"
    assert doc.title == "Gravel Uno"
    assert doc.url == "https://shop.example/p/1"
    assert doc.data["product"] == {
        "id": "BIKE-1",
        "title": "Gravel Uno",
        "price": 1299.0,
        "currency": "EUR",
        "availability": "in_stock",
        "brand": "Ciclo",
        "link": "https://shop.example/p/1",
    }


def test_italian_content_renders_price_and_availability_in_italian(tmp_path):
    content = "id,title,description,link,price,availability\nB1,Bici,Telaio in alluminio.,/p/1,1.299,00 EUR,disponibile\n"
    content = content.replace("1.299,00 EUR", '"1.299,00 EUR"')
    [doc] = load_file(tmp_path, "products.csv", content, base_url="https://shop.example/")
    assert doc.text == "Prezzo: 1.299,00 €. Disponibilità: disponibile.\n\nTelaio in alluminio."
    assert doc.url == "https://shop.example/p/1"


def test_english_content_renders_price_and_availability_in_english(tmp_path):
    content = "id,title,link,price,availability\nB1,Bike,https://shop.example/p/1,1299.00 EUR,out of stock\n"
    [doc] = load_file(tmp_path, "products.csv", content, language="en")
    assert doc.text == "Price: €1,299.00. Availability: out of stock."


def test_tab_separated_feed_with_g_prefixed_headers_is_read(tmp_path):
    content = (
        "g:id\tg:title\tg:price\tg:availability\tg:updated_at\nA1\tLuce\t€ 12,90\tesaurito\t03/02/2025\n"
    )
    [doc] = load_file(tmp_path, "feed.txt", content)
    assert doc.data["product"]["price"] == 12.9
    assert doc.data["product"]["availability"] == "out_of_stock"
    assert doc.data["product"]["link"] is None
    assert doc.updated_at == datetime.fromisoformat("2025-02-03T00:00:00+01:00")
    assert doc.updated_at_evidence == "feed:updated_at"


def test_rss_feed_with_google_namespace_is_read(tmp_path):
    bike, helmet = load_file(tmp_path, "feed.xml", RSS, base_url="https://shop.example/")
    assert bike.key == "BIKE-1"
    assert bike.data["product"]["sale_price"] == 999.0
    assert bike.text == (
        "Prezzo: 1.299,00 €. Prezzo scontato: 999,00 €. Disponibilità: disponibile. Marca: Ciclo."
        "\n\nTelaio in alluminio."
    )
    assert bike.updated_at == datetime.fromisoformat("2025-02-10T09:30:00+01:00")
    assert bike.data["product"]["price"] == 1299.0  # the nested g:shipping price is not the product's
    assert helmet.title == "Casco Aria"
    assert helmet.url == "https://shop.example/p/casco-aria"
    assert helmet.data["product"]["price"] == 89.9
    assert helmet.data["product"]["availability"] == "preorder"


def test_atom_feed_with_google_namespace_is_read(tmp_path):
    [lock] = load_file(tmp_path, "feed.atom", ATOM, language="en")
    assert lock.key == "LOCK-9"
    assert lock.url == "https://shop.example/p/u-lock"
    assert lock.updated_at == datetime(2025, 1, 5, 8, 0, tzinfo=UTC)
    assert lock.text == "Price: €49.00. Availability: out of stock.\n\nHardened steel."


def test_a_missing_price_column_is_named_with_the_columns_found(tmp_path):
    with pytest.raises(
        SourceFormatError, match=r"products.csv: missing required column 'price' \(found: id, title, link\)"
    ):
        load_file(tmp_path, "products.csv", "id,title,link\nB1,Bike,https://shop.example/p/1\n")


def test_an_unreadable_price_names_line_and_column(tmp_path):
    content = "id,title,price\nB1,Bike,12.90\nB2,Helmet,ask us\n"
    with pytest.raises(
        SourceFormatError, match=r"products.csv line 3: column 'price' is not a price \('ask us'\)"
    ):
        load_file(tmp_path, "products.csv", content)


def test_an_unknown_availability_lists_the_accepted_values(tmp_path):
    content = "id,title,price,availability\nB1,Bike,12.90,maybe\n"
    with pytest.raises(
        SourceFormatError,
        match=r"line 2: column 'availability' .*in_stock, out_of_stock, preorder, backorder",
    ):
        load_file(tmp_path, "products.csv", content)


def test_a_repeated_id_fails(tmp_path):
    content = "id,title,price\nB1,Bike,12.90\nB1,Bike 2,13.90\n"
    with pytest.raises(SourceFormatError, match=r"line 3: column 'id' repeats 'B1' from products.csv line 2"):
        load_file(tmp_path, "products.csv", content)


def test_invalid_xml_reports_line_and_column(tmp_path):
    with pytest.raises(SourceFormatError, match=r"feed.xml: invalid XML at line 3 column"):
        load_file(tmp_path, "feed.xml", "<rss>\n<channel>\n<item></channel></rss>")


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("1299.00 EUR", (1299.0, "EUR")),
        ("1.299,00 EUR", (1299.0, "EUR")),
        ("€ 12,90", (12.9, "EUR")),
        ("12.90", (12.9, "EUR")),
        ("1,299.00 USD", (1299.0, "USD")),
        ("1.299 €", (1299.0, "EUR")),
        ("CHF 1'299.50", (1299.5, "CHF")),
    ],
)
def test_prices_are_read_in_italian_and_english_notation(written, expected):
    assert parse_price(written) == expected


@pytest.mark.parametrize(
    ("written", "expected"),
    [
        ("in stock", "in_stock"),
        ("InStock", "in_stock"),
        ("https://schema.org/InStock", "in_stock"),
        ("Disponibile", "in_stock"),
        ("non disponibile", "out_of_stock"),
        ("pre-order", "preorder"),
        ("su ordinazione", "backorder"),
        ("backorder", "backorder"),
    ],
)
def test_availability_spellings_are_normalised(written, expected):
    assert parse_availability(written) == expected
