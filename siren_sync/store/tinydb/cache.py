"""The partitions a TinyDB store keeps in memory: the most recently used ones, up to a bound.

A worker runs for months, and every partition it reads or writes (a day's program rewards, a
period's aggregates) would otherwise stay in memory for the life of the process: a year of a
1,000-orders-a-day shop's rewards is hundreds of megabytes. A partition not kept is read again
from its files (its base and journal) when next asked for, which costs its size once.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable

from siren_sync.store.tinydb.database import Database

PARTITIONS_KEPT = 64  # a poll touches a handful; a close, one period's few


class PartitionCache:
    """Partition name -> its database as read or last committed, least recently used dropped first."""

    def __init__(self, kept: int = PARTITIONS_KEPT):
        self.kept = kept
        self._dbs: OrderedDict[str, Database] = OrderedDict()

    def __len__(self) -> int:
        return len(self._dbs)

    def get(self, table: str) -> Database | None:
        db = self._dbs.get(table)
        if db is not None:
            self._dbs.move_to_end(table)
        return db

    def put(self, table: str, db: Database) -> None:
        self._dbs[table] = db
        self._dbs.move_to_end(table)
        while len(self._dbs) > self.kept:
            self._dbs.popitem(last=False)

    def drop(self, table: str) -> None:
        self._dbs.pop(table, None)

    def keep_only(self, unchanged: Callable[[str], bool]) -> None:
        """Drop every partition for which `unchanged(name)` is false (another writer replaced it)."""
        for name in [name for name in self._dbs if not unchanged(name)]:
            del self._dbs[name]

    def clear(self) -> None:
        self._dbs.clear()
