"""Knowledge routes for content teams: sources, background sync jobs, search, health, readiness.

These run the real knowledge pipeline (sync into tmp_path, Chroma, BM25) on a two-row FAQ, with
embeddings from an OpenAI-compatible endpoint on loopback (fast and deterministic; the bundled
model is exercised by tests/test_api_end_to_end.py). SQLite only: the job rows are ordinary
tables already covered on PostgreSQL.
"""

from __future__ import annotations

import socket
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api import models
from api.app import create_app
from api.problems import status_for
from knowledge.errors import IndexUnavailable, ManifestError, SourceFormatError, SourceUnreachable
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    EchoKnowledgeAssistant,
    WebhookReceiver,
    embedding_url_fixture,
    make_settings,
    receiver_fixture,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FAQ = """question,answer,updated_at,url
Quanto costa la spedizione?,"La spedizione standard costa 6,90 euro.",2026-11-03,/faq/#spedizioni
Posso restituire un prodotto?,"Hai 30 giorni per il reso gratuito.",2026-11-04,/faq/#resi
"""


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _brand(folder: Path, *, faq: str = FAQ, extra_source: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "faq.csv").write_text(faq, encoding="utf-8")
    manifest = folder / "sources.yaml"
    manifest.write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n" + extra_source,
        encoding="utf-8",
    )
    return manifest


@pytest.fixture
def content(tmp_path: Path, embedding_url: str) -> Iterator[Any]:
    """`content(manifest=...) -> TestClient` with a content key's headers at `.headers`."""
    clients: list[TestClient] = []

    def build(**overrides: Any) -> TestClient:
        overrides.setdefault("manifest", _brand(tmp_path / "brand"))
        overrides.setdefault("embedding_base_url", embedding_url)
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", **overrides)
        client = TestClient(create_app(settings, assistant=EchoKnowledgeAssistant())).__enter__()
        clients.append(client)
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        client.headers.update({"Authorization": f"Bearer {key}"})
        return client

    yield build
    for client in clients:
        client.__exit__(None, None, None)


def _sync(client: TestClient, source_id: str = "faq") -> dict[str, Any]:
    started = client.post(f"/v1/sources/{source_id}/sync")
    assert started.status_code == 202, started.text
    # TestClient returns once the background task is done, so the job is already finished.
    return client.get(started.headers["location"]).json()


def test_sources_lists_every_manifest_source_before_any_sync(content: Any) -> None:
    client = content()

    sources = client.get("/v1/sources").json()["sources"]

    assert [(s["id"], s["type"], s["last_status"], s["documents"]) for s in sources] == [
        ("faq", "faq", "never synced", 0)
    ]


def test_a_sync_runs_in_the_background_and_its_job_can_be_polled(content: Any) -> None:
    client = content()

    started = client.post("/v1/sources/faq/sync")
    job = client.get(started.headers["location"]).json()

    assert started.json()["status"] == "queued"
    assert started.headers["location"] == f"/v1/sources/faq/sync/{started.json()['id']}"
    assert job["status"] == "succeeded"
    assert job["started_at"] is not None and job["finished_at"] is not None
    assert [(s["id"], s["added"]) for s in job["report"]["sources"]] == [("faq", 2)]


def test_after_a_sync_the_source_shows_its_documents(content: Any) -> None:
    client = content()
    _sync(client)

    source = client.get("/v1/sources").json()["sources"][0]

    assert source["documents"] == 2
    assert source["last_sync"] is not None


def test_search_returns_ranked_passages_with_their_provenance(content: Any) -> None:
    client = content()
    _sync(client)

    body = client.get("/v1/search", params={"q": "quanto costa la spedizione", "k": 2}).json()

    top = body["passages"][0]
    assert len(body["passages"]) == 2
    assert top["source_id"] == "faq"
    assert top["url"] == "https://brand.test/faq/#spedizioni"
    assert top["title"] == "Quanto costa la spedizione?"
    assert top["updated_at"].startswith("2026-11-03")
    assert top["score"] >= body["passages"][1]["score"]


def test_search_can_be_limited_to_one_source(content: Any) -> None:
    client = content()
    _sync(client)

    body = client.get("/v1/search", params={"q": "reso", "source_id": "nowhere"}).json()

    assert body["passages"] == []


def test_a_malformed_source_fails_its_job_with_the_error_type(content: Any, tmp_path: Path) -> None:
    client = content(manifest=_brand(tmp_path / "broken", faq="domanda\nsolo una colonna\n"))

    job = _sync(client)

    assert job["status"] == "failed"
    assert job["error_type"] == "SourceFormatError"
    assert "faq" in job["error"]


def test_an_unreachable_source_fails_its_job_as_unreachable(content: Any, tmp_path: Path) -> None:
    site = f"  - id: site\n    type: website\n    url: http://127.0.0.1:{_closed_port()}/\n    timeout: 1\n"
    client = content(manifest=_brand(tmp_path / "offline", extra_source=site))

    job = _sync(client, "site")

    assert job["status"] == "failed"
    assert job["error_type"] == "SourceUnreachable"


