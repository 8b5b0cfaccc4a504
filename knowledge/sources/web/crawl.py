"""Crawl a brand's website into Documents: robots.txt, sitemaps, conditional GET, one Document a page.

A live site (`url:`) and a folder published at `base_url` (`path:`) go through the same code:
the folder is served by `DirectoryTransport`.  What the catalog remembers between syncs
(`PageState`: validators and the last Document) makes a re-sync cheap — unchanged pages answer
304 and keep their Document as it was.

Failure has two levels.  If the site cannot be reached at all, `SourceUnreachable` is raised and
the caller keeps the whole source as it was.  If single pages fail (5xx after retries, timeouts),
they are listed in `CrawlResult.failed` and the caller keeps their old Documents; a page that
answers 404/410 is gone and simply missing from `CrawlResult.documents`.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import re
import socket
import ssl
import zlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from urllib.parse import urldefrag, urljoin, urlsplit

import httpx
from protego import Protego
from usp.tree import sitemap_from_str

from knowledge.documents import Document
from knowledge.errors import SourceError, SourceFormatError, SourceUnreachable
from knowledge.manifest import Manifest, SourceSpec
from knowledge.sources.web.extract import ExtractedPage, extract_page
from knowledge.sources.web.folder import DirectoryTransport
from knowledge.sources.web.page_dates import page_updated_at

log = logging.getLogger(__name__)

ROBOTS_AGENT = "SportelloBot"
USER_AGENT = "SportelloBot/0.1 (brand knowledge sync)"
MAX_RETRIES = 2
# A robots.txt Crawl-delay is honoured up to this many seconds: a brand crawling its own site
# should not take hours because a template robots.txt says "Crawl-delay: 30".
MAX_CRAWL_DELAY = 1.0
MAX_SITEMAP_DEPTH = 3
MAX_SITEMAP_BYTES = 50 * 1024 * 1024  # the sitemaps.org limit, uncompressed
MAX_PAGE_BYTES = 5 * 1024 * 1024
HTML_TYPES = ("text/html", "application/xhtml+xml")
GONE = (404, 410)


@dataclass(frozen=True)
class PageState:
    """What the catalog remembers per URL between syncs.

    `previous` may be keyed by the URL as requested (as `CrawlResult.states` is) or by the
    Document's URL; the crawl finds a state under either, and under `data["fetched_from"]`.
    """

    url: str
    etag: str | None
    last_modified: str | None
    document: Document | None


@dataclass
class CrawlResult:
    documents: list[Document] = field(default_factory=list)  # every page now in the site
    unchanged: set[str] = field(default_factory=set)  # URLs answered 304 (Document reused)
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (url, reason): not fetched on purpose
    failed: list[tuple[str, str]] = field(default_factory=list)  # (url, reason): keep the old Document
    # By requested URL: the new state of every page in `documents`, and the previous state
    # (old Document included) of every page in `failed` that had one.
    states: dict[str, PageState] = field(default_factory=dict)


class _FetchError(Exception):
    """A request failed after retries; the message is a short reason ("HTTP 503", "timeout after 10s")."""


@dataclass(frozen=True)
class _Fetched:
    status: int
    url: str  # final URL, after redirects
    headers: httpx.Headers
    body: bytes | None  # None when the body was not read (wrong content type, too large)
    note: str = ""  # why the body was not read


async def crawl_website(
    spec: SourceSpec,
    manifest: Manifest,
    *,
    previous: Mapping[str, PageState],
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    retry_delay: float = 0.5,
) -> CrawlResult:
    """Crawl one website source. `retry_delay` is the first backoff step (then doubled)."""
    if spec.path is not None:
        folder = manifest.resolve(spec.path)
        if not spec.base_url:
            raise SourceError(spec.id, "a website given by 'path' also needs 'base_url' (where it is published)")
        if not folder.is_dir():
            raise SourceUnreachable(spec.id, f"folder {folder} does not exist — check 'path' in the manifest")
        transport = transport or DirectoryTransport(folder, spec.base_url)
        hint = "check 'path' and 'base_url' in the manifest"
    else:
        hint = "check the url in the manifest"
    local = isinstance(transport, DirectoryTransport)
    async with httpx.AsyncClient(
        transport=transport,
        timeout=httpx.Timeout(spec.timeout),
        follow_redirects=True,
        headers={"User-Agent": USER_AGENT},
    ) as client:
        crawl = _Crawl(spec, manifest, client, previous, now, on_progress, retry_delay, hint, local)
        return await crawl.run()


def crawl_website_sync(
    spec: SourceSpec,
    manifest: Manifest,
    *,
    previous: Mapping[str, PageState],
    now: datetime,
    transport: httpx.AsyncBaseTransport | None = None,
    on_progress: Callable[[int, int | None], None] | None = None,
    retry_delay: float = 0.5,
) -> CrawlResult:
    return asyncio.run(
        crawl_website(
            spec, manifest, previous=previous, now=now, transport=transport,
            on_progress=on_progress, retry_delay=retry_delay,
        )
    )


class _Crawl:
    """The state of one crawl: client, robots rules, throttle, and the result being built."""

    def __init__(
        self,
        spec: SourceSpec,
        manifest: Manifest,
        client: httpx.AsyncClient,
        previous: Mapping[str, PageState],
        now: datetime,
        on_progress: Callable[[int, int | None], None] | None,
        retry_delay: float,
        hint: str,
        local: bool,
    ) -> None:
        self.spec = spec
        self.manifest = manifest
        self.client = client
        self.previous = _index_previous(previous)
        self.now = now
        self.on_progress = on_progress
        self.retry_delay = retry_delay
        self.hint = hint
        self.local = local
        self.include = _patterns(spec, "include")
        self.exclude = _patterns(spec, "exclude")
        self.semaphore = asyncio.Semaphore(spec.concurrency)
        self.robots = Protego.parse("")
        self.crawl_delay = 0.0
        self._next_slot = 0.0
        self._throttle_lock = asyncio.Lock()
        self.hosts: set[str] = set()
        self.result = CrawlResult()
        self._by_key: dict[str, Document] = {}
        self._where: dict[str, tuple[str, str]] = {}  # document key → (requested URL, final URL)
        self._done = 0

    # --- entry ---------------------------------------------------------------------------------

    async def run(self) -> CrawlResult:
        start = self.spec.url or f"{(self.spec.base_url or '').rstrip('/')}/"
        parts = urlsplit(start)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SourceError(self.spec.id, f"url {start!r} is not an absolute http(s) URL — {self.hint}")
        # A live site has robots.txt at its origin; a folder has it at its own root (base_url).
        root = f"{parts.scheme}://{parts.netloc}" if self.spec.url is not None else start.rstrip("/")
        self.hosts.add(parts.netloc.lower())
        await self._read_robots(f"{root}/robots.txt", start)

        if self.spec.url is not None:
            if not self.robots.can_fetch(self.spec.url, ROBOTS_AGENT) and not _maybe_sitemap(self.spec.url):
                raise SourceError(
                    self.spec.id,
                    f"robots.txt disallows {self.spec.url} for {ROBOTS_AGENT} — allow it there or start from another url",
                )
            first = await self._fetch_or_unreachable(self.spec.url, conditional=True)
            if _is_sitemap(first):
                await self._crawl_sitemaps(first)
            else:
                await self._crawl_links(self.spec.url, first)
        else:
            sitemaps = list(self.robots.sitemaps)
            if sitemaps:
                first = await self._fetch_or_unreachable(sitemaps[0], conditional=False)
                await self._crawl_sitemaps(first, more=sitemaps[1:])
            else:
                probe = await self._fetch_or_unreachable(f"{root}/sitemap.xml", conditional=False, gone_ok=True)
                if probe.status == 200 and _is_sitemap(probe):
                    await self._crawl_sitemaps(probe)
                else:
                    first = await self._fetch_or_unreachable(start, conditional=True)
                    await self._crawl_links(start, first)
        self.result.documents = list(self._by_key.values())
        return self.result

    # --- robots and sitemaps -------------------------------------------------------------------

    async def _read_robots(self, robots_url: str, start: str) -> None:
        try:
            fetched = await self._request(robots_url, {}, any_type=True)
        except _FetchError as exc:
            raise self._unreachable(start, str(exc)) from exc
        # RFC 9309 §2.3.1.3: robots.txt answering 4xx means no rules; 5xx already raised above.
        if fetched.status == 200 and fetched.body is not None:
            self.robots = Protego.parse(fetched.body.decode("utf-8", errors="replace"))
            delay = self.robots.crawl_delay(ROBOTS_AGENT)
            if delay and not self.local:  # a folder on disk has no server to spare
                self.crawl_delay = min(float(delay), MAX_CRAWL_DELAY)

    async def _crawl_sitemaps(self, first: _Fetched, more: list[str] | None = None) -> None:
        lastmods: dict[str, datetime | None] = {}
        seen = {first.url}
        self.hosts.add(urlsplit(first.url).netloc.lower())  # acme.it/sitemap.xml → www.acme.it/...
        level: list[_Fetched] = [first]
        for url in more or []:
            if url not in seen:
                seen.add(url)
                level.append(await self._fetch_or_unreachable(url, conditional=False))
        for depth in range(MAX_SITEMAP_DEPTH + 1):
            children: list[str] = []
            for fetched in level:
                pages, subs = self._parse_sitemap(fetched)
                for page_url, lastmod in pages:
                    lastmods.setdefault(page_url, lastmod)
                children += [u for u in subs if u not in seen]
                seen.update(subs)
            if not children:
                break
            if depth == MAX_SITEMAP_DEPTH:
                log.warning("crawl.sitemap_too_deep source=%s skipped=%d", self.spec.id, len(children))
                break
            # A sub-sitemap that fails would silently drop all its pages from the index, so it
            # fails the whole source instead (the caller then keeps what it had).
            level = list(
                await asyncio.gather(*(self._fetch_or_unreachable(u, conditional=False) for u in children))
            )

        if not lastmods:
            # An empty sitemap is a publishing accident, not a site without pages: refusing it
            # keeps the index as it was instead of emptying it.
            raise SourceFormatError(self.spec.id, f"sitemap {first.url} lists no pages — {self.hint}")
        wanted: list[str] = []
        for url in lastmods:
            reason = self._refusal(url)
            if reason:
                self.result.skipped.append((url, reason))
            elif len(wanted) >= self.spec.max_pages:
                self.result.skipped.append((url, f"over max_pages {self.spec.max_pages}"))
            else:
                wanted.append(url)
        total = len(wanted)
        outcomes = await asyncio.gather(*(self._page(url, lastmods[url], total) for url in wanted))
        for url, outcome in zip(wanted, outcomes, strict=True):
            self._record(url, outcome)

    def _parse_sitemap(self, fetched: _Fetched) -> tuple[list[tuple[str, datetime | None]], list[str]]:
        body = _ungzip(fetched.body or b"")
        if body is None:
            raise SourceUnreachable(
                self.spec.id, f"sitemap {fetched.url} is not valid gzip or too large — {self.hint}"
            )
        parsed = sitemap_from_str(body.decode("utf-8", errors="replace"))
        pages = []
        for page in parsed.pages:
            url = urldefrag(urljoin(fetched.url, page.url.strip())).url
            if urlsplit(url).scheme in ("http", "https"):
                pages.append((url, page.last_modified))
        subs = [urljoin(fetched.url, sub.url.strip()) for sub in parsed.sub_sitemaps]
        return pages, subs

    # --- link-following crawl ------------------------------------------------------------------

    async def _crawl_links(self, start: str, first: _Fetched) -> None:
        """Breadth-first over same-host links, level by level, up to max_pages pages.

        The start page is always read for its links; include patterns decide whether it becomes
        a Document, and which further pages are followed.
        """
        self.hosts.add(urlsplit(first.url).netloc.lower())
        seen = {start}
        outcome = await self._handle(start, first, None)
        self._tick(None)
        if reason := self._refusal(start):
            self.result.skipped.append((start, reason))
        else:
            self._record(start, outcome)
            seen.add(outcome.final_url or start)
        queued = 1
        frontier_links = outcome.links
        while frontier_links:
            frontier: list[str] = []
            for link in frontier_links:
                if link in seen:
                    continue
                seen.add(link)
                reason = self._refusal(link)
                if reason:
                    self.result.skipped.append((link, reason))
                elif queued >= self.spec.max_pages:
                    self.result.skipped.append((link, f"over max_pages {self.spec.max_pages}"))
                else:
                    frontier.append(link)
                    queued += 1
            outcomes = await asyncio.gather(*(self._page(url, None, None) for url in frontier))
            frontier_links = []
            for url, page in zip(frontier, outcomes, strict=True):
                self._record(url, page)
                seen.add(page.final_url or url)
                frontier_links += page.links

    # --- one page ------------------------------------------------------------------------------

    async def _page(self, url: str, lastmod: datetime | None, total: int | None) -> _Outcome:
        async with self.semaphore:
            try:
                fetched = await self._fetch(url, conditional=True)
            except _FetchError as exc:
                outcome = _Outcome(failed=str(exc))
            else:
                outcome = await self._handle(url, fetched, lastmod)
        self._tick(total)
        return outcome

    async def _handle(self, url: str, fetched: _Fetched, lastmod: datetime | None) -> _Outcome:
        previous = self.previous.get(url)
        if fetched.status == 304:
            if previous is None or previous.document is None:
                return _Outcome(failed="HTTP 304 without a previous version")
            state = PageState(
                url=url,
                etag=fetched.headers.get("ETag") or previous.etag,
                last_modified=fetched.headers.get("Last-Modified") or previous.last_modified,
                document=previous.document,
            )
            return _Outcome(document=previous.document, state=state, unchanged=True, final_url=fetched.url,
                            links=list(previous.document.data.get("links", [])))
        if fetched.status in GONE:
            return _Outcome()
        if fetched.status != 200:
            return _Outcome(failed=f"HTTP {fetched.status}")
        if urlsplit(fetched.url).netloc.lower() not in self.hosts:
            return _Outcome(skipped=f"redirects to another host ({fetched.url})")
        if fetched.body is None:
            return _Outcome(skipped=fetched.note)
        kind = fetched.headers.get("Content-Type", "").split(";")[0].strip().lower()
        if kind and kind not in HTML_TYPES:
            return _Outcome(skipped=f"content-type {kind}")
        html = _decode_html(fetched.body, fetched.headers.get("Content-Type", ""))
        # Parsing is CPU work; a thread keeps other downloads moving meanwhile.
        page = await asyncio.to_thread(extract_page, html, fetched.url)
        document = self._document(url, page, fetched, lastmod)
        state = PageState(url=url, etag=fetched.headers.get("ETag"),
                          last_modified=fetched.headers.get("Last-Modified"), document=document)
        return _Outcome(document=document, state=state, links=page.links, final_url=fetched.url)

    def _document(self, requested: str, page: ExtractedPage, fetched: _Fetched, lastmod: datetime | None) -> Document:
        key = fetched.url
        if page.canonical and urlsplit(page.canonical).netloc.lower() in self.hosts:
            key = page.canonical
        language = page.language or self.spec.language or self.manifest.language
        updated_at, evidence = page_updated_at(
            page.jsonld, page.visible_text or page.text, lastmod,
            fetched.headers.get("Last-Modified"), language, self.manifest.tz,
        )
        title = page_title(page.title, self.manifest.brand)
        if page.headings and (not title or _squash(title) == _squash(self.manifest.brand)):
            title = page.headings[0]  # a <title> that is only the brand says nothing about the page
        title = title or key
        data: dict[str, object] = {"jsonld": page.jsonld, "headings": page.headings, "tables": page.tables,
                                   "links": page.links}
        if requested != key:
            # Remembered so the next sync finds this page's state when it asks for `requested` again
            # (a redirect, a tracking parameter stripped by the canonical link).
            data["fetched_from"] = requested
        return Document(
            source_id=self.spec.id,
            source_type="website",
            kind="page",
            key=key,
            url=key,
            title=title,
            text=page.text,
            language=language,
            updated_at=updated_at,
            updated_at_evidence=evidence,
            fetched_at=self.now,
            data=data,
        )

    def _record(self, url: str, outcome: _Outcome) -> None:
        result = self.result
        if outcome.failed:
            result.failed.append((url, outcome.failed))
            if url in self.previous:  # the old Document and validators stay known to the caller
                result.states[url] = self.previous[url]
        elif outcome.skipped:
            result.skipped.append((url, outcome.skipped))
        elif outcome.document is not None and outcome.state is not None:
            document = outcome.document
            holder = self._by_key.get(document.key)
            if holder is not None and holder is not document:
                if holder.text == document.text:  # one page reachable under two URLs
                    result.skipped.append((url, f"duplicate of {document.key}"))
                    return
                # Two different pages claim one canonical URL (a template bug seen in the wild):
                # the page that really lives there keeps it, the other keeps its own URL.
                settled = self._settle_key_conflict(holder, document, outcome.final_url or url)
                if settled is None:
                    result.skipped.append((url, f"duplicate of {holder.key}"))
                    return
                document = settled
            self._by_key[document.key] = document
            self._where[document.key] = (url, outcome.final_url or url)
            result.states[url] = replace(outcome.state, document=document)
            if outcome.unchanged:
                result.unchanged.add(url)

    def _settle_key_conflict(self, holder: Document, newcomer: Document, final_url: str) -> Document | None:
        key = newcomer.key
        if final_url != key:
            moved = _rekey(newcomer, final_url)
            return None if final_url in self._by_key else moved
        # The newcomer is the canonical page itself: the holder moves to the URL it was fetched at.
        holder_url, holder_final = self._where[key]
        if holder_final in self._by_key:
            return None
        del self._where[key]
        moved_holder = _rekey(holder, holder_final)
        self._by_key[holder_final] = moved_holder
        self._where[holder_final] = (holder_url, holder_final)
        self.result.states[holder_url] = replace(self.result.states[holder_url], document=moved_holder)
        del self._by_key[key]
        return newcomer

    def _tick(self, total: int | None) -> None:
        self._done += 1
        if self.on_progress is not None:
            self.on_progress(self._done, total)

    # --- rules ---------------------------------------------------------------------------------

    def _refusal(self, url: str) -> str | None:
        """Why `url` must not be fetched, or None."""
        host = urlsplit(url).netloc.lower()
        if host not in self.hosts:
            return f"other host {host}"
        if self.include and not any(p.search(url) for p in self.include):
            return "not matched by include patterns"
        for pattern in self.exclude:
            if pattern.search(url):
                return f"excluded by pattern {pattern.pattern!r}"
        if not self.robots.can_fetch(url, ROBOTS_AGENT):
            return "disallowed by robots.txt"
        return None

    # --- HTTP ----------------------------------------------------------------------------------

    async def _fetch_or_unreachable(self, url: str, *, conditional: bool, gone_ok: bool = False) -> _Fetched:
        """Fetch a URL the whole crawl depends on (start page, sitemap): failure means unreachable."""
        try:
            fetched = await self._fetch(url, conditional=conditional, any_type=True)
        except _FetchError as exc:
            raise self._unreachable(url, str(exc)) from exc
        if fetched.status in (200, 304) or (gone_ok and fetched.status in GONE):
            return fetched
        raise self._unreachable(url, f"HTTP {fetched.status}")

    def _unreachable(self, url: str, reason: str) -> SourceUnreachable:
        return SourceUnreachable(self.spec.id, f"cannot reach {url}: {reason} — {self.hint}")

    async def _fetch(self, url: str, *, conditional: bool, any_type: bool = False) -> _Fetched:
        headers: dict[str, str] = {}
        previous = self.previous.get(url) if conditional else None
        if previous is not None and previous.document is not None:
            if previous.etag:
                headers["If-None-Match"] = previous.etag
            if previous.last_modified:
                headers["If-Modified-Since"] = previous.last_modified
        return await self._request(url, headers, any_type=any_type)

    async def _request(self, url: str, headers: dict[str, str], *, any_type: bool = False) -> _Fetched:
        """GET with retries and exponential backoff on connection errors, timeouts, 429 and 5xx."""
        reason = ""
        for attempt in range(MAX_RETRIES + 1):
            if attempt:
                await asyncio.sleep(self.retry_delay * 2 ** (attempt - 1))
            await self._throttle()
            try:
                fetched = await self._get(url, headers, any_type=any_type)
            except httpx.TooManyRedirects as exc:
                raise _FetchError("too many redirects") from exc
            except (httpx.InvalidURL, httpx.UnsupportedProtocol) as exc:
                raise _FetchError(f"invalid URL ({exc})") from exc
            except httpx.TimeoutException:
                reason = f"timeout after {self.spec.timeout:g}s"
            except httpx.RequestError as exc:
                reason = _describe(exc)
            else:
                if fetched.status != 429 and fetched.status < 500:
                    return fetched
                reason = f"HTTP {fetched.status}"
            log.info("crawl.retry source=%s url=%s attempt=%d reason=%s", self.spec.id, url, attempt + 1, reason)
        raise _FetchError(reason)

    async def _get(self, url: str, headers: dict[str, str], *, any_type: bool) -> _Fetched:
        """One GET. A page's body is read only when it is HTML (a 50 MB PDF is not downloaded to
        be skipped); robots.txt, sitemaps and the start URL (`any_type`) are always read."""
        async with self.client.stream("GET", url, headers=headers) as response:
            final = str(response.url)
            if response.status_code != 200:
                return _Fetched(response.status_code, final, response.headers, None)
            content_type = response.headers.get("Content-Type", "")
            kind = content_type.split(";")[0].strip().lower()
            if not any_type and kind and kind not in HTML_TYPES:
                return _Fetched(200, final, response.headers, None, note=f"content-type {kind}")
            limit = MAX_SITEMAP_BYTES if any_type else MAX_PAGE_BYTES
            body = bytearray()
            async for piece in response.aiter_bytes():
                body += piece
                if len(body) > limit:
                    return _Fetched(200, final, response.headers, None,
                                    note=f"larger than {limit // (1024 * 1024)} MB")
            return _Fetched(200, final, response.headers, bytes(body))

    async def _throttle(self) -> None:
        if not self.crawl_delay:
            return
        async with self._throttle_lock:
            loop = asyncio.get_running_loop()
            wait = self._next_slot - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            self._next_slot = loop.time() + self.crawl_delay


@dataclass
class _Outcome:
    document: Document | None = None
    state: PageState | None = None
    unchanged: bool = False
    links: list[str] = field(default_factory=list)
    skipped: str = ""
    failed: str = ""
    final_url: str = ""


def _rekey(document: Document, url: str) -> Document:
    return replace(document, key=url, url=url)


def _index_previous(previous: Mapping[str, PageState]) -> dict[str, PageState]:
    """Previous states by every URL a page is known under: as requested, as stored, as fetched from.

    Callers may key states by the Document's (canonical) URL; the crawl asks by the URL it is
    about to request, so both must find the same state.
    """
    index: dict[str, PageState] = {}
    for key, state in previous.items():
        names: list[object] = [key, state.url]  # data["fetched_from"] is whatever the page stored
        if state.document is not None:
            names += [state.document.url, state.document.data.get("fetched_from")]
        for name in names:
            if isinstance(name, str) and name:
                index.setdefault(name, state)
    return index


def _patterns(spec: SourceSpec, name: str) -> list[re.Pattern[str]]:
    compiled = []
    for pattern in getattr(spec, name):
        try:
            compiled.append(re.compile(pattern))
        except re.error as exc:
            raise SourceError(spec.id, f"{name} pattern {pattern!r} is not a valid regex ({exc})") from exc
    return compiled


def page_title(title: str, brand: str) -> str:
    """The page title without the site name around it: "Resi | Acme" → "Resi"."""
    parts = re.split(r"\s+[|\-–—·•:»]\s+", title.strip())
    if len(parts) > 1 and brand.strip():
        wanted = _squash(brand)
        if _is_brand(parts[-1], wanted):
            parts = parts[:-1]
        elif _is_brand(parts[0], wanted):
            parts = parts[1:]
    return " | ".join(p for p in parts if p) if len(parts) > 1 else (parts[0] if parts else "")


def _squash(text: str) -> str:
    return re.sub(r"\W+", "", text.casefold())


def _is_brand(part: str, brand: str) -> bool:
    squashed = _squash(part)
    return bool(squashed) and (squashed == brand or (len(brand) >= 3 and squashed.startswith(brand))
                               or (len(squashed) >= 3 and brand.startswith(squashed)))


def _describe(exc: httpx.RequestError) -> str:
    """A short human reason for a failed request, from the OS error underneath httpx's wrapper."""
    causes = list(_causes(exc))
    if any(isinstance(c, ConnectionRefusedError) for c in causes):
        return "connection refused"
    if any(isinstance(c, socket.gaierror) for c in causes):
        return "host not found (DNS)"
    if any(isinstance(c, ssl.SSLError) for c in causes):
        return f"TLS error ({exc})"
    text = str(exc) or type(exc).__name__
    return "connection refused" if "refused" in text.lower() else text


