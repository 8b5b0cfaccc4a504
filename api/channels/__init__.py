"""Messaging channels: WhatsApp Cloud API, Telegram and Chatwoot, each a thin adapter in front of
the same turn as `POST /v1/conversations/{id}/messages`.

    webhook (verified) → store.accept: each provider message once, 200 at once
    worker: ripe (debounced) messages → post_message → formatting → outbox → channel API

A channel is one module (a `Channel` subclass and its router) and one line in builtin.py.
"""

from api.channels.base import Channel, ChannelRegistry
from api.channels.builtin import CHANNELS
from api.channels.errors import BadSignature, ChannelNotConfigured, WindowClosed
from api.channels.operator import plan_operator_reply, queue_operator_reply, send_operator_reply
from api.channels.scope import ensure_in_scope, key_channels, scope_key_to_channel
from api.channels.store import channel_summary
from api.channels.telegram import telegram_set_webhook_request
from api.channels.worker import ChannelPolicy, ChannelWorker

__all__ = [
    "CHANNELS",
    "BadSignature",
    "Channel",
    "ChannelNotConfigured",
    "ChannelPolicy",
    "ChannelRegistry",
    "ChannelWorker",
    "WindowClosed",
    "channel_summary",
    "ensure_in_scope",
    "key_channels",
    "plan_operator_reply",
    "queue_operator_reply",
    "send_operator_reply",
    "scope_key_to_channel",
    "telegram_set_webhook_request",
]
