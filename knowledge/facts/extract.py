"""Facts: typed, comparable statements read out of documents, each tied to its source and date.

A fact says one thing about one *subject*, and two facts about the same subject can be compared
whichever source they came from:

- ``store:{store}:weekday:{0..6}`` — regular hours, value ``[["09:00","12:30"],["15:00","19:30"]]``
  (``[]`` = closed; a prose "closes at 19:00" with no opening time is ``[[None, "19:00"]]``);
- ``store:{store}:special:{YYYY-MM-DD}`` — holiday / special hours of one date, same value shape;
- ``product:{product}:price`` (float, in `unit` currency; a feed's sale price when it has one) and
  ``product:{product}:availability`` (``in_stock`` | ``out_of_stock`` | ``preorder`` | ``backorder``);
- ``promotion:{doc_id}`` — ``{"title", "valid_from", "valid_through", "discount"}``;
- ``policy:{name}`` — a number customers ask about (see `knowledge.policy_facts`).

Where facts come from (general rules, never keyed to one brand):
- store documents of a locations feed (schema.org opening hours);
- page JSON-LD store nodes (matched to a directory store by @id, url, name or city) and page /
  FAQ prose and tables, attributed to a store only when the directory found the store described
  on that page (its address, or its hours under a title naming it), else when the page URL, else
  the title/question, else the text names exactly one store; inside a page, sections headed "Orari"/"Hours" are read
  for weekly hours and sections headed "festività"/"holiday"/"special" for dated hours;
- product feed rows and page JSON-LD Product/Offer nodes (matched to a feed product by sku,
  productID, gtin, mpn, url or name);
- promotions: standalone JSON-LD Offer/SaleEvent nodes with an end date on non-product pages, or
  "fino al 30 novembre 2025" / "until 30 November" on pages whose title or headings say promo,
  offerta, sconto, saldi, sale, discount;
- policy numbers in sentences and table rows of pages and FAQ answers.

The readers live next to this module: `knowledge.hours_facts`, `knowledge.promotion_facts`,
`knowledge.policy_facts` (with `knowledge.store_directory` and `knowledge.text_dates`); this
module holds the Fact model, value comparison, products and the orchestration.

A document states each subject once: when the same document gives a subject twice (JSON-LD and
the visible table), the structured statement is kept.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from knowledge.documents import Document
from knowledge.errors import ManifestError
from knowledge.facts.hours import page_hours, store_document_hours
from knowledge.facts.model import Fact, FactOrigin, content_language
from knowledge.facts.policy import policy_facts
from knowledge.facts.products import ProductIndex, page_product_facts, product_document_facts, product_nodes
from knowledge.facts.promotions import promotion_facts
from knowledge.facts.stores import StoreRef, store_directory
from knowledge.manifest import Manifest, SourceSpec

# --- extraction -------------------------------------------------------------------------------
# A document whose source is no longer in the manifest (an old catalog) is believed least.
UNLISTED_AUTHORITY = 0


def _authority(spec: SourceSpec) -> int:
    if spec.authority is None:
        raise ManifestError(
            f"source {spec.id!r} has no authority yet: read the manifest with knowledge.sources.load_manifest"
            " (or pass one built in code through knowledge.sources.resolve_manifest)"
        )
    return spec.authority


def extract_facts(documents: Iterable[Document], manifest: Manifest) -> list[Fact]:
    """Every fact of every document (see the module docstring for the rules)."""
    docs = list(documents)
    stores = store_directory(docs)
    products = ProductIndex(docs)
    authority = {s.id: _authority(s) for s in manifest.sources}
    facts: list[Fact] = []
    for document in docs:
        origin = FactOrigin(
            document,
            authority.get(document.source_id, UNLISTED_AUTHORITY),
            content_language(document.language or manifest.language),
        )
        facts += _dedupe(list(_document_facts(origin, stores, products)))
    return facts


def extract_policy_facts(document: Document, authority: int) -> list[Fact]:
    """Policy numbers (shipping cost, free-shipping threshold, return / refund days, warranty
    years) stated in one page or FAQ answer; usable alone by the agent on a passage's document."""
    return _dedupe(policy_facts(FactOrigin(document, authority, content_language(document.language or "it"))))


def _document_facts(origin: FactOrigin, stores: list[StoreRef], products: ProductIndex) -> Iterator[Fact]:
    document = origin.document
    if document.kind == "store":
        yield from store_document_hours(origin, stores)
    elif document.kind == "product":
        yield from product_document_facts(origin)
    else:
        yield from page_hours(origin, stores)
        nodes = list(product_nodes(document))
        yield from page_product_facts(origin, nodes, products)
        if not nodes:
            yield from promotion_facts(origin)
        yield from policy_facts(origin)


def _dedupe(facts: list[Fact]) -> list[Fact]:
    """One fact per subject and document: the first (structured sources are read first)."""
    seen: set[str] = set()
    out = []
    for fact in facts:
        if fact.subject not in seen:
            seen.add(fact.subject)
            out.append(fact)
    return out


