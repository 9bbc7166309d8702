"""The TinyDB store: siren-sync's state in a root file and a folder beside it, on one machine.

A store is a root file (the configured path, e.g. `data/siren-sync.json`) and a folder beside it
(`data/siren-sync.d/`). The root is a TinyDB database holding the small tables (cursors, periods,
distributions, obligations, outbox, quarantine, ...) and the manifest of everything in the folder
(`manifest.py`):

- partition tables: a table whose name contains '/' (`aggregates/<distributor>/<period start>`)
  lives in its own TinyDB file `tables/<name>.<hash>.<generation>.json` (its base), and a commit
  that changes it appends its changes to the base's journal `...<generation>.jsonl` until too much
  of the journal would be dead (documents replaced or deleted since), when it writes a new base
  instead (`partitions.py`);
- the event ledger: append-only JSON Lines segments `events/<bucket>.jsonl` (the caller picks the
  bucket, e.g. the event's UTC month), whose committed byte lengths the manifest records;
- the key index `keys.bin`: 12-byte blake2b digests of every recorded event key, append-only, so
  `known()` answers "already recorded?" without reading the ledger (`keyindex.py`).

A commit (`commit.py`) writes new partition bases, appends to journals, segments and the key index
(each fsynced), then replaces the root atomically: that rename is the commit point. Before it, the
old root still names the old files and lengths, so on the next open anything longer or newer is cut
back or removed (`recovery.py`); after it, the superseded files are deleted. A commit therefore
costs the size of what changed plus the root, never the size of the ledger: a period with a million
events records its next batch as fast as its first.

Writers take turns (`lock.py`): a transaction holds `<path>.write.lock` from its start to its end,
and first re-reads the root if another process replaced it since (the writer keeps its root file
open: while it is, no other file can take its inode, so "the path names another inode" is an exact
test). The worker leads with `<path>.lock` for its whole run, so a second worker is refused.
Recovery of an unfinished commit runs when a writer opens the store, under the write lock.
`TinyDBStore(path, readonly=True)` takes no lock and reads only committed state, so `standings` or
`history` work while the worker runs. A store that cannot be read raises `StoreError` and is never
written to. Back up the root file and its folder together.
"""
from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Self, TypeVar, overload

from tinydb.table import Table

from siren_sync.errors import StoreError
from siren_sync.store.cache import TABLES_KEPT, TableCache
from siren_sync.store.names import check_table, is_partition, key_digest
from siren_sync.store.protocol import WRITE_WAIT, Changes, Document
from siren_sync.store.tinydb.commit import Commit
from siren_sync.store.tinydb.database import Database, JSONFileStorage, Tables, document
from siren_sync.store.tinydb.keyindex import read_key_index
from siren_sync.store.tinydb.lock import Leader, ProcessLock
from siren_sync.store.tinydb.manifest import (
    KEYS_FILE,
    PARTITIONS,
    SEGMENTS,
    misplaced,
    new_root,
    read_root,
    store_meta,
    unreadable,
)
from siren_sync.store.tinydb.partitions import read_partition
from siren_sync.store.tinydb.recovery import recover
from siren_sync.store.tinydb.segments import read_segment
from siren_sync.store.transaction import BufferedTransaction

log = logging.getLogger(__name__)

T = TypeVar("T")


