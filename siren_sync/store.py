"""The store: the one place that writes siren-sync's state to disk.

A store is a root file (the configured path, e.g. `data/siren-sync.json`) and a folder beside it
(`data/siren-sync.d/`). The root is a TinyDB database holding the small tables (cursors, periods,
distributions, obligations, outbox, quarantine, ...) and the manifest of everything in the folder:

- partition tables: a table whose name contains '/' (`aggregates/<distributor>/<period start>`)
  lives in its own TinyDB file `tables/<name>.<hash>.<generation>.json`, rewritten only when it
  changes;
- the event ledger: append-only JSON Lines segments `events/<bucket>.jsonl` (the caller picks the
  bucket, e.g. the event's UTC month), whose committed byte lengths the manifest records;
- the key index `keys.bin`: 12-byte blake2b digests of every recorded event key, append-only, so
  `known()` answers "already recorded?" without reading the ledger.

A commit writes changed partitions as new generation files, appends to segments and the key index
(each fsynced), then replaces the root atomically: that rename is the commit point. Before it, the
old root still names the old files and lengths, so on the next open anything longer or newer is
cut back or removed; after it, the superseded files are deleted. A commit therefore costs the size
of what changed plus the root, never the size of the ledger: a period with a million events
records its next batch as fast as its first.

One writer per store: `open()` takes an exclusive `flock` on `<path>.lock`. `Store(path,
readonly=True)` takes no lock and reads only committed state, so `standings` or `history` work while
the worker runs. A store that cannot be read raises `StoreError` and is never written to.
Back up the root file and its folder together.
"""
from __future__ import annotations

import hashlib
import json
import logging
import os
import re
from collections.abc import Iterable, Iterator, Mapping
from datetime import UTC, datetime
from functools import lru_cache
from pathlib import Path, PurePosixPath
from typing import Any

from tinydb.table import Document, Table

from siren_sync.errors import StoreError
from siren_sync.files import append_file, fsync_dir, truncate_file, write_temp
from siren_sync.storage import Database, JSONFileStorage, ProcessLock, dumps

log = logging.getLogger(__name__)

SCHEMA_VERSION = 1
KEY_BYTES = 12

# Tables of the root that belong to the store itself; callers' table names cannot start with '_'.
META = "_meta"  # {"store": {"schema", "created", "generation", "keys": {"file", "length"}}}
PARTITIONS = "_tables"  # partition table name -> {"file", "docs"}
SEGMENTS = "_events"  # bucket -> {"file", "length", "count"}
KEYS_FILE = "keys.bin"

_BUCKET = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}\Z")


@lru_cache(maxsize=1 << 16)
def key_digest(key: str) -> int:
    """The 96-bit digest under which an event key is remembered.

    Cached: a new event's key is looked up when a page is buffered, again when it is recorded,
    and once more when it is appended, all within one batch.
    """
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=KEY_BYTES).digest(), "little")


def is_partition(table: str) -> bool:
    """Whether `table` lives in its own file (its name contains '/') rather than in the root."""
    return "/" in table


def _check_table(table: str) -> None:
    if not isinstance(table, str) or not table or table.startswith("_"):
        raise ValueError(f"bad table name {table!r} (a non-empty string not starting with '_')")


def _check_key(key: str) -> None:
    if not isinstance(key, str) or not key:
        raise ValueError(f"bad document key {key!r} (a non-empty string)")


def _check_bucket(bucket: str) -> None:
    if not isinstance(bucket, str) or not _BUCKET.match(bucket):
        raise ValueError(f"bad event bucket {bucket!r} (letters, digits, '.', '_', '-')")


def _copy(doc: Mapping[str, Any]) -> dict[str, Any]:
    """A deep copy of a JSON document (and the proof that it is plain JSON)."""
    return json.loads(dumps(doc))


def _partition_file(table: str, generation: int) -> str:
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", table)[:80].strip("._") or "table"
    digest = hashlib.blake2b(table.encode(), digest_size=5).hexdigest()
    return f"tables/{readable}.{digest}.{generation}.json"


