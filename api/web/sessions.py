"""Browser sessions: a random token in an HttpOnly cookie, its SHA-256 in `web_sessions`.

Console sessions come from signing in with a key (the key itself is read once from the sign-in
form and never stored, put in a URL or logged); each carries the CSRF token its forms echo back.
Chat sessions bind a visitor's cookie to one web-channel conversation.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from api import models
from api.keys import BOOTSTRAP_ADMIN_ID, Principal, hash_secret

CONSOLE_COOKIE = "sportello_console"
CHAT_COOKIE = "sportello_chat"
LOGIN_CSRF_COOKIE = "sportello_login_csrf"
CONSOLE_LIFETIME = timedelta(hours=12)
CHAT_LIFETIME = timedelta(days=30)


@dataclass(frozen=True)
class WebUser:
    """Who is signed in to the console: the key's principal and this session's CSRF token."""

    principal: Principal
    csrf: str

    def may(self, *roles: str) -> bool:
        return self.principal.may(*roles)


def new_token() -> str:
    return secrets.token_urlsafe(32)


def open_session(
    session: Session,
    *,
    kind: str,
    principal: Principal,
    now: datetime,
    conversation_id: str | None = None,
    language: str | None = None,
) -> tuple[str, models.WebSession]:
    """Store a new session; returns (cookie token, row). The token is not kept."""
    token = new_token()
    row = models.WebSession(
        id=hash_secret(token),
        kind=kind,
        key_id=principal.key_id,
        name=principal.name,
        role=principal.role,
        csrf=new_token(),
        conversation_id=conversation_id,
        language=language,
        created_at=now,
        expires_at=now + (CONSOLE_LIFETIME if kind == "console" else CHAT_LIFETIME),
    )
    session.add(row)
    session.commit()
    return token, row


def find_session(session: Session, token: str | None, *, kind: str, now: datetime) -> models.WebSession | None:
    """The live session for a cookie token: not expired, and its key not revoked since."""
    if not token:
        return None
    row = session.get(models.WebSession, hash_secret(token))
    if row is None or row.kind != kind or row.expires_at <= now:
        return None
    if row.key_id != BOOTSTRAP_ADMIN_ID:
        key = session.get(models.ApiKey, row.key_id)
        if key is None or key.revoked_at is not None:
            return None
    return row


def close_session(session: Session, token: str | None) -> None:
    if token:
        session.execute(delete(models.WebSession).where(models.WebSession.id == hash_secret(token)))
        session.commit()


def csrf_matches(expected: str, given: str | None) -> bool:
    return bool(given) and hmac.compare_digest(expected, given or "")


def purge_expired(session: Session, *, now: datetime) -> None:
    session.execute(delete(models.WebSession).where(models.WebSession.expires_at <= now))
    session.commit()


def chat_conversation_owner(session: Session, conversation_id: str) -> str | None:
    """The session id (hash) bound to a web conversation, if any."""
    return session.scalar(
        select(models.WebSession.id).where(
            models.WebSession.kind == "chat", models.WebSession.conversation_id == conversation_id
        )
    )
