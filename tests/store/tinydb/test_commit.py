"""A TinyDB commit: what it writes, what it costs, and what a failure leaves (the files as they were)."""
from __future__ import annotations

import errno
import json
import os
import shutil
from decimal import Decimal
from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store import KEY_BYTES, SCHEMA_VERSION, Store
from siren_sync.store.codec import dumps
from siren_sync.store.tinydb.manifest import partition_file
from tests.store.backends import TinyDBBackend
from tests.store.helpers import AGG, CURSOR, change_everything, events, files_under, seed

FIRST_WAVE = Path(__file__).resolve().parents[2] / "fixtures" / "first_wave" / "store"


def test_delete_and_emptied_partition_leaves_no_file(seeded: Path):
    with Store(seeded) as store:
        with store.transaction() as tx:
            tx.delete("cursors", "woocommerce")
            tx.delete(AGG, "aggregate")
            tx.delete(AGG, "never-existed")
        assert store.get("cursors", "woocommerce") is None
        assert store.tables() == []
    assert list((seeded.parent / "siren-sync.d" / "tables").iterdir()) == []
    with Store(seeded) as store:
        assert store.table(AGG) == {} and store.table("cursors") == {}


def test_partition_rewrite_keeps_one_generation_file(seeded: Path):
    with Store(seeded) as store:
        for n in range(3):  # each replaces the table's one document by a longer one: a new base each time
            with store.transaction() as tx:
                tx.put(AGG, "aggregate", {"events": n, "note": "x" * 200})
        assert len(list((store.folder / "tables").iterdir())) == 1
    with Store(seeded) as store:
        assert store.table(AGG) == {"aggregate": {"events": 2, "note": "x" * 200}}


def test_a_commit_writes_the_format_the_first_wave_wrote(tmp_path: Path):
    """Byte for byte: a commit on the first wave's store changes exactly what the first wave's commit
    would have (generation, the rewritten partition's file, the segment, the key index), and records
    the size of the partition's new base (the first wave did not: its partition is rewritten whole,
    not journaled, by the first commit that changes it) and the current schema version (the first
    wave wrote 1: a store this version wrote may hold lean program rewards, `manifest.SCHEMA_VERSION`)."""
    shutil.copytree(FIRST_WAVE, tmp_path / "store")
    path = tmp_path / "store" / "siren-sync.json"
    root = json.loads(path.read_bytes())
    table, entry = sorted(root["_tables"].items())[0]
    old_file = path.parent / "siren-sync.d" / entry["file"]
    partition = json.loads(old_file.read_bytes())
    segment = path.parent / "siren-sync.d" / "events" / "2026-11.jsonl"
    before = {"segment": segment.read_bytes(), "keys": (path.parent / "siren-sync.d" / "keys.bin").read_bytes()}
    record = {"key": "test:format", "type": "sale", "at": "2026-11-30T10:00:00+00:00"}
    with Store(path) as store, store.transaction() as tx:
        tx.put_many(table, partition[table])  # the same documents: a new generation of the same bytes
        tx.append_events("2026-11", [record])
    assert root["_meta"]["store"]["schema"] == 1
    root["_meta"]["store"]["generation"] += 1
    root["_meta"]["store"]["schema"] = SCHEMA_VERSION
    root["_meta"]["store"]["keys"]["length"] += KEY_BYTES
    root["_tables"][table]["file"] = partition_file(table, root["_meta"]["store"]["generation"])
    root["_tables"][table]["size"] = len(dumps(partition))
    line = json.dumps(record, separators=(",", ":")).encode() + b"\n"
    root["_events"]["2026-11"]["length"] += len(line)
    root["_events"]["2026-11"]["count"] += 1
    assert path.read_bytes() == dumps(root)
    assert not old_file.exists()
    assert (path.parent / "siren-sync.d" / root["_tables"][table]["file"]).read_bytes() == dumps(partition)
    assert segment.read_bytes() == before["segment"] + line
    with Store(path, readonly=True) as reader:
        assert reader.known(["test:format"]) == {"test:format"}
    assert len((path.parent / "siren-sync.d" / "keys.bin").read_bytes()) == len(before["keys"]) + KEY_BYTES


