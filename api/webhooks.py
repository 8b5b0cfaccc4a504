"""Outbound events: subscriptions, a persistent outbox and the worker that delivers it.

Signing follows the Standard Webhooks spec (https://www.standardwebhooks.com/): headers
`webhook-id`, `webhook-timestamp` and `webhook-signature: v1,<base64 HMAC-SHA256 of
"{id}.{timestamp}.{body}">` with a `whsec_` base64 secret. The `webhook-id` is the outbox row id,
the same on every retry, so receivers can drop duplicates (delivery is at least once). Signing
needs the secret itself, so it is stored encrypted (api/secretbox.py), never hashed.

`emit` only writes outbox rows inside the caller's transaction: an event exists if and only if
the change it reports was committed, and a reply never waits for a receiver. `DeliveryWorker`
(an asyncio task in the app's lifespan) sends due rows, retries failures with exponential
backoff, and picks up whatever was pending when the service last stopped.

A delivery out of attempts ends `failed`: the dead-letter list of a subscription is
`GET /v1/webhooks/{id}/deliveries?status=failed`. A receiver answering 410 Gone says the endpoint
is gone for good (as Standard Webhooks senders such as Svix treat it): its subscription is disabled,
its pending deliveries end `failed`, and nothing more is queued for it until an admin enables it
again (`PATCH /v1/webhooks/{id}` with `{"enabled": true}`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import logging
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, get_args

import httpx
from pydantic_core import to_json
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.orm import Session
from standardwebhooks import Webhook

from api import audit, models
from api.background import cancel_and_wait, log_background_error
from api.db import Database, rows_affected
from api.errors import DeliveryNotFailed, SubscriptionDisabled, UnknownDelivery, UnknownWebhook
from api.metrics import Metrics
from api.schemas import EventType
from api.secretbox import SecretBox, SecretKeyError

log = logging.getLogger(__name__)

# One list of event types: the API schema declares it, delivery validates against it.
EVENT_TYPES: tuple[str, ...] = get_args(EventType)
_PRUNE_EVERY = 3600.0  # seconds between prunes of old deliveries
GONE = 410  # the receiver's way to unsubscribe (RFC 9110, 15.5.11: "no longer available … permanent")
# Set on a session that wrote outbox rows; the app wakes the worker after that session commits.
OUTBOX_FLAG = "webhook_outbox_written"


@dataclass(frozen=True)
class DeliveryPolicy:
    """How the worker delivers. Defaults suit production; tests shorten the delays."""

    base_delay: float = 5.0  # seconds before the first retry; doubles on each failure
    max_delay: float = 3600.0
    # Then the delivery is marked failed. 34 attempts on the schedule above span 24.4 hours (5 s,
    # 10 s … 2,560 s, then hourly), so a receiver down for a day still gets every event; 10 gave
    # up after 43 minutes, losing everything an hour-long outage held (fault drill, README).
    max_attempts: int = 34
    timeout: float = 10.0  # per HTTP attempt
    poll_interval: float = 2.0  # how often to look for due rows when nothing wakes the worker
    batch_size: int = 20
    # A claimed row is invisible to other workers for this long, so two processes sharing one
    # database do not send the same row at once; if a process dies mid-send the row comes back.
    lease: float = 60.0
    # Delivered and failed rows are kept this long (for GET /v1/webhooks/{id}/deliveries), then pruned.
    keep_days: float = 7.0
    enabled: bool = True


def retry_delay(attempts: int, policy: DeliveryPolicy) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: base, 2×base, 4×base … capped."""
    return min(policy.max_delay, policy.base_delay * 2 ** max(0, attempts - 1))


# --- subscriptions -------------------------------------------------------------------------
def new_secret() -> str:
    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


@dataclass(frozen=True)
class NewSubscription:
    row: models.WebhookSubscription
    secret: str  # the whsec_ secret in clear: returned once, stored encrypted


