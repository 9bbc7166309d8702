"""The tables a store keeps in memory: the most recently used ones, up to a bound (both backends).

A worker runs for months, and every table it reads or writes (a day's program rewards, a period's
aggregates, an order index) would otherwise stay in memory for the life of the process: a year of a
1,000-orders-a-day shop's rewards is hundreds of megabytes. A table not kept is read again (from
its files, or its rows) when next asked for, which costs its size once.
"""
from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Generic, TypeVar

TABLES_KEPT = 64  # a poll touches a handful; a close, one period's few
T = TypeVar("T")


class TableCache(Generic[T]):
    """Table name -> what a store keeps of it, the least recently used dropped first."""

    def __init__(self, kept: int = TABLES_KEPT):
        self.kept = kept
        self._tables: OrderedDict[str, T] = OrderedDict()

    def __len__(self) -> int:
        return len(self._tables)

    def get(self, table: str) -> T | None:
        found = self._tables.get(table)
        if found is not None:
            self._tables.move_to_end(table)
        return found

    def put(self, table: str, value: T) -> None:
        self._tables[table] = value
        self._tables.move_to_end(table)
        while len(self._tables) > self.kept:
            self._tables.popitem(last=False)

    def drop(self, table: str) -> None:
        self._tables.pop(table, None)

    def keep_only(self, unchanged: Callable[[str], bool]) -> None:
        """Drop every table for which `unchanged(name)` is false (another writer replaced it)."""
        for name in [name for name in self._tables if not unchanged(name)]:
            del self._tables[name]

    def clear(self) -> None:
        self._tables.clear()
