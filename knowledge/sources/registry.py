"""Source types: what a manifest's `type:` names, behind one small interface and one registry.

A source type has a name, a default authority (who wins when sources disagree) and a `read`
that turns the manifest's entry into Documents. Types that parse one file or URL (FAQ, product
feed, store feed) are a `SourceParser` wrapped in a `FeedSource`; the website crawls. Adding a
type is one module with its reader and one line in `knowledge.sources.builtin` (or, for a
deployment's own type, `BUILTIN_SOURCE_TYPES.with_type(MyType())` passed to `load_manifest` and
`sync_manifest`). The registry is an immutable value, so nothing registers behind anyone's back.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

import httpx

from knowledge.documents import Document, StoredDocument
from knowledge.errors import ManifestError, SourceTypeError
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.files import open_source

__all__ = [
    "FeedSource",
    "ReadProgress",
    "SourceParser",
    "SourceRead",
    "SourceType",
    "SourceTypes",
]

# (done, total): how far a source's read has got; total is None while unknown (a crawl).
ReadProgress = Callable[[int, int | None], None]


@dataclass
class SourceRead:
    """What one read of a source produced: its documents, and the URLs that failed or were skipped."""

    documents: list[StoredDocument]
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, why)
    skipped: list[tuple[str, str]] = field(default_factory=list)


class SourceParser(Protocol):
    """Bytes of one file or URL → Documents; raises SourceFormatError naming the line to fix."""

    def __call__(
        self,
        data: bytes,
        name: str,
        *,
        spec: SourceSpec,
        manifest: Manifest,
        now: datetime,
        media_type: str | None = None,
        charset: str | None = None,
    ) -> list[Document]: ...


class SourceType(Protocol):
    # Read-only, so a frozen dataclass (`FeedSource`, `WebsiteSource`) or a plain class attribute both fit.
    @property
    def name(self) -> str: ...

    def default_authority(self, spec: SourceSpec) -> int: ...

    def read(
        self,
        spec: SourceSpec,
        manifest: Manifest,
        *,
        previous: Sequence[StoredDocument],
        now: datetime,
        on_progress: ReadProgress | None = None,
    ) -> SourceRead: ...


@dataclass(frozen=True)
class FeedSource:
    """A source type that is one file or URL read by a parser (FAQ, product feed, store feed)."""

    name: str
    authority: int
    parse: SourceParser
    transport: httpx.BaseTransport | None = None  # tests serve a URL source from memory or loopback

    def default_authority(self, spec: SourceSpec) -> int:
        return self.authority

    def load(self, spec: SourceSpec, manifest: Manifest, *, now: datetime) -> list[Document]:
        source = open_source(spec, manifest, transport=self.transport)
        return self.parse(
            source.data,
            source.name,
            spec=spec,
            manifest=manifest,
            now=now,
            media_type=source.media_type,
            charset=source.charset,
        )

    def read(
        self,
        spec: SourceSpec,
        manifest: Manifest,
        *,
        previous: Sequence[StoredDocument],
        now: datetime,
        on_progress: ReadProgress | None = None,
    ) -> SourceRead:
        documents = self.load(spec, manifest, now=now)
        if on_progress:
            on_progress(len(documents), len(documents))
        return SourceRead([StoredDocument(d) for d in documents])


class SourceTypes:
    """An immutable registry of source types by name."""

    def __init__(self, types: Iterable[SourceType]) -> None:
        self._types: dict[str, SourceType] = {}
        for source_type in types:
            if source_type.name in self._types:
                raise ValueError(f"source type {source_type.name!r} registered twice")
            self._types[source_type.name] = source_type

    def __iter__(self) -> Iterator[SourceType]:
        return iter(self._types.values())

    def __contains__(self, name: object) -> bool:
        return name in self._types

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(self._types)

    def with_type(self, source_type: SourceType) -> SourceTypes:
        """A registry with one more type (or one replaced, by name)."""
        kept = [t for t in self._types.values() if t.name != source_type.name]
        return SourceTypes([*kept, source_type])

    def get(self, name: str) -> SourceType:
        try:
            return self._types[name]
        except KeyError:
            raise SourceTypeError(name, self.names) from None

    def resolve(self, manifest: Manifest) -> Manifest:
        """The manifest with every source's type checked and its authority decided.

        Raises ManifestError naming the line of the first source whose type is unknown."""
        specs: list[SourceSpec] = []
        for index, spec in enumerate(manifest.sources):
            if spec.type not in self._types:
                where = manifest.where(("sources", index, "type"))
                raise ManifestError(f"{where}: {SourceTypeError(spec.type, self.names)}")
            if spec.authority is None:
                spec = spec.model_copy(update={"authority": self._types[spec.type].default_authority(spec)})
            specs.append(spec)
        return manifest.model_copy(update={"sources": specs})
