"""Answers about stores as places: which services (amenities) each offers, address and phone.

Read from the store documents (schema.org `amenityFeature`, `address`, `telephone`), so "Is there
parking at the Leeds store?" is answered from the feed, including "no, but York has".
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

from agent.answers.composition import Composition
from agent.phrases import lexicons, phrase
from agent.reply import Citation
from knowledge import Document
from knowledge.text import fold, search_tokens


def store_documents(stores: list[Any], documents: list[Document]) -> dict[str, Document]:
    """StoreRef key → its store document (matched by feed id/@id or url)."""
    out: dict[str, Document] = {}
    for ref in stores:
        for document in documents:
            if document.kind != "store":
                continue
            raw = document.data.get("store", {})
            if (ref.node_id and raw.get("id") == ref.node_id) or (ref.url and document.url == ref.url):
                out[ref.key] = document
                break
    return out


def _citation(document: Document) -> Citation:
    return Citation(document.source_id, document.url, document.title, document.updated_at)


def asked_amenity(message: str, docs: dict[str, Document], idf: Callable[[str], float]) -> str | None:
    """The amenity named in the message: the one sharing the rarest word stems with it
    ("repair a cracked phone screen" names "Screen repair", not "Phone rental": "phone" is
    everywhere)."""
    asked = set(search_tokens(message))
    best: tuple[float, str] | None = None
    for document in docs.values():
        for amenity in _amenities(document, include_absent=True):
            tokens = set(search_tokens(amenity))
            if not tokens:
                continue
            # The amenity's rarest word must be asked: "bike" alone does not name "Bike fitting".
            if max(tokens, key=idf) not in asked:
                continue
            weight = sum(idf(t) for t in asked & tokens)
            if best is None or weight > best[0]:
                best = (weight, amenity)
    return best[1] if best else None


# The amenity answer says where a service is offered; a question about its price, duration,
# deposit or booking needs the brand's own text instead (`answer_words` in the language files).
@cache
def _words(name: str) -> tuple[re.Pattern[str], ...]:
    return tuple(re.compile(p) for table in lexicons("answer_words").values() for p in (table or {}).get(name) or ())


def _says(name: str, folded: str) -> bool:
    return any(p.search(folded) for p in _words(name))


def _mid_sentence(name: str) -> str:
    """A service name inside a sentence: "officina riparazioni", "bike fitting" (acronyms kept)."""
    return name if name[:2].isupper() else name[:1].lower() + name[1:]


def _amenities(document: Document, include_absent: bool = False) -> list[str]:
    raw = document.data.get("store", {})
    names = list(raw.get("amenities") or [])
    if include_absent:
        names += list(raw.get("absent_amenities") or [])
    return names


def compose_services(message: str, lang: str, store_key: str | None, stores: list[Any],
                     documents: list[Document], idf: Callable[[str], float]) -> Composition | None:
    folded = fold(message)
    if _says("service_other", folded) or not _says("service_where", folded):
        return None
    docs = store_documents(stores, documents)
    amenity = asked_amenity(message, docs, idf)
    if amenity is None:
        return None
    key = amenity.casefold()
    offering = [ref for ref in stores if ref.key in docs and key in {a.casefold() for a in _amenities(docs[ref.key])}]
    names = ", ".join(ref.city or ref.name for ref in offering)
    service = _mid_sentence(amenity)
    if store_key and store_key in docs:
        ref = next(r for r in stores if r.key == store_key)
        if any(r.key == store_key for r in offering):
            text = phrase(lang, "services_has", store=ref.name, service=service)
            cited = [docs[store_key]]
        else:
            text = phrase(lang, "services_has_not", store=ref.name, service=service)
            if offering:
                text += " " + phrase(lang, "services_elsewhere", service=amenity, stores=names)
            cited = [docs[store_key]] + [docs[r.key] for r in offering]
    elif offering:
        text = phrase(lang, "services_elsewhere", service=amenity, stores=names)
        cited = [docs[r.key] for r in offering]
    else:
        text = phrase(lang, "services_nowhere", service=service)
        cited = list(docs.values())
    comp = Composition(text, grounded=True, kind="services")
    for document in cited:
        comp.add_citation(_citation(document))
    return comp


def compose_store_info(lang: str, store_key: str | None, stores: list[Any],
                       documents: list[Document]) -> Composition | None:
    docs = store_documents(stores, documents)
    if not store_key or store_key not in docs:
        return None
    raw = docs[store_key].data.get("store", {})
    if not raw.get("address"):
        return None
    ref = next(r for r in stores if r.key == store_key)
    text = phrase(lang, "store_address", store=ref.name, address=raw["address"])
    if raw.get("telephone"):
        text += " " + phrase(lang, "store_phone", phone=raw["telephone"])
    comp = Composition(text, grounded=True, kind="store_info")
    comp.add_citation(_citation(docs[store_key]))
    return comp
