"""/v1/keys: admins issue and revoke API keys (the secret is shown once, on creation)."""

from __future__ import annotations

from fastapi import APIRouter, Response, status

from api import keys as service
from api.channels import key_channels, scope_key_to_channel
from api.deps import AdminKey, NowDep, SessionDep
from api.schemas import KeyCreated, KeyIn, KeyOut, PathId, problem_responses

router = APIRouter(prefix="/v1/keys", tags=["keys"], responses=problem_responses(400, 401, 403, 404, 422, 429))


@router.post("", response_model=KeyCreated, status_code=status.HTTP_201_CREATED)
def create_key(body: KeyIn, principal: AdminKey, session: SessionDep, now: NowDep) -> dict:
    issued = service.create_key(
        session, role=body.role, name=body.name, now=now, actor=principal, channel=body.channel
    )
    if body.channel is not None:
        scope_key_to_channel(session, issued.id, body.channel)
    return {
        "id": issued.id,
        "name": issued.name,
        "role": issued.role,
        "created_at": issued.created_at,
        "key": issued.key,
        "channel": body.channel,
    }


@router.get("", response_model=list[KeyOut])
def list_keys(principal: AdminKey, session: SessionDep) -> list:
    channels = key_channels(session)
    return [
        {"id": k.id, "name": k.name, "role": k.role, "created_at": k.created_at, "channel": channels.get(k.id)}
        for k in service.list_keys(session)
    ]


@router.delete("/{key_id}", status_code=status.HTTP_204_NO_CONTENT)
def revoke_key(key_id: PathId, principal: AdminKey, session: SessionDep, now: NowDep) -> Response:
    service.revoke_key(session, key_id, now=now, actor=principal)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
