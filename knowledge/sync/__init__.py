"""Sync: read every source of a manifest into a new index (only changed chunks embedded), and the
doctor over what the last sync stored."""

from knowledge.sync.doctor import health_report
from knowledge.sync.run import ProgressCallback, SourceSyncReport, SyncReport, same_text_key, sync_manifest

__all__ = ["ProgressCallback", "SourceSyncReport", "SyncReport", "health_report", "same_text_key", "sync_manifest"]
