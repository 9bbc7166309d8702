"""The locks of a TinyDB store: `<store>.lock` (the leader's) and `<store>.write.lock` (a
transaction's), each a flock naming its holder's pid."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from siren_sync.errors import StoreLockedError
from siren_sync.store import Store
from siren_sync.store.tinydb.lock import ProcessLock
from tests.store.helpers import run_python


def test_a_second_leader_in_another_process_is_refused_naming_the_first(seeded: Path):
    with Store(seeded) as store:
        assert store.leader().acquire()
        other = run_python(f"""
            from siren_sync.store import Store
            with Store({str(seeded)!r}) as store:
                leader = store.leader()
                print(leader.acquire(), leader.waits)
                print(leader.holder())
        """, seeded.parent)
        assert other.stdout.splitlines() == ["False False", f"pid {os.getpid()}, lock {seeded}.lock"], other.stderr
    with Store(seeded) as store:  # released on close
        assert store.leader().acquire()


def test_a_second_leader_in_the_same_process_is_refused(seeded: Path):
    with Store(seeded) as first, Store(seeded) as second:
        assert first.leader().acquire()
        assert not second.leader().acquire()
        assert f"pid {os.getpid()}" in second.leader().holder()


def test_a_transaction_on_a_second_store_object_of_this_process_is_refused_at_once(seeded: Path):
    """Waiting for a lock this very process holds would wait forever."""
    with Store(seeded) as first, Store(seeded) as second, first.transaction():
        with pytest.raises(StoreLockedError, match=f"is being written by another siren-sync process "
                                                   f"\\(pid {os.getpid()}, lock .*write.lock\\)"):
            second.transaction()
    with Store(seeded) as second, second.transaction():  # released when the first one ended
        pass


def test_the_lock_file_names_its_holder_while_held(tmp_path: Path):
    lock = ProcessLock(tmp_path / "s.json.lock", tmp_path / "s.json")
    lock.acquire()
    assert (tmp_path / "s.json.lock").read_text() == f"{os.getpid()}\n"
    lock.release()
    assert (tmp_path / "s.json.lock").read_text() == ""
    lock.release()  # releasing twice is harmless
    other = ProcessLock(tmp_path / "s.json.lock", tmp_path / "s.json")
    other.acquire()
    other.release()


def test_a_holder_that_left_no_pid_is_named_unknown(tmp_path: Path):
    lock = ProcessLock(tmp_path / "s.json.lock", tmp_path / "s.json")
    lock.acquire()
    (tmp_path / "s.json.lock").write_text("")
    with pytest.raises(StoreLockedError, match=r"\(pid unknown, lock "):
        ProcessLock(tmp_path / "s.json.lock", tmp_path / "s.json").acquire()
    lock.release()
