"""TinyDB over files written whole and atomically: the root and each partition is one of these.

`JSONFileStorage` is a TinyDB `Storage` that keeps the whole database in memory and writes it only
when asked (`flush`), through `files.write_atomic`. `Database` is TinyDB over one of them, with
tables whose documents are identified by the caller's string keys.
"""
from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tinydb import TinyDB
from tinydb.storages import Storage
from tinydb.table import Document, Table

from siren_sync.files import write_atomic
from siren_sync.store.codec import dumps

Tables = dict[str, dict[str, Any]]


class JSONFileStorage(Storage):
    """A TinyDB storage held in memory and written atomically on `flush()`.

    TinyDB rewrites the whole database on every change; here a change only replaces the
    in-memory state, and `flush()` writes it once, atomically. TinyDB never mutates a table
    dict in place (it builds a new one per change), so a reference to `data` taken before a
    series of changes stays a consistent snapshot that `data = snapshot` restores.
    """

    def __init__(self, path: Path, data: Tables | None = None):
        self.path = path
        self.data: Tables = data if data is not None else {}

    def read(self) -> Tables:
        return dict(self.data)  # a new top level, so TinyDB's changes never reach a snapshot

    def write(self, data: Tables) -> None:
        self.data = data

    def flush(self, *, sync_dir: bool = True) -> int:
        """Write the database to its file atomically (`sync_dir=False`: the caller fsyncs the folder);
        the file's size in bytes."""
        blob = dumps(self.data)
        write_atomic(self.path, blob, sync_dir=sync_dir)
        return len(blob)


class KeyedTable(Table):
    """A TinyDB table whose documents are identified by caller-given string keys.

    TinyDB types document ids as ints; `document_id_class` is its own hook for other ids, so the
    functions below give a KeyedTable its string keys through an untyped view.
    """

    document_id_class = str  # type: ignore[assignment]


class Database(TinyDB):
    """TinyDB over one `JSONFileStorage` (`file`: its data in memory and the file it is written
    to), with string-keyed tables."""

    table_class = KeyedTable

    def __init__(self, storage: JSONFileStorage):
        super().__init__(storage=lambda: storage)
        self.file = storage


def document(table: Table, key: str) -> Document | None:
    """Document `key` of a KeyedTable, or None."""
    keyed: Any = table
    found: Document | None = keyed.get(doc_id=key)
    return found


def apply_changes(table: Table, changes: Mapping[str, dict[str, Any] | None]) -> None:
    """Apply puts (a document) and deletes (None) to a KeyedTable in two passes."""
    keyed: Any = table
    present = [key for key in changes if keyed.contains(doc_id=key)]
    if present:
        keyed.remove(doc_ids=present)
    keyed.insert_multiple(Document(doc, doc_id=key)  # type: ignore[arg-type]  # a KeyedTable's ids are str
                          for key, doc in changes.items() if doc is not None)


def changed(docs: Mapping[str, dict[str, Any]], *changes: Mapping[str, dict[str, Any] | None]) -> dict[str, Any]:
    """A partition's documents with `changes` applied in order, as TinyDB stores them (a new dict).

    A partition is a single table, so the new table is built directly rather than through TinyDB's
    per-document remove and insert (a period's 100,000 obligations would otherwise cost seconds in
    bookkeeping); TinyDB reads the result as its own. Several change sets are a partition's journal
    replayed over its base (`partitions.py`).
    """
    result: dict[str, Any] = dict(docs)
    for change in changes:
        result.update(change)
        for key in [key for key, doc in change.items() if doc is None]:
            del result[key]
    return result
