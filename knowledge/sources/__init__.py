from knowledge.sources.feeds import load_faq, load_locations, load_products, read_source_bytes

__all__ = [
    'load_faq',
    'load_locations',
    'load_products',
    'read_source_bytes',
]
