"""commissions.py, the money half of programs (DESIGN sections 7 and 8): refunds, cancellations,
clawbacks and renewals as a user sees them in amounts, to the cent, in every unit."""
from __future__ import annotations

from dataclasses import replace as dataclass_replace
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from siren_sync import commissions
from siren_sync.model import Event, Line, OrderValue, Touch
from siren_sync.payouts import fulfillments
from tests.config.helpers import load
from tests.config.test_programs import with_program
from tests.test_commissions import CREATED, LATER, PAID, PEOPLE, Shop, order, program, refund, value


def _cancel(oid=7, total="100.00", rest="100.00", at=CREATED + timedelta(days=3)):
    return Event(key=f"woocommerce:cancel:{oid}", type="sale", at=at, order=value(total), order_id=oid,
                 share=-Fraction(Decimal(rest)) / Fraction(Decimal(total)), source="woocommerce")


def _net(shop):
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
    shop = Shop(store, program(renewals=None))
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
    shop = Shop(store, program(renewals=None))
    shop.record(*order(coupon="alice"))
    shop.pay(tmp_path)
    shop.record(refund(1, "100.00", at=LATER + timedelta(hours=1)))
    assert _net(shop) == {"alice": Decimal("0.00")}
    shop.record(*_renewal(20, 14))
    assert sorted(shop.docs()) == ["affiliates:7:alice", "affiliates:7:alice:refund:1"]


def test_a_renewal_that_earns_nothing_writes_no_reward_and_uses_up_no_renewal(store):
    """A renewal with a 100% recurring coupon is worth 0.00: it pays nothing, so it is not one of
    the `renewals: 1` that pay, and no 0.00 obligation shows in the overview."""
    shop = Shop(store, program(renewals=1))
    shop.record(*order(coupon="alice"))
    free = [dataclass_replace(e, order=OrderValue("USD", Decimal("0.00"), (Line("1", Decimal("60.00"), product_id=93),),
                                                   discount_total=Decimal("60.00")))
            if e.type == "sale" else e for e in _renewal(20, 7)]
    shop.record(*free)
    shop.record(*_renewal(21, 14))
    assert shop.owed(LATER + timedelta(days=30)) == {"affiliates:7:alice": (Decimal("25.00"), "payable"),
                                                      "affiliates:21:alice": (Decimal("20.00"), "payable")}


# -- every unit to its own minor unit ------------------------------------------------------------------

def _sold(ov, oid=7, coupon="alice", at=PAID):
    """The events of a paid order of value `ov` with alice's coupon, and a product owner per line
    whose product is 93 (alice) or 94 (bruno)."""
    events = [Event(key=f"woocommerce:sale:{oid}", type="sale", at=at, order=ov, order_id=oid, source="woocommerce",
                    touch=Touch(created_at=at - timedelta(minutes=5))),
              Event(key=f"woocommerce:boundCouponUsed:{oid}:{coupon}", type="boundCouponUsed", at=at,
                    collaborator=coupon, order_id=oid, source="woocommerce")]
    owner = {93: "alice", 94: "bruno"}
    return events + [Event(key=f"woocommerce:collaboratorProductSold:{oid}:{line.id}", type="collaboratorProductSold",
                           at=at, collaborator=owner[line.product_id], order_id=oid, source="woocommerce")
                     for line in ov.lines if line.product_id in owner]


def _refunded(ov, rid, amount, oid=7, at=CREATED + timedelta(days=2)):
    return Event(key=f"woocommerce:refund:{oid}:{rid}", type="sale", at=at, order=ov, order_id=oid,
                 share=-Fraction(Decimal(amount)) / Fraction(ov.total), source="woocommerce")


@pytest.mark.parametrize("units, exponent, currency, total, third, reward, after_refund", [
    ("KWD", 3, "KWD", "10.005", "3.335", "2.501", "1.667"),  # 25% of 10.005 = 2.50125; x 1/3 = 0.8337 -> 0.834
    ("JPY", 0, "JPY", "999", "333", "250", "167"),  # 249.75 -> 250; x 333/999 = 83.33 -> 83
    ("points", 0, "USD", "99.98", "33.33", "25", "17"),  # 24.995 -> 25 points; x 33.33/99.98 = 8.334 -> 8
])
def test_rewards_and_refunds_in_each_unit_round_half_up_to_its_own_minor_unit_and_net_to_zero(
        store, tmp_path, units, exponent, currency, total, third, reward, after_refund):
    """A partial refund before payment reduces the reward, the rest after payment is a clawback of
    exactly what is left, each amount written with the unit's own decimals."""
    ov = OrderValue(currency, Decimal(total), (Line("1", Decimal(total)),))
    shop = Shop(store, program(units=units, exponent=exponent, is_currency=units != "points"))
    shop.record(*_sold(ov))
    assert shop.owed() == {"affiliates:7:alice": (Decimal(reward), "payable")}
    shop.record(_refunded(ov, 1, third))
    assert shop.owed() == {"affiliates:7:alice": (Decimal(after_refund), "payable")}
    shop.pay(tmp_path)
    shop.record(_refunded(ov, 2, Decimal(total) - Decimal(third), at=LATER + timedelta(hours=1)))
    claw = shop.owed(LATER + timedelta(days=1))["affiliates:7:alice:refund:2"]
    assert claw == (-Decimal(after_refund), "payable") and str(claw[0]) == f"-{after_refund}"


# -- one order, several programs and owners ----------------------------------------------------------

