"""Facts: typed, comparable statements read out of documents, each tied to its source and date.

`extract_facts(documents, manifest)` reads every fact; `Fact` is one of them; `same_value` says
whether two values of one subject agree; the store directory says which stores the knowledge knows
(from the store feed, page JSON-LD, and pages or FAQ entries that describe a store in prose, read
with `postal_addresses`).
"""

from knowledge.facts.addresses import PostalAddress, postal_addresses
from knowledge.facts.extract import extract_facts, extract_policy_facts
from knowledge.facts.hours import hours_value
from knowledge.facts.model import Fact, FactOrigin, ranges_of, same_value
from knowledge.facts.stores import StoreRef, find_stores, store_directory

__all__ = [
    "Fact",
    "FactOrigin",
    "PostalAddress",
    "StoreRef",
    "extract_facts",
    "extract_policy_facts",
    "find_stores",
    "hours_value",
    "postal_addresses",
    "ranges_of",
    "same_value",
    "store_directory",
]