def create_subscription(
    session: Session, box: SecretBox, *, url: str, events: list[str], now: datetime, actor: audit.Actor
) -> NewSubscription:
    unknown = sorted(set(events) - set(EVENT_TYPES))
    if unknown:
        raise ValueError(f"unknown event types {unknown}; expected some of {', '.join(EVENT_TYPES)}")
    secret = new_secret()
    row = models.WebhookSubscription(
        id=models.new_id("wh"),
        url=url,
        events=sorted(set(events), key=EVENT_TYPES.index),
        secret=box.seal(secret),
        created_at=now,
    )
    session.add(row)
    # The URL stays out of the audit row: receivers often carry a token in it.
    audit.record(session, actor, audit.WEBHOOK_CREATE, row.id, now=now, detail={"events": row.events})
    session.commit()
    return NewSubscription(row, secret)


def signing_secret(box: SecretBox, subscription: models.WebhookSubscription) -> str:
    return box.open(subscription.secret, what=f"the signing secret of webhook {subscription.id}")


def check_secrets(session: Session, box: SecretBox) -> None:
    """SecretKeyError naming the first subscription whose secret the keys cannot open (/readyz)."""
    for subscription in session.scalars(select(models.WebhookSubscription)):
        signing_secret(box, subscription)


def reseal_secrets(session: Session, box: SecretBox) -> int:
    """Re-encrypt every stored secret with the first key (after a new key was put first); commits.
    Returns how many were rewritten. A secret no key opens stops it, with nothing changed."""
    rows = list(session.scalars(select(models.WebhookSubscription)))
    for row in rows:
        row.secret = box.rotate(row.secret, what=f"the signing secret of webhook {row.id}")
    session.commit()
    return len(rows)


def list_subscriptions(session: Session) -> list[models.WebhookSubscription]:
    query = select(models.WebhookSubscription).order_by(models.WebhookSubscription.created_at)
    return list(session.scalars(query))


def get_subscription(session: Session, webhook_id: str) -> models.WebhookSubscription:
    row = session.get(models.WebhookSubscription, webhook_id)
    if row is None:
        raise UnknownWebhook(webhook_id)
    return row


def delete_subscription(session: Session, webhook_id: str, *, now: datetime, actor: audit.Actor) -> None:
    get_subscription(session, webhook_id)
    audit.record(session, actor, audit.WEBHOOK_DELETE, webhook_id, now=now)
    session.execute(
        delete(models.WebhookDelivery).where(models.WebhookDelivery.subscription_id == webhook_id)
    )
    session.execute(delete(models.WebhookSubscription).where(models.WebhookSubscription.id == webhook_id))
    session.commit()


def set_enabled(
    session: Session, webhook_id: str, *, enabled: bool, reason: str, now: datetime, actor: audit.Actor
) -> models.WebhookSubscription:
    """Enable or disable a subscription (an admin's PATCH). Disabling ends its pending deliveries
    `failed`, as a 410 does; enabling queues nothing again: events emitted meanwhile were never
    queued, and dead letters stay as they are until an admin sends them again (`redeliver`)."""
    row = get_subscription(session, webhook_id)
    audit.record(session, actor, audit.WEBHOOK_UPDATE, webhook_id, now=now, detail={"enabled": enabled})
    if enabled:
        row.disabled_at = None
        row.disabled_reason = None
        session.commit()
        return row
    if row.disabled_at is None:
        disable_subscription(session, webhook_id, reason=reason, now=now)
    session.commit()
    session.refresh(row)
    return row


