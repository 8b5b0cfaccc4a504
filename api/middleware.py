"""ASGI middleware: the request body limit (413), security headers, and the access log plus
request metrics."""

from __future__ import annotations

import logging
import time
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.metrics import Metrics
from api.problems import problem

log = logging.getLogger("api.access")


class BodySizeLimit:
    """Refuse bodies over `max_bytes` with 413, whether or not Content-Length is declared.

    A declared length is checked before reading anything; otherwise the body is read (at most
    max_bytes + 1) and then replayed to the app, so chunked uploads are bounded too.
    """

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope["headers"]).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await self._refuse(scope, receive, send)
            return
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":  # client went away
                await self.app(scope, _replay([message], receive), send)
                return
            body = message.get("body", b"")
            size += len(body)
            if size > self.max_bytes:
                await self._refuse(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _refuse(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = problem(
            413,
            f"request body larger than {self.max_bytes} bytes; send a shorter message",
            instance=scope.get("path"),
        )
        await response(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        if pending:
            return pending.pop(0)
        return await receive()

    return replay


# OWASP Secure Headers Project recommendations for an API. The API's JSON may not be framed,
# sniffed or run as a document; HTML pages (/docs, and any console or web chat) choose their own
# framing and script policy, so CSP and X-Frame-Options are added to non-HTML responses only.
_ALWAYS = ((b"x-content-type-options", b"nosniff"), (b"referrer-policy", b"no-referrer"))
_NOT_HTML = (
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", b"default-src 'none'; frame-ancestors 'none'"),
    # Responses carry customers' messages: no shared or browser cache keeps them.
    (b"cache-control", b"no-store"),
)
_HSTS = (b"strict-transport-security", b"max-age=31536000")


# Headers a group of routes sets for itself, by path prefix (the first matching prefix wins).
PathHeaders = tuple[tuple[str, tuple[tuple[bytes, bytes], ...]], ...]


class SecurityHeaders:
    """Add the security headers a response does not set itself (a route's own value wins).

    `by_path` gives routes their own policy (the console and web chat pages: their CSP and
    framing, `api.web.PAGE_HEADERS`); the defaults above fill in whatever it leaves out. HSTS only
    over HTTPS (the scheme the reverse proxy reports with X-Forwarded-Proto)."""

    def __init__(self, app: ASGIApp, by_path: PathHeaders = ()) -> None:
        self.app = app
        self.by_path = by_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        https = scope.get("scheme") == "https"
        path = scope.get("path", "")
        own = next((headers for prefix, headers in self.by_path if path.startswith(prefix)), ())

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                html = any(n.lower() == b"content-type" and v.startswith(b"text/html") for n, v in headers)
                for name, value in (*own, *_ALWAYS, *(() if html else _NOT_HTML), *((_HSTS,) if https else ())):
                    if name not in present:
                        headers.append((name, value))
                        present.add(name)
                message = {**message, "headers": headers}
            await send(message)

        await self.app(scope, receive, send_wrapper)


class AccessLog:
    """One structured log line and the request metrics per request, labelled by route template
    (`/v1/handoffs/{handoff_id}/claim`), never by raw path: ids would explode label cardinality."""

    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            method = scope["method"]
            self.metrics.requests.labels(method=method, route=route, status=str(status)).inc()
            self.metrics.latency.labels(method=method, route=route).observe(elapsed)
            state: Any = scope.get("state") or {}
            log.info(
                "request",
                extra={
                    "method": method,
                    "route": route,
                    "status": status,
                    "ms": round(elapsed * 1000, 1),
                    "key_id": state.get("key_id", "-") if isinstance(state, dict) else "-",
                },
            )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else "unmatched"
