"""sources/woocommerce/orders.py: what an order becomes (sale, refunds, cancellation, engagement points and
their reversal), and what cannot be counted is quarantined; orders synced from the sandbox shop in process."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from siren_sync.errors import RecordError
from siren_sync.model import Touch
from siren_sync.sources.base import Attribution
from siren_sync.sources.woocommerce import order_events, parse_order
from siren_sync.sources.woocommerce.orders import Refs, gmt_time, version, wc_time, without_private_fields
from tests.support.apps import run_once
from tests.support.payloads import (
    coupon_line,
    fee_line,
    line_item,
    order,
    sample_page_orders,
    sample_partial_refund_detail,
    sample_partial_refund_order,
    sample_refunded_detail,
    sample_refunded_order,
    utc,
)
from tests.support.samples import sample
from tests.support.shop import ATTRIBUTION, context, make_shop, source


def test_sample_orders_to_events(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    ctx = context()
    report = source().sync(ctx)
    assert report.records == 2 and report.events == 4 and report.pages == 1
    assert ctx.keys() == ["woocommerce:boundCouponUsed:60:david20", "woocommerce:collaboratorProductSold:60:90",
                          "woocommerce:collaboratorProductSold:60:91", "woocommerce:sale:60"]
    sale = ctx.events["woocommerce:sale:60"]
    assert sale.type == "sale" and sale.share == 1 and sale.source == "woocommerce"
    assert sale.at == datetime(2026, 9, 2, 16, 28, 2, tzinfo=UTC)
    value = sale.order
    assert value.currency == "EUR" and value.total == Decimal("423.04") and value.discount_total == Decimal("105.76")
    assert [(line.id, line.subtotal, line.quantity, line.product_id, line.sku, line.categories)
            for line in value.lines] == [("89", Decimal("129.00"), 1, 10, "PEER-100", ()),
                                         ("90", Decimal("39.80"), 2, 13, "PEER-103", ()),
                                         ("91", Decimal("360.00"), 2, 15, "PEER-105", ())]
    coupon = ctx.events["woocommerce:boundCouponUsed:60:david20"]
    assert coupon.collaborator == "david" and coupon.quantity == 1 and coupon.at == sale.at
    product = ctx.events["woocommerce:collaboratorProductSold:60:90"]
    assert product.collaborator == "erin" and product.quantity == 2
    # order 82 is on-hold and never paid: nothing, and no refund route was asked
    assert not ctx.keys("woocommerce:sale:82") and shop.count("wc/v3/refunds") == 0


def test_money_fees_shipping_taxes_are_decimals():
    raw = order(7, "processing", "131.30", shipping_total="9.90", total_tax="11.40", discount_total="10.00",
                line_items=[line_item(70, 11, "100.00", "90.00")],
                fee_lines=[fee_line(71, "5.00"), fee_line(72, "5.00")])
    value = parse_order(raw, ("processing", "completed")).value
    assert value.fees == Decimal("10.00") and value.shipping == Decimal("9.90") and value.taxes == Decimal("11.40")
    assert all(isinstance(x, Decimal) for x in (value.total, value.fees, value.lines[0].subtotal))


def test_partial_refund_share_and_points_kept(rsps):
    shop = make_shop(rsps)
    shop.add(sample_partial_refund_order())
    shop.add_refund(sample_partial_refund_detail(), 26)
    ctx = context()
    source().sync(ctx)
    refund = ctx.events["woocommerce:refund:26:89"]
    assert refund.type == "sale" and refund.share == -Fraction("79.20") / Fraction("383.12")
    assert -0.21 < float(refund.share) < -0.20
    # paid Sept 13, modified Sept 16: same period, so no refund detail was fetched
    assert refund.at == utc("2026-09-16T10:41:33") and shop.count("wc/v3/refunds") == 0
    assert not [k for k in ctx.events if k.endswith(":reversal") or ":cancel:" in k]
    assert ctx.events["woocommerce:boundCouponUsed:26:david20"].quantity == 1


def test_full_refund_reverses_points_at_refund_time(rsps):
    shop = make_shop(rsps)
    shop.add(sample_refunded_order())
    shop.add_refund(sample_refunded_detail(), 47)
    ctx = context()
    source().sync(ctx)
    assert ctx.events["woocommerce:sale:47"].at == utc("2026-08-30T12:59:07")
    refund = ctx.events["woocommerce:refund:47:85"]
    assert refund.share == -1 and refund.at == utc("2026-09-04T12:49:07")
    coupon = ctx.events["woocommerce:boundCouponUsed:47:david20:reversal"]
    product = ctx.events["woocommerce:collaboratorProductSold:47:64:reversal"]
    assert (coupon.quantity, coupon.collaborator, coupon.at) == (-1, "david", utc("2026-09-04T12:49:07"))
    assert (product.quantity, product.collaborator) == (-1, "erin")
    assert not ctx.keys("woocommerce:cancel:")


def test_cancellation_after_payment(rsps):
    shop = make_shop(rsps)
    raw = sample_partial_refund_order()
    raw.update(status="cancelled")
    raw["date_modified"] = raw["date_modified_gmt"] = "2026-09-20T08:00:00"
    shop.add(raw)
    ctx = context()
    source().sync(ctx)
    cancel = ctx.events["woocommerce:cancel:26"]
    assert cancel.share == -(Fraction("383.12") - Fraction("79.20")) / Fraction("383.12")
    assert cancel.at == utc("2026-09-20T08:00:00")
    assert ctx.events["woocommerce:refund:26:89"].share + cancel.share == -1
    reversals = {k: e for k, e in ctx.events.items() if k.endswith(":reversal")}
    assert sorted(reversals) == ["woocommerce:boundCouponUsed:26:david20:reversal",
                                 "woocommerce:collaboratorProductSold:26:11:reversal",
                                 "woocommerce:collaboratorProductSold:26:12:reversal"]
    assert reversals["woocommerce:collaboratorProductSold:26:12:reversal"].quantity == -2
    assert all(e.at == utc("2026-09-20T08:00:00") for e in reversals.values())


def shirts_order(order_id: int = 70, status: str = "completed") -> dict:
    """Two sizes of one T-shirt (parent product 30: variations 31 and 32) and a simple product (13),
    as the orders listing sends them: `product_id` the parent, `variation_id` the size bought."""
    return order(order_id, status, "95.00", line_items=[
        line_item(701, 30, "25.00", variation_id=31, sku="TEE-L", name="T-shirt - L"),
        line_item(702, 30, "50.00", quantity=2, variation_id=32, sku="TEE-XL", name="T-shirt - XL"),
        line_item(703, 13, "20.00", sku="PEER-103")])


def test_a_variation_line_keeps_its_variation_and_its_owner_scores_it_alone(rsps):
    """The owner of variation 31 scores its line; the other size's line is not theirs. A simple
    product's line (`variation_id: 0`) has no variation."""
    shop = make_shop(rsps)
    shop.add(shirts_order())
    ctx = context(attribution=Attribution(by_product={31: "erin", 13: "frank"}))
    source().sync(ctx)
    lines = ctx.events["woocommerce:sale:70"].order.lines
    assert [(line.id, line.product_id, line.variation_id) for line in lines] == [
        ("701", 30, 31), ("702", 30, 32), ("703", 13, None)]
    owned = {k: (e.collaborator, e.quantity) for k, e in ctx.events.items() if "ProductSold" in k}
    assert owned == {"woocommerce:collaboratorProductSold:70:701": ("erin", 1),
                     "woocommerce:collaboratorProductSold:70:703": ("frank", 1)}


