"""What every drill stands on: the real `sportello serve` as a subprocess on a loopback port, a
loopback LLM endpoint and feed server that can hold requests (so a turn or a sync is caught half-way), a
webhook receiver that counts deliveries by `webhook-id`, a private PostgreSQL cluster, load that
retries like a channel does, and the checks that nothing acknowledged was lost or doubled."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import create_engine, text

ROOT = Path(__file__).resolve().parents[2]
DEMO_BRAND = ROOT / "examples" / "demo-brand"
ADMIN_KEY = "sk_drill_admin_bootstrap_key"
BIN = Path(sys.executable).parent


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until(predicate: Any, timeout: float, step: float = 0.1) -> bool:
    """Poll `predicate` (another process's state: nothing to wait on but polling) until true."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(Exception):
            if predicate():
                return True
        time.sleep(step)
    return False


# --- loopback servers -------------------------------------------------------------------------
class _Server:
    def __init__(self, handler: type[BaseHTTPRequestHandler], port: int = 0) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", port), handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Gate:
    """While `holding`, a request waits (up to a minute) and `arrived` is set: a turn or a sync
    is caught in the middle, where a kill -9 hurts most."""

    def __init__(self) -> None:
        self.holding = False
        self.arrived = threading.Event()
        self.release = threading.Event()

    def pass_through(self) -> None:
        if self.holding:
            self.arrived.set()
            self.release.wait(60)

    def hold(self) -> None:
        self.arrived.clear()
        self.release.clear()
        self.holding = True

    def let_go(self) -> None:
        self.holding = False
        self.release.set()


class LLMEndpoint(_Server):
    """An OpenAI-compatible chat endpoint (SPORTELLO_LLM_BASE_URL) that answers with a sentence
    citing passage [1]; `gate` holds it, and with it the turn that asked."""

    def __init__(self) -> None:
        self.gate = _Gate()
        gate = self.gate

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                gate.pass_through()
                message = {"role": "assistant", "content": "Ecco cosa dicono le nostre pagine [1]."}
                answer = json.dumps({
                    "id": "chatcmpl-drill", "object": "chat.completion", "created": int(time.time()),
                    "model": body.get("model", "drill"),
                    "choices": [{"index": 0, "finish_reason": "stop", "message": message}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
                }).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                with contextlib.suppress(OSError):  # the caller may have been killed meanwhile
                    self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/v1"


class FeedServer(_Server):
    """Serves the files of `folder` over HTTP (a source's `url:`); `gate` holds a sync's fetch."""

    def __init__(self, folder: Path) -> None:
        self.gate = _Gate()
        gate = self.gate

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802 (http.server's naming)
                gate.pass_through()
                path = folder / self.path.lstrip("/").split("?")[0]
                if not path.is_file():
                    self.send_error(404)
                    return
                body = path.read_bytes()
                self.send_response(200)
                self.send_header("content-type", "text/csv; charset=utf-8")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"


class Receiver(_Server):
    """A webhook receiver: 204 to every POST, each `webhook-id` counted."""

    def __init__(self) -> None:
        self.ids: list[str] = []
        self.types: dict[str, str] = {}
        self._lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                with receiver._lock:
                    receiver.ids.append(self.headers["webhook-id"])
                    receiver.types[self.headers["webhook-id"]] = json.loads(body)["type"]
                self.send_response(204)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        super().__init__(Handler)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hooks"

    def counts(self) -> Counter[str]:
        with self._lock:
            return Counter(self.ids)


# --- a private PostgreSQL ------------------------------------------------------------------------
def _pg_bin(name: str) -> str:
    found = sorted(Path("/usr/lib/postgresql").glob(f"*/bin/{name}"))
    if found:
        return str(found[-1])
    which = shutil.which(name)
    if which is None:
        raise RuntimeError(f"{name} not found (PostgreSQL server binaries: apt-get install postgresql)")
    return which


class PrivatePostgres:
    """A PostgreSQL cluster of the drill's own: temp data dir, a free port, trust auth. initdb
    refuses to run as root, so as root it runs as the `postgres` user."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="sportello-drill-pg-"))
        self.port = free_port()
        self._as: list[str] = []
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        self._run(_pg_bin("initdb"), "-D", str(self.dir / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        (self.dir / "data" / "postgresql.conf").open("a").write(
            f"port = {self.port}\nlisten_addresses = '127.0.0.1'\nunix_socket_directories = '{self.dir}'\n"
            "fsync = on\nmax_connections = 100\n"
        )

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres?connect_timeout=3"

    def _run(self, *args: str) -> None:
        subprocess.run([*self._as, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def start(self) -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-l", str(self.dir / "log"), "-w", "start")

    def stop(self, mode: str = "fast") -> None:
        self._run(_pg_bin("pg_ctl"), "-D", str(self.dir / "data"), "-m", mode, "-w", "stop")

    def destroy(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.stop("immediate")
        shutil.rmtree(self.dir, ignore_errors=True)


# --- the brand and the service --------------------------------------------------------------------
def copy_demo_brand(folder: Path, feeds: FeedServer | None = None) -> Path:
    """The demo brand in `folder`; with `feeds`, its FAQ is read from that server (url:), so a
    sync can be held while it fetches."""
    shutil.copytree(DEMO_BRAND, folder / "brand")
    manifest = folder / "brand" / "sources.yaml"
    if feeds is not None:
        text_ = manifest.read_text(encoding="utf-8")
        manifest.write_text(text_.replace("    path: faq.csv\n", f"    url: {feeds.url('faq.csv')}\n"), encoding="utf-8")
    return manifest


def edit_every_faq_answer(brand: Path, words: str) -> None:
    """Append `words` to every FAQ answer, so the next sync embeds each entry again."""
    lines = (brand / "faq.csv").read_text(encoding="utf-8").splitlines()
    edited = [lines[0]] + [re.sub(r'^([^,]+,"[^"]*)"', rf'\1 {words}"', line) for line in lines[1:]]
    (brand / "faq.csv").write_text("\n".join(edited) + "\n", encoding="utf-8")


@dataclass
class ServiceProcess:
    """`sportello serve` as a subprocess (`workers` uvicorn worker processes under one supervisor
    when more than one); its log goes to `log_path`. It runs in a process group of its own, so
    `stop()` leaves no worker behind even when the supervisor does not stop them."""

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
        """Start and wait until /readyz says ready; return the seconds it took."""
        started = time.monotonic()
        log = self.log_path.open("ab")
        log.write(f"\n--- start {self.starts} ---\n".encode())
        log.flush()
        self.process = subprocess.Popen(
            [str(BIN / "sportello"), "serve", "--host", "127.0.0.1", "--port", str(self.port),
             "--workers", str(self.workers)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        self.starts += 1

        def ready() -> bool:
            assert self.process is not None
            if self.process.poll() is not None:
                raise RuntimeError(f"sportello serve exited with {self.process.returncode}; see {self.log_path}")
            return httpx.get(f"{self.base}/readyz", timeout=2).status_code == 200

        try:
            if not wait_until(ready, timeout, step=0.2):
                raise RuntimeError(f"sportello serve not ready after {timeout} s; see {self.log_path}")
        except BaseException:
            self.stop()
            raise
        return time.monotonic() - started

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


def service_env(data_dir: Path, manifest: Path, database_url: str, llm: LLMEndpoint | None = None) -> dict[str, str]:
    """The service's SPORTELLO_* variables: the bundled embedder, the offline composer unless
    `llm` is given (then the LLM composer, which a drill can hold mid-turn)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SPORTELLO_")}
    env.update({
        "SPORTELLO_DATA_DIR": str(data_dir),
        "SPORTELLO_MANIFEST": str(manifest),
        "SPORTELLO_DATABASE_URL": database_url,
        "SPORTELLO_ADMIN_KEY": ADMIN_KEY,
        "SPORTELLO_RATE_LIMIT_PER_MINUTE": "1000000",
        "SPORTELLO_RATE_LIMIT_PER_CUSTOMER_PER_MINUTE": "1000000",
        "NO_PROXY": "127.0.0.1,localhost",
    })
    if llm is not None:
        env.update({"SPORTELLO_LLM_BASE_URL": llm.url, "SPORTELLO_LLM_MODEL": "drill", "OPENAI_API_KEY": "not-needed"})
    return env


def sync(env: dict[str, str], manifest: Path) -> None:
    subprocess.run([str(BIN / "sportello"), "sync", str(manifest)], env=env, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@dataclass
class Keys:
    channel: dict[str, str]
    content: dict[str, str]
    admin: dict[str, str]
    webhook_id: str


def provision(base: str, receiver: Receiver) -> Keys:
    """A channel and a content key, and a subscription to every event the drills produce."""
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    with httpx.Client(base_url=base, timeout=30) as client:
        keys = {
            role: client.post("/v1/keys", json={"role": role, "name": f"drill-{role}"}, headers=admin).json()["key"]
            for role in ("channel", "content")
        }
        hook = client.post("/v1/webhooks", json={
            "url": receiver.url,
            "events": ["message.received", "reply.sent", "handoff.requested", "knowledge.issue_found"],
        }, headers=admin)
        hook.raise_for_status()
    return Keys({"Authorization": f"Bearer {keys['channel']}"}, {"Authorization": f"Bearer {keys['content']}"},
                admin, hook.json()["id"])


# --- customers ------------------------------------------------------------------------------
# Questions the offline composer answers from one passage ("extractive"): in LLM mode, those are
# the turns that call the model, so the drill can hold one there.
QUESTIONS = (
    "Cosa copre la garanzia? Caso {n}",
    "Quali metodi di pagamento accettate? Caso {n}",
    "Vendete carte regalo? Caso {n}",
    "Come funziona il Click & Collect? Caso {n}",
)


@dataclass
class Outcome:
    """What the customers' side saw: acknowledged message ids, every status with its time."""

    acked: dict[str, str] = field(default_factory=dict)  # message_id -> conversation_id
    sent: dict[str, str] = field(default_factory=dict)  # message_id -> text, every message tried
    statuses: list[tuple[float, int | str, bool]] = field(default_factory=list)  # (t, status, retry_after)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def seen(self, status: int | str, retry_after: bool) -> None:
        with self.lock:
            self.statuses.append((time.monotonic(), status, retry_after))

    def counts(self) -> dict[str, int]:
        return dict(Counter(str(s) for _, s, _ in self.statuses))


def send(client: httpx.Client, keys: Keys, outcome: Outcome, conversation_id: str, message_id: str, text_: str,
         *, timeout: float = 30.0) -> int | str:
    """One POST of a customer message; records what came back ("refused" when no answer came)."""
    outcome.sent[message_id] = text_
    try:
        response = client.post(
            f"/v1/conversations/{conversation_id}/messages",
            json={"text": text_, "user_id": f"u-{conversation_id}", "channel": "web", "message_id": message_id},
            headers=keys.channel, timeout=timeout,
        )
    except httpx.HTTPError:
        outcome.seen("refused", False)
        return "refused"
    problem = response.headers.get("content-type") == "application/problem+json"
    outcome.seen(response.status_code, "retry-after" in response.headers and problem)
    if response.status_code in (200, 201):
        with outcome.lock:
            outcome.acked[message_id] = conversation_id
    return response.status_code


def customer_text(n: int) -> str:
    return QUESTIONS[n % len(QUESTIONS)].format(n=n) + f" (rif. DRILL-{n:05d})"


# --- checks -----------------------------------------------------------------------------------
def ledger(database_url: str, outcome: Outcome) -> dict[str, Any]:
    """What the database holds against what the customers were told: lost = acknowledged and not
    stored; doubled = stored (or answered, or announced) more than once; half = a customer message
    stored without its reply or its message.received event."""
    engine = create_engine(database_url.replace("?connect_timeout=3", ""))
    with engine.connect() as db:
        customer = Counter(r[0] for r in db.execute(text(
            "SELECT message_id FROM messages WHERE role = 'customer'")))
        responses = {r[0]: r[1] for r in db.execute(text(
            "SELECT message_id, response FROM messages WHERE role = 'customer'"))}
        bots = db.execute(text("SELECT conversation_id, count(*) FROM messages WHERE role = 'bot' GROUP BY 1")).all()
        events = db.execute(text("SELECT id, event_type, payload, status FROM webhook_deliveries")).all()
        customers_per_conversation: Counter[str] = Counter()
        for message_id, conversation_id in db.execute(text(
                "SELECT message_id, conversation_id FROM messages WHERE role = 'customer'")):
            if _answered(responses.get(message_id)):
                customers_per_conversation[conversation_id] += 1
    engine.dispose()
    received: Counter[str] = Counter()
    replies: Counter[str] = Counter()
    for _id, event_type, payload, _status in events:
        data = json.loads(payload)["data"]
        if event_type == "message.received":
            received[data["message_id"]] += 1
        elif event_type == "reply.sent":
            replies[data["in_reply_to"]] += 1
    answered_by_bot = {m for m, r in responses.items() if _answered(r)}
    return {
        "acknowledged": len(outcome.acked),
        "lost": sorted(m for m in outcome.acked if customer[m] == 0),
        "doubled": sorted(m for m, n in customer.items() if n > 1),
        "replies_doubled": sorted(m for m, n in replies.items() if n > 1),
        "events_doubled": sorted(m for m, n in received.items() if n > 1),
        "half_stored": sorted(m for m in customer if received[m] != 1 or (m in answered_by_bot and replies[m] != 1)),
        "unanswered": sum(customers_per_conversation.values()) - sum(n for _, n in bots),
        "outbox": dict(Counter(status for *_, status in events)),
        "outbox_ids": {row[0] for row in events},
    }


def _answered(response: Any) -> bool:
    if isinstance(response, str):
        response = json.loads(response)
    return bool(response) and response.get("reply") is not None


def deliveries(receiver: Receiver, outbox_ids: set[str]) -> dict[str, Any]:
    """Every outbox row against the receiver's count of its `webhook-id`."""
    counts = receiver.counts()
    return {
        "events": len(outbox_ids),
        "delivered_once": sum(1 for i in outbox_ids if counts[i] == 1),
        "missing": sorted(i for i in outbox_ids if counts[i] == 0),
        "duplicated": sorted(i for i, n in counts.items() if n > 1),
    }


def drain(database_url: str, timeout: float) -> bool:
    """Wait until no delivery is pending (a row leased by a killed process comes back after its
    60 s lease)."""
    engine = create_engine(database_url.replace("?connect_timeout=3", ""))
    try:
        def empty() -> bool:
            with engine.connect() as db:
                return not db.execute(text("SELECT 1 FROM webhook_deliveries WHERE status = 'pending' LIMIT 1")).first()
        return wait_until(empty, timeout, step=0.5)
    finally:
        engine.dispose()


def log_findings(log: str, outcome: Outcome) -> dict[str, int]:
    """Tracebacks in the service's log, and customer text found in it (it should hold ids only)."""
    leaked = sum(1 for t in outcome.sent.values() if t.split(" (rif. ")[-1].rstrip(")") in log)
    return {"tracebacks": log.count("Traceback (most recent call last)"), "customer_text_in_log": leaked}


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:10]}"


@contextlib.contextmanager
def workspace(name: str) -> Iterator[Path]:
    folder = Path(tempfile.mkdtemp(prefix=f"sportello-drill-{name}-"))
    try:
        yield folder
    finally:
        if not os.environ.get("SPORTELLO_DRILL_KEEP"):
            shutil.rmtree(folder, ignore_errors=True)


def ledger_counts(ledger: dict[str, Any], delivered: dict[str, Any]) -> dict[str, Any]:
    """What every drill reports of the service's stores and the receiver: acknowledged messages,
    lost, doubled (messages, replies or events), half-stored, unanswered, events delivered."""
    return {
        "acknowledged": ledger["acknowledged"],
        "lost": len(ledger["lost"]),
        "doubled": len(ledger["doubled"]) + len(ledger["replies_doubled"]) + len(ledger["events_doubled"]),
        "half_stored": len(ledger["half_stored"]),
        "unanswered": ledger["unanswered"],
        "events": delivered["events"],
        "events_missing": len(delivered["missing"]),
        "events_duplicated": len(delivered["duplicated"]),
        "outbox": ledger["outbox"],
    }
