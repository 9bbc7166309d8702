"""The store contract (`siren_sync/store/protocol.py`), run on every backend of `backends.BACKENDS`.

Atomic commit under a crash point, idempotent event keys, readers that see only committed state,
writers that take turns (waiting for each other, never losing each other's commits), one leader
at a time, and recovery after a process killed in the middle of a commit.
"""
from __future__ import annotations

import json
import os
import signal
import time

import pytest

from siren_sync.errors import StoreError
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
    (OSError(28, "No space left on device"), StoreError, "No space left.*; the last committed state is intact"),
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
        assert store.event_counts() == {"2026-11": 2, "2026-12": 1}
    with backend.store(readonly=True) as reader:
        assert reader.event_counts() == {"2026-11": 2, "2026-12": 1}
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
        assert reader.event_counts() == {}
        assert reader.known(["woo:sale:0"]) == set() and reader.get("cursors", "woocommerce") is None


# -- writers take turns ---------------------------------------------------------------------

def test_a_writer_waits_for_another_process_s_transaction_and_reads_its_commit(backend: Backend, seeded_state: dict):
    with backend.store() as writer:
        tx = writer.transaction()
        tx.put("cursors", "woocommerce", {"by": "the first writer"})
        child = backend.start_child("""
            import json, time
            store = backend.store().open()
            print("waiting", flush=True)
            started = time.monotonic()
            with store.transaction() as tx:
                seen = tx.get("cursors", "woocommerce")
                tx.put("cursors", "other", {"n": 1})
            print(json.dumps({"waited": time.monotonic() - started, "seen": seen}))
        """)
        assert child.stdout.readline().strip() == "waiting", child.stderr.read()
        time.sleep(1.0)
        tx.commit()
        out, err = child.communicate(timeout=60)
    result = json.loads(out)
    assert result["seen"] == {"by": "the first writer"}, err  # read under the lock: never a lost update
    assert result["waited"] >= 0.5
    with backend.store(readonly=True) as reader:
        assert reader.get("cursors", "other") == {"n": 1}


def test_two_writers_racing_lose_nothing(backend: Backend, seeded_state: dict):
    racer = """
        import sys
        store = backend.store().open()
        for i in range(25):
            with store.transaction() as tx:
                count = tx.get("counters", "n", {"n": 0})["n"]
                tx.put("counters", "n", {"n": count + 1})
                tx.append_events("race", [{"key": f"{sys.argv[0]}:{i}:%s"}])
        store.close()
    """
    children = [backend.start_child(racer % name) for name in ("a", "b")]
    for child in children:
        _, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
    with backend.store(readonly=True) as reader:
        assert reader.get("counters", "n") == {"n": 50}
        assert reader.event_count("race") == 50 and len({e["key"] for e in reader.events("race")}) == 50


def test_a_writer_kept_waiting_too_long_is_told_who_writes(backend: Backend, seeded_state: dict):
    with backend.store() as writer, writer.transaction():
        other = backend.run_child("""
            from siren_sync.errors import StoreLockedError
            store = backend.store().open()
            store.write_wait = 0.5
            try:
                store.transaction()
            except StoreLockedError as exc:
                print(exc)
        """)
    assert "is being written by another siren-sync process" in other.stdout, other.stderr
    assert f"pid {os.getpid()}" in other.stdout and "still busy after" in other.stdout
    with backend.store(readonly=True) as reader:  # readers are welcome all along
        assert state(reader) == seeded_state


def test_one_transaction_at_a_time_per_store(backend: Backend, seeded_state: dict):
    with backend.store() as writer, writer.transaction():
        with pytest.raises(RuntimeError, match="already open"):
            writer.transaction()


# -- one leader -----------------------------------------------------------------------------

def test_one_leader_at_a_time_and_writers_beside_it(backend: Backend, seeded_state: dict):
    ask = """
        store = backend.store().open()
        leader = store.leader()
        print(leader.acquire(), leader.waits)
        print(leader.holder())
        with store.transaction() as tx:
            tx.put("cursors", "credit", {"by": "a command beside the leader"})
        store.close()
    """
    with backend.store() as first:
        leader = first.leader()
        assert leader.acquire() and leader.held() and leader.acquire()  # acquiring again is harmless
        other = backend.run_child(ask)
        refused, waits = other.stdout.splitlines()[0].split()
        assert refused == "False" and waits == str(leader.waits), other.stderr
        assert f"pid {os.getpid()}" in other.stdout.splitlines()[1]  # names the leader
        first.refresh()
        assert first.get("cursors", "credit") == {"by": "a command beside the leader"}
        leader.release()
        assert not leader.held()
        assert backend.run_child(ask).stdout.startswith("True")
    with backend.store() as again:  # and a leader that closed its store let go too
        assert again.leader().acquire()


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
