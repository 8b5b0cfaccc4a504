"""The start-up warm-up: /readyz says `warming` (503) until the assistant, the index and one
throwaway turn are done, then ready; the throwaway turn is never stored.

The held assistant below is the service-boundary test double (tests/api/conftest_api.py) made to
wait on an event in its first turn, so the warming state is observed without timing.
"""

from __future__ import annotations

import threading
from datetime import datetime
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from agent.assistant import TurnResult
from agent.conversation import Conversation
from api.app import create_app
from api.runtime import WARMUP_CONVERSATION
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    WAIT,
    EchoKnowledgeAssistant,
    embedding_url_fixture,
    make_settings,
)
from tests.conftest import DEMO_MANIFEST, running_chroma

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
FAQ = """question,answer,updated_at,url
Posso restituire un prodotto?,"Hai 30 giorni per il reso gratuito.",2026-11-04,/faq/#resi
"""


class HeldAssistant(EchoKnowledgeAssistant):
    """Waits in every turn until `release` is set."""

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        self.release.wait(WAIT)
        return super().respond(conversation, message, now=now)


def _synced_brand(tmp_path: Path, embedding_url: str, **more: Any) -> dict[str, Any]:
    """Settings of a one-row FAQ brand whose index is already built (by an app without warm-up)."""
    folder = tmp_path / "brand"
    folder.mkdir()
    (folder / "faq.csv").write_text(FAQ, encoding="utf-8")
    manifest = folder / "sources.yaml"
    manifest.write_text(
        "brand: Test Brand\nlanguage: it\nsources:\n"
        "  - id: faq\n    type: faq\n    path: faq.csv\n    base_url: https://brand.test\n",
        encoding="utf-8",
    )
    values = {"manifest": manifest, "embedding_base_url": embedding_url, **more}
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", **values)
    with TestClient(create_app(settings, assistant=EchoKnowledgeAssistant())) as client:
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        job = client.post("/v1/sources/faq/sync", headers={"Authorization": f"Bearer {key}"})
        assert job.status_code == 202, job.text
    return values


def test_readyz_says_warming_until_the_warm_up_turn_has_run_and_ready_after(
    tmp_path: Path, embedding_url: str
) -> None:
    values = _synced_brand(tmp_path, embedding_url)
    assistant = HeldAssistant()
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", warmup=True, **values)
    app = create_app(settings, assistant=assistant)

    with TestClient(app) as client:
        warming = client.get("/readyz")
        assistant.release.set()
        assert app.state.runtime.warm.wait(WAIT)
        ready = client.get("/readyz")

    assert warming.status_code == 503
    assert warming.headers["content-type"] == "application/problem+json"
    assert warming.json()["checks"] == {
        "warmup": "warming", "database": "ok", "index": "ok", "manifest": "ok", "disk": "ok"
    }
    assert "warmup: warming" in warming.json()["detail"]
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"warmup": "ok", "database": "ok", "index": "ok", "manifest": "ok", "disk": "ok"},
    }


def test_the_warm_up_turn_goes_through_the_assistant_once_and_is_not_stored(
    tmp_path: Path, embedding_url: str
) -> None:
    values = _synced_brand(tmp_path, embedding_url)
    assistant = EchoKnowledgeAssistant()
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", warmup=True, **values)
    app = create_app(settings, assistant=assistant)

    with TestClient(app) as client:
        assert app.state.runtime.warm.wait(WAIT)
        stored = client.get(f"/v1/conversations/{WARMUP_CONVERSATION}", headers=ADMIN)

    assert [c.id for c in assistant.seen] == [WARMUP_CONVERSATION]
    assert stored.status_code == 404


def test_without_an_index_the_warm_up_ends_and_readyz_names_the_index_instead(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", warmup=True)
    app = create_app(settings)  # no assistant, no manifest, no index: nothing to warm

    with TestClient(app) as client:
        assert app.state.runtime.warm.wait(WAIT)
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["checks"]["warmup"] == "ok"
    assert response.json()["checks"]["index"] != "ok"


def test_the_warm_up_builds_the_real_assistant_and_its_index_before_the_first_message(
    tmp_path: Path, demo_data_dir: Path
) -> None:
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'service.db'}", data_dir=demo_data_dir, manifest=DEMO_MANIFEST,
        warmup=True,
    )
    app = create_app(settings)  # the real assistant, built by the warm-up

    with TestClient(app) as client:
        assert app.state.runtime.warm.wait(WAIT * 8)  # loads the bundled embedding model
        loaded = app.state.runtime.knowledge_loaded
        ready = client.get("/readyz")

    assert loaded
    assert ready.status_code == 200


def test_after_a_sync_the_worker_rebuilds_the_assistant_before_the_next_message(
    tmp_path: Path, embedding_url: str
) -> None:
    values = _synced_brand(tmp_path, embedding_url)
    settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", warmup=True, **values)
    app = create_app(settings)  # the real assistant, on the FAQ brand's index
    runtime = app.state.runtime

    with TestClient(app) as client:
        assert runtime.warm.wait(WAIT * 8)
        key = client.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        # TestClient returns once the background task (the sync, then the warm-up) is done.
        synced = client.post("/v1/sources/faq/sync", headers={"Authorization": f"Bearer {key}"})
        loaded_after_sync = runtime.knowledge_loaded

    assert synced.status_code == 202
    assert loaded_after_sync


def test_readyz_keeps_asking_the_chroma_server_after_the_warm_up_loaded_the_index_and_says_degraded_without_it(
    tmp_path: Path, embedding_url: str
) -> None:
    with running_chroma(tmp_path / "chroma-server") as chroma_url:
        values = _synced_brand(tmp_path, embedding_url, chroma_url=chroma_url)
        settings = make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", warmup=True, **values)
        app = create_app(settings, assistant=EchoKnowledgeAssistant())
        client = TestClient(app).__enter__()
        assert app.state.runtime.warm.wait(WAIT)
        loaded = app.state.runtime.knowledge_loaded
        up = client.get("/readyz")
    try:
        down = client.get("/readyz")  # the Chroma server has stopped
    finally:
        client.__exit__(None, None, None)

    assert loaded
    assert up.status_code == 200
    assert up.json()["checks"]["chroma"] == "ok"
    # Turns are still answered (lexical-only, or from a copy of the vectors): degraded, not out.
    assert down.status_code == 200
    assert down.json()["status"] == "degraded"
    assert down.json()["checks"]["chroma"].startswith(f"unreachable at {chroma_url}")
