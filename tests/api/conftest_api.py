"""Fixtures for the API tests, imported explicitly by tests/test_api_*.py.

Fixture functions carry a `_fixture` suffix and a `name=`, so a test module imports
`service_fixture` and asks for `service` without the import shadowing the parameter.

- `database_url`: every persistence test runs on SQLite (a file in tmp_path) and on PostgreSQL
  (database `test` on 127.0.0.1:5432, one schema per test with a per-session prefix, all dropped
  at the end); the PostgreSQL half is skipped only when nothing answers on that port (under
  CI=true it fails instead).
- `EchoKnowledgeAssistant`: a deterministic stand-in for agent.assistant.Assistant at the
  service boundary (same `respond` protocol, real Reply/Citation/Warning/Handoff objects) so
  these tests exercise the service, not retrieval quality. tests/test_api_end_to_end.py uses
  the real assistant.
- `WebhookReceiver`: a real HTTP server on loopback that verifies Standard Webhooks signatures
  and can be told to fail its first deliveries.
- `running_server`: the app under a real uvicorn on an ephemeral loopback port.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import socket
import struct
import threading
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import psycopg
import pytest
import uvicorn
from fastapi import FastAPI
from fastapi.testclient import TestClient
from standardwebhooks import Webhook, WebhookVerificationError

from agent.assistant import TurnResult
from agent.conversation import Conversation, ConversationUpdate, Turn
from agent.reply import Citation, Handoff, HandoffReason, Reply, Warning
from api.app import create_app
from api.webhooks import DeliveryPolicy
from sportello.settings import Settings

ADMIN_KEY = "sk_test_admin_bootstrap_key"
PG_HOST, PG_PORT, PG_DATABASE = "127.0.0.1", 5432, "test"
# Short delays so retries happen within a test; the logic is the production one.
FAST_DELIVERY = DeliveryPolicy(base_delay=0.02, max_delay=0.2, max_attempts=5, timeout=5.0, poll_interval=0.2)
WAIT = 15.0  # upper bound for waiting on an event from another thread; tests normally wait ms


# --- databases -------------------------------------------------------------------------------
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379
REDIS_URL = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"


def answers(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False


def postgres_answers() -> bool:
    return answers(PG_HOST, PG_PORT)


def require_server(name: str, host: str, port: int) -> None:
    """Skip the test when nothing answers on host:port; fail it instead under CI=true, where the
    server is promised (a missing one must not hide the tests that need it)."""
    if answers(host, port):
        return
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"CI=true but {name} is not answering on {host}:{port}")
    pytest.skip(f"{name} is not answering on {host}:{port}")


def _pg_admin() -> psycopg.Connection:
    return psycopg.connect(host=PG_HOST, port=PG_PORT, user="postgres", dbname=PG_DATABASE, autocommit=True)


@pytest.fixture(scope="session", name="postgres_database")
def postgres_database_fixture() -> Iterator[str]:
    """A schema-name prefix unique to this test session (this xdist worker) in database `test`.

    Each test gets its own schema (see `database_url`); any left behind by an interrupted test
    is dropped here at the end of the session. Schemas rather than databases: DROP DATABASE
    forces a checkpoint, which costs seconds on a busy machine.
    """
    require_server("PostgreSQL", PG_HOST, PG_PORT)
    prefix = f"sportello_{uuid.uuid4().hex[:8]}_"
    yield prefix
    with _pg_admin() as connection:
        leftovers = connection.execute(
            "SELECT nspname FROM pg_namespace WHERE nspname LIKE %s", (prefix + "%",)
        ).fetchall()
        for (schema,) in leftovers:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@contextmanager
def postgres_schema(prefix: str) -> Iterator[str]:
    """A fresh schema named `prefix` + a random suffix; yields a database URL whose search_path is
    that schema (its tables and alembic_version live there); dropped on exit."""
    schema = prefix + uuid.uuid4().hex[:12]
    with _pg_admin() as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    try:
        yield f"postgresql+psycopg://postgres@{PG_HOST}:{PG_PORT}/{PG_DATABASE}?options=-csearch_path%3D{schema}"
    finally:
        with _pg_admin() as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


@pytest.fixture(params=["sqlite", "postgresql"], name="database_url")
def database_url_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'service.db'}"
        return
    with postgres_schema(request.getfixturevalue("postgres_database")) as url:
        yield url


def make_settings(tmp_path: Path, database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "data_dir": tmp_path / "data",
        "database_url": database_url,
        "admin_key": ADMIN_KEY,
        "rate_limit_per_minute": 100_000,
        "rate_limit_per_customer_per_minute": 100_000,
        "auth_failures_per_minute": 100_000,
        "max_body_bytes": 8_000,
        "manifest": None,
        # Off here so /readyz is deterministic; tests/api/test_warmup.py turns it on.
        "warmup": False,
    }
    values.update(overrides)
    return Settings(**values)


# --- the assistant test double ------------------------------------------------------------------
@dataclass(frozen=True)
class _Entry:
    topic: str
    words: frozenset[str]
    answer: dict[str, str]
    citation: Citation
    warnings: tuple[Warning, ...] = ()


_KNOWLEDGE = (
    _Entry(
        "hours",
        frozenset({"orari", "orario", "aperti", "hours", "open"}),
        {"it": "Siamo aperti dal lunedì al sabato, 9–19.", "en": "We are open Monday to Saturday, 9am–7pm."},
        Citation("stores", "https://brand.test/negozi", "Negozi e orari", datetime(2026, 11, 1, tzinfo=UTC)),
    ),
    _Entry(
        "returns",
        frozenset({"reso", "resi", "return", "returns", "refund"}),
        {"it": "Hai 30 giorni per il reso.", "en": "You have 30 days to return an item."},
        Citation("faq", "https://brand.test/faq#resi", "Resi", datetime(2025, 1, 10, tzinfo=UTC), stale=True),
        (Warning("stale", "This policy page was last updated over a year ago.", ["faq"]),),
    ),
)
_NOT_COVERED = frozenset({"mars", "marte"})
_HUMAN = frozenset({"operatore", "persona", "umano", "human", "person", "agent"})
_ITALIAN = frozenset(
    {"il", "la", "di", "che", "sono", "siete", "quali", "gli", "un", "per", "voglio", "ciao", "orari"}
)


class EchoKnowledgeAssistant:
    """Answers from two fixed facts (hours, returns) with citations; hands off when asked for a
    person; otherwise says it does not know (and hands off for lack of an answer, as the agent does,
    when the message is about one of the topics in `_NOT_COVERED`). Records the conversation it was given."""

    def __init__(self) -> None:
        self.seen: list[Conversation] = []
        self.calls = 0

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        self.calls += 1
        focus = dict(conversation.focus)
        self.seen.append(Conversation(conversation.id, list(conversation.turns), dict(conversation.focus)))
        words = set(re.findall(r"\w+", message.lower()))
        lang = "it" if words & _ITALIAN else conversation.focus.get("language", "en")
        entry = next((e for e in _KNOWLEDGE if words & e.words), None)
        if words & _HUMAN:
            reply = Reply(
                text="Ti passo a un collega." if lang == "it" else "I am passing you to a colleague.",
                language=lang,
                grounded=False,
                handoff=Handoff(
                    HandoffReason.HUMAN_REQUESTED, f"Customer asked for a person: {message[:80]}", lang
                ),
                trace={"intent": "human", "composer": "echo", "passages": []},
            )
        elif entry is not None:
            reply = Reply(
                text=entry.answer[lang],
                language=lang,
                grounded=True,
                citations=[entry.citation],
                warnings=list(entry.warnings),
                trace={
                    "intent": entry.topic,
                    "composer": "echo",
                    "passages": [f"{entry.citation.source_id}:0"],
                },
            )
            focus["topic"] = entry.topic
        else:
            reply = Reply(
                text="Non lo so." if lang == "it" else "I do not know.",
                language=lang,
                grounded=False,
                handoff=Handoff(HandoffReason.NO_ANSWER, f"No answer in the sources for: {message[:80]}", lang)
                if words & _NOT_COVERED else None,
                trace={"intent": "unknown", "composer": "echo", "passages": []},
            )
        focus["language"] = lang
        turns = (Turn("customer", message, now), Turn("bot", reply.text, now, grounded=reply.grounded))
        return TurnResult(reply, ConversationUpdate(turns, focus))


# --- a service under test ------------------------------------------------------------------------
class Service:
    """A TestClient on a fresh app, with keys of each role made on demand."""

    def __init__(self, client: TestClient, app: FastAPI, assistant: EchoKnowledgeAssistant | None) -> None:
        self.client = client
        self.app = app
        self.assistant = assistant
        self.admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
        self._keys: dict[tuple[str, str], dict[str, Any]] = {}

    def _issued(self, role: str, name: str | None) -> dict[str, Any]:
        cache = (role, name or role)
        if cache not in self._keys:
            created = self.client.post("/v1/keys", json={"role": role, "name": cache[1]}, headers=self.admin)
            assert created.status_code == 201, created.text
            self._keys[cache] = created.json()
        return self._keys[cache]

    def key(self, role: str, name: str | None = None) -> dict[str, str]:
        """Authorization headers for a key of `role` (one key per role and name)."""
        return {"Authorization": f"Bearer {self._issued(role, name)['key']}"}

    def key_id(self, role: str, name: str | None = None) -> str:
        return self._issued(role, name)["id"]

    def send(self, conversation_id: str, text: str, *, message_id: str | None = None, **extra: Any) -> Any:
        body = {"text": text, "user_id": "user-1", "channel": "whatsapp", **extra}
        if message_id is not None:
            body["message_id"] = message_id
        return self.client.post(
            f"/v1/conversations/{conversation_id}/messages", json=body, headers=self.key("channel")
        )


@pytest.fixture(name="make_service")
def make_service_fixture(tmp_path: Path, database_url: str) -> Iterator[Any]:
    """`make_service(**settings_overrides, assistant=..., delivery=...) -> Service`, closed at teardown."""
    with ExitStack() as stack:

        def build(
            *, assistant: Any = None, delivery: DeliveryPolicy = FAST_DELIVERY, **overrides: Any
        ) -> Service:
            assistant = assistant if assistant is not None else EchoKnowledgeAssistant()
            settings = make_settings(tmp_path, database_url, **overrides)
            app = create_app(settings, assistant=assistant, delivery=delivery)
            client = stack.enter_context(TestClient(app))
            return Service(client, app, assistant)

        yield build


@pytest.fixture(name="service")
def service_fixture(make_service: Any) -> Service:
    return make_service()


# --- real servers on loopback ---------------------------------------------------------------------
@contextmanager
def running_server(app: FastAPI, *, lifespan: str = "on") -> Iterator[str]:
    """Serve `app` with uvicorn on 127.0.0.1 (ephemeral port, lifespan on); yield its base URL.
    `lifespan="off"` serves an app whose lifespan a TestClient already runs.

    The socket is bound and listening before the thread starts, so requests made right away wait
    in the backlog instead of failing: no polling for readiness.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan, access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


