"""The channels' worker: takes ripe turns (debounced) through the same turn as
`POST /v1/conversations/{id}/messages`, and sends the outbox to the channels' APIs.

Two asyncio tasks, database work in threads. Both are woken when a session that wrote channel
rows commits, and otherwise sleep until the next debounce ripens or the next retry is due, capped
by `poll_interval` (rows written by another process are found within that).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx
from sqlalchemy import event, select
from sqlalchemy.orm import Session

from agent import Conversation, ConversationUpdate, Reply, Turn, TurnResult, phrase
from api import models
from api.background import cancel_and_wait, log_background_error
from api.channels.base import Channel, ChannelRegistry, OutgoingRequest, SendOutcome
from api.channels.builtin import CHANNELS
from api.channels.formatting import reply_messages
from api.channels.store import (
    CHANNEL_FLAG,
    Backoff,
    ClaimedTurn,
    DueSend,
    claim_due,
    claim_turn,
    finish_turn,
    record_send,
    release,
    release_turn,
    ripe_conversations,
)
from api.conversations import InboundMessage, post_message, store_unanswered
from api.db import database_fault
from api.runtime import Runtime

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChannelPolicy:
    """How the worker sends. Defaults suit production; tests shorten the delays."""

    base_delay: float = 2.0  # seconds before the first retry of a failed send; doubles each time
    max_delay: float = 300.0
    max_attempts: int = 12  # failures (not rate limits, which are always waited out) before giving up
    timeout: float = 10.0  # per HTTP attempt
    poll_interval: float = 1.0
    lease: float = 60.0  # a claimed send is invisible to other workers this long
    turn_lease: float = 180.0  # a claimed turn (the agent may call an LLM) likewise
    batch_size: int = 50
    concurrent_turns: int = 4
    enabled: bool = True


class OnlyTextAssistant:
    """The turn for a message we cannot read (a voice note, a photo): say, in the customer's
    language, that only text is read. Going through the same turn keeps it in the transcript
    and respects the handoff states like any other message."""

    def __init__(self, language: str) -> None:
        self.language = language

    def respond(self, conversation: Conversation, message: str, *, now: datetime | None = None) -> TurnResult:
        lang = conversation.focus.get("language") or self.language
        reply = Reply(
            text=phrase(lang, "channel.only_text"), language=lang, grounded=False, trace={"intent": "non_text"}
        )
        turns = (Turn("customer", message, now), Turn("bot", reply.text, now, grounded=False))
        return TurnResult(reply, ConversationUpdate(turns, dict(conversation.focus)))


class ChannelWorker:
    def __init__(
        self,
        runtime: Runtime,
        policy: ChannelPolicy,
        *,
        channels: ChannelRegistry = CHANNELS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.channels = channels
        self.clock = clock
        self.backoff = Backoff(policy.base_delay, policy.max_delay, policy.max_attempts)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake_turns: asyncio.Event | None = None
        self._wake_sends: asyncio.Event | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._in_flight: set[int] = set()
        self._unrecorded: list[tuple[DueSend, SendOutcome]] = []  # sent, outcome not stored yet
        self._windows = {c.name: c.reply_window for c in channels if c.reply_window is not None}
        event.listen(runtime.db.sessions, "after_commit", self._after_commit)

    # --- lifecycle -------------------------------------------------------------------------
    async def start(self) -> None:
        if not self.policy.enabled or self._tasks:
            return
        self._loop = asyncio.get_running_loop()
        self._wake_turns, self._wake_sends = asyncio.Event(), asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.policy.timeout, follow_redirects=False)
        self._tasks = [
            asyncio.create_task(self._run(self._wake_turns, self.take_turns), name="channel-turns"),
            asyncio.create_task(self._run(self._wake_sends, self.send_due), name="channel-sends"),
        ]
        log.info("channel_worker_started")

    async def stop(self) -> None:
        await cancel_and_wait(self._tasks)
        self._tasks = []
        with contextlib.suppress(Exception):  # sends already made: store them if the database lets us
            await asyncio.to_thread(self._record, self._unrecorded)
        if self._in_flight:
            await asyncio.to_thread(self._release, set(self._in_flight))
            self._in_flight.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        log.info("channel_worker_stopped")

    def _after_commit(self, session: Session) -> None:
        if session.info.pop(CHANNEL_FLAG, False):
            self.notify()

    def notify(self) -> None:
        """Wake both loops (safe from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        for wake in (self._wake_turns, self._wake_sends):
            if wake is not None:
                loop.call_soon_threadsafe(wake.set)

    async def _run(self, wake: asyncio.Event, step: Callable[[], Any]) -> None:
        while True:
            wake.clear()
            wait = self.policy.poll_interval
            try:
                done, next_at = await step()
                if done >= self.policy.batch_size:
                    continue
                if next_at is not None:
                    wait = min(wait, max(0.0, (next_at - self.clock()).total_seconds()))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not kill the worker; try again later
                log_background_error(log, "channel_worker", exc)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that lands as
            # the event fires, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await wake.wait()

    # --- turns -----------------------------------------------------------------------------
    async def take_turns(self) -> tuple[int, datetime | None]:
        """Answer every conversation whose messages stopped arriving `debounce_seconds` ago."""
        ripe, next_at = await asyncio.to_thread(self._ripe)
        if not ripe:
            return 0, next_at
        gate = asyncio.Semaphore(self.policy.concurrent_turns)

        async def one(conversation_id: str) -> bool:
            async with gate:
                return await asyncio.to_thread(self.take_turn, conversation_id)

        taken = await asyncio.gather(*(one(c) for c in ripe))
        return sum(taken), next_at

    def _ripe(self) -> tuple[list[str], datetime | None]:
        with self.runtime.db.session() as session:
            return ripe_conversations(
                session,
                now=self.clock(),
                debounce=self.runtime.settings.debounce_seconds,
                limit=self.policy.batch_size,
            )

    def take_turn(self, conversation_id: str) -> bool:
        """Claim the conversation's next group of messages, answer it and queue the reply."""
        with self.runtime.db.session() as session:
            turn = claim_turn(session, conversation_id, now=self.clock(), lease=self.policy.turn_lease)
            if turn is None:
                return False
            channel = self.channels.get(turn.channel)
            if channel is None:
                finish_turn(session, turn, [], state="failed", now=self.clock())
                return True
            now = self.clock()
            assistant: Callable[[], Any] = self.runtime.assistant
            if turn.kind != "text":
                only_text = OnlyTextAssistant(turn.language or self._default_language())
                assistant = lambda: only_text  # noqa: E731
            inbound = InboundMessage(turn.text, turn.user_id, turn.channel, message_id=turn.turn_key)
            limited = self._over_customer_limit(turn)
            try:
                if limited:
                    posted = store_unanswered(session, turn.conversation_id, inbound, now=now)
                else:
                    posted = post_message(session, turn.conversation_id, inbound, assistant=assistant, now=now)
            except Exception as exc:
                session.rollback()
                if database_fault(exc) is not None:
                    # The database failed under the turn (a restart, a lost connection), not the
                    # turn itself: marking it failed would drop a message the provider was told
                    # we have. Give it back; it is taken again once the database answers.
                    log.warning("channel_turn_interrupted", extra={
                        "conversation_id": turn.conversation_id, "error": type(exc).__name__})
                    release_turn(session, turn.conversation_id)
                    return False
                log.exception("channel_turn_failed conversation=%s", turn.conversation_id)
                finish_turn(session, turn, [], state="failed", now=self.clock())
                return True
            if limited and not posted.replayed:
                self.runtime.metrics.channel_turns_limited.labels(channel=turn.channel).inc()
                log.warning(
                    "channel_turn_limited",
                    extra={
                        "channel": turn.channel,
                        "conversation_id": turn.conversation_id,
                        "messages": len(turn.inbound),
                        "limit_per_minute": self.runtime.settings.rate_limit_per_customer_per_minute,
                    },
                )
            if not posted.replayed:
                if posted.reply is not None:
                    self.runtime.metrics.observe_reply(posted.reply)
                if posted.opened_handoff_reason is not None:
                    self.runtime.metrics.observe_handoff(posted.opened_handoff_reason)
            requests = self._requests(session, channel, turn, posted.response)
            finish_turn(session, turn, requests, state="done", now=self.clock())
            log.info(
                "channel_turn",
                extra={
                    "channel": turn.channel,
                    "conversation_id": turn.conversation_id,
                    "messages": len(turn.inbound),
                    "status": posted.response.get("status"),
                    "parts": len(requests),
                },
            )
            return True

    def _over_customer_limit(self, turn: ClaimedTurn) -> bool:
        """Whether this conversation has had SPORTELLO_RATE_LIMIT_PER_CUSTOMER_PER_MINUTE turns in
        the last minute (the bucket the message route uses, shared through Redis when configured).

        The webhook was answered 200 already, and must be: providers send again whatever did not
        get a 2xx, so a 429 there would multiply the flood it meant to stop. Past the limit the
        turn's messages are stored unanswered instead (`store_unanswered`: in the transcript, the
        export and `message.received`; nothing lost) and the bot spends nothing on them. Not
        deferred to a later turn: a flood, or a loop with an auto-responder on the other side,
        would then keep the bot answering at the limit for as long as it lasts. With the debounce
        folding a person's bursts into one turn, a person does not reach the default (30)."""
        key = f"channel-turn:{turn.conversation_id}"
        return self.runtime.customer_limiter.acquire(key, time.monotonic()) is not None

    def _requests(
        self, session: Session, channel: Channel, turn: ClaimedTurn, response: dict[str, Any]
    ) -> list[tuple[str, OutgoingRequest, str | None]]:
        out: list[tuple[str, OutgoingRequest, str | None]] = []
        reply = response.get("reply")
        if reply:
            bot_id = _bot_message_id(session, turn.conversation_id, turn.turn_key)
            for index, text in enumerate(reply_messages(reply, channel.text_limit)):
                key = f"reply:{turn.conversation_id}:{turn.turn_key}:{index}"
                out.append((key, channel.text_request(turn.address, text), bot_id))
        handoff = response.get("handoff")
        if handoff and handoff.get("status") == "open":
            for index, request in enumerate(channel.handoff_requests(turn.address)):
                out.append((f"handoff:{turn.conversation_id}:{handoff['id']}:{index}", request, None))
        return out

    def _default_language(self) -> str:
        try:
            return str(self.runtime.manifest.served_languages[0])
        except Exception:  # no manifest (an injected assistant): English, the phrases' fallback
            return "en"

    # --- sends -----------------------------------------------------------------------------
    async def send_due(self, client: httpx.AsyncClient | None = None) -> tuple[int, datetime | None]:
        """Send the head of every conversation's queue once (concurrently); record the outcomes."""
        client = client or self._client
        if client is None:
            raise RuntimeError("the worker is not started; pass an httpx.AsyncClient or call start()")
        await asyncio.to_thread(self._record, self._unrecorded)
        due, next_at = await asyncio.to_thread(self._claim)
        if not due:
            return 0, next_at
        self._in_flight.update(d.seq for d in due)
        outcomes = await asyncio.gather(*(self._send(client, d) for d in due))
        self._unrecorded.extend(zip(due, outcomes, strict=True))
        await asyncio.to_thread(self._record, self._unrecorded)
        return len(due), next_at

    def _claim(self) -> tuple[list[DueSend], datetime | None]:
        with self.runtime.db.session() as session:
            return claim_due(
                session,
                now=self.clock(),
                lease=self.policy.lease,
                limit=self.policy.batch_size,
                windows=self._windows,
            )

    async def _send(self, client: httpx.AsyncClient, due: DueSend) -> SendOutcome:
        channel = self.channels.get(due.channel)
        if channel is None:
            return SendOutcome(False, None, permanent=True, error=f"no channel {due.channel!r} is registered")
        missing = channel.missing(self.runtime.settings)
        if missing:  # kept, not dropped: it goes once the credentials are there
            return SendOutcome(False, None, rate_limited=True, error=f"not configured: set {', '.join(missing)}")
        url, headers = channel.endpoint(self.runtime.settings, due.path)
        try:
            response = await client.post(url, json=due.body, headers=headers)
        except httpx.HTTPError as exc:
            return SendOutcome(False, None, error=self._redacted(f"{type(exc).__name__}: {exc}")[:500])
        try:
            body = response.json()
        except ValueError:
            body = None
        return channel.outcome(response.status_code, body, {k.lower(): v for k, v in response.headers.items()})

    def _redacted(self, text: str) -> str:
        """An error as GET /v1/channels may show it: Telegram's token is part of its URLs."""
        settings = self.runtime.settings
        for secret in (settings.telegram_bot_token, settings.whatsapp_access_token, settings.chatwoot_bot_token):
            if secret:
                text = text.replace(secret, "***")
        return text

    def _record(self, results: list[tuple[DueSend, SendOutcome]]) -> None:
        """Store the outcomes of sends made, taking each off `results` once stored. Those the
        database could not take stay there and are stored first when it answers: their rows are
        still leased, and a lease that ran out would send the customer the same message again."""
        while results:
            due, outcome = results[0]
            with self.runtime.db.session() as session:
                result = record_send(session, due, outcome, self.backoff, now=self.clock())
            results.pop(0)
            self._in_flight.discard(due.seq)
            log.info(
                "channel_send",
                extra={
                    "channel": due.channel,
                    "conversation_id": due.conversation_id,
                    "outbox": due.seq,
                    "outcome": result,
                    "status_code": outcome.status_code,
                },
            )

    def _release(self, seqs: set[int]) -> None:
        with self.runtime.db.session() as session:
            release(session, seqs)


def _bot_message_id(session: Session, conversation_id: str, customer_message_id: str) -> str | None:
    customer_seq = session.scalar(
        select(models.Message.seq).where(
            models.Message.conversation_id == conversation_id, models.Message.message_id == customer_message_id
        )
    )
    if customer_seq is None:
        return None
    return session.scalar(
        select(models.Message.message_id)
        .where(
            models.Message.conversation_id == conversation_id,
            models.Message.role == "bot",
            models.Message.seq > customer_seq,
        )
        .order_by(models.Message.seq)
        .limit(1)
    )
