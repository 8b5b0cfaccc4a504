"""A disk-full SQLite write: the database on a small tmpfs (mounting needs root; without it the
drill says so and tests/api/test_disk_full.py's `max_page_count` version is what ran), filled
with a file until no byte is left while customers keep writing. Each refused message must be a
507 (or 503) problem+json with Retry-After and stored not at all; once the file is removed the
same messages are taken, with nothing lost, doubled or half-stored and every event delivered."""

from __future__ import annotations

import contextlib
import os
import subprocess
from pathlib import Path
from typing import Any

import httpx

from benchmarks.drills import harness as h
from benchmarks.service import ServiceProcess, service_env, sync

SIZE = "6m"
# Readiness fails below this much free space where the database lives; the drill's disk is 6 MB, so
# the production default (100 MB) would never let the service become ready on it.
MIN_FREE_BYTES = 1_000_000


def run() -> dict[str, Any]:
    if os.geteuid() != 0:
        return {"skipped": "mounting a tmpfs needs root", "notes": "not run: needs root"}
    with h.workspace("disk-full") as folder:
        disk = folder / "disk"
        disk.mkdir()
        subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={SIZE}", "tmpfs", str(disk)], check=True)
        receiver = h.Receiver()
        try:
            return _drill(folder, disk, receiver)
        finally:
            receiver.stop()
            subprocess.run(["umount", "-l", str(disk)], check=False)


def _fill(disk: Path) -> Path:
    filler = disk / "filler"
    with filler.open("wb") as out, contextlib.suppress(OSError):
        while True:
            out.write(b"\0" * 65536)
            out.flush()
    return filler


def _drill(folder: Path, disk: Path, receiver: h.Receiver) -> dict[str, Any]:
    manifest = h.copy_demo_brand(folder)
    url = f"sqlite:///{disk / 'sportello.db'}"
    env = service_env(folder / "data", manifest, url)
    env["SPORTELLO_MIN_FREE_BYTES"] = str(MIN_FREE_BYTES)
    sync(env, manifest)
    service = ServiceProcess(env, folder / "serve.log")
    service.start()
    keys = h.provision(service.base, receiver)
    outcome = h.Outcome()
    refused: dict[str, tuple[str, str]] = {}  # message_id -> (conversation, text)
    full_statuses: list[int | str] = []
    try:
        with httpx.Client(base_url=service.base, timeout=30) as client:
            for n in range(6):
                h.send(client, keys, outcome, f"conv-{n % 3}", f"m-{n}", h.customer_text(n))
            filler = _fill(disk)
            for n in range(6, 46):  # customers keep writing on a full disk
                conversation = f"conv-{n % 3}"
                status = h.send(client, keys, outcome, conversation, f"m-{n}", h.customer_text(n) + " " + "x" * 3000)
                full_statuses.append(status)
                if status not in (200, 201):
                    refused[f"m-{n}"] = (conversation, h.customer_text(n) + " " + "x" * 3000)
            readyz_full = client.get("/readyz").status_code
            filler.unlink()  # space returns
            retried = [h.send(client, keys, outcome, c, m, t) for m, (c, t) in refused.items()]
            for n in range(46, 52):
                h.send(client, keys, outcome, f"conv-{n % 3}", f"m-{n}", h.customer_text(n))
        drained = h.drain(url, timeout=150)
    finally:
        service.stop()
    ledger = h.ledger(url, outcome)
    delivered = h.deliveries(receiver, ledger.pop("outbox_ids"))
    return {
        "statuses": outcome.counts(),
        "while_full": {str(s): full_statuses.count(s) for s in set(full_statuses)},
        "refused_then_taken": sum(1 for s in retried if s in (200, 201)),
        "refused": len(refused),
        "readyz_while_full": readyz_full,
        "server_errors": sum(1 for _, s, _ in outcome.statuses if s == 500),
        "refusals_with_retry_after": sum(1 for _, s, r in outcome.statuses if s in (503, 507) and r),
        "drained": drained,
        **h.ledger_counts(ledger, delivered),
        "log": h.log_findings(service.log_text(), outcome),
        "notes": f"tmpfs {SIZE}: {len(refused)} refused with 507, {sum(1 for s in retried if s in (200, 201))} "
                 f"taken once space returned; /readyz {readyz_full} while full",
    }


def verdict(result: dict[str, Any]) -> bool:
    if "skipped" in result:
        return False
    return (
        result["lost"] == 0 and result["doubled"] == 0 and result["half_stored"] == 0
        and result["events_missing"] == 0 and result["events_duplicated"] == 0
        and result["server_errors"] == 0 and result["refused"] > 0
        and result["refusals_with_retry_after"] == result["refused"]
        and result["refused_then_taken"] == result["refused"] and bool(result["drained"])
        and result["readyz_while_full"] == 503
    )
