"""The TinyDB store: round trips, opening and creating, read-only readers beside the writer."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store import SCHEMA_VERSION, Store, key_digest
from siren_sync.store.protocol import Changes
from tests.store.helpers import AGG, CURSOR, events, files_under


def test_missing_store_is_created_with_its_folders(store_path: Path):
    with Store(store_path) as store:
        assert store.tables() == [] and store.buckets() == []
    root = json.loads(store_path.read_text())
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


def test_events_keep_their_order_across_batches(store_path: Path):
    with Store(store_path) as store:
        for start in (0, 3, 6):
            with store.transaction() as tx:
                tx.append_events("2026-11", events(start, 3))
        with store.transaction() as tx:
            tx.append_events("2026-12", events(0, 1, prefix="lms"))
    with Store(store_path) as store:
        assert [e["key"] for e in store.events("2026-11")] == [f"woo:sale:{i}" for i in range(9)]
        assert store.buckets() == ["2026-11", "2026-12"]


def test_missing_root_beside_a_data_folder_is_refused(seeded: Path):
    seeded.unlink()
    before = files_under(seeded.parent)
    with pytest.raises(StoreError, match="the file is missing but .*siren-sync.d holds store data"):
        Store(seeded).open()
    assert files_under(seeded.parent) == before


def test_a_store_is_used_open(store_path: Path):
    store = Store(store_path)
    assert repr(store) == f"Store({str(store_path)!r}, writer, closed)"
    with pytest.raises(RuntimeError, match="is not open"):
        store.get("cursors", "x")
    with pytest.raises(RuntimeError, match="is not open"):
        store.transaction()
    with store:
        assert store.open() is store and repr(store).endswith("writer, open)")
    assert repr(Store(store_path, readonly=True)).endswith("readonly, closed)")


def test_an_empty_transaction_does_not_rewrite_the_root(seeded: Path):
    before = files_under(seeded.parent)
    with Store(seeded) as store:
        with store.transaction():
            pass
    assert files_under(seeded.parent) == before


def test_a_commit_is_read_back_without_reopening(seeded: Path):
    """The writer's caches (partitions, key index) follow its commits."""
    with Store(seeded) as store:
        assert store.known(["woo:sale:0"]) == {"woo:sale:0"}  # the key index is loaded
        store.apply(Changes(documents={AGG: {"aggregate": None}, "cursors": {"x": {"n": 1}}},
                            events={"2026-11": [b'{"key":"k"}\n']}, keys={key_digest("k"): "k"}))
        assert store.table(AGG) == {} and store.get("cursors", "x") == {"n": 1}
        assert store.event_count() == 3 and list(store.events("2026-11"))[-1] == {"key": "k"}
        assert store.known(["k", "woo:sale:0"]) == {"k", "woo:sale:0"}
    with Store(seeded) as store:
        assert store.tables() == ["cursors"]


# -- read-only readers ----------------------------------------------------------------------

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
        with writer.transaction() as tx:  # bigger than the base: replaces the partition file the reader's root names
            tx.put(AGG, "aggregate", {"events": 3, "note": "x" * 200})
        assert reader.get(AGG, "aggregate") == {"events": 3, "note": "x" * 200}


def test_readonly_sees_another_writer_s_journal_commit_once_refreshed(seeded: Path):
    with Store(seeded) as writer, Store(seeded, readonly=True) as reader, Store(seeded, readonly=True) as cached:
        assert cached.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
        for n in (3, 4):
            with writer.transaction() as tx:  # appended to the journal: the base stays
                tx.put(AGG, "aggregate", {"events": n})
            assert "journal" in json.loads(seeded.read_bytes())["_tables"][AGG]
            # as of their last look: the base, and the journal up to the length their root names
            assert reader.get(AGG, "aggregate") == cached.get(AGG, "aggregate") == (
                {"revenue": "24.00", "events": 2} if n == 3 else {"events": 3})
            reader.refresh()
            cached.refresh()
            assert reader.get(AGG, "aggregate") == cached.get(AGG, "aggregate") == {"events": n}


def test_readonly_whose_root_disappeared_says_so(seeded: Path):
    with Store(seeded, readonly=True) as reader:
        for path in (seeded.parent / "siren-sync.d" / "tables").iterdir():
            path.unlink()
        seeded.unlink()
        with pytest.raises(StoreError, match="the file disappeared"):
            reader.get(AGG, "aggregate")