def redeliver(
    session: Session, webhook_id: str, *, delivery_id: str | None, now: datetime, actor: audit.Actor
) -> list[models.WebhookDelivery]:
    """Queue dead letters again: one (`delivery_id`) or every failed delivery of the subscription
    (None); commits and returns the rows queued, oldest first.

    Each row keeps its id, so the `webhook-id` header is the one the receiver may already have
    seen (Standard Webhooks: receivers drop duplicates by it), and its body; `attempts` starts
    again at 0 with the whole retry schedule ahead, due now. `last_error` and
    `last_status_code` keep what the last attempt met until the next one replaces them.

    The subscription must be enabled (SubscriptionDisabled otherwise: a receiver that answered
    410 said it is gone, and nothing is sent to a disabled subscription); one delivery must be
    `failed` (DeliveryNotFailed). The UPDATE re-checks `failed` inside the write, so of two
    admins asking at once one queues each row, and the worker sends it once.
    """
    subscription = get_subscription(session, webhook_id)
    delivery = models.WebhookDelivery
    if delivery_id is not None:
        row = session.get(delivery, delivery_id)
        if row is None or row.subscription_id != webhook_id:
            raise UnknownDelivery(webhook_id, delivery_id)
    if subscription.disabled_at is not None:
        raise SubscriptionDisabled(webhook_id, subscription.disabled_reason)
    scope = [delivery.subscription_id == webhook_id, delivery.status == "failed"]
    if delivery_id is not None:
        scope.append(delivery.id == delivery_id)
    queued = set(session.scalars(
        update(delivery)
        .where(*scope)
        .values(status="pending", attempts=0, next_attempt_at=None, delivered_at=None)
        .returning(delivery.id)
        .execution_options(synchronize_session=False)
    ))
    if delivery_id is not None and not queued:
        session.rollback()
        current = session.get(delivery, delivery_id)
        raise DeliveryNotFailed(delivery_id, current.status if current is not None else "gone")
    detail: dict[str, Any] = {"count": len(queued)}
    if delivery_id is not None:
        detail["delivery_id"] = delivery_id
    audit.record(session, actor, audit.WEBHOOK_REDELIVER, webhook_id, now=now, detail=detail)
    session.info[OUTBOX_FLAG] = True  # the app wakes the worker once this commits
    session.commit()
    rows = list(session.scalars(
        select(delivery)
        .where(delivery.id.in_(queued))
        .order_by(delivery.created_at, delivery.id)
        .execution_options(populate_existing=True)  # the UPDATE skipped the loaded row
    )) if queued else []
    log.info(
        "webhook_redelivery_queued",
        extra={"subscription_id": webhook_id, "count": len(rows), "actor": actor.key_id},
    )
    return rows


def disable_subscription(session: Session, webhook_id: str, *, reason: str, now: datetime) -> int:
    """Mark the subscription disabled and end its pending deliveries `failed` (the caller commits).

    Conditional on the subscription being enabled, so of two workers seeing a 410 at once one
    disables it; returns how many pending deliveries were ended (0 when it was already disabled).
    """
    subscription = models.WebhookSubscription
    won = rows_affected(session.execute(
        update(subscription)
        .where(subscription.id == webhook_id, subscription.disabled_at.is_(None))
        .values(disabled_at=now, disabled_reason=reason[:500])
        .execution_options(synchronize_session=False)
    ))
    if not won:
        return 0
    delivery = models.WebhookDelivery
    ended = rows_affected(session.execute(
        update(delivery)
        .where(delivery.subscription_id == webhook_id, delivery.status == "pending")
        .values(status="failed", next_attempt_at=None, last_error=f"subscription disabled: {reason}"[:500])
        .execution_options(synchronize_session=False)
    ))
    log.warning(
        "webhook_subscription_disabled",
        extra={"subscription_id": webhook_id, "reason": reason[:200], "pending_failed": ended},
    )
    return ended


def list_deliveries(
    session: Session, webhook_id: str, *, status: str | None = None, limit: int = 50
) -> list[models.WebhookDelivery]:
    """A subscription's deliveries, newest first; `status="failed"` is its dead-letter list."""
    get_subscription(session, webhook_id)
    delivery = models.WebhookDelivery
    query = select(delivery).where(delivery.subscription_id == webhook_id)
    if status is not None:
        query = query.where(delivery.status == status)
    query = query.order_by(delivery.created_at.desc(), delivery.id).limit(limit)
    return list(session.scalars(query))


# --- the outbox ------------------------------------------------------------------------------
def event_body(event_type: str, data: dict[str, Any], *, now: datetime) -> str:
    """The JSON body, in the Standard Webhooks payload shape {type, timestamp, data}."""
    payload = {"type": event_type, "timestamp": now.astimezone(UTC), "data": data}
    # pydantic's encoder: datetimes look the same here as in the API's responses.
    return to_json(payload).decode("utf-8")


def enabled_subscriptions(session: Session) -> list[models.WebhookSubscription]:
    """The subscriptions events are queued for now (read once by a caller that emits several
    events in one transaction: `emit(..., enabled=...)`)."""
    query = select(models.WebhookSubscription).where(models.WebhookSubscription.disabled_at.is_(None))
    return list(session.scalars(query))


