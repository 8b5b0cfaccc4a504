"""Which stores a brand has, and which of them a text talks about.

The directory comes from the store documents of a locations source (one per store); when a
brand has no locations source, from the store nodes of its pages' JSON-LD. Each store gets a
short key ("torino") used in fact subjects (`store:torino:weekday:6`) and in the agent's memory,
and a set of folded aliases to spot mentions: its name, its city, the city's English/Italian
exonym ("Turin" for Torino), and the words of its name that no other store shares ("Lingotto"
in "Velò Lingotto").

Stores described only in prose join the directory too. A page or FAQ entry describes one store
when its text gives one postal address (`knowledge.facts.addresses`; a registered office, or an
address repeated on most pages of a site, is the company's, not a store's) and its title or main
heading names that address's town or street — or, without an address, when its text gives weekly
opening hours and its title names a place: a store word of the language data
(`places.store_words`: "outlet", "negozio", "store") next to a proper name ("Outlet di Modena",
"Our Leeds store"). Such a description is the same store as a directory store when the page's
URL is that store's (or names it), when the names match, or when the town matches and the
addresses do not disagree; otherwise it is a store of its own, keyed after the feed's stores so
their keys never change. Every description is recorded on its store (`StoreRef.pages`), and the
hours reader attributes the page's hours to it (`knowledge.facts.hours`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from functools import cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

import yaml

from knowledge.documents import Document
from knowledge.facts.addresses import PostalAddress, postal_addresses, street_key
from knowledge.facts.sections import document_body, hours_sections, main_heading
from knowledge.hours import parse_hours_text
from knowledge.jsonld import HOURS_FIELDS, is_store_node, text_value
from knowledge.text import LANGUAGES, fold, language_data, slug

_MIN_ALIAS = 4  # shorter name words ("la", "via", "srl") say nothing about which store


@dataclass(frozen=True)
class StoreRef:
    key: str
    name: str
    city: str | None
    url: str | None
    aliases: tuple[str, ...]  # folded names that identify this store in a text
    node_id: str | None = None  # the store's @id (or feed id), to match JSON-LD on pages
    address: str | None = None  # "Via Po 45, 10124 Torino", when a source gives it
    pages: tuple[str, ...] = ()  # doc_ids of the pages and FAQ entries describing it


def store_directory(documents: Iterable[Document]) -> list[StoreRef]:
    """Stores from store documents (kind "store"); when a brand has no locations source, from
    the store nodes in its pages' JSON-LD; then the stores pages and FAQ entries describe in
    prose, merged with those (see the module docstring)."""
    docs = list(documents)
    return _with_store_pages(_structured_stores(docs), docs)


def _structured_stores(docs: list[Document]) -> list[StoreRef]:
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
        "address": store.get("address") or None,
    }


def _from_node(node: dict[str, Any], page_url: str | None) -> dict[str, Any]:
    address = node.get("address")
    if isinstance(address, list):
        address = address[0] if address else None
    parts: dict[str, str] = {}
    if isinstance(address, dict):
        parts = {k: text_value(address.get(k), use_id=True) for k in ("streetAddress", "postalCode", "addressLocality")}
    elif isinstance(address, str):
        parts = {"streetAddress": address.strip()}
    town = " ".join(p for p in (parts.get("postalCode"), parts.get("addressLocality")) if p)
    return {
        "id": text_value(node.get("@id"), use_id=True) or None,
        "name": text_value(node.get("name"), use_id=True),
        "city": parts.get("addressLocality") or None,
        "url": text_value(node.get("url"), use_id=True) or None,
        "address": ", ".join(p for p in (parts.get("streetAddress"), town) if p) or None,
    }


def _with_keys_and_aliases(
    raw: list[dict[str, Any]],
    *,
    others: Sequence[StoreRef] = (),
    generic: frozenset[str] = frozenset(),
) -> list[StoreRef]:
    """Keys and aliases for `raw` stores, next to the `others` the directory already holds (whose
    keys are taken). A name word is not distinctive when another store's name has it too (the
    brand, the kind of shop); `generic` words (store nouns) never are."""
    everyone = [*(o.name for o in others), *(r["name"] for r in raw)]
    name_words = [set(_words_only(fold(name)).split()) for name in everyone]
    # A word in two stores' names ("Farmacia" in three of four pharmacies' names) tells none apart.
    shared = {w for w in set().union(*name_words) if sum(w in words for words in name_words) > 1}
    shared |= generic
    all_cities = [fold(o.city) if o.city else None for o in others]
    cities = [fold(r["city"]) if r["city"] else None for r in raw]
    all_cities += cities
    stores: list[StoreRef] = []
    used: set[str] = {o.key for o in others}
    for entry, city in zip(raw, cities, strict=True):
        distinctive = [
            w for w in _words_only(fold(entry["name"])).split() if w not in shared and len(w) >= _MIN_ALIAS
        ]
        candidates = []
        if city and all_cities.count(city) == 1:
            candidates.append(slug(city))
        if distinctive and len(everyone) > 1:
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
            aliases += [city, *_city_names().get(city, ())]
        if distinctive:
            aliases.append(" ".join(distinctive))
            aliases += [w for w in distinctive if len(everyone) > 1]
        stores.append(
            StoreRef(
                key=key,
                name=entry["name"],
                city=entry["city"],
                url=entry["url"],
                aliases=tuple(dict.fromkeys(a for a in aliases if len(a) >= _MIN_ALIAS and a not in generic)),
                node_id=entry["id"],
                address=entry.get("address"),
                pages=tuple(entry.get("pages") or ()),
            )
        )
    return stores


# --- stores described in prose ----------------------------------------------------------------
# An address on at least this many pages of one site, and on more than half of them, is the
# company's (a footer, a contact box), not the address of the store one page is about.
_REPEATED_ON_PAGES = 3
_UPPER = "A-ZÀ-ÖØ-Þ"
_TITLE_SEPARATORS = re.compile(r"\s+[|–—·-]\s+|\s*[|–—·]\s*")



@cache
def _city_names() -> dict[str, tuple[str, ...]]:
    """Each name of a city → its other names (`cities.yaml`, data rather than a table in code)."""
    text = (resources.files("knowledge.facts") / "cities.yaml").read_text(encoding="utf-8")
    names: dict[str, tuple[str, ...]] = {}
    for group in yaml.safe_load(text)["cities"]:
        for name in group:
            names.setdefault(str(name), tuple(str(other) for other in group if other != name))
    return names

@dataclass(frozen=True)
class _Description:
    """What one page or FAQ entry says about the one store it describes."""

    doc_id: str
    kind: str
    url: str | None
    name: str
    city: str | None
    address: PostalAddress | None


def _with_store_pages(stores: list[StoreRef], docs: list[Document]) -> list[StoreRef]:
    repeated = _repeated_addresses(docs)
    described = [d for d in (_description(doc, repeated) for doc in docs) if d is not None]
    described.sort(key=lambda d: (d.kind != "page", d.doc_id))  # pages name a store better than FAQ entries
    on_stores: dict[str, list[_Description]] = {}
    own: list[list[_Description]] = []  # stores found only in prose, each with its descriptions
    for description in described:
        store = _described_store(description, stores)
        if store is not None:
            on_stores.setdefault(store.key, []).append(description)
            continue
        group = next((g for g in own if _same_place(description, g[0])), None)
        if group is None:
            own.append([description])
        else:
            group.append(description)
    merged = [_with_descriptions(store, on_stores.get(store.key, [])) for store in stores]
    raw = [
        {
            "id": None,
            "name": group[0].name,
            "city": next((d.city for d in group if d.city), None),
            "url": next((d.url for d in group if d.kind == "page"), group[0].url),
            "address": next((d.address.line for d in group if d.address), None),
            "pages": [d.doc_id for d in group],
        }
        for group in own
    ]
    if not raw:
        return merged
    found = _with_keys_and_aliases(raw, others=merged, generic=_generic_words())
    return merged + [_with_kind_aliases(store, [*merged, *found]) for store in found]


def _description(document: Document, repeated: set[tuple[str, str]]) -> _Description | None:
    """The store a page or FAQ entry describes in prose, if it describes exactly one."""
    if document.kind not in ("page", "faq"):
        return None
    addresses = {
        a.key: a for a in postal_addresses(document_body(document)) if (document.source_id, a.key) not in repeated
    }
    titles = [t for t in (main_heading(document), document.title) if t]
    if len(addresses) > 1:
        return None  # a list of places (the stores page, a contacts page), not one place
    if addresses:
        [address] = addresses.values()
        named = [t for t in _title_parts(titles) if _names_address(t, address)]
        if not named:
            return None  # an address in passing: the page is about something else
        phrase = _place_phrase(document.title, address.town)
        # A page's name is the shortest part of its title or heading naming the place (not the
        # bare town: "Outlet di Modena | Brand" → "Outlet di Modena"); an FAQ question is not a name.
        fuller = sorted((t for t in named if _words_only(fold(t)) != _words_only(fold(address.town))), key=len)
        if document.kind == "page":
            name = fuller[0] if fuller else address.town
        else:
            name = phrase[0] if phrase else address.town
        return _Description(document.doc_id, document.kind, document.url, name, address.town, address)
    places = [p for p in (_place_phrase(t) for t in titles) if p is not None and _is_proper_name(p[1], document)]
    if not places or parse_hours_text(hours_sections(document)[0][0]) is None:
        return None
    return _Description(document.doc_id, document.kind, document.url, places[0][0], None, None)


def _repeated_addresses(docs: list[Document]) -> set[tuple[str, str]]:
    pages: dict[str, int] = {}
    seen: dict[tuple[str, str], int] = {}
    for document in docs:
        if document.kind != "page":
            continue
        pages[document.source_id] = pages.get(document.source_id, 0) + 1
        for key in {a.key for a in postal_addresses(document.text)}:
            seen[(document.source_id, key)] = seen.get((document.source_id, key), 0) + 1
    return {
        where for where, count in seen.items() if count >= _REPEATED_ON_PAGES and 2 * count > pages[where[0]]
    }


def _title_parts(titles: list[str]) -> list[str]:
    """Each title whole, then its parts ("Outlet di Modena | Brand" → "Outlet di Modena")."""
    parts = [t.strip() for t in titles]
    for title in titles:
        parts += [p.strip() for p in _TITLE_SEPARATORS.split(title) if p.strip()]
    return list(dict.fromkeys(parts))


def _names_address(title: str, address: PostalAddress) -> bool:
    folded = f" {_words_only(fold(title))} "
    street = " ".join(w for w in street_key(address.street).split() if not w[0].isdigit())
    town = _words_only(fold(address.town))
    return f" {town} " in folded or (bool(street) and f" {street} " in folded)


def _place_phrase(title: str, town: str | None = None) -> tuple[str, str] | None:
    """(phrase, name): the words of a title that name a place — a store word next to a proper
    name, the address's town when one is given ("l'outlet di Modena", "Leeds store")."""
    name = re.escape(town) if town else rf"[{_UPPER}][\w'’]+(?:\s+[{_UPPER}][\w'’]+)*"
    words = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in sorted(_store_words(), key=len, reverse=True))
    # A store word, at most two short words ("di", "in", "a"), then the name; or the name right
    # before the store word, not opening the title ("Orari outlet" names no place).
    patterns = (
        rf"(?<![\w])(?i:{words})(?:\s+[^\W\d_]{{1,4}}['’]?)?(?:\s+[^\W\d_]{{1,4}}['’]?)?\s*\b(?P<name>{name})\b",
        rf"(?<=[\w,;:]\s)(?P<name>{name})\s+(?i:{words})(?![\w])",
    )
    for pattern in patterns:
        match = re.search(pattern, title)
        if match is not None:
            return match.group(0).strip(), match.group("name")
    return None


