"""What every background loop of a worker (webhook deliveries, channel turns and sends, sync jobs,
the index watcher) does alike: report a failed round, and stop its tasks."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from api.db import database_fault

__all__ = ["cancel_and_wait", "log_background_error"]


def log_background_error(log: logging.Logger, worker: str, exc: Exception) -> None:
    """How a background loop (webhooks, channels, syncs, the index watcher) reports a failed round:
    one line per poll while the database is away (`<worker>_database_unavailable`), a traceback
    (`<worker>_error`) for anything else."""
    if database_fault(exc) is None:
        log.error(f"{worker}_error", exc_info=exc)
    else:
        log.warning(f"{worker}_database_unavailable", extra={"error": type(exc).__name__})


async def cancel_and_wait(tasks: list[asyncio.Task[None]]) -> None:
    """Cancel `tasks` and wait until each has ended (its cancellation is the expected ending)."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