def test_a_refund_then_a_cancellation_of_an_order_several_programs_paid_nets_each_as_its_program_says(
        store, tmp_path):
    """Affiliates (12.5%, clawback) and royalties (50% on each owner's lines, `clawback: false`) on
    one order: a partial refund before payment reduces all three rewards pro rata on their own
    values; the cancellation after payment claws back exactly what is left of the affiliate's, and
    leaves the royalties, which `check` counts."""
    ov = OrderValue("USD", Decimal("33.33"), (Line("1", Decimal("19.99"), product_id=93),
                                              Line("2", Decimal("13.34"), product_id=94)))
    shop = Shop(store, program(percentage=Decimal("12.5")),
                program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50), clawback=False))
    shop.record(*_sold(ov))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("4.17"), "payable"),  # 4.16625
                           "royalties:7:alice": (Decimal("10.00"), "payable"),  # 9.995
                           "royalties:7:bruno": (Decimal("6.67"), "payable")}
    shop.record(_refunded(ov, 1, "10.00"))  # 4.17 x 10/33.33; 10.00 x 6.00/19.99; 6.67 x 4.00/13.34
    assert shop.owed() == {"affiliates:7:alice": (Decimal("2.92"), "payable"),
                           "royalties:7:alice": (Decimal("7.00"), "payable"),
                           "royalties:7:bruno": (Decimal("4.67"), "payable")}
    shop.pay(tmp_path)
    cancelled = Event(key="woocommerce:cancel:7", type="sale", at=LATER + timedelta(hours=1), order=ov, order_id=7,
                      share=-Fraction(Decimal("23.33")) / Fraction(ov.total), source="woocommerce")
    done = shop.record(cancelled)
    assert (done.clawbacks, done.left_alone) == (1, Decimal("11.67"))
    assert _net(shop) == {"alice": Decimal("7.00"), "bruno": Decimal("4.67")}  # the affiliate's nets to zero
    assert shop.owed(LATER + timedelta(days=1))["affiliates:7:alice:refund:cancel"] == (Decimal("-2.92"), "payable")
    assert commissions.left_alone(shop.docs()) == {"USD": Decimal("11.67")}


# -- a flat reward written as a whole number -------------------------------------------------------------

@pytest.mark.parametrize("flat, units, shown", [(50, "USD", "50.00"), ("7.5", "KWD", "7.500"), (3, "JPY", "3")])
def test_a_flat_reward_given_as_a_whole_number_is_paid_with_the_unit_s_decimals(store, tmp_path, flat, units,
                                                                                shown):
    """`reward: {flat: 50}` in USD: the reward, the overview and the payout file say `50.00` (DESIGN
    section 7: Value `30.00`, the unit's decimals), not `50`."""
    configured = load(tmp_path, with_program(units=units, reward={"flat": flat})).programs["affiliates"]
    currency = OrderValue(units, Decimal("100"), (Line("1", Decimal("100")),))
    shop = Shop(store, configured)
    shop.record(*_sold(currency))
    (o,) = commissions.obligations(store)
    assert str(o.amount) == shown
    made = shop.pay(tmp_path)
    assert (tmp_path / "f.csv").read_text().splitlines()[1].endswith(f",{units},{shown}")
    assert str(made.payouts[0].amount) == shown


# -- clawback: false -----------------------------------------------------------------------------------

def test_clawback_false_leaves_only_paid_rewards_alone_a_reward_in_an_open_fulfillment_is_clawed_back(
        store, tmp_path):
    """DESIGN section 8: `clawback: false` leaves *paid* rewards alone. A reward in a payout file not
    yet completed is not paid: a refund then is a clawback, so when the fulfillment is cancelled the
    next one pays what is left (15.00), never the whole 25.00 of a refunded sale, and `check` does not
    count it as left with the collaborator."""
    shop = Shop(store, program(clawback=False))
    shop.record(*order(coupon="alice"))
    made = fulfillments.plan(store, fulfillments.Selection(LATER), str(tmp_path / "open.csv"), PEOPLE, {}, "", LATER)
    opened = fulfillments.create(store, made)
    done = shop.record(refund(55, "40.00"))
    assert (done.clawbacks, done.left_alone) == (1, Decimal(0))
    fulfillments.cancel(store, opened.id, LATER)
    again = shop.pay(tmp_path, LATER + timedelta(days=1), "again.csv")
    assert [(p.collaborator, p.amount) for p in again.payouts] == [("alice", Decimal("15.00"))]
    assert commissions.left_alone(shop.docs()) == {}


# -- a program whose reward changed after its rewards were written ------------------------------------------

def test_a_percentage_reward_goes_back_pro_rata_after_its_program_switched_to_a_flat_reward(store):
    shop = Shop(store, program())
    shop.record(*order(coupon="alice"))  # 25% of 100.00
    shop.programs = {"affiliates": program(percentage=None, flat=Decimal("50.00"))}  # new sales: 50.00 flat
    shop.record(refund(55, "40.00"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("15.00"), "payable")}


def test_a_flat_reward_goes_back_only_with_a_full_refund_after_its_program_switched_to_a_percentage(store):
    shop = Shop(store, program(percentage=None, flat=Decimal("50.00")))
    shop.record(*order(coupon="alice"))
    shop.programs = {"affiliates": program()}  # new sales: 25%
    shop.record(refund(55, "40.00"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("50.00"), "payable")}
    shop.record(refund(56, "60.00"))
    assert shop.owed() == {"affiliates:7:alice": (Decimal("0.00"), "rejected")}
