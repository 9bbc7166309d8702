"""The root file of a TinyDB store: its small tables and the manifest of every file in its folder.

The root (the configured path, e.g. `data/siren-sync.json`) is a TinyDB database. Beside the
caller's small tables it holds three of the store's own (callers' names cannot start with '_'):

- `_meta`: `{"store": {"schema", "created", "generation", "keys": {"file": "keys.bin", "length"}}}`;
  `schema` is the store format of the siren-sync that last committed (`SCHEMA_VERSION`), `generation`
  counts commits, `keys.length` is the committed length of the key index;
- `_tables`: partition table name -> `{"file": "tables/<name>.<hash>.<generation>.json", "docs",
  "size", "journal": "tables/<name>.<hash>.<generation>.jsonl", "length", "lines", "dead"}`: the
  partition's base file, its number of documents and the base's size in bytes, and, once a commit
  appended to it, its journal, the journal's committed byte length, its lines and about how many of
  the partition's bytes it made dead (`partitions.py`; a journal written before those two were
  counted has neither). A store written before journals
  has entries of `file` and `docs` only: they read as a base with no journal;
- `_events`: bucket -> `{"file": "events/<bucket>.jsonl", "length", "count"}`, the committed byte
  length and number of events of each segment.

Whatever the folder holds beyond what the root names (a longer segment or journal, a newer partition
file) was left by an unfinished commit. This module reads and validates a root and names files; it
never writes one (see `commit.py` and `recovery.py`).
"""
from __future__ import annotations

import hashlib
import json
import re
from datetime import UTC, datetime
from pathlib import Path, PurePosixPath
from typing import Any, cast

from siren_sync.errors import StoreError
from siren_sync.store.names import BUCKET, KEY_BYTES, is_partition
from siren_sync.store.tinydb.database import Tables

# 1: the first; 2: program rewards may be stored lean (`commissions.full` reads them whole), which a
# siren-sync of version 1 would misread or fail on. Every commit writes the current version: a store
# this siren-sync wrote is refused, clearly, by an older one; one of an older version opens as it is.
SCHEMA_VERSION = 2

META = "_meta"
PARTITIONS = "_tables"
SEGMENTS = "_events"
KEYS_FILE = "keys.bin"


def unreadable(root: Path, reason: str) -> StoreError:
    """The error of a store that cannot be read (and is therefore never written to)."""
    return StoreError(f"store {root} cannot be read: {reason}; it was left untouched "
                      "(restore a backup or move it away)")


def misplaced(root: Path) -> StoreError | None:
    """The error of a store path that cannot be a store file (it is a folder, or a part of the path
    before it is a file), or None: a mistake in `store.path`, not damage, so nothing to restore."""
    if root.is_dir():
        return StoreError(f"store {root} is a folder, not a store file (store.path in the config names the "
                          "file, such as data/siren-sync.json)")
    for folder in root.parents:
        if folder.exists():
            if not folder.is_dir():
                return StoreError(f"store {root}: {folder} is a file, not a folder (store.path in the config)")
            break
    return None


def new_root() -> Tables:
    """The root of an empty store, created now."""
    created = datetime.now(UTC).isoformat(timespec="seconds")
    meta = {"schema": SCHEMA_VERSION, "created": created, "generation": 0,
            "keys": {"file": KEYS_FILE, "length": 0}}
    return {META: {"store": meta}, PARTITIONS: {}, SEGMENTS: {}}


def store_meta(root: Tables) -> dict[str, Any]:
    """The store's own record in a root: schema, generation and the key index's length."""
    meta: dict[str, Any] = root[META]["store"]
    return meta


def partition_file(table: str, generation: int) -> str:
    """The file (relative to the folder) of partition `table` as written by commit `generation`."""
    readable = re.sub(r"[^A-Za-z0-9._-]+", "_", table)[:80].strip("._") or "table"
    digest = hashlib.blake2b(table.encode(), digest_size=5).hexdigest()
    return f"tables/{readable}.{digest}.{generation}.json"


def new_segment(bucket: str) -> dict[str, Any]:
    """The manifest entry of a bucket's segment before its first event."""
    return {"file": f"events/{bucket}.jsonl", "length": 0, "count": 0}


# -- reading a root -----------------------------------------------------------------------------

