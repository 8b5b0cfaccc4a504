"""Load benchmark for the messages route: `python -m api.loadbench --seconds 20 --concurrency 16`.

Starts the service (`uvicorn api.app:create_app_from_env`) as a separate process on loopback with
a brand's index (the demo brand by default, synced into a temporary data dir unless --data-dir
has one), then keeps `concurrency` channels sending customer messages for `seconds` seconds with
httpx. Prints turns/s and latency percentiles and writes them as JSON (default
reports/loadbench.json). The load generator shares the machine with the server, so on a small
machine the numbers are a floor, not a ceiling. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import secrets
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import httpx
import yaml

from api.app import server_options
from knowledge.index import Catalog
from knowledge.sources import load_manifest
from knowledge.sync import sync_manifest
from sportello.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_MANIFEST = ROOT / "examples" / "demo-brand" / "sources.yaml"
DEFAULT_SUITE = ROOT / "evals" / "suites" / "demo.yaml"
# Used when no suite is given: ordinary customer questions, Italian and English.
GENERIC_QUESTIONS = [
    "Quali sono gli orari del negozio?",
    "Quanto costa la spedizione?",
    "Posso restituire un prodotto?",
    "What are your opening hours?",
    "How much is shipping?",
    "Do you have a store in Milan?",
]


@dataclass
class Result:
    seconds: float
    concurrency: int
    workers: int
    turns: int
    errors: int
    turns_per_second: float
    p50_ms: float
    p95_ms: float
    p99_ms: float
    max_ms: float
    statuses: dict[str, int] = field(default_factory=dict)
    grounded_ratio: float = 0.0
    handoff_ratio: float = 0.0
    machine: dict[str, Any] = field(default_factory=dict)


def questions_from_suite(path: Path) -> list[str]:
    suite = yaml.safe_load(path.read_text(encoding="utf-8"))
    found = [turn for case in suite.get("cases", []) for turn in case.get("turns", [])[:1]]
    return found or GENERIC_QUESTIONS


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def ensure_index(manifest: Path, data_dir: Path | None, workdir: Path) -> Path:

    if data_dir is not None and Catalog(data_dir).meta("active_collection"):
        return data_dir

    target = data_dir or workdir / "data"
    started = time.perf_counter()
    report = sync_manifest(load_manifest(manifest), data_dir=target)
    print(
        f"synced {report.totals['documents']} documents in {time.perf_counter() - started:.1f} s",
        file=sys.stderr,
    )
    return target


def start_server(env: dict[str, str], port: int, workers: int, log: Path) -> subprocess.Popen[bytes]:
    command = [
        sys.executable, "-m", "uvicorn", "api.app:create_app_from_env", "--factory",
        "--host", "127.0.0.1", "--port", str(port), "--workers", str(workers), "--no-access-log",
    ]  # fmt: skip
    # The options `sportello serve` passes, as uvicorn's flags: measure what production runs.
    options = server_options(Settings.from_env({**os.environ, **env}))
    command += [arg for name, value in options.items() if value is not None
                for arg in (f"--{name.replace('_', '-')}", str(value))]  # fmt: skip
    with log.open("wb") as out:
        return subprocess.Popen(
            command, env={**os.environ, **env}, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT
        )


def wait_ready(base: str, server: subprocess.Popen[bytes], timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"the server exited with code {server.returncode}; see its log")
        try:
            if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)  # a benchmark script polling a child process, not a test
    raise SystemExit(f"the server was not ready within {timeout:.0f} s")


async def run_load(
    base: str, key: str, questions: list[str], *, seconds: float, concurrency: int
) -> tuple[list[float], dict[str, int], int, int, float]:
    latencies: list[float] = []
    statuses: dict[str, int] = {}
    grounded = handoffs = 0
    counter = itertools.count()
    headers = {"Authorization": f"Bearer {key}"}
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)

    async with httpx.AsyncClient(base_url=base, headers=headers, limits=limits, timeout=30) as client:
        started = time.perf_counter()
        deadline = started + seconds

        async def channel(worker: int) -> None:
            nonlocal grounded, handoffs
            while time.perf_counter() < deadline:
                n = next(counter)
                # Each conversation gets a fresh id every few turns so handoffs do not silence it.
                conversation = f"bench-{worker}-{n // 4}"
                body = {"text": questions[n % len(questions)], "user_id": f"u{worker}", "channel": "api",
                        "message_id": f"m{n}"}  # fmt: skip
                sent = time.perf_counter()
                try:
                    response = await client.post(f"/v1/conversations/{conversation}/messages", json=body)
                    status = str(response.status_code)
                except httpx.HTTPError as exc:
                    status = type(exc).__name__
                    response = None
                statuses[status] = statuses.get(status, 0) + 1
                if response is not None and status == "200":
                    latencies.append((time.perf_counter() - sent) * 1000)
                    data = response.json()
                    grounded += bool(data["reply"] and data["reply"]["grounded"])
                    handoffs += data["handoff"] is not None

        await asyncio.gather(*(channel(w) for w in range(concurrency)))
        elapsed = time.perf_counter() - started
    return latencies, statuses, grounded, handoffs, elapsed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--workers", type=int, default=1, help="uvicorn worker processes")
    parser.add_argument("--manifest", type=Path, default=DEFAULT_MANIFEST)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help="an already synced data dir (else a temp one)"
    )
    parser.add_argument("--suite", type=Path, default=DEFAULT_SUITE if DEFAULT_SUITE.exists() else None,
                        help="eval suite whose first turns are the questions")  # fmt: skip
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds of load before measuring")
    parser.add_argument("--out", type=Path, default=ROOT / "reports" / "loadbench.json")
    args = parser.parse_args(argv)

    questions = questions_from_suite(args.suite) if args.suite else GENERIC_QUESTIONS
    with tempfile.TemporaryDirectory(prefix="sportello-bench-") as tmp:
        workdir = Path(tmp)
        data_dir = ensure_index(args.manifest, args.data_dir, workdir)
        admin_key = "sk_bench_" + secrets.token_urlsafe(16)
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        env = {
            "SPORTELLO_DATA_DIR": str(data_dir),
            "SPORTELLO_MANIFEST": str(args.manifest.resolve()),
            "SPORTELLO_DATABASE_URL": os.environ.get("SPORTELLO_DATABASE_URL")
            or f"sqlite:///{workdir / 'bench.db'}",
            "SPORTELLO_ADMIN_KEY": admin_key,
            "SPORTELLO_RATE_LIMIT_PER_MINUTE": str(10**9),
            "SPORTELLO_LOG_LEVEL": "WARNING",
        }
        server = start_server(env, port, args.workers, workdir / "server.log")
        try:
            wait_ready(base, server)
            created = httpx.post(
                f"{base}/v1/keys", json={"role": "channel", "name": "bench"},
                headers={"Authorization": f"Bearer {admin_key}"}, timeout=10,
            )  # fmt: skip
            created.raise_for_status()
            key = created.json()["key"]
            if args.warmup:  # the first message builds the assistant and loads the model
                asyncio.run(run_load(base, key, questions, seconds=args.warmup, concurrency=args.concurrency))
            latencies, statuses, grounded, handoffs, elapsed = asyncio.run(
                run_load(base, key, questions, seconds=args.seconds, concurrency=args.concurrency)
            )
        finally:
            server.terminate()
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                server.kill()

    turns = len(latencies)
    result = Result(
        seconds=round(elapsed, 2),
        concurrency=args.concurrency,
        workers=args.workers,
        turns=turns,
        errors=sum(v for k, v in statuses.items() if k != "200"),
        turns_per_second=round(turns / elapsed, 1) if elapsed else 0.0,
        p50_ms=round(percentile(latencies, 50), 1),
        p95_ms=round(percentile(latencies, 95), 1),
        p99_ms=round(percentile(latencies, 99), 1),
        max_ms=round(max(latencies, default=0.0), 1),
        statuses=statuses,
        grounded_ratio=round(grounded / turns, 3) if turns else 0.0,
        handoff_ratio=round(handoffs / turns, 3) if turns else 0.0,
        machine={
            "cpus": os.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
        },
    )
    print(f"{'turns/s':>10} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8} {'turns':>7} {'errors':>7}")
    print(
        f"{result.turns_per_second:>10} {result.p50_ms:>8} {result.p95_ms:>8} {result.p99_ms:>8}"
        f" {result.turns:>7} {result.errors:>7}"
    )
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(asdict(result), indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
