"""Programs' attribution, hunted for bugs (DESIGN section 8, "Engagements of an order", "The reward"):
orders as the REST API sends them become events through the woocommerce parser, visits carry the
keyed digest the access log gives them, and the rewards are read back as a user sees them."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

import pytest

from siren_sync import commissions
from siren_sync.model import Collaborator, Event, LineItemFilters, Program, Touch
from siren_sync.sources.base import Attribution, visitor_digest
from siren_sync.sources.woocommerce.orders import order_events, parse_order
from siren_sync.values import iso
from tests.support import payloads
from tests.support.ledgers import make_ledger

KEY = b"k" * 32
ADDRESS, AGENT = "203.0.113.7", "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
CREATED = datetime(2026, 11, 10, 12, tzinfo=UTC)
PAID = CREATED + timedelta(minutes=5)
LATER = datetime(2026, 11, 20, tzinfo=UTC)
PEOPLE = {c.id: c for c in (
    Collaborator("alice", email="alice@example.com", coupons=("alice10",), tracking_ids=("alice",), products=(93,)),
    Collaborator("bruno", email="bruno@example.com", coupons=("bruno10",), tracking_ids=("bruno",), products=(94,)),
    Collaborator("carol", email="carol@example.com", coupons=("carol10",), tracking_ids=("carol",), status="inactive"),
    Collaborator("dora", email="dora@example.com", coupons=("dora10",), tracking_ids=("dora",), products=(95,)))}


def program(key="affiliates", **changes):
    fields = dict(key=key, name=key, units="USD", exponent=2, engagements=("boundCouponUsed", "referredSiteVisit"),
                  percentage=Decimal(25))
    return Program(**{**fields, **changes})


def gmt(at):
    return payloads.gmt(at)


def rest_order(oid=7, total="100.00", coupons=(), lines=None, created=CREATED, paid=PAID, currency="USD",
               address=ADDRESS, agent=AGENT, meta=(), via="checkout", **kw):
    """An order as GET /wc/v3/orders sends it (by default, placed at the storefront's checkout)."""
    lines = lines if lines is not None else [payloads.line_item(oid * 10, 93, "60.00"),
                                             payloads.line_item(oid * 10 + 1, 94, "40.00")]
    raw = payloads.order(oid, "completed", total, created=gmt(created), paid=gmt(paid), currency=currency,
                         line_items=lines, coupon_lines=[payloads.coupon_line(oid * 10 + 5 + i, code, "0.00")
                                                         for i, code in enumerate(coupons)], **kw)
    raw["customer_ip_address"], raw["customer_user_agent"], raw["created_via"] = address, agent, via
    raw["meta_data"] = [{"id": 900 + i, "key": k, "value": v} for i, (k, v) in enumerate(meta)]
    return raw


def events_of(raw, refs=None):
    """What the woocommerce source records for one order (its touch as `_touch` makes it)."""
    order = parse_order(raw, ("processing", "completed"), refs=refs)
    touch = Touch(visitor=visitor_digest(KEY, *order.client) if order.client else None, ref=order.ref,
                  created_at=order.created, ref_at=order.ref_at)
    return order_events(order, {}, Attribution.of(PEOPLE.values()), touch)


def visit(who, at, n=1, address=ADDRESS, agent=AGENT):
    """A `?ref=` visit as the access log records it."""
    return Event(key=f"access_log:referredSiteVisit:f-{who}:{n}", type="referredSiteVisit", at=at,
                 collaborator=who, touch=Touch(visitor=visitor_digest(KEY, address, agent)), source="access_log")


class Shop:
    def __init__(self, store, *programs, people=PEOPLE):
        self.store, self.people = store, people
        self.programs = {p.key: p for p in programs}
        self.ledger = make_ledger(store, collaborators=people)

    def record(self, *events):
        self.ledger.record(events)
        return commissions.reward(self.store, self.programs, self.people, LATER)

    def paid(self):
        """obligation id -> amount, as `payouts` lists them."""
        return {o.id: o.amount for o in commissions.obligations(self.store)}


# -- candidates -----------------------------------------------------------------------------------------


def test_a_coupon_of_an_inactive_collaborator_or_a_non_member_leaves_the_order_to_a_member(store):
    """newestEngagementWins: carol's (inactive) and dora's (not a member) coupons are newer than
    alice's visit, but they cannot earn: alice's visit takes it."""
    shop = Shop(store, program(members=frozenset({"alice", "bruno", "carol"})))
    shop.record(visit("alice", CREATED - timedelta(hours=3)))
    shop.record(*events_of(rest_order(coupons=("carol10", "dora10"))))
    assert shop.paid() == {"affiliates:7:alice": Decimal("25.00")}


def test_an_order_naming_an_unknown_ref_engages_nobody_and_a_known_one_engages_its_owner(store):
    shop = Shop(store, program(engagements=("referredSiteVisit",)))
    landing = "_wc_order_attribution_session_entry"
    shop.record(*events_of(rest_order(7, address="", meta=[(landing, "https://shop.example/?ref=zed")])))
    shop.record(*events_of(rest_order(8, address="", meta=[(landing, "https://shop.example/?ref=bruno")])))
    assert shop.paid() == {"affiliates:8:bruno": Decimal("25.00")}


LANDING, STARTED = "_wc_order_attribution_session_entry", "_wc_order_attribution_session_start_time"


def landed(oid, who, started):
    """An order whose order attribution names `?ref=<who>`, its session begun at `started` (UTC)."""
    return rest_order(oid, address="", meta=[(LANDING, f"https://shop.example/?ref={who}"),
                                             (STARTED, started.strftime("%Y-%m-%d %H:%M:%S"))])


def test_a_ref_the_order_names_engages_at_its_session_start_within_the_window(store):
    """Order attribution's landing page names bruno: 5 months before the order it is out of the
    30 days' window (the cookie lives 6 months), 2 hours before it pays; `window: 0` pays none."""
    shop = Shop(store, program(engagements=("referredSiteVisit",), window=timedelta(days=30)))
    shop.record(*events_of(landed(7, "bruno", CREATED - timedelta(days=150))))
    shop.record(*events_of(landed(8, "bruno", CREATED - timedelta(days=30))))  # exactly the window: out
    shop.record(*events_of(landed(9, "bruno", CREATED - timedelta(hours=2))))
    assert shop.paid() == {"affiliates:9:bruno": Decimal("25.00")}
    closed = Shop(store, program("closed", engagements=("referredSiteVisit",), window=timedelta(0)))
    closed.record(*events_of(landed(10, "bruno", CREATED - timedelta(minutes=1))))
    assert not [key for key in closed.paid() if key.startswith("closed:")]


def test_newest_engagement_wins_by_the_named_ref_s_real_time(store):
    """alice's logged visit 3 hours before the order is newer than bruno's landing 5 hours before;
    dora's coupon on another order is newer than bruno's landing the day before."""
    shop = Shop(store, program(structure="newestEngagementWins"))
    shop.record(visit("alice", CREATED - timedelta(hours=3)))
    raw = landed(7, "bruno", CREATED - timedelta(hours=5))
    raw["customer_ip_address"] = ADDRESS
    shop.record(*events_of(raw))
    coupon = landed(8, "bruno", CREATED - timedelta(days=1))
    coupon["coupon_lines"] = [payloads.coupon_line(85, "dora10", "0.00")]
    shop.record(*events_of(coupon))
    assert shop.paid() == {"affiliates:7:alice": Decimal("25.00"), "affiliates:8:dora": Decimal("25.00")}


def test_a_sale_stored_before_session_start_times_were_read_engages_its_named_ref_at_creation(store):
    """A sale event recorded by an older siren-sync has no `ref_at`: its ref engages at the order's
    creation, inside any window, as it did then."""
    shop = Shop(store, program(engagements=("referredSiteVisit",), window=timedelta(0)))
    sale = next(e for e in events_of(rest_order(7, address="")) if e.type == "sale").to_record()
    sale["touch"] = {"ref": "bruno", "created_at": "2026-11-10T12:00:00+00:00"}
    shop.record(Event.from_record(sale))
    assert shop.paid() == {"affiliates:7:bruno": Decimal("25.00")}


def test_an_order_in_another_currency_pays_no_program_of_a_currency_but_a_custom_unit_one(store):
    points = program("points", units="points", exponent=0, is_currency=False, percentage=Decimal(10))
    shop = Shop(store, program(), points)
    shop.record(*events_of(rest_order(coupons=("alice10",), currency="EUR")))
    assert shop.paid() == {"points:7:alice": Decimal("10")}


def test_compilers_and_line_filters_of_a_program(store):
    """lineItems alone: the discount does not reduce the reward; a category filter keeps one line."""
    gross = program("gross", compilers=("lineItems",))
    lines = [payloads.line_item(70, 93, "60.00", "54.00"), payloads.line_item(71, 94, "40.00", "36.00")]
    shop = Shop(store, gross, program("sku", filters=LineItemFilters(with_skus=("A",))))
    lines[0]["sku"] = "A"
    shop.record(*events_of(rest_order(total="90.00", coupons=("alice10",), lines=lines, discount_total="10.00")))
    # gross: 25% of 100.00; sku: 25% of (60.00 - 10.00 x 60 / 100) = 25% of 54.00
    assert shop.paid() == {"gross:7:alice": Decimal("25.00"), "sku:7:alice": Decimal("13.50")}


def test_royalties_when_one_owner_is_not_a_member(store):
    royalties = program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50),
                        members=frozenset({"bruno"}))
    shop = Shop(store, royalties)
    shop.record(*events_of(rest_order()))
    assert shop.paid() == {"royalties:7:bruno": Decimal("20.00")}


