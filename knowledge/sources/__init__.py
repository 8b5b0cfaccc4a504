"""Sources: each manifest entry read into Documents by its source type (FAQ, product feed, store
feed, website); `load_manifest` reads the manifest and checks its types against the registry."""

from knowledge.sources.builtin import (
    BUILTIN_SOURCE_TYPES,
    FAQ_SOURCE,
    LOCATIONS_SOURCE,
    PRODUCTS_SOURCE,
    WEBSITE_SOURCE,
    load_manifest,
    resolve_manifest,
)
from knowledge.sources.files import read_source_bytes
from knowledge.sources.registry import (
    FeedSource,
    ReadProgress,
    SourceParser,
    SourceRead,
    SourceType,
    SourceTypes,
)

__all__ = [
    "BUILTIN_SOURCE_TYPES",
    "FAQ_SOURCE",
    "LOCATIONS_SOURCE",
    "PRODUCTS_SOURCE",
    "WEBSITE_SOURCE",
    "FeedSource",
    "ReadProgress",
    "SourceParser",
    "SourceRead",
    "SourceType",
    "SourceTypes",
    "load_manifest",
    "read_source_bytes",
    "resolve_manifest",
]
