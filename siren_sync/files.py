"""Durable files: whole-file atomic writes, append-only files, and the directory fsync they need.

Used by the store for its own files and by every command that writes a file a user keeps (payout
files): a file is replaced by a temp file that was written and fsynced first, then renamed over it,
then the directory is fsynced, so a crash leaves the old file or the new one, never half of one.
Every byte goes through `os.write`, so a test can count what a commit costs.
"""
from __future__ import annotations

import errno
import logging
import os
from pathlib import Path

log = logging.getLogger(__name__)

TEMP_SUFFIX = ".tmp"


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        written = os.write(fd, view)
        view = view[written:]


def fsync_dir(path: Path) -> None:
    """Make a rename or a new file in `path` durable (tolerating filesystems that cannot)."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError as exc:
        log.warning("cannot open directory %s to fsync it: %s", path, exc)
        return
    try:
        os.fsync(fd)
    except OSError as exc:  # EINVAL on some network filesystems: nothing better can be done
        if exc.errno not in (errno.EINVAL, errno.ENOTSUP, errno.EBADF):
            raise
    finally:
        os.close(fd)


def write_temp(path: Path, data: bytes) -> Path:
    """Write `data` to `<path>.tmp` and fsync it; the caller renames it into place.

    A failed write (a full disk) removes the temp file: half a file must not stay behind.
    """
    temp = path.with_name(path.name + TEMP_SUFFIX)
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    _fill(fd, temp, data)
    return temp


def write_new(path: Path, data: bytes, mode: int | None = None) -> None:
    """Create `path`, which must not exist (a file or link planted there is never followed or
    reused), write `data` and fsync it; on failure nothing of it is left. `mode` sets the
    permissions exactly (default: 0o666 less the umask, like any new file)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o666)
    if mode is not None:
        try:
            os.fchmod(fd, mode)
        except BaseException:
            os.close(fd)
            discard(path)
            raise
    _fill(fd, path, data)


def _fill(fd: int, temp: Path, data: bytes) -> None:
    """Write and fsync `data` into the new file `temp` (open as `fd`), removing it on failure."""
    try:
        try:
            _write_all(fd, data)
            os.fsync(fd)
        finally:
            os.close(fd)
    except BaseException:
        discard(temp)
        raise


def discard(path: Path) -> None:
    """Remove `path` if it is there, whatever happens (cleaning up after a failure already raised)."""
    try:
        os.unlink(path)
    except OSError:
        pass


def write_atomic(path: Path, data: bytes, *, sync_dir: bool = True) -> None:
    """Replace `path` by `data` atomically: temp file, fsync, rename (, fsync the directory)."""
    temp = write_temp(path, data)
    try:
        os.replace(temp, path)
    except BaseException:
        discard(temp)
        raise
    if sync_dir:
        fsync_dir(path.parent)


def append_file(path: Path, at: int, data: bytes) -> bool:
    """Write `data` at byte `at` of `path` (cutting anything after `at` first) and fsync.

    Returns whether the file was created, so the caller knows to fsync its directory.
    """
    created = not path.exists()
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        if os.fstat(fd).st_size != at:
            os.ftruncate(fd, at)
        os.lseek(fd, at, os.SEEK_SET)
        _write_all(fd, data)
        os.fsync(fd)
    finally:
        os.close(fd)
    return created


def truncate_file(path: Path, length: int) -> None:
    """Cut `path` back to `length` bytes and fsync (recovery of an append-only file)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.ftruncate(fd, length)
        os.fsync(fd)
    finally:
        os.close(fd)
