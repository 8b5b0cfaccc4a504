"""Feed sources: the FAQ, the product feed and the store locations, read into Documents.

This is the public surface the sync uses; each format lives in its own module
(`faq_source`, `product_feed`, `locations`), the shared reading in `source_files`.
"""

from __future__ import annotations

from knowledge.faq_source import load_faq, parse_faq
from knowledge.locations import load_locations, parse_locations
from knowledge.product_feed import load_products, parse_products
from knowledge.source_files import read_source_bytes

__all__ = [
    "load_faq",
    "load_locations",
    "load_products",
    "parse_faq",
    "parse_locations",
    "parse_products",
    "read_source_bytes",
]
