"""Knowledge routes' logic: the sources and their sync status, background syncs with a pollable
job row, the answer-trust (health) report, and raw search for debugging.

A sync runs after the 202 response (a FastAPI background task); its job row moves
queued → running → succeeded | partial | failed and is read back with
GET /v1/sources/{source_id}/sync/{job_id}. `partial`: the source was read but some of its pages
failed (they keep their previous version; the job lists them).

A flood of sync requests costs nothing while one sync runs: a request finding a queued job for the
same source gets that job (202, merged; a partial unique index makes that hold across processes),
and a job waiting for the running one waits on an asyncio lock, holding no thread and no
database connection (queued waiters used to hold worker threads until the request threads and
then the connection pool ran out, and /healthz stalled). After a successful sync the health report is taken and
each newly found issue is announced once as a `knowledge.issue_found` event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import audit, models
from api.db import rows_affected
from api.errors import UnknownSource, UnknownSyncJob
from api.keys import Principal
from api.runtime import Runtime
from api.webhooks import emit
from knowledge import KnowledgeError
from knowledge.index import Catalog
from knowledge.sync import health_report, sync_manifest

log = logging.getLogger(__name__)


def list_sources(runtime: Runtime) -> list[dict[str, Any]]:
    """Every source the manifest declares, with what the catalog knows of its last sync."""

    statuses = {s.id: s.to_dict() for s in Catalog(runtime.settings.data_dir).sources()}
    out: list[dict[str, Any]] = []
    declared: list[str] = []
    if runtime.has_manifest:
        for spec in runtime.manifest.sources:
            declared.append(spec.id)
            status = statuses.get(spec.id) or {
                "last_sync": None,
                "last_status": "never synced",
                "documents": 0,
                "counts": {},
                "errors": [],
            }
            out.append(
                {
                    **status,
                    "id": spec.id,
                    "type": spec.type,
                    "location": spec.url or (str(spec.path) if spec.path else None),
                    "in_manifest": True,
                }
            )
    for source_id, status in statuses.items():
        if source_id not in declared:  # indexed earlier, since removed from the manifest
            out.append({**status, "location": None, "in_manifest": False})
    return out


def job_view(row: models.SyncJob) -> dict[str, Any]:
    return {
        "id": row.id,
        "source_id": row.source_id,
        "status": row.status,
        "requested_by": row.requested_by,
        "report": row.report,
        "failed_pages": [
            {"source_id": source["id"], **page}
            for source in (row.report or {}).get("sources", [])
            for page in source.get("failed_pages", [])
        ],
        "error": row.error,
        "error_type": row.error_type,
        "created_at": row.created_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def start_sync(
    session: Session, runtime: Runtime, source_id: str, principal: Principal, *, now: datetime
) -> tuple[models.SyncJob, bool]:
    """The job that will sync `source_id`, and whether it is new (False: merged into a queued one)."""
    # Re-read the manifest: a content team adds or fixes a source, then asks for a sync.
    known = [s.id for s in runtime.reload_manifest().sources]
    if source_id not in known:
        raise UnknownSource(source_id, known)
    for _attempt in range(2):
        pending = _queued_job(session, source_id)
        if pending is not None:
            audit.record(
                session, principal, audit.SYNC_START, source_id, now=now, detail={"job_id": pending.id, "merged": True}
            )
            session.commit()
            return pending, False
        row = models.SyncJob(
            id=models.new_id("sync"),
            source_id=source_id,
            status="queued",
            requested_by=principal.key_id,
            created_at=now,
        )
        session.add(row)
        audit.record(session, principal, audit.SYNC_START, source_id, now=now, detail={"job_id": row.id, "merged": False})
        try:
            session.commit()
        except IntegrityError:  # another request queued one first: merge into it
            session.rollback()
            continue
        return row, True
    raise AssertionError("unreachable: a queued job exists or was just created")


def _queued_job(session: Session, source_id: str) -> models.SyncJob | None:
    query = select(models.SyncJob).where(models.SyncJob.source_id == source_id, models.SyncJob.status == "queued")
    return session.scalars(query).first()


def get_job(session: Session, source_id: str, job_id: str) -> models.SyncJob:
    row = session.get(models.SyncJob, job_id)
    if row is None or row.source_id != source_id:
        raise UnknownSyncJob(job_id)
    return row


def recover_interrupted_jobs(session: Session, *, now: datetime) -> int:
    """Jobs left queued or running by a stopped process will never finish: say so."""
    result = session.execute(
        update(models.SyncJob)
        .where(models.SyncJob.status.in_(("queued", "running")))
        .values(
            status="failed",
            error="the service stopped before this sync finished; start a new one",
            error_type="Interrupted",
            finished_at=now,
        )
    )
    session.commit()
    return rows_affected(result)


async def run_sync_job_in_turn(runtime: Runtime, job_id: str) -> None:
    """Wait for the running sync (if any) without a thread or a connection, then run `job_id`."""
    async with runtime.sync_gate():
        await asyncio.to_thread(run_sync_job, runtime, job_id)


def run_sync_job(runtime: Runtime, job_id: str) -> None:
    """Run one queued job to completion; never raises (the outcome is on the job row)."""

    with runtime.sync_lock:
        with runtime.db.session() as session:
            # Claimed with a conditional UPDATE: of two processes, one runs the job.
            won = rows_affected(session.execute(
                update(models.SyncJob)
                .where(models.SyncJob.id == job_id, models.SyncJob.status == "queued")
                .values(status="running", started_at=_now())
            ))
            job = session.get(models.SyncJob, job_id)
            session.commit()
            if not won or job is None:
                return
            source_id = job.source_id
        log.info("sync_started", extra={"job_id": job_id, "source_id": source_id})
        try:
            report = sync_manifest(
                runtime.manifest,
                data_dir=runtime.settings.data_dir,
                chroma_url=runtime.settings.chroma_url,
                now=_now(),
                embedder=runtime.embedder(),
                only=[source_id],
                on_progress=lambda _source, stage, done, total: runtime.sync_progress.__setitem__(
                    job_id, {"stage": stage, "done": done, "total": total}
                ),
            )
        except Exception as exc:  # KnowledgeError expected; anything else is recorded too
            runtime.sync_progress.pop(job_id, None)
            if not isinstance(exc, KnowledgeError):
                log.exception("sync_crashed", extra={"job_id": job_id, "source_id": source_id})
            _finish(runtime, job_id, status="failed", error=str(exc), error_type=type(exc).__name__)
            log.info(
                "sync_failed", extra={"job_id": job_id, "source_id": source_id, "error": type(exc).__name__}
            )
            return
        runtime.sync_progress.pop(job_id, None)
        runtime.knowledge_changed()
        status = "partial" if report.status == "partial" else "succeeded"
        _finish(runtime, job_id, status=status, report=_jsonable(report.to_dict()))
        log.info(f"sync_{status}", extra={"job_id": job_id, "source_id": source_id})
    try:
        announce_issues(runtime, job_id=job_id, source_id=source_id, now=_now())
    except Exception:  # the sync itself succeeded; a failing report must not undo that
        log.exception("health_report_failed", extra={"job_id": job_id})
    if runtime.settings.warmup:
        # The sync dropped the assistant built on the old index: rebuild it now, in the sync's
        # thread, so the next customer's reply does not pay for it.
        runtime.warm_up(now=_now())


def _finish(runtime: Runtime, job_id: str, **values: Any) -> None:
    with runtime.db.session() as session:
        job = session.get(models.SyncJob, job_id)
        assert job is not None
        for name, value in values.items():
            setattr(job, name, value)
        job.finished_at = _now()
        session.commit()


def health(runtime: Runtime, *, now: datetime) -> dict[str, Any]:
    manifest = runtime.manifest  # NotConfigured first: no manifest, no report

    return _jsonable(health_report(manifest, runtime.settings.data_dir, now=now).to_dict())


def announce_issues(runtime: Runtime, *, job_id: str | None, source_id: str | None, now: datetime) -> int:
    """Emit `knowledge.issue_found` for each issue in the health report not announced before."""

    report = health_report(runtime.manifest, runtime.settings.data_dir, now=now)
    announced = 0
    with runtime.db.session() as session:
        for issue in report.issues:
            data = _jsonable(issue.to_dict() if hasattr(issue, "to_dict") else dataclasses.asdict(issue))
            fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
            seen = session.scalar(
                select(models.KnowledgeIssue.fingerprint).where(
                    models.KnowledgeIssue.fingerprint == fingerprint
                )
            )
            if seen:
                continue
            session.add(
                models.KnowledgeIssue(
                    fingerprint=fingerprint, kind=str(data.get("kind", "")), first_seen_at=now
                )
            )
            emit(
                session,
                "knowledge.issue_found",
                {"issue": data, "sync_job_id": job_id, "source_id": source_id},
                now=now,
            )
            announced += 1
        session.commit()
    return announced


def search(runtime: Runtime, query: str, *, k: int, mode: str, source_id: str | None) -> dict[str, Any]:
    where = {"source_id": source_id} if source_id else None
    passages = runtime.knowledge_base().search(query, k, mode=mode, where=where)
    return {"query": query, "k": k, "mode": mode, "passages": [p.to_dict() for p in passages]}


def _jsonable(value: Any) -> Any:
    return json.loads(
        json.dumps(value, default=lambda v: v.isoformat() if isinstance(v, datetime) else str(v))
    )


def _now() -> datetime:
    # Background work has no request to take the time from; this is the edge where time is read.
    return datetime.now(UTC)
