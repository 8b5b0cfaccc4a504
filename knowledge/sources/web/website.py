"""The `website` source type: crawl the site and keep what a flaky server failed to serve this time."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import httpx

from knowledge.documents import StoredDocument
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.registry import ReadProgress, SourceRead
from knowledge.sources.web.crawl import PageState, crawl_website_sync

# Pages rank below feeds and above the FAQ; blog posts below the FAQ (see `knowledge.trust`).
PAGE_AUTHORITY = 20
BLOG_AUTHORITY = 5


@dataclass(frozen=True)
class WebsiteSource:
    name: str = "website"
    transport: httpx.AsyncBaseTransport | None = None  # tests serve a site from memory

    def default_authority(self, spec: SourceSpec) -> int:
        return BLOG_AUTHORITY if spec.blog else PAGE_AUTHORITY

    def read(
        self,
        spec: SourceSpec,
        manifest: Manifest,
        *,
        previous: Sequence[StoredDocument],
        now: datetime,
        on_progress: ReadProgress | None = None,
    ) -> SourceRead:
        states = {
            p.document.url: PageState(p.document.url, p.etag, p.last_modified, p.document)
            for p in previous
            if p.document.url
        }
        result = crawl_website_sync(
            spec, manifest, previous=states, now=now, transport=self.transport, on_progress=on_progress
        )
        by_url = {s.document.url: s for s in result.states.values() if s.document is not None}
        pages = []
        for document in result.documents:
            state = by_url.get(document.url)
            pages.append(StoredDocument(document, state.etag if state else None, state.last_modified if state else None))
        # A page that failed this time (timeout, 5xx) keeps its previous version: a flaky
        # server must not make knowledge disappear.  A 404/410 page is simply absent.
        fetched = {p.document.doc_id for p in pages}
        for url, _ in result.failed:
            old = result.states.get(url)
            if old is not None and old.document is not None and old.document.doc_id not in fetched:
                pages.append(StoredDocument(old.document, old.etag, old.last_modified))
                fetched.add(old.document.doc_id)
        return SourceRead(pages, failed=list(result.failed), skipped=list(result.skipped))
