"""`create_app(settings)`: the FastAPI application, wired once at start-up.

Start-up migrates the database (so a new deployment needs no separate step) and marks syncs
whose worker stopped (an expired lease) interrupted; the lifespan runs the webhook delivery
worker, the channel worker, the sync worker, the index watcher (a sync published by another
process is served without a restart), and the warm-up (in a thread; /readyz says `warming` until
it is done).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

from fastapi import FastAPI

from api import problems
from api.channels import CHANNELS, ChannelPolicy, ChannelWorker
from api.conversations import Assistant
from api.index_generation import IndexWatcher, published_generation
from api.logs import configure_logging
from api.middleware import AccessLog, BodySizeLimit, SecurityHeaders
from api.routes import analytics, audit, channels, conversations, handoffs, keys, knowledge, ops, webhooks
from api.runtime import Runtime
from api.sources import SyncPolicy, SyncWorker, recover_interrupted_jobs
from api.web import PAGE_HEADERS, chat_router, console_router
from api.web import install as install_web
from api.webhooks import DeliveryPolicy
from knowledge import Manifest
from sportello.settings import Settings

DESCRIPTION = """Grounded, cited answers for a brand's customers, with human handoff.

Authenticate with `Authorization: Bearer sk_...`. Roles: `channel` (messages), `operator`
(handoffs), `content` (sources, sync, knowledge health, search), `manager` (analytics), `web` (the
site's public web-chat key), `admin` (everything).
Errors are `application/problem+json`. Outbound events are signed per Standard Webhooks.
"""


def create_app(
    settings: Settings,
    *,
    assistant: Assistant | None = None,
    manifest: Manifest | None = None,
    delivery: DeliveryPolicy | None = None,
    channel_policy: ChannelPolicy | None = None,
    sync: SyncPolicy | None = None,
) -> FastAPI:
    """Build the app. Without `assistant`, one is built from `manifest` (or settings.manifest)
    and the index in settings.data_dir on the first message. `delivery` tunes webhook retries,
    `channel_policy` the messaging channels' sends, `sync` the sync jobs' leases."""
    runtime = Runtime(settings, assistant=assistant, manifest=manifest, delivery=delivery)
    runtime.db.migrate()
    with runtime.db.session() as session:
        recover_interrupted_jobs(session, now=datetime.now(UTC))  # only jobs whose runner is gone
        runtime.seen_generation = published_generation(session)

    channel_worker = ChannelWorker(runtime, channel_policy or ChannelPolicy())
    sync_worker = SyncWorker(runtime, sync or SyncPolicy())
    index_watcher = IndexWatcher(runtime, interval=settings.index_check_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await runtime.worker.start()
        await channel_worker.start()
        await sync_worker.start()
        await index_watcher.start()
        # In the background, so /healthz answers and /readyz can say `warming` meanwhile.
        warming = None if runtime.warm.is_set() else asyncio.create_task(
            asyncio.to_thread(runtime.warm_up, now=datetime.now(UTC))
        )
        try:
            yield
        finally:
            if warming is not None:
                warming.cancel()  # stops waiting for it; the thread ends with its turn
            await index_watcher.stop()
            await sync_worker.stop()
            await channel_worker.stop()
            await runtime.worker.stop()
            runtime.close()

    app = FastAPI(title="Sportello", version="0.1.0", description=DESCRIPTION, lifespan=lifespan)
    app.state.runtime = runtime
    app.state.channel_worker = channel_worker
    app.state.sync_worker = sync_worker
    app.state.index_watcher = index_watcher
    problems.install(app)
    for module in (conversations, handoffs, keys, webhooks, knowledge, analytics, ops, channels, audit):
        app.include_router(module.router)
    for channel in CHANNELS:  # each messaging channel's webhook
        app.include_router(channel.router)
    app.include_router(console_router)
    app.include_router(chat_router)
    install_web(app)
    # Added last = outermost: the access log sees the 413s too.
    app.add_middleware(BodySizeLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(SecurityHeaders, by_path=PAGE_HEADERS)
    app.add_middleware(AccessLog, metrics=runtime.metrics)
    return app


def create_app_from_env() -> FastAPI:
    """The uvicorn factory for `sportello serve`: settings from SPORTELLO_* variables."""

    settings = Settings.from_env()
    configure_logging(settings.log_level)
    return create_app(settings)


def server_options(settings: Settings) -> dict[str, Any]:
    """What `sportello serve` hands uvicorn: its limits against slow or idle
    clients, from settings. Slow headers and bodies are the reverse proxy's to cut (README,
    "Running in production"): uvicorn has no read timeout for them, only a cap on connections per
    worker (503 past it) and on the size of unfinished headers. The h11 parser, because the header
    cap is h11's (httptools, uvicorn's pick when installed, has none)."""
    return {
        "http": "h11",
        "timeout_keep_alive": settings.keep_alive_seconds,
        "limit_concurrency": settings.limit_concurrency,
        "h11_max_incomplete_event_size": settings.max_header_bytes,
        "timeout_worker_healthcheck": settings.worker_healthcheck_seconds,
    }
