"""The store: round trips, the idempotent ledger, atomic commits, unreadable stores, the lock."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from decimal import Decimal
from pathlib import Path

import pytest

from siren_sync import store as store_module
from siren_sync.errors import StoreError, StoreLockedError
from siren_sync.store import SCHEMA_VERSION, Store

ROOT = Path(__file__).resolve().parents[1]
AGG = "aggregates/monthlySalesBonus/2026-11-01T00:00:00+00:00"
CURSOR = {"modified_after": "2026-11-01T00:00:00+00:00"}


def events(start: int, count: int, prefix: str = "woo:sale") -> list[dict]:
    return [{"key": f"{prefix}:{i}", "type": "sale", "at": "2026-11-05T10:00:00+00:00",
             "revenue": "12.00"} for i in range(start, start + count)]


def files_under(folder: Path) -> dict[str, bytes]:
    return {str(p.relative_to(folder)): p.read_bytes()
            for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.endswith(".lock")}


def run_python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=60)


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "data" / "siren-sync.json"


@pytest.fixture
def seeded(path: Path) -> Path:
    """A store with one root document, one partition document and two committed events."""
    with Store(path) as store, store.transaction() as tx:
        tx.put("cursors", "woocommerce", CURSOR)
        tx.put(AGG, "aggregate", {"revenue": "24.00", "events": 2})
        tx.append_events("2026-11", events(0, 2))
    return path


# -- round trip ---------------------------------------------------------------------------

def test_missing_store_is_created_with_its_folders(path: Path):
    with Store(path) as store:
        assert store.tables() == [] and store.buckets() == []
    root = json.loads(path.read_text())
    assert root["_meta"]["store"]["schema"] == SCHEMA_VERSION


def test_round_trip(seeded: Path):
    with Store(seeded) as store:
        assert store.get("cursors", "woocommerce") == CURSOR
        assert store.get("cursors", "lifterlms", {"x": 1}) == {"x": 1}
        assert store.get("nope", "x") is None and store.get("nope/partition", "x") is None
        assert store.table(AGG) == {"aggregate": {"revenue": "24.00", "events": 2}}
        assert store.table("missing/table") == {}
        assert store.tables("aggregates/") == [AGG]
        assert store.tables() == [AGG, "cursors"]
        assert store.buckets() == ["2026-11"]
        assert list(store.events("2026-11")) == events(0, 2)
        assert list(store.events("1999-01")) == []
        assert store.event_count() == 2 and store.event_count("2026-11") == 2


def test_events_keep_their_order_across_batches(path: Path):
    with Store(path) as store:
        for start in (0, 3, 6):
            with store.transaction() as tx:
                tx.append_events("2026-11", events(start, 3))
        with store.transaction() as tx:
            tx.append_events("2026-12", events(0, 1, prefix="lms"))
    with Store(path) as store:
        assert [e["key"] for e in store.events("2026-11")] == [f"woo:sale:{i}" for i in range(9)]
        assert store.buckets() == ["2026-11", "2026-12"]


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
        for n in range(3):
            with store.transaction() as tx:
                tx.put(AGG, "aggregate", {"events": n})
                tx.put(AGG, f"other{n}", {"n": n})
        assert len(list((store.folder / "tables").iterdir())) == 1
    with Store(seeded) as store:
        assert store.get(AGG, "aggregate") == {"events": 2}
        assert sorted(store.table(AGG)) == ["aggregate", "other0", "other1", "other2"]


def test_transaction_sees_its_own_writes_and_hands_out_copies(seeded: Path):
    with Store(seeded) as store:
        with store.transaction() as tx:
            doc = tx.get(AGG, "aggregate")
            doc["events"] = 99  # a copy: the store is not changed by this
            assert store.get(AGG, "aggregate")["events"] == 2
            tx.put(AGG, "aggregate", doc)
            doc["events"] = 100  # put kept a copy too
            assert tx.get(AGG, "aggregate")["events"] == 99
            assert store.get(AGG, "aggregate")["events"] == 2  # not committed yet
            tx.delete("cursors", "woocommerce")
            assert tx.get("cursors", "woocommerce", "gone") == "gone"
        assert store.get(AGG, "aggregate")["events"] == 99


def test_exception_discards_the_transaction(seeded: Path):
    with Store(seeded) as store:
        with pytest.raises(RuntimeError, match="boom"):
            with store.transaction() as tx:
                tx.put("cursors", "woocommerce", {"changed": True})
                tx.append_events("2026-11", events(10, 5))
                raise RuntimeError("boom")
        assert store.get("cursors", "woocommerce") == CURSOR
        assert store.event_count() == 2 and store.known(["woo:sale:10"]) == set()
        with store.transaction() as tx:  # the store takes a new transaction afterwards
            tx.put("cursors", "x", {})


def test_one_transaction_at_a_time(path: Path):
    with Store(path) as store:
        with store.transaction():
            with pytest.raises(RuntimeError, match="already open"):
                store.transaction()


def test_bad_input_is_refused(path: Path):
    with Store(path) as store, store.transaction() as tx:
        with pytest.raises(ValueError, match="table"):
            tx.put("_meta", "store", {})
        with pytest.raises(ValueError, match="not plain JSON"):
            tx.put("periods", "x", {"amount": Decimal("1.00")})
        with pytest.raises(ValueError, match="bucket"):
            tx.append_events("../escape", events(0, 1))
        with pytest.raises(ValueError, match="key"):
            tx.append_events("2026-11", [{"type": "sale"}])


# -- idempotent ledger --------------------------------------------------------------------

def test_known_and_duplicate_keys(seeded: Path):
    with Store(seeded) as store:
        assert store.known(["woo:sale:0", "woo:sale:1", "woo:sale:9"]) == {"woo:sale:0",
                                                                           "woo:sale:1"}
        with store.transaction() as tx:
            with pytest.raises(ValueError, match="already recorded"):
                tx.append_events("2026-12", events(1, 2))
            with pytest.raises(ValueError, match="twice"):
                tx.append_events("2026-12", events(5, 1) + events(5, 1))
            tx.append_events("2026-12", events(2, 2))
            assert tx.known(["woo:sale:3", "woo:sale:9"]) == {"woo:sale:3"}
            assert store.known(["woo:sale:3"]) == set()  # not committed yet
            with pytest.raises(ValueError, match="already recorded"):
                tx.append_events("2027-01", events(3, 1))
        assert store.event_count("2026-12") == 2  # the refused batches appended nothing
    with Store(seeded) as store:
        assert store.known(f"woo:sale:{i}" for i in range(6)) == {f"woo:sale:{i}" for i in range(4)}


# -- atomic commits -----------------------------------------------------------------------

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
            tx.put("cursors", "woocommerce", {"changed": True})
            tx.put(AGG, "aggregate", {"revenue": "999.00"})
            tx.put("periods/new/partition", "p", {})
            tx.append_events("2026-11", events(2, 50))
            tx.append_events("2027-01", events(100, 5))
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


def test_crash_mid_commit_is_rolled_back_on_open(seeded: Path):
    before = files_under(seeded.parent)
    crash = run_python(f"""
        import os
        from pathlib import Path
        from siren_sync.store import Store
        root = Path({str(seeded)!r})
        store = Store(root).open()
        real_replace = os.replace
        def replace(src, dst):
            if Path(dst) == root:
                os._exit(9)  # killed after the new files were written, before the commit point
            real_replace(src, dst)
        os.replace = replace
        with store.transaction() as tx:
            tx.put({AGG!r}, "aggregate", {{"revenue": "999.00"}})
            tx.put("cursors", "woocommerce", {{"changed": True}})
            tx.append_events("2026-11", [{{"key": f"late:{{i}}"}} for i in range(100)])
            tx.append_events("2027-02", [{{"key": "new-bucket"}}])
    """, seeded.parent)
    assert crash.returncode == 9, crash.stderr
    folder = seeded.parent / "siren-sync.d"
    assert (folder / "events" / "2027-02.jsonl").exists()  # the crash left garbage behind
    assert files_under(seeded.parent) != before
    with Store(seeded) as store:  # the dead process's lock is gone; the open recovers
        assert files_under(seeded.parent) == before
        assert store.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
        assert store.known(["late:0", "new-bucket"]) == set()
        assert list(store.events("2026-11")) == events(0, 2)


# -- stores that cannot be read -----------------------------------------------------------

@pytest.mark.parametrize("content, reason", [
    (b"", "the file is empty"),
    (b'{"_meta": {"store": {"schema": 1', "invalid JSON at line 1"),
    (b"[1, 2]", "not a siren-sync store"),
    (b'{"_default": {}}', "not a siren-sync store (no schema version)"),
    (b"\xff\xfe garbage", "not UTF-8"),
])
def test_unreadable_store_is_refused_and_left_untouched(seeded: Path, content: bytes, reason: str):
    seeded.write_bytes(content)
    before = files_under(seeded.parent)
    with pytest.raises(StoreError) as info:
        Store(seeded).open()
    message = str(info.value)
    assert message.startswith(f"store {seeded} cannot be read: ")
    assert reason in message and "left untouched (restore a backup or move it away)" in message
    assert files_under(seeded.parent) == before
    # and the lock was released: the next attempt says the same, not "in use"
    with pytest.raises(StoreError, match="cannot be read"):
        Store(seeded).open()


def test_newer_schema_is_refused(seeded: Path):
    root = json.loads(seeded.read_text())
    root["_meta"]["store"]["schema"] = SCHEMA_VERSION + 1
    seeded.write_text(json.dumps(root))
    before = files_under(seeded.parent)
    with pytest.raises(StoreError, match=f"schema version {SCHEMA_VERSION + 1} is newer"):
        Store(seeded).open()
    with pytest.raises(StoreError, match="newer"):
        Store(seeded, readonly=True).open()
    assert files_under(seeded.parent) == before


def test_missing_root_beside_a_data_folder_is_refused(seeded: Path):
    seeded.unlink()
    before = files_under(seeded.parent)
    with pytest.raises(StoreError, match="the file is missing but .*siren-sync.d holds store data"):
        Store(seeded).open()
    assert files_under(seeded.parent) == before


def test_missing_or_short_files_are_refused(seeded: Path):
    segment = seeded.parent / "siren-sync.d" / "events" / "2026-11.jsonl"
    segment.write_bytes(segment.read_bytes()[:-5])
    with pytest.raises(StoreError, match="2026-11.jsonl is shorter than recorded"):
        Store(seeded).open()
    segment.unlink()
    with pytest.raises(StoreError, match="2026-11.jsonl is missing"):
        Store(seeded).open()


def test_corrupt_partition_is_reported_when_read(seeded: Path):
    table_file = next((seeded.parent / "siren-sync.d" / "tables").iterdir())
    table_file.write_text("{oops")
    with Store(seeded) as store:
        with pytest.raises(StoreError, match=f"{table_file.name} is not valid JSON"):
            store.get(AGG, "aggregate")
    assert table_file.read_text() == "{oops"


# -- one writer, many readers -------------------------------------------------------------

def test_second_process_is_locked_out(seeded: Path):
    with Store(seeded):
        other = run_python(f"""
            from siren_sync.store import Store
            from siren_sync.errors import StoreLockedError
            try:
                Store({str(seeded)!r}).open()
            except StoreLockedError as exc:
                print(exc)
        """, seeded.parent)
        assert other.stdout.strip() == (
            f"store {seeded} is in use by another siren-sync process "
            f"(pid {os.getpid()}, lock {seeded}.lock)"), other.stderr
    with Store(seeded):  # released on close
        pass


def test_second_store_in_the_same_process_is_locked_out(seeded: Path):
    with Store(seeded):
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            Store(seeded).open()


def test_readonly_reads_committed_state_while_the_writer_holds_the_lock(seeded: Path):
    with Store(seeded) as writer:
        segment = writer.folder / "events" / "2026-11.jsonl"
        with segment.open("ab") as f:  # the writer is mid-batch: bytes past the committed length
            f.write(b'{"key":"half')
        with Store(seeded, readonly=True) as reader:
            assert reader.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
            assert list(reader.events("2026-11")) == events(0, 2)
            assert reader.known(["woo:sale:0", "woo:sale:5"]) == {"woo:sale:0"}
            with pytest.raises(StoreError, match="read-only"):
                reader.transaction()


def test_readonly_follows_a_newer_generation(seeded: Path):
    with Store(seeded) as writer, Store(seeded, readonly=True) as reader:
        with writer.transaction() as tx:  # replaces the partition file the reader's root names
            tx.put(AGG, "aggregate", {"events": 3})
        assert reader.get(AGG, "aggregate") == {"events": 3}


def test_readonly_on_a_missing_store_is_empty_and_creates_nothing(tmp_path: Path):
    with Store(tmp_path / "none" / "x.json", readonly=True) as reader:
        assert reader.tables() == [] and reader.known(["a"]) == set()
    assert not (tmp_path / "none").exists()


# -- the cost of a commit -----------------------------------------------------------------

def test_commit_cost_does_not_grow_with_the_ledger(path: Path, monkeypatch: pytest.MonkeyPatch):
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
    with Store(path) as store:
        first = batch(store, 0)
        for start in range(1000, 50_000, 1000):
            batch(store, start)
        last = batch(store, 50_000)
        assert store.event_count() == 51_000
    line = len(json.dumps(events(50_000, 1)[0], separators=(",", ":"))) + 1
    assert first <= 1000 * (line + store_module.KEY_BYTES) + 2000
    assert last <= first * 1.05


def test_put_many_writes_every_document_and_a_bad_one_fails_the_whole_commit(tmp_path):
    from decimal import Decimal
    with Store(tmp_path / "s.json").open() as store:
        with store.transaction() as tx:
            tx.put_many("obligations/d1", {f"c{i}": {"amount": str(i)} for i in range(1000)})
        assert len(store.table("obligations/d1")) == 1000
        with pytest.raises(Exception):
            with store.transaction() as tx:
                tx.put("meta", "x", {"a": 1})
                tx.put_many("obligations/d2", {"c": {"amount": Decimal("1.00")}})
        assert store.get("meta", "x") is None and store.table("obligations/d2") == {}
    with Store(tmp_path / "s.json").open() as store:
        assert store.get("obligations/d1", "c999") == {"amount": "999"}
