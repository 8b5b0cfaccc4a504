"""Knowledge routes' logic: the sources and their sync status, background syncs with a pollable
job row, the answer-trust (health) report, and raw search for debugging.

A sync request queues a job row and answers 202; its row moves
queued → running → succeeded | partial | failed and is read back with
GET /v1/sources/{source_id}/sync/{job_id}. `partial`: the source was read but some of its pages
failed (they keep their previous version; the job lists them).

Jobs are a queue in the database, run by a `SyncWorker` in every worker process's lifespan: a
worker claims the oldest queued job with a conditional UPDATE and a lease (`SyncPolicy.lease`)
that it renews while the sync runs; one job runs at a time across every worker (a partial unique
index), since two syncs would race to swap the same index. A running job whose lease expired
(its worker died) is interrupted by the next worker that looks, at its start or its next poll; a
live worker's job is left alone, and a queued job left by a stopped worker is run by another.

A flood of sync requests costs nothing while one sync runs: a request finding a queued job for the
same source gets that job (202, merged; a partial unique index makes that hold across processes),
and a queued job is a row, holding no thread and no database connection while it waits (queued
waiters used to hold worker threads until the request threads and then the connection pool ran
out, and /healthz stalled). After a successful sync the health report is taken and each newly
found issue is announced once as a `knowledge.issue_found` event.
"""

from __future__ import annotations

import asyncio
import dataclasses
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from api import audit, models
from api.background import cancel_and_wait, log_background_error
from api.db import rows_affected
from api.errors import UnknownSource, UnknownSyncJob
from api.index_generation import publish_generation
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


@dataclass(frozen=True)
class SyncPolicy:
    """How sync jobs are run. Defaults suit production; tests shorten them."""

    # A running job's runner renews its lease every lease/3 seconds; a job whose lease has
    # expired (its process died or hung) is interrupted by the next worker that looks.
    lease: float = 60.0
    # How often each worker looks for queued jobs and expired leases when nothing wakes it (a
    # job queued by this process wakes it at once).
    poll_interval: float = 5.0
    enabled: bool = True


def recover_interrupted_jobs(session: Session, *, now: datetime) -> int:
    """Running jobs whose lease has expired will never finish: their runner stopped. Say so.

    A running job whose runner still renews its lease is left alone (another live worker runs
    it), and a queued job is left queued: a worker will run it. The interrupted sync may have
    published its index before its process stopped, so the index generation moves on too (every
    worker reloads; at worst for nothing)."""
    job = models.SyncJob
    result = session.execute(
        update(job)
        .where(job.status == "running", or_(job.lease_expires_at.is_(None), job.lease_expires_at < now))
        .values(
            status="failed",
            error="the worker running this sync stopped before it finished; start a new one",
            error_type="Interrupted",
            finished_at=now,
        )
        .execution_options(synchronize_session=False)
    )
    interrupted = rows_affected(result)
    if interrupted:
        publish_generation(session, now=now)
        log.warning("sync_interrupted", extra={"jobs": interrupted})
    session.commit()
    return interrupted


def claim_next_job(session: Session, *, owner: str, now: datetime, lease: float) -> str | None:
    """Take the oldest queued job for `owner` with a lease until now + `lease`; its id, or None.

    A conditional UPDATE (still queued) makes each job run once; the partial unique index on
    running jobs makes one run at a time across every worker, so while another worker's sync
    runs this claims nothing."""
    recover_interrupted_jobs(session, now=now)
    job = models.SyncJob
    if session.scalar(select(job.id).where(job.status == "running").limit(1)) is not None:
        session.rollback()
        return None
    candidate = session.scalar(select(job.id).where(job.status == "queued").order_by(job.created_at, job.id).limit(1))
    if candidate is None:
        session.rollback()
        return None
    try:
        won = rows_affected(session.execute(
            update(job)
            .where(job.id == candidate, job.status == "queued")
            .values(
                status="running",
                started_at=now,
                lease_owner=owner,
                lease_expires_at=now + timedelta(seconds=lease),
            )
            .execution_options(synchronize_session=False)
        ))
        session.commit()
    except IntegrityError:  # another worker started a job first
        session.rollback()
        return None
    return candidate if won else None


def renew_lease(session: Session, job_id: str, *, owner: str, now: datetime, lease: float) -> bool:
    """Extend `owner`'s lease on a running job; False when the job is no longer its own."""
    job = models.SyncJob
    renewed = rows_affected(session.execute(
        update(job)
        .where(job.id == job_id, job.status == "running", job.lease_owner == owner)
        .values(lease_expires_at=now + timedelta(seconds=lease))
        .execution_options(synchronize_session=False)
    ))
    session.commit()
    return renewed == 1


