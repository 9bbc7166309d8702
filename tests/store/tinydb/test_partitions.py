"""A partition's base and journal: what a commit appends, when it writes a new base instead, what
reads back, and the journals a reader refuses (one line naming the file)."""
from __future__ import annotations

import json
import os
import random
from pathlib import Path
from typing import Any

import pytest

from siren_sync.errors import StoreError
from siren_sync.store import Store
from siren_sync.store.codec import dumps
from siren_sync.store.tinydb.manifest import partition_file
from siren_sync.store.tinydb.partitions import journal_file
from tests.store.helpers import files_under

TABLE = "obligations/2026-11-05"


def _entry(path: Path, table: str = TABLE) -> dict[str, Any]:
    """The manifest entry of `table` in the root file at `path`."""
    entry: dict[str, Any] = json.loads(path.read_bytes())["_tables"][table]
    return entry


def _tables(path: Path) -> list[str]:
    return sorted(p.name for p in (path.parent / "siren-sync.d" / "tables").iterdir())


def _commit(store: Store, changes: dict[str, dict | None], table: str = TABLE) -> None:
    with store.transaction() as tx:
        for key, doc in changes.items():
            if doc is None:
                tx.delete(table, key)
            else:
                tx.put(table, key, doc)


def test_journal_files_are_named_after_their_base():
    assert partition_file(TABLE, 12) == "tables/obligations_2026-11-05.7a5687b0c3.12.json"
    assert journal_file(partition_file(TABLE, 12)) == "tables/obligations_2026-11-05.7a5687b0c3.12.jsonl"


def test_lines_that_replace_go_to_the_journal_until_it_would_outgrow_the_base(store_path: Path):
    """Lines that only replace documents count whole as dead: the journal takes them while it stays
    no longer than the base, and the commit that would pass it writes a new base."""
    folder = store_path.parent / "siren-sync.d"
    with Store(store_path) as store:
        with store.transaction() as tx:
            tx.put_many(TABLE, {f"c{i}": {"amount": "10.00"} for i in range(100)})
        first = _entry(store_path)
        base = folder / first["file"]
        base_bytes = base.read_bytes()
        assert first == {"file": partition_file(TABLE, 1), "docs": 100, "size": len(base_bytes)}
        journal = folder / journal_file(first["file"])
        lines: list[bytes] = []
        for n in range(100):
            change: dict[str, dict | None] = {f"c{n}": {"amount": "11.00"}, f"c{n + 1}": {"amount": "12.00"}}
            line = dumps(change) + b"\n"
            if sum(map(len, lines)) + len(line) > first["size"]:
                break
            _commit(store, change)
            lines.append(line)
            assert base.read_bytes() == base_bytes  # the base is not rewritten
            assert journal.read_bytes() == b"".join(lines)  # one line per commit: its changes
            length = journal.stat().st_size
            assert _entry(store_path) == {**first, "docs": len(store.table(TABLE)),
                                          "journal": journal_file(first["file"]), "length": length,
                                          "lines": len(lines), "dead": length}
            assert _tables(store_path) == sorted([base.name, journal.name])
        assert len(lines) >= 5
        # this line would pass the base's size: the commit writes a new base, with no journal
        expected = {**store.table(TABLE), **change}
        expected = {key: doc for key, doc in expected.items() if doc is not None}
        _commit(store, change)
        generation = json.loads(store_path.read_bytes())["_meta"]["store"]["generation"]
        new = _entry(store_path)
        assert new == {"file": partition_file(TABLE, generation), "docs": len(expected),
                       "size": (folder / new["file"]).stat().st_size}
        assert _tables(store_path) == [Path(new["file"]).name]  # the old base and its journal are gone
        assert json.loads((folder / new["file"]).read_bytes()) == {TABLE: expected}
        assert store.table(TABLE) == expected
    with Store(store_path, readonly=True) as reader:
        assert reader.table(TABLE) == expected


