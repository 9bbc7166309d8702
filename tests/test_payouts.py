"""Obligations as payouts (siren_sync/payouts.py): Siren's CSV (its columns, in its order), a
collaborator no longer configured shown as Siren does, the file written whole, and marking paid
exactly the pending obligations that were exported."""
from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from siren_sync import history, payouts
from siren_sync.model import Collaborator, Obligation
from siren_sync.tables import obligations_table
from tests.support.ledgers import close, credit, make_ledger, sale

END = datetime(2026, 12, 1, tzinfo=UTC)
ALICE = Collaborator(id="alice", name="Alice Martin", email="alice@example.com")
BRUNO = Collaborator(id="bruno", name="Costa, Bruno", email="bruno@example.com")
PAID_AT = "2026-12-02T09:00:00+00:00"


def owed(who: str, amount: str, units: str = "USD") -> Obligation:
    return Obligation("pool-20261201t0000", who, Decimal(amount), units, Decimal(1), END)


def rows(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_the_csv_has_sirens_columns_in_sirens_order():
    assert payouts.csv_text([], {}).splitlines() == [
        "Payout ID,Collaborator Email,Collaborator Name,Collaborator ID,Currency,Value"]


def test_each_obligation_is_one_row_with_its_id_person_currency_and_value():
    text = payouts.csv_text([owed("alice", "30.00"), owed("bruno", "1250", units="JPY")],
                            {"alice": ALICE, "bruno": BRUNO})
    assert rows(text)[1:] == [
        ["pool-20261201t0000:alice", "alice@example.com", "Alice Martin", "alice", "USD", "30.00"],
        ["pool-20261201t0000:bruno", "bruno@example.com", "Costa, Bruno", "bruno", "JPY", "1250"]]
    assert '"Costa, Bruno"' in text  # quoted, so the name stays one column


def test_a_collaborator_no_longer_configured_is_deleted_in_email_and_name():
    [_, row] = rows(payouts.csv_text([owed("gone", "5.00")], {"alice": ALICE}))
    assert row == ["pool-20261201t0000:gone", "<deleted>", "<deleted>", "gone", "USD", "5.00"]


def test_the_file_is_written_whole_over_an_older_one(tmp_path: Path):
    path = tmp_path / "payouts.csv"
    path.write_text("an older export, longer than the new one " * 10)
    payouts.write_atomically(path, "Payout ID\n")
    assert path.read_text() == "Payout ID\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["payouts.csv"]


def test_a_file_that_cannot_be_written_is_an_error_and_leaves_nothing(tmp_path: Path):
    with pytest.raises(OSError):
        payouts.write_atomically(tmp_path / "missing-folder" / "payouts.csv", "Payout ID\n")
    assert list(tmp_path.iterdir()) == []


@pytest.fixture
def closed(store):
    """November closed: alice 30.00, bruno 10.00, both pending."""
    ledger = make_ledger(store)
    ledger.record([credit("alice", 3), credit("bruno", 1), sale("s", "40.00")])
    [made] = close(ledger)
    return store, made


def statuses(store, dist_id: str) -> dict[str, tuple[str, str | None]]:
    return {who: (doc.get("status", "pending"), doc.get("paid_at"))
            for who, doc in store.table(obligations_table(dist_id)).items()}


def test_mark_paid_marks_only_the_obligations_given(closed):
    store, made = closed
    alice = next(o for o in made.obligations if o.collaborator == "alice")
    assert payouts.mark_paid(store, [alice], PAID_AT) == 1
    assert statuses(store, made.id) == {"alice": ("paid", PAID_AT), "bruno": ("pending", None)}
    assert [o.collaborator for o in history.obligations(store, status="pending")] == ["bruno"]


def test_mark_paid_leaves_an_obligation_that_is_no_longer_pending(closed):
    store, made = closed
    assert payouts.mark_paid(store, list(made.obligations), PAID_AT) == 2
    assert payouts.mark_paid(store, list(made.obligations), "2027-01-01T00:00:00+00:00") == 0
    assert statuses(store, made.id) == {"alice": ("paid", PAID_AT), "bruno": ("paid", PAID_AT)}


def test_mark_paid_ignores_an_obligation_the_store_does_not_have(closed):
    store, made = closed
    assert payouts.mark_paid(store, [owed("carol", "9.99")], PAID_AT) == 0
    assert statuses(store, made.id) == {"alice": ("pending", None), "bruno": ("pending", None)}


def test_a_marked_obligation_keeps_its_amount_and_score(closed):
    store, made = closed
    payouts.mark_paid(store, list(made.obligations), PAID_AT)
    assert [(o.collaborator, o.amount, o.score, o.status, o.paid_at) for o in history.obligations(store)] == [
        ("alice", Decimal("30.00"), Decimal(3), "paid", PAID_AT), ("bruno", Decimal("10.00"), Decimal(1), "paid",
                                                                  PAID_AT)]
