from knowledge.sync.run import ProgressCallback, SyncReport, sync_manifest

__all__ = [
    'ProgressCallback',
    'SyncReport',
    'sync_manifest',
]
