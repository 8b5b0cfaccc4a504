"""The runner scores a small hand-made suite whose outcomes are known, in-process and over HTTP.

The assistant under test is `ScriptedAssistant`, a deterministic collaborator double that
implements `respond(conversation, message, *, now=None) -> Reply` with real Reply objects, so
these tests do not depend on the agent's behaviour.  Over HTTP it sits behind a real server on
loopback that speaks the service's messages route.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import httpx
import pytest

from agent.assistant import TurnResult
from agent.conversation import Conversation, ConversationUpdate, Turn
from agent.reply import Citation, Handoff, HandoffReason, Reply, Warning
from evals.metrics import compute_metrics
from evals.runner import HttpTarget, InProcessTarget, Runner
from evals.scoring import score_all
from evals.suite import Suite, load_suite

ROME = ZoneInfo("Europe/Rome")
UPDATED = datetime(2026, 11, 3, tzinfo=ROME)
STORES = Citation("stores", "https://shop.example/negozi/torino", "Negozio di Torino", UPDATED)
FAQ = Citation("faq", "https://shop.example/faq#spedizioni", "Spedizioni", UPDATED)


class ScriptedAssistant:
    """Answers by keyword, like a tiny brand assistant; records the clock it was given."""

    def __init__(self) -> None:
        self.clocks: dict[str, datetime | None] = {}
        self._lock = threading.Lock()

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        focus = dict(conversation.focus)
        with self._lock:
            self.clocks[conversation.id] = now
        text = message.casefold()
        if "boom" in text:
            raise RuntimeError("index exploded")
        if "padova" in text:
            focus["store"] = "store:padova"
        if "persona" in text or "human" in text:
            reply = Reply("Ti passo a una persona.", "it", False,
                          handoff=Handoff(HandoffReason.HUMAN_REQUESTED, "wants a person", "it"))
        elif "marte" in text:
            reply = Reply("Non ho questa informazione: ti passo a una persona.", "it", False,
                          handoff=Handoff(HandoffReason.NO_ANSWER, "no answer", "it"))
        elif "luna" in text:  # invents an answer to an unanswerable question
            reply = Reply("Sì, vendiamo biglietti per la Luna a 99 €.", "it", True, [FAQ])
        elif "parcheggio" in text and focus.get("store") == "store:padova":
            reply = Reply("Il negozio di Padova ha un parcheggio gratuito.", "it", True, [STORES])
        elif "domenica" in text:
            reply = Reply("La domenica il negozio di Torino è chiuso.", "it", True, [STORES],
                          [Warning("stale", "Orari aggiornati al 3 novembre.", ["stores"])])
        elif "orari" in text:
            reply = Reply("Torino: dalle 9:00 alle 19:00.", "it", True, [STORES])
        elif "spedizione" in text:
            reply = Reply("La spedizione costa 4,90 €.", "it", True, [FAQ])
        else:
            reply = Reply("Ciao!", "it", False)
        turns = (Turn("customer", message, now), Turn("bot", reply.text, now, grounded=reply.grounded))
        return TurnResult(reply, ConversationUpdate(turns, focus))


SUITE = """
name: scripted
manifest: sources.yaml
now: "2026-11-25T10:00:00+01:00"
cases:
  - id: hours-pass
    category: hours
    lang: it
    turns: ["Orari di Torino?"]
    expect: [["9"], ["19:00", "7 pm"]]
    cite: ["stores"]
  - id: sunday-pass
    category: hours
    lang: it
    turns: ["Siete aperti domenica?"]
    expect: [["chiuso", "closed"]]
    forbid: ["10:00"]
    cite: ["negozi/torino"]
    warnings: ["stale"]
  - id: sunday-missing-fail
    category: hours
    lang: it
    turns: ["Siete aperti domenica?"]
    expect: [["aperto", "open"]]
  - id: shipping-wrong-citation-fail
    category: shipping
    lang: it
    turns: ["Quanto costa la spedizione?"]
    expect: ["4.90 €"]
    cite: ["stores"]
  - id: shipping-forbidden-fail
    category: shipping
    lang: it
    turns: ["Quanto costa la spedizione?"]
    forbid: ["4.90"]
  - id: shipping-warning-fail
    category: shipping
    lang: en
    turns: ["Quanto costa la spedizione?"]
    warnings: ["conflict"]
  - id: person-pass
    category: handoff
    lang: it
    turns: ["Vorrei parlare con una persona"]
    handoff: true
  - id: hours-handoff-fail
    category: handoff
    lang: it
    turns: ["Orari di Torino?"]
    handoff: true
  - id: person-unexpected-fail
    category: handoff
    lang: en
    turns: ["I want a human"]
  - id: mars-pass
    category: unanswerable
    lang: it
    turns: ["Vendete biglietti per Marte?"]
    unanswerable: true
  - id: moon-grounded-fail
    category: unanswerable
    lang: it
    turns: ["Vendete biglietti per la Luna?"]
    unanswerable: true
  - id: follow-up-pass
    category: multi-turn
    lang: it
    turns: ["Mi dite qualcosa del negozio di Padova?", "Avete il parcheggio?"]
    expect: [["parcheggio gratuito"]]
    cite: ["stores"]
  - id: crash-error
    category: errors
    lang: en
    turns: ["boom"]
    now: "2026-12-24T18:00:00"
