"""The root of a TinyDB store: which roots are refused and why, partition file names, partition files."""
from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store import SCHEMA_VERSION, Store
from siren_sync.store.tinydb.manifest import new_root, parse_partition, partition_file, root_problem
from tests.store.helpers import AGG, files_under

FIRST_WAVE_ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "first_wave" / "store" / "siren-sync.json"


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


def test_a_store_of_schema_1_opens_and_its_next_commit_writes_the_current_version(seeded: Path):
    root = json.loads(seeded.read_text())
    root["_meta"]["store"]["schema"] = 1  # as every siren-sync before lean program rewards wrote it
    seeded.write_text(json.dumps(root))
    with Store(seeded, readonly=True) as reader:
        assert reader.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
    assert json.loads(seeded.read_text())["_meta"]["store"]["schema"] == 1  # a reader changes nothing
    with Store(seeded) as store:
        assert store.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
        with store.transaction() as tx:
            tx.put(AGG, "other", {"revenue": "1.00", "events": 1})
    assert json.loads(seeded.read_text())["_meta"]["store"]["schema"] == SCHEMA_VERSION == 2


def test_an_older_siren_sync_refuses_a_store_this_one_wrote(seeded: Path, monkeypatch: pytest.MonkeyPatch):
    """Its program rewards may be lean (`commissions.full`): version 1 would misread them, so it
    refuses the store, as it refuses any newer one, rather than read it."""
    monkeypatch.setattr("siren_sync.store.tinydb.manifest.SCHEMA_VERSION", 1)  # what version 1 knows
    with pytest.raises(StoreError, match=r"schema version 2 is newer than this siren-sync supports \(1\); "
                                         "upgrade siren-sync"):
        Store(seeded, readonly=True).open()


def test_corrupt_partition_is_reported_when_read(seeded: Path):
    table_file = next((seeded.parent / "siren-sync.d" / "tables").iterdir())
    table_file.write_text("{oops")
    with Store(seeded) as store:
        with pytest.raises(StoreError, match=f"{table_file.name} is not valid JSON"):
            store.get(AGG, "aggregate")
    assert table_file.read_text() == "{oops"


# -- what makes a root unusable -------------------------------------------------------------

def _damaged(change) -> dict:
    root = copy.deepcopy(json.loads(FIRST_WAVE_ROOT.read_bytes()))
    change(root)
    return root


BASE = {"file": "tables/x.json", "docs": 1}


def _meta(root: dict) -> dict:
    return root["_meta"]["store"]


