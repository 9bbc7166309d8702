"""The one-writer lock of a TinyDB store: `fcntl.flock` on `<store>.lock`, holding the owner's pid.

The kernel releases a flock when its process dies, however it dies, so a killed worker never leaves
a stale lock behind; the pid in the file only names the holder in the refusal's message.
"""
from __future__ import annotations

import errno
import fcntl
import os
from pathlib import Path

from siren_sync.errors import StoreLockedError


class ProcessLock:
    """An exclusive `flock` on a lock file holding the owner's pid; the kernel frees it on death."""

    def __init__(self, path: Path, store: Path):
        self.path = path
        self.store = store
        self._fd: int | None = None

    def acquire(self) -> None:
        """Take the lock, or raise StoreLockedError naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            os.close(fd)
            if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                raise StoreLockedError(
                    f"store {self.store} is in use by another siren-sync process "
                    f"(pid {owner}, lock {self.path})"
                ) from None
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        """Empty the pid and drop the lock (nothing happens if it is not held)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing the descriptor releases the flock
                self._fd = None
