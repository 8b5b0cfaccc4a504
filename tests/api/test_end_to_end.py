"""End to end: the demo brand synced, the real assistant (`build_assistant`), the service on
loopback, a channel speaking HTTP, and a webhook receiver; each test runs on both shapes of the
service (`demo_service`, tests/api/conftest_deployment.py):

- `in_process`: the app under uvicorn in this process, SQLite, the demo brand synced by
  `knowledge.sync.sync_manifest` into a session tmp dir (`demo_data_dir` in tests/conftest.py,
  shared with the agent tests so it is synced once);
- `two_workers_pg_chroma`: `sportello serve --workers 2` on PostgreSQL, a Chroma server and Redis,
  the same brand synced into that server.

"Done when" from the service issue: a channel sends messages and gets cited replies; a handoff
goes open → claimed → operator reply → resolved → bot answers again, with a signed event for each
step. (Surviving a restart, on both databases, is in tests/test_api_webhooks.py.)
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

import httpx

from tests.api.conftest_api import (  # noqa: F401 (fixtures, used by name)
    ADMIN_KEY,
    WebhookReceiver,
    receiver_fixture,
)
from tests.api.conftest_deployment import (  # noqa: F401 (fixtures, used by name)
    demo_service_fixture,
    two_workers_fixture,
)

ADMIN = {"Authorization": f"Bearer {ADMIN_KEY}"}


def _keys(http: httpx.Client) -> dict[str, dict[str, str]]:
    keys = {}
    for role in ("channel", "operator", "content"):
        created = http.post("/v1/keys", json={"role": role, "name": role}, headers=ADMIN).json()
        keys[role] = {"Authorization": f"Bearer {created['key']}"}
    return keys


def _say(http: httpx.Client, key: dict[str, str], text: str) -> dict[str, Any]:
    body = {"text": text, "user_id": "+39333000111", "channel": "whatsapp"}
    response = http.post("/v1/conversations/wa-demo/messages", json=body, headers=key)
    assert response.status_code == 200, response.text
    return response.json()


def test_a_customer_gets_cited_replies_and_a_person_when_asked(demo_service: str, receiver: WebhookReceiver) -> None:
    with httpx.Client(base_url=demo_service, timeout=60) as http:
        keys = _keys(http)
        subscription = http.post(
            "/v1/webhooks",
            json={
                "url": receiver.url,
                "events": [
                    "reply.sent",
                    "handoff.requested",
                    "handoff.claimed",
                    "operator.message",
                    "handoff.resolved",
                ],
            },
            headers=ADMIN,
        ).json()
        receiver.secret = subscription["secret"]
        operator = keys["operator"]

        hours = _say(http, keys["channel"], "Che orari fa il negozio di Padova il martedì?")
        asked = _say(http, keys["channel"], "Voglio parlare con una persona")
        handoff_id = asked["handoff"]["id"]
        silent = _say(http, keys["channel"], "Sono ancora qui")
        queue = http.get("/v1/handoffs", params={"status": "open"}, headers=operator).json()
        http.post(f"/v1/handoffs/{handoff_id}/claim", headers=operator).raise_for_status()
        http.post(f"/v1/handoffs/{handoff_id}/messages", json={"text": "Buongiorno!"}, headers=operator)
        http.post(f"/v1/handoffs/{handoff_id}/resolve", headers=operator).raise_for_status()
        again = _say(http, keys["channel"], "Quanto costa la spedizione?")
        transcript = http.get("/v1/conversations/wa-demo", headers=keys["channel"]).json()
        events = receiver.wait_for(7)

    assert hours["status"] == "bot"
    assert hours["reply"]["grounded"] is True
    assert hours["reply"]["citations"], "a grounded reply cites its sources"
    assert re.search(r"12[:.]30", hours["reply"]["text"])
    assert asked["status"] == "handed_off"
    assert asked["handoff"]["reason"] == "human_requested"
    assert silent["reply"] is None
    assert [h["id"] for h in queue["items"]] == [handoff_id]
    assert queue["items"][0]["language"] == "it"
    assert again["status"] == "bot" and again["reply"]["grounded"] is True
    assert [m["role"] for m in transcript["messages"]] == [
        "customer",
        "bot",
        "customer",
        "bot",
        "customer",
        "operator",
        "customer",
        "bot",
    ]
    assert transcript["messages"][1]["citations"] == hours["reply"]["citations"]
    assert Counter(e.event["type"] for e in events) == Counter(
        {
            "reply.sent": 3,
            "handoff.requested": 1,
            "handoff.claimed": 1,
            "operator.message": 1,
            "handoff.resolved": 1,
        }
    )


def test_content_routes_read_the_demo_index(demo_service: str) -> None:
    with httpx.Client(base_url=demo_service, timeout=60) as http:
        keys = _keys(http)
        sources = http.get("/v1/sources", headers=keys["content"]).json()["sources"]
        search = http.get(
            "/v1/search", params={"q": "spedizione gratuita", "k": 3}, headers=keys["content"]
        ).json()
        ready = http.get("/readyz")

    assert {s["id"] for s in sources} == {"site", "faq", "products", "stores"}
    assert all(s["documents"] > 0 for s in sources)
    assert len(search["passages"]) == 3
    assert {"source_id", "url", "title", "updated_at", "score"} <= set(search["passages"][0])
    assert ready.status_code == 200


def test_a_follow_up_goes_on_asking_what_the_previous_question_asked(demo_service: str) -> None:
    """"E quello di Milano il sabato?" after the Torino hours asks Milano's Saturday hours (the
    store feed: 20:00), not whatever mentions Milano and Saturday (a stale FAQ saying 19:00). The
    follow-up reads the previous customer turn's intent, which the service stores with it."""
    body = {"user_id": "+39333000222", "channel": "whatsapp"}
    with httpx.Client(base_url=demo_service, timeout=60) as http:
        key = _keys(http)["channel"]
        for text in ("Che orari fa il negozio di Torino?", "E quello di Milano il sabato?"):
            response = http.post("/v1/conversations/wa-follow-up/messages", json={**body, "text": text}, headers=key)
            assert response.status_code == 200, response.text
    reply = response.json()["reply"]

    assert "20:00" in reply["text"] and "19:00" not in reply["text"]
    assert [c["url"] for c in reply["citations"]] == ["https://www.velobici.example/negozi/milano/"]
