"""Reading a feed source's bytes: a file next to the manifest or a URL, decoded and its format told.

The FAQ, product and store parsers share this; the website crawler has its own fetching.
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from pathlib import PurePosixPath
from urllib.parse import urlsplit

import httpx

from knowledge.errors import FeedProblem, SourceError, SourceUnreachable
from knowledge.manifest import Manifest, SourceSpec

USER_AGENT = "Sportello/0.1 (knowledge sync)"

_EXTENSIONS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".tab": "csv",
    ".txt": "csv",  # Merchant Center's own name for tab-separated feeds
    ".json": "json",
    ".jsonld": "json",
    ".yaml": "yaml",
    ".yml": "yaml",
    ".xml": "xml",
    ".rss": "xml",
    ".atom": "xml",
}
_MEDIA_TYPES = {
    "text/csv": "csv",
    "text/tab-separated-values": "csv",
    "application/csv": "csv",
    "application/json": "json",
    "application/ld+json": "json",
    "application/yaml": "yaml",
    "application/x-yaml": "yaml",
    "text/yaml": "yaml",
    "text/x-yaml": "yaml",
    "application/xml": "xml",
    "text/xml": "xml",
    "application/rss+xml": "xml",
    "application/atom+xml": "xml",
}


@dataclass(frozen=True)
class SourceFile:
    data: bytes
    name: str  # the manifest's path or the URL: what a person recognises in an error
    media_type: str | None = None  # from Content-Type, for URL sources
    charset: str | None = None


def open_source(
    spec: SourceSpec, manifest: Manifest, *, transport: httpx.BaseTransport | None = None
) -> SourceFile:
    """Read a source's file or fetch its URL; raise SourceError / SourceUnreachable saying what to fix."""
    if spec.path is not None:
        path = manifest.resolve(spec.path)
        try:
            return SourceFile(path.read_bytes(), str(spec.path))
        except FileNotFoundError:
            raise SourceError(
                spec.id,
                f"file not found: {path} (relative paths resolve against the manifest's folder {manifest.root})",
            ) from None
        except OSError as exc:
            raise SourceError(spec.id, f"cannot read {path}: {exc.strerror or exc}") from None
    assert spec.url is not None  # SourceSpec guarantees exactly one of path / url
    try:
        with httpx.Client(
            transport=transport,
            timeout=spec.timeout,
            follow_redirects=True,
            headers={"User-Agent": USER_AGENT},
        ) as client:
            response = client.get(spec.url)
            response.raise_for_status()
    except httpx.HTTPStatusError as exc:
        reason = f"HTTP {exc.response.status_code} {exc.response.reason_phrase}".rstrip()
        raise SourceUnreachable(spec.id, _unreachable(spec.url, reason)) from None
    except httpx.TimeoutException:
        raise SourceUnreachable(
            spec.id, _unreachable(spec.url, f"no answer within {spec.timeout:g}s")
        ) from None
    except (httpx.HTTPError, httpx.InvalidURL) as exc:
        raise SourceUnreachable(spec.id, _unreachable(spec.url, str(exc) or type(exc).__name__)) from None
    content_type = response.headers.get("content-type", "")
    media_type = content_type.split(";")[0].strip().lower() or None
    return SourceFile(response.content, spec.url, media_type, response.charset_encoding)


def read_source_bytes(
    spec: SourceSpec, manifest: Manifest, *, transport: httpx.BaseTransport | None = None
) -> tuple[bytes, str]:
    """(data, name for error messages) of a source."""
    source = open_source(spec, manifest, transport=transport)
    return source.data, source.name


def _unreachable(url: str, reason: str) -> str:
    return f"cannot reach {url}: {reason} — check the url in the manifest"


def decode_text(data: bytes, name: str, charset: str | None = None) -> str:
    """Bytes to text: UTF-8 (with or without BOM), UTF-16 with BOM (Excel's 'Unicode text'), or the
    charset a server declared.  Anything else is refused with the line to look at."""
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16")
    encoding = "utf-8-sig"
    if charset:
        try:
            encoding = codecs.lookup(charset).name
        except LookupError:
            encoding = "utf-8-sig"
        if encoding == "utf-8":
            encoding = "utf-8-sig"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        raise FeedProblem(
            f"{name} line {line}: not valid {encoding.removesuffix('-sig')} text (byte 0x{data[exc.start]:02x})"
            " — save the file as UTF-8"
        ) from None


def file_format(source: SourceFile) -> str:
    """'csv', 'json', 'yaml' or 'xml': by file extension, then Content-Type, then by looking at the data."""
    path = urlsplit(source.name).path if "://" in source.name else source.name
    suffix = PurePosixPath(path.replace("\\", "/")).suffix.lower()
    if suffix in _EXTENSIONS:
        return _EXTENSIONS[suffix]
    if source.media_type in _MEDIA_TYPES:
        return _MEDIA_TYPES[source.media_type]
    head = source.data.lstrip(codecs.BOM_UTF8).lstrip()[:64]
    if head.startswith(b"<"):
        return "xml"
    if head.startswith((b"[", b"{")):
        return "json"
    if head.startswith((b"- ", b"---")):
        return "yaml"
    return "csv"
