"""commissions.py, the money half of programs (DESIGN sections 7 and 8): refunds, cancellations,
clawbacks and renewals as a user sees them in amounts, to the cent, in every unit."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

from siren_sync import commissions
from siren_sync.model import Event
from tests.test_commissions import CREATED, LATER, PAID, Shop, order, program, refund, value


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
