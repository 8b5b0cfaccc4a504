"""/v1/conversations: customer messages in, replies out; transcript, feedback, handoff requests."""

from __future__ import annotations

import logging
import time
from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from api import conversations as service
from api import erasure, handoffs
from api.channels import ensure_in_scope
from api.deps import AdminKey, ChannelKey, NowDep, ReaderKey, RuntimeDep, SessionDep
from api.errors import RateLimited
from api.schemas import (
    ID_PATTERN,
    ConversationOut,
    ErasureOut,
    FeedbackIn,
    FeedbackOut,
    HandoffOut,
    HandoffRequestIn,
    MessageIn,
    MessageOut,
    problem_responses,
)

log = logging.getLogger(__name__)
router = APIRouter(
    prefix="/v1/conversations",
    tags=["conversations"],
    responses=problem_responses(400, 401, 403, 404, 409, 413, 422, 429, 503),
)
ConversationId = Annotated[
    str, Path(pattern=ID_PATTERN, description="the channel's id for this conversation")
]


@router.post(
    "/{conversation_id}/messages", response_model=MessageOut, responses={200: {"description": "the reply"}}
)
def post_message(
    conversation_id: ConversationId,
    body: MessageIn,
    response: Response,
    principal: ChannelKey,
    session: SessionDep,
    runtime: RuntimeDep,
    now: NowDep,
) -> dict:
    """Answer one customer message. Repeating a `message_id` returns the first response unchanged."""
    ensure_in_scope(session, principal, conversation_id, writing_as=body.channel)
    retry_after = runtime.customer_limiter.acquire(f"{principal.key_id}:{conversation_id}", time.monotonic())
    if retry_after is not None:
        raise RateLimited(retry_after, "this customer's conversation")
    inbound = service.InboundMessage(
        text=body.text, user_id=body.user_id, channel=body.channel, message_id=body.message_id
    )
    posted = service.post_message(session, conversation_id, inbound, assistant=runtime.assistant, now=now)
    if posted.replayed:
        response.headers["Idempotent-Replayed"] = "true"
    else:
        if posted.reply is not None:
            runtime.metrics.observe_reply(posted.reply)
        if posted.opened_handoff_reason is not None:
            runtime.metrics.observe_handoff(posted.opened_handoff_reason)
    log.info(
        "message_handled",
        extra={
            "conversation_id": conversation_id,
            "status": posted.response["status"],
            "replayed": posted.replayed,
            "grounded": posted.reply.grounded if posted.reply else None,
            "intent": posted.reply.trace.get("intent") if posted.reply else None,
        },
    )
    return posted.response


@router.get("/{conversation_id}", response_model=ConversationOut)
def get_conversation(conversation_id: ConversationId, principal: ReaderKey, session: SessionDep) -> dict:
    """The transcript, with every reply's citations and warnings, the handoffs and the feedback."""
    ensure_in_scope(session, principal, conversation_id)
    return service.get_conversation(session, conversation_id)


@router.delete("/{conversation_id}", response_model=ErasureOut)
def erase_conversation(
    conversation_id: ConversationId, principal: AdminKey, session: SessionDep, now: NowDep
) -> dict:
    """Erase the conversation and everything stored about it (messages, handoffs, feedback,
    queued and past events); subscribers get `conversation.erased`. Afterwards GET is 404."""
    counts = erasure.erase_conversation(session, conversation_id, now=now, actor=principal)
    log.info("conversation_erased", extra={"conversation_id": conversation_id, "reason": "request"})
    return {"conversation_id": conversation_id, "erased": counts}


@router.get("/{conversation_id}/export")
def export_conversation(
    conversation_id: ConversationId, principal: AdminKey, session: SessionDep, now: NowDep
) -> dict:
    """Everything stored about the conversation, table by table (a data subject's access request)."""
    return erasure.export_conversation(session, conversation_id, now=now, actor=principal)


@router.post("/{conversation_id}/feedback", response_model=FeedbackOut, status_code=status.HTTP_201_CREATED)
def post_feedback(
    conversation_id: ConversationId, body: FeedbackIn, principal: ChannelKey, session: SessionDep, now: NowDep
) -> dict:
    """The customer's satisfaction rating (1–5) with an optional comment."""
    ensure_in_scope(session, principal, conversation_id)
    return service.add_feedback(session, conversation_id, rating=body.rating, comment=body.comment, now=now)


@router.post("/{conversation_id}/handoff", response_model=HandoffOut, status_code=status.HTTP_201_CREATED)
def request_handoff(
    conversation_id: ConversationId,
    principal: ReaderKey,
    session: SessionDep,
    runtime: RuntimeDep,
    now: NowDep,
    body: HandoffRequestIn | None = None,
) -> dict:
    """Hand the conversation to a person from outside the bot (a button, a CRM rule, an operator)."""
    ensure_in_scope(session, principal, conversation_id)
    body = body or HandoffRequestIn()
    row = handoffs.request_handoff(
        session,
        conversation_id,
        reason=str(body.reason),
        summary=body.summary,
        language=body.language,
        principal=principal,
        now=now,
    )
    runtime.metrics.observe_handoff(row.reason)
    return handoffs.handoff_view(session, row, with_transcript=True)
