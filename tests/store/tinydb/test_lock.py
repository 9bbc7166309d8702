"""One writer per TinyDB store: a flock on `<store>.lock` naming its holder's pid."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from siren_sync.errors import StoreLockedError
from siren_sync.store import Store
from siren_sync.store.tinydb.lock import ProcessLock
from tests.store.helpers import run_python


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
