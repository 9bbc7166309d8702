"""The tables a store keeps in memory: the most recently used, up to a bound, so a worker running for
months does not hold every day's table it ever wrote (TinyDB's partitions; PostgreSQL's tables)."""
from __future__ import annotations

from pathlib import Path

import pytest

from siren_sync.store import Store
from siren_sync.store.cache import TABLES_KEPT, TableCache
from siren_sync.store.tinydb import store as store_module


def test_the_least_recently_used_partition_is_dropped_first():
    cache = TableCache[object](kept=2)
    a, b, c = object(), object(), object()
    cache.put("a", a)
    cache.put("b", b)
    assert cache.get("a") is a  # now the most recent
    cache.put("c", c)
    assert (cache.get("b"), cache.get("a"), cache.get("c"), len(cache)) == (None, a, c, 2)
    cache.keep_only(lambda name: name != "a")
    cache.drop("c")
    assert len(cache) == 0


@pytest.fixture
def reads(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The partitions the store reads from their files, in order."""
    seen: list[str] = []
    real = store_module.read_partition

    def counted(root, folder, table, entry):
        seen.append(table)
        return real(root, folder, table, entry)

    monkeypatch.setattr(store_module, "read_partition", counted)
    return seen


def test_a_store_keeps_the_recent_partitions_and_reads_the_others_again(store_path: Path, reads: list[str]):
    tables = [f"programs/obligations/day-{i:03d}" for i in range(TABLES_KEPT + 10)]
    with Store(store_path) as store:
        with store.transaction() as tx:  # one commit writes them all (a backfill)
            for i, table in enumerate(tables):
                tx.put(table, "reward", {"n": i})
        assert store.get(tables[-1], "reward") == {"n": len(tables) - 1}
        assert reads == []  # the newest the commit wrote are kept by the store that wrote them
        assert store.get(tables[0], "reward") == {"n": 0}
        assert reads == [tables[0]]  # past the bound: read again from its file
    reads.clear()
    with Store(store_path) as store:
        assert [store.get(table, "reward") for table in tables] == [{"n": i} for i in range(len(tables))]
        assert reads == tables
        assert store.get(tables[-1], "reward") == {"n": len(tables) - 1}  # recent: still in memory
        assert store.get(tables[0], "reward") == {"n": 0}  # dropped: read again, the same
        assert reads == [*tables, tables[0]]


def test_a_reader_keeps_every_partition_it_read_so_one_command_shows_one_committed_state(
        store_path: Path, reads: list[str]):
    """A reader (one command: `check`, `explain`) is short-lived: were it to drop a partition and read
    it again after a writer's commit, it could show two states at once."""
    tables = [f"programs/obligations/day-{i:03d}" for i in range(TABLES_KEPT + 10)]
    with Store(store_path) as store, store.transaction() as tx:
        for i, table in enumerate(tables):
            tx.put(table, "reward", {"n": i})
    with Store(store_path, readonly=True) as reader:
        assert [reader.get(table, "reward") for table in tables] == [{"n": i} for i in range(len(tables))]
        assert reader.get(tables[0], "reward") == {"n": 0}
        assert reads == tables  # each read once
