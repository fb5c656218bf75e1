"""The storage interface every part of MuseWave uses for job files.

A file is named by a key, a relative POSIX path ``<job_id>/<name>`` (``name`` may hold a
folder: ``stems/bass.wav``). Keys are what the database stores, so the place the files live
(a local directory, a volume mounted at different paths, an S3-compatible bucket) can change
without touching the rows. Names come from the engine, never from a client.

A job is rendered into a local folder (:meth:`Storage.render_dir`: the engine writes there
atomically, staging and renaming), then :meth:`Storage.publish` makes the files readable under
their keys: a no-op for a local directory, an upload for an object store.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Protocol


@dataclass(frozen=True, slots=True)
class StorageCheck:
    """What a health probe learns: ``ok`` when files can be written and space is left."""

    ok: bool
    free_mb: int | None = None
    error: str | None = None


def job_prefix(job_id: str) -> str:
    """The folder of job ``job_id``'s keys. Raises ``ValueError`` for an id that is no name."""
    if not job_id or job_id in (".", "..") or "/" in job_id or "\\" in job_id:
        raise ValueError(f"not a job id: {job_id!r}")
    return job_id


def job_key(job_id: str, name: str) -> str:
    """The key of file ``name`` of job ``job_id``. Raises ``ValueError`` for a name that is
    absolute or climbs out of the job's folder."""
    path = PurePosixPath(name)
    if not name or path.is_absolute() or ".." in path.parts or "\\" in name:
        raise ValueError(f"not a file name inside a job's folder: {name!r}")
    return f"{job_prefix(job_id)}/{path.as_posix()}"


class Storage(Protocol):
    def render_dir(self, job_id: str) -> Path:
        """A local folder for the engine to write job ``job_id``'s files into (the engine
        creates it)."""
        ...

    def publish(self, job_id: str, names: Sequence[str]) -> list[str]:
        """Make the rendered files ``names`` readable under their keys; returns the keys."""
        ...

    def local_path(self, key: str) -> Path | None:
        """A readable local file for ``key`` (to serve it), or None when there is none."""
        ...

    def remove(self, job_id: str) -> None:
        """Delete every file of job ``job_id`` (a no-op when there are none)."""
        ...

    def size_bytes(self, job_id: str) -> int:
        """The bytes job ``job_id``'s files take."""
        ...

    def check(self, min_free_mb: int) -> StorageCheck:
        """Whether files can be written now, with at least ``min_free_mb`` free."""
        ...
