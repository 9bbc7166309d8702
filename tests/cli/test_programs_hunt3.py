"""Program money over weeks, hunted for a wrong cent (DESIGN sections 7 and 8): every structure with
an affiliate who also owns a line, renewals, partial and full refunds before and after payment,
flat rewards, `clawback: false`, minimums across units. Each test works its amounts out by hand."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from siren_sync import commissions
from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.model import Event, Touch
from tests.cli.test_programs_hunt import _use_store, fulfill, obligations, record, run_ok
from tests.cli.test_programs_weeks import PAID, day, paid_files, refunded, sold
from tests.support.postgres import database_url, namespace_for
from tests.support.programs import shop

WEEK = timedelta(days=7)


def visit(who: str, at: datetime, visitor: str = "v1") -> Event:
    """A `?ref=` visit of `who`'s link by `visitor`."""
    return Event(key=f"access_log:referredSiteVisit:{visitor}:{who}:{at.timestamp()}", type="referredSiteVisit",
                 at=at, collaborator=who, touch=Touch(visitor=visitor), source="access_log")


def coupon(oid: int, who: str, at: datetime) -> Event:
    return Event(key=f"woocommerce:boundCouponUsed:{oid}:{who}", type="boundCouponUsed", at=at, collaborator=who,
                 order_id=oid, source="woocommerce")


def visited(events: list[Event], visitor: str = "v1") -> list[Event]:
    """`events` of an order whose sale was made by `visitor`."""
    sale = events[0]
    touch = Touch(visitor=visitor, created_at=sale.touch.created_at, renewal_of=sale.touch.renewal_of)
    return [Event(key=sale.key, type=sale.type, at=sale.at, order=sale.order, order_id=sale.order_id,
                  source=sale.source, touch=touch), *events[1:]]


def on(site, backend: str, *programs: str, **options: str) -> None:
    """`shop`, its store in PostgreSQL (a namespace of the test's own) for `backend` "postgresql"."""
    shop(site, *programs, **options)
    if backend == "postgresql":
        url = database_url()
        _use_store(site, f'store: {{url: "{url}", namespace: "{namespace_for(site.root)}"}}')


BACKENDS = pytest.mark.parametrize("backend", ["tinydb", "postgresql"])


def complete(site, fid: str, when: str) -> None:
    run_ok(site, "fulfillment", "complete", fid, "--paid-at", when)


PERF = ("aff: {units: USD, reward: {percentage: 20}, engagements: [boundCouponUsed, referredSiteVisit, "
        "collaboratorProductSold], structure: performanceSharedPool, renewals: 1}")
LINES = (("30.00", 93), ("70.01", None))
RENEWED = (("30.00", 93), ("50.00", None))


@BACKENDS
def test_performance_shares_with_an_owner_renewed_paid_then_refunded_and_cancelled_net_to_zero(site, backend):
    """Order 7 (bob's line 30.00 and 70.01: 100.01), alice's and bob's coupons, alice's visit too:
    alice 2 engagements, bob 1. 20% of 100.01 = 20.002 -> 20.00; 20.00 x 2/3 = 13.333, x 1/3 =
    6.666: floors 13.33 and 6.66, the left cent to bob's larger remainder: 13.33 and 6.67; bob's
    royalty 20% of 30.00 = 6.00: bob 12.67. Renewal 20 (30.00 of bob's, 50.00: 80.00): 20% = 16.00
    split 13.33 : 6.67: 10.664 and 5.336, floors 10.66 and 5.33, the cent to bob (.006 > .004):
    alice 10.66, bob 5.34 + 6.00 = 11.34 (22.00 in all). Renewal 21: `renewals: 1`, nothing. All
    paid in F1 (alice 23.99, bob 24.01); then renewal 20's refund of 20.00 (a quarter): alice
    10.66 / 4 = 2.665 -> 2.67, bob 11.34 / 4 = 2.835 -> 2.84 clawed back; its cancellation claws
    back what is left: 7.99 and 8.50. Order 8 (alice's coupon, 50.00): 10.00; the next file pays
    alice 10.00 - 2.67 - 7.99 = -0.66: nothing, it waits; bob -11.34 waits."""
    on(site, backend, PERF)
    record(site, visit("alice", PAID - timedelta(days=1)))
    record(site, *visited([*sold(7, PAID, lines=LINES, owners={93: "bob"}), coupon(7, "bob", PAID)]))
    assert obligations(site, day(30)) == {"aff:7:alice": ("13.33", "payable"), "aff:7:bob": ("12.67", "payable")}
    record(site, *sold(20, PAID + WEEK, coupon=None, renewal_of=7, lines=RENEWED, owners={93: "bob"}))
    record(site, *sold(21, PAID + 2 * WEEK, coupon=None, renewal_of=7, lines=RENEWED, owners={93: "bob"}))
    assert obligations(site, day(30)) == {"aff:7:alice": ("13.33", "payable"), "aff:7:bob": ("12.67", "payable"),
                                          "aff:20:alice": ("10.66", "payable"), "aff:20:bob": ("11.34", "payable")}
    made = fulfill(site, as_of=day(30))
    assert [(p["collaborator"], p["amount"]) for p in made["payouts"]] == [("alice", "23.99"), ("bob", "24.01")]
    complete(site, "F20261130-1", day(30))
    record(site, refunded(20, 60, "20.00", PAID + 3 * WEEK, RENEWED))
    record(site, refunded(20, "cancel", "60.00", PAID + 3 * WEEK + timedelta(hours=1), RENEWED))
    record(site, *sold(8, PAID + 3 * WEEK + timedelta(hours=2), lines=(("50.00", None),)))
    seen = obligations(site, day(33))
    assert {k: v for k, v in seen.items() if ":refund:" in k or k.startswith("aff:8")} == {
        "aff:20:alice:refund:60": ("-2.67", "payable"), "aff:20:bob:refund:60": ("-2.84", "payable"),
        "aff:20:alice:refund:cancel": ("-7.99", "payable"), "aff:20:bob:refund:cancel": ("-8.50", "payable"),
        "aff:8:alice": ("10.00", "payable")}
    made = fulfill(site, as_of=day(33), name="g.csv")
    assert made["payouts"] == [] and made["waiting"] == [
        {"collaborator": "alice", "units": "USD", "balance": "-0.66"},
        {"collaborator": "bob", "units": "USD", "balance": "-11.34"}]
    assert paid_files(site) == Decimal("48.00")


