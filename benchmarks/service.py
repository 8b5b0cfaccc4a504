"""The service under test, as the processes production runs: `sportello serve` (one or more
workers) on a loopback port, a `chroma run` server, a fresh PostgreSQL database, and `sportello
sync` into them. Shared by the fault drills (benchmarks/drills), the load benchmark
(benchmarks/load) and the tests that need a real Chroma server (tests/conftest.py)."""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parents[1]
DEMO_BRAND = ROOT / "examples" / "demo-brand"
ADMIN_KEY = "sk_drill_admin_bootstrap_key"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    """Poll `predicate` (another process's state: nothing to wait on but polling) until true.
    An exception from it counts as "not yet"; a fact that should stop the wait must be checked
    outside it (see ServiceProcess.start)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(step)
    return False


@dataclass
class ServiceProcess:
    """`sportello serve --workers N` as a subprocess; its log goes to `log_path`. It runs in a
    process group of its own, so `stop()` leaves no worker behind even when the supervisor does
    not stop them."""

    env: dict[str, str]
    log_path: Path
    port: int = field(default_factory=free_port)
    workers: int = 1
    process: subprocess.Popen[bytes] | None = None
    starts: int = 0

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 180.0) -> float:
        """Start and wait until /readyz says ready; return the seconds it took. With several
        workers, each answers /readyz for itself (a kernel-balanced accept picks one per
        connection): ready means `5 × workers` fresh connections in a row were answered 200."""
        started = time.monotonic()
        log = self.log_path.open("ab")
        log.write(f"\n--- start {self.starts} ---\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [str(BIN / "sportello"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        self.starts += 1
        try:
            self._wait_ready(timeout)
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - started

    def _wait_ready(self, timeout: float) -> None:
        assert self.process is not None
        deadline = time.monotonic() + timeout
        in_a_row = 0
        while in_a_row < 5 * self.workers:
            try:
                ok = httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200
            except httpx.HTTPError:
                ok = False
            if ok:
                in_a_row += 1
                continue
            in_a_row = 0
            if self.process.poll() is not None:
                raise RuntimeError(f"sportello serve exited with {self.process.returncode}; see {self.log_path}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"sportello serve not ready after {timeout} s; see {self.log_path}")
            time.sleep(0.2)  # another process starting: nothing to wait on but its answer

    def worker_pids(self) -> list[int]:
        """The uvicorn worker processes (children of the supervisor with several workers; the
        process itself with one)."""
        assert self.process is not None
        if self.workers == 1:
            return [self.process.pid]
        children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
        return [int(p) for p in children.read_text().split()] if children.exists() else []

    def kill9(self) -> None:
        assert self.process is not None
        os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)

    def stop(self) -> None:
        """SIGTERM (uvicorn stops its workers and waits for them), then SIGKILL to whatever of the
        process group is left: a worker orphaned by a killed supervisor, or one that hung."""
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill9()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)

    def log_text(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")


def service_env(
    data_dir: Path, manifest: Path, database_url: str, *, admin_key: str = ADMIN_KEY, **settings: str
) -> dict[str, str]:
    """The service's SPORTELLO_* variables (none inherited): the bundled embedder and the offline
    composer, limits that never throttle a benchmark's single channel key, and `settings` as
    more variables (`chroma_url="http://…"` is SPORTELLO_CHROMA_URL)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update({
        "SPORTELLO_DATA_DIR": str(data_dir),
        "SPORTELLO_MANIFEST": str(manifest),
        "SPORTELLO_DATABASE_URL": database_url,
        "SPORTELLO_ADMIN_KEY": admin_key,
        "SPORTELLO_RATE_LIMIT_PER_MINUTE": "1000000",
        "SPORTELLO_RATE_LIMIT_PER_CUSTOMER_PER_MINUTE": "1000000",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    env.update({f"SPORTELLO_{name.upper()}": value for name, value in settings.items()})
    return env


def sync(env: dict[str, str], manifest: Path) -> None:
    """`sportello sync MANIFEST` with the service's variables (its Chroma server, its database)."""
    subprocess.run([str(BIN / "sportello"), "sync", str(manifest)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip


class ChromaServer:
    """`chroma run` on a free loopback port, storing in `path`. `stop()` then `start()` again keeps
    the port and the data: a Chroma restart, as a worker sees it."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> ChromaServer:
        binary = shutil.which("chroma") or str(BIN / "chroma")
        self.process = subprocess.Popen(
            [binary, "run", "--path", str(self.path), "--host", "127.0.0.1", "--port", str(self.port)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
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
        try:
            return httpx.get(f"{self.url}/api/v2/heartbeat", timeout=1.0).status_code == 200
        except httpx.HTTPError:
            return False


@contextlib.contextmanager
def running_chroma(path: Path) -> Iterator[str]:
    """`chroma run` storing in `path` on a free loopback port; yields its URL; stopped on exit."""
    server = ChromaServer(path).start()
    try:
        yield server.url
    finally:
        server.stop()


@contextlib.contextmanager
def fresh_postgres_database(server_url: str, prefix: str = "sportello_bench") -> Iterator[str]:
    """A new database with a unique name on the PostgreSQL at `server_url` (any database there
    to connect to, e.g. `postgresql+psycopg://postgres@127.0.0.1:5432/postgres`); yields its URL;
    dropped on exit, with whatever connections are still open to it."""
    name = f"{prefix}_{secrets.token_hex(4)}"
    admin = create_engine(server_url, isolation_level="AUTOCOMMIT")
    with admin.connect() as db:
        db.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(server_url).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as db:
            db.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()
