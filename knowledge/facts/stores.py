"""Which stores a brand has, and which of them a text talks about.

The directory comes from the store documents of a locations source (one per store).  Each
store gets a short key ("torino") used in fact subjects (`store:torino:weekday:6`) and in the
agent's memory, and a set of folded aliases to spot mentions: its name, its city, the city's
English/Italian exonym ("Turin" for Torino), and the words of its name that no other store
shares ("Lingotto" in "Velò Lingotto").
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from knowledge.documents import Document
from knowledge.jsonld import HOURS_FIELDS, is_store_node, text_value
from knowledge.text import fold, slug

# Italian cities whose English name differs (and foreign cities whose Italian name differs):
# customers write "Turin" to an Italian brand and "Monaco" to an English one.
CITY_EXONYMS: dict[str, tuple[str, ...]] = {
    "torino": ("turin",), "milano": ("milan",), "padova": ("padua",), "venezia": ("venice",),
    "firenze": ("florence",), "roma": ("rome",), "napoli": ("naples",), "genova": ("genoa",),
    "mantova": ("mantua",), "siracusa": ("syracuse",), "bolzano": ("bozen",), "trento": ("trent",),
    "londra": ("london",), "parigi": ("paris",), "berlino": ("berlin",), "ginevra": ("geneva",),
    "zurigo": ("zurich",), "bruxelles": ("brussels",), "lisbona": ("lisbon",), "barcellona": ("barcelona",),
    "marsiglia": ("marseille",), "lione": ("lyon",), "atene": ("athens",), "praga": ("prague",),
    "varsavia": ("warsaw",), "edimburgo": ("edinburgh",), "copenaghen": ("copenhagen",),
}  # fmt: skip
_EXONYMS: dict[str, tuple[str, ...]] = dict(CITY_EXONYMS)
for _it, _others in CITY_EXONYMS.items():
    for _other in _others:
        _EXONYMS.setdefault(_other, (_it,))
_MIN_ALIAS = 4  # shorter name words ("la", "via", "srl") say nothing about which store


@dataclass(frozen=True)
class StoreRef:
    key: str
    name: str
    city: str | None
    url: str | None
    aliases: tuple[str, ...]  # folded names that identify this store in a text
    node_id: str | None = None  # the store's @id (or feed id), to match JSON-LD on pages


def store_directory(documents: Iterable[Document]) -> list[StoreRef]:
    """Stores from store documents (kind "store"); when a brand has no locations source, from
    the store nodes in its pages' JSON-LD."""
    docs = list(documents)
    raw = [
        _from_store_document(d) for d in docs if d.kind == "store" and isinstance(d.data.get("store"), dict)
    ]
    if not raw:
        seen: set[str] = set()
        for document in docs:
            for node in jsonld_store_nodes(document):
                entry = _from_node(node, document.url)
                ident = entry["id"] or fold(entry["name"])
                if ident not in seen:
                    seen.add(ident)
                    raw.append(entry)
    return _with_keys_and_aliases(raw)


def find_stores(text: str, stores: list[StoreRef]) -> list[StoreRef]:
    """Stores mentioned in `text` (accent- and case-insensitive, whole words), in order of
    first mention."""
    folded = _words_only(fold(text))
    found: list[tuple[int, StoreRef]] = []
    for store in stores:
        positions = [
            m.start()
            for alias in store.aliases
            for m in re.finditer(rf"(?<![a-z0-9]){re.escape(alias)}(?![a-z0-9])", folded)
        ]
        if positions:
            found.append((min(positions), store))
    return [store for _, store in sorted(found, key=lambda item: item[0])]


def store_for_url(url: str | None, stores: list[StoreRef]) -> StoreRef | None:
    """The store a page URL is about: its own URL, or a path that names exactly one store."""
    if not url:
        return None
    for store in stores:
        if store.url and _same_url(store.url, url):
            return store
    path = urlsplit(url).path.replace("-", " ").replace("_", " ").replace("/", " ")
    named = find_stores(path, stores)
    return named[0] if len(named) == 1 else None


