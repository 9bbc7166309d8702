"""Durable files (siren_sync/files.py): a whole-file write leaves the old file or the new one, never
half of one and no temp file; append-only files are written at the committed length and cut back."""
from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from siren_sync import files
from siren_sync.files import append_file, fsync_dir, truncate_file, write_atomic

OLD, NEW = b"old payouts\n", b"new payouts, a longer file than the old one\n"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(files.TEMP_SUFFIX))


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "payouts.csv"
    path.write_bytes(OLD)
    return path


def fail_after(monkeypatch: pytest.MonkeyPatch, name: str, calls: int, error: int = errno.ENOSPC) -> None:
    """`files.os.<name>` works `calls` times, then raises OSError(`error`) (a full disk, a dying drive)."""
    real = getattr(os, name)
    left = [calls]

    def flaky(*args):
        if left[0] <= 0:
            raise OSError(error, os.strerror(error))
        left[0] -= 1
        return real(*args)
    monkeypatch.setattr(files.os, name, flaky)


def test_a_new_file_is_written_whole(tmp_path: Path):
    path = tmp_path / "new.csv"
    write_atomic(path, NEW)
    assert path.read_bytes() == NEW and leftovers(tmp_path) == []


def test_an_existing_file_is_replaced(target: Path):
    write_atomic(target, NEW)
    assert target.read_bytes() == NEW and leftovers(target.parent) == []


def test_short_writes_are_continued_until_every_byte_is_written(target: Path, monkeypatch: pytest.MonkeyPatch):
    real = os.write
    monkeypatch.setattr(files.os, "write", lambda fd, data: real(fd, bytes(data[:5])))
    write_atomic(target, NEW)
    assert target.read_bytes() == NEW


def test_a_failing_rename_keeps_the_old_file_and_removes_the_temp(target: Path, monkeypatch: pytest.MonkeyPatch):
    fail_after(monkeypatch, "replace", 0, errno.EACCES)
    with pytest.raises(OSError):
        write_atomic(target, NEW)
    assert target.read_bytes() == OLD and leftovers(target.parent) == []


def fail_mid_write(target: Path, monkeypatch: pytest.MonkeyPatch, step: str) -> None:
    """`write_atomic(target, NEW)` failing half-way through its `step` ("write": the disk fills up after
    half the bytes; "fsync": every byte written, then the flush fails)."""
    fail_after(monkeypatch, step, 1 if step == "write" else 0)
    real = files.os.write
    monkeypatch.setattr(files.os, "write", lambda fd, data: real(fd, bytes(data[:max(1, len(data) // 2)])))
    with pytest.raises(OSError):
        write_atomic(target, NEW)


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_a_failing_write_keeps_the_old_file(target: Path, monkeypatch: pytest.MonkeyPatch, step: str):
    fail_mid_write(target, monkeypatch, step)
    assert target.read_bytes() == OLD


@pytest.mark.parametrize("step", ["write", "fsync"])
def test_a_failing_write_leaves_no_temp_file(target: Path, monkeypatch: pytest.MonkeyPatch, step: str):
    fail_mid_write(target, monkeypatch, step)
    assert leftovers(target.parent) == []


def test_the_folder_is_fsynced_after_the_rename(target: Path, monkeypatch: pytest.MonkeyPatch):
    seen: list[tuple[str, bytes]] = []
    monkeypatch.setattr(files, "fsync_dir", lambda folder: seen.append(("fsync_dir", target.read_bytes())))
    write_atomic(target, NEW)
    assert seen == [("fsync_dir", NEW)]  # the new file was in place when its folder was synced
    seen.clear()
    write_atomic(target, OLD, sync_dir=False)
    assert seen == []


def test_fsync_dir_tolerates_a_filesystem_that_cannot(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fail_after(monkeypatch, "fsync", 0, errno.EINVAL)
    fsync_dir(tmp_path)  # no error: nothing better can be done on such a filesystem


def test_fsync_dir_reports_a_real_failure(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    fail_after(monkeypatch, "fsync", 0, errno.EIO)
    with pytest.raises(OSError) as info:
        fsync_dir(tmp_path)
    assert info.value.errno == errno.EIO


def test_fsync_dir_of_a_missing_folder_only_warns(tmp_path: Path, caplog: pytest.LogCaptureFixture):
    fsync_dir(tmp_path / "gone")
    assert "cannot open directory" in caplog.text


def test_append_file_creates_then_appends_at_the_committed_length(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    assert append_file(path, 0, b"one\n") is True  # created: the caller fsyncs the folder
    assert append_file(path, 4, b"two\n") is False
    assert path.read_bytes() == b"one\ntwo\n"


def test_append_file_cuts_an_unfinished_write_first(tmp_path: Path):
    path = tmp_path / "events.jsonl"
    path.write_bytes(b"one\nhalf a li")
    append_file(path, 4, b"two\n")
    assert path.read_bytes() == b"one\ntwo\n"


def test_truncate_file_cuts_back_to_the_length(tmp_path: Path):
    path = tmp_path / "keys.bin"
    path.write_bytes(b"0123456789")
    truncate_file(path, 4)
    assert path.read_bytes() == b"0123"
