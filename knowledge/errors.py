"""Exceptions raised where a knowledge fact is known; the CLI and API turn them into messages."""

from __future__ import annotations

from sportello.errors import SportelloError


class KnowledgeError(SportelloError):
    """Base class: something about the brand's knowledge a person has to fix."""


class ManifestError(KnowledgeError):
    """The sources manifest is invalid. The message names the file, line and field."""


class SourceError(KnowledgeError):
    """A source could not be read at all (bad file, bad format, unreachable)."""

    def __init__(self, source_id: str, message: str) -> None:
        super().__init__(f"source '{source_id}': {message}")
        self.source_id = source_id


class SourceUnreachable(SourceError):
    """A source's URL could not be fetched (DNS, connection refused, timeout, HTTP error)."""


class SourceFormatError(SourceError):
    """A source's file is malformed: a missing column, invalid JSON-LD, a bad row."""


class FeedProblem(KnowledgeError, ValueError):
    """Something wrong in a source file's content, already phrased for the person who edits it.

    Raised by pure helpers that do not know the source id; the parsers turn it into
    `SourceFormatError(spec.id, message)`.
    """


class SourceTypeError(KnowledgeError):
    """A manifest names a source type no reader is registered for."""

    def __init__(self, name: str, known: tuple[str, ...]) -> None:
        super().__init__(f"unknown source type {name!r}; expected one of {', '.join(known)}")
        self.name = name


class HoursFormatError(KnowledgeError, ValueError):
    """Opening hours that cannot be read (an OSM string, a schema.org object); the message says which."""


class IndexUnavailable(KnowledgeError):
    """The index has not been built yet or cannot be reached."""


class ChromaUnreachable(IndexUnavailable):
    """The Chroma server (SPORTELLO_CHROMA_URL) did not answer, or no longer has the collection the
    catalog names; the lexical index in the catalog still can."""


class EmbedderError(KnowledgeError):
    """The configured embedder is unknown or cannot be built."""
