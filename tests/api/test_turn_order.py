"""One turn at a time per conversation on PostgreSQL, across workers: two concurrent posts to one
conversation are processed in order (the second turn sees the first) and each is stored once.

Two apps on one database stand for two workers, each under a real uvicorn. The first turn is held
inside the assistant; a statement hook tells when the second request has reached the
conversation's lock, and only then is the first let go. Without the lock the second turn would
read the conversation before the first was stored.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import event

from agent.assistant import TurnResult
from agent.conversation import Conversation
from api.app import create_app
from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    WAIT,
    EchoKnowledgeAssistant,
    database_url_fixture,
    make_settings,
    postgres_database_fixture,
    running_server,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}
pytestmark = pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)


class FirstTurnHeld(EchoKnowledgeAssistant):
    """Holds its first turn until `release`; records what each turn saw of the conversation."""

    def __init__(self) -> None:
        super().__init__()
        self.entered = threading.Event()
        self.release = threading.Event()
        self._lock = threading.Lock()

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        with self._lock:
            first = not self.entered.is_set()
            self.entered.set()
        if first:
            self.release.wait(WAIT)
        return super().respond(conversation, message, now=now)


def _second_lock_request(*apps: Any) -> threading.Event:
    """Set when a second turn's lock statement goes to the database, on either app's engine (the
    first turn holds the lock by then)."""
    reached = threading.Event()
    seen = 0
    counting = threading.Lock()

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        nonlocal seen
        if "pg_advisory_xact_lock" in statement:
            with counting:
                seen += 1
                if seen >= 2:
                    reached.set()

    for app in apps:
        event.listen(app.state.runtime.db.engine, "before_cursor_execute", before)
    return reached


def _post(base: str, key: str, text: str, message_id: str) -> httpx.Response:
    body = {"text": text, "user_id": "user-1", "channel": "whatsapp", "message_id": message_id}
    return httpx.post(
        f"{base}/v1/conversations/c-order/messages", json=body, headers={"Authorization": f"Bearer {key}"},
        timeout=WAIT * 2,
    )


def _two_workers_race(tmp_path: Path, database_url: str, second: tuple[str, str]) -> dict[str, Any]:
    """Post 'orari?' (m-1) to worker one, hold its turn, post `second` to worker two; release."""
    settings = make_settings(tmp_path, database_url)
    held = FirstTurnHeld()
    other = EchoKnowledgeAssistant()
    one, two = create_app(settings, assistant=held), create_app(settings, assistant=other)
    reached = _second_lock_request(one, two)
    with running_server(one) as base_one, running_server(two) as base_two, ThreadPoolExecutor(2) as pool:
        key = httpx.post(f"{base_one}/v1/keys", json={"role": "channel", "name": "wa"}, headers=ADMIN).json()["key"]
        first = pool.submit(_post, base_one, key, "orari?", "m-1")
        assert held.entered.wait(WAIT)
        later = pool.submit(_post, base_two, key, *second)
        assert reached.wait(WAIT)  # the second turn asks for the lock
        held.release.set()
        responses = [first.result(), later.result()]
        transcript = httpx.get(
            f"{base_one}/v1/conversations/c-order", headers={"Authorization": f"Bearer {key}"}
        ).json()
    return {"responses": responses, "transcript": transcript, "held": held, "other": other}


def test_two_concurrent_posts_to_one_conversation_are_answered_in_order_and_each_stored_once(
    tmp_path: Path, database_url: str
) -> None:
    race = _two_workers_race(tmp_path, database_url, ("e il reso?", "m-2"))

    assert [r.status_code for r in race["responses"]] == [200, 200]
    # The second turn read the conversation after the first was stored.
    seen_by_second = race["other"].seen[0]
    assert [(t.role, t.text) for t in seen_by_second.turns][:1] == [("customer", "orari?")]
    customer = [m["text"] for m in race["transcript"]["messages"] if m["role"] == "customer"]
    assert customer == ["orari?", "e il reso?"]
    assert sum(1 for m in race["transcript"]["messages"] if m["role"] == "bot") == 2


def test_the_same_message_id_posted_to_two_workers_at_once_is_answered_once(
    tmp_path: Path, database_url: str
) -> None:
    race = _two_workers_race(tmp_path, database_url, ("orari?", "m-1"))

    first, second = race["responses"]
    assert (first.status_code, second.status_code) == (200, 200)
    assert second.json() == first.json()
    assert second.headers.get("idempotent-replayed") == "true"
    assert race["held"].calls + race["other"].calls == 1
    assert [m["text"] for m in race["transcript"]["messages"] if m["role"] == "customer"] == ["orari?"]
