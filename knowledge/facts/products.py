"""Product facts: price and stock from product feed rows and from pages' JSON-LD Product/Offer nodes
(matched to a feed product by sku, productID, gtin, mpn, url or name)."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from knowledge.documents import Document
from knowledge.facts.model import SNIPPET_CHARS, Fact, FactOrigin
from knowledge.jsonld import node_types, text_value
from knowledge.text import fold, format_price, parse_availability


def product_document_facts(origin: FactOrigin) -> Iterator[Fact]:
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
        snippet=snippet[:SNIPPET_CHARS],
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
        snippet=snippet[:SNIPPET_CHARS],
    )


class ProductIndex:
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
            value = text_value(node.get(field), use_id=True)
            if value and fold(value).strip() in self.by_id:
                return self.by_id[fold(value).strip()]
        urls = [text_value(node.get("url"), use_id=True), *(text_value(o.get("url"), use_id=True) for o in _offers(node))]
        for url in urls:
            if url and _url_key(url) in self.by_url:
                return self.by_url[_url_key(url)]
        named = self.by_name.get(fold(text_value(node.get("name"), use_id=True)).strip(), [])
        if len(named) == 1:
            return named[0]
        return None


def _url_key(url: str) -> str:

    parts = urlsplit(url.strip())
    return parts.netloc.lower().removeprefix("www.") + (parts.path.rstrip("/") or "/")


def product_nodes(document: Document) -> Iterator[dict[str, Any]]:
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


def page_product_facts(
    origin: FactOrigin, nodes: list[dict[str, Any]], products: ProductIndex
) -> Iterator[Fact]:
    document = origin.document
    for node in nodes:
        key = (
            products.match(node, document.url)
            or text_value(node.get("sku"), use_id=True)
            or text_value(node.get("productID"), use_id=True)
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
                    availability.add(parse_availability(text_value(offer["availability"], use_id=True)))
        snippet = f"{text_value(node.get('name'), use_id=True)} — JSON-LD Product/Offer"
        if len(prices) == 1:  # several offers at different prices: no single price to compare
            yield _price_fact(
                origin, key, prices.pop(), currencies.pop() if len(currencies) == 1 else "EUR", snippet
            )
        if len(availability) == 1:
            yield _availability_fact(origin, key, availability.pop(), snippet)
