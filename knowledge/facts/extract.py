"""Facts: typed, comparable statements read out of documents, each tied to its source and date.

A fact says one thing about one *subject*, and two facts about the same subject can be compared
whichever source they came from:

- ``store:{store}:weekday:{0..6}`` — regular hours, value ``[["09:00","12:30"],["15:00","19:30"]]``
  (``[]`` = closed; a prose "closes at 19:00" with no opening time is ``[[None, "19:00"]]``);
- ``store:{store}:special:{YYYY-MM-DD}`` — holiday / special hours of one date, same value shape;
- ``product:{product}:price`` (float, in `unit` currency; a feed's sale price when it has one) and
  ``product:{product}:availability`` (``in_stock`` | ``out_of_stock`` | ``preorder`` | ``backorder``);
- ``promotion:{doc_id}`` — ``{"title", "valid_from", "valid_through", "discount"}``;
- ``policy:{name}`` — a number customers ask about (see `knowledge.policy_facts`).

Where facts come from (general rules, never keyed to one brand):
- store documents of a locations feed (schema.org opening hours);
- page JSON-LD store nodes (matched to a directory store by @id, url, name or city) and page /
  FAQ prose and tables, attributed to a store only when the page URL, else the title/question,
  else the text names exactly one store; inside a page, sections headed "Orari"/"Hours" are read
  for weekly hours and sections headed "festività"/"holiday"/"special" for dated hours;
- product feed rows and page JSON-LD Product/Offer nodes (matched to a feed product by sku,
  productID, gtin, mpn, url or name);
- promotions: standalone JSON-LD Offer/SaleEvent nodes with an end date on non-product pages, or
  "fino al 30 novembre 2025" / "until 30 November" on pages whose title or headings say promo,
  offerta, sconto, saldi, sale, discount;
- policy numbers in sentences and table rows of pages and FAQ answers.

The readers live next to this module: `knowledge.hours_facts`, `knowledge.promotion_facts`,
`knowledge.policy_facts` (with `knowledge.store_directory` and `knowledge.text_dates`); this
module holds the Fact model, value comparison, products and the orchestration.

A document states each subject once: when the same document gives a subject twice (JSON-LD and
the visible table), the structured statement is kept.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from knowledge.documents import Document
from knowledge.facts.hours import hours_value, page_hours, store_document_hours
from knowledge.facts.policy import policy_facts
from knowledge.facts.promotions import promotion_facts
from knowledge.facts.stores import StoreRef, find_stores, jsonld_text, node_types, store_directory
from knowledge.hours.model import TimeRange
from knowledge.manifest import DEFAULT_AUTHORITY, Manifest
from knowledge.text.fold import fold
from knowledge.text.offers import format_price, parse_availability

__all__ = [
    "Fact",
    "FactOrigin",
    "StoreRef",
    "extract_facts",
    "extract_policy_facts",
    "find_stores",
    "hours_value",
    "ranges_of",
    "same_value",
    "store_directory",
]

FACT_KINDS = ("hours", "special_hours", "price", "availability", "promotion", "policy")
_SNIPPET_CHARS = 300


@dataclass(frozen=True)
class Fact:
    kind: str  # "hours" | "special_hours" | "price" | "availability" | "promotion" | "policy"
    subject: str
    value: Any
    unit: str | None
    display: str  # the value in the content language ("domenica: chiuso", "1.299,00 €")
    source_id: str
    source_type: str
    doc_id: str
    url: str | None
    title: str
    effective_at: datetime | None  # the document's updated_at
    evidence: str  # the document's updated_at_evidence
    authority: int
    valid_from: date | None = None
    valid_through: date | None = None
    store: str | None = None
    product: str | None = None
    snippet: str = ""

    @property
    def id(self) -> str:
        payload = json.dumps([self.subject, self.doc_id, self.value], sort_keys=True, default=str)
        return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:16]

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "kind": self.kind,
            "subject": self.subject,
            "value": self.value,
            "unit": self.unit,
            "display": self.display,
            "source_id": self.source_id,
            "source_type": self.source_type,
            "doc_id": self.doc_id,
            "url": self.url,
            "title": self.title,
            "effective_at": self.effective_at.isoformat() if self.effective_at else None,
            "evidence": self.evidence,
            "authority": self.authority,
            "valid_from": self.valid_from.isoformat() if self.valid_from else None,
            "valid_through": self.valid_through.isoformat() if self.valid_through else None,
            "store": self.store,
            "product": self.product,
            "snippet": self.snippet,
        }


# --- comparing values -------------------------------------------------------------------------
def same_value(kind: str, a: Any, b: Any) -> bool:
    """Whether two values of one subject agree, after normalisation.

    Hours compare range by range ("9:00" = "09:00"); a partial statement ("closes at 19:00")
    agrees with full hours that close then. Numbers compare to the cent."""
    if kind in ("hours", "special_hours"):
        return _same_hours(a, b)
    if isinstance(a, int | float) and isinstance(b, int | float):
        return round(float(a), 2) == round(float(b), 2)
    if kind == "promotion" and isinstance(a, dict) and isinstance(b, dict):
        return a.get("valid_through") == b.get("valid_through") and a.get("valid_from") == b.get("valid_from")
    return a == b


def _same_hours(a: Any, b: Any) -> bool:
    a_ranges, b_ranges = _norm_ranges(a), _norm_ranges(b)
    a_partial, b_partial = _is_partial(a_ranges), _is_partial(b_ranges)
    if a_partial and b_partial:
        return a_ranges == b_ranges
    if a_partial or b_partial:
        part, full = (a_ranges, b_ranges) if a_partial else (b_ranges, a_ranges)
        if not full:
            return False
        opens, closes = part[0]
        if opens is None:
            return full[-1][1] == closes
        return full[0][0] == opens
    return a_ranges == b_ranges


def _norm_ranges(value: Any) -> list[tuple[str | None, str | None]]:
    out = []
    for pair in value or []:
        opens, closes = pair
        out.append((_norm_clock(opens), _norm_clock(closes)))
    return sorted(out, key=lambda r: (r[0] or "", r[1] or ""))


def _norm_clock(value: str | None) -> str | None:
    if value is None:
        return None
    hour, _, minute = str(value).partition(":")
    return f"{int(hour):02d}:{int(minute or 0):02d}"


def _is_partial(ranges: list[tuple[str | None, str | None]]) -> bool:
    return any(opens is None or closes is None for opens, closes in ranges)


def ranges_of(value: Any) -> tuple[TimeRange, ...] | None:
    """TimeRanges of a full hours value; None when the value is partial ("closes at 19:00")."""
    ranges = _norm_ranges(value)
    if _is_partial(ranges):
        return None
    return tuple(TimeRange.from_dict({"opens": o, "closes": c}) for o, c in ranges)


# --- extraction -------------------------------------------------------------------------------
@dataclass(frozen=True)
class FactOrigin:
    """What every fact of one document shares."""

    document: Document
    authority: int
    lang: str

    def fact(self, kind: str, subject: str, value: Any, display: str, **extra: Any) -> Fact:
        d = self.document
        return Fact(
            kind=kind,
            subject=subject,
            value=value,
            unit=extra.pop("unit", None),
            display=display,
            source_id=d.source_id,
            source_type=d.source_type,
            doc_id=d.doc_id,
            url=d.url,
            title=d.title,
            effective_at=d.updated_at,
            evidence=d.updated_at_evidence,
            authority=self.authority,
            **extra,
        )


def extract_facts(documents: Iterable[Document], manifest: Manifest) -> list[Fact]:
    """Every fact of every document (see the module docstring for the rules)."""
    docs = list(documents)
    stores = store_directory(docs)
    products = _ProductIndex(docs)
    authority = {s.id: s.effective_authority for s in manifest.sources}
    facts: list[Fact] = []
    for document in docs:
        origin = FactOrigin(
            document,
            authority.get(document.source_id, DEFAULT_AUTHORITY.get(document.source_type, 10)),
            _lang(document.language or manifest.language),
        )
        facts += _dedupe(list(_document_facts(origin, stores, products)))
    return facts


def extract_policy_facts(document: Document, authority: int) -> list[Fact]:
    """Policy numbers (shipping cost, free-shipping threshold, return / refund days, warranty
    years) stated in one page or FAQ answer; usable alone by the agent on a passage's document."""
    return _dedupe(policy_facts(FactOrigin(document, authority, _lang(document.language or "it"))))


