"""Sync jobs under a flood and with failing pages, through a real uvicorn server on loopback: identical
pending jobs merge, waiting holds no thread, and a crawl with failed pages is `partial`. Two
workers on one database (SQLite and PostgreSQL): a starting worker leaves a live worker's sync
alone, a job whose worker stopped is interrupted (running) or run by another (queued), and one
sync runs at a time across them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.exc import IntegrityError

from api import models
from api.app import create_app
from api.db import Database
from api.sources import SyncPolicy
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


# --- two workers on one database: leases ------------------------------------------------------------
@contextmanager
def content_worker(
    tmp_path: Path, database_url: str, manifest: Path, embedding_url: str, **overrides: Any
) -> Iterator[httpx.Client]:
    """One more service process on the shared database and data dir (its own engine and runtime,
    as a second `sportello serve` has), serving over loopback with a content key of its own."""
    settings = make_settings(
        tmp_path, database_url, manifest=manifest, embedding_base_url=embedding_url, **overrides
    )
    app = create_app(settings, assistant=EchoKnowledgeAssistant())
    with running_server(app) as base, httpx.Client(base_url=base, timeout=WAIT) as client:
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def test_a_starting_worker_leaves_alone_the_sync_a_live_worker_is_running(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    with held_site() as (url, arrived, release):
        manifest = _manifest(tmp_path / "brand", url)
        with content_worker(tmp_path, database_url, manifest, embedding_url) as first:
            started = first.post("/v1/sources/site/sync")
            assert arrived.wait(timeout=WAIT)  # the first worker's sync is running, stuck on the site

            with content_worker(tmp_path, database_url, manifest, embedding_url) as second:
                seen_by_second = second.get(started.headers["location"]).json()
            release.set()
            finished = _finished(first, started.headers["location"])

    assert seen_by_second["status"] == "running"
    assert seen_by_second["error_type"] is None
    assert finished["status"] == "succeeded"


def _add_job(database_url: str, job_id: str, status: str, **values: Any) -> None:
    """A job row as a worker that has since stopped left it (it went with its process)."""
    db = Database(database_url)
    db.migrate()
    try:
        with db.session() as session:
            session.add(
                models.SyncJob(
                    id=job_id, source_id="site", status=status, requested_by="key_gone",
                    created_at=datetime.now(UTC), **values,
                )
            )
            session.commit()
    finally:
        db.dispose()


def test_a_running_sync_whose_worker_stopped_renewing_its_lease_is_interrupted_at_the_next_start(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    expired = datetime.now(UTC) - timedelta(seconds=1)
    _add_job(database_url, "sync_gone", "running", started_at=expired, lease_owner="host:1:dead", lease_expires_at=expired)

    with content_worker(tmp_path, database_url, _manifest(tmp_path / "brand", "http://127.0.0.1:9/"), embedding_url) as c:
        job = c.get("/v1/sources/site/sync/sync_gone").json()

    assert (job["status"], job["error_type"]) == ("failed", "Interrupted")
    assert job["finished_at"] is not None


def test_a_queued_sync_left_by_a_stopped_worker_is_run_by_another(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    with serve_site({"/": PAGE.format("Resi", "Hai 30 giorni per restituire un prodotto.", "")}) as site:
        _add_job(database_url, "sync_left", "queued")
        with content_worker(tmp_path, database_url, _manifest(tmp_path / "brand", site.url("/")), embedding_url) as c:
            job = _finished(c, "/v1/sources/site/sync/sync_left")

    assert job["status"] == "succeeded", job
    assert job["started_at"] is not None


def test_a_sync_queued_on_one_worker_waits_for_the_sync_another_worker_runs(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    with held_site() as (url, arrived, release):
        manifest = _manifest(tmp_path / "brand", url)
        with (
            content_worker(tmp_path, database_url, manifest, embedding_url) as first,
            content_worker(tmp_path, database_url, manifest, embedding_url) as second,
        ):
            running = first.post("/v1/sources/site/sync")
            assert arrived.wait(timeout=WAIT)
            queued = second.post("/v1/sources/site/sync")
            waiting = second.get(queued.headers["location"]).json()
            release.set()
            jobs = [_finished(second, r.headers["location"]) for r in (running, queued)]

    assert waiting["status"] == "queued"
    assert [job["status"] for job in jobs] == ["succeeded", "succeeded"]
    assert jobs[0]["finished_at"] <= jobs[1]["started_at"]  # one after the other, never both


def test_a_running_sync_renews_its_lease_until_it_ends(tmp_path: Path, database_url: str, embedding_url: str) -> None:
    def lease_of(job_id: str) -> datetime | None:
        with db.session() as session:
            job = session.get(models.SyncJob, job_id)
            assert job is not None
            return job.lease_expires_at

    db = Database(database_url)
    try:
        with held_site() as (url, arrived, release):
            settings = make_settings(
                tmp_path, database_url, manifest=_manifest(tmp_path / "brand", url), embedding_base_url=embedding_url
            )
            app = create_app(settings, assistant=EchoKnowledgeAssistant(), sync=SyncPolicy(lease=0.3))
            with running_server(app) as base, httpx.Client(base_url=base, timeout=WAIT) as client:
                key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
                started = client.post("/v1/sources/site/sync", headers={"Authorization": f"Bearer {key}"}).json()
                assert arrived.wait(timeout=WAIT)
                first = lease_of(started["id"])
                deadline = time.monotonic() + WAIT
                while (renewed := lease_of(started["id"])) == first and time.monotonic() < deadline:
                    time.sleep(0.02)
                release.set()
                deadline = time.monotonic() + WAIT
                while (ended := lease_of(started["id"])) is not None and time.monotonic() < deadline:
                    time.sleep(0.02)
    finally:
        db.dispose()

    assert first is not None and renewed is not None and renewed > first
    assert ended is None
