"""Signed WhatsApp webhooks at increasing rates on loopback: how fast they are acknowledged, how
long until the reply leaves for the Graph API, and how many replies went out twice.

    .venv/bin/python -m benchmarks.channels [--rates 10 25 50 100] [--seconds 3] [--debounce 0]
        [--database-url postgresql+psycopg://...] [--json reports/channels.json]

The service runs under uvicorn (one worker, SQLite in a temporary directory unless
--database-url) with a fixed-reply assistant, so the numbers are the channel's own cost:
signature check, storing, the debounce, the turn's bookkeeping, the outbox and the send. A loopback
Graph API stand-in records when each reply arrives. Every webhook comes from a new customer, so
each is one conversation and one reply (`duplicates` counts customers who got more than one).
- `ack`: webhook POST → 200, as Meta sees it (Meta wants well under 250 ms median);
- `e2e`: webhook POST sent → the reply's request received by the Graph API stand-in.
Requests are sent open-loop on a fixed schedule (not waiting for earlier answers). Prints a table;
asserts nothing.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import socket
import tempfile
import threading
import time
from collections import Counter
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx
import uvicorn
from rich.console import Console
from rich.table import Table

from agent import Conversation, ConversationUpdate, Reply, Turn, TurnResult
from api import create_app
from sportello.settings import Settings

SECRET = "bench-app-secret"
PHONE_NUMBER_ID = "100200300"


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))] if ordered else float("nan")


class FixedReply:
    """Answers every message at once with one short sentence."""

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        reply = Reply(text="Siamo aperti dal lunedì al sabato, 9–19.", language="it", grounded=True)
        return TurnResult(reply, ConversationUpdate((Turn("customer", message, now), Turn("bot", reply.text, now)), {}))


class GraphStandIn:
    """Records, per recipient, when each reply arrived."""

    def __init__(self) -> None:
        self.arrivals: dict[str, list[float]] = {}
        self.lock = threading.Lock()
        stand_in = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = json.loads(self.rfile.read(int(self.headers.get("content-length", 0))))
                with stand_in.lock:
                    stand_in.arrivals.setdefault(body["to"], []).append(time.perf_counter())
                answer = json.dumps({"messages": [{"id": f"wamid.{body['to']}"}]}).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"


def payload(wa_id: str, index: int) -> bytes:
    message = {"from": wa_id, "id": f"wamid.in.{wa_id}", "timestamp": str(int(time.time())), "type": "text",
               "text": {"body": f"A che ora aprite sabato? ({index})"}}
    value = {"messaging_product": "whatsapp", "metadata": {"phone_number_id": PHONE_NUMBER_ID},
             "contacts": [{"wa_id": wa_id}], "messages": [message]}
    return json.dumps({"object": "whatsapp_business_account",
                       "entry": [{"id": "1", "changes": [{"field": "messages", "value": value}]}]}).encode()


async def step(base: str, graph: GraphStandIn, rate: int, seconds: float, offset: int) -> dict[str, Any]:
    count = int(rate * seconds)
    sent_at: dict[str, float] = {}
    acks: list[float] = []
    failures = 0
    async with httpx.AsyncClient(base_url=base, timeout=30.0, limits=httpx.Limits(max_connections=200)) as client:

        async def post(index: int, wa_id: str) -> None:
            nonlocal failures
            raw = payload(wa_id, index)
            signature = "sha256=" + hmac.new(SECRET.encode(), raw, hashlib.sha256).hexdigest()
            started = time.perf_counter()
            sent_at[wa_id] = started
            response = await client.post("/channels/whatsapp/webhook", content=raw,
                                         headers={"x-hub-signature-256": signature, "content-type": "application/json"})
            acks.append(time.perf_counter() - started)
            failures += response.status_code != 200

        start = time.perf_counter()
        tasks = []
        for index in range(count):
            await asyncio.sleep(max(0.0, start + index / rate - time.perf_counter()))
            tasks.append(asyncio.create_task(post(index, f"39{offset + index:010d}")))
        await asyncio.gather(*tasks)
    deadline = time.perf_counter() + 60.0
    while time.perf_counter() < deadline:
        with graph.lock:
            if all(w in graph.arrivals for w in sent_at):
                break
        await asyncio.sleep(0.05)
    await asyncio.sleep(0.5)  # a late duplicate would arrive now
    with graph.lock:
        arrivals = {w: list(graph.arrivals.get(w, [])) for w in sent_at}
    e2e = [arrivals[w][0] - sent_at[w] for w in sent_at if arrivals[w]]
    return {
        "rate": rate,
        "messages": count,
        "ack_p50_ms": round(percentile(acks, 0.5) * 1000, 1),
        "ack_p99_ms": round(percentile(acks, 0.99) * 1000, 1),
        "e2e_p50_ms": round(percentile(e2e, 0.5) * 1000, 1),
        "e2e_p99_ms": round(percentile(e2e, 0.99) * 1000, 1),
        "answered": len(e2e),
        "duplicates": sum(max(0, len(a) - 1) for a in arrivals.values()),
        "failed_acks": failures,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", type=int, nargs="+", default=[10, 25, 50, 100])
    parser.add_argument("--seconds", type=float, default=3.0)
    parser.add_argument("--debounce", type=float, default=0.0, help="SPORTELLO_DEBOUNCE_SECONDS (adds to e2e)")
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--json", type=Path, default=Path("reports/channels.json"))
    args = parser.parse_args()

    graph = GraphStandIn()
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            data_dir=Path(tmp), database_url=args.database_url, log_level="WARNING",
            whatsapp_verify_token="v", whatsapp_app_secret=SECRET, whatsapp_access_token="t",
            whatsapp_api_base=graph.url, debounce_seconds=args.debounce, rate_limit_per_minute=10**6,
        )
        app = create_app(settings, assistant=FixedReply())
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        sock.listen(1024)
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on"))
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        rows: list[dict[str, Any]] = []
        offset = 0
        try:
            for rate in args.rates:
                rows.append(asyncio.run(step(base, graph, rate, args.seconds, offset)))
                offset += rows[-1]["messages"]
        finally:
            server.should_exit = True
            thread.join(timeout=30)
            graph.server.shutdown()

    table = Table(title=f"WhatsApp webhooks on loopback (debounce {args.debounce} s, "
                        f"{'PostgreSQL' if args.database_url else 'SQLite'})")
    for column in ("rate/s", "messages", "ack p50 ms", "ack p99 ms", "e2e p50 ms", "e2e p99 ms", "answered",
                   "duplicates"):
        table.add_column(column, justify="right")
    for r in rows:
        table.add_row(*(str(r[k]) for k in ("rate", "messages", "ack_p50_ms", "ack_p99_ms", "e2e_p50_ms",
                                              "e2e_p99_ms", "answered", "duplicates")))
    Console().print(table)
    totals = Counter({"duplicates": sum(r["duplicates"] for r in rows)})
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"debounce_seconds": args.debounce, "database": "postgresql" if args.database_url
                                     else "sqlite", "seconds_per_rate": args.seconds, "steps": rows,
                                     "duplicates": totals["duplicates"]}, indent=2) + "\n")


if __name__ == "__main__":
    main()
