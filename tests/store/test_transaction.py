"""The transaction every backend shares: a buffer of changes handed to `Store.apply` once.

First on a store that offers only what a transaction may use (`get`, `known`, `apply`), then
through the TinyDB store.
"""
from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from siren_sync.store import Store
from siren_sync.store.names import key_digest
from siren_sync.store.protocol import Changes
from siren_sync.store.transaction import BufferedTransaction
from tests.store.helpers import AGG, CURSOR, events


class CommittedOnly:
    """A store with nothing but a transaction's side of the protocol: a call to anything else fails."""

    def __init__(self, docs: dict[str, dict[str, dict]] | None = None, keys: Iterable[str] = ()):
        self.docs = docs or {}
        self.keys = set(keys)
        self.applied: list[Changes] = []

    def get(self, table: str, key: str, default: Any = None) -> Any:
        return self.docs.get(table, {}).get(key, default)

    def known(self, keys: Iterable[str]) -> set[str]:
        return set(keys) & self.keys

    def apply(self, changes: Changes) -> None:
        self.applied.append(changes)


def transaction(**committed: Any) -> tuple[BufferedTransaction, CommittedOnly]:
    store = CommittedOnly(**committed)
    return BufferedTransaction(store), store  # type: ignore[arg-type]


# -- the buffer -----------------------------------------------------------------------------

def test_commit_hands_every_change_to_apply_once():
    tx, store = transaction(keys=["old"])
    tx.put("cursors", "woocommerce", CURSOR)
    tx.delete(AGG, "gone")
    tx.append_events("2026-11", [{"key": "b", "n": 1}, {"key": "a", "é": "ü"}])
    tx.append_events("2026-12", [{"key": "c"}])
    tx.append_events("2026-11", [{"key": "d"}])
    assert store.applied == []  # nothing reaches the store before the commit
    tx.commit()
    assert store.applied == [Changes(
        documents={"cursors": {"woocommerce": CURSOR}, AGG: {"gone": None}},
        events={"2026-11": [b'{"key":"b","n":1}\n', '{"key":"a","é":"ü"}\n'.encode(), b'{"key":"d"}\n'],
                "2026-12": [b'{"key":"c"}\n']},
        keys={key_digest(k): k for k in "bacd"})]
    assert list(store.applied[0].keys.values()) == ["b", "a", "c", "d"]  # in the order appended
    assert tx.finished


def test_a_transaction_that_changed_nothing_applies_nothing():
    tx, store = transaction()
    tx.append_events("2026-11", [])
    tx.commit()
    assert store.applied == [] and tx.finished
    assert not Changes() and Changes(documents={"t": {"k": None}}) and Changes(events={"b": [b"{}\n"]})


def test_put_many_of_no_documents_changes_nothing():
    """A caller with nothing to put (a programs poll without new visits) must not make a commit, or a
    partition's rewrite or journal line, of nothing."""
    tx, store = transaction()
    tx.put_many("programs/visits", {})
    tx.commit()
    assert store.applied == []
    tx, store = transaction()
    tx.put_many("programs/visits", {})
    tx.put("t", "k", {"n": 1})
    tx.commit()
    assert list(store.applied[0].documents) == ["t"]


def test_put_copies_and_put_many_takes_the_documents_as_they_are():
    tx, store = transaction()
    doc = {"nested": {"n": 1}}
    tx.put("t", "copied", doc)
    many = {"a": {"n": 1}, "b": {"n": 2}}
    tx.put_many("obligations/d1", many)
    doc["nested"]["n"] = 2
    tx.commit()
    documents = store.applied[0].documents
    assert documents["t"]["copied"] == {"nested": {"n": 1}}
    assert all(documents["obligations/d1"][key] is many[key] for key in many)


@pytest.mark.parametrize("change, error", [
    (lambda tx: tx.put("t", "k", [1]), "t k: a document is a JSON object, not list"),
    (lambda tx: tx.put("t", "", {}), "bad document key ''"),
    (lambda tx: tx.put("", "k", {}), "bad table name ''"),
    (lambda tx: tx.put_many("t", {"ok": {}, "k": [1]}), "t k: a document is a JSON object, not list"),
    (lambda tx: tx.put_many("t", {"ok": {}, "": {}}), "bad document key ''"),
    (lambda tx: tx.put_many("t", {"ok": {}, 1: {}}), "bad document key 1"),
    (lambda tx: tx.put_many("_t", {}), "bad table name '_t'"),
    (lambda tx: tx.delete("t", None), "bad document key None"),
    (lambda tx: tx.append_events("a/b", []), "bad event bucket 'a/b'"),
])
def test_bad_names_and_documents_are_refused_and_change_nothing(change: Any, error: str):
    tx, store = transaction()
    with pytest.raises(ValueError, match=error):
        change(tx)
    tx.commit()
    assert store.applied == []


