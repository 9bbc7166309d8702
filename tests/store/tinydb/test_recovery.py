"""Recovery on open: what an unfinished commit left is cut back or removed; a store whose files
disagree with its root is refused and left as it is."""
from __future__ import annotations

import logging
import signal
import subprocess
import textwrap
from pathlib import Path

import pytest

from siren_sync.errors import StoreError
from siren_sync.store import Store
from tests.store.backends import TinyDBBackend, kill_mid_commit
from tests.store.helpers import AGG, events, files_under, run_python, seed


def _killed_at_the_commit_point(root: Path, changes: str) -> subprocess.CompletedProcess:
    """Run a transaction `tx` making `changes` (code) on the store at `root` in a child process that
    is killed (exit status 9) when it replaces the root: after every other write of its commit."""
    return run_python(f"""
        import os
        from pathlib import Path
        from siren_sync.store import Store
        root = Path({str(root)!r})
        store = Store(root).open()
        real_replace = os.replace
        def replace(src, dst):
            if Path(dst) == root:
                os._exit(9)
            real_replace(src, dst)
        os.replace = replace
        with store.transaction() as tx:
""" + textwrap.indent(textwrap.dedent(changes), " " * 12), root.parent)


def test_crash_mid_commit_is_rolled_back_on_open(seeded: Path):
    before = files_under(seeded.parent)
    crash = _killed_at_the_commit_point(seeded, f"""
        tx.put({AGG!r}, "aggregate", {{"revenue": "999.00"}})
        tx.put("cursors", "woocommerce", {{"changed": True}})
        tx.append_events("2026-11", [{{"key": f"late:{{i}}"}} for i in range(100)])
        tx.append_events("2027-02", [{{"key": "new-bucket"}}])
    """)
    assert crash.returncode == 9, crash.stderr
    folder = seeded.parent / "siren-sync.d"
    assert (folder / "events" / "2027-02.jsonl").exists()  # the crash left garbage behind
    assert files_under(seeded.parent) != before
    with Store(seeded) as store:  # the dead process's lock is gone; the open recovers
        assert files_under(seeded.parent) == before
        assert store.get(AGG, "aggregate") == {"revenue": "24.00", "events": 2}
        assert store.known(["late:0", "new-bucket"]) == set()
        assert list(store.events("2026-11")) == events(0, 2)


@pytest.mark.parametrize("point", TinyDBBackend.crash_points)
def test_a_writer_killed_at_any_point_of_a_commit_leaves_nothing_after_the_next_open(
        tmp_path: Path, point: str, caplog: pytest.LogCaptureFixture):
    backend = TinyDBBackend(tmp_path)
    with backend.store() as store:
        seed(store)
    before = files_under(backend.path.parent)
    killed = kill_mid_commit(backend, point)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    left = files_under(backend.path.parent)
    assert set(left) > set(before)  # the killed commit left a new partition file or its temp file
    with caplog.at_level(logging.WARNING), backend.store():
        assert files_under(backend.path.parent) == before
    assert "siren-sync.d/tables/" in caplog.text and "left by an unfinished write" in caplog.text


def test_bytes_past_the_committed_length_are_cut_back(seeded: Path, caplog: pytest.LogCaptureFixture):
    before = files_under(seeded.parent)
    folder = seeded.parent / "siren-sync.d"
    for name in ("events/2026-11.jsonl", "keys.bin"):
        with (folder / name).open("ab") as file:
            file.write(b'{"key":"half')
    (folder / "tables" / "aggregates_x.0123456789.99.json").write_text("{}")
    (seeded.parent / "siren-sync.json.tmp").write_text("{")
    with caplog.at_level(logging.WARNING), Store(seeded):
        assert files_under(seeded.parent) == before
    assert caplog.text.count("cutting an unfinished write back") == 2
    assert "aggregates_x.0123456789.99.json: removing a file left by an unfinished write" in caplog.text


def test_missing_or_short_files_are_refused(seeded: Path):
    segment = seeded.parent / "siren-sync.d" / "events" / "2026-11.jsonl"
    segment.write_bytes(segment.read_bytes()[:-5])
    with pytest.raises(StoreError, match="2026-11.jsonl is shorter than recorded"):
        Store(seeded).open()
    segment.unlink()
    with pytest.raises(StoreError, match="2026-11.jsonl is missing"):
        Store(seeded).open()


@pytest.mark.parametrize("damage, message", [
    (lambda folder: (folder / "keys.bin").write_bytes(b"short"), r"keys.bin is shorter than recorded \(5 < 24 bytes\)"),
    (lambda folder: (folder / "keys.bin").unlink(), "keys.bin is missing"),
    (lambda folder: next((folder / "tables").iterdir()).unlink(), r"tables/aggregates_monthlySales.*\.json is missing"),
])
def test_a_store_whose_files_disagree_with_its_root_is_refused_and_left_as_it_is(seeded: Path, damage, message: str):
    folder = seeded.parent / "siren-sync.d"
    with (folder / "events" / "2026-11.jsonl").open("ab") as file:
        file.write(b"past the committed length")  # would be cut back, if the rest were right
    damage(folder)
    before = files_under(seeded.parent)
    with pytest.raises(StoreError, match=message):
        Store(seeded).open()
    assert files_under(seeded.parent) == before
    with pytest.raises(StoreError, match=message):  # the lock was released: the same again
        Store(seeded).open()


def test_a_store_with_no_key_index_yet_opens(store_path: Path):
    with Store(store_path) as store, store.transaction() as tx:
        tx.put("cursors", "x", {})
    assert not (store_path.parent / "siren-sync.d" / "keys.bin").exists()
    with Store(store_path) as store:
        assert store.known(["a"]) == set()


def test_a_journal_line_of_a_killed_commit_is_never_read_and_cut_back_on_open(seeded: Path,
                                                                               caplog: pytest.LogCaptureFixture):
    with Store(seeded) as store, store.transaction() as tx:
        tx.put(AGG, "aggregate", {"events": 3})
    before = files_under(seeded.parent)
    crash = _killed_at_the_commit_point(seeded, f"""
        tx.put({AGG!r}, "aggregate", {{"events": 4}})
    """)
    assert crash.returncode == 9, crash.stderr
    grown = [name for name, data in files_under(seeded.parent).items() if data != before.get(name)]
    assert grown[0].endswith(".jsonl") and grown[1:] == ["siren-sync.json.tmp"]  # and the new root's temp
    with Store(seeded, readonly=True) as reader:  # past the committed length: never read
        assert reader.table(AGG) == {"aggregate": {"events": 3}}
    with caplog.at_level(logging.WARNING), Store(seeded) as store:
        assert files_under(seeded.parent) == before
        assert store.table(AGG) == {"aggregate": {"events": 3}}
    assert f"{grown[0].split('/')[-1]}: cutting an unfinished write back" in caplog.text
