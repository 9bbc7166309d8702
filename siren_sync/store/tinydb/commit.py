"""One commit of a TinyDB store: write what changed, then replace the root (the commit point).

In order: each changed partition whose journal would grow past its base (`partitions.py`) is
written whole as a new generation base file (the old files stay, as the current root names them);
each other changed partition gets one line appended to its journal; each bucket's new lines are
appended to its segment and the new key digests to the key index, each fsynced; then the root,
holding the small tables and the new manifest (files, lengths, generation), is written to a temp
file and renamed over the old one.

Before the rename the old root still names the old files and lengths: if anything fails, what was
written is removed and what was appended cut back here, and if the process dies, `recovery.py` does
the same on the next open. After it, the superseded partition files (bases and their journals) are
deleted. A commit costs the size of what changed plus the root, never the size of the ledger, and
(amortised) not the size of the partitions it changes.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from siren_sync.errors import StoreError
from siren_sync.files import append_file, discard, fsync_dir, truncate_file, write_temp
from siren_sync.store.codec import copy_json, dumps
from siren_sync.store.names import is_partition
from siren_sync.store.protocol import Changes
from siren_sync.store.tinydb.database import Database, JSONFileStorage, apply_changes, changed
from siren_sync.store.tinydb.keyindex import encode_keys
from siren_sync.store.tinydb.manifest import (
    KEYS_FILE,
    META,
    PARTITIONS,
    SCHEMA_VERSION,
    SEGMENTS,
    new_segment,
    partition_file,
    store_meta,
)
from siren_sync.store.tinydb.partitions import (
    appendable,
    journal_dead,
    journal_file,
    journal_length,
    journal_line,
    journal_lines,
    partition_files,
    superseded,
)

log = logging.getLogger(__name__)


class Commit:
    """The writes of one commit of `changes` into the store whose root is `db`, and what to undo.

    `partition(table)` is the store's current database of a partition (None if it has none).
    After `run()`, `loaded` holds the new database of every changed partition (None: emptied).
    """

    def __init__(self, db: Database, folder: Path, changes: Changes,
                 partition: Callable[[str], Database | None]):
        self.db = db
        self.root = db.file
        self.folder = folder
        self.changes = changes
        self._partition = partition
        self.snapshot = self.root.data
        self.meta = copy_json(store_meta(self.snapshot))
        self.meta["generation"] += 1
        self.meta["schema"] = SCHEMA_VERSION  # what it writes may be lean: an older siren-sync refuses it
        self.partitions: dict[str, dict[str, Any]] = dict(self.snapshot[PARTITIONS])
        self.segments: dict[str, dict[str, Any]] = dict(self.snapshot[SEGMENTS])
        self.written: list[Path] = []  # new files: removed if the commit fails
        self.appended: list[tuple[Path, int]] = []  # (file, committed length): cut back if it fails
        self.superseded: list[Path] = []  # old files: removed once the commit succeeded
        # (journal, its committed length or None when this commit starts it, line)
        self.journal_lines: list[tuple[Path, int | None, bytes]] = []
        self.loaded: dict[str, Database | None] = {}
        self.temp: Path | None = None

    def run(self) -> None:
        """Write everything and replace the root; on any failure, undo and raise (an OSError as
        StoreError saying the last committed state is intact)."""
        try:
            self._write_partitions()
            self._append_journals()
            self._append_segments()
            self._append_keys()
            self._replace_root()
        except BaseException as exc:
            self._roll_back()
            if isinstance(exc, OSError):
                raise StoreError(f"store {self.root.path} could not be written ({exc}); "
                                 "the last committed state is intact") from exc
            raise
        try:
            fsync_dir(self.root.path.parent)
        except OSError as exc:
            log.warning("store %s: cannot fsync its folder: %s", self.root.path, exc)

    def remove_superseded(self) -> None:
        """Delete the partition files the new root no longer names (a failure only warns)."""
        for path in self.superseded:
            try:
                path.unlink(missing_ok=True)
            except OSError as exc:
                log.warning("%s: cannot remove a superseded file: %s", path, exc)

    # -- before the commit point ----------------------------------------------------------------

    def _write_partitions(self) -> None:
        for table, changes in self.changes.documents.items():
            if is_partition(table):
                self._change_partition(table, changes)
        if self.written:
            fsync_dir(self.folder / "tables")

    def _change_partition(self, table: str, changes: Mapping[str, dict[str, Any] | None]) -> None:
        """Write the partition's new base now, or plan its journal line (`_append_journals`)."""
        current = self._partition(table)
        before = current.file.data.get(table, {}) if current is not None else {}
        if None in changes.values() and any(doc is None and key not in before for key, doc in changes.items()):
            # deleting what is not there changes nothing: no line, no base (a sweep of one run's visitors)
            changes = {key: doc for key, doc in changes.items() if doc is not None or key in before}
            if not changes:
                return
        docs = changed(before, changes)
        entry = self.partitions.get(table)
        if entry is not None and docs:
            line = journal_line(changes)
            dead = superseded(before, changes, line, entry)
            if appendable(entry, line, dead):
                self._journal_partition(table, entry, docs, line, dead)
                return
        if entry is not None:
            self.superseded += [self.folder / name for name in partition_files(entry)]
        if docs:
            self._rewrite_partition(table, docs)
        else:
            self.partitions.pop(table, None)
            self.loaded[table] = None

    def _journal_partition(self, table: str, entry: dict[str, Any], docs: dict[str, Any], line: bytes,
                           dead: int) -> None:
        journal, length = entry.get("journal") or journal_file(entry["file"]), journal_length(entry)
        self.journal_lines.append((self.folder / journal, length if "journal" in entry else None, line))
        self.partitions[table] = {**entry, "docs": len(docs), "journal": journal, "length": length + len(line),
                                  "lines": journal_lines(entry) + 1, "dead": journal_dead(entry) + dead}
        self.loaded[table] = Database(JSONFileStorage(self.folder / entry["file"], {table: docs}))

    def _rewrite_partition(self, table: str, docs: dict[str, Any]) -> None:
        relative = partition_file(table, self.meta["generation"])
        db = Database(JSONFileStorage(self.folder / relative, {table: docs}))
        self._make_folder(self.folder / "tables")
        self.written.append(db.file.path)
        size = db.file.flush(sync_dir=False)
        self.partitions[table] = {"file": relative, "docs": len(docs), "size": size}
        self.loaded[table] = db

    def _append_journals(self) -> None:
        """Append each partition's line to its journal; a journal this commit starts is removed,
        not cut back, if the commit fails."""
        started = False
        for path, at, line in self.journal_lines:
            if at is not None:
                self._append(path, at, line)
            else:
                self.written.append(path)
                append_file(path, 0, line)
                started = True
        if started:
            fsync_dir(self.folder / "tables")

    def _append_segments(self) -> None:
        for bucket, lines in self.changes.events.items():
            entry = self.segments.get(bucket) or new_segment(bucket)
            blob = b"".join(lines)
            path = self.folder / entry["file"]
            self._make_folder(path.parent)
            self._append(path, entry["length"], blob)
            self.segments[bucket] = {"file": entry["file"], "length": entry["length"] + len(blob),
                                     "count": entry["count"] + len(lines)}

    def _append_keys(self) -> None:
        if not self.changes.keys:
            return
        keys = self.meta["keys"]
        self._make_folder(self.folder)
        blob = encode_keys(self.changes.keys)
        self._append(self.folder / KEYS_FILE, keys["length"], blob)
        keys["length"] += len(blob)

    def _append(self, path: Path, at: int, blob: bytes) -> None:
        self.appended.append((path, at))
        if append_file(path, at, blob):
            fsync_dir(path.parent)

    def _make_folder(self, folder: Path) -> None:
        if not folder.is_dir():
            folder.mkdir(parents=True)
            fsync_dir(folder.parent)
            if folder.parent != self.root.path.parent:
                fsync_dir(self.root.path.parent)

    def _replace_root(self) -> None:
        for table, changes in self.changes.documents.items():
            if not is_partition(table):
                apply_changes(self.db.table(table), changes)
        self.root.data = {**self.root.data, META: {"store": self.meta}, PARTITIONS: self.partitions,
                          SEGMENTS: self.segments}
        self.temp = write_temp(self.root.path, dumps(self.root.data))
        os.replace(self.temp, self.root.path)  # the commit point

    # -- when it failed -------------------------------------------------------------------------

    def _roll_back(self) -> None:
        self.root.data = self.snapshot
        for path in [self.temp, *self.written] if self.temp else self.written:
            discard(path)
        for path, length in self.appended:
            try:
                truncate_file(path, length)
            except OSError:
                pass  # the next open cuts it back