TOP = ("aff: {units: USD, reward: {percentage: 10}, engagements: [boundCouponUsed, referredSiteVisit, "
       "collaboratorProductSold], structure: topScoreWins, renewals: true}")


def test_top_score_with_the_loser_owning_a_line_is_renewed_as_the_winner_s_share_and_the_owner_s_royalty(site):
    """topScoreWins: alice 2 engagements (visit, coupon), bob 1 (coupon) and owner of product 93.
    Order 7 (40.00 of bob's, 60.00): 10% of 100.00 = 10.00 to alice; bob's royalty 4.00 alone.
    Renewal 20 (the same lines): alice 10.00, bob 4.00, as the first order paid. A full refund of
    the renewal before any payout rejects both at 0.00."""
    shop(site, TOP)
    lines = (("40.00", 93), ("60.00", None))
    record(site, visit("alice", PAID - timedelta(days=1)))
    record(site, *visited([*sold(7, PAID, lines=lines, owners={93: "bob"}), coupon(7, "bob", PAID)]))
    record(site, *sold(20, PAID + WEEK, coupon=None, renewal_of=7, lines=lines, owners={93: "bob"}))
    assert obligations(site, day(30)) == {"aff:7:alice": ("10.00", "payable"), "aff:7:bob": ("4.00", "payable"),
                                          "aff:20:alice": ("10.00", "payable"), "aff:20:bob": ("4.00", "payable")}
    record(site, refunded(20, 60, "100.00", PAID + WEEK + timedelta(days=1), lines))
    assert obligations(site, day(30))["aff:20:alice"] == ("0.00", "rejected")
    assert obligations(site, day(30))["aff:20:bob"] == ("0.00", "rejected")


FLAT = ('aff: {units: USD, reward: {flat: "10.01"}, engagements: [boundCouponUsed, collaboratorProductSold], '
        'structure: sharedEngagementPool, renewals: true}')