def _relative_file(value: Any, folder: str) -> bool:
    if not isinstance(value, str):
        return False
    parts = PurePosixPath(value).parts
    return len(parts) == 2 and parts[0] == folder and parts[1] not in ("", ".", "..")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _root_problem(data: Any) -> str | None:
    """What makes `data` (a parsed root file) unusable, or None."""
    if not isinstance(data, dict):
        return "not a siren-sync store (the top level is not a JSON object)"
    meta = data.get(META, {}).get("store") if isinstance(data.get(META), dict) else None
    if not isinstance(meta, dict) or not _count(meta.get("schema")):
        return "not a siren-sync store (no schema version)"
    if meta["schema"] > SCHEMA_VERSION:
        return (f"schema version {meta['schema']} is newer than this siren-sync supports "
                f"({SCHEMA_VERSION}); upgrade siren-sync")
    if meta["schema"] < 1:
        return f"unknown schema version {meta['schema']}"
    for name, docs in data.items():
        if not isinstance(docs, dict) or not all(isinstance(d, dict) for d in docs.values()):
            return f"table {name!r} is not an object of documents"
    keys = meta.get("keys")
    if (not _count(meta.get("generation")) or not isinstance(keys, dict)
            or keys.get("file") != KEYS_FILE or not _count(keys.get("length"))
            or keys["length"] % KEY_BYTES):
        return "the store's meta record is damaged"
    for name, entry in data.get(PARTITIONS, {}).items():
        if not is_partition(name) or not _relative_file(entry.get("file"), "tables"):
            return f"the manifest entry of table {name!r} is damaged"
    for bucket, entry in data.get(SEGMENTS, {}).items():
        if (not _BUCKET.match(bucket) or not _relative_file(entry.get("file"), "events")
                or not _count(entry.get("length")) or not _count(entry.get("count"))):
            return f"the manifest entry of event bucket {bucket!r} is damaged"
    return None


def _apply(table: Table, changes: Mapping[str, dict[str, Any] | None]) -> None:
    """Apply puts (a document) and deletes (None) to a TinyDB table in two passes."""
    present = [key for key in changes if table.contains(doc_id=key)]
    if present:
        table.remove(doc_ids=present)
    table.insert_multiple(Document(doc, doc_id=key)
                          for key, doc in changes.items() if doc is not None)


def _changed(docs: Mapping[str, dict[str, Any]], changes: Mapping[str, dict[str, Any] | None]) -> dict:
    """A partition's documents with the changes applied, as TinyDB stores them (a new dict).

    A partition file holds a single table written whole, so the new table is built directly
    rather than through TinyDB's per-document remove and insert (a period's 100,000 obligations
    would otherwise cost seconds in bookkeeping); TinyDB reads the file as its own.
    """
    result = {**docs, **changes}
    for key in [key for key, doc in changes.items() if doc is None]:
        del result[key]
    return result


