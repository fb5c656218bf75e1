"""Job files in a local directory (one machine, or a volume every process mounts)."""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Sequence
from pathlib import Path

from musewave.storage.base import StorageCheck, job_key, job_prefix


class LocalStorage:
    """Files under ``root``: key ``<job_id>/<name>`` is the file ``root/<job_id>/<name>``.

    The engine renders straight into the job's folder (its own staging makes that atomic), so
    publishing only checks that the files are there."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def render_dir(self, job_id: str) -> Path:
        return self.root / job_prefix(job_id)

    def publish(self, job_id: str, names: Sequence[str]) -> list[str]:
        keys = [job_key(job_id, name) for name in names]
        missing = [key for key in keys if not (self.root / key).is_file()]
        if missing:
            raise FileNotFoundError(f"rendered files missing from storage: {missing}")
        return keys

    def local_path(self, key: str) -> Path | None:
        root = self.root.resolve()
        path = (root / key).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            return None
        return path

    def remove(self, job_id: str) -> None:
        shutil.rmtree(self.root / job_prefix(job_id), ignore_errors=True)

    def size_bytes(self, job_id: str) -> int:
        folder = self.root / job_prefix(job_id)
        return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file())

    def check(self, min_free_mb: int) -> StorageCheck:
        probe = self.root / f".probe-{uuid.uuid4().hex}"
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            probe.write_bytes(b"ok")
            probe.unlink()
        except OSError as error:
            return StorageCheck(ok=False, error=str(error))
        free_mb = shutil.disk_usage(self.root).free // 2**20
        return StorageCheck(ok=free_mb >= min_free_mb, free_mb=free_mb)
