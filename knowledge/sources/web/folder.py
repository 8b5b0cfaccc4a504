"""DirectoryTransport: serve a folder as if it were a website, through httpx's transport interface.

A manifest may declare a website as a folder (`path:`) plus the `base_url` it is published at.
Crawling it through this transport runs exactly the code a live site goes through (robots.txt,
sitemaps, conditional GET, redirects, content types), only the bytes come from disk.
"""

from __future__ import annotations

import hashlib
import mimetypes
from pathlib import Path
from urllib.parse import unquote, urlsplit

import httpx

from knowledge.errors import ManifestError

# Files a request for a folder (`/x/`) or an extension-less path (`/x`) is answered with, in order.
INDEX_FILE = "index.html"


class DirectoryTransport(httpx.AsyncBaseTransport, httpx.BaseTransport):
    """Answer GET/HEAD requests for `base_url` from files under `root`.

    `/x/` → `x/index.html`; `/x` → `x`, `x/index.html` or `x.html`. `ETag` is a hash of the bytes
    and `If-None-Match` gets a 304, like a static web server. No `Last-Modified` is sent: file
    times on disk are checkout times, and reporting them would make every page look freshly edited.
    """

    def __init__(self, root: Path, base_url: str) -> None:
        self.root = Path(root).resolve()
        parts = urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ManifestError(f"base_url {base_url!r} must be an absolute http(s) URL such as https://www.example.com")
        self.base_url = base_url.rstrip("/")
        self._origin = (parts.scheme, parts.netloc.lower())
        self._prefix = parts.path.rstrip("/")

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return self._respond(request)

    def _respond(self, request: httpx.Request) -> httpx.Response:
        url = request.url
        if (url.scheme, url.netloc.decode("ascii").lower()) != self._origin:
            raise httpx.ConnectError(
                f"cannot reach {url}: this folder is served only at {self.base_url}", request=request
            )
        if request.method not in ("GET", "HEAD"):
            return httpx.Response(405, headers={"Allow": "GET, HEAD"}, request=request)
        file = self._file_for(unquote(url.path))
        if file is None:
            return httpx.Response(404, headers={"Content-Type": "text/plain"}, content=b"not found", request=request)
        body = file.read_bytes()
        etag = '"' + hashlib.sha256(body).hexdigest()[:32] + '"'
        headers = {"ETag": etag, "Content-Type": _content_type(file)}
        if _etag_matches(request.headers.get("If-None-Match"), etag):
            return httpx.Response(304, headers={"ETag": etag}, request=request)
        content = b"" if request.method == "HEAD" else body
        return httpx.Response(200, headers={**headers, "Content-Length": str(len(body))}, content=content,
                              request=request)

    def _file_for(self, path: str) -> Path | None:
        if self._prefix:
            if path != self._prefix and not path.startswith(self._prefix + "/"):
                return None
            path = path[len(self._prefix):]
        relative = path.lstrip("/")
        if "\x00" in relative:
            return None
        target = (self.root / relative).resolve()
        # A path like /../../etc/passwd must not leave the folder.
        if not target.is_relative_to(self.root):
            return None
        if path.endswith("/") or relative == "":
            candidates = [target / INDEX_FILE]
        else:
            candidates = [target, target / INDEX_FILE, target.with_name(target.name + ".html")]
        for candidate in candidates:
            if candidate.is_file() and candidate.resolve().is_relative_to(self.root):
                return candidate
        return None


def _content_type(file: Path) -> str:
    kind, encoding = mimetypes.guess_type(file.name)
    if encoding == "gzip":
        # sitemap.xml.gz is a gzip file, not an xml file sent with Content-Encoding.
        return "application/gzip"
    if kind is None:
        return "application/octet-stream"
    if kind.startswith("text/") or kind in ("application/xml", "application/json", "application/xhtml+xml"):
        return f"{kind}; charset=utf-8"
    return kind


def _etag_matches(if_none_match: str | None, etag: str) -> bool:
    if not if_none_match:
        return False
    if if_none_match.strip() == "*":
        return True
    # Weak comparison (RFC 9110 §13.1.2): W/"x" matches "x".
    wanted = {tag.strip().removeprefix("W/") for tag in if_none_match.split(",")}
    return etag in wanted
