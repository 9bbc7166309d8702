"""The store contract (`siren_sync/store/protocol.py`), run on every backend of `backends.BACKENDS`.

Atomic commit under a crash point, idempotent event keys, readers that see only committed state,
one writer at a time, and recovery after a process killed in the middle of a commit.
"""
from __future__ import annotations

import os
import signal

import pytest

from siren_sync.errors import StoreError, StoreLockedError
from siren_sync.store.protocol import Changes
from tests.store.backends import Backend, kill_mid_commit
from tests.store.helpers import AGG, CURSOR, change_everything, events, seed, state


@pytest.fixture
def seeded_state(backend: Backend) -> dict:
    """Seed the backend's store; returns its state as a reader sees it."""
    with backend.store() as store:
        seed(store)
    with backend.store(readonly=True) as reader:
        return state(reader)


def test_seeded_state_is_what_was_committed(backend: Backend, seeded_state: dict):
    seeded = seeded_state
    assert seeded["cursor"] == CURSOR and seeded["aggregate"] == {"aggregate": {"revenue": "24.00", "events": 2}}
    assert seeded["tables"] == [AGG, "cursors"] and seeded["events"] == {"2026-11": events(0, 2)}
    assert seeded["known"] == ["woo:sale:0", "woo:sale:1"] and seeded["count"] == 2


# -- atomic commit --------------------------------------------------------------------------

@pytest.mark.parametrize("error, raised, message", [
    (RuntimeError("power cut"), RuntimeError, "power cut"),
    (OSError(28, "No space left on device"), StoreError, "could not be written .*No space left.*; "
                                                         "the last committed state is intact"),
])
def test_a_commit_failing_at_any_point_leaves_the_last_committed_state(
        backend: Backend, seeded_state: dict, error: BaseException, raised: type, message: str):
    def crash() -> None:
        raise error

    with backend.store() as store:
        for point in backend.crash_points:
            with pytest.MonkeyPatch.context() as patch:
                backend.crash_at(patch, point, crash)
                with pytest.raises(raised, match=message):
                    with store.transaction() as tx:
                        change_everything(tx)
            assert state(store) == seeded_state, point  # the writer, in memory
            with backend.store(readonly=True) as reader:
                assert state(reader) == seeded_state, point  # what is committed
        with store.transaction() as tx:  # and the store goes on
            change_everything(tx)
        changed = state(store)
    with backend.store() as store:
        assert state(store) == changed
    assert changed["cursor"] == {"changed": True} and changed["count"] == 57
    assert changed["known"] == sorted(f"woo:sale:{i}" for i in [*range(52), *range(100, 105)])


def test_a_document_that_is_not_json_fails_the_whole_commit(backend: Backend, seeded_state: dict):
    with backend.store() as store:
        with pytest.raises(TypeError):
            with store.transaction() as tx:
                change_everything(tx)
                tx.put_many("obligations/d1", {"c": {"amount": object()}})  # taken as is, refused at commit
        assert state(store) == seeded_state
    with backend.store(readonly=True) as reader:
        assert state(reader) == seeded_state and reader.table("obligations/d1") == {}


def test_a_transaction_that_changes_nothing_commits_nothing(backend: Backend, seeded_state: dict):
    with backend.store() as store:
        with store.transaction():
            pass
        with store.transaction() as tx:
            tx.append_events("2026-12", [])
        assert state(store) == seeded_state


# -- idempotent keys ------------------------------------------------------------------------

def test_a_recorded_key_is_known_and_cannot_be_appended_again(backend: Backend, seeded_state: dict):
    with backend.store() as store:
        assert store.known(["woo:sale:0", "woo:sale:9"]) == {"woo:sale:0"}
        with store.transaction() as tx:
            with pytest.raises(ValueError, match="'woo:sale:1' is already recorded"):
                tx.append_events("2026-12", events(1, 2))
            tx.append_events("2026-12", events(2, 1))
            assert tx.known(iter(["woo:sale:1", "woo:sale:2", "woo:sale:3"])) == {"woo:sale:1", "woo:sale:2"}
            assert store.known(["woo:sale:2"]) == set()  # not committed yet
            with pytest.raises(ValueError, match="'woo:sale:2' is already recorded"):
                tx.append_events("2027-01", events(2, 1))
            with pytest.raises(ValueError, match="'woo:sale:5' appears twice"):
                tx.append_events("2027-01", events(5, 1) + events(5, 1))
        assert store.event_count() == 3 and store.buckets() == ["2026-11", "2026-12"]
    with backend.store(readonly=True) as reader:
        assert reader.known(f"woo:sale:{i}" for i in range(6)) == {"woo:sale:0", "woo:sale:1", "woo:sale:2"}
    with backend.store() as store, store.transaction() as tx:
        with pytest.raises(ValueError, match="already recorded"):
            tx.append_events("2027-01", events(2, 1))


