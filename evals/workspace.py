"""The knowledge an in-process eval runs on: the suite's manifest synced into its own data dir.

By default each suite gets `<data dir>/evals/<suite name>`, so an eval never answers from
another brand's index; the index is built on first use (or with `--resync`) and reused after.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from agent import build_assistant
from evals.runner import InProcessTarget
from evals.suite import Suite
from knowledge import Manifest
from knowledge.index import Catalog, embedder_from_settings
from knowledge.sources import load_manifest
from knowledge.sync import ProgressCallback, SyncReport, sync_manifest
from sportello.settings import Settings


def default_data_dir(settings: Settings, suite: Suite) -> Path:
    return settings.data_dir / "evals" / suite.name


def index_is_ready(manifest: Manifest, data_dir: Path) -> bool:
    """An index exists, for this brand, with every source of the manifest synced at least once."""
    catalog = Catalog(data_dir)
    if catalog.meta("active_collection") is None:
        return False
    if catalog.meta("brand") not in (None, manifest.brand):
        return False
    synced = {status.id for status in catalog.sources() if status.last_sync}
    return all(source.id in synced for source in manifest.sources)


def ensure_index(
    manifest: Manifest,
    data_dir: Path,
    settings: Settings,
    *,
    now: datetime | None = None,
    force: bool = False,
    on_progress: ProgressCallback | None = None,
) -> SyncReport | None:
    """Sync the manifest into `data_dir` when its index is missing (or `force`); None if it was ready."""
    if not force and index_is_ready(manifest, data_dir):
        return None

    if now is not None and now.tzinfo is None:
        now = now.replace(tzinfo=manifest.tz)
    return sync_manifest(
        manifest,
        data_dir=data_dir,
        chroma_url=settings.chroma_url,
        now=now,
        embedder=embedder_from_settings(settings),
        on_progress=on_progress,
    )


def in_process_target(
    suite: Suite,
    settings: Settings,
    *,
    data_dir: Path | None = None,
    resync: bool = False,
    on_progress: ProgressCallback | None = None,
) -> InProcessTarget:
    """The real assistant (`agent.assistant.build_assistant`) on the suite's manifest."""

    manifest = load_manifest(suite.manifest)
    data_dir = data_dir or default_data_dir(settings, suite)
    ensure_index(manifest, data_dir, settings, now=suite.now, force=resync, on_progress=on_progress)
    run_settings = settings.replace(data_dir=data_dir, manifest=suite.manifest)
    assistant = build_assistant(run_settings, manifest)
    description: dict[str, Any] = {"brand": manifest.brand, "data_dir": str(data_dir)}
    description["composer"] = "llm" if run_settings.llm_enabled else "offline"
    return InProcessTarget(assistant, timezone=manifest.tz, **description)
