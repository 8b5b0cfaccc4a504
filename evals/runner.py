"""Run a suite: each case is a fresh conversation, sent turn by turn to the assistant under test.

Two targets, the same entry points a channel uses:
- in-process: anything with `respond(conversation, message, *, now=None) -> TurnResult` (the real
  `Assistant` from `build_assistant`, or a test double), with the case's clock passed as `now`;
- over HTTP: `POST {url}/v1/conversations/{id}/messages` with a bearer key and a conversation
  id unique to the case and the run.  The service runs on its own clock, so a case's `now`
  cannot be honoured there (the report says how many cases that affects).

Every reply is kept as a plain dict (the shape of `Reply.to_dict()`), so scoring and reports
treat both targets alike.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING, Any, Protocol

import httpx

from agent import Conversation, TurnResult
from evals.errors import TargetError
from evals.suite import Case, Suite

if TYPE_CHECKING:
    from typing_extensions import TypeIs


class Responder(Protocol):
    """What the in-process target needs from an assistant."""

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult: ...


class Session(Protocol):
    def send(self, message: str, *, now: datetime | None) -> dict[str, Any]: ...


class Target(Protocol):
    """Where messages go; one session per case."""

    description: dict[str, Any]

    def session(self, conversation_id: str) -> Session: ...


@dataclass(frozen=True)
class TurnRecord:
    message: str
    reply: dict[str, Any] | None  # None when the turn failed (see CaseRun.error)
    latency_ms: float


@dataclass(frozen=True)
class CaseRun:
    case: Case
    conversation_id: str
    turns: list[TurnRecord]
    error: str | None = None  # why the case could not finish (exception, HTTP error)

    @property
    def last_reply(self) -> dict[str, Any] | None:
        return self.turns[-1].reply if self.turns and self.error is None else None

    @property
    def latency_ms(self) -> float:
        return sum(turn.latency_ms for turn in self.turns)


# --- targets ------------------------------------------------------------------------------------
class InProcessTarget:
    def __init__(self, assistant: Responder, *, timezone: tzinfo | None = None, **description: Any) -> None:
        self.assistant = assistant
        self.timezone = timezone  # naive suite clocks are read in the brand's time zone
        self.description = {"mode": "in-process", **description}

    def session(self, conversation_id: str) -> _InProcessSession:
        return _InProcessSession(self, Conversation(id=conversation_id))


class _InProcessSession:
    def __init__(self, target: InProcessTarget, conversation: Conversation) -> None:
        self.target = target
        self.conversation = conversation

    def send(self, message: str, *, now: datetime | None) -> dict[str, Any]:
        if now is not None and now.tzinfo is None and self.target.timezone is not None:
            now = now.replace(tzinfo=self.target.timezone)
        result = self.target.assistant.respond(self.conversation, message, now=now)
        self.conversation = result.apply(self.conversation)
        reply: dict[str, Any] = result.reply.to_dict()
        return reply


class HttpTarget:
    """A running Sportello service; `client` lets tests pass their own httpx.Client."""

    def __init__(self, url: str, key: str | None, *, timeout: float = 30.0, client: httpx.Client | None = None) -> None:
        self.url = url.rstrip("/")
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        self.client = client or httpx.Client(timeout=timeout)
        self.headers = headers
        self.user_id = f"eval-{uuid.uuid4().hex[:8]}"
        self.description = {"mode": "http", "url": self.url}

    def session(self, conversation_id: str) -> _HttpSession:
        return _HttpSession(self, conversation_id)

    def close(self) -> None:
        self.client.close()


class _HttpSession:
    def __init__(self, target: HttpTarget, conversation_id: str) -> None:
        self.target = target
        self.conversation_id = conversation_id
        self.sent = 0
        self.open_handoff: tuple[str, str] | None = None  # (id, reason) the last response showed

    def send(self, message: str, *, now: datetime | None) -> dict[str, Any]:
        self.sent += 1
        target = self.target
        url = f"{target.url}/v1/conversations/{self.conversation_id}/messages"
        body = {
            "text": message,
            "user_id": target.user_id,
            "channel": "api",
            "message_id": f"{self.conversation_id}-{self.sent}",
        }
        try:
            response = target.client.post(url, json=body, headers=target.headers)
        except httpx.HTTPError as exc:
            raise TargetError(f"cannot reach {target.url}: {type(exc).__name__}: {exc}") from exc
        if response.status_code >= 400:
            raise TargetError(f"HTTP {response.status_code} from {url}: {_problem_detail(response)}")
        try:
            payload = response.json()
        except ValueError as exc:
            raise TargetError(f"{url} did not return JSON (status {response.status_code})") from exc
        reply = reply_from_http(payload)
        shown = payload.get("handoff")
        handoff = (shown["id"], shown["reason"]) if isinstance(shown, dict) else None
        if payload.get("reply") is not None and handoff is not None and handoff == self.open_handoff:
            # A waiting handoff an earlier turn opened (no answer) stays open while the bot goes on
            # answering: this reply did not hand off, as in process (where a reply carries only its own).
            reply["handoff"] = None
        self.open_handoff = handoff
        return reply


def reply_from_http(payload: dict[str, Any]) -> dict[str, Any]:
    """The service's message response as a `Reply.to_dict()`-shaped dict.

    The service returns the reply and, separately, the conversation's open handoff (if any);
    `reply` is null while a person holds the conversation, which reads as an empty, ungrounded
    reply that is handed off.
    """
    reply = dict(payload.get("reply") or {"text": "", "language": "", "grounded": False})
    reply.setdefault("citations", [])
    reply.setdefault("warnings", [])
    reply.setdefault("trace", {})
    reply["handoff"] = payload.get("handoff") or reply.get("handoff")
    reply["status"] = payload.get("status")
    return reply


def _problem_detail(response: httpx.Response) -> str:
    try:
        problem = response.json()
    except ValueError:
        return response.text[:200]
    if isinstance(problem, dict):
        return str(problem.get("detail") or problem.get("title") or problem)[:300]
    return str(problem)[:300]


# --- running ------------------------------------------------------------------------------------
ProgressCallback = Callable[[CaseRun], None]


def _is_target(value: Target | Responder) -> TypeIs[Target]:
    """A target opens sessions; anything else is an assistant, run in process."""
    return hasattr(value, "session")


class Runner:
    """Runs cases against a target, optionally several at once (each case is independent)."""

    def __init__(self, target: Target | Responder, *, concurrency: int = 1, run_id: str | None = None) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.target: Target = target if _is_target(target) else InProcessTarget(target)
        self.concurrency = concurrency
        self.run_id = run_id or uuid.uuid4().hex[:8]

    def run(self, suite: Suite, *, on_case: ProgressCallback | None = None) -> list[CaseRun]:
        """Every case of the suite, in suite order whatever the concurrency."""

        def one(case: Case) -> CaseRun:
            result = self.run_case(case, default_now=suite.now)
            if on_case:
                on_case(result)
            return result

        if self.concurrency == 1:
            return [one(case) for case in suite.cases]
        with ThreadPoolExecutor(max_workers=self.concurrency, thread_name_prefix="eval") as pool:
            return list(pool.map(one, suite.cases))

    def run_case(self, case: Case, *, default_now: datetime | None = None) -> CaseRun:
        conversation_id = f"eval-{self.run_id}-{case.id}"
        now = case.now or default_now
        session = self.target.session(conversation_id)
        turns: list[TurnRecord] = []
        for message in case.turns:
            started = time.perf_counter()
            try:
                reply = session.send(message, now=now)
            except Exception as exc:  # one broken case must not stop the suite; it is reported
                elapsed = (time.perf_counter() - started) * 1000
                turns.append(TurnRecord(message, None, round(elapsed, 3)))
                return CaseRun(case, conversation_id, turns, error=f"{type(exc).__name__}: {exc}")
            elapsed = (time.perf_counter() - started) * 1000
            turns.append(TurnRecord(message, reply, round(elapsed, 3)))
        return CaseRun(case, conversation_id, turns)