def _document_facts(origin: FactOrigin, stores: list[StoreRef], products: _ProductIndex) -> Iterator[Fact]:
    document = origin.document
    if document.kind == "store":
        yield from store_document_hours(origin, stores)
    elif document.kind == "product":
        yield from _product_document_facts(origin)
    else:
        yield from page_hours(origin, stores)
        product_nodes = list(_product_nodes(document))
        yield from _page_product_facts(origin, product_nodes, products)
        if not product_nodes:
            yield from promotion_facts(origin)
        yield from policy_facts(origin)


def _dedupe(facts: list[Fact]) -> list[Fact]:
    """One fact per subject and document: the first (structured sources are read first)."""
    seen: set[str] = set()
    out = []
    for fact in facts:
        if fact.subject not in seen:
            seen.add(fact.subject)
            out.append(fact)
    return out


def _lang(language: str) -> str:
    return "it" if (language or "").lower().startswith("it") else "en"


# --- products -----------------------------------------------------------------------------------
def _product_document_facts(origin: FactOrigin) -> Iterator[Fact]:
    product = origin.document.data.get("product") or {}
    key = str(product.get("id") or origin.document.key)
    currency = str(product.get("currency") or "EUR")
    # The price a customer pays today: the sale price when the feed gives one.
    price = product.get("sale_price") if product.get("sale_price") is not None else product.get("price")
    if isinstance(price, int | float):
        yield _price_fact(origin, key, float(price), currency, origin.document.text)
    if product.get("availability"):
        yield _availability_fact(origin, key, str(product["availability"]), origin.document.text)