def test_the_parent_s_owner_scores_every_variation_the_variation_s_owner_wins_its_own_lines(rsps):
    """Owning the parent product covers all its variations, as before; when another collaborator owns
    one variation, that line is theirs alone (the more specific id wins: one owner per line)."""
    shop = make_shop(rsps)
    shop.add(shirts_order())
    parent_only = context(attribution=Attribution(by_product={30: "frank"}))
    source().sync(parent_only)
    assert {k: (e.collaborator, e.quantity) for k, e in parent_only.events.items() if "ProductSold" in k} == {
        "woocommerce:collaboratorProductSold:70:701": ("frank", 1),
        "woocommerce:collaboratorProductSold:70:702": ("frank", 2)}
    both = context(attribution=Attribution(by_product={30: "frank", 32: "erin"}))
    source().sync(both)
    assert {k: e.collaborator for k, e in both.events.items() if "ProductSold" in k} == {
        "woocommerce:collaboratorProductSold:70:701": "frank", "woocommerce:collaboratorProductSold:70:702": "erin"}


def test_a_cancelled_variation_line_takes_its_owner_s_points_back(rsps):
    shop = make_shop(rsps)
    raw = shirts_order(status="cancelled")
    raw["date_modified"] = raw["date_modified_gmt"] = "2026-09-20T08:00:00"
    shop.add(raw)
    ctx = context(attribution=Attribution(by_product={32: "erin"}))
    source().sync(ctx)
    assert ctx.events["woocommerce:collaboratorProductSold:70:702:reversal"].collaborator == "erin"
    assert ctx.events["woocommerce:collaboratorProductSold:70:702:reversal"].quantity == -2