def _is_proper_name(name: str, document: Document) -> bool:
    """A name the document writes capitalised inside a sentence and never in lower case ("Modena"
    yes; "Our" of a title in title case, or "Orari", no)."""
    body = document_body(document)
    if any(re.search(rf"(?<![\w]){re.escape(word.lower())}(?![\w])", body) for word in name.split()):
        return False
    return re.search(rf"(?<=[\w,;:'’]\s){re.escape(name)}(?![\w])", body) is not None


def _described_store(description: _Description, stores: list[StoreRef]) -> StoreRef | None:
    """The directory store a description is about: by the page's URL, its name, or its town
    (with no address against it); None when it describes a store of its own."""

    def agrees(store: StoreRef) -> bool:
        return not (
            description.address and store.address
            and street_key(store.address) != street_key(description.address.street)
        )

    by_url = store_for_url(description.url, stores) if description.kind == "page" else None
    if by_url is not None and agrees(by_url):
        return by_url
    name = _words_only(fold(description.name))
    by_name = [s for s in stores if _words_only(fold(s.name)) == name and agrees(s)]
    if len(by_name) == 1:
        return by_name[0]
    if description.city:
        in_town = [s for s in stores if s.city and fold(s.city) == fold(description.city)]
        same_street = [s for s in in_town if s.address and description.address and agrees(s)]
        if len(same_street) == 1:
            return same_street[0]
        return in_town[0] if len(in_town) == 1 and agrees(in_town[0]) else None
    named = find_stores(description.name, stores)
    return named[0] if len(named) == 1 else None