@dataclass
class Delivery:
    headers: dict[str, str]
    body: bytes
    status: int

    @property
    def event(self) -> dict[str, Any]:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """Answers `fail_status` (500) to its first `fail_first` requests, then verifies each signature
    with `secret` (204 when valid, 400 when not). Every request is recorded."""

    fail_first: int = 0
    fail_status: int = 500
    secret: str | None = None
    # When given, each request waits for this event before it is answered (a stuck receiver).
    hold: threading.Event | None = None
    # The port to listen on (0: any free one); a fixed one lets a receiver come back where it was.
    port: int = 0
    requests: list[Delivery] = field(default_factory=list)
    arrived: int = 0
    _cond: threading.Condition = field(default_factory=threading.Condition)
    _server: ThreadingHTTPServer | None = None

    @property
    def url(self) -> str:
        assert self._server is not None
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks"

    @property
    def accepted(self) -> list[Delivery]:
        with self._cond:
            return [r for r in self.requests if r.status == 204]

    def start(self) -> WebhookReceiver:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._arrive()
                if receiver.hold is not None:
                    receiver.hold.wait(timeout=2 * WAIT)
                status = receiver._answer(headers, body)
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        ).start()
        return self

    def stop(self) -> None:
        if self.hold is not None:
            self.hold.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()

    def _arrive(self) -> None:
        with self._cond:
            self.arrived += 1
            self._cond.notify_all()

    def wait_arrived(self, count: int, timeout: float = WAIT) -> None:
        with self._cond:
            assert self._cond.wait_for(lambda: self.arrived >= count, timeout), f"only {self.arrived} arrived"

    def wait_requests(self, count: int, timeout: float = WAIT) -> list[Delivery]:
        """Block until `count` requests were answered (whatever the answer); return them all."""
        with self._cond:
            ok = self._cond.wait_for(lambda: len(self.requests) >= count, timeout)
            seen = list(self.requests)
        assert ok, f"expected {count} requests, got {len(seen)}"
        return seen

    def _answer(self, headers: dict[str, str], body: bytes) -> int:
        with self._cond:
            if len(self.requests) < self.fail_first:
                status = self.fail_status
            else:
                try:
                    assert self.secret, "receiver has no secret yet"
                    Webhook(self.secret).verify(body, headers)
                    status = 204
                except WebhookVerificationError:
                    status = 400
            self.requests.append(Delivery(headers, body, status))
            self._cond.notify_all()
            return status

    def wait_for(self, count: int, timeout: float = WAIT) -> list[Delivery]:
        """Block until `count` deliveries were accepted; return them."""
        with self._cond:
            ok = self._cond.wait_for(lambda: sum(r.status == 204 for r in self.requests) >= count, timeout)
            accepted = [r for r in self.requests if r.status == 204]
        assert ok, (
            f"expected {count} accepted deliveries, got {len(accepted)}: {[r.status for r in self.requests]}"
        )
        return accepted


