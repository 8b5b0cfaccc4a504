"""Feed sources: the FAQ, the product feed and the store locations, read into Documents.

This is the public surface the sync uses; each format lives in its own module
(`faq_source`, `product_feed`, `locations`), the shared reading in `source_files`.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

import httpx

from knowledge.documents import Document
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.faq import parse_faq
from knowledge.sources.files import open_source, read_source_bytes
from knowledge.sources.locations import parse_locations
from knowledge.sources.products import parse_products

__all__ = [
    "load_faq",
    "load_locations",
    "load_products",
    "parse_faq",
    "parse_locations",
    "parse_products",
    "read_source_bytes",
]


def _loader(parse: Callable[..., list[Document]]) -> Callable[..., list[Document]]:
    """Read a source's bytes (file or URL) and hand them to its format's parser."""

    def load(
        spec: SourceSpec, manifest: Manifest, *, now: datetime, transport: httpx.BaseTransport | None = None
    ) -> list[Document]:
        source = open_source(spec, manifest, transport=transport)
        return parse(source.data, source.name, spec=spec, manifest=manifest, now=now,
                     media_type=source.media_type, charset=source.charset)

    return load


load_faq = _loader(parse_faq)
load_products = _loader(parse_products)
load_locations = _loader(parse_locations)