class Store:
    """The store at `path` (see the module docstring). `open()` before use, or use `with`.

    Documents returned by `get` and `table` are the store's own: read them, never mutate them
    (use `Transaction.get` for a copy to change and `put` back).
    """

    def __init__(self, path: str | os.PathLike[str], *, readonly: bool = False):
        self.path = Path(path)
        self.readonly = readonly
        self.folder = self.path.with_name(self.path.stem + ".d")
        self.lock_path = self.path.with_name(self.path.name + ".lock")
        self._lock = ProcessLock(self.lock_path, self.path)
        self._db: Database | None = None
        self._partitions: dict[str, Database] = {}
        self._keys: set[int] | None = None
        self._tx: Transaction | None = None

    def __repr__(self) -> str:
        mode = "readonly" if self.readonly else "writer"
        return f"Store({str(self.path)!r}, {mode}, {'closed' if self._db is None else 'open'})"

    # -- opening and closing --------------------------------------------------------------

    def open(self) -> Store:
        """Lock (unless read-only), read the root and recover from an unfinished commit."""
        if self._db is not None:
            return self
        if self.readonly:
            db = self._read_root()  # a store not created yet reads as an empty one
            self._db = db if db is not None else Database(JSONFileStorage(self.path,
                                                                          self._new_root()))
            return self
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._lock.acquire()
        try:
            db = self._read_root()
            if db is None:
                if self.folder.exists() and any(self.folder.iterdir()):
                    raise self._unreadable(
                        f"the file is missing but {self.folder} holds store data")
                db = Database(JSONFileStorage(self.path, self._new_root()))
                db.file.flush()
                log.info("created store %s", self.path)
            self._db = db
            self._recover()
        except BaseException:
            self._db = None
            self._lock.release()
            raise
        return self

    def close(self) -> None:
        """Release the lock and forget the cached state; an open transaction is discarded."""
        self._tx = None
        self._db = None
        self._partitions.clear()
        self._keys = None
        if not self.readonly:
            self._lock.release()

    def __enter__(self) -> Store:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _unreadable(self, reason: str) -> StoreError:
        return StoreError(f"store {self.path} cannot be read: {reason}; it was left untouched "
                          "(restore a backup or move it away)")

    def _new_root(self) -> dict[str, dict[str, Any]]:
        created = datetime.now(UTC).isoformat(timespec="seconds")
        meta = {"schema": SCHEMA_VERSION, "created": created, "generation": 0,
                "keys": {"file": KEYS_FILE, "length": 0}}
        return {META: {"store": meta}, PARTITIONS: {}, SEGMENTS: {}}

    def _read_root(self) -> Database | None:
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise self._unreadable(exc.strerror or str(exc)) from None
        if not raw.strip():
            raise self._unreadable("the file is empty")
        try:
            data = json.loads(raw.decode())
        except UnicodeDecodeError:
            raise self._unreadable("the file is not UTF-8 text") from None
        except json.JSONDecodeError as exc:
            raise self._unreadable(f"invalid JSON at line {exc.lineno} column {exc.colno} "
                                   f"({exc.msg})") from None
        problem = _root_problem(data)
        if problem:
            raise self._unreadable(problem)
        data.setdefault(PARTITIONS, {})
        data.setdefault(SEGMENTS, {})
        return Database(JSONFileStorage(self.path, data))

    def _recover(self) -> None:
        """Undo an unfinished commit: cut appended files back, remove unreferenced files.

        Everything is checked before anything is changed, so a store whose files disagree with
        its root is reported and left as it is.
        """
        data = self._root
        cuts: list[tuple[Path, int]] = []
        for bucket, entry in data[SEGMENTS].items():
            cuts.append((self.folder / entry["file"], entry["length"]))
        keys = data[META]["store"]["keys"]
        if keys["length"] or (self.folder / KEYS_FILE).exists():
            cuts.append((self.folder / KEYS_FILE, keys["length"]))
        for path, length in cuts:
            try:
                size = path.stat().st_size
            except FileNotFoundError:
                raise self._unreadable(f"{path} is missing") from None
            if size < length:
                raise self._unreadable(f"{path} is shorter than recorded ({size} < {length} bytes)")
        for entry in data[PARTITIONS].values():
            if not (self.folder / entry["file"]).is_file():
                raise self._unreadable(f"{self.folder / entry['file']} is missing")
        for path, length in cuts:
            if path.stat().st_size > length:
                log.warning("%s: cutting an unfinished write back to %d bytes", path, length)
                truncate_file(path, length)
        referenced = {entry["file"] for entry in data[PARTITIONS].values()}
        referenced |= {entry["file"] for entry in data[SEGMENTS].values()}
        for folder in ("tables", "events"):
            if not (self.folder / folder).is_dir():
                continue
            for path in (self.folder / folder).iterdir():
                if f"{folder}/{path.name}" not in referenced and path.is_file():
                    log.warning("%s: removing a file left by an unfinished write", path)
                    path.unlink()
        for temp in (self.path.with_name(self.path.name + ".tmp"),
                     self.folder / (KEYS_FILE + ".tmp")):
            if temp.exists():
                temp.unlink()

    # -- reading --------------------------------------------------------------------------

    @property
    def _root(self) -> dict[str, dict[str, Any]]:
        if self._db is None:
            raise RuntimeError(f"store {self.path} is not open")
        return self._db.file.data

    def _refresh(self) -> None:
        """Read-only mode: re-read the root after the writer replaced a file we wanted."""
        db = self._read_root()
        if db is None:
            raise self._unreadable("the file disappeared")
        self._db = db
        self._partitions.clear()
        self._keys = None

    def _partition(self, table: str) -> Database | None:
        db = self._partitions.get(table)
        if db is not None:
            return db
        for attempt in range(3):
            entry = self._root[PARTITIONS].get(table)
            if entry is None:
                return None
            path = self.folder / entry["file"]
            try:
                raw = path.read_bytes()
                break
            except FileNotFoundError:
                if not self.readonly or attempt == 2:
                    raise self._unreadable(f"{path} is missing") from None
                self._refresh()  # the writer committed a newer generation meanwhile
            except OSError as exc:
                raise self._unreadable(f"{path}: {exc.strerror or exc}") from None
        try:
            data = json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise self._unreadable(f"{path} is not valid JSON ({exc})") from None
        docs = data.get(table) if isinstance(data, dict) else None
        if (not isinstance(docs, dict) or len(data) != 1
                or not all(isinstance(d, dict) for d in docs.values())):
            raise self._unreadable(f"{path} does not hold the table {table!r}")
        db = Database(JSONFileStorage(path, data))
        self._partitions[table] = db
        return db

    def _table(self, table: str) -> Table | None:
        _check_table(table)
        if is_partition(table):
            db = self._partition(table)
            return db.table(table) if db is not None else None
        if self._db is None:
            raise RuntimeError(f"store {self.path} is not open")
        return self._db.table(table)

    def get(self, table: str, key: str, default: Any = None) -> dict[str, Any] | None:
        """The committed document `key` of `table`, or `default`. Do not mutate it."""
        tbl = self._table(table)
        doc = tbl.get(doc_id=key) if tbl is not None else None
        return default if doc is None else doc

    def table(self, table: str) -> dict[str, dict[str, Any]]:
        """A snapshot `{key: document}` of a committed table (empty if it does not exist).

        The dict is new, the documents' nested values are the store's own: do not mutate them.

        A partition is returned from the documents as read (a period's 100,000 aggregates or
        obligations are not wrapped one by one): do not mutate those either.
        """
        if is_partition(table):
            _check_table(table)
            db = self._partition(table)
            return dict(db.file.data.get(table, {})) if db is not None else {}
        tbl = self._table(table)
        return {str(doc.doc_id): doc for doc in tbl} if tbl is not None else {}

    def tables(self, prefix: str = "") -> list[str]:
        """Names of the tables holding at least one document whose names start with `prefix`."""
        root = self._root
        names = [name for name in root[PARTITIONS] if name.startswith(prefix)]
        names += [name for name, docs in root.items()
                  if docs and not name.startswith("_") and name.startswith(prefix)]
        return sorted(names)

    def _key_index(self) -> set[int]:
        if self._keys is None:
            length = self._root[META]["store"]["keys"]["length"]
            blob = b""
            if length:
                with open(self.folder / KEYS_FILE, "rb") as file:
                    blob = file.read(length)
                if len(blob) != length:
                    raise self._unreadable(f"{self.folder / KEYS_FILE} is shorter than recorded")
            self._keys = {int.from_bytes(blob[i:i + KEY_BYTES], "little")
                          for i in range(0, length, KEY_BYTES)}
        return self._keys

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` whose events are already recorded (committed)."""
        index = self._key_index()
        return {key for key in keys if key_digest(key) in index}

    def buckets(self) -> list[str]:
        """The event buckets holding committed events, sorted."""
        return sorted(self._root[SEGMENTS])

    def event_count(self, bucket: str | None = None) -> int:
        """How many events are committed in `bucket` (or in all buckets)."""
        segments = self._root[SEGMENTS]
        if bucket is not None:
            return segments.get(bucket, {}).get("count", 0)
        return sum(entry["count"] for entry in segments.values())

    def events(self, bucket: str) -> Iterator[dict[str, Any]]:
        """The committed event records of `bucket`, in the order they were recorded."""
        entry = self._root[SEGMENTS].get(bucket)
        if entry is None:
            return
        path, remaining = self.folder / entry["file"], entry["length"]
        try:
            file = open(path, "rb")
        except OSError as exc:
            raise self._unreadable(f"{path}: {exc.strerror or exc}") from None
        with file:
            for number, line in enumerate(file, 1):
                if remaining <= 0:
                    break
                remaining -= len(line)
                if remaining < 0 or not line.endswith(b"\n"):
                    raise self._unreadable(f"{path}: line {number} crosses the committed length")
                try:
                    yield json.loads(line)
                except ValueError as exc:
                    raise self._unreadable(f"{path}: line {number} is not JSON ({exc})") from None
        if remaining > 0:
            raise self._unreadable(f"{path} is shorter than recorded")

    # -- writing --------------------------------------------------------------------------

    def transaction(self) -> Transaction:
        """A new transaction; `with` commits it on a clean exit and discards it on an exception."""
        if self.readonly:
            raise StoreError(f"store {self.path} was opened read-only")
        if self._db is None:
            raise RuntimeError(f"store {self.path} is not open")
        if self._tx is not None:
            raise RuntimeError("a store transaction is already open (one writer at a time)")
        self._tx = Transaction(self)
        return self._tx

    def _make_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            folder.mkdir(parents=True)
            fsync_dir(folder.parent)
            if folder.parent != self.path.parent:
                fsync_dir(self.path.parent)

    def _commit(self, tx: Transaction) -> None:
        root = self._db.file if self._db is not None else None
        if root is None:
            raise RuntimeError(f"store {self.path} is not open")
        if not tx._changes and not tx._lines:
            return
        snapshot = root.data
        meta = _copy(snapshot[META]["store"])
        meta["generation"] += 1
        partitions = dict(snapshot[PARTITIONS])
        segments = dict(snapshot[SEGMENTS])
        written: list[Path] = []  # new files: removed if the commit fails
        appended: list[tuple[Path, int]] = []  # (file, committed length): cut back if it fails
        superseded: list[Path] = []  # old files: removed once the commit succeeded
        loaded: dict[str, Database | None] = {}
        temp: Path | None = None
        try:
            for table, changes in tx._changes.items():
                if not is_partition(table):
                    continue
                current = self._partition(table)
                relative = _partition_file(table, meta["generation"])
                data = dict(current.file.data) if current is not None else {}
                data[table] = _changed(data.get(table, {}), changes)
                db = Database(JSONFileStorage(self.folder / relative, data))
                if table in partitions:
                    superseded.append(self.folder / partitions[table]["file"])
                docs = db.file.data.get(table, {})
                if docs:
                    self._make_folder(self.folder / "tables")
                    written.append(db.file.path)
                    db.file.flush(sync_dir=False)
                    partitions[table] = {"file": relative, "docs": len(docs)}
                    loaded[table] = db
                else:
                    partitions.pop(table, None)
                    loaded[table] = None
            if written:
                fsync_dir(self.folder / "tables")
            for bucket, lines in tx._lines.items():
                entry = segments.get(bucket) or {"file": f"events/{bucket}.jsonl", "length": 0,
                                                 "count": 0}
                blob = b"".join(lines)
                path = self.folder / entry["file"]
                self._make_folder(path.parent)
                appended.append((path, entry["length"]))
                if append_file(path, entry["length"], blob):
                    fsync_dir(path.parent)
                segments[bucket] = {"file": entry["file"], "length": entry["length"] + len(blob),
                                    "count": entry["count"] + len(lines)}
            if tx._digests:
                path, length = self.folder / KEYS_FILE, meta["keys"]["length"]
                self._make_folder(self.folder)
                appended.append((path, length))
                blob = b"".join(d.to_bytes(KEY_BYTES, "little") for d in tx._digests)
                if append_file(path, length, blob):
                    fsync_dir(self.folder)
                meta["keys"]["length"] = length + len(blob)
            for table, changes in tx._changes.items():
                if not is_partition(table):
                    _apply(self._db.table(table), changes)
            root.data = {**root.data, META: {"store": meta}, PARTITIONS: partitions,
                         SEGMENTS: segments}
            temp = write_temp(root.path, dumps(root.data))
            os.replace(temp, root.path)  # the commit point
        except BaseException as exc:
            root.data = snapshot
            for path in [temp] + written if temp else written:
                try:
                    path.unlink(missing_ok=True)
                except OSError:
                    pass
            for path, length in appended:
                try:
                    truncate_file(path, length)
                except OSError:
                    pass  # the next open cuts it back
            if isinstance(exc, OSError):
                raise StoreError(f"store {self.path} could not be written ({exc}); "
                                 "the last committed state is intact") from exc
            raise
        try:
            fsync_dir(self.path.parent)
        except OSError as exc:
            log.warning("store %s: cannot fsync its folder: %s", self.path, exc)
        for table, db in loaded.items():
            if db is None:
                self._partitions.pop(table, None)
            else:
                self._partitions[table] = db
        if self._keys is not None:
            self._keys.update(tx._digests)
        for path in superseded:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s: cannot remove a superseded file: %s", path, exc)


class Transaction:
    """Changes to the store, applied all at once by `commit()` or not at all.

    `put`/`delete` documents, `append_events` to the ledger; `get` and `known` see this
    transaction's own changes. Use it as a context manager: a clean exit commits, an exception
    discards.
    """

    def __init__(self, store: Store):
        self._store = store
        self._changes: dict[str, dict[str, dict[str, Any] | None]] = {}
        self._lines: dict[str, list[bytes]] = {}
        self._digests: dict[int, str] = {}  # new event keys, in order
        self._finished = False

    def __enter__(self) -> Transaction:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        if exc_type is None:
            self.commit()
        else:
            self.discard()

    def _check_active(self) -> None:
        if self._finished or self._store._tx is not self:
            raise RuntimeError("this store transaction is already finished")

    def put(self, table: str, key: str, doc: Mapping[str, Any]) -> None:
        """Set document `key` of `table` to a copy of `doc` (later changes to `doc` don't count)."""
        self._check_active()
        _check_table(table)
        _check_key(key)
        if not isinstance(doc, Mapping):
            raise ValueError(f"{table} {key}: a document is a JSON object, "
                             f"not {type(doc).__name__}")
        try:
            copy = _copy(doc)
        except (TypeError, ValueError) as exc:
            raise ValueError(f"{table} {key}: the document is not plain JSON ({exc})") from None
        self._changes.setdefault(table, {})[key] = copy

    def put_many(self, table: str, docs: Mapping[str, dict[str, Any]]) -> None:
        """`put` for many new documents of one table, taking them as they are (no copy).

        Closing a period with 100,000 obligations would otherwise spend most of its time copying
        them one by one. The documents become the store's: the caller must not change them after.
        A document that is not plain JSON makes the commit fail, leaving the store as it was.
        """
        self._check_active()
        _check_table(table)
        if "" in docs or not set(map(type, docs)) <= {str} or not set(map(type, docs.values())) <= {dict}:
            for key, doc in docs.items():  # the slow pass only to name the bad one
                _check_key(key)
                if not isinstance(doc, dict):
                    raise ValueError(f"{table} {key}: a document is a JSON object, not {type(doc).__name__}")
        self._changes.setdefault(table, {}).update(docs)

    def delete(self, table: str, key: str) -> None:
        """Remove document `key` of `table` (nothing happens if it does not exist)."""
        self._check_active()
        _check_table(table)
        _check_key(key)
        self._changes.setdefault(table, {})[key] = None

    def get(self, table: str, key: str, default: Any = None) -> dict[str, Any] | None:
        """The document as this transaction would leave it: a copy the caller may change."""
        changes = self._changes.get(table, {})
        doc = changes[key] if key in changes else self._store.get(table, key)
        return default if doc is None else _copy(doc)

    def known(self, keys: Iterable[str]) -> set[str]:
        """Those of `keys` already recorded, committed or appended in this transaction."""
        index = self._store._key_index()
        return {key for key in keys
                if (digest := key_digest(key)) in index or digest in self._digests}

    def append_events(self, bucket: str, records: Iterable[Mapping[str, Any]]) -> None:
        """Append event records (each with a unique string "key") to the ledger bucket `bucket`.

        Raises ValueError, appending nothing, if a key is already recorded or repeated.
        """
        self._check_active()
        _check_bucket(bucket)
        index = self._store._key_index()
        lines: list[bytes] = []
        digests: dict[int, str] = {}
        for record in records:
            key = record.get("key") if type(record) is dict or isinstance(record, Mapping) else None
            if not isinstance(key, str) or not key:
                raise ValueError(f"event record without a string 'key': {record!r:.200}")
            digest = key_digest(key)
            if digest in index or digest in self._digests:
                raise ValueError(f"event {key!r} is already recorded")
            if digest in digests:
                raise ValueError(f"event {key!r} appears twice in the batch")
            digests[digest] = key
            try:
                lines.append(dumps(record) + b"\n")
            except (TypeError, ValueError) as exc:
                raise ValueError(f"event {key!r} is not plain JSON ({exc})") from None
        if lines:
            self._lines.setdefault(bucket, []).extend(lines)
            self._digests.update(digests)

    def commit(self) -> None:
        """Write every change atomically; the transaction is finished either way."""
        self._check_active()
        try:
            self._store._commit(self)
        finally:
            self._finished = True
            self._store._tx = None

    def discard(self) -> None:
        """Drop every change; the store stays as it was."""
        if not self._finished and self._store._tx is self:
            self._store._tx = None
        self._finished = True
