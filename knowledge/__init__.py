"""Knowledge: a brand's sources → documents → chunks → index, plus the facts read from them, how
far each can be trusted, and the health report for content teams. Never imports `agent` or `api`.

Where things are (in the order a sync and a question flow through them):
`sources` (the manifest's entries read into Documents; `sources.web` crawls a site),
`index` (chunks, embeddings, Chroma, the catalog, search), `sync` (the two put together, and the
doctor), `text` (folding, stems, dates, language data), `hours` (opening hours), `facts` (typed
statements read from documents) and `trust` (freshness, conflicts, evidence, health).

This package's own modules hold what every sub-package shares: `Document` and `Chunk`, the
`Manifest`, the exception branch and the JSON-LD reader. Its members load on first use (PEP 562):
the manifest model needs pydantic (~0.1 s to import), which `sportello sources` does not.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from knowledge.documents import Chunk, Document, StoredDocument, document_from_dict, document_to_dict
    from knowledge.errors import (
        ChromaUnreachable,
        EmbedderError,
        HoursFormatError,
        IndexUnavailable,
        KnowledgeError,
        ManifestError,
        SourceError,
        SourceFormatError,
        SourceTypeError,
        SourceUnreachable,
    )
    from knowledge.manifest import Manifest, SourceSpec, SupportHours, read_manifest
    from knowledge.yaml_errors import YamlSyntaxError, compose_and_load, dotted, error_message, line_of

_LAZY = {
    "Chunk": "knowledge.documents",
    "Document": "knowledge.documents",
    "StoredDocument": "knowledge.documents",
    "document_from_dict": "knowledge.documents",
    "document_to_dict": "knowledge.documents",
    "EmbedderError": "knowledge.errors",
    "HoursFormatError": "knowledge.errors",
    "ChromaUnreachable": "knowledge.errors",
    "IndexUnavailable": "knowledge.errors",
    "KnowledgeError": "knowledge.errors",
    "ManifestError": "knowledge.errors",
    "SourceError": "knowledge.errors",
    "SourceFormatError": "knowledge.errors",
    "SourceTypeError": "knowledge.errors",
    "SourceUnreachable": "knowledge.errors",
    "Manifest": "knowledge.manifest",
    "SourceSpec": "knowledge.manifest",
    "SupportHours": "knowledge.manifest",
    "read_manifest": "knowledge.manifest",
    "YamlSyntaxError": "knowledge.yaml_errors",
    "compose_and_load": "knowledge.yaml_errors",
    "dotted": "knowledge.yaml_errors",
    "error_message": "knowledge.yaml_errors",
    "line_of": "knowledge.yaml_errors",
}

__all__ = [
    "Chunk",
    "Document",
    "EmbedderError",
    "HoursFormatError",
    "ChromaUnreachable",
    "IndexUnavailable",
    "KnowledgeError",
    "Manifest",
    "ManifestError",
    "SourceError",
    "SourceFormatError",
    "SourceSpec",
    "SourceTypeError",
    "SourceUnreachable",
    "StoredDocument",
    "SupportHours",
    "YamlSyntaxError",
    "compose_and_load",
    "document_from_dict",
    "document_to_dict",
    "dotted",
    "error_message",
    "line_of",
    "read_manifest",
]


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return __all__
