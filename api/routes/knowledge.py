"""Knowledge routes for content teams: sources, background sync, health report, raw search."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, BackgroundTasks, Query, Response, status

from api import sources as service
from api.deps import ContentKey, NowDep, RuntimeDep, SessionDep, SyncWorkerDep
from api.schemas import ID_PATTERN, TEXT_PATTERN, PathId, SyncJobOut, problem_responses

router = APIRouter(
    prefix="/v1", tags=["knowledge"], responses=problem_responses(401, 403, 404, 422, 429, 502, 503)
)


@router.get("/sources")
def list_sources(principal: ContentKey, runtime: RuntimeDep) -> dict:
    """Every source in the manifest with its last sync: when, how it went, how many documents."""
    return {"sources": service.list_sources(runtime)}


@router.post("/sources/{source_id}/sync", response_model=SyncJobOut, status_code=status.HTTP_202_ACCEPTED)
def sync_source(
    source_id: PathId,
    response: Response,
    background: BackgroundTasks,
    principal: ContentKey,
    session: SessionDep,
    runtime: RuntimeDep,
    sync_worker: SyncWorkerDep,
    now: NowDep,
) -> dict:
    """Start re-reading one source; poll the job at the `Location` URL until it is finished.

    While a sync of this source is queued, asking again returns that job (202): requests merge."""
    job, created = service.start_sync(session, runtime, source_id, principal, now=now)
    if created:  # run by this worker when its turn comes (or by another worker, if it is first)
        background.add_task(sync_worker.drain)
    response.headers["Location"] = f"/v1/sources/{source_id}/sync/{job.id}"
    return service.job_view(job)


@router.get("/sources/{source_id}/sync/{job_id}", response_model=SyncJobOut)
def sync_status(source_id: PathId, job_id: PathId, principal: ContentKey, session: SessionDep) -> dict:
    """queued → running → succeeded (with the sync report), partial (some pages failed, listed in
    failed_pages) or failed (with the error)."""
    return service.job_view(service.get_job(session, source_id, job_id))


@router.get("/knowledge/health")
def knowledge_health(principal: ContentKey, runtime: RuntimeDep, now: NowDep) -> dict:
    """The answer-trust report: stale, expired and conflicting facts, per source."""
    return service.health(runtime, now=now)


@router.get("/search")
def search(
    principal: ContentKey,
    runtime: RuntimeDep,
    q: Annotated[str, Query(min_length=1, max_length=500, pattern=TEXT_PATTERN)],
    k: Annotated[int, Query(ge=1, le=50)] = 10,
    mode: Literal["hybrid", "dense", "bm25"] = "hybrid",
    source_id: Annotated[str | None, Query(pattern=ID_PATTERN)] = None,
) -> dict:
    """Ranked passages for a query, as the agent would retrieve them (for debugging and evals)."""
    return service.search(runtime, q, k=k, mode=mode, source_id=source_id)
