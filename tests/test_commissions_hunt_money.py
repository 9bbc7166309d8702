"""commissions.py, the money half of programs (DESIGN sections 7 and 8): refunds, cancellations,
clawbacks and renewals as a user sees them in amounts, to the cent, in every unit."""
from __future__ import annotations

from dataclasses import replace as dataclass_replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from siren_sync import commissions
from siren_sync.model import Event
from tests.test_commissions import CREATED, LATER, PAID, PEOPLE, Shop, order, program, refund, value


def _cancel(oid=7, total="100.00", rest="100.00", at=CREATED + timedelta(days=3)):
    return Event(key=f"woocommerce:cancel:{oid}", type="sale", at=at, order=value(total), order_id=oid,
                 share=-Fraction(Decimal(rest)) / Fraction(Decimal(total)), source="woocommerce")


def _net(shop, as_of=LATER + timedelta(days=60)):
    """Per collaborator, what the rewards and clawbacks not rejected add up to."""
    sums: dict[str, Decimal] = {}
    for o in commissions.obligations(shop.store):
        if o.status != "rejected":
            sums[o.collaborator] = sums.get(o.collaborator, Decimal(0)) + o.amount
    return sums


# -- a refund and its sale in the same sync ------------------------------------------------------------

def test_a_refund_made_the_second_the_order_was_paid_reduces_its_reward(store):
    """WooCommerce times are whole seconds: a payment refunded at once (a gateway's fraud check)
    has its refund at the payment's time. Both come in one sync, so the refund must be taken from
    the reward the sale writes, never lost (the refund's key sorts before the sale's)."""
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"), refund(55, "40.00", at=PAID))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("15.00"), "payable")}


def test_a_full_refund_dated_before_the_payment_in_the_same_sync_rejects_the_reward(store):
    """An order refunded while on hold and completed afterwards: WooCommerce sets its payment time
    at the completion, after the refund. The refund still takes the reward back."""
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"), refund(55, "100.00", at=PAID - timedelta(minutes=1)))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected")}


def test_a_cancellation_at_the_payment_s_second_nets_the_order_to_zero(store):
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"), _cancel(at=PAID))
    assert _net(shop) == {}


# -- renewals ----------------------------------------------------------------------------------------

def _renewal(oid, days, total="80.00"):
    return order(oid=oid, total=total, visitor=None, renewal_of=7, at=PAID + timedelta(days=days))


def test_a_renewal_pays_no_collaborator_who_is_no_longer_active(store):
    """Only active collaborators earn (DESIGN section 3): alice, deactivated after the first order,
    earns nothing on its renewals."""
    shop = Shop(store, program(renewals=True))
    shop.record(*order(coupon="alice"))
    inactive = {**PEOPLE, "alice": dataclass_replace(PEOPLE["alice"], status="inactive")}
    shop.ledger.record(_renewal(20, 7))
    commissions.reward(store, shop.programs, inactive, LATER)
    assert list(shop.docs()) == ["affiliates:7:alice"]


def test_renewals_n_stops_after_n_renewals_read_in_one_sync(store):
    shop = Shop(store, program(renewals=2))
    shop.record(*order(coupon="alice"))
    shop.record(*_renewal(20, 7), *_renewal(21, 14), *_renewal(22, 21))
    assert sorted(shop.docs()) == ["affiliates:20:alice", "affiliates:21:alice", "affiliates:7:alice"]


def test_a_renewal_pays_nobody_whose_paid_first_order_was_then_fully_refunded(store, tmp_path):
    """Whether the first order's reward was paid before its full refund (a clawback) or not (rejected),
    it was taken back: its renewals pay nobody either way."""
    shop = Shop(store, program(renewals=True))
    shop.record(*order(coupon="alice"))
    shop.pay(tmp_path)
    shop.record(refund(1, "100.00", at=LATER + timedelta(hours=1)))
    assert _net(shop) == {"alice": Decimal("0.00")}
    shop.record(*_renewal(20, 14))
    assert sorted(shop.docs()) == ["affiliates:7:alice", "affiliates:7:alice:refund:1"]
