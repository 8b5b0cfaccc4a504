"""Every worker serves the index the last sync published, without a restart: two service instances
on one database and one data dir (each its own engine and runtime, as two `sportello serve`
processes have), a real website and embeddings endpoint on loopback, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from api.app import create_app
from api.db import Database
from api.index_generation import published_generation
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
PAGE = "<html lang='it'><head><title>Resi</title></head><body><main><h1>Resi</h1><p>{}</p></main></body></html>"
OLD = "Hai trenta giorni per restituire un prodotto acquistato in negozio."
NEW = "Il rimborso arriva sulla carta entro una settimana dalla consegna del pacco."


@contextmanager
def worker(tmp_path: Path, database_url: str, manifest: Path, embedding_url: str) -> Iterator[httpx.Client]:
    settings = make_settings(
        tmp_path, database_url, manifest=manifest, embedding_base_url=embedding_url, index_check_seconds=0.05
    )
    app = create_app(settings, assistant=EchoKnowledgeAssistant())
    with running_server(app) as base, httpx.Client(base_url=base, timeout=WAIT) as client:
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        client.headers["Authorization"] = f"Bearer {key}"
        yield client


def _manifest(folder: Path, url: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    manifest = folder / "sources.yaml"
    manifest.write_text(
        f"brand: Test Brand\nlanguage: it\nsources:\n  - id: site\n    type: website\n    url: {url}\n",
        encoding="utf-8",
    )
    return manifest


def _sync(client: httpx.Client) -> dict[str, Any]:
    location = client.post("/v1/sources/site/sync").headers["location"]
    deadline = time.monotonic() + WAIT
    while (job := client.get(location).json())["status"] in ("queued", "running") and time.monotonic() < deadline:
        time.sleep(0.02)
    assert job["status"] == "succeeded", job
    return dict(job)


def _texts(client: httpx.Client, query: str) -> list[str]:
    response = client.get("/v1/search", params={"q": query, "mode": "bm25", "k": 3})
    assert response.status_code == 200, response.text
    return [p["text"] for p in response.json()["passages"]]


def _mentions(texts: list[str], word: str) -> bool:
    return any(word in text for text in texts)


def _generation(database_url: str) -> int:
    db = Database(database_url)
    try:
        with db.session() as session:
            return published_generation(session)
    finally:
        db.dispose()


def test_a_worker_answers_from_the_index_another_worker_synced_without_a_restart(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    with serve_site({"/": PAGE.format(OLD)}) as site:
        manifest = _manifest(tmp_path / "brand", site.url("/"))
        with (
            worker(tmp_path, database_url, manifest, embedding_url) as syncing,
            worker(tmp_path, database_url, manifest, embedding_url) as other,
        ):
            _sync(syncing)
            before = _texts(other, "rimborso carta")  # the other worker loads the first index
            site.set("/", PAGE.format(NEW))
            _sync(syncing)
            deadline = time.monotonic() + WAIT
            after = _texts(other, "rimborso carta")
            while not _mentions(after, "rimborso") and time.monotonic() < deadline:
                time.sleep(0.02)
                after = _texts(other, "rimborso carta")

    assert not _mentions(before, "rimborso")
    assert _mentions(after, "rimborso")
    assert _generation(database_url) == 2


def test_a_sync_that_changes_nothing_publishes_no_new_generation(
    tmp_path: Path, database_url: str, embedding_url: str
) -> None:
    with serve_site({"/": PAGE.format(OLD)}) as site:
        manifest = _manifest(tmp_path / "brand", site.url("/"))
        with worker(tmp_path, database_url, manifest, embedding_url) as client:
            _sync(client)
            _sync(client)

    assert _generation(database_url) == 1