class SyncWorker:
    """Runs queued sync jobs from an asyncio task, one at a time, renewing each job's lease while
    its sync runs in a thread. Every worker process has one; the database decides who runs what."""

    def __init__(
        self, runtime: Runtime, policy: SyncPolicy, *, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.runtime = runtime
        self.policy = policy
        self.clock = clock
        self._task: asyncio.Task[None] | None = None
        self._gate: tuple[asyncio.AbstractEventLoop, asyncio.Lock] | None = None

    async def start(self) -> None:
        if not self.policy.enabled or self._task is not None:
            return
        self._task = asyncio.create_task(self._run(), name="sync-jobs")

    async def stop(self) -> None:
        """Stop looking for jobs. A sync already running goes on in its thread to its end (a
        crawl cannot be interrupted halfway); if the process exits first, its lease expires."""
        if self._task is None:
            return
        await cancel_and_wait([self._task])
        self._task = None

    def _lock(self) -> asyncio.Lock:
        """The asyncio lock this process's job runs queue on, one per event loop (tests run several)."""
        loop = asyncio.get_running_loop()
        if self._gate is None or self._gate[0] is not loop:
            self._gate = (loop, asyncio.Lock())
        return self._gate[1]

    async def drain(self) -> None:
        """Run queued jobs until none can be claimed (none queued, or another worker's runs).

        The request that queues a job runs this as its background task: it waits its turn on an
        asyncio lock (no thread, no connection held), then usually runs its own job; the periodic
        poll runs what is left by other processes."""
        async with self._lock():
            while await self.run_next():
                pass

    async def _run(self) -> None:
        while True:
            try:
                await self.drain()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not kill the worker; try again later
                log_background_error(log, "sync_worker", exc)
            await asyncio.sleep(self.policy.poll_interval)

    async def run_next(self) -> bool:
        """Claim and run one queued job, renewing its lease meanwhile; False when none was claimed."""
        owner, lease = self.runtime.instance_id, self.policy.lease
        job_id = await asyncio.to_thread(self._claim, owner, lease)
        if job_id is None:
            return False
        running = asyncio.ensure_future(asyncio.to_thread(run_claimed_job, self.runtime, job_id, owner))
        while True:
            done, _ = await asyncio.wait({running}, timeout=lease / 3)
            if done:
                break
            if not await asyncio.to_thread(self._renew, job_id, owner, lease):
                log.warning("sync_lease_lost", extra={"job_id": job_id})
        running.result()
        return True

    def _claim(self, owner: str, lease: float) -> str | None:
        with self.runtime.db.session() as session:
            return claim_next_job(session, owner=owner, now=self.clock(), lease=lease)

    def _renew(self, job_id: str, owner: str, lease: float) -> bool:
        with self.runtime.db.session() as session:
            return renew_lease(session, job_id, owner=owner, now=self.clock(), lease=lease)


def run_claimed_job(runtime: Runtime, job_id: str, owner: str) -> None:
    """Run a job `owner` has claimed to completion; never raises (the outcome is on the job row)."""

    with runtime.sync_lock:
        with runtime.db.session() as session:
            job = session.get(models.SyncJob, job_id)
            if job is None:
                return
            source_id = job.source_id
        log.info("sync_started", extra={"job_id": job_id, "source_id": source_id})
        try:
            # Re-read the manifest: the request that queued the job may have been another process's.
            manifest = runtime.reload_manifest()
            report = sync_manifest(
                manifest,
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
            _finish(runtime, job_id, owner, status="failed", error=str(exc), error_type=type(exc).__name__)
            log.info(
                "sync_failed", extra={"job_id": job_id, "source_id": source_id, "error": type(exc).__name__}
            )
            return
        runtime.sync_progress.pop(job_id, None)
        # This process serves the new index before the job says so; the others follow the
        # generation the job's end publishes (api.index_generation).
        if report.index_changed:
            runtime.refresh_knowledge(now=_now())
        status = "partial" if report.status == "partial" else "succeeded"
        _finish(
            runtime, job_id, owner, publish=report.index_changed, status=status, report=_jsonable(report.to_dict())
        )
        log.info(f"sync_{status}", extra={"job_id": job_id, "source_id": source_id})
    try:
        announce_issues(runtime, job_id=job_id, source_id=source_id, now=_now())
    except Exception:  # the sync itself succeeded; a failing report must not undo that
        log.exception("health_report_failed", extra={"job_id": job_id})
    if runtime.settings.warmup and not runtime.knowledge_loaded:
        # Nothing was built before (no index at start): build it now, in the sync's thread, so
        # the next customer's reply does not pay for it.
        runtime.warm_up(now=_now())


def _finish(runtime: Runtime, job_id: str, owner: str, *, publish: bool = False, **values: Any) -> None:
    """Record the job's outcome, and bump the index generation when it published one, in one
    transaction; only while the job is still `owner`'s (a lease lost meanwhile is logged)."""
    now = _now()
    job = models.SyncJob
    with runtime.db.session() as session:
        won = rows_affected(session.execute(
            update(job)
            .where(job.id == job_id, job.status == "running", job.lease_owner == owner)
            .values(**values, finished_at=now, lease_expires_at=None)
            .execution_options(synchronize_session=False)
        ))
        if publish:
            generation = publish_generation(session, now=now)
            runtime.seen_generation = max(runtime.seen_generation, generation)
        session.commit()
    if not won:
        log.warning("sync_lease_lost", extra={"job_id": job_id, "status": values.get("status")})


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