def read_root(path: Path) -> Tables | None:
    """The validated data of the root file at `path`, or None if there is none.

    Raises StoreError (`unreadable`) for a root that is not a siren-sync store this version reads.
    """
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise misplaced(path) or unreadable(path, exc.strerror or str(exc)) from None
    data = _parse_root(path, raw)
    problem = root_problem(data)
    if problem:
        raise unreadable(path, problem)
    data = cast(Tables, data)
    data.setdefault(PARTITIONS, {})
    data.setdefault(SEGMENTS, {})
    return data


def _parse_root(path: Path, raw: bytes) -> Any:
    if not raw.strip():
        raise unreadable(path, "the file is empty")
    try:
        return json.loads(raw.decode())
    except UnicodeDecodeError:
        raise unreadable(path, "the file is not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise unreadable(path, f"invalid JSON at line {exc.lineno} column {exc.colno} ({exc.msg})") from None


def root_problem(data: Any) -> str | None:
    """What makes `data` (a parsed root file) unusable, or None."""
    if not isinstance(data, dict):
        return "not a siren-sync store (the top level is not a JSON object)"
    meta = data[META].get("store") if isinstance(data.get(META), dict) else None
    return (_schema_problem(meta) or _tables_problem(data) or _meta_problem(meta)
            or _partitions_problem(data.get(PARTITIONS, {})) or _segments_problem(data.get(SEGMENTS, {})))


def _schema_problem(meta: Any) -> str | None:
    if not isinstance(meta, dict) or not _count(meta.get("schema")):
        return "not a siren-sync store (no schema version)"
    if meta["schema"] > SCHEMA_VERSION:
        return (f"schema version {meta['schema']} is newer than this siren-sync supports "
                f"({SCHEMA_VERSION}); upgrade siren-sync")
    if meta["schema"] < 1:
        return f"unknown schema version {meta['schema']}"
    return None


def _tables_problem(data: dict[str, Any]) -> str | None:
    for name, docs in data.items():
        if not isinstance(docs, dict) or not all(isinstance(d, dict) for d in docs.values()):
            return f"table {name!r} is not an object of documents"
    return None


def _meta_problem(meta: Any) -> str | None:
    keys = meta.get("keys")
    if (not _count(meta.get("generation")) or not isinstance(keys, dict)
            or keys.get("file") != KEYS_FILE or not _count(keys.get("length"))
            or keys["length"] % KEY_BYTES):
        return "the store's meta record is damaged"
    return None


def _partitions_problem(partitions: dict[str, dict[str, Any]]) -> str | None:
    for name, entry in partitions.items():
        if not is_partition(name) or not _partition_entry(entry):
            return f"the manifest entry of table {name!r} is damaged"
    return None


def _partition_entry(entry: dict[str, Any]) -> bool:
    """Whether a partition's manifest entry names its files well: a base (with its size, but in a
    store written before journals), and a journal only with its length and the base's size."""
    if not _relative_file(entry.get("file"), "tables") or ("size" in entry and not _count(entry["size"])):
        return False
    if "journal" not in entry and "length" not in entry:
        return True
    return ("size" in entry and _relative_file(entry.get("journal"), "tables")
            and _count(entry.get("length")) and entry["journal"] != entry["file"]
            and all(_count(entry[name]) for name in ("lines", "dead") if name in entry))


def _segments_problem(segments: dict[str, dict[str, Any]]) -> str | None:
    for bucket, entry in segments.items():
        if (not BUCKET.match(bucket) or not _relative_file(entry.get("file"), "events")
                or not _count(entry.get("length")) or not _count(entry.get("count"))):
            return f"the manifest entry of event bucket {bucket!r} is damaged"
    return None


def _relative_file(value: Any, folder: str) -> bool:
    if not isinstance(value, str):
        return False
    parts = PurePosixPath(value).parts
    return len(parts) == 2 and parts[0] == folder and parts[1] not in ("", ".", "..")


def _count(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


# -- reading a partition file -------------------------------------------------------------------

def parse_partition(root: Path, path: Path, table: str, raw: bytes) -> Tables:
    """The data of partition file `path` (read as `raw`), which must hold exactly the table `table`."""
    try:
        data = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise unreadable(root, f"{path} is not valid JSON ({exc})") from None
    docs = data.get(table) if isinstance(data, dict) else None
    if (not isinstance(docs, dict) or len(data) != 1
            or not all(isinstance(d, dict) for d in docs.values())):
        raise unreadable(root, f"{path} does not hold the table {table!r}")
    return cast(Tables, data)