# -- readers --------------------------------------------------------------------------------

def test_readers_see_only_committed_state_while_a_writer_has_a_transaction_open(backend: Backend, seeded_state: dict):
    with backend.store() as writer:
        with writer.transaction() as tx:
            change_everything(tx)
            with backend.store(readonly=True) as reader:
                assert state(reader) == seeded_state
            assert state(writer) == seeded_state  # the writer's own reads are committed ones too
        changed = state(writer)
        with backend.store(readonly=True) as reader:
            assert state(reader) == changed != seeded_state


def test_a_reader_cannot_write(backend: Backend, seeded_state: dict):
    with backend.store(readonly=True) as reader:
        with pytest.raises(StoreError, match="read-only"):
            reader.transaction()
        with pytest.raises(StoreError, match="read-only"):
            reader.apply(Changes(documents={"cursors": {"woocommerce": None}}))
        assert state(reader) == seeded_state


def test_a_reader_of_a_store_not_created_yet_reads_it_empty(backend: Backend):
    with backend.store(readonly=True) as reader:
        assert reader.tables() == [] and reader.buckets() == [] and reader.event_count() == 0
        assert reader.known(["woo:sale:0"]) == set() and reader.get("cursors", "woocommerce") is None


# -- one writer -----------------------------------------------------------------------------

def test_one_writer_at_a_time(backend: Backend, seeded_state: dict):
    with backend.store() as writer:
        other = backend.run_child("""
            from siren_sync.errors import StoreLockedError
            try:
                backend.store().open()
            except StoreLockedError as exc:
                print(exc)
        """)
        assert "in use by another siren-sync process" in other.stdout, other.stderr
        assert f"pid {os.getpid()}" in other.stdout  # the message names the holder
        with pytest.raises(StoreLockedError, match=f"pid {os.getpid()}"):
            backend.store().open()
        with backend.store(readonly=True) as reader:  # readers are welcome
            assert state(reader) == seeded_state
        with writer.transaction():
            with pytest.raises(RuntimeError, match="already open"):
                writer.transaction()
    with backend.store():  # released on close
        pass


def test_closing_the_store_finishes_its_transaction(backend: Backend, seeded_state: dict):
    store = backend.store().open()
    tx = store.transaction()
    tx.put("cursors", "woocommerce", {"changed": True})
    store.close()
    assert tx.finished
    with pytest.raises(RuntimeError, match="already finished"):
        tx.commit()
    with backend.store(readonly=True) as reader:
        assert state(reader) == seeded_state


# -- recovery -------------------------------------------------------------------------------

def test_a_process_killed_in_the_middle_of_a_commit_leaves_the_last_committed_state(
        backend: Backend, seeded_state: dict):
    for point in backend.crash_points:
        killed = kill_mid_commit(backend, point)
        assert killed.returncode == -signal.SIGKILL, (point, killed.stdout, killed.stderr)
        with backend.store() as store:  # the dead writer's lock is gone; opening recovers
            assert state(store) == seeded_state, point
    with backend.store() as store:
        with store.transaction() as tx:
            change_everything(tx)
        changed = state(store)
    with backend.store(readonly=True) as reader:
        assert state(reader) == changed and changed["count"] == 57


def test_events_read_from_a_start_skip_the_ones_before_it(backend: Backend, seeded_state: dict):
    with backend.store() as store:
        with store.transaction() as tx:
            tx.append_events("2026-11", events(2, 3))
        assert list(store.events("2026-11", 3)) == events(3, 2)
        assert list(store.events("2026-11", 5)) == [] and list(store.events("2026-11")) == events(0, 5)