def test_readonly_on_a_missing_store_is_empty_and_creates_nothing(tmp_path: Path):
    with Store(tmp_path / "none" / "x.json", readonly=True) as reader:
        assert reader.tables() == [] and reader.known(["a"]) == set()
    assert not (tmp_path / "none").exists()


# -- a store path that cannot be a store: one line, never a traceback ---------------------------

@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_path_under_a_file_is_one_clear_error(tmp_path: Path, readonly: bool):
    (tmp_path / "data").write_text("not a folder")
    path = tmp_path / "data" / "sub" / "siren-sync.json"
    with pytest.raises(StoreError, match=f"^store {path}: {tmp_path / 'data'} is a file, not a folder "
                                         r"\(store.path in the config\)$"):
        Store(path, readonly=readonly).open()


@pytest.mark.parametrize("readonly", [False, True])
def test_a_store_path_that_is_a_folder_is_one_clear_error(tmp_path: Path, readonly: bool):
    with pytest.raises(StoreError, match=f"^store {tmp_path} is a folder, not a store file"):
        Store(tmp_path, readonly=readonly).open()
    assert list(tmp_path.iterdir()) == []


def test_a_folder_this_user_cannot_write_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "data" / "siren-sync.json"
    path.parent.mkdir()
    real_open = os.open

    def refused(file: object, *args: object, **kwargs: object) -> int:
        if str(file).startswith(str(path.parent)):
            raise PermissionError(13, "Permission denied", str(file))
        return real_open(file, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", refused)  # as root, chmod would not refuse anything
    with pytest.raises(StoreError, match=f"^store {path} cannot write in its folder: Permission denied "
                                         rf"\({path}.write.lock\); check store.path"):
        Store(path).open()


def test_a_folder_that_cannot_be_created_is_one_clear_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    path = tmp_path / "new" / "siren-sync.json"

    def refused(self: Path, *args: object, **kwargs: object) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "mkdir", refused)
    with pytest.raises(StoreError, match=f"cannot write in its folder: Permission denied \\({path.parent}\\)"):
        Store(path).open()


# -- following another writer -----------------------------------------------------------------

def test_a_writer_reads_what_another_committed_when_its_transaction_starts(seeded: Path):
    with Store(seeded) as first, Store(seeded) as second:
        assert first.known(["woo:sale:0"]) == {"woo:sale:0"} and first.table(AGG)  # cached
        with second.transaction() as tx:
            tx.put(AGG, "aggregate", {"revenue": "36.00", "events": 3})
            tx.put("cursors", "woocommerce", {"by": "second"})
            tx.append_events("2026-11", events(2, 1))
        with first.transaction() as tx:
            assert tx.get(AGG, "aggregate") == {"revenue": "36.00", "events": 3}
            assert tx.known(["woo:sale:2"]) == {"woo:sale:2"}  # the key index grew by what was appended
            tx.put("cursors", "lifterlms", {"by": "first"})
        assert first.get("cursors", "woocommerce") == {"by": "second"} and first.event_count() == 3
    with Store(seeded, readonly=True) as reader:
        assert reader.get("cursors", "woocommerce") == {"by": "second"}
        assert reader.get("cursors", "lifterlms") == {"by": "first"}
        assert [e["key"] for e in reader.events("2026-11")] == ["woo:sale:0", "woo:sale:1", "woo:sale:2"]


def test_refresh_outside_a_transaction_follows_another_writer(seeded: Path):
    with Store(seeded) as first, Store(seeded) as second:
        assert first.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
        with second.transaction() as tx:  # replaces the partition file `first` read
            tx.put(AGG, "aggregate", {"events": 3})
        assert first.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}  # as of its last look
        first.refresh()
        assert first.get(AGG, "aggregate") == {"events": 3}


def test_opening_while_another_process_writes_skips_recovery_and_waits_for_nothing(seeded: Path):
    with Store(seeded) as writer, writer.transaction() as tx:
        tx.put("cursors", "x", {"n": 1})
        segment = writer.folder / "events" / "2026-11.jsonl"
        with segment.open("ab") as f:  # the writer is mid-commit: bytes past the committed length
            f.write(b'{"key":"half')
        with Store(seeded) as other:  # does not wait, and does not cut the writer's bytes
            assert other.event_count() == 2
        assert segment.read_bytes().endswith(b'{"key":"half')
