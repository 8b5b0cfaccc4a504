"""The production shape as a fixture: `sportello serve --workers 2` on PostgreSQL with a `chroma run`
server and Redis, the demo brand synced into that server; and the behaviour tests' service in both
shapes, so one test body runs on each.

- `two_workers_pg_chroma` (session, tests/conftest.py, started by `running_deployment`): a real Chroma server (tests/conftest.py `ChromaServer`), a
  fresh PostgreSQL schema (`postgres_schema`), a copy of the demo brand synced into the server on
  the demo clock, and `sportello serve --workers 2` (benchmarks/drills/harness.py `ServiceProcess`,
  in a process group of its own: stopped at the end of the session, nothing left behind) on a free
  loopback port with SPORTELLO_DATABASE_URL, SPORTELLO_CHROMA_URL, SPORTELLO_REDIS_URL and an admin
  key, ready when /readyz says so (warm-up on, as in production). Its tests carry the xdist group
  `two_workers_pg_chroma` (`--dist loadgroup`), so one pytest worker starts it once.
- `two_workers`: the same deployment for one test, reset first to what a fresh app offers (no
  open handoff, no webhook subscription), since the session shares it.
- `demo_service`: the base URL of the service with the real assistant on the demo brand,
  parametrized over `in_process` (the app under uvicorn in this process, SQLite, embedded Chroma,
  `get_now` overridden to the demo clock) and `two_workers_pg_chroma`.

The workers answer on the demo clock as the in-process app does: `deployment_clock/sitecustomize.py`
gives each worker's app the same `get_now` override (see there).
"""

from __future__ import annotations

import os
import re
import uuid
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest
import redis
from cryptography.fernet import Fernet

from api.app import create_app
from api.deps import get_now
from benchmarks.drills.harness import copy_demo_brand
from benchmarks.service import ServiceProcess, service_env
from tests.api.conftest_api import (
    ADMIN_KEY,
    FAST_DELIVERY,
    PG_HOST,
    PG_PORT,
    REDIS_HOST,
    REDIS_PORT,
    REDIS_URL,
    make_settings,
    postgres_schema,
    require_server,
    running_server,
)
from tests.conftest import DEMO_MANIFEST, DEMO_NOW, ChromaServer

TWO_WORKERS = "two_workers_pg_chroma"
# Every test on the deployment runs in one pytest worker, which starts it once (`--dist loadgroup`).
ON_TWO_WORKERS = pytest.mark.xdist_group(TWO_WORKERS)
CLOCK_DIR = Path(__file__).parent / "deployment_clock"
ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


class KnownPassages:
    """The session's embedder, answering passages whose vectors the session's demo index already
    holds (the same model's output for the same text) from that index: the deployment's sync reads,
    chunks, calibrates and indexes like any sync, and skips only the embedding it would repeat."""

    def __init__(self, model: Any, known: dict[str, np.ndarray]) -> None:
        self.model = model
        self.name = model.name
        self.known = known

    @classmethod
    def from_index(cls, model: Any, data_dir: Path) -> KnownPassages:
        from knowledge.index import Catalog, ChunkIndex, chroma_client
        from knowledge.sync import same_text_key

        catalog = Catalog(data_dir)
        index = ChunkIndex(chroma_client(data_dir), str(catalog.meta("active_collection")), create=False)
        ids, vectors = index.all_embeddings()
        text_of = {chunk.chunk_id: chunk.text for chunk in catalog.chunks()}
        return cls(model, {same_text_key(text_of[i]): v for i, v in zip(ids, vectors, strict=True)})

    def embed_passages(self, texts: list[str]) -> np.ndarray:
        from knowledge.sync import same_text_key

        missing = [t for t in texts if same_text_key(t) not in self.known]
        if missing:
            self.known.update(zip(map(same_text_key, missing), self.model.embed_passages(missing), strict=True))
        return np.vstack([self.known[same_text_key(t)] for t in texts])

    def embed_query(self, text: str) -> np.ndarray:
        return np.asarray(self.model.embed_query(text))


@dataclass
class Deployment:
    service: ServiceProcess
    manifest: Path  # the deployment's own copy of the demo brand (a test may edit and sync it)
    database_url: str
    chroma_url: str
    data_dir: Path
    _keys: dict[str, str] = field(default_factory=dict)

    @property
    def base(self) -> str:
        return self.service.base

    def client(self, **options: Any) -> httpx.Client:
        """A client of its own (its own connections): connections are what uvicorn hands out to
        its workers, so fresh clients may reach either worker."""
        return httpx.Client(base_url=self.base, timeout=60, **options)

    def key(self, role: str) -> dict[str, str]:
        """Authorization headers for a key of `role`, made once per session."""
        if role not in self._keys:
            with self.client() as http:
                created = http.post("/v1/keys", json={"role": role, "name": f"deployment-{role}"}, headers=ADMIN)
            assert created.status_code == 201, created.text
            self._keys[role] = created.json()["key"]
        return {"Authorization": f"Bearer {self._keys[role]}"}

    def workers(self) -> list[int]:
        """The pids of the uvicorn workers (the supervisor's children that listen on the port)."""
        assert self.service.process is not None
        supervisor = self.service.process.pid
        children = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue  # gone meanwhile
            if int(fields[1]) == supervisor:
                children.append(int(stat.parent.name))
        return [pid for pid in children if _listens(pid, self.service.port)]

    def reset(self) -> None:
        """What a fresh app offers a test: no open handoff, no webhook subscription. Fails with the
        log's tail when the service has stopped."""
        assert self.service.process is not None
        if self.service.process.poll() is not None:
            pytest.fail(f"the deployment stopped:\n{self.service.log_text()[-3000:]}")
        with self.client() as http:
            hooks = http.get("/v1/webhooks", headers=ADMIN)
            assert hooks.status_code == 200, hooks.text
            for hook in hooks.json():
                assert http.delete(f"/v1/webhooks/{hook['id']}", headers=ADMIN).status_code == 204
            while items := http.get("/v1/handoffs", params={"status": "open"}, headers=ADMIN).json()["items"]:
                for handoff in items:
                    http.post(f"/v1/handoffs/{handoff['id']}/claim", headers=ADMIN).raise_for_status()
                    http.post(f"/v1/handoffs/{handoff['id']}/resolve", headers=ADMIN).raise_for_status()


