"""The partitions of a TinyDB store: a base file written whole, and a journal of the commits since.

A partition table (`aggregates/<distributor>/<period start>`, `obligations/<day>`, ...) lives in the
store's folder, in the files its manifest entry names (`manifest.py`):

- its base `tables/<name>.<hash>.<generation>.json`: the whole table as commit `generation` wrote
  it, a TinyDB file of that one table (`size` bytes);
- its journal `tables/<name>.<hash>.<generation>.jsonl`, once a later commit changed the table: one
  line per such commit, the JSON object of that commit's changes to it `{key: document or null}`
  (null: deleted). Like an event segment, only its first `length` bytes are committed.

Why: the worker's hourly poll adds a few dozen documents to tables of thousands (a day's obligations,
an order index); rewriting each whole cost most of the poll. A commit appends its line; the commit
that would leave too much of the journal dead writes a new generation base of the merged table
instead, with no journal. A line that only adds documents leaves nothing dead: a reader parses it
once, as it would parse the same documents in a new base, so rewriting the base for it would only
write them again (a table growing through the day, the common case, was written two and a half
times over). A line that replaces or deletes documents makes dead bytes (`superseded`): the journal
appends while they stay no more than the live ones, so reading a partition parses at most about
twice what it holds, in at most `JOURNAL_LINES` lines. A store written before journals (entries
without `size`) reads as it is; its partition gets a `size`, and then a journal, from the first
commit that changes it.
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

# The lines of a journal at most: a reader parses each apart (a table a poll changes every 5
# minutes gets a new base every 3.5 days at most, whatever its lines are).
JOURNAL_LINES = 1024


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


def superseded(docs: Mapping[str, Any], changes: TableChanges, line: bytes, entry: Mapping[str, Any]) -> int:
    """About how many bytes of the partition (`docs`, its manifest `entry`) `line`, the journal line
    of `changes`, makes dead: for a document it replaces, its share of the line (the new version
    is about the old one's size); for one it deletes, a mean document of the partition (its line
    says only `null`); 0 for a line that only adds, most lines. A line that only replaces counts
    whole, which is the rule of a journal no longer than its base."""
    replaced = deleted = 0
    for key, doc in changes.items():
        if key in docs:
            replaced += doc is not None
            deleted += doc is None
    if not replaced and not deleted:
        return 0
    mean = (entry.get("size", 0) + journal_length(entry)) // max(len(docs), 1)
    return len(line) * replaced // len(changes) + deleted * max(mean, len(line) // len(changes))


def appendable(entry: Mapping[str, Any], line: bytes, dead: int) -> bool:
    """Whether `line`, whose changes make `dead` bytes dead (`superseded`), goes to the journal of the
    partition whose manifest entry is `entry`: while the journal's dead bytes stay no more than the
    live ones and its lines fewer than `JOURNAL_LINES`. A journal written before dead bytes were
    counted counts all of it dead (the old rule: no longer than the base); a store's first commit of
    a partition written before journals, whose size the entry does not record, rewrites it instead."""
    if "size" not in entry:
        return False
    length = journal_length(entry) + len(line)
    return (journal_lines(entry) < JOURNAL_LINES
            and 2 * (journal_dead(entry) + dead) <= entry["size"] + length)


def journal_dead(entry: Mapping[str, Any]) -> int:
    """The bytes of the partition its journal made dead, about (`superseded`): all of a journal
    written before they were counted."""
    dead: int = entry.get("dead", journal_length(entry))
    return dead


def journal_lines(entry: Mapping[str, Any]) -> int:
    """The lines of the partition's journal (0: none, or written before they were counted)."""
    lines: int = entry.get("lines", 0)
    return lines


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
