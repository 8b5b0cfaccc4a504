"""/v1/handoffs: the operators' queue and the open → claimed → resolved lifecycle."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Query, Response, status

from api import handoffs as service
from api.channels import CHANNELS, send_operator_reply
from api.deps import NowDep, OperatorKey, RuntimeDep, SessionDep
from api.schemas import (
    CursorQuery,
    HandoffOut,
    HandoffPage,
    OperatorMessageIn,
    OperatorMessageOut,
    PathId,
    ResolveIn,
    problem_responses,
)

router = APIRouter(
    prefix="/v1/handoffs", tags=["handoffs"], responses=problem_responses(400, 401, 403, 404, 409, 422, 429)
)


@router.get("", response_model=HandoffPage)
def list_handoffs(
    principal: OperatorKey,
    session: SessionDep,
    status_: Annotated[Literal["open", "claimed", "resolved"] | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: CursorQuery = None,
) -> dict:
    """Handoffs oldest first; `next_cursor` fetches the following page."""
    rows, next_cursor = service.list_handoffs(session, status=status_, limit=limit, cursor=cursor)
    return {"items": [service.handoff_view(session, r) for r in rows], "next_cursor": next_cursor}


@router.get("/{handoff_id}", response_model=HandoffOut)
def get_handoff(handoff_id: PathId, principal: OperatorKey, session: SessionDep) -> dict:
    """One handoff with the conversation's transcript."""
    return service.handoff_view(session, service.get_handoff(session, handoff_id), with_transcript=True)


@router.post("/{handoff_id}/claim", response_model=HandoffOut)
def claim(handoff_id: PathId, principal: OperatorKey, session: SessionDep, now: NowDep) -> dict:
    """Take an open handoff; only its claimer may then reply and resolve."""
    row = service.claim(session, handoff_id, principal, now=now)
    return service.handoff_view(session, row, with_transcript=True)


@router.post(
    "/{handoff_id}/messages",
    response_model=OperatorMessageOut,
    status_code=status.HTTP_201_CREATED,
    responses={
        200: {"model": OperatorMessageOut, "description": "a retry of a stored message_id: the stored message"}
    },
)
def operator_message(
    handoff_id: PathId,
    body: OperatorMessageIn,
    response: Response,
    principal: OperatorKey,
    session: SessionDep,
    runtime: RuntimeDep,
    now: NowDep,
) -> dict:
    """The operator's reply: stored in the transcript, sent as `operator.message`, and delivered
    to the customer when the conversation came from a messaging channel (409 window-closed when
    WhatsApp's 24-hour window has closed and no template is configured)."""
    view, created = send_operator_reply(
        session, CHANNELS, runtime.settings, handoff_id, principal, text=body.text, message_id=body.message_id, now=now
    )
    if not created:
        response.status_code = status.HTTP_200_OK
        response.headers["Idempotent-Replayed"] = "true"
    return view


@router.post("/{handoff_id}/resolve", response_model=HandoffOut)
def resolve(
    handoff_id: PathId, principal: OperatorKey, session: SessionDep, now: NowDep, body: ResolveIn | None = None
) -> dict:
    """Close the handoff and give the conversation back to the bot."""
    row = service.resolve(session, handoff_id, principal, note=body.note if body else None, now=now)
    return service.handoff_view(session, row)
