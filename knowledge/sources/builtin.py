"""The source types every deployment has, and the manifest loader that knows them."""

from __future__ import annotations

from pathlib import Path

from knowledge.manifest import Manifest, read_manifest
from knowledge.sources.faq import parse_faq
from knowledge.sources.locations import parse_locations
from knowledge.sources.products import parse_products
from knowledge.sources.registry import FeedSource, SourceTypes
from knowledge.sources.web.website import WebsiteSource

# Default authority by type: a structured store or product feed (the system of record) beats a
# page, which beats the FAQ (see `knowledge.trust.freshness` for how conflicts are decided).
FAQ_SOURCE = FeedSource("faq", 10, parse_faq)
PRODUCTS_SOURCE = FeedSource("products", 40, parse_products)
LOCATIONS_SOURCE = FeedSource("locations", 40, parse_locations)
WEBSITE_SOURCE = WebsiteSource()

BUILTIN_SOURCE_TYPES = SourceTypes([WEBSITE_SOURCE, FAQ_SOURCE, PRODUCTS_SOURCE, LOCATIONS_SOURCE])


def load_manifest(path: str | Path, source_types: SourceTypes = BUILTIN_SOURCE_TYPES) -> Manifest:
    """Read a manifest, check its source types and decide each source's authority.

    Raises ManifestError naming the file, line and field of the first problem."""
    return source_types.resolve(read_manifest(path))


def resolve_manifest(manifest: Manifest, source_types: SourceTypes = BUILTIN_SOURCE_TYPES) -> Manifest:
    """The same checks for a manifest built in code."""
    return source_types.resolve(manifest)
