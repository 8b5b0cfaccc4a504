"""The service on a `chroma run` server (SPORTELLO_CHROMA_URL): a sync through the API writes the
index into it, two app instances on the same server and data dir answer alike, and when the server
stops turns are still answered, lexical-only (the trace and /metrics say so), /readyz says
`degraded` naming `chroma`, and dense retrieval resumes once it is back, without a restart.

The real assistant and the bundled embedder; a real Chroma server process, stopped and started."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest
from tests.api.conftest_api import ADMIN_KEY, make_settings
from tests.conftest import ChromaServer
from tests.knowledge.index.test_chroma_server import ANSWER_URL, QUESTION, faq_brand

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _settings(tmp_path: Path, chroma: ChromaServer, manifest: Path, **more: Any) -> Any:
    return make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'service.db'}", manifest=manifest, chroma_url=chroma.url,
        chroma_retry_seconds=0, **more,
    )


def _channel_key(client: TestClient) -> dict[str, str]:
    key = client.post("/v1/keys", json={"role": "channel", "name": "wa"}, headers=ADMIN).json()["key"]
    return {"Authorization": f"Bearer {key}"}


def _ask(client: TestClient, key: dict[str, str], conversation: str, text: str = QUESTION) -> dict[str, Any]:
    response = client.post(f"/v1/conversations/{conversation}/messages", json={"text": text, "user_id": f"+39{conversation}", "channel": "whatsapp"},
                           headers=key)
    assert response.status_code == 200, response.text
    reply: dict[str, Any] = response.json()["reply"]
    return reply


def _retrieval_modes(caplog: pytest.LogCaptureFixture) -> list[str]:
    """The `retrieval=` of each `agent.reply` log line (the trace's retrieval mode)."""
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("agent.reply ")]
    return [line.split("retrieval=")[1].split()[0] for line in lines]


def _lexical_only_replies(client: TestClient) -> float:
    for line in client.get("/metrics").text.splitlines():
        if line.startswith("sportello_replies_lexical_only_total "):
            return float(line.split()[1])
    raise AssertionError("no sportello_replies_lexical_only_total in /metrics")


@pytest.fixture()
def manifest(tmp_path: Path) -> Path:
    return faq_brand(tmp_path / "brand")


def test_a_sync_through_one_instance_serves_another_from_the_same_chroma_server(
    tmp_path: Path, chroma: ChromaServer, manifest: Path
) -> None:
    settings = _settings(tmp_path, chroma, manifest)
    with TestClient(create_app(settings)) as first:
        content = first.post("/v1/keys", json={"role": "content", "name": "cms"}, headers=ADMIN).json()["key"]
        synced = first.post("/v1/sources/faq/sync", headers={"Authorization": f"Bearer {content}"})
        key = _channel_key(first)
        with TestClient(create_app(settings)) as second:  # another worker: same server, same data dir
            replies = [_ask(first, key, "wa-1"), _ask(second, key, "wa-2")]
            ready = second.get("/readyz")

    assert synced.status_code == 202
    assert not (settings.data_dir / "chroma").exists()  # the vectors live in the server only
    assert [r["grounded"] for r in replies] == [True, True]
    assert [[c["url"] for c in r["citations"]] for r in replies] == [[ANSWER_URL], [ANSWER_URL]]
    assert replies[0]["text"] == replies[1]["text"]
    assert ready.json() == {"status": "ready", "checks": {
        "database": "ok", "index": "ok", "manifest": "ok", "disk": "ok", "chroma": "ok"}}


def test_while_the_chroma_server_is_down_turns_are_answered_lexical_only_and_readyz_says_degraded(
    tmp_path: Path, chroma: ChromaServer, manifest: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, chroma, manifest, index_in_memory_limit=0)  # every search asks Chroma
    sync_manifest(load_manifest(manifest), data_dir=settings.data_dir, chroma_url=chroma.url, embedder=embedder)
    caplog.set_level(logging.INFO, logger="agent.assistant")
    with TestClient(create_app(settings)) as client:
        key = _channel_key(client)
        up = _ask(client, key, "wa-1")
        chroma.stop()
        down = _ask(client, key, "wa-2")
        readyz_down = client.get("/readyz")
        counted = _lexical_only_replies(client)
        chroma.start()
        back = _ask(client, key, "wa-3")
        readyz_back = client.get("/readyz")

    assert _retrieval_modes(caplog) == ["dense", "lexical_only", "dense"]
    assert down["grounded"] and [c["url"] for c in down["citations"]] == [ANSWER_URL]
    assert down["text"] == up["text"] == back["text"]
    assert counted == 1
    assert readyz_down.status_code == 200
    assert readyz_down.json()["status"] == "degraded"
    assert readyz_down.json()["checks"]["index"] == "ok"
    assert readyz_down.json()["checks"]["chroma"].startswith(f"unreachable at {chroma.url}")
    assert "lexical index" in readyz_down.json()["checks"]["chroma"]
    assert readyz_back.json()["status"] == "ready"


def test_a_lexical_only_turn_says_why_in_its_trace(
    tmp_path: Path, chroma: ChromaServer, manifest: Path, embedder
) -> None:
    settings = _settings(tmp_path, chroma, manifest, index_in_memory_limit=0)
    sync_manifest(load_manifest(manifest), data_dir=settings.data_dir, chroma_url=chroma.url, embedder=embedder)
    app = create_app(settings)
    with TestClient(app):
        assistant = app.state.runtime.assistant()
        chroma.stop()
        from agent import Conversation

        reply = assistant.respond(Conversation("trace-1"), QUESTION).reply

    assert reply.grounded
    assert reply.trace["retrieval"]["mode"] == "lexical_only"
    assert reply.trace["retrieval"]["reason"] == "vector_index_unreachable"
    assert "Chroma server" in reply.trace["retrieval"]["error"]


def test_a_worker_started_while_the_chroma_server_is_down_answers_and_takes_the_vectors_when_it_is_back(
    tmp_path: Path, chroma: ChromaServer, manifest: Path, embedder, caplog: pytest.LogCaptureFixture
) -> None:
    settings = _settings(tmp_path, chroma, manifest, warmup=True)  # the default: vectors copied in memory
    sync_manifest(load_manifest(manifest), data_dir=settings.data_dir, chroma_url=chroma.url, embedder=embedder)
    chroma.stop()
    caplog.set_level(logging.INFO, logger="agent.assistant")
    app = create_app(settings)
    with TestClient(app) as client:
        assert app.state.runtime.warm.wait(120)
        readyz_down = client.get("/readyz")
        key = _channel_key(client)
        caplog.clear()
        down = _ask(client, key, "wa-1")
        chroma.start()
        back = _ask(client, key, "wa-2")
        in_memory = app.state.runtime.knowledge_base().vectors_in_memory
        chroma.stop()  # the copy in memory keeps dense retrieval going
        after = _ask(client, key, "wa-3")
        readyz_after = client.get("/readyz")

    assert readyz_down.status_code == 200 and readyz_down.json()["status"] == "degraded"
    assert readyz_down.json()["checks"]["warmup"] == "ok"
    assert _retrieval_modes(caplog) == ["lexical_only", "dense", "dense"]
    assert down["grounded"] and back["grounded"] and after["grounded"]
    assert in_memory
    assert "in-memory copy" in readyz_after.json()["checks"]["chroma"]