def emit(
    session: Session,
    event_type: str,
    data: dict[str, Any],
    *,
    now: datetime,
    enabled: list[models.WebhookSubscription] | None = None,
) -> int:
    """Queue `event_type` for every subscription that wants it; the caller commits. Returns the count.
    `enabled`: what `enabled_subscriptions` read earlier in the same transaction (else read here)."""
    if event_type not in EVENT_TYPES:
        raise ValueError(f"unknown event type {event_type!r}")
    subscriptions = [s for s in (enabled_subscriptions(session) if enabled is None else enabled)
                     if event_type in s.events]  # fmt: skip
    if not subscriptions:
        return 0
    body = event_body(event_type, data, now=now)
    for subscription in subscriptions:
        session.add(
            models.WebhookDelivery(
                id=models.new_id("evt"),
                subscription_id=subscription.id,
                conversation_id=data.get("conversation_id"),
                event_type=event_type,
                payload=body,
                status="pending",
                attempts=0,
                next_attempt_at=None,  # due now, by the worker's clock
                created_at=now,
            )
        )
    session.info[OUTBOX_FLAG] = True
    return len(subscriptions)


def signature_headers(secret: str, msg_id: str, body: str, at: datetime) -> dict[str, str]:
    signature = Webhook(secret).sign(msg_id, at.astimezone(UTC), body)
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(at.timestamp())),
        "webhook-signature": signature,
        "content-type": "application/json",
    }


# --- delivery --------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Due:
    id: str
    url: str
    secret: str | None  # None: the keys cannot open it (`error` says why); not sent
    payload: str
    event_type: str
    error: str | None = None


@dataclass(frozen=True)
class _Outcome:
    id: str
    ok: bool
    status_code: int | None
    error: str | None


