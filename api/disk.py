"""Free space where this service writes: the data dir (the catalog, embedded Chroma, the secret
key file) and, on SQLite, the database file's folder.

A full disk does not stop `SELECT 1`: before this check /readyz stayed 200 while every message
was refused with 507 (fault drill `disk_full`, README). Readiness fails below
SPORTELLO_MIN_FREE_BYTES instead, before writes do, so the alert fires while there is still room
to act. The threshold leaves headroom for what grows in bursts: SQLite's journal, a sync's new
Chroma collection written next to the live one.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from sqlalchemy.engine import make_url

from sportello.errors import SportelloError
from sportello.settings import Settings

Usage = Callable[[Path], Any]  # shutil.disk_usage's shape: an object with `.free` in bytes


class DiskSpaceLow(SportelloError):
    """A folder the service writes to has less free space than SPORTELLO_MIN_FREE_BYTES."""


def written_paths(settings: Settings) -> list[Path]:
    """The folders to watch: the data dir, and the SQLite file's folder when it is elsewhere."""
    paths = [settings.data_dir]
    url = make_url(settings.effective_database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        paths.append(Path(url.database).parent)
    unique: list[Path] = []
    for path in paths:
        resolved = path.expanduser().resolve()
        if resolved not in unique:
            unique.append(resolved)
    return unique


def _existing(path: Path) -> Path:
    # The data dir may not exist before the first sync: its nearest existing parent is where it will be.
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def check_free_space(paths: Iterable[Path], min_free: int, *, usage: Usage = shutil.disk_usage) -> None:
    """DiskSpaceLow naming the first path with less than `min_free` bytes free (0: no check)."""
    if min_free <= 0:
        return
    for path in paths:
        free = int(usage(_existing(path)).free)
        if free < min_free:
            raise DiskSpaceLow(
                f"{path} has {free} bytes free, under SPORTELLO_MIN_FREE_BYTES={min_free}: "
                "free space there (writes fail with 507 once it is full)"
            )