def test_flat_shared_and_flat_royalty_partial_refunds_take_nothing_a_cancellation_after_payment_all(site):
    """Flat 10.01 shared by two coupons: 5.005 each, floors 5.00, the cent to alice (tie: smaller
    id): 5.01 and 5.00; bob owns a line: his royalty is flat 10.01 too: bob 15.01 (share 5.00 +
    royalty 10.01). The renewal pays the same: 5.01 to alice, 5.00 + 10.01 to bob. A partial refund
    of the renewal takes nothing (flat); paid, then cancelled: clawbacks of all of it."""
    shop(site, FLAT)
    lines = (("40.00", 93), ("60.00", None))
    record(site, *sold(7, PAID, lines=lines, owners={93: "bob"}), coupon(7, "bob", PAID))
    record(site, *sold(20, PAID + WEEK, coupon=None, renewal_of=7, lines=lines, owners={93: "bob"}))
    assert obligations(site, day(30)) == {"aff:7:alice": ("5.01", "payable"), "aff:7:bob": ("15.01", "payable"),
                                          "aff:20:alice": ("5.01", "payable"), "aff:20:bob": ("15.01", "payable")}
    record(site, refunded(20, 60, "30.00", PAID + WEEK + timedelta(days=1), lines))
    fulfill(site, as_of=day(30))
    complete(site, "F20261130-1", day(30))
    record(site, refunded(20, "cancel", "70.00", PAID + 3 * WEEK, lines))
    seen = obligations(site, day(33))
    assert {k: v for k, v in seen.items() if k.startswith("aff:20")} == {
        "aff:20:alice": ("5.01", "paid"), "aff:20:bob": ("15.01", "paid"),
        "aff:20:alice:refund:cancel": ("-5.01", "payable"), "aff:20:bob:refund:cancel": ("-15.01", "payable")}


DEAL = "deals: {units: USD, reward: {percentage: 25}, engagements: [manual], structure: sharedEngagementPool}"
LEAD = 'leads: {units: USD, reward: {flat: "10.00"}, conversion: lead}'


