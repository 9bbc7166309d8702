"""Durable files under the store: atomic JSON documents, append-only files, the process lock.

The low half of the store, with no idea of tables or events. `JSONFileStorage` is a TinyDB
`Storage` that keeps the whole database in memory and writes it only when asked (`flush`), through
`files.write_atomic`. `ProcessLock` is the one-writer lock: `fcntl.flock` on `<store>.lock`,
released by the kernel when the process dies, however it dies.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Table

from siren_sync.errors import StoreLockedError
from siren_sync.files import write_atomic

_ENCODER = json.JSONEncoder(separators=(",", ":"), ensure_ascii=False, allow_nan=False)
# The C encoder behind `_ENCODER`, made once: `JSONEncoder.encode` builds a new one at every call,
# a third of the cost of encoding one event record. Store documents are trees built from JSON
# (never cyclic), so it runs without the cycle check.
_C_ENCODE = json.encoder.c_make_encoder and json.encoder.c_make_encoder(
    None, _ENCODER.default, json.encoder.encode_basestring, None, ":", ",", False, False, False)


def dumps(data: Any) -> bytes:
    """Compact, strict JSON (no NaN), UTF-8: the one serialization of every store file."""
    if _C_ENCODE is None:  # a Python built without the _json accelerator
        return _ENCODER.encode(data).encode()
    return "".join(_C_ENCODE(data, 0)).encode()


class JSONFileStorage(Storage):
    """A TinyDB storage held in memory and written atomically on `flush()`.

    TinyDB rewrites the whole database on every change; here a change only replaces the
    in-memory state, and `flush()` writes it once, atomically. TinyDB never mutates a table
    dict in place (it builds a new one per change), so a reference to `data` taken before a
    series of changes stays a consistent snapshot that `data = snapshot` restores.
    """

    def __init__(self, path: Path, data: dict[str, dict[str, Any]] | None = None):
        self.path = path
        self.data: dict[str, dict[str, Any]] = data if data is not None else {}

    def read(self) -> dict[str, dict[str, Any]]:
        return dict(self.data)  # a new top level, so TinyDB's changes never reach a snapshot

    def write(self, data: dict[str, dict[str, Any]]) -> None:
        self.data = data

    def flush(self, *, sync_dir: bool = True) -> None:
        write_atomic(self.path, dumps(self.data), sync_dir=sync_dir)


class KeyedTable(Table):
    """A TinyDB table whose documents are identified by caller-given string keys."""

    document_id_class = str


class Database(TinyDB):
    """TinyDB over one `JSONFileStorage`, with string-keyed tables."""

    table_class = KeyedTable

    def __init__(self, storage: JSONFileStorage):
        super().__init__(storage=lambda: storage)

    @property
    def file(self) -> JSONFileStorage:
        return self.storage  # type: ignore[return-value]


class ProcessLock:
    """An exclusive `flock` on a lock file holding the owner's pid; the kernel frees it on death."""

    def __init__(self, path: Path, store: Path):
        self.path = path
        self.store = store
        self._fd: int | None = None

    def acquire(self) -> None:
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
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
            finally:
                os.close(self._fd)  # closing the descriptor releases the flock
                self._fd = None
