"""/v1/audit: what admins and operators did (api/audit.py), newest first."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api import audit as service
from api.deps import AdminKey, SessionDep
from api.schemas import ID_PATTERN, AuditPage, CursorQuery, problem_responses

router = APIRouter(prefix="/v1/audit", tags=["audit"], responses=problem_responses(400, 401, 403, 422, 429))

@router.get("", response_model=AuditPage)
def list_audit(
    principal: AdminKey,
    session: SessionDep,
    action: service.ActionName | None = None,
    actor: Annotated[str | None, Query(pattern=ID_PATTERN, description="a key id")] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    cursor: CursorQuery = None,
) -> dict:
    """Audit entries newest first (who, what, which target, when, succeeded or denied);
    `next_cursor` fetches the following page."""
    rows, next_cursor = service.list_entries(session, action=action, actor=actor, limit=limit, cursor=cursor)
    return {"items": [service.entry_view(r) for r in rows], "next_cursor": next_cursor}
