"""Rendering: the Jinja2 environment (autoescape on), the security headers of every page (applied
by `api.middleware.SecurityHeaders`), the static files, and server-sent events.

CSP: scripts and styles only from this origin, no inline script, nothing from elsewhere. The
console may not be framed; the chat is framed by the brand's site (widget.js), so its
frame-ancestors is open: put it behind the brand's own domain (same site) for its cookie.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse, StreamingResponse
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool

HERE = Path(__file__).parent
TEMPLATES = Environment(
    loader=FileSystemLoader(HERE / "templates"),
    autoescape=select_autoescape(["html", "svg"], default=True),
    trim_blocks=True,
    lstrip_blocks=True,
)

_BASE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
    "form-action 'self'; base-uri 'none'"
)
CONSOLE_CSP = _BASE_CSP + "; frame-ancestors 'none'"
CHAT_CSP = _BASE_CSP + "; frame-ancestors *"
# How often an event stream looks for a change, and how long one stream lasts (the browser's
# EventSource reconnects by itself; a bounded stream lets the server stop promptly).
POLL_SECONDS = 0.5
STREAM_SECONDS = 20.0


def _short_time(value: datetime | None) -> str:
    return value.strftime("%Y-%m-%d %H:%M") if value else ""


def _day(value: Any) -> str:
    if not value:
        return ""
    if isinstance(value, datetime):
        return value.date().isoformat()
    return str(value)[:10]


TEMPLATES.filters["short_time"] = _short_time
TEMPLATES.filters["day"] = _day


def render(template: str, status_code: int = 200, **context: Any) -> HTMLResponse:
    return HTMLResponse(TEMPLATES.get_template(template).render(**context), status_code=status_code)


def _page_headers(csp: str, *, framed: bool, session: bool) -> tuple[tuple[bytes, bytes], ...]:
    headers = [(b"content-security-policy", csp.encode()), (b"x-content-type-options", b"nosniff"),
               (b"referrer-policy", b"same-origin")]
    if not framed:
        headers.append((b"x-frame-options", b"DENY"))
    if session:
        # Session pages: never cached, and kept out of the back/forward cache, where a page would
        # hold its event stream open after the visitor left. (A route's own Cache-Control wins.)
        headers.append((b"cache-control", b"no-store"))
    return tuple(headers)


# The headers of every page under /console, /chat and /widget.js, for `api.middleware.SecurityHeaders`.
PAGE_HEADERS = (
    ("/chat", _page_headers(CHAT_CSP, framed=True, session=True)),
    ("/console", _page_headers(CONSOLE_CSP, framed=False, session=True)),
    ("/widget.js", _page_headers(CONSOLE_CSP, framed=False, session=False)),
    ("/static/web", _page_headers(CONSOLE_CSP, framed=False, session=False)),
)


def install(app: FastAPI) -> None:
    app.mount("/static/web", StaticFiles(directory=HERE / "static"), name="web-static")


def change_stream(request: Request, fingerprint: Callable[[], Hashable]) -> StreamingResponse:
    """Server-sent events: `change` each time `fingerprint()` (a small database read) changes.

    Pages answer by fetching the part that changed, rendered and escaped on the server, so the
    stream carries no customer text."""

    async def events() -> AsyncIterator[str]:
        yield "retry: 1000\n\n"
        last = await run_in_threadpool(fingerprint)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + STREAM_SECONDS
        while loop.time() < deadline:
            await asyncio.sleep(POLL_SECONDS)
            if await request.is_disconnected():
                return
            current = await run_in_threadpool(fingerprint)
            if current != last:
                last = current
                yield "event: change\ndata: {}\n\n"
            else:
                yield ": keep-alive\n\n"

    return StreamingResponse(
        events(), media_type="text/event-stream", headers={"cache-control": "no-store", "x-accel-buffering": "no"}
    )