def test_a_free_order_s_cancellation_is_an_event_counting_nothing(rsps):
    """A 100%-coupon order (total 0.00), paid then cancelled: its cancellation takes the whole (a
    program's flat reward for it goes back) and counts no money."""
    shop = make_shop(rsps)
    shop.add(order(91, "cancelled", "0.00", modified="2026-09-20T08:00:00"))
    ctx = context()
    source().sync(ctx)
    cancel = ctx.events["woocommerce:cancel:91"]
    assert (cancel.share, cancel.order.total, cancel.at) == (-1, Decimal("0.00"), utc("2026-09-20T08:00:00"))


def test_refunded_status_with_less_refunded_cancels_the_rest(rsps):
    shop = make_shop(rsps)
    raw = sample_partial_refund_order()
    raw["status"] = "refunded"
    shop.add(raw)
    ctx = context()
    source().sync(ctx)
    assert ctx.events["woocommerce:cancel:26"].share == -(Fraction("303.92") / Fraction("383.12"))
    assert ctx.keys("woocommerce:boundCouponUsed:26:david20:reversal")


@pytest.mark.parametrize("status", ["pending", "on-hold", "cancelled", "failed", "trash"])
def test_never_paid_orders_count_nothing(rsps, status):
    shop = make_shop(rsps)
    shop.add(order(90, status, "99.00", paid=None, modified="2026-09-03T00:00:00",
                   coupon_lines=[coupon_line(91, "david20", "0.00")]))
    ctx = context()
    report = source().sync(ctx)
    assert ctx.events == {} and report.events == 0 and report.records == 1 and ctx.quarantined == []


def test_paid_status_without_payment_date_counts_at_creation(rsps):
    shop = make_shop(rsps)
    shop.add(order(91, "completed", "99.00", created="2026-09-05T10:00:00", paid=None,
                   modified="2026-09-06T00:00:00"))
    ctx = context()
    source().sync(ctx)
    assert ctx.events["woocommerce:sale:91"].at == utc("2026-09-05T10:00:00")


def test_unbound_coupon_is_not_an_error(rsps):
    shop = make_shop(rsps)
    shop.add(order(92, "completed", "95.00", coupon_lines=[coupon_line(93, "welcome5", "5.00")]))
    ctx = context()
    source().sync(ctx)
    assert ctx.keys() == ["woocommerce:sale:92"] and ctx.quarantined == []


def test_uppercase_coupon_code_is_lowered(rsps):
    shop = make_shop(rsps)
    shop.add(order(94, "completed", "80.00", coupon_lines=[coupon_line(95, "DAVID20", "20.00", meta=False)]))
    ctx = context()
    source().sync(ctx)
    assert ctx.keys("woocommerce:boundCouponUsed:") == ["woocommerce:boundCouponUsed:94:david20"]


