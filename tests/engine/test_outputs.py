"""The output manifest and write errors: what a re-render may remove, and how failures read."""

from __future__ import annotations

import errno
import json
from pathlib import Path

import pytest

from musewave.engine.errors import InvalidRequest, OutputFailed
from musewave.engine.outputs import (
    MANIFEST_NAME,
    FileTasks,
    remove_stale_outputs,
    write_error,
    write_manifest,
)


def _published(out: Path, *names: str) -> None:
    for name in names:
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        (out / name).write_bytes(name.encode())
    write_manifest(out, list(names))


def test_files_the_last_render_published_and_this_one_does_not_are_removed(
    tmp_path: Path,
) -> None:
    _published(tmp_path, "mix.wav", "mix.flac", "stems/bass.wav", "plan.json")
    (tmp_path / "mine.txt").write_text("user file")
    removed = remove_stale_outputs(tmp_path, keep={"mix.wav", "plan.json"})
    assert sorted(removed) == ["mix.flac", "stems/bass.wav"]
    assert not (tmp_path / "stems").exists()  # emptied by the removal
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == sorted([MANIFEST_NAME, "mix.wav", "plan.json", "mine.txt"])


def test_a_file_changed_since_it_was_published_is_kept(tmp_path: Path) -> None:
    _published(tmp_path, "mix.flac", "stems/bass.wav")
    (tmp_path / "mix.flac").write_bytes(b"re-exported by the user, longer than before")
    (tmp_path / "stems" / "extra.wav").write_bytes(b"user")
    assert remove_stale_outputs(tmp_path, keep=set()) == ["stems/bass.wav"]
    assert (tmp_path / "mix.flac").exists() and (tmp_path / "stems" / "extra.wav").exists()


@pytest.mark.parametrize(
    "manifest",
    ["not json", json.dumps({"version": 99, "files": {}}), json.dumps({"version": 1})],
)
def test_without_a_manifest_we_understand_nothing_is_removed(tmp_path: Path, manifest: str) -> None:
    (tmp_path / "mix.wav").write_bytes(b"x")
    (tmp_path / MANIFEST_NAME).write_text(manifest)
    assert remove_stale_outputs(tmp_path, keep=set()) == []
    assert (tmp_path / "mix.wav").exists()


def test_a_manifest_never_reaches_outside_the_folder_or_through_a_link(tmp_path: Path) -> None:
    out, outside = tmp_path / "out", tmp_path / "precious.txt"
    out.mkdir()
    outside.write_text("keep")
    (out / "link.wav").symlink_to(outside)
    stat = outside.stat()
    entry = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns}
    files = {"../precious.txt": entry, "link.wav": entry}
    (out / MANIFEST_NAME).write_text(json.dumps({"version": 1, "files": files}))
    assert remove_stale_outputs(out, keep=set()) == []
    assert outside.read_text() == "keep" and (out / "link.wav").is_symlink()


def test_write_errors_read_as_bad_input_or_a_failed_output(tmp_path: Path) -> None:
    denied = write_error(PermissionError(errno.EACCES, "Permission denied"), "mix.wav", tmp_path)
    assert isinstance(denied, InvalidRequest)
    assert str(denied) == f"cannot write to {tmp_path}: Permission denied"
    full = write_error(OSError(errno.ENOSPC, "No space left on device"), "mix.wav", tmp_path)
    assert isinstance(full, OutputFailed)
    assert str(full) == f"cannot write mix.wav to {tmp_path}: no space left on the device"
    codec = write_error(RuntimeError("Unable to write data"), "mix.mp3", tmp_path)
    assert isinstance(codec, OutputFailed) and "Unable to write data" in str(codec)


def test_file_tasks_check_each_file_once_written_and_list_them_in_queue_order() -> None:
    written: list[str] = []
    with FileTasks[str](2) as tasks:
        for name in ("a", "b", "c"):
            tasks.write(name, lambda name=name: written.append(name), early=name == "a")
        tasks.written(lambda name: lambda: name.upper(), lambda done, total, name: None)
        assert tasks.checked(lambda done, total, name: None) == ["A", "B", "C"]
    assert sorted(written) == ["a", "b", "c"]


def test_a_failed_writer_is_raised_when_waiting(tmp_path: Path) -> None:
    def broken() -> None:
        raise OutputFailed("cannot write mix.wav")

    with pytest.raises(OutputFailed), FileTasks[str](1) as tasks:
        tasks.write("mix.wav", broken)
        tasks.written(lambda name: lambda: name, lambda done, total, name: None)
