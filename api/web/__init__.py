"""The web side: server-rendered pages for people, beside the JSON API for programs.

- `/console/`: operators (handoff queue, conversation view), `/console/knowledge`: content teams,
  `/console/analytics`: managers; signed in with a key exchanged for a session cookie.
- `/chat` and `/widget.js`: the brand's web chat, on a public `web` key and a visitor cookie.

Jinja2 templates escape everything (crawled text and customer text are untrusted); the little
JavaScript there is lives in `static/`, and every page is served with a Content-Security-Policy
that allows no inline script and nothing from another origin.
"""

from api.web.chat import router as chat_router
from api.web.console import router as console_router
from api.web.pages import PAGE_HEADERS, install

__all__ = ["PAGE_HEADERS", "chat_router", "console_router", "install"]
