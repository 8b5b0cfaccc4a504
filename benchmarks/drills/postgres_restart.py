"""PostgreSQL restarted under load: a private cluster, `sportello serve` on it, customers sending
messages from several threads (each retries a refused message with the same `message_id`, as a
channel does), and `pg_ctl stop -m fast` for a few seconds in the middle, then `pg_ctl start`.

While it is down every request must get a 503 problem+json with Retry-After (no 500, no
traceback, no customer text in the log); once it is back the service answers again without a
restart (recovery time: PostgreSQL accepting connections → the first 200), and the ledger
shows nothing lost, doubled or half-written, every event delivered exactly once."""

from __future__ import annotations

import threading
import time
from itertools import count
from pathlib import Path
from typing import Any

import httpx

from benchmarks.drills import harness as h
from benchmarks.service import ServiceProcess, service_env, sync

CUSTOMERS = 4
BEFORE, DOWN, AFTER = 3.0, 5.0, 5.0  # seconds of load before the stop, PostgreSQL down, after it is back


def run() -> dict[str, Any]:
    with h.workspace("pg-restart") as folder:
        postgres = h.PrivatePostgres()
        receiver = h.Receiver()
        try:
            postgres.start()
            return _drill(folder, postgres, receiver)
        finally:
            receiver.stop()
            postgres.destroy()


def _drill(folder: Path, postgres: h.PrivatePostgres,
           receiver: h.Receiver) -> dict[str, Any]:
    manifest = h.copy_demo_brand(folder)
    env = service_env(folder / "data", manifest, postgres.url)
    sync(env, manifest)
    service = ServiceProcess(env, folder / "serve.log")
    service.start()
    keys = h.provision(service.base, receiver)
    outcome = h.Outcome()
    stop = threading.Event()
    numbers = count()
    pids_before = service.process.pid if service.process else None

    def customer(index: int) -> None:
        with httpx.Client(base_url=service.base, timeout=30) as client:
            while not stop.is_set():
                n = next(numbers)
                message_id, text = f"m-{n}", h.customer_text(n)
                while not stop.is_set():  # the same message until it is acknowledged
                    status = h.send(client, keys, outcome, f"conv-{index}-{n % 3}", message_id, text)
                    if status in (200, 201):
                        break
                    time.sleep(0.2)  # shorter than the Retry-After, to time the recovery closely

    threads = [threading.Thread(target=customer, args=(i,)) for i in range(CUSTOMERS)]
    for thread in threads:
        thread.start()
    try:
        time.sleep(BEFORE)
        down_at = time.monotonic()
        postgres.stop("fast")
        time.sleep(DOWN)
        postgres.start()
        up_at = time.monotonic()
        time.sleep(AFTER)
    finally:
        stop.set()
        for thread in threads:
            thread.join(60)
    try:
        drained = h.drain(postgres.url, timeout=150)
        ready = httpx.get(f"{service.base}/readyz", timeout=5).status_code
    finally:
        service.stop()
    while_down = [(s, r) for t, s, r in outcome.statuses if down_at <= t < up_at]
    first_ok = min((t for t, s, _ in outcome.statuses if t >= up_at and s in (200, 201)), default=None)
    ledger = h.ledger(postgres.url, outcome)
    delivered = h.deliveries(receiver, ledger.pop("outbox_ids"))
    log = h.log_findings(service.log_text(), outcome)
    return {
        "statuses": outcome.counts(),
        "while_down": {str(s): sum(1 for x, _ in while_down if x == s) for s in {x for x, _ in while_down}},
        "while_down_503_with_retry_after": sum(1 for s, r in while_down if s == 503 and r),
        "server_errors": sum(1 for _, s, _ in outcome.statuses if isinstance(s, int) and s >= 500 and s != 503),
        "recovery_s": round(first_ok - up_at, 2) if first_ok is not None else None,
        "down_s": round(up_at - down_at, 1),
        "service_restarted": service.process is not None and service.process.pid != pids_before,
        "readyz_after": ready,
        "drained": drained,
        **h.ledger_counts(ledger, delivered),
        "log": log,
        "notes": f"down {round(up_at - down_at, 1)} s; recovery {round(first_ok - up_at, 2) if first_ok else None} s "
                 f"without a restart; 503 with Retry-After {sum(1 for s, r in while_down if s == 503 and r)} of "
                 f"{len(while_down)} while down",
    }


def verdict(result: dict[str, Any]) -> bool:
    down = result["while_down"]
    return (
        result["lost"] == 0 and result["doubled"] == 0 and result["half_stored"] == 0
        and result["events_missing"] == 0 and result["events_duplicated"] == 0
        and result["server_errors"] == 0 and set(down) <= {"503", "200"}
        and result["while_down_503_with_retry_after"] == down.get("503", 0) > 0
        and result["recovery_s"] is not None and not result["service_restarted"]
        and result["log"]["customer_text_in_log"] == 0 and result["log"]["tracebacks"] == 0
        and bool(result["drained"])
    )
