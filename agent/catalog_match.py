"""Which product a customer message names, by distinctive words of product titles.

A word that appears in few product titles ("Aurora") identifies a product; a word in many
("bici", "casco") does not.  Weights are inverse document frequency over the titles.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from knowledge import Document
from knowledge.text import words

_GENERIC = frozenset(
    ["il", "lo", "la", "i", "gli", "le", "un", "una", "di", "da", "in", "con", "su", "per", "tra", "fra", "del", "della", "dei", "degli", "delle", "al", "alla", "ai", "agli", "alle", "the", "a", "an", "of", "for", "with", "and", "or", "to", "in", "on", "at", "quanto", "costa", "costano", "prezzo", "price", "how", "much", "cost", "costs", "avete", "vendete", "disponibile", "disponibili", "available", "stock", "do", "you", "have", "is", "are"]
)


@dataclass(frozen=True)
class ProductRef:
    key: str
    doc_id: str
    title: str
    tokens: frozenset[str]


class ProductMatcher:
    def __init__(self, documents: list[Document], chunks: Sequence[Any] = ()) -> None:
        self.products = [
            ProductRef(
                key=str(d.data.get("product", {}).get("id") or d.key),
                doc_id=d.doc_id,
                title=d.title,
                tokens=frozenset(distinctive_words(words(d.title))),
            )
            for d in documents
            if d.kind == "product"
        ]
        # Which documents use each title word: a word that mostly appears outside a product's own
        # documents ("nuova", "batteria") is an ordinary word there, not the product's name.
        self._owners: dict[str, Counter[str]] = {}
        urls = {d.doc_id: d.url for d in documents}
        for chunk in chunks:
            owner = chunk.metadata.get("url") or chunk.doc_id
            for token in set(distinctive_words(words(chunk.text))):
                self._owners.setdefault(token, Counter())[owner] += 1
        self._product_owners = {
            p.doc_id: {p.doc_id, urls.get(p.doc_id) or p.doc_id} for p in self.products
        }
        df = Counter(t for p in self.products for t in p.tokens)
        n = max(len(self.products), 1)
        self.idf = {t: math.log((n + 1) / (c + 0.5)) for t, c in df.items()}

    def find(self, text: str) -> ProductRef | None:
        """The best-matching product, or None when no product is clearly named."""
        asked = set(distinctive_words(words(text)))
        best: tuple[float, ProductRef] | None = None
        for product in self.products:
            matched = asked & product.tokens
            if not matched:
                continue
            if len(matched) == 1 and not self._owned(next(iter(matched)), product):
                continue
            score = sum(self.idf.get(t, 0.0) for t in matched)
            coverage = len(matched) / max(len(product.tokens), 1)
            score *= 0.5 + coverage
            if best is None or score > best[0]:
                best = (score, product)
        # One distinctive word (idf above that of a word shared by a third of the titles) is needed.
        threshold = math.log(3) if len(self.products) > 3 else 0.1
        return best[1] if best and best[0] >= threshold else None

    def _owned(self, token: str, product: ProductRef) -> bool:
        owners = self._owners.get(token)
        if not owners:
            return True  # no chunk statistics (e.g. products without an index): trust the title
        return _owned_share(owners, self._product_owners[product.doc_id]) >= 0.5


def _owned_share(owners: Counter[str], mine: set[str]) -> float:
    total = sum(owners.values())
    return sum(n for owner, n in owners.items() if owner in mine) / total if total else 1.0


def distinctive_words(tokens: list[str]) -> list[str]:
    # One- and two-letter words ("e" from "E-Family", the folded "è") name nothing; "26" or "7v" may.
    return [t for t in tokens if t not in _GENERIC and (len(t) >= 3 or any(ch.isdigit() for ch in t))]
