"""Folding text for comparison: one `fold` for the whole project, and the words and keys made from it.

`fold` lower-cases, strips accents and unifies dashes, apostrophes and spaces, one character for
one character, so a match found in the folded text can be cut from the original at the same
offsets (the operator sees the customer's own words; a parser quotes the page's own text).
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from functools import lru_cache

__all__ = ["fold", "slug", "stable_key", "words"]

_WORD = re.compile(r"[a-z0-9]+(?:[.,:][0-9]+)?")
_DASHES = frozenset("–—‒‑−―")
_APOSTROPHES = frozenset("’‘`´")
_SPACES = frozenset("\u00a0\u202f\u2009")


@lru_cache(maxsize=4096)
def _fold_char(ch: str) -> str:
    if ch in _DASHES:
        return "-"
    if ch in _APOSTROPHES:
        return "'"
    if ch in _SPACES or ch == "\r":
        # "\r\n" must not read as a blank line (a clause break) where lines matter.
        return " "
    decomposed = unicodedata.normalize("NFKD", ch.lower())
    base = "".join(c for c in decomposed if not unicodedata.combining(c))
    return base[:1] if base else " "


def fold(text: str) -> str:
    """Lower-case, strip accents, unify dashes, apostrophes and spaces: "Lunedì–Venerdì" → "lunedi-venerdi".

    The result has the length of `text`, character for character."""
    if text.isascii():
        return text.lower().replace("`", "'").replace("\r", " ")
    return "".join(_fold_char(ch) for ch in text)


def words(text: str) -> list[str]:
    return _WORD.findall(fold(text).replace("'", " "))


def slug(text: str, max_length: int = 48) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    return re.sub(r"[^a-z0-9]+", "-", ascii_text).strip("-")[:max_length].rstrip("-")


def stable_key(text: str) -> str:
    """A readable, stable key for free text (an FAQ question): slug plus a short hash, so the key
    does not depend on the row's position and two long questions with one prefix stay distinct."""
    normalised = " ".join(text.casefold().split())
    digest = hashlib.sha1(normalised.encode("utf-8")).hexdigest()[:10]
    prefix = slug(text)
    return f"{prefix}-{digest}" if prefix else digest