def test_syncing_a_source_missing_from_the_manifest_is_404(content: Any) -> None:
    response = content().post("/v1/sources/blog/sync")

    assert response.status_code == 404
    assert "known sources: faq" in response.json()["detail"]


def test_a_source_added_to_the_manifest_can_be_synced_without_a_restart(content: Any, tmp_path: Path) -> None:
    manifest = _brand(tmp_path / "growing")
    client = content(manifest=manifest)
    client.get("/v1/sources")  # the manifest as it was at first use
    (tmp_path / "growing" / "more.csv").write_text(FAQ, encoding="utf-8")
    manifest.write_text(
        manifest.read_text(encoding="utf-8")
        + "  - id: more\n    type: faq\n    path: more.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )

    job = _sync(client, "more")

    assert job["status"] == "succeeded"


def test_polling_an_unknown_job_is_404(content: Any) -> None:
    assert content().get("/v1/sources/faq/sync/sync_nope").status_code == 404


def test_search_before_any_sync_is_503_index_unavailable(content: Any) -> None:
    response = content().get("/v1/search", params={"q": "spedizione"})

    assert response.status_code == 503
    assert response.json()["title"] == "Index unavailable"


def test_without_a_manifest_the_knowledge_routes_say_how_to_configure_one(content: Any) -> None:
    response = content(manifest=None).post("/v1/sources/faq/sync")

    assert response.status_code == 503
    assert "SPORTELLO_MANIFEST" in response.json()["detail"]


def test_an_invalid_manifest_is_a_422_problem_naming_its_line(content: Any, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "brand: X\nsources:\n  - id: faq\n    type: podcast\n    path: faq.csv\n", encoding="utf-8"
    )

    response = content(manifest=bad).get("/v1/sources")

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert "line 4" in response.json()["detail"]


def test_readiness_needs_the_index(content: Any) -> None:
    client = content()
    before = client.get("/readyz")
    _sync(client)
    after = client.get("/readyz")

    assert before.status_code == 503
    assert before.json()["checks"]["database"] == "ok"
    assert after.status_code == 200
    assert after.json() == {
        "status": "ready", "checks": {"database": "ok", "index": "ok", "manifest": "ok", "disk": "ok"}
    }


def test_readiness_fails_when_the_manifest_is_edited_into_an_invalid_one(content: Any, tmp_path: Path) -> None:
    manifest = _brand(tmp_path / "edited")
    client = content(manifest=manifest)
    _sync(client)
    manifest.write_text(
        manifest.read_text(encoding="utf-8") + "support:\n  opening_hours: \"Mo-Fr 25:00-99:00\"\n",
        encoding="utf-8",
    )

    response = client.get("/readyz")

    assert response.status_code == 503
    assert "opening_hours" in response.json()["checks"]["manifest"]


def test_the_health_report_is_returned_as_json(content: Any) -> None:
    client = content()
    _sync(client)

    response = client.get("/v1/knowledge/health")

    assert response.status_code == 200
    assert isinstance(response.json().get("issues"), list)


EXPIRED_PROMOTION = FAQ + (
    'C\'è una promozione sulle bici?,"Sconto del 20% su tutte le bici fino al 31 gennaio 2024.",2024-01-02,/faq/#promo\n'
)


def test_a_sync_announces_each_new_knowledge_issue_once(
    content: Any, tmp_path: Path, receiver: WebhookReceiver
) -> None:
    client = content(manifest=_brand(tmp_path / "promo", faq=EXPIRED_PROMOTION))
    subscription = client.post(
        "/v1/webhooks", json={"url": receiver.url, "events": ["knowledge.issue_found"]}, headers=ADMIN
    ).json()
    receiver.secret = subscription["secret"]

    _sync(client)
    _sync(client)

    deliveries = client.get(f"/v1/webhooks/{subscription['id']}/deliveries", headers=ADMIN).json()
    assert len(deliveries) == 1
    event = receiver.wait_for(1)[0].event
    assert event["type"] == "knowledge.issue_found"
    assert event["data"]["issue"]["kind"] == "expired"
    assert event["data"]["source_id"] == "faq"


def test_a_sync_left_running_by_a_stopped_service_is_marked_interrupted(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}")
    first = create_app(settings, assistant=EchoKnowledgeAssistant())
    with first.state.runtime.db.session() as session:
        now = datetime.now(UTC)
        session.add(
            models.SyncJob(id="sync_1", source_id="faq", status="running", requested_by="k", created_at=now)
        )
        session.commit()
    first.state.runtime.close()

    second = create_app(settings, assistant=EchoKnowledgeAssistant())

    with second.state.runtime.db.session() as session:
        job = session.get(models.SyncJob, "sync_1")
        assert (job.status, job.error_type) == ("failed", "Interrupted")
    second.state.runtime.close()


@pytest.mark.parametrize(
    ("error", "status"),
    [
        (ManifestError("sources.yaml line 3: bad"), 422),
        (SourceFormatError("faq", "missing column"), 422),
        (SourceUnreachable("site", "connection refused"), 502),
        (IndexUnavailable("no index"), 503),
    ],
)
def test_knowledge_errors_map_to_http_statuses(error: Exception, status: int) -> None:
    assert status_for(error) == status
