"""Reading schema.org JSON-LD as pages and store feeds publish it: types, text values, store nodes.

One reader for the store feed parser (`knowledge.sources.locations`) and the facts read from
pages (`knowledge.facts`), so both agree on what a store node is.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["HOURS_FIELDS", "all_types", "as_list", "is_store_node", "node_types", "store_nodes", "text_value"]

STORE_TYPE_MARKERS = ("Store", "LocalBusiness")
HOURS_FIELDS = ("openingHoursSpecification", "openingHours", "specialOpeningHoursSpecification")
_TYPE_PREFIXES = ("https://schema.org/", "http://schema.org/", "schema:")


def node_types(node: dict[str, Any]) -> list[str]:
    """'@type' values without their schema.org prefix: "https://schema.org/BikeStore" → "BikeStore"."""
    raw = node.get("@type", [])
    values = raw if isinstance(raw, list) else [raw]
    out = []
    for value in values:
        if isinstance(value, str):
            for prefix in _TYPE_PREFIXES:
                value = value.removeprefix(prefix)
            out.append(value.rsplit("/", 1)[-1])
    return out


def all_types(value: Any) -> Iterator[str]:
    """Every type named anywhere in a JSON-LD value (for error messages)."""
    if isinstance(value, list):
        for item in value:
            yield from all_types(item)
    elif isinstance(value, dict):
        yield from node_types(value)
        for child in value.values():
            yield from all_types(child)


def text_value(value: Any, *, use_id: bool = False) -> str:
    """A JSON-LD text: a string, a {"@value": …} or {"name": …} object (or its @id), or the first
    non-empty item of a list."""
    if isinstance(value, list):
        return next((t for t in (text_value(v, use_id=use_id) for v in value) if t), "")
    if isinstance(value, dict):
        inner = value.get("@value") or value.get("name")
        if not inner and use_id:
            inner = value.get("@id")
        return text_value(inner, use_id=use_id)
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value).strip()
    return ""


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def is_store_node(node: dict[str, Any]) -> bool:
    """A LocalBusiness or Store (or subtype), or anything that publishes opening hours."""
    if any(marker in t for t in node_types(node) for marker in STORE_TYPE_MARKERS):
        return True
    return any(field in node for field in HOURS_FIELDS[:2])


def store_nodes(value: Any) -> Iterator[dict[str, Any]]:
    """Stores anywhere in a JSON-LD value: a list, an @graph, a single object, or nested in an
    Organization (`department`, `subOrganization`): a store's own departments count too."""
    if isinstance(value, list):
        for item in value:
            yield from store_nodes(item)
    elif isinstance(value, dict):
        if is_store_node(value):
            yield value
        for key, child in value.items():
            if key not in ("@context", *HOURS_FIELDS):
                yield from store_nodes(child)
