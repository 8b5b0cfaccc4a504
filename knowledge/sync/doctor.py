"""The doctor: knowledge health over what the last sync stored in a data dir."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from knowledge.errors import IndexUnavailable
from knowledge.index import Catalog
from knowledge.manifest import Manifest
from knowledge.trust import HealthReport, build_health_report


def health_report(manifest: Manifest, data_dir: Path, *, now: datetime) -> HealthReport:
    """The report over the documents of the last sync in `data_dir`."""
    if not (Path(data_dir) / "catalog.sqlite").exists():
        raise IndexUnavailable(
            f"no synced knowledge in {data_dir}: run `sportello sync MANIFEST` first (or set SPORTELLO_DATA_DIR)"
        )
    documents = [stored.document for stored in Catalog(Path(data_dir)).documents()]
    return build_health_report(documents, manifest, now=now)