def _listens(pid: int, port: int) -> bool:
    """Whether process `pid` holds the listening socket of `port` (a uvicorn worker does)."""
    listening = {inode for inode, local, _remote in _tcp_sockets() if local == port and _remote == 0}
    return bool(listening & _socket_inodes(pid))


def _tcp_sockets() -> list[tuple[str, int, int]]:
    """(inode, local port, remote port) of every IPv4 TCP socket on the machine (/proc/net/tcp)."""
    rows = []
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        fields = line.split()
        rows.append((fields[9], int(fields[1].split(":")[1], 16), int(fields[2].split(":")[1], 16)))
    return rows


def _socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            found = re.fullmatch(r"socket:\[(\d+)\]", os.readlink(fd))
        except OSError:
            continue
        if found:
            inodes.add(found.group(1))
    return inodes


def worker_serving(deployment: Deployment, client_port: int) -> int:
    """The pid of the worker holding the server side of the connection from `client_port`."""
    server_ends = {inode for inode, local, remote in _tcp_sockets() if remote == client_port and local == deployment.service.port}
    for pid in deployment.workers():
        if server_ends & _socket_inodes(pid):
            return pid
    raise AssertionError(f"no worker holds the connection from port {client_port}")


@contextmanager
def running_deployment(folder: Path, demo_data_dir: Path, embedder: Any) -> Iterator[Deployment]:
    """The deployment in `folder`, stopped and cleaned up on exit (the session fixture
    `two_workers_pg_chroma` in tests/conftest.py: defined there once, it starts once however many
    test modules use it, where a fixture imported into each module would start once per module)."""
    from knowledge.sources import load_manifest
    from knowledge.sync import sync_manifest

    require_server("PostgreSQL", PG_HOST, PG_PORT)
    require_server("Redis", REDIS_HOST, REDIS_PORT)
    manifest = copy_demo_brand(folder)
    data_dir = folder / "data"
    redis_prefix = f"sportello-test-{uuid.uuid4().hex[:12]}"
    with ExitStack() as stack:
        chroma = ChromaServer(folder / "chroma").start()
        stack.callback(chroma.stop)
        database_url = stack.enter_context(postgres_schema(f"sportello_two_workers_{uuid.uuid4().hex[:8]}_"))
        stack.callback(_delete_redis_keys, redis_prefix)
        # The demo clock, as `demo_data_dir` was synced: the dates a sync gives content follow it.
        sync_manifest(
            load_manifest(manifest), data_dir=data_dir, chroma_url=chroma.url,
            embedder=KnownPassages.from_index(embedder, demo_data_dir), now=DEMO_NOW,
        )  # fmt: skip
        env = service_env(data_dir, manifest, database_url) | {
            "SPORTELLO_ADMIN_KEY": ADMIN_KEY,
            "SPORTELLO_CHROMA_URL": chroma.url,
            "SPORTELLO_REDIS_URL": REDIS_URL,
            "SPORTELLO_REDIS_PREFIX": redis_prefix,
            "SPORTELLO_SECRET_KEY": Fernet.generate_key().decode(),  # one value on every worker
            "SPORTELLO_AUTH_FAILURES_PER_MINUTE": "1000000",
            "PYTHONPATH": str(CLOCK_DIR),
            "SPORTELLO_TESTS_CLOCK": DEMO_NOW.isoformat(),
        }
        service = ServiceProcess(env, folder / "serve.log", workers=2)
        stack.callback(service.stop)
        service.start()
        deployment = Deployment(service, manifest, database_url, chroma.url, data_dir)
        assert len(deployment.workers()) == 2, service.log_text()[-3000:]
        yield deployment


def _delete_redis_keys(prefix: str) -> None:
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(f"{prefix}:*"):
        client.delete(key)


@pytest.fixture(name="two_workers")
def two_workers_fixture(two_workers_pg_chroma: Deployment) -> Deployment:
    two_workers_pg_chroma.reset()
    return two_workers_pg_chroma


def in_process_demo_app(tmp_path: Path, demo_data_dir: Path) -> Any:
    """The service with the real assistant on the session's demo index, SQLite, the demo clock."""
    settings = make_settings(
        tmp_path, f"sqlite:///{tmp_path / 'service.db'}", data_dir=demo_data_dir, manifest=DEMO_MANIFEST
    )
    app = create_app(settings, delivery=FAST_DELIVERY)  # no assistant given: the real one is built
    # The demo content is dated against a reference clock; the service reads time through get_now.
    app.dependency_overrides[get_now] = lambda: DEMO_NOW
    return app


@pytest.fixture(name="demo_service", params=["in_process", pytest.param(TWO_WORKERS, marks=ON_TWO_WORKERS)])
def demo_service_fixture(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """The base URL of the service on the demo brand, in one process or on the deployment."""
    if request.param == "in_process":
        with running_server(in_process_demo_app(tmp_path, request.getfixturevalue("demo_data_dir"))) as base:
            yield base
    else:
        yield request.getfixturevalue("two_workers").base