def match_store_node(node: dict[str, Any], stores: list[StoreRef], page_url: str | None) -> StoreRef | None:
    """The directory store a JSON-LD store node describes: by @id, url, then name, then city."""
    entry = _from_node(node, page_url)
    for store in stores:
        if entry["id"] and store.node_id and _same_url(entry["id"], store.node_id):
            return store
    for store in stores:
        if entry["url"] and store.url and _same_url(entry["url"], store.url):
            return store
    by_name = [s for s in stores if fold(s.name) == fold(entry["name"])] if entry["name"] else []
    if len(by_name) == 1:
        return by_name[0]
    if entry["city"]:
        by_city = [s for s in stores if s.city and fold(s.city) == fold(entry["city"])]
        if len(by_city) == 1:
            return by_city[0]
    return None


def jsonld_store_nodes(document: Document) -> list[dict[str, Any]]:
    """Store nodes (LocalBusiness and subtypes, or anything publishing opening hours) in a page's JSON-LD."""
    out: list[dict[str, Any]] = []

    def walk(value: Any) -> None:
        if isinstance(value, list):
            for item in value:
                walk(item)
        elif isinstance(value, dict):
            if is_store_node(value):
                out.append(value)
            for key, child in value.items():
                if key not in ("@context", *HOURS_FIELDS):
                    walk(child)

    walk(document.data.get("jsonld") or [])
    return out


# --- building the directory -------------------------------------------------------------------
def _from_store_document(document: Document) -> dict[str, Any]:
    store = document.data["store"]
    return {
        "id": str(store.get("id") or document.key),
        "name": str(store.get("name") or document.title),
        "city": store.get("city") or None,
        "url": store.get("url") or document.url,
    }


def _from_node(node: dict[str, Any], page_url: str | None) -> dict[str, Any]:
    address = node.get("address")
    if isinstance(address, list):
        address = address[0] if address else None
    city = text_value(address.get("addressLocality"), use_id=True) if isinstance(address, dict) else ""
    return {
        "id": text_value(node.get("@id"), use_id=True) or None,
        "name": text_value(node.get("name"), use_id=True),
        "city": city or None,
        "url": text_value(node.get("url"), use_id=True) or None,
    }


def _with_keys_and_aliases(raw: list[dict[str, Any]]) -> list[StoreRef]:
    name_words = [set(_words_only(fold(r["name"])).split()) for r in raw]
    shared = set.intersection(*name_words) if len(name_words) > 1 else set()
    cities = [fold(r["city"]) if r["city"] else None for r in raw]
    stores: list[StoreRef] = []
    used: set[str] = set()
    for entry, city in zip(raw, cities, strict=True):
        distinctive = [
            w for w in _words_only(fold(entry["name"])).split() if w not in shared and len(w) >= _MIN_ALIAS
        ]
        candidates = []
        if city and cities.count(city) == 1:
            candidates.append(slug(city))
        if distinctive and len(raw) > 1:
            candidates.append(slug(" ".join(distinctive)))
        candidates += [slug(entry["name"]), slug(entry["id"] or "") or "store"]
        key = next((c for c in candidates if c and c not in used), None)
        if key is None:
            base, n = candidates[-1], 2
            while f"{base}-{n}" in used:
                n += 1
            key = f"{base}-{n}"
        used.add(key)
        aliases: list[str] = [_words_only(fold(entry["name"]))]
        if city:
            aliases += [city, *_EXONYMS.get(city, ())]
        if distinctive:
            aliases.append(" ".join(distinctive))
            aliases += [w for w in distinctive if len(raw) > 1]
        stores.append(
            StoreRef(
                key=key,
                name=entry["name"],
                city=entry["city"],
                url=entry["url"],
                aliases=tuple(dict.fromkeys(a for a in aliases if len(a) >= _MIN_ALIAS)),
                node_id=entry["id"],
            )
        )
    return stores


def _same_url(a: str, b: str) -> bool:
    def norm(u: str) -> tuple[str, str]:
        parts = urlsplit(u.strip())
        return parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/") or "/"

    return norm(a) == norm(b)


def _words_only(folded: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", folded))


