"""The product source: a Google Merchant Center feed, as CSV/TSV or as RSS 2.0 / Atom XML with the
`g:` namespace (https://support.google.com/merchants/answer/7052112).

One Document per product, keyed by its feed id.  Its text renders price and availability in the
content language, so a customer's "quanto costa?" finds it and the answer can quote it.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import datetime
from typing import Any

from babel.core import UnknownLocaleError
from babel.numbers import format_currency

from knowledge.documents import Document
from knowledge.errors import SourceFormatError
from knowledge.sources.rows import Row, Table, column_key, csv_table, parse_feed_date, plain_text, resolve_link
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.files import FeedProblem, SourceFile, decode_text, file_format

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

AVAILABILITY = ("in_stock", "out_of_stock", "preorder", "backorder")
# Accepted spellings, compared after lower-casing and turning '_' / '-' into spaces.
_AVAILABILITY_WORDS = {
    "in_stock": (
        "in stock",
        "instock",
        "available",
        "limited availability",
        "limitedavailability",
        "in store only",
        "instoreonly",
        "online only",
        "onlineonly",
        "disponibile",
        "disponibili",
        "in magazzino",
        "pronta consegna",
        "disponibilità limitata",
        "disponibilita limitata",
    ),
    "out_of_stock": (
        "out of stock",
        "outofstock",
        "sold out",
        "soldout",
        "discontinued",
        "unavailable",
        "not available",
        "esaurito",
        "esaurita",
        "non disponibile",
        "terminato",
        "fuori produzione",
    ),
    "preorder": ("preorder", "pre order", "presale", "preordine", "pre ordine", "in preordine", "prevendita"),
    "backorder": (
        "backorder",
        "back order",
        "backordered",
        "su ordinazione",
        "in ordinazione",
        "in arrivo",
        "riassortimento",
    ),
}
_AVAILABILITY_LOOKUP = {word: value for value, words in _AVAILABILITY_WORDS.items() for word in words}

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

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₣": "CHF"}
_CURRENCY_CODE = re.compile(r"(?<![A-Za-z])([A-Za-z]{3})(?![A-Za-z])")


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


def parse_price(value: str, default_currency: str = "EUR") -> tuple[float, str]:
    """'1299.00 EUR', '1.299,00 EUR', '€ 12,90', '12.90' → (amount, ISO currency code)."""
    text = value.strip()
    currency = None
    for symbol, code in _CURRENCY_SYMBOLS.items():
        if symbol in text:
            currency, text = code, text.replace(symbol, " ")
    match = _CURRENCY_CODE.search(text)
    if match:
        currency, text = match.group(1).upper(), text[: match.start()] + " " + text[match.end() :]
    number = re.sub(r"[\s\u00a0\u202f']", "", text)
    amount = _amount(number)
    if amount is None:
        raise ValueError(f"is not a price ({value.strip()!r}) — write it like '1299.00 EUR' or '1.299,00 €'")
    return amount, currency or default_currency


def _amount(number: str) -> float | None:
    if not re.fullmatch(r"\d[\d.,]*", number) or number[-1] in ".,":
        return None
    if "," in number and "." in number:
        # Both present: the last one is the decimal separator ("1.299,00" / "1,299.00").
        decimal = "," if number.rfind(",") > number.rfind(".") else "."
        integer, _, fraction = number.rpartition(decimal)
        groups = integer.split("," if decimal == "." else ".")
    elif "," in number or "." in number:
        separator = "," if "," in number else "."
        parts = number.split(separator)
        # A single separator before exactly three digits is a thousands separator ("1.299"):
        # prices with three decimals do not occur, Italian thousands separators do.
        if len(parts) > 2 or (len(parts[1]) == 3 and parts[0] != "0"):
            integer, fraction, groups = number.replace(separator, ""), "", parts
        else:
            integer, fraction, groups = parts[0], parts[1], [parts[0]]
    else:
        integer, fraction, groups = number, "", [number]
    if len(groups) > 1 and any(len(g) != 3 for g in groups[1:]):
        return None
    digits = "".join(groups) if len(groups) > 1 else integer
    return float(f"{digits}.{fraction}" if fraction else digits)


def parse_availability(value: str) -> str:
    """Merchant Center availability in any accepted spelling → in_stock|out_of_stock|preorder|backorder."""
    word = value.strip().lower().rsplit("/", 1)[-1]  # schema.org URLs: https://schema.org/InStock
    word = " ".join(word.replace("_", " ").replace("-", " ").split())
    if word in _AVAILABILITY_LOOKUP:
        return _AVAILABILITY_LOOKUP[word]
    if word.replace(" ", "") in _AVAILABILITY_LOOKUP:
        return _AVAILABILITY_LOOKUP[word.replace(" ", "")]
    raise ValueError(f"has an unknown value {value.strip()!r} — use one of {', '.join(AVAILABILITY)}")


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


def format_price(amount: float, currency: str, language: str) -> str:
    """'1.299,00 €' (it) / '€1,299.00' (en), with plain spaces: CLDR's no-break spaces would make the
    text differ from what a person types and searches for."""
    try:
        text = format_currency(amount, currency, locale=language)
    except (UnknownLocaleError, ValueError):
        text = format_currency(amount, currency, locale="en")
    return text.replace("\u00a0", " ").replace("\u202f", " ")
