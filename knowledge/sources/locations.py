"""The store locations source: schema.org JSON-LD describing a brand's shops
(https://schema.org/LocalBusiness, https://developers.google.com/search/docs/appearance/structured-data/local-business).

One Document per store.  `data["store"]` keeps the opening hours exactly as published (facts are
computed from them); the text renders them readably in the content language for retrieval.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from babel.dates import format_date

from knowledge.documents import Document
from knowledge.errors import FeedProblem, SourceFormatError
from knowledge.hours import (
    SpecialHours,
    WeeklyHours,
    parse_opening_hours_specification,
    parse_osm_hours,
    render_ranges,
    render_weekly,
)
from knowledge.jsonld import all_types, as_list, store_nodes, text_value
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.files import SourceFile, decode_text, file_format
from knowledge.sources.rows import invalid_json, parse_feed_date, plain_text, resolve_link
from knowledge.text import slug

# A node is a store when its @type names one of these (BikeStore, ClothingStore, LocalBusiness...)
# or when it publishes opening hours: many LocalBusiness subtypes (Restaurant, Dentist) name neither.
_TRUE = ("true", "yes", "1", "sì", "si")

_LABELS = {
    "it": {"address": "Indirizzo", "telephone": "Telefono", "email": "Email", "amenities": "Servizi",
           "hours": "Orari di apertura", "special": "Orari speciali"},
    "en": {"address": "Address", "telephone": "Phone", "email": "Email", "amenities": "Services",
           "hours": "Opening hours", "special": "Special opening hours"},
}  # fmt: skip


def parse_locations(
    data: bytes,
    name: str,
    *,
    spec: SourceSpec,
    manifest: Manifest,
    now: datetime,
    media_type: str | None = None,
    charset: str | None = None,
) -> list[Document]:
    """Documents for every store in a JSON-LD file; any bad store fails the whole source."""
    try:
        source = SourceFile(data, name, media_type, charset)
        if file_format(source) != "json":
            raise FeedProblem(
                f"{name}: a locations source must be schema.org JSON-LD (a .json or .jsonld file)"
            )
        try:
            value = json.loads(decode_text(data, name, charset))
        except json.JSONDecodeError as exc:
            raise FeedProblem(invalid_json(name, exc)) from None
        nodes = list(store_nodes(value))
        if not nodes:
            types = sorted(set(all_types(value))) or ["none"]
            raise FeedProblem(
                f"{name}: no stores found — expected schema.org LocalBusiness or Store objects"
                f" (found @type: {', '.join(types)})"
            )
        documents: list[Document] = []
        first_seen: dict[str, str] = {}
        for number, node in enumerate(nodes, start=1):
            document = _document(node, f"{name} store {number}", spec, manifest, now)
            if document.key in first_seen:
                raise FeedProblem(
                    f"{name}: stores {first_seen[document.key]} and {document.title!r} share the id"
                    f" {document.key!r} — give each store its own @id"
                )
            first_seen[document.key] = repr(document.title)
            documents.append(document)
    except FeedProblem as exc:
        raise SourceFormatError(spec.id, str(exc)) from None
    return documents


def _document(
    node: dict[str, Any], where: str, spec: SourceSpec, manifest: Manifest, now: datetime
) -> Document:
    node_id = _text(node.get("@id"))
    name = _text(node.get("name"))
    if not name:
        place = f"{where} ({node_id})" if node_id else where
        raise FeedProblem(f"{place}: field 'name' is missing — every store needs a name")
    where = f"{where} {name!r}"
    address = _address(node.get("address"))
    city = address.get("addressLocality", "")
    try:
        url = resolve_link(_text(node.get("url")), spec.base_url or spec.url)
    except ValueError as exc:
        raise FeedProblem(f"{where}: field 'url' {exc}") from None
    if url is None and node_id.startswith(("http://", "https://")):
        url = node_id
    key = node_id or url or slug(f"{name} {city}", max_length=80)
    store: dict[str, Any] = {
        "id": key,
        "name": name,
        "city": city or None,
        "address": _address_line(address) or None,
        "telephone": _text(node.get("telephone")) or None,
        "email": _text(node.get("email")).removeprefix("mailto:") or None,
        "url": url,
        "amenities": _amenities(node.get("amenityFeature")),
        # Stated absences ("no parking") answer "do you have parking?" as surely as presences.
        "absent_amenities": _amenities(node.get("amenityFeature"), present_wanted=False),
        "opening_hours_specification": as_list(node.get("openingHoursSpecification")),
        "special_opening_hours_specification": as_list(node.get("specialOpeningHoursSpecification")),
    }
    if node.get("openingHours"):
        store["opening_hours"] = node["openingHours"]
    geo = _geo(node.get("geo"))
    if geo:
        store["geo"] = geo
    updated_at = None
    if _text(node.get("dateModified")):
        try:
            updated_at = parse_feed_date(_text(node.get("dateModified")), manifest.tz)
        except ValueError as exc:
            raise FeedProblem(f"{where}: field 'dateModified' {exc}") from None
    weekly, specials = _hours(node, where, today=now.astimezone(manifest.tz).date())
    language = spec.language or manifest.language
    return Document(
        source_id=spec.id,
        source_type=spec.type,
        kind="store",
        key=key,
        url=url,
        title=name,
        text=render_store(store, language, weekly=weekly, specials=specials),
        language=language,
        updated_at=updated_at,
        updated_at_evidence="jsonld:dateModified" if updated_at else "none",
        fetched_at=now,
        data={"store": store},
    )


def _text(value: Any) -> str:
    """A JSON-LD text value as plain text (feeds paste HTML into names and addresses)."""
    return plain_text(text_value(value))



def _address(value: Any) -> dict[str, str]:
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, str):
        return {"streetAddress": plain_text(value)}
    if not isinstance(value, dict):
        return {}
    fields = ("streetAddress", "postalCode", "addressLocality", "addressRegion", "addressCountry")
    return {field: _text(value.get(field)) for field in fields if _text(value.get(field))}


def _address_line(address: dict[str, str]) -> str:
    """'Via Roma 1, 20121 Milano, MI, IT': street, postcode and town, region, country."""
    town = " ".join(p for p in (address.get("postalCode"), address.get("addressLocality")) if p)
    region = address.get("addressRegion")
    if region and region == address.get("addressLocality"):
        region = None
    parts = (address.get("streetAddress"), town, region, address.get("addressCountry"))
    return ", ".join(p for p in parts if p)


def _amenities(value: Any, *, present_wanted: bool = True) -> list[str]:
    """Names of amenityFeature entries whose value is true (or, with present_wanted=False, false).
    A feature listed without a value is taken as present: publishers list what they offer."""
    names = []
    for feature in as_list(value):
        if isinstance(feature, str):
            names.append(plain_text(feature))
            continue
        if not isinstance(feature, dict):
            continue
        present = feature.get("value", True)
        if isinstance(present, str):
            present = present.strip().lower() in _TRUE
        name = _text(feature.get("name"))
        if name and (present is True) == present_wanted:
            names.append(name)
    return names


def _geo(value: Any) -> dict[str, float] | None:
    if not isinstance(value, dict):
        return None
    try:
        return {"latitude": float(value["latitude"]), "longitude": float(value["longitude"])}
    except (KeyError, TypeError, ValueError):
        return None


def _hours(node: dict[str, Any], where: str, *, today: date) -> tuple[WeeklyHours | None, list[SpecialHours]]:
    """Weekly and special hours of a store, for its text.  Hours that cannot be read fail the
    store: a customer must never be told a guess."""
    weekly, specials = _specification(node, "openingHoursSpecification", where)
    special_weekly, more_specials = _specification(node, "specialOpeningHoursSpecification", where)
    if special_weekly is not None:
        raise FeedProblem(
            f"{where}: field 'specialOpeningHoursSpecification' has entries without validFrom/validThrough"
            " — say which dates they apply to, or move them to openingHoursSpecification"
        )
    if node.get("openingHours"):
        try:
            from_string = parse_osm_hours(node["openingHours"], week_of=today)
        except ValueError as exc:
            raise FeedProblem(f"{where}: field 'openingHours' {exc}") from None
        # The structured specification is the more precise statement when a store gives both.
        weekly = weekly or from_string
    # Special hours that are over say nothing about today and would read as current in the text.
    return weekly, [s for s in [*specials, *more_specials] if s.valid_through >= today]


def _specification(
    node: dict[str, Any], field: str, where: str
) -> tuple[WeeklyHours | None, list[SpecialHours]]:
    entries = as_list(node.get(field))
    if not entries:
        return None, []
    try:
        weekly, specials = parse_opening_hours_specification(entries)
    except ValueError as exc:
        detail = str(exc).removeprefix("openingHoursSpecification ")
        raise FeedProblem(f"{where}: field '{field}' {detail}") from None
    return (weekly if weekly.days else None), specials


def render_store(
    store: dict[str, Any],
    language: str,
    *,
    weekly: WeeklyHours | None = None,
    specials: Sequence[SpecialHours] = (),
) -> str:
    """Name, address, contacts, services and hours as readable lines in the content language."""
    lang = "it" if language.lower().startswith("it") else "en"
    labels = _LABELS[lang]
    lines = [store["name"]]
    for field in ("address", "telephone", "email"):
        if store.get(field):
            lines.append(f"{labels[field]}: {store[field]}")
    if store["amenities"]:
        lines.append(f"{labels['amenities']}: {', '.join(store['amenities'])}")
    if weekly is not None and weekly.days:
        lines.append(f"{labels['hours']}: {render_weekly(weekly, lang)}")
    if specials:
        lines.append(f"{labels['special']}:")
        for special in sorted(specials, key=lambda s: s.valid_from):
            lines.append(f"- {_dates(special, lang)}: {render_ranges(special.ranges, lang)}")
    return "\n".join(lines)


def _dates(special: SpecialHours, lang: str) -> str:
    first = format_date(special.valid_from, "full", locale=lang)
    if special.valid_through == special.valid_from:
        return first
    return f"{first} – {format_date(special.valid_through, 'full', locale=lang)}"