def test_bad_orders_are_quarantined_and_the_rest_goes_on(rsps, tmp_path):
    shop = make_shop(rsps)
    good = order(100, "completed", "10.00", modified="2026-09-01T00:00:01")
    no_total = order(101, "completed", "10.00", modified="2026-09-01T00:00:02")
    del no_total["total"]
    bad_total = order(102, "completed", "ten euros", modified="2026-09-01T00:00:03",
                      line_items=[line_item(1020, 11, "10.00")])
    bad_date = order(103, "completed", "10.00", paid="13/09/2026", modified="2026-09-01T00:00:04")
    no_id = order(104, "completed", "10.00", modified="2026-09-01T00:00:05")
    del no_id["id"]
    float_total = order(105, "completed", "10.00", modified="2026-09-01T00:00:06")
    float_total["total"] = 10.0
    last = order(106, "completed", "12.00", modified="2026-09-01T00:00:07")
    shop.add(good, no_total, bad_total, bad_date, float_total, last, no_id)
    ctx = context()
    report = source().sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:100", "woocommerce:sale:106"]
    where = {w: r for w, r, _ in ctx.quarantined}
    assert where == {"wc/v3/orders #101": "missing total",
                     "wc/v3/orders #102": "total is 'ten euros', not a number",
                     "wc/v3/orders #103": "date_paid_gmt is '13/09/2026', not a date",
                     "wc/v3/orders #105": "total is 10.0, not a decimal string",
                     "wc/v3/orders #?": "missing id"}
    assert ctx.quarantined[0][2]["id"] == 101
    # as `siren-sync sync` runs it: the report counts what the store kept aside
    report, kept = run_once(tmp_path / "app", [], source())
    assert report.quarantined == 5 and sorted(kept) == sorted(where)
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-01T00:00:07+00:00"


def test_trashed_after_full_refund_reverses_at_refund_time(rsps):
    shop = make_shop(rsps)
    raw = sample_refunded_order()
    raw["status"] = "trash"
    raw["date_modified"] = raw["date_modified_gmt"] = "2026-10-15T00:00:00"
    shop.add(raw)
    shop.add_refund(sample_refunded_detail(), 47)
    ctx = context()
    source().sync(ctx)
    assert not ctx.keys("woocommerce:cancel:")
    assert ctx.events["woocommerce:boundCouponUsed:47:david20:reversal"].at == utc("2026-09-04T12:49:07")


def test_once_the_cancellation_is_recorded_the_orders_refunds_take_nothing_more():
    raw = sample_partial_refund_order()
    raw.update(status="cancelled", date_modified_gmt="2026-10-20T08:00:00")
    cancelled = parse_order(raw, ("completed",))
    refund_at = {89: utc("2026-10-20T08:00:00")}
    read_once = {e.key: e for e in order_events(cancelled, refund_at, ATTRIBUTION)}
    assert read_once["woocommerce:refund:26:89"].share + read_once["woocommerce:cancel:26"].share == -1
    read_again = {e.key: e for e in order_events(cancelled, refund_at, ATTRIBUTION, cancel_recorded=True)}
    assert sorted(read_again) == sorted(k for k in read_once if ":refund:" not in k and ":cancel:" not in k)
    assert all(read_again[k] == read_once[k] for k in read_again)  # the sale and its points as they were


def test_parse_order_takes_the_parsed_modified_time_and_still_validates():
    raw = order(1, "completed", "10.00", paid="2026-09-01T10:00:00")
    when = utc(raw["date_modified_gmt"])
    assert parse_order(raw, ("completed",), when).modified is when
    assert parse_order(raw, ("completed",)).modified == when
    bad = dict(raw, date_paid_gmt="yesterday")
    with pytest.raises(Exception, match="date_paid_gmt is 'yesterday'"):
        parse_order(bad, ("completed",), when)


