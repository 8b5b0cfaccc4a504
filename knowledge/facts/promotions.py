"""Promotion facts: what is on offer and until when.

Read from standalone JSON-LD Offer / SaleEvent nodes with an end date (validThrough, endDate) on
pages that are not product pages (an Offer inside a Product is a price), or — when a page or FAQ
entry's title or headings say promo, promozione, offerta, sconto, saldi, sale, discount — from
"fino al 30 novembre 2025", "until 30 November", "dal 24 al 30 novembre" in its text. A text with
two different end dates is ambiguous and gives nothing. The subject is ``promotion:{doc_id}``
(``#2``, ``#3`` for further offers on the same page).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import date
from typing import Any

from babel.dates import format_date

from knowledge.documents import Document
from knowledge.facts.model import Fact, FactOrigin
from knowledge.facts.sections import document_body
from knowledge.jsonld import node_types, text_value
from knowledge.text import MONTH_PATTERN, MONTHS, dates_in, fold, make_date, without_weekdays

_SNIPPET_CHARS = 300

_PROMO_TYPES = ("Offer", "SaleEvent", "AggregateOffer", "DiscountOffer")
_PROMO_WORDS = re.compile(
    r"(?<![a-z])(promo\w*|offert\w*|scont\w*|saldi|sale|sales|discount\w*|deals?|coupon\w*|black friday|cyber monday)(?![a-z])"
)
_UNTIL = re.compile(
    rf"(?<![a-z])(?:fino\s+al(?:l')?|fino\s+a|entro\s+il|valid[oa]?\s+fino\s+al|until|till|through|thru|ends?\s+on|ending)\s+"
    rf"(?:(?:lunedi|martedi|mercoledi|giovedi|venerdi|sabato|domenica|monday|tuesday|wednesday|thursday|friday|saturday|sunday),?\s+)?"
    rf"((?:\d{{1,2}}(?:°|st|nd|rd|th)?\s+(?:di\s+|of\s+)?(?:{MONTH_PATTERN})\.?(?:\s+\d{{4}})?)|(?:(?:{MONTH_PATTERN})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+\d{{4}})?)|\d{{4}}-\d{{2}}-\d{{2}})"
)
_FROM_TO = re.compile(
    rf"(?<![a-z])(?:dal|from)\s+(\d{{1,2}})(?:°|º|st|nd|rd|th)?(?:\s+({MONTH_PATTERN}))?(?:\s+(\d{{4}}))?\s+"
    rf"(?:al|to|until|-)\s+(\d{{1,2}})(?:°|º|st|nd|rd|th)?\s+({MONTH_PATTERN})(?:\s+(\d{{4}}))?"
)
_DISCOUNT = re.compile(r"(?<![\d,.])-?\s?(\d{1,2}(?:[.,]\d)?)\s?%")


def promotion_facts(origin: FactOrigin) -> Iterator[Fact]:
    document = origin.document
    found = 0
    for node in _promotion_nodes(document):
        through = _iso_day(node.get("validThrough") or node.get("endDate") or node.get("priceValidUntil"))
        if through is None:
            continue
        start = _iso_day(node.get("validFrom") or node.get("startDate"))
        title = text_value(node.get("name"), use_id=True) or document.title
        discount = _discount(" ".join([title, text_value(node.get("description"), use_id=True), document.title]))
        yield _promotion_fact(
            origin, found, title, start, through, discount, json.dumps(node, ensure_ascii=False, default=str)
        )
        found += 1
    if found or not _looks_like_promotion(document):
        return
    window = _text_validity(document_body(document), (document.updated_at or document.fetched_at).date())
    if window is not None:
        start, through, snippet = window
        yield _promotion_fact(
            origin, 0, document.title, start, through, _discount(document.title + " " + snippet), snippet
        )


def _promotion_fact(
    origin: FactOrigin,
    index: int,
    title: str,
    start: date | None,
    through: date,
    discount: str | None,
    snippet: str,
) -> Fact:
    subject = f"promotion:{origin.document.doc_id}" + (f"#{index + 1}" if index else "")
    value = {
        "title": title,
        "valid_from": start.isoformat() if start else None,
        "valid_through": through.isoformat(),
        "discount": discount,
    }
    until = format_date(through, "d MMMM y", locale=origin.lang)
    display = f"{title} ({'fino al' if origin.lang == 'it' else 'until'} {until})"
    return origin.fact(
        "promotion",
        subject,
        value,
        display,
        valid_from=start,
        valid_through=through,
        snippet=snippet[:_SNIPPET_CHARS],
    )


def _promotion_nodes(document: Document) -> Iterator[dict[str, Any]]:
    """Offer/SaleEvent nodes at the top level or as what a page or event is about (`mainEntity`,
    `about`, `hasPart`, an event's `offers`): an Offer nested in a Product is a price, not a
    promotion."""
    for node in document.data.get("jsonld") or []:
        yield from _promotions_in(node, depth=0)


_CONTAINER_KEYS = ("mainEntity", "about", "hasPart", "offers", "itemListElement", "item")
_PRICED_TYPES = ("Product", "ProductGroup", "IndividualProduct", "ProductModel", "Service")


def _promotions_in(node: Any, depth: int) -> Iterator[dict[str, Any]]:
    if isinstance(node, list):
        for item in node:
            yield from _promotions_in(item, depth)
        return
    if not isinstance(node, dict) or depth > 3:
        return
    types = node_types(node)
    if any(t in _PROMO_TYPES for t in types):
        yield node
        return
    if any(t in _PRICED_TYPES for t in types):
        return
    for key in _CONTAINER_KEYS:
        if key in node:
            yield from _promotions_in(node[key], depth + 1)


def _looks_like_promotion(document: Document) -> bool:
    heads = [document.title, *(document.data.get("headings") or [])]
    if document.kind == "faq":
        heads = [document.title]
    return any(_PROMO_WORDS.search(fold(h)) for h in heads)


def _text_validity(text: str, reference: date) -> tuple[date | None, date, str] | None:
    """The validity window stated in a promotion's text; None when absent or ambiguous (two
    different end dates)."""
    folded = fold(text)
    ends: dict[date, tuple[date | None, str]] = {}
    for match in _FROM_TO.finditer(folded):
        end_month = MONTHS[match.group(5)]
        end = make_date(int(match.group(4)), end_month, match.group(6), reference)
        if end is None:
            continue
        start_month = MONTHS[match.group(2)] if match.group(2) else end_month
        start = make_date(int(match.group(1)), start_month, match.group(3) or match.group(6) or None, end)
        if start and start > end and not match.group(3):
            start = start.replace(year=start.year - 1)
        ends.setdefault(
            end, (start if start and start <= end else None, _sentence_at(text, folded, match.start()))
        )
    for match in _UNTIL.finditer(folded):
        dates = dates_in(without_weekdays(match.group(1)), reference)
        if len(dates) == 1 and dates[0] not in ends:
            ends[dates[0]] = (None, _sentence_at(text, folded, match.start()))
    if len(ends) != 1:
        return None
    end, (start, snippet) = next(iter(ends.items()))
    return start, end, snippet


def _sentence_at(text: str, folded: str, position: int) -> str:
    start = max(folded.rfind("\n", 0, position), folded.rfind(". ", 0, position)) + 1
    end_candidates = [i for i in (folded.find("\n", position), folded.find(". ", position)) if i != -1]
    end = min(end_candidates) if end_candidates else len(text)
    return text[start : end + 1].strip()


def _discount(text: str) -> str | None:
    values = {m.group(1).replace(",", ".") for m in _DISCOUNT.finditer(text)}
    return f"-{values.pop()}%" if len(values) == 1 else None


def _iso_day(value: Any) -> date | None:
    text = text_value(value, use_id=True)
    if not text:
        return None
    try:
        return date.fromisoformat(text[:10])
    except ValueError:
        return None