"""

EXPECTED = {
    "hours-pass": [],
    "sunday-pass": [],
    "sunday-missing-fail": ["missing any of ['aperto', 'open']"],
    "shipping-wrong-citation-fail": ["expected citation of 'stores', cited ['faq']"],
    "shipping-forbidden-fail": ["forbidden '4.90' present"],
    "shipping-warning-fail": ["expected warning 'conflict', got []"],
    "person-pass": [],
    "hours-handoff-fail": ["expected handoff, none"],
    "person-unexpected-fail": ["unexpected handoff (reason 'human_requested')"],
    "mars-pass": [],
    "moon-grounded-fail": ["claimed grounded on an unanswerable case"],
    "follow-up-pass": [],
    "crash-error": ["error: RuntimeError: index exploded"],
}


@pytest.fixture
def suite(tmp_path: Path) -> Suite:
    (tmp_path / "sources.yaml").write_text("brand: Scripted\nsources: []\n", encoding="utf-8")
    path = tmp_path / "scripted.yaml"
    path.write_text(SUITE, encoding="utf-8")
    return load_suite(path)


class _Service(BaseHTTPRequestHandler):
    """The service's messages route in front of a ScriptedAssistant (see the API issue)."""

    assistant: ScriptedAssistant
    key: str
    conversations: dict[str, Conversation]
    seen_ids: list[str]

    def do_POST(self) -> None:  # noqa: N802 - http.server's naming
        parts = self.path.strip("/").split("/")
        if len(parts) != 4 or parts[:2] != ["v1", "conversations"] or parts[3] != "messages":
            return self._send(404, {"title": "Not Found", "status": 404, "detail": self.path})
        if self.headers.get("Authorization") != f"Bearer {self.key}":
            return self._send(401, {"title": "Unauthorized", "status": 401, "detail": "unknown key"})
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        conversation_id = parts[2]
        self.seen_ids.append(conversation_id)
        conversation = self.conversations.setdefault(conversation_id, Conversation(conversation_id))
        try:
            result = self.assistant.respond(conversation, body["text"])
            self.conversations[conversation_id] = result.apply(conversation)
            reply = result.reply
        except RuntimeError as exc:
            return self._send(500, {"title": "Internal Server Error", "status": 500, "detail": str(exc)})
        data = reply.to_dict()
        handoff = data.pop("handoff")
        data.pop("trace")
        self._send(200, {
            "conversation_id": conversation_id,
            "message_id": body.get("message_id"),
            "status": "handed_off" if handoff else "bot",
            "reply": data,
            "handoff": {"id": "h1", "reason": handoff["reason"], "status": "open"} if handoff else None,
        })

    def _send(self, status: int, payload: dict[str, Any]) -> None:
        raw = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def service() -> Iterator[tuple[str, type[_Service]]]:
    """A real HTTP server on loopback; the handler class carries its state."""
    handler = type("Service", (_Service,), {
        "assistant": ScriptedAssistant(), "key": "chan-key", "conversations": {}, "seen_ids": [],
    })
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", handler
    finally:
        server.shutdown()
        server.server_close()


def _outcomes(results: list[Any]) -> dict[str, list[str]]:
    return {r.case.id: r.reasons for r in results}


def test_runner_scores_each_case_with_the_known_outcome_and_reason(suite: Suite) -> None:
    results = score_all(Runner(ScriptedAssistant()).run(suite))
    assert _outcomes(results) == EXPECTED
    assert [r.passed for r in results] == [not reasons for reasons in EXPECTED.values()]


def test_runner_returns_cases_in_suite_order_whatever_the_concurrency(suite: Suite) -> None:
    runs = Runner(ScriptedAssistant(), concurrency=4).run(suite)
    assert [run.case.id for run in runs] == [case.id for case in suite.cases]
    assert _outcomes(score_all(runs)) == EXPECTED


def test_runner_gives_each_case_a_fresh_conversation_so_follow_ups_do_not_leak(suite: Suite) -> None:
    runs = Runner(ScriptedAssistant()).run(suite)
    ids = [run.conversation_id for run in runs]
    assert len(set(ids)) == len(ids)
    follow_up = next(run for run in runs if run.case.id == "follow-up-pass")
    assert [turn.message for turn in follow_up.turns] == list(follow_up.case.turns)


