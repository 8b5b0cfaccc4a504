"""/v1/analytics: the care figures of a period (the same numbers as /console/analytics)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Query

from api import analytics
from api.deps import ManagerKey, NowDep, RuntimeDep, SessionDep
from api.schemas import problem_responses

router = APIRouter(prefix="/v1", tags=["analytics"], responses=problem_responses(400, 401, 403, 422, 429))
DEFAULT_DAYS = 30


def period_of(since: datetime | None, until: datetime | None, now: datetime) -> analytics.Period:
    """The asked period; by default the last 30 days up to now. Naive times are read as UTC."""
    until = _aware(until) if until is not None else now
    since = _aware(since) if since is not None else until - timedelta(days=DEFAULT_DAYS)
    return analytics.Period(since, until)


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


@router.get("/analytics")
def get_analytics(
    principal: ManagerKey,
    session: SessionDep,
    runtime: RuntimeDep,
    now: NowDep,
    since: Annotated[datetime | None, Query(description="start (inclusive), ISO 8601; default 30 days before until")] = None,
    until: Annotated[datetime | None, Query(description="end (exclusive), ISO 8601; default now")] = None,
) -> dict:
    """Conversations started in [since, until) and what became of them: contained rate, handoffs
    by reason, first-response times, CSAT, repeat contact, unanswered questions, citations, warnings."""
    return analytics.report(session, period_of(since, until, now), embedder=analytics.question_embedder(runtime))
