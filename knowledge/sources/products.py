"""The product source: a Google Merchant Center feed, as CSV/TSV or as RSS 2.0 / Atom XML with the
`g:` namespace (https://support.google.com/merchants/answer/7052112).

One Document per product, keyed by its feed id.  Its text renders price and availability in the
content language, so a customer's "quanto costa?" finds it and the answer can quote it.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from knowledge.documents import Document
from knowledge.errors import FeedProblem, SourceFormatError
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.files import SourceFile, decode_text, file_format
from knowledge.sources.rows import (
    Row,
    Table,
    column_key,
    csv_table,
    parse_feed_date,
    plain_text,
    resolve_link,
)
from knowledge.text import format_price, parse_availability, parse_price

GOOGLE_NS = "http://base.google.com/ns/1.0"
ATOM_NS = "http://www.w3.org/2005/Atom"

# Header names a person may write, by canonical Merchant Center attribute (Italian feeds may
# use the localised attribute names Merchant Center accepts).
ALIASES = {
    "titolo": "title",
    "descrizione": "description",
    "summary": "description",  # Atom
    "prezzo": "price",
    "prezzo_scontato": "sale_price",
    "prezzo_saldi": "sale_price",
    "disponibilità": "availability",
    "disponibilita": "availability",
    "marca": "brand",
    "tipo_prodotto": "product_type",
    "categoria": "product_type",
    "aggiornato_il": "updated_at",
    "last_updated": "updated_at",
    "updated": "updated_at",  # Atom <updated>
    "url": "link",
}

_LABELS = {
    "it": {
        "price": "Prezzo",
        "sale_price": "Prezzo scontato",
        "availability": "Disponibilità",
        "brand": "Marca",
        "product_type": "Categoria",
        "in_stock": "disponibile",
        "out_of_stock": "non disponibile",
        "preorder": "in preordine",
        "backorder": "su ordinazione",
    },
    "en": {
        "price": "Price",
        "sale_price": "Sale price",
        "availability": "Availability",
        "brand": "Brand",
        "product_type": "Category",
        "in_stock": "in stock",
        "out_of_stock": "out of stock",
        "preorder": "available for pre-order",
        "backorder": "on backorder",
    },
}

def parse_products(
    data: bytes,
    name: str,
    *,
    spec: SourceSpec,
    manifest: Manifest,
    now: datetime,
    media_type: str | None = None,
    charset: str | None = None,
) -> list[Document]:
    """Documents for every product; any bad product fails the whole source with a message naming it."""
    try:
        table = _read_table(SourceFile(data, name, media_type, charset))
        table.require_columns("id", "title", "price")
        if not table.rows:
            raise FeedProblem(f"{name}: no products found")
        documents: list[Document] = []
        first_seen: dict[str, str] = {}
        for row in table.rows:
            document = _document(row, spec, manifest, now)
            if document.key in first_seen:
                raise row.problem(
                    "id", f"repeats {document.key!r} from {first_seen[document.key]} — ids must be unique"
                )
            first_seen[document.key] = row.where
            documents.append(document)
    except FeedProblem as exc:
        raise SourceFormatError(spec.id, str(exc)) from None
    return documents


def _read_table(source: SourceFile) -> Table:
    fmt = file_format(source)
    if fmt == "xml":
        return xml_table(source.data, source.name)
    if fmt == "csv":
        return csv_table(decode_text(source.data, source.name, source.charset), source.name, ALIASES)
    raise FeedProblem(
        f"{source.name}: a product feed must be CSV/TSV or XML (RSS or Atom), not {fmt.upper()}"
    )


def xml_table(data: bytes, name: str) -> Table:
    """Items of an RSS 2.0 (`<item>`) or Atom (`<entry>`) feed.  A `g:` element wins over the plain
    RSS/Atom element of the same name (`g:link` over `link`)."""
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position
        reason = str(exc).split(":")[0]
        raise FeedProblem(f"{name}: invalid XML at line {line} column {column + 1}: {reason}") from None
    items = [*root.iter("item"), *root.iter(f"{{{ATOM_NS}}}entry")]
    if not items:
        raise FeedProblem(
            f"{name}: no <item> or <entry> elements found — expected a Google Merchant Center feed"
        )
    rows: list[Row] = []
    found: dict[str, None] = {}
    for number, item in enumerate(items, start=1):
        from_google: dict[str, str] = {}
        plain: dict[str, str] = {}
        for child in item:
            if len(child):  # nested attributes (g:shipping, g:tax) are not used here
                continue
            namespace, _, local = child.tag.rpartition("}")
            namespace = namespace.lstrip("{")
            if namespace not in ("", GOOGLE_NS, ATOM_NS):
                continue
            found.setdefault(f"g:{local}" if namespace == GOOGLE_NS else local, None)
            key = column_key(local, ALIASES)
            text = (child.text or "").strip()
            if namespace == ATOM_NS and local == "link":
                if child.get("rel", "alternate") != "alternate":
                    continue
                text = child.get("href", "").strip()
            (from_google if namespace == GOOGLE_NS else plain)[key] = text
        rows.append(Row(f"{name} item {number}", "element", {**plain, **from_google}))
    columns = frozenset(key for row in rows for key in row.fields)
    return Table(name, "element", tuple(found), columns, rows)


def _document(row: Row, spec: SourceSpec, manifest: Manifest, now: datetime) -> Document:
    product_id = row.required("id", "every product needs its feed id")
    title = plain_text(row.required("title", "write the product's name"))
    price, currency = _price_cell(row, "price", required=True)
    product: dict[str, Any] = {"id": product_id, "title": title, "price": price, "currency": currency}
    availability = None
    if row.value("availability"):
        availability = _availability_cell(row)
    product["availability"] = availability
    if row.value("sale_price"):
        product["sale_price"], _ = _price_cell(row, "sale_price", required=False)
    for optional in ("brand", "product_type", "gtin", "mpn", "condition"):
        if row.value(optional):
            product[optional] = plain_text(row.value(optional))
    try:
        link = resolve_link(row.value("link"), spec.base_url or spec.url)
    except ValueError as exc:
        raise row.problem("link", str(exc)) from None
    product["link"] = link
    updated_at = None
    if row.value("updated_at"):
        try:
            updated_at = parse_feed_date(row.value("updated_at"), manifest.tz)
        except ValueError as exc:
            raise row.problem("updated_at", str(exc)) from None
    language = spec.language or manifest.language
    description = plain_text(row.value("description"))
    summary = render_product(product, language)
    return Document(
        source_id=spec.id,
        source_type=spec.type,
        kind="product",
        key=product_id,
        url=link,
        title=title,
        text=f"{summary}\n\n{description}" if description else summary,
        language=language,
        updated_at=updated_at,
        updated_at_evidence="feed:updated_at" if updated_at else "none",
        fetched_at=now,
        data={"product": product},
    )


def _price_cell(row: Row, column: str, *, required: bool) -> tuple[float, str]:
    value = row.required(column, "write the price, e.g. '1299.00 EUR'") if required else row.value(column)
    try:
        return parse_price(value)
    except ValueError as exc:
        raise row.problem(column, str(exc)) from None


def _availability_cell(row: Row) -> str:
    value = row.value("availability")
    try:
        return parse_availability(value)
    except ValueError as exc:
        raise row.problem("availability", str(exc)) from None


def render_product(product: dict[str, Any], language: str) -> str:
    """'Prezzo: 1.299,00 €. Disponibilità: disponibile.' (or English for English content)."""
    lang = "it" if language.lower().startswith("it") else "en"
    labels = _LABELS[lang]
    parts = [f"{labels['price']}: {format_price(product['price'], product['currency'], lang)}."]
    if product.get("sale_price") is not None:
        parts.append(
            f"{labels['sale_price']}: {format_price(product['sale_price'], product['currency'], lang)}."
        )
    if product.get("availability"):
        parts.append(f"{labels['availability']}: {labels[product['availability']]}.")
    for field in ("brand", "product_type"):
        if product.get(field):
            parts.append(f"{labels[field]}: {product[field]}.")
    return " ".join(parts)


