"""The locks of a TinyDB store: `fcntl.flock` on a lock file holding the owner's pid.

Two of them, beside the root file: `<store>.lock` is the leader's (the worker holds it for its
whole run, so a second `run` is refused naming the first), and `<store>.write.lock` is held only
from the start of a transaction to its end, so a command that writes (`credit`, `import`, ...)
waits its turn while the worker runs instead of being refused.

The kernel releases a flock when its process dies, however it dies, so a killed worker never leaves
a stale lock behind; the pid in the file only names the holder in messages. Two descriptors of one
file conflict even within a process, so waiting for a lock this process already holds would wait
forever: that is refused at once.
"""
from __future__ import annotations

import errno
import fcntl
import os
import time
from pathlib import Path

from siren_sync.errors import StoreLockedError

_HELD: set[Path] = set()  # the lock files this process holds


class ProcessLock:
    """An exclusive `flock` on the lock file `path` of `store`, holding the owner's pid.

    `busy` words the refusal: it follows "store <store> " and is given the holder's pid, the lock
    file and the seconds waited (`{pid}`, `{lock}`, `{waited}`).
    """

    LEADER = "is in use by another siren-sync process (pid {pid}, lock {lock})"

    def __init__(self, path: Path, store: Path, busy: str = LEADER):
        self.path = path
        self.store = store
        self.busy = busy
        self.refused_by = "unknown"  # the holder's pid, as the last refusal read it
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, wait: float = 0.0) -> None:
        """Take the lock, waiting up to `wait` seconds for its holder, or raise StoreLockedError
        naming the process that holds it."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            self._take(fd, wait if self.path not in _HELD else 0.0)
        except BaseException:
            os.close(fd)
            raise
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        self._fd = fd
        _HELD.add(self.path)

    def try_acquire(self) -> bool:
        """Take the lock if it is free; False (holding nothing) if another holds it."""
        try:
            self.acquire()
        except StoreLockedError:
            return False
        return True

    def _take(self, fd: int, wait: float) -> None:
        deadline = time.monotonic() + wait
        pause = 0.002
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                return
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN, errno.EACCES):
                    raise
            if time.monotonic() >= deadline:
                owner = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
                self.refused_by = owner
                raise StoreLockedError(f"store {self.store} "
                                       + self.busy.format(pid=owner, lock=self.path, waited=round(wait)))
            time.sleep(pause)
            pause = min(pause * 2, 0.05)

    def release(self) -> None:
        """Empty the pid and drop the lock (nothing happens if it is not held)."""
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing the descriptor releases the flock
                self._fd = None
                _HELD.discard(self.path)


class Leader:
    """The leadership of a TinyDB store (`protocol.Leader`): its `<store>.lock`, held until released.

    A second worker is refused (`waits` is false): two processes polling one embedded store would
    only take turns at the disk. A flock cannot be lost while its process lives, so `held` is
    simply whether it was taken.
    """

    waits = False

    def __init__(self, lock: ProcessLock):
        self._lock = lock

    def acquire(self) -> bool:
        return self._lock.held or self._lock.try_acquire()

    def holder(self) -> str:
        """`pid <n>, lock <file>` of the process that refused this one (or this process)."""
        pid = os.getpid() if self._lock.held else self._lock.refused_by
        return f"pid {pid}, lock {self._lock.path}"

    def held(self) -> bool:
        return self._lock.held

    def release(self) -> None:
        self._lock.release()
