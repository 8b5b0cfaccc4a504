"""`sportello serve`'s limits on clients (`connection_limits`), under a real uvicorn on loopback:
the header cap (SPORTELLO_MAX_HEADER_BYTES) and the connections per worker
(SPORTELLO_LIMIT_CONCURRENCY, 503 past it)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import uvicorn

from api.app import create_app
from sportello.cli.service import connection_limits
from sportello.settings import Settings
from tests.api.conftest_api import WAIT, EchoKnowledgeAssistant, make_settings


@contextmanager
def serving(settings: Settings) -> Iterator[int]:
    """The app under uvicorn with the options `sportello serve` passes; yields the port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    app = create_app(settings, assistant=EchoKnowledgeAssistant())
    config = uvicorn.Config(app, log_level="warning", lifespan="on", access_log=False, **connection_limits(settings))
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield sock.getsockname()[1]
    finally:
        server.should_exit = True
        thread.join(timeout=WAIT)
        sock.close()


def _get(connection: socket.socket, extra_headers: str = "", *, finished: bool = True) -> int:
    """One GET /healthz on an open connection (kept alive); the status code. `finished=False`
    leaves the headers unterminated, as a slow client does that keeps sending header bytes."""
    end = "\r\n" if finished else ""
    connection.sendall(f"GET /healthz HTTP/1.1\r\nHost: test\r\n{extra_headers}{end}".encode())
    return _status(connection)


def _status(connection: socket.socket) -> int:
    received = b""
    while b"\r\n\r\n" not in received:
        chunk = connection.recv(65536)
        if not chunk:
            break
        received += chunk
    return int(received.split(b" ", 2)[1])


def _settings(tmp_path: Path, **overrides: object) -> Settings:
    # A long keep-alive, so the idle connection below stays open whatever the machine's load.
    values: dict[str, object] = {"keep_alive_seconds": 600, **overrides}
    return make_settings(tmp_path, f"sqlite:///{tmp_path / 'service.db'}", **values)


def test_unfinished_headers_past_the_cap_are_refused_with_400_and_normal_ones_pass(tmp_path: Path) -> None:
    with serving(_settings(tmp_path, max_header_bytes=4_096)) as port:
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as normal:
            fine = _get(normal, "X-Note: short\r\n")
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as growing:
            refused = _get(growing, f"X-Note: {'a' * 8_000}\r\n", finished=False)

    assert (fine, refused) == (200, 400)


def test_past_the_connection_limit_a_worker_answers_503_instead_of_queueing(tmp_path: Path) -> None:
    with serving(_settings(tmp_path, limit_concurrency=2)) as port, socket.create_connection(
        ("127.0.0.1", port), timeout=WAIT
    ) as idle:
        first = _get(idle)  # answered, then held open: one of the two connections
        with socket.create_connection(("127.0.0.1", port), timeout=WAIT) as second:
            refused = _get(second)

    assert (first, refused) == (200, 503)