def test_an_inactive_program_in_a_group_does_not_win_it(store):
    """The inactive program's engagement (a visit) is older, but it pays nothing: the group's other
    program pays."""
    visits = program("visits", engagements=("referredSiteVisit",), group="g", group_structure="oldestEngagementWins",
                     status="inactive")
    coupons = program("coupons", engagements=("boundCouponUsed",), group="g",
                      group_structure="oldestEngagementWins")
    shop = Shop(store, visits, coupons)
    shop.record(visit("bruno", CREATED - timedelta(days=2)))
    shop.record(*events_of(rest_order(coupons=("alice10",))))
    assert shop.paid() == {"coupons:7:alice": Decimal("25.00")}


@pytest.mark.parametrize("filed_under_the_order", [False, True], ids=["now", "a store from before"])
def test_a_lead_whose_key_is_a_number_is_not_taken_back_by_the_refund_of_that_order(store, filed_under_the_order):
    """A CRM's lead imported with key "7" and order 7 refunded in full: the lead's bounty stays, also
    in a store written when such a lead's reward was filed in order 7's index entry."""
    leads = program("leads", conversion="lead", percentage=None, flat=Decimal("10.00"), engagements=())
    shop = Shop(store, leads, program(engagements=("boundCouponUsed",)))
    shop.record(Event(key="7", type="lead", at=CREATED, collaborator="bruno", source="import"))
    shop.record(*events_of(rest_order(coupons=("alice10",))))
    if filed_under_the_order:
        (index,) = store.tables("programs/orders/")
        entry = store.get(index, "7")
        with store.transaction() as tx:
            tx.put(index, "7", {**entry, "rewards": {**entry["rewards"], "leads:7:bruno": iso(CREATED)}})
    refund = Event(key="woocommerce:refund:7:55", type="sale", at=LATER - timedelta(days=1),
                   order=events_of(rest_order())[0].order, order_id=7, share=Fraction(-1), source="woocommerce")
    shop.record(refund)
    owed = {o.id: (o.amount, o.status) for o in commissions.obligations(store)}
    assert owed["leads:7:bruno"] == (Decimal("10.00"), "pending")
    assert owed["affiliates:7:alice"][0] == Decimal("0.00")



def test_royalties_count_shipping_once_among_two_owners(store):
    """50% royalties counting shipping: each owner's lines carry their share of the order's 10.00
    of shipping (alice's 60.00 of 100.00: 6.00), not all of it each (35.00 + 25.00 paid on 110.00)."""
    royalties = program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50),
                        compilers=("lineItems", "discounts", "shipping"))
    shop = Shop(store, royalties)
    shop.record(*events_of(rest_order(total="110.00", shipping_total="10.00")))
    assert shop.paid() == {"royalties:7:alice": Decimal("33.00"), "royalties:7:bruno": Decimal("22.00")}


def test_the_owner_of_every_line_of_a_free_order_has_all_its_shipping(store):
    royalties = program("royalties", engagements=("collaboratorProductSold",), percentage=Decimal(50),
                        compilers=("lineItems", "discounts", "shipping"))
    shop = Shop(store, royalties)
    lines = [payloads.line_item(70, 93, "0.00")]
    shop.record(*events_of(rest_order(total="5.00", lines=lines, shipping_total="5.00")))
    assert shop.paid() == {"royalties:7:alice": Decimal("2.50")}