def test_a_deleted_document_counts_as_dead_a_mean_document_not_its_null(store_path: Path):
    """A sweep deleting many documents (the programs' old visitors) says only `null` for each: counted
    by their line, the dead documents would stay in the base until the journal's most lines."""
    with Store(store_path) as store:
        _commit(store, {f"visitor-{i}": {"visits": [[1_700_000_000 + i, "alice"]] * 5} for i in range(100)})
        size = _entry(store_path)["size"]
        _commit(store, {"visitor-0": None, "visitor-1": None})
        assert _entry(store_path)["dead"] == 2 * (size // 100)  # two mean documents, not 30 bytes
        _commit(store, {f"visitor-{i}": None for i in range(2, 60)})  # most deleted: a new base
        assert "journal" not in _entry(store_path) and _entry(store_path)["docs"] == 40


def test_deleting_documents_that_are_not_there_writes_nothing(store_path: Path):
    """A delete of a missing key (a sweep forgetting a visitor this run added and dropped) is no
    change: no journal line for it, and a commit of nothing but such deletes leaves every file as it was."""
    folder = store_path.parent / "siren-sync.d"
    with Store(store_path) as store:
        _commit(store, {"a": {"amount": "1.00"}})
        before = files_under(folder)
        _commit(store, {"missing": None, "gone": None})
        assert files_under(folder) == before and "journal" not in _entry(store_path)
        _commit(store, {"b": {"amount": "2.00"}, "missing": None})
        journal = folder / _entry(store_path)["journal"]
        assert journal.read_bytes() == dumps({"b": {"amount": "2.00"}}) + b"\n"
        _commit(store, {"new-table-doc": None}, table="obligations/2026-11-06")
        assert "obligations/2026-11-06" not in store.tables("obligations/")
    with Store(store_path, readonly=True) as reader:
        assert reader.table(TABLE) == {"a": {"amount": "1.00"}, "b": {"amount": "2.00"}}


def test_lines_that_only_add_stay_in_the_journal_up_to_its_most_lines(store_path: Path,
                                                                      monkeypatch: pytest.MonkeyPatch):
    """A table growing commit by commit (a day of rewards) keeps its first base whatever the
    journal's length; a line that replaces a document counts its share as dead; the commit past
    `JOURNAL_LINES` lines writes a new base."""
    monkeypatch.setattr("siren_sync.store.tinydb.partitions.JOURNAL_LINES", 40)
    folder = store_path.parent / "siren-sync.d"
    with Store(store_path) as store:
        _commit(store, {"first": {"amount": "1.00"}})
        first = _entry(store_path)
        for n in range(39):
            _commit(store, {f"c{n}": {"amount": "10.00", "n": n}})
        entry = _entry(store_path)
        assert entry["file"] == first["file"] and entry["lines"] == 39 and entry["dead"] == 0
        assert entry["length"] > 20 * first["size"]  # far longer than the base, and no dead byte
        line = dumps({"c0": {"amount": "9.00"}, "added": {"amount": "1.00"}}) + b"\n"
        _commit(store, {"c0": {"amount": "9.00"}, "added": {"amount": "1.00"}})
        assert _entry(store_path)["dead"] == len(line) // 2 and _entry(store_path)["lines"] == 40
        expected = store.table(TABLE)
        _commit(store, {"last": {"amount": "1.00"}})  # the 41st line: a new base instead
        new = _entry(store_path)
        assert "journal" not in new and new["file"] != first["file"]
        assert json.loads((folder / new["file"]).read_bytes()) == {TABLE: {**expected, "last": {"amount": "1.00"}}}
    with Store(store_path, readonly=True) as reader:
        assert reader.table(TABLE) == {**expected, "last": {"amount": "1.00"}}


def test_a_partition_changed_over_many_commits_reads_back_exactly(store_path: Path):
    """Puts, deletions and re-adds over 150 commits: the writer's memory, a reopened store and a
    reader all hold what a dict given the same changes holds, whether the last commit journaled or
    wrote a new base (both happen)."""
    rng = random.Random(13)
    expected: dict[str, dict] = {}
    seen = {"journal": 0, "bases": set()}
    with Store(store_path) as store:
        for n in range(150):
            changes: dict[str, dict | None] = {}
            for _ in range(rng.randint(1, 5)):
                key = f"c{rng.randrange(40)}"
                changes[key] = None if key in expected and rng.random() < 0.35 else {"n": n, "amount": f"{n}.00"}
            _commit(store, changes)
            for key, doc in changes.items():
                if doc is None:
                    expected.pop(key, None)
                else:
                    expected[key] = doc
            assert store.table(TABLE) == expected
            if expected:
                entry = _entry(store_path)
                seen["journal"] += "journal" in entry
                seen["bases"].add(entry["file"])
    assert seen["journal"] > 50 and len(seen["bases"]) > 3
    with Store(store_path) as store:
        assert store.table(TABLE) == expected
    with Store(store_path, readonly=True) as reader:
        assert reader.table(TABLE) == expected
        assert [reader.get(TABLE, key) for key in sorted(expected)] == [expected[key] for key in sorted(expected)]


def test_a_partition_emptied_leaves_neither_base_nor_journal(store_path: Path):
    with Store(store_path) as store:
        _commit(store, {f"c{i}": {"n": i} for i in range(5)})
        _commit(store, {"c0": None})
        assert "journal" in _entry(store_path)
        _commit(store, {f"c{i}": None for i in range(1, 5)})
        assert store.table(TABLE) == {} and store.tables() == []
    assert _tables(store_path) == []


def test_a_journal_written_before_dead_bytes_were_counted_counts_whole_as_dead(store_path: Path):
    with Store(store_path) as store:
        _commit(store, {f"c{i}": {"amount": "10.00"} for i in range(10)})
        _commit(store, {"c1": {"amount": "11.00"}})
    root = json.loads(store_path.read_bytes())
    old = {key: value for key, value in root["_tables"][TABLE].items() if key not in ("lines", "dead")}
    root["_tables"][TABLE] = old  # as the version before wrote it
    store_path.write_bytes(dumps(root))
    with Store(store_path) as store:
        _commit(store, {"added": {"amount": "1.00"}})
        entry = _entry(store_path)
        assert entry["file"] == old["file"] and entry["dead"] == old["length"] and entry["lines"] == 1
        assert store.table(TABLE)["c1"] == {"amount": "11.00"} and len(store.table(TABLE)) == 11


@pytest.mark.parametrize("growing", [True, False])
def test_journal_commits_write_a_small_multiple_of_what_they_change(store_path: Path, growing: bool,
                                                                     monkeypatch: pytest.MonkeyPatch):
    """600 commits: a table growing by one document a commit is written once (its journal lines),
    where rewriting it whole at each commit would write over a hundred times as much again; one
    whose 20 documents change in turn is written at most three times what changed (the lines, then
    the bases that absorb them)."""
    written = [0]
    real_write = os.write

    def counting_write(fd: int, data: bytes) -> int:
        n = real_write(fd, data)
        written[0] += n
        return n

    changed = 0
    with Store(store_path) as store:
        _commit(store, {f"collaborator-{n}": {"amount": "0.00", "order": n} for n in range(20)})
        monkeypatch.setattr(os, "write", counting_write)
        for n in range(600):
            change = {f"collaborator-{n + 20 if growing else n % 20}": {"amount": f"{n}.00", "order": n}}
            _commit(store, change)
            changed += len(dumps(change)) + 1
            written[0] -= store_path.stat().st_size  # the root's own rewrite
        monkeypatch.undo()
        final = _entry(store_path)["size"] + _entry(store_path).get("length", 0)
    assert written[0] == changed if growing else changed < written[0] <= 3 * changed
    rewrites = final * 600 / (2 if growing else 1)  # the bytes of 600 whole rewrites of the table
    assert rewrites > (100 if growing else 5) * written[0]


# -- journals a reader refuses ------------------------------------------------------------

@pytest.fixture
def journaled(store_path: Path) -> Path:
    """A store whose partition `TABLE` has a base and a journal of two lines."""
    with Store(store_path) as store:
        _commit(store, {f"c{i}": {"amount": "10.00"} for i in range(10)})
        _commit(store, {"c1": {"amount": "11.00"}})
        _commit(store, {"c2": None})
    assert _entry(store_path)["length"] > 0
    return store_path


def _journal(store_path: Path) -> Path:
    return store_path.parent / "siren-sync.d" / _entry(store_path)["journal"]


@pytest.mark.parametrize("readonly", [False, True])
def test_a_journal_shorter_than_recorded_is_one_line_naming_it(journaled: Path, readonly: bool):
    journal = _journal(journaled)
    journal.write_bytes(journal.read_bytes()[:-3])
    before = files_under(journaled.parent)
    with pytest.raises(StoreError) as info:
        with Store(journaled, readonly=readonly) as store:
            store.table(TABLE)
    message = str(info.value)
    assert f"{journal} is shorter than recorded" in message and "\n" not in message
    assert message.startswith(f"store {journaled} cannot be read: ")
    assert files_under(journaled.parent) == before  # left as it is


@pytest.mark.parametrize("damage, problem", [
    (lambda line: b"{" + b"x" * (len(line) - 2) + b"\n", "line 1 is not JSON"),
    (lambda line: b"[" + b" " * (len(line) - 3) + b"]\n", f"line 1 is not a change of the table '{TABLE}'"),
    (lambda line: b'{"c1":' + b" " * (len(line) - 9) + b"1}\n", f"line 1 is not a change of the table '{TABLE}'"),
])
def test_a_damaged_line_within_the_committed_length_is_one_line_naming_the_file(journaled: Path, damage,
                                                                                 problem: str):
    journal = _journal(journaled)
    first, rest = journal.read_bytes().split(b"\n", 1)
    damaged = damage(first + b"\n")
    assert len(damaged) == len(first) + 1
    journal.write_bytes(damaged + rest)
    for readonly in (False, True):
        with Store(journaled, readonly=readonly) as store:
            with pytest.raises(StoreError) as info:
                store.get(TABLE, "c0")
        message = str(info.value)
        assert f"{journal}: {problem}" in message and "\n" not in message
    assert journal.read_bytes() == damaged + rest  # never skipped, never cut


def test_a_missing_journal_is_refused(journaled: Path):
    journal = _journal(journaled)
    journal.unlink()
    with pytest.raises(StoreError, match=f"{journal} is missing"):
        Store(journaled).open()
    with Store(journaled, readonly=True) as reader, pytest.raises(StoreError, match=f"{journal} is missing"):
        reader.table(TABLE)


# -- a store written before journals --------------------------------------------------------

def test_a_store_written_before_journals_reads_and_writes(first_wave: Path):
    path = first_wave.parent / "store" / "siren-sync.json"
    old_root = json.loads(path.read_bytes())
    table = "obligations/referralpool-20261107t0500"
    assert all(set(entry) == {"file", "docs"} for entry in old_root["_tables"].values())
    with Store(path, readonly=True) as reader:
        before = {name: reader.table(name) for name in reader.tables()}
    untouched = files_under(path.parent / "siren-sync.d" / "tables")
    with Store(path) as store:
        _commit(store, {"extra": {"amount": "1.00"}}, table)  # the first change rewrites it, with its size
        assert set(_entry(path, table)) == {"file", "docs", "size"}
        _commit(store, {"extra": None}, table)  # then it is journaled
        assert set(_entry(path, table)) == {"file", "docs", "size", "journal", "length", "lines", "dead"}
    with Store(path, readonly=True) as reader:
        assert {name: reader.table(name) for name in reader.tables()} == before
    root = json.loads(path.read_bytes())
    for name, entry in old_root["_tables"].items():
        if name != table:
            assert root["_tables"][name] == entry  # the other partitions keep their old entries and files
            assert (path.parent / "siren-sync.d" / entry["file"]).read_bytes() == untouched[Path(entry["file"]).name]
