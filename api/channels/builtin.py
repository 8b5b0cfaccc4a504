"""The channels the service ships: one registration each."""

from __future__ import annotations

from api.channels import chatwoot, telegram, whatsapp
from api.channels.base import ChannelRegistry

CHANNELS = (
    ChannelRegistry()
    .with_channel(whatsapp.CHANNEL)
    .with_channel(telegram.CHANNEL)
    .with_channel(chatwoot.CHANNEL)
)
