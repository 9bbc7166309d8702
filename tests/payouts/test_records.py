"""Fulfillments read back from the store (payouts/records.py): ids, claims, history, the change count."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from siren_sync.engine.balances import Claim
from siren_sync.model import Fulfillment, Payout
from siren_sync.payouts import records
from siren_sync.tables import FULFILLMENTS, payouts_table

AS_OF = datetime(2026, 12, 1, 23, 30, tzinfo=UTC)


def put(store, ident, status="open", excepted=(), paid_at=None, cancelled_at=None, who=("alice", "bob")):
    f = Fulfillment(ident, AS_OF, AS_OF, "siren", ("p.csv",), {"USD": Decimal("2.00")}, len(who), len(who),
                    status=status, excepted=tuple(excepted), paid_at=paid_at, cancelled_at=cancelled_at)
    with store.transaction() as tx:
        tx.put(FULFILLMENTS, ident, f.to_record())
        tx.put_many(payouts_table(ident), {str(n): Payout(ident, c, "USD", Decimal("1.00"), (f"d:{c}",), ("d",))
                                           .to_record() for n, c in enumerate(who, 1)})


def test_ids_count_per_as_of_day_in_utc_cancelled_ones_too(store):
    assert records.next_id(store, AS_OF) == "F20261201-1"
    put(store, "F20261201-1", status="cancelled", cancelled_at=AS_OF)
    put(store, "F20261201-2")
    assert records.next_id(store, AS_OF) == "F20261201-3"
    assert records.next_id(store, datetime(2026, 12, 2, 0, 30, tzinfo=UTC)) == "F20261202-1"
    # the as-of date in UTC: 20:00 in New York on the 1st is already the 2nd
    from zoneinfo import ZoneInfo
    assert records.next_id(store, datetime(2026, 12, 1, 20, tzinfo=ZoneInfo("America/New_York"))) == "F20261202-1"


def test_claims_and_history(store):
    put(store, "F20261201-1", status="cancelled", cancelled_at=AS_OF)
    put(store, "F20261201-2", status="complete", paid_at=AS_OF, excepted=("bob",))
    put(store, "F20261201-3", who=("bob",))
    assert records.claims(store) == {"d:alice": Claim("F20261201-2", "paid", AS_OF),
                                     "d:bob": Claim("F20261201-3", "processing")}
    assert [(f.id, c.state) for f, c in records.holders(store, "d:bob")] == [
        ("F20261201-1", "returned"), ("F20261201-2", "returned"), ("F20261201-3", "processing")]
    assert [p.id for p in records.payouts_of(store, "F20261201-2")] == ["F20261201-2:alice", "F20261201-2:bob"]


def test_a_change_counts_once_and_refuses_a_stale_view(store):
    seen = records.serial(store)
    with store.transaction() as tx:
        records.bump_serial(tx, seen)
    assert records.serial(store) == seen + 1
    with pytest.raises(records.FulfillmentsChanged), store.transaction() as tx:
        records.bump_serial(tx, seen)
    assert records.serial(store) == seen + 1
