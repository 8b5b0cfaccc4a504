"""/v1/webhooks: subscriptions to outbound events, and their recent deliveries."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from api import models
from api import webhooks as service
from api.deps import AdminKey, NowDep, RuntimeDep, SessionDep
from api.schemas import DeliveryOut, PathId, WebhookCreated, WebhookIn, WebhookOut, problem_responses

router = APIRouter(
    prefix="/v1/webhooks", tags=["webhooks"], responses=problem_responses(400, 401, 403, 404, 422, 429)
)


def _view(row: models.WebhookSubscription) -> dict:
    return {"id": row.id, "url": row.url, "events": row.events, "created_at": row.created_at}


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


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_webhook(webhook_id: PathId, principal: AdminKey, session: SessionDep, now: NowDep) -> Response:
    service.delete_subscription(session, webhook_id, now=now, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/{webhook_id}/deliveries", response_model=list[DeliveryOut])
def list_deliveries(
    webhook_id: PathId, principal: AdminKey, session: SessionDep, limit: Annotated[int, Query(ge=1, le=200)] = 50
) -> list:
    """The most recent deliveries first, with attempts and the last error: for debugging a receiver."""
    return [
        {
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
        for d in service.list_deliveries(session, webhook_id, limit=limit)
    ]