def _causes(exc: BaseException) -> Iterator[BaseException]:
    stack, seen = [exc], set()
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        stack += [c for c in (current.__cause__, current.__context__) if c is not None]
        if isinstance(current, BaseExceptionGroup):
            stack += list(current.exceptions)


def _maybe_sitemap(url: str) -> bool:
    return urlsplit(url).path.lower().endswith((".xml", ".xml.gz", ".txt"))


def _is_sitemap(fetched: _Fetched) -> bool:
    """Sitemap or HTML page?  Content types lie, so peek into the body like search engines do."""
    if fetched.status == 304 or fetched.body is None:
        return False
    body = _ungzip(fetched.body)
    if body is None:
        return False
    head = body[:4096].decode("utf-8", errors="replace").lower()
    if any(tag in head for tag in ("<urlset", "<sitemapindex", "<rss", "<feed")):
        return True
    kind = fetched.headers.get("Content-Type", "").split(";")[0].strip().lower()
    return kind == "text/plain" and head.lstrip().startswith(("http://", "https://"))


def _ungzip(body: bytes) -> bytes | None:
    if not body.startswith(b"\x1f\x8b"):
        return body
    try:
        inflater = zlib.decompressobj(16 + zlib.MAX_WBITS)
        out = inflater.decompress(body, MAX_SITEMAP_BYTES)
    except (zlib.error, gzip.BadGzipFile):
        return None
    return None if inflater.unconsumed_tail else out


_META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?([A-Za-z0-9_.:-]+)""", re.IGNORECASE)


def _decode_html(body: bytes, content_type: str) -> str:
    charset = None
    match = re.search(r"charset=([\"']?)([\w.:-]+)\1", content_type, re.IGNORECASE)
    if match:
        charset = match.group(2)
    elif meta := _META_CHARSET.search(body[:4096]):
        charset = meta.group(1).decode("ascii", errors="ignore")
    try:
        return body.decode(charset or "utf-8", errors="replace")
    except LookupError:
        return body.decode("utf-8", errors="replace")