# -- a failed commit ------------------------------------------------------------------------

def _fail_root_replace(monkeypatch: pytest.MonkeyPatch, root: Path) -> None:
    real_replace = os.replace

    def replace(src, dst, *args, **kwargs):
        if Path(dst) == root:
            raise OSError(28, "No space left on device")
        return real_replace(src, dst, *args, **kwargs)

    monkeypatch.setattr(os, "replace", replace)


def test_failed_commit_keeps_the_previous_state(seeded: Path, monkeypatch: pytest.MonkeyPatch):
    before = files_under(seeded.parent)
    store = Store(seeded).open()
    _fail_root_replace(monkeypatch, seeded)
    with pytest.raises(StoreError, match="could not be written.*intact"):
        with store.transaction() as tx:
            change_everything(tx)
    # in memory: as before
    assert store.get("cursors", "woocommerce") == CURSOR
    assert store.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
    assert store.known(["woo:sale:2"]) == set() and store.event_count() == 2
    monkeypatch.undo()
    store.close()
    # on disk: the same files, segments cut back, no garbage (the new bucket's file is removed
    # on the next open)
    with Store(seeded) as store:
        assert files_under(seeded.parent) == before
        assert list(store.events("2026-11")) == events(0, 2)
        with store.transaction() as tx:  # and it goes on
            tx.append_events("2026-11", events(2, 1))
        assert store.event_count() == 3


@pytest.mark.parametrize("point", TinyDBBackend.crash_points)
def test_a_commit_failing_at_any_point_leaves_the_files_as_they_were(tmp_path: Path, point: str):
    backend = TinyDBBackend(tmp_path)
    with backend.store() as store:
        seed(store)
        before = files_under(backend.path.parent)

        def crash() -> None:
            raise KeyboardInterrupt  # not even an Exception: the commit still undoes its writes

        with pytest.MonkeyPatch.context() as patch:
            backend.crash_at(patch, point, crash)
            with pytest.raises(KeyboardInterrupt):
                with store.transaction() as tx:
                    change_everything(tx)
        after = files_under(backend.path.parent)
    assert {name: data for name, data in after.items() if name != "siren-sync.d/events/2027-01.jsonl"} == before
    assert after.get("siren-sync.d/events/2027-01.jsonl", b"") == b""  # a new bucket's file is cut back empty
    with backend.store():  # and removed on the next open
        assert files_under(backend.path.parent) == before


# -- what a commit costs --------------------------------------------------------------------

def test_commit_cost_does_not_grow_with_the_ledger(store_path: Path, monkeypatch: pytest.MonkeyPatch):
    """A 1,000-event batch writes as many bytes into a 50k-event store as into an empty one."""
    written = [0]
    real_write = os.write

    def counting_write(fd, data):
        n = real_write(fd, data)
        written[0] += n
        return n

    def batch(store: Store, start: int) -> int:
        written[0] = 0
        with store.transaction() as tx:
            tx.append_events("2026-11", events(start, 1000))
            tx.put(AGG, "aggregate", {"revenue": str(start), "events": start + 1000})
            tx.put("cursors", "woocommerce", {"after": str(start)})
        return written[0]

    monkeypatch.setattr(os, "write", counting_write)
    with Store(store_path) as store:
        first = batch(store, 0)
        for start in range(1000, 50_000, 1000):
            batch(store, start)
        last = batch(store, 50_000)
        assert store.event_count() == 51_000
    line = len(json.dumps(events(50_000, 1)[0], separators=(",", ":"))) + 1
    assert first <= 1000 * (line + KEY_BYTES) + 2000
    assert last <= first * 1.05


