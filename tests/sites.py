"""A real website on 127.0.0.1 for tests: pages from a dict or a folder, changeable between syncs.

    with serve_site({"/": "<h1>Home</h1>", "/robots.txt": ("User-agent: *", "text/plain")}) as site:
        crawl(site.url("/"))
        site.set("/", "<h1>New home</h1>")   # a page changes
        site.remove("/old/")                 # a page disappears (404)
        site.fail("/busy/", 503, times=1)    # the next request for it answers 503
        assert site.paths() == [...]         # what was requested, in order
        assert "/" in site.not_modified()    # which requests were answered 304

Like a static web server, every 200 carries an ETag (a hash of the body) and a matching
If-None-Match gets 304; a page with a Last-Modified header also answers If-Modified-Since.
"""

from __future__ import annotations

import hashlib
import mimetypes
import socket
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HTML = "text/html; charset=utf-8"


@dataclass
class Page:
    body: bytes
    content_type: str = HTML
    headers: dict[str, str] = field(default_factory=dict)
    status: int = 200
    etag: bool = True


@dataclass(frozen=True)
class Hit:
    """One request the site received."""

    method: str
    path: str  # as requested, query included
    status: int
    headers: dict[str, str]  # request headers


PageSpec = Page | str | bytes | tuple


def as_page(spec: PageSpec) -> Page:
    """`"<html>…"`, `(body, content_type)` or `(body, content_type, headers)` → Page."""
    if isinstance(spec, Page):
        return spec
    if isinstance(spec, str | bytes):
        spec = (spec,)
    body, content_type, headers = (*spec, *(HTML, {})[len(spec) - 1:])[:3]
    return Page(body=body.encode("utf-8") if isinstance(body, str) else body, content_type=content_type,
                headers=dict(headers))


class LoopbackSite:
    """An HTTP server on 127.0.0.1 with an ephemeral port, serving in a background thread."""

    def __init__(self, pages: Mapping[str, PageSpec] | None = None, folder: Path | None = None) -> None:
        self._pages: dict[str, Page] = {path: as_page(spec) for path, spec in (pages or {}).items()}
        self._folder = Path(folder).resolve() if folder is not None else None
        self._failures: dict[str, tuple[int, int]] = {}  # path → (status, remaining)
        self._lock = threading.Lock()
        self.hits: list[Hit] = []
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits for the next poll, and tests stop many sites.
        self._thread = threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)

    # --- lifecycle -----------------------------------------------------------------------------

    def start(self) -> LoopbackSite:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str = "/") -> str:
        return self.base_url + path

    # --- changing the site between syncs -------------------------------------------------------

    def set(self, path: str, body: str | bytes, content_type: str = HTML, headers: dict[str, str] | None = None,
            *, status: int = 200, etag: bool = True) -> None:
        with self._lock:
            self._pages[path] = Page(body.encode("utf-8") if isinstance(body, str) else body, content_type,
                                     dict(headers or {}), status, etag)

    def remove(self, path: str) -> None:
        with self._lock:
            self._pages.pop(path, None)

    def redirect(self, path: str, to: str, status: int = 301) -> None:
        self.set(path, b"", "text/plain", {"Location": to}, status=status, etag=False)

    def fail(self, path: str, status: int = 503, times: int = 1) -> None:
        """The next `times` requests for `path` answer `status`, then the page is served again."""
        with self._lock:
            self._failures[path] = (status, times)

    # --- what happened -------------------------------------------------------------------------

    def paths(self) -> list[str]:
        with self._lock:
            return [hit.path for hit in self.hits]

    def requested(self, path: str) -> list[Hit]:
        with self._lock:
            return [hit for hit in self.hits if hit.path == path]

    def not_modified(self) -> list[str]:
        with self._lock:
            return [hit.path for hit in self.hits if hit.status == 304]

    def clear_log(self) -> None:
        with self._lock:
            self.hits.clear()

    # --- serving -------------------------------------------------------------------------------

    def _answer(self, method: str, raw_path: str, headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
        with self._lock:
            status, page = self._lookup(raw_path)
            if status == 200 and page is not None:
                status, out_headers, body = _respond(page, headers)
            elif page is not None:  # redirects and explicit error pages
                out_headers, body = {"Content-Type": page.content_type, **page.headers}, page.body
            else:
                out_headers, body = {"Content-Type": "text/plain"}, f"HTTP {status}".encode()
            self.hits.append(Hit(method, raw_path, status, dict(headers)))
        return status, out_headers, body

    def _lookup(self, raw_path: str) -> tuple[int, Page | None]:
        path = urlsplit(raw_path).path
        for key in (raw_path, path):
            if key in self._failures:
                status, remaining = self._failures[key]
                if remaining <= 1:
                    del self._failures[key]
                else:
                    self._failures[key] = (status, remaining - 1)
                return status, None
        page = self._pages.get(raw_path) or self._pages.get(path) or self._from_folder(path)
        if page is None:
            return 404, None
        return page.status, page

    def _from_folder(self, path: str) -> Page | None:
        if self._folder is None:
            return None
        target = (self._folder / unquote(path).lstrip("/")).resolve()
        if not target.is_relative_to(self._folder):
            return None
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            return None
        kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
        return Page(target.read_bytes(), kind + ("; charset=utf-8" if kind.startswith("text/") else ""))


def _respond(page: Page, request_headers: Mapping[str, str]) -> tuple[int, dict[str, str], bytes]:
    headers = {"Content-Type": page.content_type, **page.headers}
    if page.etag and "ETag" not in headers:
        headers["ETag"] = '"' + hashlib.sha256(page.body).hexdigest()[:16] + '"'
    etag = headers.get("ETag")
    inm = request_headers.get("If-None-Match")
    ims = request_headers.get("If-Modified-Since")
    if (etag and inm and etag in [t.strip() for t in inm.split(",")]) or (
        not inm and ims and ims == headers.get("Last-Modified")
    ):
        return 304, {k: v for k, v in headers.items() if k in ("ETag", "Last-Modified")}, b""
    return 200, headers, page.body


def _handler_for(site: LoopbackSite) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            self._serve(send_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._serve(send_body=False)

        def _serve(self, *, send_body: bool) -> None:
            status, headers, body = site._answer(self.command, self.path, {k: v for k, v in self.headers.items()})
            self.send_response(status)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if send_body and status not in (204, 304):
                self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

    return Handler


@contextmanager
def serve_site(pages: Mapping[str, PageSpec] | None = None, folder: Path | None = None) -> Iterator[LoopbackSite]:
    site = LoopbackSite(pages, folder).start()
    try:
        yield site
    finally:
        site.stop()


def closed_port_url() -> str:
    """A loopback URL nothing listens on: connecting to it is refused."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/"