@pytest.mark.parametrize("change, problem", [
    (lambda r: r.pop("_meta"), "not a siren-sync store (no schema version)"),
    (lambda r: r.update(_meta=[]), "not a siren-sync store (no schema version)"),
    (lambda r: _meta(r).update(schema="1"), "not a siren-sync store (no schema version)"),
    (lambda r: _meta(r).update(schema=True), "not a siren-sync store (no schema version)"),
    (lambda r: _meta(r).update(schema=0), "unknown schema version 0"),
    (lambda r: _meta(r).update(schema=3), "schema version 3 is newer than this siren-sync supports (2); "
                                          "upgrade siren-sync"),
    (lambda r: r.update(cursors=[]), "table 'cursors' is not an object of documents"),
    (lambda r: r["cursors"].update(x=1), "table 'cursors' is not an object of documents"),
    (lambda r: _meta(r).pop("generation"), "the store's meta record is damaged"),
    (lambda r: _meta(r).update(keys=None), "the store's meta record is damaged"),
    (lambda r: _meta(r)["keys"].update(file="../keys.bin"), "the store's meta record is damaged"),
    (lambda r: _meta(r)["keys"].update(length=-12), "the store's meta record is damaged"),
    (lambda r: _meta(r)["keys"].update(length=13), "the store's meta record is damaged"),
    (lambda r: r["_tables"].update(flat={"file": "tables/x.json"}), "the manifest entry of table 'flat' is damaged"),
    (lambda r: r["_tables"].update({"a/b": {"file": "../x.json"}}), "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": {"file": "events/x.json"}}), "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": {"file": "tables/.."}}), "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": {}}), "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": -1}}), "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"journal": "tables/x.jsonl", "length": 5}}),
     "the manifest entry of table 'a/b' is damaged"),  # a journal, but no base size
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "events/x.jsonl", "length": 5}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "tables/x.jsonl"}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "length": 5}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "tables/x.json", "length": 5}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "tables/x.jsonl", "length": "5"}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "tables/x.jsonl", "length": 5, "lines": -1}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_tables"].update({"a/b": BASE | {"size": 9, "journal": "tables/x.jsonl", "length": 5, "dead": "0"}}),
     "the manifest entry of table 'a/b' is damaged"),
    (lambda r: r["_events"].update({"../x": {"file": "events/x.jsonl", "length": 0, "count": 0}}),
     "the manifest entry of event bucket '../x' is damaged"),
    (lambda r: r["_events"]["2026-11"].update(file="tables/2026-11.jsonl"),
     "the manifest entry of event bucket '2026-11' is damaged"),
    (lambda r: r["_events"]["2026-11"].update(length=None), "the manifest entry of event bucket '2026-11' is damaged"),
    (lambda r: r["_events"]["2026-11"].update(count=-1), "the manifest entry of event bucket '2026-11' is damaged"),
])
def test_root_problem_names_what_is_wrong(change, problem: str):
    assert root_problem(_damaged(change)) == problem


def test_the_first_wave_root_and_a_new_one_have_no_problem():
    assert root_problem(_damaged(lambda r: None)) is None
    assert root_problem(new_root()) is None
    assert root_problem(_damaged(lambda r: (r.pop("_tables"), r.pop("_events")))) is None  # both optional
    assert root_problem(_damaged(lambda r: r["_tables"].update({"a/b": BASE | {"size": 9}}))) is None
    assert root_problem(_damaged(lambda r: r["_tables"].update(
        {"a/b": BASE | {"size": 9, "journal": "tables/x.jsonl", "length": 12}}))) is None
    assert _meta(new_root()) | {"created": "now"} == {"schema": SCHEMA_VERSION, "created": "now", "generation": 0,
                                                      "keys": {"file": "keys.bin", "length": 0}}


# -- partition files ------------------------------------------------------------------------

def test_partition_file_names_are_the_first_waves():
    tables = json.loads(FIRST_WAVE_ROOT.read_bytes())["_tables"]
    assert len(tables) == 17
    for table, entry in tables.items():
        generation = int(entry["file"].rsplit(".", 2)[1])
        assert partition_file(table, generation) == entry["file"]
    readable, digest, generation, suffix = partition_file("a/" + "x" * 200, 3).split(".")
    assert (readable, len(digest), generation, suffix) == ("tables/a_" + "x" * 78, 10, "3", "json")  # names stay short
    assert partition_file("//", 1).startswith("tables/table.")  # nothing readable left: still a name


@pytest.mark.parametrize("raw, problem", [
    (b"{oops", "is not valid JSON"),
    (b"\xff", "is not valid JSON"),
    (b"[]", "does not hold the table 'a/b'"),
    (b'{"a/c": {}}', "does not hold the table 'a/b'"),
    (b'{"a/b": {}, "a/c": {}}', "does not hold the table 'a/b'"),
    (b'{"a/b": {"k": 1}}', "does not hold the table 'a/b'"),
])
def test_a_partition_file_must_hold_its_table_and_nothing_else(tmp_path: Path, raw: bytes, problem: str):
    with pytest.raises(StoreError, match=f"store {tmp_path / 'r.json'} cannot be read: .*p.json {problem}"):
        parse_partition(tmp_path / "r.json", tmp_path / "p.json", "a/b", raw)
    assert parse_partition(tmp_path / "r.json", tmp_path / "p.json", "a/b", b'{"a/b": {"k": {}}}') == {"a/b": {"k": {}}}