class DeliveryWorker:
    """Sends due outbox rows from an asyncio task; database work runs in threads."""

    def __init__(
        self,
        db: Database,
        policy: DeliveryPolicy,
        metrics: Metrics,
        *,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.db = db
        self.policy = policy
        self.metrics = metrics
        self.clock = clock
        self._loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._task: asyncio.Task[None] | None = None
        self._client: httpx.AsyncClient | None = None
        self._in_flight: set[str] = set()
        self._unrecorded: list[_Outcome] = []
        self._pruned_at = float("-inf")

    async def start(self) -> None:
        if not self.policy.enabled or self._task is not None:
            return
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        self._client = httpx.AsyncClient(timeout=self.policy.timeout, follow_redirects=False)
        self._task = asyncio.create_task(self._run(), name="webhook-delivery")
        log.info("webhook_worker_started")

    async def stop(self) -> None:
        if self._task is None:
            return
        await cancel_and_wait([self._task])
        self._task = None
        with contextlib.suppress(Exception):  # sends already made are attempts: store them if we can
            await self._record_unrecorded()
        if self._in_flight:
            # Interrupted sends were not attempts: make them due again for the next start.
            await asyncio.to_thread(self._release, set(self._in_flight))
            self._in_flight.clear()
        if self._client is not None:
            await self._client.aclose()
            self._client = None
        log.info("webhook_worker_stopped")

    def notify(self) -> None:
        """Wake the worker now (safe from any thread): an outbox row was just committed."""
        loop, wake = self._loop, self._wake
        if loop is not None and wake is not None and not loop.is_closed():
            loop.call_soon_threadsafe(wake.set)

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            self._wake.clear()
            sent, failed = 0, False
            try:
                if time.monotonic() - self._pruned_at > _PRUNE_EVERY:
                    self._pruned_at = time.monotonic()
                    await asyncio.to_thread(self.prune)
                sent = await self.deliver_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not kill the worker; try again later
                failed = True
                log_background_error(log, "webhook_worker", exc)
            if sent >= self.policy.batch_size:
                continue  # more may be due right now
            wait = self.policy.poll_interval
            try:
                # After a failure, a poll interval: a database that reads but cannot write (a full
                # disk) still shows the rows as due, and asking again at once was a busy loop.
                if not failed:
                    wait = await asyncio.to_thread(self._seconds_until_due)
            except Exception as exc:
                log_background_error(log, "webhook_worker", exc)
            # asyncio.timeout, not wait_for: on Python 3.11 wait_for can swallow a cancel that lands as
            # the event fires, and stop() then waits for this loop forever.
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(wait):
                    await self._wake.wait()

    async def deliver_due(self, client: httpx.AsyncClient | None = None) -> int:
        """Send every due row once (concurrently) and record the outcomes; return how many.

        The background task calls this; tests may call it directly with their own client.
        """
        client = client or self._client
        if client is None:
            raise RuntimeError("the worker is not started; pass an httpx.AsyncClient or call start()")
        await self._record_unrecorded()
        due = await asyncio.to_thread(self._claim_due)
        if not due:
            return 0
        self._in_flight.update(d.id for d in due)
        outcomes = await asyncio.gather(*(self._send(client, d) for d in due))
        self._unrecorded.extend(outcomes)
        await self._record_unrecorded()
        return len(due)

    async def _record_unrecorded(self) -> None:
        """Store the outcomes of sends already made. When the database was away they wait here
        and are stored first when it answers: their rows are still leased, and a lease that ran
        out would send them a second time (the receiver got them already)."""
        if not self._unrecorded:
            return
        outcomes = list(self._unrecorded)
        await asyncio.to_thread(self._record, outcomes)
        del self._unrecorded[: len(outcomes)]
        self._in_flight.difference_update(o.id for o in outcomes)

    async def _send(self, client: httpx.AsyncClient, due: _Due) -> _Outcome:
        if due.secret is None:
            return _Outcome(due.id, False, None, due.error)
        headers = signature_headers(due.secret, due.id, due.payload, self.clock())
        try:
            response = await client.post(due.url, content=due.payload.encode("utf-8"), headers=headers)
        except httpx.HTTPError as exc:
            return _Outcome(due.id, False, None, f"{type(exc).__name__}: {exc}"[:500])
        if 200 <= response.status_code < 300:
            return _Outcome(due.id, True, response.status_code, None)
        return _Outcome(due.id, False, response.status_code, f"receiver answered HTTP {response.status_code}")

    # --- database side (threads) ---------------------------------------------------------
    def _claim_due(self) -> list[_Due]:
        """Lease the due rows this worker wins.

        The SELECT only proposes candidates: on SQLite it runs outside any write transaction (and
        FOR UPDATE SKIP LOCKED is ignored there), so another process may propose the same rows.
        The candidates are then claimed with one conditional UPDATE that re-checks "still due"
        inside the write, and only the rows it returns are ours: each attempt is made by one
        worker. (One statement for the batch, not one per row: benchmarks/outbox.py.)
        """
        now = self.clock()
        delivery = models.WebhookDelivery
        still_due = (
            delivery.status == "pending",
            or_(delivery.next_attempt_at.is_(None), delivery.next_attempt_at <= now),
        )
        with self.db.session() as session:
            query = (
                select(delivery, models.WebhookSubscription)
                .join(models.WebhookSubscription)
                .where(*still_due, models.WebhookSubscription.disabled_at.is_(None))
                .order_by(delivery.created_at, delivery.id)
                .limit(self.policy.batch_size)
                .with_for_update(skip_locked=True, of=delivery)  # PostgreSQL: skip rows others hold
            )
            rows = session.execute(query).all()
            if not rows:
                session.rollback()
                return []
            lease_until = now + timedelta(seconds=self.policy.lease)
            won = set(session.scalars(
                update(delivery)
                .where(delivery.id.in_([candidate.id for candidate, _ in rows]), *still_due)
                .values(next_attempt_at=lease_until)
                .returning(delivery.id)
                .execution_options(synchronize_session=False)
            ))
            session.commit()
        # Rows another worker claimed between our read and our write are not returned: skip them.
        due = []
        for candidate, subscription in rows:
            if candidate.id in won:
                secret, error = self._secret_of(subscription)
                due.append(_Due(candidate.id, subscription.url, secret, candidate.payload, candidate.event_type, error))
        return due

    def _secret_of(self, subscription: models.WebhookSubscription) -> tuple[str | None, str | None]:
        # A wrong SPORTELLO_SECRET_KEY fails the attempt with the reason in last_error (and the
        # log, and /readyz): it retries with backoff, so fixing the key in time loses nothing.
        try:
            return signing_secret(self.db.secret_box(), subscription), None
        except SecretKeyError as exc:
            log.error("webhook_secret_unreadable", extra={"webhook_id": subscription.id, "error": str(exc)})
            return None, str(exc)[:500]

    def _record(self, outcomes: list[_Outcome]) -> None:
        now = self.clock()
        with self.db.session() as session:
            delivery = models.WebhookDelivery
            rows = {
                row.id: row
                for row in session.scalars(select(delivery).where(delivery.id.in_([o.id for o in outcomes])))
            }
            for outcome in outcomes:
                row = rows.get(outcome.id)
                if row is None:  # the subscription was deleted meanwhile
                    continue
                row.attempts += 1
                row.last_status_code = outcome.status_code
                row.last_error = outcome.error
                if outcome.ok:
                    row.status = "delivered"
                    row.delivered_at = now
                    result = "delivered"
                elif outcome.status_code == GONE:
                    row.status = "failed"
                    row.next_attempt_at = None
                    session.flush()  # this row first, then the subscription's other pending ones
                    disable_subscription(
                        session,
                        row.subscription_id,
                        reason=f"the receiver answered HTTP 410 Gone to delivery {row.id}",
                        now=now,
                    )
                    for other in rows.values():  # the batch's rows it ended: read them again
                        if other is not row and other.subscription_id == row.subscription_id:
                            session.expire(other)
                    result = "failed"
                elif row.status != "pending" or row.attempts >= self.policy.max_attempts:
                    # Out of attempts, or ended meanwhile (its subscription was disabled).
                    row.status = "failed"
                    row.next_attempt_at = None
                    result = "failed"
                else:
                    row.next_attempt_at = now + timedelta(seconds=retry_delay(row.attempts, self.policy))
                    result = "retry"
                self.metrics.webhook_deliveries.labels(outcome=result).inc()
                log.info(
                    "webhook_delivery",
                    extra={
                        "delivery_id": row.id,
                        "event_type": row.event_type,
                        "outcome": result,
                        "attempts": row.attempts,
                        "status_code": outcome.status_code,
                    },
                )
            session.commit()

    def _release(self, ids: set[str]) -> None:
        with self.db.session() as session:
            for delivery_id in ids:
                row = session.get(models.WebhookDelivery, delivery_id)
                if row is not None and row.status == "pending":
                    row.next_attempt_at = None
            session.commit()

    def prune(self) -> int:
        """Delete finished deliveries older than `keep_days`; pending ones are never pruned. A
        pending row of a disabled subscription (emitted while it was being disabled) ends `failed`."""
        cutoff = self.clock() - timedelta(days=self.policy.keep_days)
        delivery = models.WebhookDelivery
        disabled = select(models.WebhookSubscription.id).where(models.WebhookSubscription.disabled_at.is_not(None))
        with self.db.session() as session:
            session.execute(
                update(delivery)
                .where(delivery.status == "pending", delivery.subscription_id.in_(disabled))
                .values(status="failed", next_attempt_at=None, last_error="subscription disabled")
                .execution_options(synchronize_session=False)
            )
            result = session.execute(
                delete(models.WebhookDelivery).where(
                    models.WebhookDelivery.status.in_(("delivered", "failed")),
                    models.WebhookDelivery.created_at < cutoff,
                )
            )
            session.commit()
        return rows_affected(result)

    def _seconds_until_due(self) -> float:
        # Rows of a disabled subscription are never due (one queued while it was being disabled
        # stays pending until the next prune ends it).
        pending = (
            models.WebhookDelivery.status == "pending",
            models.WebhookDelivery.subscription_id.in_(
                select(models.WebhookSubscription.id).where(models.WebhookSubscription.disabled_at.is_(None))
            ),
        )
        due_at = models.WebhookDelivery.next_attempt_at
        with self.db.session() as session:
            if session.scalar(select(models.WebhookDelivery.id).where(*pending, due_at.is_(None)).limit(1)):
                return 0.0
            soonest = session.scalar(select(func.min(due_at)).where(*pending))
        if soonest is None:
            return self.policy.poll_interval
        if isinstance(soonest, str) or soonest.tzinfo is None:  # SQLite may hand back the raw value
            soonest = datetime.fromisoformat(str(soonest)).replace(tzinfo=UTC)
        wait = (soonest - self.clock()).total_seconds()
        return min(self.policy.poll_interval, max(0.0, wait))