# -- the parser alone, on the real responses ----------------------------------------------------------

@pytest.mark.parametrize("name,built", [
    ("wc-v3-order-partial-refund.json", lambda: [sample_partial_refund_order()]),
    ("wc-v3-order-refunded.json", lambda: [sample_refunded_order()]),
    ("wc-v3-orders-page.json", sample_page_orders),
])
def test_the_real_responses_parse_as_the_payload_builders_do(name, built):
    """The builders the other tests use are the real orders (tests/fixtures/samples), field for field."""
    body = sample(name)["body"]
    real = [parse_order(raw, ("processing", "completed")) for raw in (body if isinstance(body, list) else [body])]
    assert real == [parse_order(raw, ("processing", "completed")) for raw in built()]


def test_the_real_partly_refunded_order_keeps_its_points_and_gives_back_its_refund():
    order_ = parse_order(sample("wc-v3-order-partial-refund.json")["body"], ("processing", "completed"))
    refund = sample("wc-v3-order-partial-refund-refunds.json")["body"][0]
    events = {e.key: e for e in order_events(order_, {refund["id"]: utc(refund["date_created_gmt"])}, ATTRIBUTION)}
    assert sorted(events) == ["woocommerce:boundCouponUsed:26:david20", "woocommerce:collaboratorProductSold:26:11",
                              "woocommerce:collaboratorProductSold:26:12", "woocommerce:refund:26:89",
                              "woocommerce:sale:26"]
    assert events["woocommerce:refund:26:89"].share == -Fraction(refund["amount"]) / Fraction("383.12")
    assert events["woocommerce:refund:26:89"].at == utc(refund["date_created_gmt"])


def test_version_is_the_walks_key_of_an_order_as_sent():
    raw = order(5, modified="2026-09-01T10:00:00")
    assert version(raw) == (5, "2026-09-01T10:00:00", utc("2026-09-01T10:00:00"))
    for bad in ([raw], dict(raw, id=True), dict(raw, id="5"), dict(raw, date_modified_gmt="yesterday"),
                dict(raw, date_modified_gmt=None)):
        assert version(bad) is None  # the parser says why, or quarantines it


def test_gmt_times_are_utc_and_filters_are_naive_utc():
    assert gmt_time("2026-09-01T10:00:00") == datetime(2026, 9, 1, 10, tzinfo=UTC)
    assert gmt_time("2026-09-01T12:00:00+02:00").tzinfo is UTC
    assert gmt_time("2026-09-01T12:00:00+02:00") == datetime(2026, 9, 1, 10, tzinfo=UTC)
    with pytest.raises(ValueError):
        gmt_time("")
    new_york = datetime(2026, 9, 1, 6, 0, 0, 999, tzinfo=ZoneInfo("America/New_York"))
    assert wc_time(new_york) == "2026-09-01T10:00:00"


def test_a_record_error_names_the_order_and_the_field():
    raw = order(7, line_items=[line_item(70, 11, "9.90")])
    raw["line_items"][0]["subtotal"] = "9,90"
    with pytest.raises(RecordError) as info:
        parse_order(raw, ("completed",))
    assert (info.value.where, info.value.reason) == ("wc/v3/orders #7", "line 70 subtotal is '9,90', not a number")
    with pytest.raises(RecordError) as info:
        parse_order("not an order", ("completed",))
    assert (info.value.where, info.value.reason) == ("wc/v3/orders #?", "not a JSON object")


# -- who may have brought it: read from the REST order, never a reason to refuse one -----------------------

AGENT = "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 Mobile/15E148 Safari/604.1"


def with_meta(raw: dict, *entries: tuple[str, object]) -> dict:
    """`raw` with order meta entries as wc/v3 shows them (`_`-prefixed keys included)."""
    raw["meta_data"] = [{"id": 900 + n, "key": k, "value": v} for n, (k, v) in enumerate(entries)]
    return raw