def test_get_sees_this_transactions_changes_on_top_of_the_committed_ones_and_hands_out_copies():
    committed = {"cursors": {"woocommerce": CURSOR, "lms": {"after": "x"}}}
    tx, _ = transaction(docs=committed)
    assert tx.get("cursors", "lms") == {"after": "x"} and tx.get("cursors", "lms") is not committed["cursors"]["lms"]
    tx.get("cursors", "lms")["after"] = "changed"
    assert committed["cursors"]["lms"] == {"after": "x"}
    tx.delete("cursors", "woocommerce")
    tx.put("cursors", "new", {"n": 1})
    assert tx.get("cursors", "woocommerce") is None and tx.get("cursors", "woocommerce", "gone") == "gone"
    assert tx.get("cursors", "new") == {"n": 1} and tx.get("nope", "x", {"d": 1}) == {"d": 1}


def test_known_is_the_committed_keys_and_this_transactions():
    tx, _ = transaction(keys=["a"])
    tx.append_events("b1", [{"key": "b"}])
    assert tx.known(iter(["a", "b", "c"])) == {"a", "b"}


@pytest.mark.parametrize("records, error", [
    ([{"key": "new"}, {"key": "a"}, {"type": "no key"}], "'a' is already recorded"),
    ([{"key": "new"}, {"type": "no key"}, {"key": "a"}], "without a string 'key'"),
    ([{"key": "x"}, {"key": "x"}, {"key": "a"}], "'x' appears twice"),
    ([{"key": "b"}], "'b' is already recorded"),  # appended earlier in this transaction
    ([{"key": "x", "amount": Decimal("1")}, {"key": "a"}], "'x' is not plain JSON"),
    ([["key", "x"]], "without a string 'key'"),
    ([{"key": ""}], "without a string 'key'"),
])
def test_a_bad_batch_appends_nothing_and_names_its_first_bad_record(records: list, error: str):
    tx, store = transaction(keys=["a"])
    tx.append_events("b1", [{"key": "b"}])
    with pytest.raises(ValueError, match=error):
        tx.append_events("b1", records)
    tx.commit()
    assert store.applied[0].events == {"b1": [b'{"key":"b"}\n']} and list(store.applied[0].keys.values()) == ["b"]


def test_a_finished_transaction_refuses_changes():
    for finish in ("commit", "discard"):
        tx, store = transaction()
        getattr(tx, finish)()
        assert tx.finished
        for change, args in ((tx.put, ("t", "k", {})), (tx.put_many, ("t", {})), (tx.delete, ("t", "k")),
                             (tx.append_events, ("b", [])), (tx.commit, ())):
            with pytest.raises(RuntimeError, match="already finished"):
                change(*args)
        tx.discard()  # discarding twice is harmless
        assert store.applied == []


def test_a_failed_apply_finishes_the_transaction():
    tx, store = transaction()

    def fail(changes: Changes) -> None:
        raise OSError("disk full")

    store.apply = fail  # type: ignore[method-assign]
    tx.put("t", "k", {})
    with pytest.raises(OSError, match="disk full"):
        tx.commit()
    assert tx.finished


def test_with_commits_on_a_clean_exit_and_discards_on_an_exception():
    tx, store = transaction()
    with tx:
        tx.put("t", "k", {})
    assert len(store.applied) == 1
    tx, store = transaction()
    with pytest.raises(KeyError):
        with tx:
            tx.put("t", "k", {})
            raise KeyError("boom")
    assert store.applied == [] and tx.finished


# -- through the TinyDB store ---------------------------------------------------------------

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


def test_one_transaction_at_a_time(store_path: Path):
    with Store(store_path) as store:
        with store.transaction():
            with pytest.raises(RuntimeError, match="already open"):
                store.transaction()


def test_bad_input_is_refused(store_path: Path):
    with Store(store_path) as store, store.transaction() as tx:
        with pytest.raises(ValueError, match="table"):
            tx.put("_meta", "store", {})
        with pytest.raises(ValueError, match="not plain JSON"):
            tx.put("periods", "x", {"amount": Decimal("1.00")})
        with pytest.raises(ValueError, match="bucket"):
            tx.append_events("../escape", events(0, 1))
        with pytest.raises(ValueError, match="key"):
            tx.append_events("2026-11", [{"type": "sale"}])


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
