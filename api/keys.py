"""API keys: `sk_` secrets shown once, stored as SHA-256 hashes, each with one role.

Roles: `channel` sends customer messages, `operator` works handoffs, `content` manages sources
and knowledge, `manager` reads care analytics, `web` is the public key of the site's web chat (it
may only start and read its own cookie-bound conversations, see api/web/chat.py), `admin` may use
every route (and is the only role that manages keys and webhooks).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Literal, get_args

from sqlalchemy import column, select, table
from sqlalchemy.orm import Session

from api import audit, models
from api.errors import AuthenticationFailed, UnknownKey

Role = Literal["channel", "operator", "content", "manager", "web", "admin"]
ROLES: tuple[str, ...] = get_args(Role)
KEY_PREFIX = "sk_"
# The principal id of the bootstrap key from SPORTELLO_ADMIN_KEY (it has no row).
BOOTSTRAP_ADMIN_ID = "key_admin_env"
# The scopes' table (its model is api.channels.models.ChannelKeyScope, whose package imports this
# module): named here so the key and its scope are one query.
_SCOPES = table("channel_key_scopes", column("key_id"), column("channel"))


@dataclass(frozen=True)
class Principal:
    """Who is calling: the key's id (never its secret), name and role. `authenticate` also reads
    the channel a channel key is scoped to (`scope_known`; `channel` None: not scoped), so the
    message route does not ask the database again (api/channels/scope.py)."""

    key_id: str
    name: str
    role: str
    channel: str | None = None
    scope_known: bool = False

    def may(self, *roles: str) -> bool:
        return self.role == "admin" or self.role in roles


@dataclass(frozen=True)
class IssuedKey:
    id: str
    name: str
    role: str
    key: str  # the secret: returned once, never stored
    created_at: datetime


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def new_secret() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def create_key(
    session: Session, *, role: str, name: str, now: datetime, actor: audit.Actor, channel: str | None = None
) -> IssuedKey:
    """A new key (committed, audited); `channel` only names the channel the caller scopes it to."""
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}; expected one of {', '.join(ROLES)}")
    secret = new_secret()
    row = models.ApiKey(
        id=models.new_id("key"), name=name, role=role, secret_hash=hash_secret(secret), created_at=now
    )
    session.add(row)
    audit.record(session, actor, audit.KEY_CREATE, row.id, now=now, detail={"role": role, "channel": channel})
    session.commit()
    return IssuedKey(id=row.id, name=name, role=role, key=secret, created_at=now)


def list_keys(session: Session, *, include_revoked: bool = False) -> list[models.ApiKey]:
    query = select(models.ApiKey).order_by(models.ApiKey.created_at, models.ApiKey.id)
    if not include_revoked:
        query = query.where(models.ApiKey.revoked_at.is_(None))
    return list(session.scalars(query))


def revoke_key(session: Session, key_id: str, *, now: datetime, actor: audit.Actor) -> models.ApiKey:
    row = session.get(models.ApiKey, key_id)
    if row is None or row.revoked_at is not None:
        raise UnknownKey(key_id)
    row.revoked_at = now
    audit.record(session, actor, audit.KEY_REVOKE, key_id, now=now)
    session.commit()
    return row


def authenticate(session: Session, secret: str | None, *, admin_key: str | None) -> Principal:
    """The principal for a bearer secret; AuthenticationFailed when absent, unknown or revoked."""
    if not secret:
        raise AuthenticationFailed("missing API key: send 'Authorization: Bearer sk_...'")
    digest = hash_secret(secret)
    # Compare digests, in constant time, so neither timing nor length reveals the admin key.
    if admin_key and hmac.compare_digest(digest, hash_secret(admin_key)):
        return Principal(key_id=BOOTSTRAP_ADMIN_ID, name="SPORTELLO_ADMIN_KEY", role="admin")
    found = session.execute(
        select(models.ApiKey.id, models.ApiKey.name, models.ApiKey.role, models.ApiKey.revoked_at, _SCOPES.c.channel)
        .outerjoin(_SCOPES, _SCOPES.c.key_id == models.ApiKey.id)
        .where(models.ApiKey.secret_hash == digest)
    ).first()
    if found is None or found.revoked_at is not None:
        raise AuthenticationFailed("unknown or revoked API key; ask an admin for a new one (POST /v1/keys)")
    return Principal(key_id=found.id, name=found.name, role=found.role, channel=found.channel, scope_known=True)
