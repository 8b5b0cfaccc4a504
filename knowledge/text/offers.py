"""Prices and stock as feeds and pages write them: read a price and its currency, format one for a
customer, read an availability in any accepted spelling.

Used by the product feed parser and by the facts read from pages, so both agree on what a price is.
"""

from __future__ import annotations

import re

from babel.core import UnknownLocaleError
from babel.numbers import format_currency

from knowledge.errors import FeedProblem

__all__ = ["AVAILABILITY", "format_price", "parse_availability", "parse_price"]

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

_CURRENCY_SYMBOLS = {"€": "EUR", "$": "USD", "£": "GBP", "¥": "JPY", "₣": "CHF"}
_CURRENCY_CODE = re.compile(r"(?<![A-Za-z])([A-Za-z]{3})(?![A-Za-z])")


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
        raise FeedProblem(f"is not a price ({value.strip()!r}) — write it like '1299.00 EUR' or '1.299,00 €'")
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
    raise FeedProblem(f"has an unknown value {value.strip()!r} — use one of {', '.join(AVAILABILITY)}")


def format_price(amount: float, currency: str, language: str) -> str:
    """'1.299,00 €' (it) / '€1,299.00' (en), with plain spaces: CLDR's no-break spaces would make the
    text differ from what a person types and searches for."""
    try:
        text = format_currency(amount, currency, locale=language)
    except (UnknownLocaleError, ValueError):
        text = format_currency(amount, currency, locale="en")
    return text.replace("\u00a0", " ").replace("\u202f", " ")