def test_put_many_writes_every_document_and_a_bad_one_fails_the_whole_commit(tmp_path):
    with Store(tmp_path / "s.json").open() as store:
        with store.transaction() as tx:
            tx.put_many("obligations/d1", {f"c{i}": {"amount": str(i)} for i in range(1000)})
        assert len(store.table("obligations/d1")) == 1000
        with pytest.raises(TypeError, match="Decimal is not JSON serializable"):
            with store.transaction() as tx:
                tx.put("meta", "x", {"a": 1})
                tx.put_many("obligations/d2", {"c": {"amount": Decimal("1.00")}})
        assert store.get("meta", "x") is None and store.table("obligations/d2") == {}
    with Store(tmp_path / "s.json").open() as store:
        assert store.get("obligations/d1", "c999") == {"amount": "999"}


# -- a full disk ----------------------------------------------------------------------------

def _full_disk_after(monkeypatch: pytest.MonkeyPatch, writes: int) -> None:
    """`os.write` succeeds `writes` times, then fails as a full disk does (ENOSPC)."""
    real_write, left = os.write, [writes]

    def write(fd: int, data: bytes) -> int:
        if left[0] <= 0:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        left[0] -= 1
        return real_write(fd, data)

    monkeypatch.setattr(os, "write", write)


@pytest.mark.parametrize("writes", range(6))  # `change_everything` writes 2 partitions, 2 segments, keys, root
def test_a_full_disk_at_any_write_leaves_no_temp_file_and_the_store_as_it_was(tmp_path: Path, writes: int):
    backend = TinyDBBackend(tmp_path)
    with backend.store() as store:
        seed(store)
        before = files_under(backend.path.parent)
        with pytest.MonkeyPatch.context() as patch:
            _full_disk_after(patch, writes)
            with pytest.raises(StoreError, match="No space left on device.*the last committed state is intact"):
                with store.transaction() as tx:
                    change_everything(tx)
        after = files_under(backend.path.parent)
        assert not [name for name in after if name.endswith(".tmp")]
        assert {name: data for name, data in after.items() if name != "siren-sync.d/events/2027-01.jsonl"} == before
        with store.transaction() as tx:  # the disk has room again: it goes on
            change_everything(tx)
    assert backend.store().open().event_count() == 57


def test_a_full_disk_when_a_store_is_created_is_one_line_and_leaves_nothing(tmp_path: Path,
                                                                              monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "data" / "siren-sync.json"
    _full_disk_after(monkeypatch, 0)  # the new root is the first file written
    with pytest.raises(StoreError, match=r"cannot be opened for writing: No space left on device"):
        Store(path).open()
    assert sorted(p.name for p in path.parent.iterdir()) == ["siren-sync.json.write.lock"]


# -- a failed commit of a journaled partition ---------------------------------------------------

def test_a_commit_failing_after_its_journal_line_cuts_it_back_and_keeps_the_last_state(seeded: Path):
    with Store(seeded) as store:
        with store.transaction() as tx:
            tx.put(AGG, "aggregate", {"events": 3})
        journal = store.folder / json.loads(seeded.read_bytes())["_tables"][AGG]["journal"]
        before = files_under(seeded.parent)
        sizes = []
        real_replace = os.replace

        def replace(src, dst, *args, **kwargs):
            if Path(dst) == seeded:
                sizes.append(journal.stat().st_size)
                raise OSError(28, "No space left on device")
            return real_replace(src, dst, *args, **kwargs)

        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "replace", replace)
            with pytest.raises(StoreError, match="the last committed state is intact"):
                with store.transaction() as tx:
                    tx.put(AGG, "aggregate", {"events": 4})
                    tx.put(AGG, "more", {"n": 1})
        assert sizes[0] > len(before[f"siren-sync.d/tables/{journal.name}"])  # the line was appended
        assert files_under(seeded.parent) == before  # and cut back
        assert store.table(AGG) == {"aggregate": {"events": 3}}
        with store.transaction() as tx:  # and it goes on
            tx.put(AGG, "more", {"n": 2})
    with Store(seeded, readonly=True) as reader:
        assert reader.table(AGG) == {"aggregate": {"events": 3}, "more": {"n": 2}}
