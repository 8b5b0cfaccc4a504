"""The webhook outbox under load: deliveries per second to a loopback receiver with 1 and 2 worker
processes on one PostgreSQL database, and whether each event arrived exactly once.

    .venv/bin/python -m benchmarks.outbox [--events 3000] [--workers 1 2] [--batch-size 20]
        [--database-url postgresql+psycopg://postgres@127.0.0.1:5432/test] [--json reports/outbox.json]

For each worker count: a fresh schema, one subscription, `--events` outbox rows written with
`api.webhooks.emit` (as requests write them), then that many processes, each with its own engine
and a `DeliveryWorker` (the production claim, send and record; no retries are needed), deliver
until nothing is pending. The clock starts when every process is connected and ready and stops at
the last one's end. The receiver is a separate process (a minimal HTTP/1.1 server on asyncio,
keep-alive, 204 to every POST) that counts each `webhook-id`: `duplicates` are ids received more
than once, `missing` ids never received; exactly once means both are 0 and every row is
`delivered`. Prints a table and writes JSON. A SQLite file works too (`--database-url
sqlite:///…`), for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing as mp
import os
import platform
import tempfile
import time
import uuid
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
from rich.console import Console
from rich.table import Table

PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


# --- the receiver (its own process) --------------------------------------------------------------
async def _serve_receiver(port: Any, counts: Counter[str]) -> None:
    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                lines = head.decode("latin-1").split("\r\n")
                method, path = lines[0].split(" ")[:2]
                headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:] if line)}
                await reader.readexactly(int(headers.get("content-length", "0")))
                if method == "GET" and path == "/counts":
                    body = json.dumps(counts).encode()
                    writer.write(b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n"
                                 b"content-length: %d\r\n\r\n%s" % (len(body), body))
                else:
                    counts[headers.get("webhook-id", "")] += 1
                    writer.write(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0, backlog=512)
    port.put(server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


def _receiver_main(port: Any) -> None:
    asyncio.run(_serve_receiver(port, Counter()))


# --- one delivery worker (its own process) ------------------------------------------------------
def _worker_main(url: str, batch_size: int, ready: Any, go: Any, results: Any) -> None:
    from sqlalchemy import text

    from api import Database, DeliveryPolicy, DeliveryWorker, Metrics

    receiver_url = os.environ["OUTBOX_BENCH_RECEIVER"]
    db = Database(url)
    worker = DeliveryWorker(db, DeliveryPolicy(batch_size=batch_size, timeout=10.0), Metrics())

    def pending() -> int:
        with db.session() as session:
            return int(session.scalar(text("SELECT count(*) FROM webhook_deliveries WHERE status = 'pending'")) or 0)

    async def run() -> tuple[int, float]:
        sent = 0
        limits = httpx.Limits(max_connections=batch_size, max_keepalive_connections=batch_size)
        async with httpx.AsyncClient(timeout=10.0, limits=limits) as client:
            db.ping()
            await client.get(receiver_url.replace("/hooks", "/counts"))  # connected before the clock
            ready.set()
            go.wait()
            while True:
                n = await worker.deliver_due(client)
                sent += n
                if n == 0:
                    if await asyncio.to_thread(pending) == 0:
                        break
                    await asyncio.sleep(0.005)  # the rest is leased by the other worker
        return sent, time.perf_counter()

    sent, ended = asyncio.run(run())
    db.dispose()
    results.put((os.getpid(), sent, ended))


# --- one run -----------------------------------------------------------------------------------------
def _fresh_database(base_url: str, tmp: Path, label: str) -> tuple[str, str | None]:
    if base_url.startswith("sqlite"):
        return f"sqlite:///{tmp / f'outbox-{label}.db'}", None
    schema = f"bench_outbox_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(_libpq(base_url), autocommit=True) as connection:
        connection.execute(f'CREATE SCHEMA "{schema}"')
    separator = "&" if "?" in base_url else "?"
    return f"{base_url}{separator}options=-csearch_path%3D{schema}", schema


def _drop_schema(base_url: str, schema: str | None) -> None:
    if schema is not None:
        with psycopg.connect(_libpq(base_url), autocommit=True) as connection:
            connection.execute(f'DROP SCHEMA "{schema}" CASCADE')


def _libpq(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://").split("?")[0]


def _fill_outbox(url: str, receiver_url: str, events: int) -> None:
    from sqlalchemy import text

    from api import Database, create_webhook_subscription, emit_event

    db = Database(url)
    db.migrate()
    now = datetime.now(UTC)
    with db.session() as session:
        create_webhook_subscription(session, url=receiver_url, events=["message.received"], now=now)
        for n in range(events):
            emit_event(session, "message.received", {"conversation_id": f"c-{n}", "text_length": 12}, now=now)
            if n % 500 == 499:
                session.commit()
        session.commit()
        assert session.scalar(text("SELECT count(*) FROM webhook_deliveries")) == events
    db.dispose()


def _statuses(url: str) -> dict[str, int]:
    from sqlalchemy import text

    from api import Database

    db = Database(url)
    with db.session() as session:
        rows = session.execute(text("SELECT status, count(*) FROM webhook_deliveries GROUP BY status")).all()
    db.dispose()
    return {status: int(count) for status, count in rows}


def run_once(base_url: str, workers: int, events: int, batch_size: int, tmp: Path) -> dict[str, Any]:
    ctx = mp.get_context("spawn")
    port = ctx.Queue()
    receiver = ctx.Process(target=_receiver_main, args=(port,), daemon=True)
    receiver.start()
    receiver_url = f"http://127.0.0.1:{port.get(timeout=60)}/hooks"
    url, schema = _fresh_database(base_url, tmp, f"{workers}w")
    try:
        _fill_outbox(url, receiver_url, events)
        os.environ["OUTBOX_BENCH_RECEIVER"] = receiver_url
        ready = [ctx.Event() for _ in range(workers)]
        go, results = ctx.Event(), ctx.Queue()
        processes = [
            ctx.Process(target=_worker_main, args=(url, batch_size, ready[i], go, results)) for i in range(workers)
        ]
        for process in processes:
            process.start()
        for event in ready:
            assert event.wait(120), "a worker did not get ready"
        started = time.perf_counter()  # perf_counter is system-wide on Linux (CLOCK_MONOTONIC)
        go.set()
        finished = [results.get(timeout=600) for _ in processes]
        for process in processes:
            process.join(timeout=30)
        seconds = max(ended for _, _, ended in finished) - started
        counts = Counter(httpx.get(receiver_url.replace("/hooks", "/counts"), timeout=10).json())
        statuses = _statuses(url)
    finally:
        receiver.kill()
        _drop_schema(base_url, schema)
    duplicates = sum(1 for times in counts.values() if times > 1)
    missing = events - len(counts)
    return {
        "workers": workers,
        "events": events,
        "batch_size": batch_size,
        "seconds": round(seconds, 3),
        "deliveries_per_second": round(events / seconds, 1),
        "sent_per_worker": sorted(sent for _, sent, _ in finished),
        "received": sum(counts.values()),
        "duplicates": duplicates,
        "missing": missing,
        "statuses": statuses,
        "exactly_once": duplicates == 0 and missing == 0 and statuses == {"delivered": events},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=3000)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--batch-size", type=int, default=20, help="DeliveryPolicy.batch_size (the default)")
    parser.add_argument("--database-url", default=PG_URL)
    parser.add_argument("--json", type=Path, default=Path("reports/outbox.json"))
    args = parser.parse_args()

    with tempfile.TemporaryDirectory() as tmp:
        runs = [run_once(args.database_url, n, args.events, args.batch_size, Path(tmp)) for n in args.workers]
    backend = "sqlite" if args.database_url.startswith("sqlite") else "postgresql"
    table = Table(title=f"webhook outbox on {backend}: {args.events} events, batch {args.batch_size}")
    for column in ("workers", "seconds", "deliveries/s", "sent per worker", "duplicates", "missing", "exactly once"):
        table.add_column(column, justify="right")
    for run in runs:
        table.add_row(
            str(run["workers"]), f"{run['seconds']:.2f}", f"{run['deliveries_per_second']:.0f}",
            " + ".join(map(str, run["sent_per_worker"])), str(run["duplicates"]), str(run["missing"]),
            "yes" if run["exactly_once"] else "NO",
        )
    Console(width=120).print(table)
    report = {
        "benchmark": "outbox",
        "backend": backend,
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version()},
        "runs": runs,
    }
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    Console(stderr=True).print(f"written {args.json}")


if __name__ == "__main__":
    main()
