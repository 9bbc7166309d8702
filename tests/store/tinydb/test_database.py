"""TinyDB over files written whole: string keys, changes applied in memory, snapshots that hold."""
from __future__ import annotations

import json
from pathlib import Path

from siren_sync.store.tinydb.database import Database, JSONFileStorage, apply_changes, changed, document


def test_a_database_lives_in_memory_until_flushed(tmp_path: Path):
    storage = JSONFileStorage(tmp_path / "db.json", {"t": {"a": {"n": 1}}})
    db = Database(storage)
    assert db.file is storage and document(db.table("t"), "a") == {"n": 1}
    assert document(db.table("t"), "missing") is None
    snapshot = storage.data
    apply_changes(db.table("t"), {"a": None, "b": {"n": 2}, "never": None})
    assert not (tmp_path / "db.json").exists()
    assert snapshot == {"t": {"a": {"n": 1}}}  # TinyDB built new dicts: the snapshot still holds
    assert storage.data == {"t": {"b": {"n": 2}}}
    storage.flush()
    assert json.loads((tmp_path / "db.json").read_bytes()) == {"t": {"b": {"n": 2}}}
    assert (tmp_path / "db.json").read_bytes() == b'{"t":{"b":{"n":2}}}'


def test_a_partition_is_changed_into_a_new_dict():
    docs = {"a": {"n": 1}, "b": {"n": 2}}
    result = changed(docs, {"a": None, "c": {"n": 3}, "never": None})
    assert result == {"b": {"n": 2}, "c": {"n": 3}} and docs == {"a": {"n": 1}, "b": {"n": 2}}
    assert result["b"] is docs["b"]  # the documents are not copied


def test_a_partition_s_journal_is_replayed_in_order():
    docs = {"a": {"n": 1}}
    assert changed(docs, {"b": {"n": 2}}, {"a": None}, {"a": {"n": 3}, "b": None}) == {"a": {"n": 3}}
    assert changed(docs) == docs and changed(docs) is not docs
