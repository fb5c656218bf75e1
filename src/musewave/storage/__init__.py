"""Where jobs' files live: the :class:`Storage` interface and its local-directory backend."""

from pathlib import Path

from musewave.storage.base import Storage, StorageCheck
from musewave.storage.local import LocalStorage

__all__ = ["LocalStorage", "Storage", "StorageCheck", "open_storage"]


def open_storage(storage_dir: Path) -> Storage:
    """The storage configured for this deployment (today: the local directory)."""
    return LocalStorage(storage_dir)