class TinyDBStore:
    """The store at `path` (see the module docstring): a `protocol.Store`. `open()` before use, or
    use `with`.

    Documents returned by `get` and `table` are the store's own: read them, never mutate them
    (use `Transaction.get` for a copy to change and `put` back).
    """

    WRITE_BUSY = ("is being written by another siren-sync process (pid {pid}, lock {lock}), "
                  "still busy after {waited} s; try again")

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self.folder = self.path.with_name(self.path.stem + ".d")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._leader = Leader(ProcessLock(self.lock_path, self.path))
        self._write_lock = ProcessLock(self.path.with_name(self.path.name + ".write.lock"), self.path,
                                       self.WRITE_BUSY)
        self.write_wait = WRITE_WAIT  # seconds a transaction waits for another process's
        self._db: Database | None = None
        self._root_fd: int | None = None  # the root file this store read last (writers)
        # A writer (the worker, for months) keeps the partitions it used last; a reader (one command)
        # keeps all it read, so what it shows comes from one committed state even past the bound.
        self._partitions: TableCache[Database] = TableCache(sys.maxsize if readonly else TABLES_KEPT)
        self._keys: set[int] | None = None
        self._tx: BufferedTransaction | None = None

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "writer"
        return f"Store({str(self.path)!r}, {mode}, {'closed' if self._db is None else 'open'})"

    @property
    def location(self) -> str:
        return str(self.path)

    # -- opening and closing --------------------------------------------------------------

    def open(self) -> Self:
        """Read the root; a writer first creates the store, or recovers an unfinished commit when no
        other process is writing (leftovers past the committed lengths are never read meanwhile)."""
        if self._db is not None:
            return self
        if self.readonly:
            data = read_root(self.path)  # a store not created yet reads as an empty one
            self._db = Database(JSONFileStorage(self.path, data if data is not None else new_root()))
            return self
        try:
            self._folder_for_writing()
            locked = self._write_lock.try_acquire()
        except OSError as exc:
            raise self._cannot("write in its folder", exc) from None
        try:
            self._open_writer(locked)
        except OSError as exc:
            raise self._cannot("be opened for writing", exc) from None
        finally:
            self._write_lock.release()
        return self

    def _open_writer(self, locked: bool) -> None:
        """Create or recover the store under the write lock (`locked`: already held), unless another
        process is writing: what its unfinished commit left is undone by a later open."""
        if locked or not self.path.exists():
            if not locked:  # being created by another process: wait for it
                self._write_lock.acquire(self.write_wait)
            self._create_or_recover()
        self._use_root(*self._read_root_file())

    def _folder_for_writing(self) -> None:
        """The root's folder, created if needed; a StoreError when the path cannot be a store file."""
        problem = misplaced(self.path)
        if problem is not None:
            raise problem
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _cannot(self, what: str, exc: OSError) -> StoreError:
        """The one-line error of a store the system will not let us write (no traceback, no temp file)."""
        where = f" ({exc.filename})" if exc.filename else ""
        return StoreError(f"store {self.path} cannot {what}: {exc.strerror or exc}{where}; check store.path in the "
                          "config and that this user may write there")

    def _create_or_recover(self) -> None:
        """Under the write lock: create a missing store, or undo what an unfinished commit left."""
        data = read_root(self.path)
        if data is None:
            if self.folder.exists() and any(self.folder.iterdir()):
                raise unreadable(self.path, f"the file is missing but {self.folder} holds store data")
            JSONFileStorage(self.path, new_root()).flush()
            log.info("created store %s", self.path)
            return
        recover(self.path, self.folder, data)

    def close(self) -> None:
        """Stop leading, forget the cached state; an open transaction is discarded."""
        if self._tx is not None:
            self._tx.discard()
            self._tx = None
        self._db = None
        self._partitions.clear()
        self._keys = None
        self._forget_root_file()
        self._leader.release()

    def __enter__(self) -> Self:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def leader(self) -> Leader:
        """`<path>.lock`: the worker's, for its whole run (a second worker is refused)."""
        return self._leader

    # -- following other writers ----------------------------------------------------------

    def _use_root(self, data: Tables, fd: int | None) -> None:
        """Take `data` (just read from the root file open as `fd`) as the committed state, keeping
        the cached partitions whose manifest entries did not change (a journal grown by another
        writer's commit is an entry changed: the partition is read again) and the key index plus
        what was appended."""
        old = self._root if self._db is not None else None
        self._db = Database(JSONFileStorage(self.path, data))
        self._forget_root_file()
        self._root_fd = fd
        if old is None:
            return
        self._partitions.keep_only(lambda name: old[PARTITIONS].get(name) == data[PARTITIONS].get(name))
        old_length, new_length = store_meta(old)["keys"]["length"], store_meta(data)["keys"]["length"]
        if self._keys is not None and new_length >= old_length:
            self._keys |= read_key_index(self.path, self.folder / KEYS_FILE, new_length, old_length)
        else:
            self._keys = None  # read again when asked

    def _read_root_file(self) -> tuple[Tables, int]:
        """The root's data and the root file held open: the very file the data was read from (the
        path still names its inode after the read, and an inode held open is never reused)."""
        for _ in range(10):
            try:
                fd = os.open(self.path, os.O_RDONLY)
            except FileNotFoundError:
                raise unreadable(self.path, "the file disappeared") from None
            try:
                data = read_root(self.path)
                if data is not None and not self._names_another_file(fd):
                    return data, fd
            except BaseException:
                os.close(fd)
                raise
            os.close(fd)
        raise unreadable(self.path, "the file keeps changing while it is read")

    def _names_another_file(self, fd: int) -> bool:
        try:
            now = os.stat(self.path)
        except FileNotFoundError:
            return True
        held = os.fstat(fd)
        return (now.st_dev, now.st_ino) != (held.st_dev, held.st_ino)

    def _forget_root_file(self) -> None:
        if self._root_fd is not None:
            os.close(self._root_fd)
            self._root_fd = None

    def refresh(self) -> None:
        """Read what other processes committed since this store last looked."""
        self._opened()
        if self._root_fd is None or self._names_another_file(self._root_fd):
            self._use_root(*self._read_root_file())

    # -- reading --------------------------------------------------------------------------

    def _opened(self) -> Database:
        if self._db is None:
            raise RuntimeError(f"store {self.path} is not open")
        return self._db

    @property
    def _root(self) -> Tables:
        return self._opened().file.data

    def _partition(self, table: str) -> Database | None:
        db = self._partitions.get(table)
        if db is not None:
            return db
        entry = self._read_partition(table)
        if entry is None:
            return None
        path, data = entry
        db = Database(JSONFileStorage(path, data))
        self._partitions.put(table, db)
        return db

    def _read_partition(self, table: str) -> tuple[Path, Tables] | None:
        """The base file of partition `table` and its data, the journal replayed (None if the root
        names no such partition).

        Outside a transaction, a store whose files were replaced by another writer's commit
        meanwhile finds a file it knew removed: it re-reads the root and tries again.
        """
        attempts = 3
        while True:
            entry = self._root[PARTITIONS].get(table)
            if entry is None:
                return None
            try:
                return self.folder / entry["file"], read_partition(self.path, self.folder, table, entry)
            except FileNotFoundError as exc:
                attempts -= 1
                if self._write_lock.held or not attempts:
                    raise unreadable(self.path, f"{exc.filename or self.folder / entry['file']} is missing") from None
                self.refresh()
            except OSError as exc:
                where = exc.filename or self.folder / entry["file"]
                raise unreadable(self.path, f"{where}: {exc.strerror or exc}") from None

    def _table(self, table: str) -> Table:
        """A small table of the root (partitions are read through `_partition_docs`)."""
        check_table(table)
        return self._opened().table(table)

    def _partition_docs(self, table: str) -> dict[str, Document]:
        """A partition's documents as read: the store's own, never to be changed (empty if none)."""
        check_table(table)
        db = self._partition(table)
        docs: dict[str, Document] = db.file.data.get(table, {}) if db is not None else {}
        return docs

    @overload
    def get(self, table: str, key: str) -> Document | None: ...

    @overload
    def get(self, table: str, key: str, default: T) -> Document | T: ...

    def get(self, table: str, key: str, default: object = None) -> object:
        """The committed document `key` of `table`, or `default`. Do not mutate it.

        A partition's document is looked up in the documents as read, as `table` returns them
        (TinyDB's own `get` would wrap a copy of it, or scan for a miss, at each call: a programs
        poll asks for a visitor's visits at every sale, most of them missing)."""
        if is_partition(table):
            doc = self._partition_docs(table).get(key)
        else:
            doc = document(self._table(table), key)
        return default if doc is None else doc

    def table(self, table: str) -> dict[str, Document]:
        """A snapshot `{key: document}` of a committed table (empty if it does not exist).

        The dict is new, the documents' nested values are the store's own: do not mutate them.

        A partition is returned from the documents as read (a period's 100,000 aggregates or
        obligations are not wrapped one by one): do not mutate those either.
        """
        if is_partition(table):
            return dict(self._partition_docs(table))
        return {str(doc.doc_id): doc for doc in self._table(table)}

    def tables(self, prefix: str = "") -> list[str]:
        """Names of the tables holding at least one document whose names start with `prefix`."""
        root = self._root
        names = [name for name in root[PARTITIONS] if name.startswith(prefix)]
        names += [name for name, docs in root.items()
                  if docs and not name.startswith("_") and name.startswith(prefix)]
        return sorted(names)

    def _key_index(self) -> set[int]:
        if self._keys is None:
            length = store_meta(self._root)["keys"]["length"]
            self._keys = read_key_index(self.path, self.folder / KEYS_FILE, length)
        return self._keys

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are already recorded (committed), from the key index."""
        index = self._key_index()
        return {key for key in keys if key_digest(key) in index}

    def buckets(self) -> list[str]:
        """The event buckets holding committed events, sorted."""
        return sorted(self._root[SEGMENTS])

    def event_count(self, bucket: str | None = None) -> int:
        """How many events are committed in `bucket` (or in all buckets)."""
        segments = self._root[SEGMENTS]
        if bucket is not None:
            count: int = segments.get(bucket, {}).get("count", 0)
            return count
        return sum(entry["count"] for entry in segments.values())

    def event_counts(self) -> dict[str, int]:
        """How many events are committed in each bucket holding some."""
        return {bucket: entry["count"] for bucket, entry in self._root[SEGMENTS].items() if entry["count"]}

    def events(self, bucket: str, start: int = 0) -> Iterator[Document]:
        """The committed event records of `bucket`, in the order they were recorded, from the `start`-th."""
        entry = self._root[SEGMENTS].get(bucket)
        if entry is not None:
            yield from read_segment(self.path, self.folder / entry["file"], entry["length"], start)

    # -- writing --------------------------------------------------------------------------

    def _writer(self) -> Database:
        if self.readonly:
            raise StoreError(f"store {self.path} was opened read-only")
        return self._opened()

    def transaction(self) -> BufferedTransaction:
        """A new transaction holding the write lock (waiting for another process's, up to
        `write_wait` seconds); `with` commits it on a clean exit and discards it on an exception."""
        self._writer()
        if self._tx is not None and not self._tx.finished:
            raise RuntimeError("a store transaction is already open (one writer at a time)")
        self._lock_for_writing()
        self._tx = BufferedTransaction(self, on_finish=self._write_lock.release)
        return self._tx

    def _lock_for_writing(self) -> None:
        """Take the write lock and catch up with what other processes committed."""
        self._write_lock.acquire(self.write_wait)
        try:
            self.refresh()
        except BaseException:
            self._write_lock.release()
            raise

    def apply(self, changes: Changes) -> None:
        """Commit `changes` atomically (see `commit.py`): all of them or, if anything fails, none."""
        self._writer()
        if self._write_lock.held:
            self._commit(changes)
            return
        self._lock_for_writing()
        try:
            self._commit(changes)
        finally:
            self._write_lock.release()

    def _commit(self, changes: Changes) -> None:
        commit = Commit(self._opened(), self.folder, changes, self._partition)
        commit.run()
        self._forget_root_file()
        self._root_fd = os.open(self.path, os.O_RDONLY)  # the root just written: the lock is held
        for table, db in commit.loaded.items():
            if db is None:
                self._partitions.drop(table)
            else:
                self._partitions.put(table, db)
        if self._keys is not None:
            self._keys.update(changes.keys)
        commit.remove_superseded()