# --- an embeddings endpoint ------------------------------------------------------------------------
EMBEDDING_DIMENSIONS = 64


def hashed_embedding(text: str) -> list[float]:
    """Deterministic bag-of-words vector: each word adds 1 to a hashed dimension, L2-normalized."""
    vector = [0.0] * EMBEDDING_DIMENSIONS
    for word in re.findall(r"\w+", text.lower()):
        vector[int(hashlib.blake2b(word.encode(), digest_size=4).hexdigest(), 16) % EMBEDDING_DIMENSIONS] += (
            1.0
        )
    norm = sum(v * v for v in vector) ** 0.5 or 1.0
    return [v / norm for v in vector]


def embeddings_app() -> FastAPI:
    """An OpenAI-compatible /v1/embeddings endpoint (what SPORTELLO_EMBEDDING_BASE_URL points at),
    fast and deterministic, so knowledge routes are tested without loading the bundled model."""
    app = FastAPI()

    @app.post("/v1/embeddings")
    async def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
        data = []
        for index, text in enumerate(texts):
            vector = hashed_embedding(text)
            if body.get("encoding_format") == "base64":  # the openai client asks for this by default
                encoded: Any = base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode()
            else:
                encoded = vector
            data.append({"object": "embedding", "index": index, "embedding": encoded})
        usage = {"prompt_tokens": 1, "total_tokens": 1}
        return {"object": "list", "data": data, "model": body.get("model", "hashed"), "usage": usage}

    return app


@pytest.fixture(scope="session", name="embedding_url")
def embedding_url_fixture() -> Iterator[str]:
    with running_server(embeddings_app()) as base:
        yield f"{base}/v1"


@pytest.fixture(name="receiver")
def receiver_fixture() -> Iterator[WebhookReceiver]:
    hook = WebhookReceiver().start()
    yield hook
    hook.stop()