def test_an_order_names_its_creation_customer_ref_and_subscription():
    raw = with_meta(order(31, created="2026-09-13T10:41:33", paid="2026-09-13T10:51:33"),
                    ("_wc_order_attribution_source_type", "referral"),
                    ("_wc_order_attribution_session_entry", "https://shop.example/?utm_source=x&ref=bruno"),
                    ("_wc_order_attribution_user_agent", AGENT), ("_subscription_renewal", "77"))
    raw.update(customer_ip_address="203.0.113.9", customer_user_agent=AGENT, created_via="checkout")
    parsed = parse_order(raw, ("completed",))
    assert (parsed.created, parsed.client, parsed.ref, parsed.subscription) == (
        utc("2026-09-13T10:41:33"), ("203.0.113.9", AGENT), "bruno", 77)


def test_the_configured_meta_key_names_the_ref_before_order_attribution():
    raw = with_meta(order(32), ("_wc_order_attribution_session_entry", "https://shop.example/?ref=bruno"),
                    ("_affiliate_ref", " alice "))
    assert parse_order(raw, ("completed",), refs=Refs(meta_key="_affiliate_ref")).ref == "alice"
    assert parse_order(raw, ("completed",)).ref == "bruno"  # no meta key configured
    assert parse_order(raw, ("completed",), refs=Refs(param="aff")).ref is None  # another parameter name
    numeric = with_meta(order(33), ("_affiliate_ref", 42))
    assert parse_order(numeric, ("completed",), refs=Refs(meta_key="_affiliate_ref")).ref == "42"
    decomposed = with_meta(order(33), ("_wc_order_attribution_session_entry", "https://shop.example/?ref=re%CC%81mi"))
    assert parse_order(decomposed, ("completed",)).ref == "r\u00e9mi"  # NFC, as collaborators' ids are


def test_a_ref_given_twice_in_the_landing_page_is_the_last_as_php_reads_it():
    """Before: the first `ref` counted here and the last in the access log. The site's PHP (`$_GET`)
    keeps the last, so both sides take it; `ref[]=` makes it an array, no tracking id."""
    twice = with_meta(order(37), (LANDING, "https://shop.example/?ref=alice&utm_source=x&ref=bruno"))
    assert parse_order(twice, ("completed",)).ref == "bruno"
    emptied = with_meta(order(38), (LANDING, "https://shop.example/?ref=alice&ref="))
    assert parse_order(emptied, ("completed",)).ref is None
    array = with_meta(order(39), (LANDING, "https://shop.example/?ref=alice&ref[]=bruno"))
    assert parse_order(array, ("completed",)).ref is None


LANDING, STARTED = "_wc_order_attribution_session_entry", "_wc_order_attribution_session_start_time"


def test_order_attribution_s_session_start_is_when_its_ref_was_visited_in_utc():
    """sourcebuster.js writes it in UTC (WooCommerce sets `timezone_offset: '0'`), whatever the
    site's timezone; a time after the order is kept as written (the programs leave it out)."""
    raw = with_meta(order(41, created="2026-09-13T10:41:33"), (LANDING, "https://shop.example/?ref=bruno"),
                    (STARTED, "2026-09-12 23:05:09"))
    parsed = parse_order(raw, ("completed",))
    assert (parsed.ref, parsed.ref_at) == ("bruno", datetime(2026, 9, 12, 23, 5, 9, tzinfo=UTC))
    raw["meta_data"][1]["value"] = "2099-01-01 00:00:00"
    assert parse_order(raw, ("completed",)).ref_at == datetime(2099, 1, 1, tzinfo=UTC)


