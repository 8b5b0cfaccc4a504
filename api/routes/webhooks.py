"""/v1/webhooks: subscriptions to outbound events, and their recent deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import models
from api import webhooks as service
from api.deps import AdminKey, NowDep, RuntimeDep, SessionDep
from api.schemas import (
    DeliveryOut,
    DeliveryStatus,
    PathId,
    RedeliveryOut,
    WebhookCreated,
    WebhookIn,
    WebhookOut,
    WebhookPatch,
    problem_responses,
)

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=problem_responses(400, 401, 403, 404, 422, 429)
)


def _view(row: models.WebhookSubscription) -> dict:
    return {
        "id": row.id,
        "url": row.url,
        "events": row.events,
        "created_at": row.created_at,
        "enabled": row.disabled_at is None,
        "disabled_at": row.disabled_at,
        "disabled_reason": row.disabled_reason,
    }


@router.post("", response_model=WebhookCreated, status_code=status.HTTP_201_CREATED)
def create_webhook(
    body: WebhookIn, principal: AdminKey, session: SessionDep, runtime: RuntimeDep, now: NowDep
) -> dict:
    """Subscribe a URL to events; verify deliveries with the returned `whsec_` secret (Standard Webhooks)."""
    created = service.create_subscription(
        session, runtime.secrets, url=str(body.url), events=list(body.events), now=now, actor=principal
    )
    return {**_view(created.row), "secret": created.secret}


@router.get("", response_model=list[WebhookOut])
def list_webhooks(principal: AdminKey, session: SessionDep) -> list:
    return [_view(row) for row in service.list_subscriptions(session)]


@router.get("/{webhook_id}", response_model=WebhookOut)
def get_webhook(webhook_id: PathId, principal: AdminKey, session: SessionDep) -> dict:
    """One subscription: whether it is enabled, and why not."""
    return _view(service.get_subscription(session, webhook_id))


@router.patch("/{webhook_id}", response_model=WebhookOut)
def update_webhook(
    webhook_id: PathId, body: WebhookPatch, principal: AdminKey, session: SessionDep, now: NowDep
) -> dict:
    """Enable a subscription again (after its receiver answered 410 Gone), or disable it."""
    row = service.set_enabled(
        session,
        webhook_id,
        enabled=body.enabled,
        reason=f"disabled by admin key {principal.key_id}",
        now=now,
        actor=principal,
    )
    return _view(row)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: PathId, principal: AdminKey, session: SessionDep, now: NowDep) -> Response:
    service.delete_subscription(session, webhook_id, now=now, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    webhook_id: PathId,
    principal: AdminKey,
    session: SessionDep,
    status_: Annotated[DeliveryStatus | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list:
    """The most recent deliveries first, with attempts, the last status code and the last error:
    for debugging a receiver. `?status=failed` is the dead-letter list (out of attempts, or the
    subscription was disabled)."""
    return [_delivery_view(d) for d in service.list_deliveries(session, webhook_id, status=status_, limit=limit)]


# Both answer 202: the deliveries are queued, the worker sends them (as it sends every event).
_REDELIVERY_RESPONSES: dict[int | str, dict] = {
    202: {"description": "queued again; GET …/deliveries shows them go pending → delivered"},
    **problem_responses(409),
}


@router.post(
    "/{webhook_id}/deliveries/retry",
    response_model=RedeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_REDELIVERY_RESPONSES,
)
def redeliver_failed(webhook_id: PathId, principal: AdminKey, session: SessionDep, now: NowDep) -> dict:
    """Send every dead letter (`failed` delivery) of the subscription again, with the same
    `webhook-id` each (receivers drop what they already have) and a full retry schedule. 409 while
    the subscription is disabled: enable it first (`PATCH {"enabled": true}`)."""
    rows = service.redeliver(session, webhook_id, delivery_id=None, now=now, actor=principal)
    return {"count": len(rows), "deliveries": [_delivery_view(d) for d in rows]}


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/retry",
    response_model=RedeliveryOut,
    status_code=status.HTTP_202_ACCEPTED,
    responses=_REDELIVERY_RESPONSES,
)
def redeliver_one(
    webhook_id: PathId, delivery_id: PathId, principal: AdminKey, session: SessionDep, now: NowDep
) -> dict:
    """Send one dead letter again (same `webhook-id`, attempts from 0). 409 when it is not `failed`
    (pending: on its way; delivered: it arrived) or while the subscription is disabled."""
    rows = service.redeliver(session, webhook_id, delivery_id=delivery_id, now=now, actor=principal)
    return {"count": len(rows), "deliveries": [_delivery_view(d) for d in rows]}


def _delivery_view(d: models.WebhookDelivery) -> dict:
    return {
        "id": d.id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "next_attempt_at": d.next_attempt_at,
        "last_error": d.last_error,
        "last_status_code": d.last_status_code,
        "created_at": d.created_at,
        "delivered_at": d.delivered_at,
    }