@BACKENDS
def test_a_deal_paid_then_reversed_in_three_files_claws_back_to_zero_and_a_lead_stays(site, backend):
    """Deal 9 (333.33, alice): 25% = 83.3325 -> 83.33; a lead 10.00. Both paid (93.33). Reversal r1
    of 100.00: 83.33 x 100 / 333.33 = 24.9993 -> 25.00 back; r2 of 33.33: 8.3327 -> 8.33; r3 the
    last 200.00: the 50.00 left. Clawbacks -25.00 - 8.33 - 50.00 = -83.33: the deal nets to 0.00
    and alice's balance is -83.33 until deal 10 (400.00: 100.00) pays 16.67."""
    on(site, backend, DEAL, LEAD)
    at = PAID.isoformat()
    run_ok(site, "import", str(site.events([
        {"key": "crm:deal:9", "type": "sale", "collaborator": "alice", "at": at, "revenue": "333.33"},
        {"key": "crm:lead:1", "type": "lead", "collaborator": "alice", "at": at}])))
    assert fulfill(site, as_of=day(12))["payouts"][0]["amount"] == "93.33"
    complete(site, "F20261112-1", day(12))
    for n, (when, amount) in enumerate([(13, "-100.00"), (14, "-33.33"), (15, "-200.00")], 1):
        run_ok(site, "import", str(site.events([{"key": f"crm:deal:9:r{n}", "type": "sale", "reverses": "crm:deal:9",
                                                  "at": day(when), "revenue": amount}])))
    seen = obligations(site, day(16))
    assert {k: v for k, v in seen.items() if ":refund:" in k} == {
        "deals:crm:deal:9:alice:refund:crm:deal:9:r1": ("-25.00", "payable"),
        "deals:crm:deal:9:alice:refund:crm:deal:9:r2": ("-8.33", "payable"),
        "deals:crm:deal:9:alice:refund:crm:deal:9:r3": ("-50.00", "payable")}
    run_ok(site, "import", str(site.events([
        {"key": "crm:deal:10", "type": "sale", "collaborator": "alice", "at": day(17), "revenue": "400.00"}])))
    made = fulfill(site, as_of=day(18), name="g.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("16.67", 4)]


CLAW = "aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed], clawback: false}"


def test_clawback_false_leaves_what_was_paid_and_takes_back_what_was_not(site):
    """`clawback: false`. Order 7 (25.00) paid in F1; order 8 (25.00) in F2, still open. A refund of
    40.00 of each: order 7's is left alone (10.00 noted); order 8's, not paid yet, is clawed back
    (-10.00). F2 completes: 25.00 paid. Then each order is cancelled: order 7's 15.00 left alone
    too (25.00 noted in all); order 8's paid 25.00 is left alone for the rest (15.00), its earlier
    clawback -10.00 stays to be netted. Order 9 (25.00): the next file pays 15.00."""
    shop(site, CLAW)
    record(site, *sold(7, PAID))
    fulfill(site, as_of=day(11))
    complete(site, "F20261111-1", day(11))
    record(site, *sold(8, PAID + timedelta(days=1)))
    fulfill(site, as_of=day(12), name="g.csv")
    record(site, refunded(7, 55, "40.00", PAID + timedelta(days=2)), refunded(8, 56, "40.00", PAID + timedelta(days=2)))
    complete(site, "F20261112-1", day(13))
    record(site, refunded(7, "cancel", "60.00", PAID + timedelta(days=3)),
           refunded(8, "cancel", "60.00", PAID + timedelta(days=3)))
    record(site, *sold(9, PAID + timedelta(days=4)))
    assert obligations(site, day(20)) == {
        "aff:7:alice": ("25.00", "paid"), "aff:8:alice": ("25.00", "paid"),
        "aff:8:alice:refund:56": ("-10.00", "payable"), "aff:9:alice": ("25.00", "payable")}
    code, out, _ = site.run("check")
    assert "refunded after payment and left with collaborators (clawback: false): 40.00 USD" in out
    made = fulfill(site, as_of=day(20), name="h.csv")
    assert [(p["amount"], p["obligations"]) for p in made["payouts"]] == [("15.00", 2)]


# -- renewals after `store adopt` --------------------------------------------------------------------------

SHARED = ("aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed, collaboratorProductSold], "
          "structure: sharedEngagementPool, renewals: 2}")
FIRST = (("40.00", 93), ("59.99", None))  # product 93 is alice's
AGAIN = (("40.00", 93), ("43.33", None))


def _both(oid: int, at: datetime, lines: tuple[tuple[str, int | None], ...], renewal_of: int | None = None,
          ) -> list[Event]:
    """Order `oid` of `lines` with alice's and bob's coupons on it, product 93 alice's."""
    return [*sold(oid, at, renewal_of=renewal_of, lines=lines, owners={93: "alice"}), coupon(oid, "bob", at)]


def test_a_renewal_paid_after_an_adoption_pays_the_first_order_s_collaborators_the_lost_store_paid(site):
    """The lost store paid order 7 (99.99, alice's and bob's coupons, alice's line 40.00: 25% shared,
    12.50 each, and alice's royalty 10.00) and its renewal 19; the store is adopted after them, and
    the site's orders are read again. Renewal 20, paid after the adoption, is a sale paid from then
    on, rewarded as usual: as the first order was (`renewals: 2`: 19 was the first): 25% of 83.33 =
    20.83 split 12.50 : 12.50 (10.42 and 10.41, the cent to alice), alice's royalty 10.00: alice
    20.42, bob 10.41. Renewal 21 is the third: nothing. Nothing of 7 or 19 is paid again. Before,
    the renewals of a first order paid before the adoption paid nobody (their rewards were lost)."""
    shop(site, SHARED)
    horizon = PAID + timedelta(days=1)
    with open_app(load_config(site.root / "siren.yaml")) as app, app.store.transaction() as tx:
        commissions.adopted(tx, horizon)
    record(site, *_both(7, PAID, FIRST), *_both(19, PAID + timedelta(hours=12), AGAIN, renewal_of=7))
    assert obligations(site, day(30)) == {}
    record(site, *_both(20, PAID + WEEK, AGAIN, renewal_of=7))
    record(site, *_both(21, PAID + 2 * WEEK, AGAIN, renewal_of=7))
    assert obligations(site, day(30)) == {"aff:20:alice": ("20.42", "payable"), "aff:20:bob": ("10.41", "payable")}


def test_a_renewal_after_an_adoption_of_a_first_order_refunded_whole_pays_nobody_and_a_part_changes_nothing(site):
    """Orders 7 and 8, paid before the adoption (25% to alice: 25.00 each, by the lost store). 7 is
    refunded 40.00 then cancelled (after the adoption): taken back whole, its renewal 20 pays
    nothing, as a renewal of a first order refunded whole never does. 8 is refunded 40.00 only: its
    renewal 21 (80.00) pays alice 20.00; no reward of 7 or 8 is written, nor a clawback."""
    shop(site, "aff: {units: USD, reward: {percentage: 25}, engagements: [boundCouponUsed], renewals: true}")
    horizon = PAID + timedelta(days=1)
    with open_app(load_config(site.root / "siren.yaml")) as app, app.store.transaction() as tx:
        commissions.adopted(tx, horizon)
    record(site, *sold(7, PAID), *sold(8, PAID), refunded(7, 55, "40.00", PAID + timedelta(hours=1)))
    record(site, refunded(7, "cancel", "60.00", horizon + timedelta(hours=1)),
           refunded(8, 56, "40.00", horizon + timedelta(hours=1)))
    record(site, *sold(20, PAID + WEEK, renewal_of=7, lines=(("80.00", None),)),
           *sold(21, PAID + WEEK, renewal_of=8, lines=(("80.00", None),)))
    assert obligations(site, day(30)) == {"aff:21:alice": ("20.00", "payable")}
