"""The load benchmark's people, for locust (`python -m benchmarks.load` runs it headless in its own
process: locust patches the standard library with gevent, which must stay out of the service).

- `Customer`: one conversation after another, each with a fresh conversation id and 3–5 messages
  from the pool (benchmarks.load.scenario), each sent when the previous reply came back.
- `Operator` (a fixed number, each with its own operator key): the open handoffs, one of them
  claimed (another operator may have been faster: a 409, reported apart and not an error), a
  reply, resolved.

Configured by the runner through the environment: LOAD_POOL (a Pool as JSON), LOAD_CHANNEL_KEY,
LOAD_OPERATOR_KEYS (comma-separated), LOAD_OPERATORS, LOAD_HANDOFF_SHARE, LOAD_SEED.
"""

from __future__ import annotations

import itertools
import os
import random
import uuid
from pathlib import Path
from typing import Any

from locust import FastHttpUser, between, constant, task

from benchmarks.load.scenario import (
    CUSTOMER_MESSAGE,
    OPERATOR_CLAIM,
    OPERATOR_CLAIM_TAKEN,
    OPERATOR_LIST,
    OPERATOR_REPLY,
    OPERATOR_RESOLVE,
    Pool,
    plan_conversation,
)

POOL = Pool.loads(Path(os.environ["LOAD_POOL"]).read_text(encoding="utf-8"))
CHANNEL_KEY = os.environ["LOAD_CHANNEL_KEY"]
OPERATOR_KEYS = os.environ["LOAD_OPERATOR_KEYS"].split(",")
HANDOFF_SHARE = float(os.environ.get("LOAD_HANDOFF_SHARE", "0.2"))
SEED = int(os.environ.get("LOAD_SEED", "13"))
_customers = itertools.count()
_operators = itertools.count()


def _expect(response: Any, *statuses: int) -> bool:
    """Mark the request failed unless it answered one of `statuses`; True when it did."""
    if response.status_code in statuses:
        return True
    response.failure(f"HTTP {response.status_code}: {(response.text or '')[:200]}")
    return False


class Customer(FastHttpUser):
    wait_time = constant(0)

    def on_start(self) -> None:
        self.number = next(_customers)
        self.rng = random.Random(SEED * 100_003 + self.number)
        self.headers = {"Authorization": f"Bearer {CHANNEL_KEY}"}

    @task
    def conversation(self) -> None:
        conversation_id = f"load-{self.number}-{uuid.uuid4().hex[:12]}"
        for n, text in enumerate(plan_conversation(self.rng, POOL, handoff_share=HANDOFF_SHARE)):
            body = {"text": text, "user_id": f"customer-{self.number}", "channel": "api",
                    "message_id": f"{conversation_id}-{n}"}  # fmt: skip
            with self.client.post(f"/v1/conversations/{conversation_id}/messages", json=body, headers=self.headers,
                                  name=CUSTOMER_MESSAGE, catch_response=True) as response:  # fmt: skip
                if not _expect(response, 200):
                    return  # a conversation that failed is not continued


class Operator(FastHttpUser):
    fixed_count = int(os.environ.get("LOAD_OPERATORS", "2"))
    wait_time = between(0.2, 0.6)

    def on_start(self) -> None:
        number = next(_operators)
        self.rng = random.Random(SEED * 7_919 + number)
        self.headers = {"Authorization": f"Bearer {OPERATOR_KEYS[number % len(OPERATOR_KEYS)]}"}

    @task
    def work_the_queue(self) -> None:
        with self.client.get("/v1/handoffs?status=open&limit=20", headers=self.headers, name=OPERATOR_LIST,
                             catch_response=True) as listed:  # fmt: skip
            if not _expect(listed, 200):
                return
            items = listed.json()["items"]
        if not items:
            return
        handoff_id = self.rng.choice(items)["id"]
        with self.client.post(f"/v1/handoffs/{handoff_id}/claim", headers=self.headers, name=OPERATOR_CLAIM,
                              catch_response=True) as claimed:  # fmt: skip
            if claimed.status_code == 409:  # claimed by another operator since the list was read
                claimed.request_meta["name"] = OPERATOR_CLAIM_TAKEN
                claimed.success()
                return
            if not _expect(claimed, 200):
                return
        body = {"text": "Buongiorno, sono del servizio clienti: la seguo io da qui.",
                "message_id": f"op-{handoff_id}"}  # fmt: skip
        with self.client.post(f"/v1/handoffs/{handoff_id}/messages", json=body, headers=self.headers,
                              name=OPERATOR_REPLY, catch_response=True) as replied:  # fmt: skip
            if not _expect(replied, 201):
                return
        with self.client.post(f"/v1/handoffs/{handoff_id}/resolve", json={}, headers=self.headers,
                              name=OPERATOR_RESOLVE, catch_response=True) as resolved:  # fmt: skip
            _expect(resolved, 200)
