"""The partitions of a TinyDB store: a base file written whole, and a journal of the commits since.

A partition table (`aggregates/<distributor>/<period start>`, `obligations/<day>`, ...) lives in the
store's folder, in the files its manifest entry names (`manifest.py`):

- its base `tables/<name>.<hash>.<generation>.json`: the whole table as commit `generation` wrote
  it, a TinyDB file of that one table (`size` bytes);
- its journal `tables/<name>.<hash>.<generation>.jsonl`, once a later commit changed the table: one
  line per such commit, the JSON object of that commit's changes to it `{key: document or null}`
  (null: deleted). Like an event segment, only its first `length` bytes are committed.

Why: the worker's hourly poll adds a few dozen documents to tables of thousands (a day's obligations,
an order index); rewriting each whole cost most of the poll. A commit appends its line while the
journal stays no longer than the base; the commit that would make it longer writes a new generation
base of the merged table instead, with no journal. So the bytes a partition's commits write stay
within a small multiple of the bytes they change, and reading a partition parses at most twice its
base. A store written before journals (entries without `size`) reads as it is; its partition gets a
`size`, and then a journal, from the first commit that changes it.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path, PurePosixPath
from typing import Any

from siren_sync.store.codec import dumps
from siren_sync.store.tinydb.database import Tables, changed
from siren_sync.store.tinydb.manifest import parse_partition, unreadable
from siren_sync.store.tinydb.segments import read_lines

TableChanges = Mapping[str, dict[str, Any] | None]


def journal_file(base: str) -> str:
    """The journal (relative to the folder) of the base file `base`: one journal per generation."""
    return str(PurePosixPath(base).with_suffix(".jsonl"))


def journal_line(changes: TableChanges) -> bytes:
    """The journal line of one commit's `changes` to a partition (a TypeError if one is not JSON)."""
    return dumps(changes) + b"\n"


def journal_length(entry: Mapping[str, Any]) -> int:
    """The committed length of a partition's journal (0: it has none)."""
    length: int = entry.get("length", 0)
    return length


def appendable(entry: Mapping[str, Any], line: bytes) -> bool:
    """Whether `line` goes to the journal of the partition whose manifest entry is `entry`: the
    journal stays no longer than the base (a store's first commit of a partition written before
    journals, whose size the entry does not record, rewrites it instead)."""
    return "size" in entry and journal_length(entry) + len(line) <= entry["size"]


def partition_files(entry: Mapping[str, Any]) -> list[str]:
    """The files (relative to the folder) a partition's manifest entry names."""
    return [entry["file"], entry["journal"]] if "journal" in entry else [entry["file"]]


def read_partition(root: Path, folder: Path, table: str, entry: Mapping[str, Any]) -> Tables:
    """The data of partition `table` (`{table: documents}`): its base with its journal's committed
    lines replayed. A file that is missing raises FileNotFoundError (another writer may have
    replaced it meanwhile); one that cannot be read, StoreError (`unreadable`)."""
    path = folder / entry["file"]
    data = parse_partition(root, path, table, path.read_bytes())
    if "journal" in entry:
        data[table] = changed(data[table], *_journal(root, folder / entry["journal"], table, entry["length"]))
    return data


def _journal(root: Path, path: Path, table: str, length: int) -> Iterator[TableChanges]:
    with open(path, "rb") as file:
        for number, changes in read_lines(root, path, file, length):
            if not isinstance(changes, dict) or not all(
                    doc is None or isinstance(doc, dict) for doc in changes.values()):
                raise unreadable(root, f"{path}: line {number} is not a change of the table {table!r}")
            yield changes
