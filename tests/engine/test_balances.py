"""The payout rules (engine/balances.py): payable times, statuses, balances and the minimum."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siren_sync.engine.balances import Claim, Settling, due, payable_at, settle, settle_all, status_of, totals
from siren_sync.model import Obligation

EARNED = datetime(2026, 11, 1, tzinfo=UTC)
PAID = datetime(2026, 11, 20, 9, 30, tzinfo=UTC)


def owed(who: str = "alice", amount: str = "10.00", units: str = "USD", status: str = "pending",
         hold: timedelta = timedelta(0), origin: str = "d1", key: str = "") -> Obligation:
    return Obligation(origin, who, Decimal(amount), units, Decimal(1), EARNED, status=status,
                      payable_at=payable_at(EARNED, hold), key=key)


def test_payable_at_is_the_earned_time_plus_the_hold_as_an_exact_duration():
    assert payable_at(EARNED, timedelta(0)) is None  # no hold: payable when earned
    assert payable_at(EARNED, timedelta(days=30)) == datetime(2026, 12, 1, tzinfo=UTC)
    # across the end of summer time the hold is exact (30 x 24 h), shown in the earned time's zone
    paris = datetime(2026, 10, 20, tzinfo=ZoneInfo("Europe/Paris"))
    later = payable_at(paris, timedelta(days=30))
    assert later is not None and later.astimezone(UTC) - paris.astimezone(UTC) == timedelta(days=30)
    assert later.isoformat() == "2026-11-18T23:00:00+01:00"


@pytest.mark.parametrize("stored, claim, ready, expected", [
    ("pending", None, False, ("pending", None, None)),
    ("pending", None, True, ("payable", None, None)),
    ("pending", Claim("F1", "processing"), True, ("processing", "F1", None)),
    ("pending", Claim("F1", "paid", PAID), True, ("paid", "F1", "2026-11-20T09:30:00+00:00")),
    ("pending", Claim("F1", "returned"), True, ("payable", None, None)),  # cancelled or excepted
    ("pending", Claim("F1", "returned"), False, ("pending", None, None)),
    ("draft", None, True, ("draft", None, None)),
    ("rejected", None, True, ("rejected", None, None)),
    ("paid", None, True, ("paid", None, None)),  # a first-wave `--mark-paid` stays paid
    ("cancelled", None, True, ("rejected", None, None)),  # the first wave's word for it
])
def test_status_of(stored, claim, ready, expected):
    assert status_of(stored, claim, ready) == expected


def test_settle_uses_the_as_of_time_as_the_clock_of_the_hold():
    o = owed(hold=timedelta(days=7))
    assert settle(o, None, EARNED + timedelta(days=6)).status == "pending"
    assert settle(o, None, EARNED + timedelta(days=7)).status == "payable"
    paid = settle(o, Claim("F1", "paid", PAID), EARNED)
    assert (paid.status, paid.fulfillment, paid.paid_at) == ("paid", "F1", "2026-11-20T09:30:00+00:00")
    legacy = owed(status="paid")._replace(paid_at="2026-11-09T04:00:00+00:00")
    assert settle(legacy, None, EARNED) == legacy


def test_settle_all_finds_program_obligations_by_their_own_id():
    program = owed(origin="affiliates", key="affiliates:1042:alice")
    [settled] = settle_all([program], Settling({"affiliates:1042:alice": Claim("F2", "processing")}, EARNED))
    assert (settled.status, settled.fulfillment) == ("processing", "F2")


def test_totals_by_status_balance_and_next_payable():
    hold = timedelta(days=30)
    rows = settle_all([owed("alice", "30.00"), owed("alice", "5.00", hold=hold, origin="d2"),
                       owed("alice", "-4.00", hold=hold, origin="d3"), owed("alice", "7", units="points"),
                       owed("bob", "10.00", status="draft"), owed("bob", "2.50", status="rejected")],
                      Settling({}, EARNED + timedelta(days=1)))
    got = {(t.collaborator, t.units): t for t in totals(rows, {"USD": 2, "points": 0})}
    alice = got[("alice", "USD")]
    assert {k: str(v) for k, v in alice.by_status.items()} == {
        "draft": "0.00", "pending": "1.00", "payable": "30.00", "processing": "0.00", "paid": "0.00",
        "rejected": "0.00"}
    # payable plus the unsettled negative (a clawback counts at once, whatever its hold)
    assert str(alice.balance) == "26.00"
    assert alice.next_payable_at == EARNED + hold
    assert str(got[("alice", "points")].balance) == "7" and str(got[("bob", "USD")].balance) == "0.00"
    assert str(got[("bob", "USD")].by_status["draft"]) == "10.00"
    assert list(got) == [("alice", "USD"), ("alice", "points"), ("bob", "USD")]


def test_due_pays_a_balance_that_reaches_the_minimum_and_nothing_else():
    rows = settle_all([owed("alice", "30.00"), owed("alice", "-5.00", origin="d2"), owed("bob", "9.99"),
                       owed("carol", "-3.00"), owed("dan", "0.50", units="points"), owed("erin", "1.00"),
                       owed("erin", "-1.00", origin="d2")], Settling({}, EARNED))
    paid, waiting = due(rows, {"USD": Decimal("10.00")})
    assert [(d.collaborator, d.units, str(d.amount), len(d.obligations)) for d in paid] == [
        ("alice", "USD", "25.00", 2), ("dan", "points", "0.50", 1)]  # no minimum for points: any positive
    assert [(d.collaborator, str(d.amount)) for d in waiting] == [("bob", "9.99"), ("carol", "-3.00"),
                                                                  ("erin", "0.00")]


def test_due_leaves_out_what_is_not_in_a_balance():
    rows = settle_all([owed("alice", "30.00", hold=timedelta(days=9)), owed("alice", "8.00", origin="d2")],
                      Settling({"d2:alice": Claim("F1", "processing")}, EARNED))
    assert due(rows, {}) == ([], [])


amounts = st.decimals(min_value=Decimal("-50.00"), max_value=Decimal("100.00"), places=2)


@given(st.lists(st.tuples(st.sampled_from(["a", "b", "c"]), amounts), max_size=30),
       st.decimals(min_value=Decimal("0.00"), max_value=Decimal("60.00"), places=2))
def test_what_is_paid_plus_what_waits_is_every_balance_to_the_cent(rows, minimum):
    obligations = [owed(who, str(amount), origin=f"d{i}") for i, (who, amount) in enumerate(rows)]
    settled = settle_all(obligations, Settling({}, EARNED))
    paid, waiting = due(settled, {"USD": minimum})
    balances = {t.collaborator: t.balance for t in totals(settled, {"USD": 2})}
    assert {d.collaborator: d.amount for d in paid + waiting} == {k: v for k, v in balances.items()
                                                                  if any(o.collaborator == k for o in settled)}
    assert all(d.amount >= minimum and d.amount > 0 for d in paid)
    assert all(d.amount < minimum or d.amount <= 0 for d in waiting)