def _same_place(a: _Description, b: _Description) -> bool:
    if a.address and b.address:
        return a.address.key == b.address.key
    return _words_only(fold(a.name)) == _words_only(fold(b.name))


def _with_descriptions(store: StoreRef, descriptions: list[_Description]) -> StoreRef:
    if not descriptions:
        return store
    address = store.address or next((d.address.line for d in descriptions if d.address), None)
    return replace(store, address=address, pages=(*store.pages, *(d.doc_id for d in descriptions)))


@cache
def _store_words() -> frozenset[str]:
    """Store words and store kinds of every language's data, lower-cased ("negozio", "outlet")."""
    return _places_words("store_words") | _places_words("store_kinds")


@cache
def _generic_words() -> frozenset[str]:
    """What is never a store's alias on its own: the store words, and each word of a phrase."""
    folded = {fold(w) for w in _store_words()}
    return frozenset({fold(w) for w in _places_words("store_words")} | {w for p in folded if " " in p for w in p.split()})


@cache
def _places_words(section: str) -> frozenset[str]:
    out: set[str] = set()
    for lang in LANGUAGES:
        places = language_data(lang).get("places") or {}
        out.update(str(phrase).lower() for phrase in places.get(section) or [])
    return frozenset(out)


def _with_kind_aliases(store: StoreRef, stores: list[StoreRef]) -> StoreRef:
    """A store kind its name alone has ("collection point") names it."""
    name = f" {_words_only(fold(store.name))} "
    kinds = [
        kind
        for kind in (_words_only(fold(k)) for k in _places_words("store_kinds"))
        if f" {kind} " in name and not any(f" {kind} " in f" {_words_only(fold(o.name))} " for o in stores if o is not store)
    ]
    return replace(store, aliases=tuple(dict.fromkeys([*store.aliases, *kinds]))) if kinds else store


def _same_url(a: str, b: str) -> bool:
    def norm(u: str) -> tuple[str, str]:
        parts = urlsplit(u.strip())
        return parts.netloc.lower().removeprefix("www."), parts.path.rstrip("/") or "/"

    return norm(a) == norm(b)


def _words_only(folded: str) -> str:
    return " ".join(re.findall(r"[a-z0-9]+", folded))