def test_a_ref_without_a_session_start_or_from_the_meta_key_has_no_time(caplog):
    missing = with_meta(order(42), (LANDING, "https://shop.example/?ref=bruno"))
    empty = with_meta(order(42), (LANDING, "https://shop.example/?ref=bruno"), (STARTED, ""))
    for raw in (missing, empty):
        assert (parse_order(raw, ("completed",)).ref, parse_order(raw, ("completed",)).ref_at) == ("bruno", None)
    named = with_meta(order(43), (LANDING, "https://shop.example/?ref=bruno"), (STARTED, "2026-09-12 23:05:09"),
                      ("_affiliate_ref", "alice"))
    parsed = parse_order(named, ("completed",), refs=Refs(meta_key="_affiliate_ref"))
    assert (parsed.ref, parsed.ref_at) == ("alice", None)  # a site plugin's ref: no time, at the creation
    organic = with_meta(order(44), (LANDING, "https://shop.example/"), (STARTED, "2026-09-12 23:05:09"))
    assert parse_order(organic, ("completed",)).ref_at is None  # no ref: no time either
    assert not caplog.records


@pytest.mark.parametrize("started", [
    "2026-09-12T23:05:09", "2026-09-12 23:05:09+02:00", "2026-09-12 23:05:09Z", "2026-09-12 23:05",
    "2026-02-30 23:05:09", "12/09/2026 23:05:09", " 2026-09-12 23:05:09", "2026-09-12 23:05:09.5",
    "\u0662\u0660\u0662\u0666-09-12 23:05:09", 1757718309, ["2026-09-12 23:05:09"],
])
def test_an_unreadable_session_start_leaves_the_ref_at_the_creation_and_says_so_once(started, caplog):
    raw = with_meta(order(45, "completed", "20.00", line_items=[line_item(450, 11, "20.00")]),
                    (LANDING, "https://shop.example/?ref=bruno"), (STARTED, started))
    raw.update(customer_ip_address="203.0.113.9", customer_user_agent=AGENT)
    with caplog.at_level("DEBUG", logger="siren_sync.sources.woocommerce"):
        parsed = parse_order(raw, ("completed",))
    assert (parsed.ref, parsed.ref_at, parsed.value.total) == ("bruno", None, Decimal("20.00"))
    assert [r.getMessage() for r in caplog.records] == [
        "woocommerce: order #45: its order attribution session start time is not a UTC 'YYYY-MM-DD HH:MM:SS'; "
        "its ref engages at the order's creation"]
    assert "203.0.113.9" not in caplog.text and "2026" not in caplog.text


MISSING = object()


@pytest.mark.parametrize("via, customers", [
    ("checkout", True),  # WC_Checkout::create_order: the classic checkout, in the customer's request
    ("store-api", True),  # the Store API's OrderController: the block checkout, in the customer's request
    ("admin", False),  # the admin's new-order screen (posts and HPOS)
    ("rest-api", False),  # POST wc/v3/orders: an app, an integration
    ("subscription", False),  # WooCommerce Subscriptions: a renewal, made by a scheduled action
    ("pos-rest-api", False),  # the WooCommerce app's point of sale
    ("", False),  # wc_create_order without created_via: a plugin's or custom code's, older Subscriptions
    ("kandi-storefront", False),  # a plugin naming itself
    (None, False), (7, False), (MISSING, False),  # not text, or not sent at all
])
def test_only_an_order_the_customer_s_browser_created_keeps_its_address_and_agent(via, customers):
    """WooCommerce records the address and agent of whatever request creates an order: only the
    checkouts' are the customer's. The ref the order names engages it whoever created it."""
    raw = with_meta(order(35), (LANDING, "https://shop.example/?ref=bruno"))
    raw.update(customer_ip_address="203.0.113.9", customer_user_agent=AGENT, created_via=via)
    if via is MISSING:
        del raw["created_via"]
    parsed = parse_order(raw, ("completed",))
    assert parsed.client == (("203.0.113.9", AGENT) if customers else None)
    assert (parsed.ref, parsed.created_via) == ("bruno", via if isinstance(via, str) else None)


