"""Folder connector: each new file of a watched folder starts one run (deduplicated by content).

`FolderWatcher(name, settings)` is an intake source for the trigger runtime; files move through
`processing/` to `done/` or `failed/` (with a `.reason.txt`).
"""

from tools.folder._watcher import (
    DONE,
    FAILED,
    PROCESSING,
    REASON_SUFFIX,
    FolderSettings,
    FolderWatcher,
)

__all__ = ["DONE", "FAILED", "PROCESSING", "REASON_SUFFIX", "FolderSettings", "FolderWatcher"]
