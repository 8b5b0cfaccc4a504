"""kill -9 of `sportello serve` during a turn and during a sync, on SQLite and on PostgreSQL.

The demo brand is synced (its FAQ read from a loopback feed server), the service serves it in LLM
mode (a loopback OpenAI-compatible endpoint) with a webhook subscription to a loopback receiver,
and customers send messages. Then:
1. a turn is caught in the agent (its LLM call held at the endpoint) and the process is killed;
   it is restarted and the customer sends the same message again (as a channel retries);
2. a sync of a FAQ whose every answer was edited is let go after its fetch and killed a second
   later, while it embeds the changed entries; after the restart its job must say `failed`
   (Interrupted), the previous index must still answer the same search as before, and a new
   sync must succeed.
Checked afterwards: no acknowledged message lost or doubled, none half-stored, every event at
the receiver exactly once per `webhook-id`."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

import httpx

from benchmarks.drills import harness as h
from benchmarks.service import ServiceProcess, service_env, sync, wait_until

SEARCH = "/v1/search?q=quanto%20costa%20la%20spedizione&k=3&source_id=faq"
KILL_AFTER_FETCH = 1.0  # seconds: the changed entries take several to embed


def run(backend: str) -> dict[str, Any]:
    with h.workspace(f"kill9-{backend}") as folder:
        postgres = h.PrivatePostgres() if backend == "postgresql" else None
        llm, receiver = h.LLMEndpoint(), h.Receiver()
        feeds = h.FeedServer(folder / "brand")
        try:
            if postgres is not None:
                postgres.start()
            url = postgres.url if postgres else f"sqlite:///{folder / 'sportello.db'}"
            return _drill(folder, url, llm, feeds, receiver)
        finally:
            for server in (llm, feeds):
                server.gate.let_go()
                server.stop()
            receiver.stop()
            if postgres is not None:
                postgres.destroy()


def _drill(folder: Path, url: str, llm: h.LLMEndpoint, feeds: h.FeedServer, receiver: h.Receiver) -> dict[str, Any]:
    manifest = h.copy_demo_brand(folder, feeds)
    env = {**service_env(folder / "data", manifest, url), **llm.env}
    sync(env, manifest)
    service = ServiceProcess(env, folder / "serve.log")
    result: dict[str, Any] = {"start_s": round(service.start(), 1)}
    keys = h.provision(service.base, receiver)
    outcome = h.Outcome()
    try:
        with httpx.Client(base_url=service.base, timeout=30) as client:
            for n in range(8):  # a few conversations of two turns each
                h.send(client, keys, outcome, f"conv-{n % 4}", f"m-{n}", h.customer_text(n))
            before = client.get(SEARCH, headers=keys.content).json()["passages"]

            # 1. kill -9 in the middle of a turn
            llm.gate.hold()
            caught = threading.Thread(target=h.send, args=(client, keys, outcome, "conv-0", "m-killed",
                                                            h.customer_text(100)))
            caught.start()
            result["turn_caught"] = llm.gate.arrived.wait(30)
            service.kill9()
            llm.gate.let_go()
            caught.join(30)
            result["restart_after_turn_s"] = round(service.start(), 1)
        with httpx.Client(base_url=service.base, timeout=30) as client:
            result["retry_status"] = h.send(client, keys, outcome, "conv-0", "m-killed", h.customer_text(100))
            for n in range(8, 12):
                h.send(client, keys, outcome, f"conv-{n % 4}", f"m-{n}", h.customer_text(n))

            # 2. kill -9 in the middle of a sync: every FAQ answer edited, so each is embedded again
            h.edit_every_faq_answer(manifest.parent, "Verifica il testo aggiornato piano.")
            feeds.gate.hold()
            started = client.post("/v1/sources/faq/sync", headers=keys.content)
            job = started.headers["location"]
            result["sync_caught"] = feeds.gate.arrived.wait(60)
            feeds.gate.let_go()
            time.sleep(KILL_AFTER_FETCH)
            result["sync_status_at_kill"] = client.get(job, headers=keys.content).json()["status"]
            service.kill9()
            result["restart_after_sync_s"] = round(service.start(), 1)
        with httpx.Client(base_url=service.base, timeout=30) as client:
            interrupted = client.get(job, headers=keys.content).json()
            result["killed_sync_job"] = f"{interrupted['status']} ({interrupted['error_type']})"
            after = client.get(SEARCH, headers=keys.content).json()["passages"]
            result["previous_index_serves"] = [p["text"] for p in after] == [p["text"] for p in before]
            for n in range(12, 16):
                h.send(client, keys, outcome, f"conv-{n % 4}", f"m-{n}", h.customer_text(n))
            again = client.post("/v1/sources/faq/sync", headers=keys.content).headers["location"]
            wait_until(lambda: client.get(again, headers=keys.content).json()["status"] not in
                         ("queued", "running"), 120, step=0.5)
            result["new_sync_job"] = client.get(again, headers=keys.content).json()["status"]
            found = client.get(SEARCH, headers=keys.content).json()["passages"]
            result["new_index_serves"] = bool(found) and "aggiornato" in found[0]["text"]
        result["drained"] = h.drain(url, timeout=150)
    finally:
        service.stop()
    ledger = h.ledger(url, outcome)
    result.update(_summary(ledger, h.deliveries(receiver, ledger.pop("outbox_ids")), outcome))
    result["log"] = h.log_findings(service.log_text(), outcome)
    result["notes"] = (f"turn retried: {result.get('retry_status')}; killed sync job: {result.get('killed_sync_job')}; "
                       f"previous index served: {result.get('previous_index_serves')}; new sync: "
                       f"{result.get('new_sync_job')}; restarts {result.get('restart_after_turn_s')} s, "
                       f"{result.get('restart_after_sync_s')} s to ready")
    return result


def _summary(ledger: dict[str, Any], delivered: dict[str, Any], outcome: h.Outcome) -> dict[str, Any]:
    return {
        "statuses": outcome.counts(),
        **h.ledger_counts(ledger, delivered),
        "ok_at": time.strftime("%H:%M:%S"),
    }


def verdict(result: dict[str, Any]) -> bool:
    return bool(
        result["lost"] == 0 and result["doubled"] == 0 and result["half_stored"] == 0
        and result["events_missing"] == 0 and result["events_duplicated"] == 0
        and result.get("turn_caught") and result.get("sync_caught") and result.get("retry_status") == 200
        and result.get("killed_sync_job", "").startswith("failed") and result.get("previous_index_serves")
        and result.get("new_sync_job") == "succeeded" and bool(result.get("drained"))
    )
