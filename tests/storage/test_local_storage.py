"""The local-directory storage: keys, publishing, serving, removal, size and health."""

from __future__ import annotations

from pathlib import Path

import pytest

from musewave.storage import LocalStorage, Storage
from musewave.storage.base import job_key


def render(storage: Storage, job_id: str, files: dict[str, bytes]) -> None:
    folder = storage.render_dir(job_id)
    for name, data in files.items():
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        (folder / name).write_bytes(data)


def test_published_files_are_served_under_their_relative_keys(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path / "assets")
    render(storage, "job1", {"mix.mp3": b"mp3", "stems/bass.wav": b"wave"})

    keys = storage.publish("job1", ["mix.mp3", "stems/bass.wav"])

    assert keys == ["job1/mix.mp3", "job1/stems/bass.wav"]
    served = storage.local_path("job1/stems/bass.wav")
    assert served is not None and served.read_bytes() == b"wave"
    assert storage.size_bytes("job1") == len(b"mp3") + len(b"wave")


def test_publishing_a_file_that_was_not_rendered_fails(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    render(storage, "job1", {"mix.mp3": b"mp3"})
    with pytest.raises(FileNotFoundError, match=r"job1/mix\.wav"):
        storage.publish("job1", ["mix.mp3", "mix.wav"])


@pytest.mark.parametrize("name", ["../escape.wav", "/etc/passwd", "a\\b.wav", ""])
def test_names_cannot_leave_the_jobs_folder(name: str) -> None:
    with pytest.raises(ValueError):
        job_key("job1", name)


@pytest.mark.parametrize("job_id", ["", ".", "..", "a/b", "a\\b"])
def test_job_ids_cannot_name_another_folder(tmp_path: Path, job_id: str) -> None:
    with pytest.raises(ValueError):
        LocalStorage(tmp_path).render_dir(job_id)


def test_keys_outside_the_root_or_missing_are_never_served(tmp_path: Path) -> None:
    (tmp_path / "secret.txt").write_text("no")
    storage = LocalStorage(tmp_path / "assets")
    render(storage, "job1", {"mix.mp3": b"mp3"})
    (tmp_path / "assets" / "job1" / "link.mp3").symlink_to(tmp_path / "secret.txt")

    assert storage.local_path("../secret.txt") is None
    assert storage.local_path("job1/link.mp3") is None  # a symlink out of the root
    assert storage.local_path("job1/absent.mp3") is None
    assert storage.local_path("job1") is None  # a folder is not a file


def test_remove_deletes_one_jobs_files_only(tmp_path: Path) -> None:
    storage = LocalStorage(tmp_path)
    render(storage, "job1", {"mix.mp3": b"1"})
    render(storage, "job2", {"mix.mp3": b"2"})

    storage.remove("job1")
    storage.remove("job1")  # nothing left: no error

    assert storage.local_path("job1/mix.mp3") is None
    assert storage.local_path("job2/mix.mp3") is not None
    assert storage.size_bytes("job1") == 0


def test_check_reports_free_space_and_an_unwritable_root(tmp_path: Path) -> None:
    healthy = LocalStorage(tmp_path).check(min_free_mb=1)
    assert healthy.ok and healthy.free_mb is not None and healthy.free_mb >= 1
    assert not LocalStorage(tmp_path).check(min_free_mb=10**12).ok

    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    broken = LocalStorage(blocker / "assets").check(min_free_mb=1)
    assert not broken.ok and broken.error is not None
