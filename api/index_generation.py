"""Every worker serves the index the last sync published, without a restart.

The database holds one number, the generation of the published index (`knowledge_index`), bumped
in the transaction that marks a sync job finished when the sync published a new index (and by
`sportello sync`). Each process keeps the generation it serves (`Runtime.seen_generation`); an
`IndexWatcher` in its lifespan reads the number once per `SPORTELLO_INDEX_CHECK_SECONDS` (one
primary-key read) and, when it moved, has the runtime build the assistant and the knowledge base
on the new index and swap them in (`Runtime.refresh_knowledge`): requests meanwhile are answered
from the previous ones.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from api import models
from api.background import cancel_and_wait, log_background_error
from api.db import Database, rows_affected
from api.runtime import Runtime

log = logging.getLogger(__name__)
_ROW = 1  # the table's one row (migration 0014 inserts it)


def published_generation(session: Session) -> int:
    """The generation of the published index (0 before any sync published one)."""
    value = session.scalar(select(models.KnowledgeIndex.generation).where(models.KnowledgeIndex.id == _ROW))
    return int(value or 0)


def publish_generation(session: Session, *, now: datetime) -> int:
    """Bump the generation (the caller commits): a new index is live. Returns the new number."""
    index = models.KnowledgeIndex
    changed = rows_affected(session.execute(
        update(index).where(index.id == _ROW).values(generation=index.generation + 1, published_at=now)
    ))
    if not changed:  # a database migrated before the row existed cannot happen; be safe anyway
        session.add(models.KnowledgeIndex(id=_ROW, generation=1, published_at=now))
        session.flush()
    return published_generation(session)


def publish_new_index(db: Database, *, now: datetime) -> int:
    """`publish_generation` in its own transaction (for `sportello sync`, outside any job)."""
    with db.session() as session:
        generation = publish_generation(session, now=now)
        session.commit()
    return generation


class IndexWatcher:
    """An asyncio task that reloads the runtime's knowledge when another process published an index."""

    def __init__(
        self,
        runtime: Runtime,
        *,
        interval: float,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.runtime = runtime
        self.interval = interval
        self.clock = clock
        self._task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        if self._task is None and self.interval > 0:
            self._task = asyncio.create_task(self._run(), name="index-watcher")

    async def stop(self) -> None:
        if self._task is None:
            return
        await cancel_and_wait([self._task])
        self._task = None

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self.interval)
            try:
                await asyncio.to_thread(self.check)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # a database hiccup must not stop the watching; try again later
                log_background_error(log, "index_watch", exc)

    def check(self) -> bool:
        """Reload when the published generation differs from the one served; True if it did."""
        with self.runtime.db.session() as session:
            generation = published_generation(session)
        if generation == self.runtime.seen_generation:
            return False
        log.info(
            "index_generation_changed",
            extra={"generation": generation, "served": self.runtime.seen_generation},
        )
        self.runtime.seen_generation = generation
        self.runtime.refresh_knowledge(now=self.clock())
        return True