def _price_fact(origin: FactOrigin, key: str, price: float, currency: str, snippet: str) -> Fact:
    return origin.fact(
        "price",
        f"product:{key}:price",
        round(price, 2),
        format_price(price, currency, origin.lang),
        unit=currency,
        product=key,
        snippet=snippet[:_SNIPPET_CHARS],
    )


_AVAILABILITY_LABELS = {
    "it": {"in_stock": "disponibile", "out_of_stock": "non disponibile", "preorder": "in preordine",
           "backorder": "su ordinazione"},
    "en": {"in_stock": "in stock", "out_of_stock": "out of stock", "preorder": "available for pre-order",
           "backorder": "on backorder"},
}  # fmt: skip


def _availability_fact(origin: FactOrigin, key: str, value: str, snippet: str) -> Fact:
    return origin.fact(
        "availability",
        f"product:{key}:availability",
        value,
        _AVAILABILITY_LABELS[origin.lang].get(value, value),
        product=key,
        snippet=snippet[:_SNIPPET_CHARS],
    )


class _ProductIndex:
    """Feed products by every identifier a product page's JSON-LD may carry."""

    def __init__(self, documents: list[Document]) -> None:
        self.by_id: dict[str, str] = {}
        self.by_url: dict[str, str] = {}
        self.by_name: dict[str, list[str]] = {}
        for document in documents:
            product = document.data.get("product") if document.kind == "product" else None
            if not isinstance(product, dict):
                continue
            key = str(product.get("id") or document.key)
            for field in ("id", "gtin", "mpn"):
                if product.get(field):
                    self.by_id.setdefault(fold(str(product[field])).strip(), key)
            for url in (product.get("link"), document.url):
                if url:
                    self.by_url.setdefault(_url_key(url), key)
            self.by_name.setdefault(fold(document.title).strip(), []).append(key)

    def match(self, node: dict[str, Any], page_url: str | None) -> str | None:
        for field in ("sku", "productID", "gtin", "gtin8", "gtin12", "gtin13", "gtin14", "mpn"):
            value = jsonld_text(node.get(field))
            if value and fold(value).strip() in self.by_id:
                return self.by_id[fold(value).strip()]
        urls = [jsonld_text(node.get("url")), *(jsonld_text(o.get("url")) for o in _offers(node))]
        for url in urls:
            if url and _url_key(url) in self.by_url:
                return self.by_url[_url_key(url)]
        named = self.by_name.get(fold(jsonld_text(node.get("name"))).strip(), [])
        if len(named) == 1:
            return named[0]
        return None


def _url_key(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url.strip())
    return parts.netloc.lower().removeprefix("www.") + (parts.path.rstrip("/") or "/")


def _product_nodes(document: Document) -> Iterator[dict[str, Any]]:
    def walk(value: Any) -> Iterator[dict[str, Any]]:
        if isinstance(value, list):
            for item in value:
                yield from walk(item)
        elif isinstance(value, dict):
            if "Product" in node_types(value):
                yield value
                return
            for key, child in value.items():
                if key != "@context":
                    yield from walk(child)

    yield from walk(document.data.get("jsonld") or [])


def _offers(node: dict[str, Any]) -> list[dict[str, Any]]:
    offers = node.get("offers")
    items = offers if isinstance(offers, list) else [offers]
    return [o for o in items if isinstance(o, dict)]


def _page_product_facts(
    origin: FactOrigin, nodes: list[dict[str, Any]], products: _ProductIndex
) -> Iterator[Fact]:
    document = origin.document
    for node in nodes:
        key = (
            products.match(node, document.url)
            or jsonld_text(node.get("sku"))
            or jsonld_text(node.get("productID"))
        )
        if not key:
            continue
        offers = _offers(node)
        prices: set[float] = set()
        currencies: set[str] = set()
        availability: set[str] = set()
        for offer in offers:
            price = offer.get("price")
            if (
                price is None
                and offer.get("lowPrice") is not None
                and offer.get("lowPrice") == offer.get("highPrice")
            ):
                price = offer.get("lowPrice")
            try:
                if price is not None:
                    prices.add(round(float(str(price).replace(",", ".")), 2))
            except ValueError:
                pass
            if offer.get("priceCurrency"):
                currencies.add(str(offer["priceCurrency"]).upper())
            if offer.get("availability"):
                with contextlib.suppress(ValueError):  # an unknown availability says nothing comparable
                    availability.add(parse_availability(jsonld_text(offer["availability"])))
        snippet = f"{jsonld_text(node.get('name'))} — JSON-LD Product/Offer"
        if len(prices) == 1:  # several offers at different prices: no single price to compare
            yield _price_fact(
                origin, key, prices.pop(), currencies.pop() if len(currencies) == 1 else "EUR", snippet
            )
        if len(availability) == 1:
            yield _availability_fact(origin, key, availability.pop(), snippet)
