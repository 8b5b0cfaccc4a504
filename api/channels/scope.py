"""Channel keys scoped to one channel: such a key reads and writes only that channel's
conversations. Another channel's conversation looks like one that does not exist (404), so a
key cannot learn which ids are in use elsewhere; writing as another channel is 403.

A channel key made without a channel keeps the old reach (all conversations): revoke it and
issue a scoped one (`sportello keys create --role channel --channel telegram`).
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from api import models
from api.channels.models import ChannelKeyScope
from api.errors import Forbidden, UnknownConversation
from api.keys import Principal


def scope_key_to_channel(session: Session, key_id: str, channel: str) -> None:
    session.merge(ChannelKeyScope(key_id=key_id, channel=channel))
    session.commit()


def key_channels(session: Session) -> dict[str, str]:
    """key id → its channel, for the scoped keys."""
    return {key_id: channel for key_id, channel in session.execute(select(ChannelKeyScope.key_id, ChannelKeyScope.channel))}


def ensure_in_scope(
    session: Session, principal: Principal, conversation_id: str, *, writing_as: str | None = None
) -> None:
    """Raise unless `principal` may use the conversation (and write as channel `writing_as`)."""
    if principal.role != "channel":
        return
    if principal.scope_known:
        channel = principal.channel
    else:
        scope = session.get(ChannelKeyScope, principal.key_id)
        channel = scope.channel if scope is not None else None
    if channel is None:
        return
    if writing_as is not None and writing_as != channel:
        raise Forbidden(f"this key is for the {channel} channel: it cannot send messages as {writing_as}")
    conversation = session.get(models.Conversation, conversation_id)
    if conversation is not None and conversation.channel != channel:
        raise UnknownConversation(conversation_id)
