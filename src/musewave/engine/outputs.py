"""Writing a render's files: background writers and checkers, and the output manifest.

Files are written on threads while the main thread keeps rendering (the codecs, libsndfile
and numpy release the GIL): the score and plan as soon as they are composed, the stems while
the mix is mastered, the mix files last. Each file is decoded back and checked as soon as it
is written.

The manifest (``.musewave.json`` in the output folder) lists what the last render there
published, with sizes and modification times, so the next render into the same folder can
remove the files it no longer writes without ever touching a file MuseWave did not write or
that changed since.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from pathlib import Path
from types import TracebackType
from typing import Generic, TypeVar

from musewave.engine.errors import InvalidRequest, OutputFailed

T = TypeVar("T")
R = TypeVar("R")
MANIFEST_NAME = ".musewave.json"
MANIFEST_VERSION = 1
# An errno that means "this folder cannot be written by anyone asking": bad input, not a fault.
_NOT_WRITABLE = frozenset({errno.EACCES, errno.EPERM, errno.EROFS, errno.ENOTDIR, errno.EEXIST})
_LOW_SPACE_BYTES = 1 << 20
# Each file's check starts as soon as it is written, on a thread of its own (up to this many):
# in one queue with the writers, the MP3's check (the last step of a render) waited behind the
# stems' writes and checks while a core was free. Each check decodes a whole file (~42 MB for
# 120 s of stereo float32), so their number bounds that memory too.
CHECK_THREADS = 4


def write_error(error: BaseException, name: str, folder: Path) -> InvalidRequest | OutputFailed:
    """The engine error for a failed write of ``name`` into ``folder``: ``InvalidRequest`` when
    the folder is not writable, ``OutputFailed`` for the rest (disk full, I/O errors, an
    encoder that could not write: these say nothing more than "failed", so the free space
    decides whether the message says the disk is full)."""
    if isinstance(error, OSError) and error.errno in _NOT_WRITABLE:
        return InvalidRequest(f"cannot write to {folder}: {error.strerror or error}")
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
        reason = "no space left on the device"
    else:
        try:
            full = shutil.disk_usage(folder).free < _LOW_SPACE_BYTES
        except OSError:
            full = False
        detail = error.strerror if isinstance(error, OSError) and error.strerror else error
        reason = "no space left on the device" if full else str(detail)
    return OutputFailed(f"cannot write {name} to {folder}: {reason}")


class FileTasks(Generic[R]):
    """Writers and checkers on threads, started as soon as their input is final.

    ``write(name, task)`` queues a writer: ``early`` ones (score, plan, stems, captions;
    videos and the cover, drawn already, queued for their checks) run one at a
    time beside the render, the rest (the mix files, then stems parked in files, queued after
    them) on ``threads`` threads of their own, so the mix files never wait behind a stem
    held in memory. ``written(...)`` waits for every writer, starting each
    file's check as soon as it is written (each on a thread of its own, up to
    ``CHECK_THREADS``); ``checked(...)`` waits for the checks. Used as a
    context manager: leaving it (on error or cancel too) cancels what has not started and
    waits for what has, so nothing writes into a folder that is being removed.
    """

    def __init__(self, threads: int) -> None:
        self._early = ThreadPoolExecutor(max_workers=1, thread_name_prefix="musewave-early")
        self._files = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="musewave-file")
        self._checkers = ThreadPoolExecutor(CHECK_THREADS, thread_name_prefix="musewave-check")
        self._writes: dict[Future[None], str] = {}
        self._checks: dict[Future[R], str] = {}
        self._order: list[str] = []

    def __enter__(self) -> FileTasks[R]:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        for pool in (self._early, self._files, self._checkers):
            pool.shutdown(wait=True, cancel_futures=True)

    def write(self, name: str, task: Callable[[], object], *, early: bool = False) -> None:
        """Queue the writer of ``name`` (its result is ignored)."""
        pool = self._early if early else self._files
        self._writes[pool.submit(_discard, task)] = name
        self._order.append(name)

    def written(
        self,
        check_for: Callable[[str], Callable[[], R]],
        on_each: Callable[[int, int, str], None],
    ) -> None:
        """Wait for every writer; queue ``check_for(name)`` as each one finishes and call
        ``on_each(done, total, name)``. A writer's error is raised here."""
        total = len(self._writes)
        for done, future in enumerate(as_completed(self._writes), start=1):
            name = self._writes[future]
            future.result()
            self._checks[self._checkers.submit(check_for(name))] = name
            on_each(done, total, name)

    def checked(self, on_each: Callable[[int, int, str], None]) -> list[R]:
        """Wait for every check; results in the order the files were queued."""
        results: dict[str, R] = {}
        total = len(self._checks)
        for done, future in enumerate(as_completed(self._checks), start=1):
            name = self._checks[future]
            results[name] = future.result()
            on_each(done, total, name)
        return [results[name] for name in self._order]


def _discard(task: Callable[[], object]) -> None:
    task()


def _read_manifest(out_dir: Path) -> dict[str, dict[str, int]]:
    try:
        data = json.loads((out_dir / MANIFEST_NAME).read_text())
        files = data["files"] if data.get("version") == MANIFEST_VERSION else {}
        return {
            str(name): {"size": int(entry["size"]), "mtime_ns": int(entry["mtime_ns"])}
            for name, entry in files.items()
        }
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return {}  # no manifest, or not one we wrote: remove nothing


def remove_stale_outputs(out_dir: Path, keep: set[str]) -> list[str]:
    """Delete files the previous render in ``out_dir`` published and this one does not
    (``keep``: names relative to ``out_dir``), but only those still exactly as that render
    left them (same size and modification time); folders it emptied go too. Returns the
    names removed. Files without a manifest entry are never touched."""
    removed = []
    root = out_dir.resolve()
    for name, entry in _read_manifest(out_dir).items():
        path = out_dir / name
        if name in keep or not path.resolve().is_relative_to(root) or path.is_symlink():
            continue
        with contextlib.suppress(OSError):
            stat = path.stat()
            if stat.st_size == entry["size"] and stat.st_mtime_ns == entry["mtime_ns"]:
                path.unlink()
                removed.append(name)
                _remove_empty_parents(path.parent, root)
    return removed


def _remove_empty_parents(folder: Path, root: Path) -> None:
    while folder.resolve() != root and folder.resolve().is_relative_to(root):
        try:
            folder.rmdir()  # only an empty folder
        except OSError:
            return
        folder = folder.parent


def write_manifest(out_dir: Path, names: list[str]) -> None:
    """Record the published ``names`` (relative to ``out_dir``) with their sizes and
    modification times, atomically."""
    files = {}
    for name in names:
        stat = (out_dir / name).stat()
        files[name] = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    text = json.dumps({"version": MANIFEST_VERSION, "files": files}, indent=2) + "\n"
    temporary = out_dir / f"{MANIFEST_NAME}.part"
    temporary.write_text(text)
    os.replace(temporary, out_dir / MANIFEST_NAME)


@contextlib.contextmanager
def reported_as_engine_error(name: str, folder: Path) -> Iterator[None]:
    """Turn an I/O or encoder failure while writing ``name`` into one engine error."""
    try:
        yield
    except (OSError, RuntimeError) as error:
        raise write_error(error, name, folder) from error