def test_runner_passes_the_case_clock_else_the_suite_clock_in_the_brand_time_zone(suite: Suite) -> None:
    assistant = ScriptedAssistant()
    runner = Runner(InProcessTarget(assistant, timezone=ROME), run_id="r1")
    runner.run(suite)
    assert assistant.clocks["eval-r1-hours-pass"] == datetime.fromisoformat("2026-11-25T10:00:00+01:00")
    assert assistant.clocks["eval-r1-crash-error"] == datetime(2026, 12, 24, 18, 0, tzinfo=ROME)


def test_metrics_of_the_scripted_suite_match_a_hand_count(suite: Suite) -> None:
    metrics = compute_metrics(score_all(Runner(ScriptedAssistant()).run(suite)))
    assert (metrics["cases"], metrics["passed"], metrics["errors"]) == (13, 5, 1)
    assert metrics["accuracy"] == round(5 / 13, 4)
    # Of the failures, only 'person-unexpected-fail' (handed off) did not answer; the rest were grounded.
    assert metrics["c_at_1"] == round((5 + 1 * 5 / 13) / 13, 4)
    # Cases with `cite`: hours, sunday, shipping-wrong-citation, follow-up → 3 of 4 cite a wanted source.
    assert metrics["citation_recall"] == 0.75
    assert metrics["citation_precision"] == 0.75
    # Warnings listed on sunday-pass (stale, raised) and shipping-warning-fail (conflict, not raised).
    assert metrics["warning_recall"] == 0.5
    assert metrics["warning_precision"] == 1.0
    assert metrics["warning_recall_stale"] == 1.0
    assert metrics["warning_recall_conflict"] == 0.0
    assert metrics["warning_precision_expired"] is None
    # Answerable cases default to "no handoff"; unanswerable ones without `handoff` are not labelled.
    # Expected on person-pass (made) and hours-handoff-fail (not made); made unexpectedly on person-unexpected.
    assert metrics["handoff_recall"] == 0.5
    assert metrics["handoff_precision"] == 0.5
    assert metrics["unanswerable_refusal_rate"] == 0.5
    assert metrics["latency_p50_ms"] is not None


def test_http_runner_scores_the_same_suite_through_the_messages_route(suite: Suite, service) -> None:
    url, handler = service
    target = HttpTarget(url, "chan-key")
    try:
        results = score_all(Runner(target, concurrency=3).run(suite))
    finally:
        target.close()
    expected = dict(EXPECTED, **{"crash-error": [
        f"error: TargetError: HTTP 500 from {url}/v1/conversations/{results[-1].run.conversation_id}/messages: "
        "index exploded"
    ]})
    assert _outcomes(results) == expected


def test_http_runner_uses_a_new_conversation_id_per_case_and_per_run(suite: Suite, service) -> None:
    url, handler = service
    first, second = HttpTarget(url, "chan-key"), HttpTarget(url, "chan-key")
    Runner(first).run(suite)
    Runner(second).run(suite)
    first.close()
    second.close()
    turns = sum(len(case.turns) for case in suite.cases)
    assert len(handler.seen_ids) == 2 * turns
    assert len(set(handler.seen_ids)) == 2 * len(suite.cases)


def test_http_runner_reports_a_wrong_key_on_every_case(suite: Suite, service) -> None:
    url, _ = service
    target = HttpTarget(url, "wrong")
    results = score_all(Runner(target).run(suite))
    target.close()
    assert all(not r.passed for r in results)
    assert all("HTTP 401" in r.reasons[0] and "unknown key" in r.reasons[0] for r in results)


def test_over_http_a_waiting_handoff_from_an_earlier_turn_is_not_the_next_replys_handoff() -> None:
    """The service shows the conversation's open handoff on every response: a no-answer handoff
    stays open while the bot goes on answering, and those later replies did not hand off (as in
    process); while the handoff holds the conversation (no reply), it is the turn's handoff."""
    waiting = {"id": "h1", "reason": "no_answer", "status": "open"}
    answered = {"text": "Aperti alle 9.", "language": "it", "grounded": True, "citations": [], "warnings": []}
    bodies = iter([
        {"status": "handed_off", "reply": {**answered, "text": "Non lo so.", "grounded": False}, "handoff": waiting},
        {"status": "handed_off", "reply": answered, "handoff": waiting},
        {"status": "handed_off", "reply": None, "handoff": {**waiting, "reason": "human_requested"}},
        {"status": "handed_off", "reply": None, "handoff": {**waiting, "reason": "human_requested"}},
    ])
    transport = httpx.MockTransport(lambda request: httpx.Response(200, json=next(bodies)))
    session = HttpTarget("http://service.test", "k", client=httpx.Client(transport=transport)).session("c1")

    handoffs = [session.send(text, now=None)["handoff"] for text in ("a", "b", "c", "d")]

    assert [h and h["reason"] for h in handoffs] == ["no_answer", None, "human_requested", "human_requested"]
