"""/chat and /widget.js: the web chat a brand's site embeds with one tag.

    <script src="https://chat.brand.example/widget.js" data-key="sk_..." data-lang="it" async></script>

widget.js adds a button and an iframe on /chat; the page takes the public `web` key from its URL
fragment (never sent to a server, so never in a log) and trades it once for a visitor cookie
bound to one new conversation. From then on the cookie alone is the credential, and it only
reaches that conversation: a `web` key cannot read or write anything else (it is refused by
every /v1 route). Messages take the same turn as POST /v1/conversations/{id}/messages, on the
`web` channel; operator replies appear through a server-sent event stream.

Browsers send the cookie to the iframe only when /chat is on the same site as the page that
embeds it (chat.brand.example inside brand.example): serve it under the brand's domain.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from starlette.exceptions import HTTPException

from agent import when_a_person_answers
from api import conversations, models
from api.deps import NowDep, RuntimeDep, SessionDep, _bearer
from api.errors import AuthenticationFailed, RateLimited
from api.handoffs import active_handoff
from api.keys import authenticate
from api.runtime import Runtime
from api.web.pages import HERE, change_stream, render
from api.web.phrases import chat_language, chat_phrases
from api.web.sessions import CHAT_COOKIE, CHAT_LIFETIME, find_session, new_token, open_session

router = APIRouter(include_in_schema=False)
CHAT_HEADER = "x-sportello-chat"  # a custom header: a cross-site form cannot send it


class ChatSessionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lang: str | None = Field(default=None, max_length=16)


class ChatMessageIn(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)
    text: str = Field(min_length=1, max_length=4000)


def _brand_language(runtime: Runtime) -> str | None:
    try:
        return runtime.manifest.language if runtime.has_manifest else None
    except Exception:  # no readable manifest: the chat still works in English
        return None


@router.get("/widget.js")
def widget() -> Response:
    return FileResponse(HERE / "static" / "widget.js", media_type="text/javascript", headers={"cache-control": "max-age=300"})


@router.get("/chat")
def chat_page(runtime: RuntimeDep, lang: str | None = None) -> Response:
    language = chat_language(lang, _brand_language(runtime))
    return render("chat.html", lang=language, phrases=chat_phrases(language))


# --- the visitor's session -------------------------------------------------------------------------
def _visitor(request: Request, session: Session, now: datetime) -> models.WebSession:
    if request.headers.get(CHAT_HEADER) != "1":
        raise HTTPException(403, f"send the {CHAT_HEADER} header (the chat page does)")
    row = find_session(session, request.cookies.get(CHAT_COOKIE), kind="chat", now=now)
    if row is None or row.conversation_id is None:
        raise HTTPException(401, "no chat session: open the chat again")
    return row


@router.post("/chat/api/session")
def start_session(
    body: ChatSessionIn, request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep
) -> Response:
    """Trade the site's web key for a visitor cookie; an existing cookie keeps its conversation."""
    if request.headers.get(CHAT_HEADER) != "1":
        raise HTTPException(403, f"send the {CHAT_HEADER} header (the chat page does)")
    principal = authenticate(session, _bearer(request), admin_key=None)
    if principal.role != "web":
        raise AuthenticationFailed("the chat needs a web-channel key (role web)")
    existing = find_session(session, request.cookies.get(CHAT_COOKIE), kind="chat", now=now)
    if existing is not None and existing.key_id == principal.key_id:
        return JSONResponse({"conversation_id": existing.conversation_id})
    language = chat_language(body.lang, _brand_language(runtime))
    conversation_id = "web_" + new_token()[:24]
    token, _ = open_session(
        session, kind="chat", principal=principal, now=now, conversation_id=conversation_id, language=language
    )
    response = JSONResponse({"conversation_id": conversation_id})
    response.set_cookie(
        CHAT_COOKIE, token, max_age=int(CHAT_LIFETIME.total_seconds()), httponly=True, samesite="lax",
        secure=request.url.scheme == "https", path="/chat",
    )
    return response


# --- messages --------------------------------------------------------------------------------------
def _messages(session: Session, conversation_id: str, after: int) -> list[dict[str, Any]]:
    rows = session.scalars(
        select(models.Message)
        .where(models.Message.conversation_id == conversation_id, models.Message.seq > after)
        .order_by(models.Message.seq)
    )
    out = []
    for m in rows:
        item: dict[str, Any] = {"seq": m.seq, "role": m.role, "text": m.text, "at": m.created_at.isoformat()}
        if m.role == "bot" and m.reply:
            item["citations"] = m.reply.get("citations") or []
            item["warnings"] = m.reply.get("warnings") or []
        out.append(item)
    return out


def _state(session: Session, runtime: Runtime, visitor: models.WebSession, now: datetime) -> dict[str, Any]:
    """Who answers now, in the visitor's words: the bot, or a person (and when)."""
    phrases = chat_phrases(visitor.language or "en")
    handoff = active_handoff(session, visitor.conversation_id or "")
    if handoff is None:
        return {"status": "bot", "note": None}
    if handoff.status == "claimed":
        return {"status": "with_person", "note": phrases["with_person"]}
    note = phrases["handed_off"]
    try:
        if runtime.has_manifest:
            note = f"{note} {when_a_person_answers(runtime.manifest, visitor.language or 'en', now)}"
    except Exception:  # no readable manifest: the plain sentence stands
        pass
    return {"status": "handed_off", "note": note}


@router.get("/chat/api/messages")
def read_messages(request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep, after: int = 0) -> dict:
    visitor = _visitor(request, session, now)
    return {
        "messages": _messages(session, visitor.conversation_id or "", after),
        **_state(session, runtime, visitor, now),
    }


@router.post("/chat/api/messages")
def post_message(
    body: ChatMessageIn, request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep, after: int = 0
) -> dict:
    visitor = _visitor(request, session, now)
    if runtime.limiter.acquire(f"chat:{visitor.id}", time.monotonic()) is not None:
        raise RateLimited(60)
    conversation_id = visitor.conversation_id or ""
    inbound = conversations.InboundMessage(text=body.text, user_id=conversation_id, channel="web")
    posted = conversations.post_message(session, conversation_id, inbound, assistant=runtime.assistant, now=now)
    if posted.reply is not None:
        runtime.metrics.observe_reply(posted.reply)
    if posted.opened_handoff_reason is not None:
        runtime.metrics.observe_handoff(posted.opened_handoff_reason)
    return {"messages": _messages(session, conversation_id, after), **_state(session, runtime, visitor, now)}


def _conversation_fingerprint(runtime: Runtime, conversation_id: str) -> tuple[Any, ...]:
    with runtime.db.session() as session:
        last = session.scalar(
            select(func.max(models.Message.seq)).where(models.Message.conversation_id == conversation_id)
        )
        handoff = active_handoff(session, conversation_id)
        return (last, handoff.id if handoff else None, handoff.status if handoff else None)


@router.get("/chat/api/events")
def events(request: Request, session: SessionDep, runtime: RuntimeDep, now: NowDep) -> Response:
    """`change` when this conversation gets a message or its handoff moves (an operator replied)."""
    row = find_session(session, request.cookies.get(CHAT_COOKIE), kind="chat", now=now)
    if row is None or row.conversation_id is None:
        raise HTTPException(401, "no chat session: open the chat again")
    conversation_id = row.conversation_id
    session.close()
    return change_stream(request, lambda: _conversation_fingerprint(runtime, conversation_id))
