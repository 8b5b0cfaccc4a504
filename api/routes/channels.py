"""/v1/channels: which messaging channels are configured, what they lack, their outbox and last error."""

from __future__ import annotations

from fastapi import APIRouter

from api.channels import CHANNELS, channel_summary
from api.deps import OperatorKey, RuntimeDep, SessionDep
from api.schemas import problem_responses

router = APIRouter(prefix="/v1/channels", tags=["channels"], responses=problem_responses(401, 403, 429))


@router.get("")
def list_channels(principal: OperatorKey, session: SessionDep, runtime: RuntimeDep) -> dict:
    """Every channel the service knows: configured or not, the variables it still lacks, the
    outbox (pending, sent, failed) and the last error a send met."""
    items = []
    for channel in CHANNELS:
        items.append(
            {
                "name": channel.name,
                "configured": channel.configured(runtime.settings),
                "missing": channel.missing(runtime.settings) if channel.configured(runtime.settings) else [],
                "webhook": f"/channels/{channel.name}/webhook",
                **channel_summary(session, channel.name),
            }
        )
    return {"channels": items}