def test_the_configured_created_via_names_whose_address_and_agent_are_the_customer_s():
    refs = Refs(visitor_channels=frozenset({"checkout", "kandi-storefront"}))
    mine = ("203.0.113.9", AGENT)
    for via, client in (("kandi-storefront", mine), ("store-api", None), ("checkout", mine)):
        raw = {**order(36), "customer_ip_address": "203.0.113.9", "customer_user_agent": AGENT, "created_via": via}
        assert parse_order(raw, ("completed",), refs=refs).client == client


@pytest.mark.parametrize("change", [
    {"customer_ip_address": "203.0.113.9", "customer_user_agent": ""},  # WooCommerce's default: no agent
    {"customer_ip_address": "", "customer_user_agent": AGENT},
    {"customer_ip_address": None, "customer_user_agent": AGENT},
    {"customer_ip_address": ["203.0.113.9"], "customer_user_agent": AGENT},
])
def test_a_customer_without_both_address_and_agent_is_no_visitor(change):
    assert parse_order({**order(34), "created_via": "checkout", **change}, ("completed",)).client is None


@pytest.mark.parametrize("meta", [
    [("_subscription_renewal", "not a number")], [("_subscription_renewal", 0)], [("_subscription_renewal", True)],
    [("_wc_order_attribution_session_entry", "http://[::1/?ref=alice")],  # not a URL
    [("_wc_order_attribution_session_entry", {"url": "?ref=alice"})],
    [("_wc_order_attribution_session_entry", "https://shop.example/?ref=" + "x" * 201)],
    [("_wc_order_attribution_session_entry", "https://shop.example/?ref=")],
])
def test_unusable_touch_values_are_left_out_and_the_order_still_counts(meta):
    raw = with_meta(order(35, "completed", "20.00", line_items=[line_item(350, 11, "20.00")]), *meta)
    parsed = parse_order(raw, ("completed",))
    assert (parsed.ref, parsed.subscription) == (None, None) and parsed.value.total == Decimal("20.00")
    raw["meta_data"] = "not a list"
    assert parse_order(raw, ("completed",)).ref is None
    del raw["date_created_gmt"]
    assert parse_order(raw, ("completed",)).created is None  # paid at date_paid_gmt: still counted


def test_the_first_renewal_entry_is_the_subscription():
    raw = with_meta(order(36), ("_subscription_renewal", 70), ("_subscription_renewal", "71"))
    assert parse_order(raw, ("completed",)).subscription == 70


def test_every_event_of_an_order_names_it_and_only_the_sale_carries_the_touch():
    raw = sample_refunded_order()  # order 47: paid, fully refunded (its coupon use reversed)
    touch = Touch(visitor="ab" * 16, created_at=utc("2026-08-30T12:49:07"))
    events = order_events(parse_order(raw, ("completed",)), {85: utc("2026-09-04T12:49:07")}, ATTRIBUTION, touch)
    assert {e.key: e.order_id for e in events} == {
        "woocommerce:sale:47": 47, "woocommerce:boundCouponUsed:47:david20": 47,
        "woocommerce:collaboratorProductSold:47:64": 47, "woocommerce:refund:47:85": 47,
        "woocommerce:boundCouponUsed:47:david20:reversal": 47,
        "woocommerce:collaboratorProductSold:47:64:reversal": 47}
    assert {e.key for e in events if e.touch is not None} == {"woocommerce:sale:47"}
    assert events[0].touch is touch


def test_a_quarantined_order_keeps_no_address_or_agent():
    raw = with_meta(order(37), ("_wc_order_attribution_user_agent", AGENT), ("_wc_order_attribution_source_type",
                                                                              "typein"))
    raw.update(customer_ip_address="203.0.113.9", customer_user_agent=AGENT)
    kept = without_private_fields(raw)
    assert "customer_ip_address" not in kept and "customer_user_agent" not in kept and AGENT not in repr(kept)
    assert kept["meta_data"] == [{"id": 901, "key": "_wc_order_attribution_source_type", "value": "typein"}]
    assert kept["total"] == raw["total"] and raw["customer_ip_address"] == "203.0.113.9"  # the original is kept
    assert without_private_fields(["not", "an", "order"]) == ["not", "an", "order"]
