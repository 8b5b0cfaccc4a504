"""Sync jobs under a flood and with failing pages, through a real uvicorn server on loopback: identical
pending jobs merge, waiting holds no thread, and a crawl with failed pages is `partial`."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from api import models
from api.app import create_app
from api.db import Database
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    WAIT,
    EchoKnowledgeAssistant,
    database_url_fixture,
    embedding_url_fixture,
    make_settings,
    postgres_database_fixture,
    running_server,
)
from tests.sites import serve_site

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
PAGE = "<html lang='it'><head><title>{0}</title></head><body><main><h1>{0}</h1><p>{1}</p>{2}</main></body></html>"


@contextmanager
def held_site() -> Iterator[tuple[str, threading.Event, threading.Event]]:
    """A website whose every request waits until `release` is set; `arrived` is set by the first."""
    arrived, release = threading.Event(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
            arrived.set()
            release.wait(timeout=2 * WAIT)
            body = PAGE.format("Resi", "Hai 30 giorni per restituire un prodotto.", "").encode()
            self.send_response(200 if self.path == "/" else 404)
            self.send_header("content-type", "text/html; charset=utf-8")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/", arrived, release
    finally:
        release.set()
        server.shutdown()
        server.server_close()


def _manifest(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "sources.yaml"
    manifest.write_text(
        f"brand: Test Brand\nlanguage: it\nsources:\n  - id: site\n    type: website\n    url: {url}\n"
        "    timeout: 30\n",
        encoding="utf-8",
    )
    return manifest


@contextmanager
def content_server(tmp_path: Path, manifest: Path, embedding_url: str) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'service.db'}", manifest=manifest, embedding_base_url=embedding_url
    )
    app = create_app(settings, assistant=EchoKnowledgeAssistant())
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    with running_server(app) as base, httpx.Client(base_url=base, timeout=WAIT, limits=limits) as client:
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def _finished(client: httpx.Client, location: str) -> dict[str, Any]:
    """Poll a job until it is no longer queued or running (bounded by WAIT)."""
    deadline = time.monotonic() + WAIT
    while True:
        job = client.get(location).json()
        if job["status"] not in ("queued", "running") or time.monotonic() > deadline:
            return job
        time.sleep(0.02)


def test_a_flood_of_sync_requests_merges_into_one_pending_job_and_the_api_keeps_answering(
    tmp_path: Path, embedding_url: str
) -> None:
    with (
        held_site() as (url, arrived, release),
        content_server(tmp_path, _manifest(tmp_path / "brand", url), embedding_url) as client,
    ):
        first = client.post("/v1/sources/site/sync")
        assert arrived.wait(timeout=WAIT)  # the first sync is running, stuck on the site

        with ThreadPoolExecutor(max_workers=60) as pool:
            flood = list(pool.map(lambda _: client.post("/v1/sources/site/sync"), range(60)))
        health = client.get("/healthz")  # answered while the first sync still waits
        release.set()
        merged = _finished(client, flood[0].headers["location"])

    assert health.status_code == 200
    assert sorted({r.status_code for r in flood}) == [202]
    assert len({r.json()["id"] for r in flood}) == 1
    assert flood[0].json()["id"] != first.json()["id"]
    assert merged["status"] == "succeeded"


def test_the_database_holds_at_most_one_queued_job_per_source(database_url: str) -> None:
    db = Database(database_url)
    db.migrate()
    now = datetime.now(UTC)
    try:
        with db.session() as session:
            for job_id, status in (("sync_1", "running"), ("sync_2", "queued"), ("sync_3", "succeeded")):
                session.add(models.SyncJob(id=job_id, source_id="site", status=status, requested_by="k", created_at=now))
            session.commit()
            session.add(models.SyncJob(id="sync_4", source_id="site", status="queued", requested_by="k", created_at=now))
            with pytest.raises(IntegrityError):
                session.commit()
    finally:
        db.dispose()


def _site_with_failing_pages() -> dict[str, str]:
    links = "".join(f"<a href='/p{n}/'>Pagina {n}</a> " for n in range(4))
    pages = {"/": PAGE.format("Home", "Benvenuti nel negozio di biciclette.", links)}
    for n in range(4):
        pages[f"/p{n}/"] = PAGE.format(f"Pagina {n}", f"Il contenuto della pagina numero {n}.", "")
    return pages


def test_a_crawl_where_some_pages_failed_is_a_partial_job_listing_them(tmp_path: Path, embedding_url: str) -> None:
    with serve_site(_site_with_failing_pages()) as site:
        for n in (1, 3):
            site.fail(f"/p{n}/", 403, times=100)
        with content_server(tmp_path, _manifest(tmp_path / "brand", site.url("/")), embedding_url) as client:
            started = client.post("/v1/sources/site/sync")
            job = _finished(client, started.headers["location"])

    assert job["status"] == "partial"
    assert job["failed_pages"] == [
        {"source_id": "site", "url": site.url("/p1/"), "error": "HTTP 403"},
        {"source_id": "site", "url": site.url("/p3/"), "error": "HTTP 403"},
    ]
    assert job["report"]["status"] == "partial"
