"""sources/woocommerce.py against a fake WooCommerce site shaped on the real samples (no network)."""
from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from zoneinfo import ZoneInfo

import pytest
import responses
from tests.support.payloads import (
    HTTP_URL,
    HTTPS_URL,
    KEY,
    SECRET,
    FakeContext,
    FakeShop,
    Interrupted,
    bulk_orders,
    coupon_line,
    fee_line,
    line_item,
    order,
    refund_detail,
    sample_page_orders,
    sample_partial_refund_detail,
    sample_partial_refund_order,
    sample_refunded_detail,
    sample_refunded_order,
    utc,
)

from siren_sync.errors import ConfigError, SyncError
from siren_sync.sources.base import Attribution
from siren_sync.sources.http import RetryPolicy
from siren_sync.sources.woocommerce import WooCommerceOAuth1, WooCommerceSource, parse_order
from siren_sync.sources.woocommerce.walk import order_params

NOW = utc("2026-11-23T05:00:00")
ATTRIBUTION = Attribution(by_coupon={"david20": "david"}, by_product={13: "erin", 15: "frank"})


@pytest.fixture
def rsps():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def make_shop(rsps, url=HTTPS_URL, **kw) -> FakeShop:
    return FakeShop(url, **kw).install(rsps)


def source(url=HTTPS_URL, **options) -> WooCommerceSource:
    return WooCommerceSource(url, KEY, SECRET, options=options, overlap=300, sleep=lambda s: None,
                             retry=RetryPolicy(attempts=3, total=60))


def context(**kw) -> FakeContext:
    kw.setdefault("now", NOW)
    kw.setdefault("attribution", ATTRIBUTION)
    return FakeContext(**kw)


def walk_cursor(ctx) -> dict:
    """The source's cursor without the statuses it covered (those have tests of their own)."""
    return {k: v for k, v in ctx.cursors["woocommerce"].items() if k != "statuses"}


def orders_params(shop):
    return [params for method, path, params in shop.requests if method == "GET" and path == "wc/v3/orders"]


# -- authentication --------------------------------------------------------------------------------

def test_oauth_over_http_signs_each_request(rsps):
    shop = make_shop(rsps, HTTP_URL)  # verifies the HMAC-SHA256 signature like WooCommerce does
    shop.add(sample_partial_refund_order(), *sample_page_orders())
    ctx = context()
    source(HTTP_URL, per_page=2).sync(ctx)
    assert shop.count("wc/v3/orders") == 2 and ctx.keys("woocommerce:sale:") != []
    nonces = set()
    assert len(shop.urls) == 3  # the listing described (OPTIONS), then two pages
    for url in shop.urls:
        assert url.count("oauth_signature=") == 1 and url.count("per_page=") <= 1
        assert SECRET not in url and "consumer_secret" not in url
        nonces.add(url.split("oauth_nonce=")[1].split("&")[0])
    assert len(nonces) == len(shop.urls)


def test_oauth_retry_is_signed_again(rsps):
    shop = make_shop(rsps, HTTP_URL)
    shop.add(*sample_page_orders())
    shop.fail("wc/v3/orders", 503, "<html><title>Busy</title></html>")
    source(HTTP_URL).sync(context())
    pages = [url for method, url in zip((m for m, _, _ in shop.requests), shop.urls) if method == "GET"]
    assert len(pages) == 2
    assert pages[0].split("oauth_nonce=")[1][:20] != pages[1].split("oauth_nonce=")[1][:20]


def test_basic_auth_over_https(rsps):
    shop = make_shop(rsps, HTTPS_URL)
    shop.add(*sample_page_orders())
    source(HTTPS_URL).sync(context())
    call = rsps.calls[0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert "oauth_" not in call.request.url and KEY not in call.request.url


def test_plain_http_uses_oauth_even_on_loopback():
    # WooCommerce refuses Basic auth over plain http, loopback included (apis.md section 7).
    src = WooCommerceSource("http://127.0.0.1:8080", KEY, SECRET)
    assert isinstance(src.http.auth, WooCommerceOAuth1)
    assert SECRET not in repr(src.http.auth)


def test_missing_keys_is_a_config_error():
    with pytest.raises(ConfigError, match="consumer_key and consumer_secret"):
        WooCommerceSource(HTTPS_URL, "", SECRET)


def test_from_config():
    secret = lambda v: SimpleNamespace(value=v)  # noqa: E731 - config.Secret's shape
    config = SimpleNamespace(
        site=SimpleNamespace(url=HTTPS_URL, verify_tls="/etc/ssl/ca.pem", wc_key=secret(KEY), wc_secret=secret(SECRET)),
        sync=SimpleNamespace(overlap=120.0, sources={"woocommerce": SimpleNamespace(
            enabled=True, every=None, options={"paid_statuses": ["completed"], "per_page": 50, "refunds": "orders"})}),
        distributors={"d": SimpleNamespace(filters=SimpleNamespace(in_categories=(16,)))})
    src = WooCommerceSource.from_config(config)
    assert src.paid_statuses == ("completed",) and src.per_page == 50 and src.refunds.mode == "orders"
    assert src.needs_categories
    assert src.overlap == timedelta(seconds=120) and src.http.verify == "/etc/ssl/ca.pem"
    assert src.http.timeout == (10.0, 30.0)


# -- what an order becomes ---------------------------------------------------------------------------

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


def test_request_parameters(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    source(paid_statuses=["processing", "completed", "shipped"]).sync(context())
    params = orders_params(shop)[0]
    assert params["orderby"] == "modified" and params["order"] == "asc" and params["dates_are_gmt"] == "true"
    assert params["per_page"] == "100" and params["page"] == "1" and "modified_after" not in params
    statuses = params["status"].split(",")
    assert "trash" in statuses and "any" not in statuses and "shipped" in statuses and "cancelled" in statuses
    assert set(params["_fields"].split(",")) >= {"id", "total", "date_paid_gmt", "date_modified_gmt", "refunds",
                                                 "line_items", "coupon_lines", "fee_lines"}


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


def test_refund_after_the_period_closed_is_fetched(rsps):
    shop = make_shop(rsps)
    raw = sample_partial_refund_order()
    raw["date_modified"] = raw["date_modified_gmt"] = "2026-10-09T08:00:00"  # a note added later still
    shop.add(raw)
    shop.add_refund(refund_detail(89, 26, "79.20", "2026-10-02T09:30:00"), 26)
    ctx = context()
    source().sync(ctx)
    assert shop.count("wc/v3/refunds") == 1
    assert orders_params(shop) and [p for m, path, p in shop.requests if path == "wc/v3/refunds"][0]["include"] == "89"
    refund = ctx.events["woocommerce:refund:26:89"]
    assert refund.at == utc("2026-10-02T09:30:00")
    assert ctx.events["woocommerce:sale:26"].at == utc("2026-09-13T10:51:33")


def test_refund_dates_per_order_before_woocommerce_9(rsps):
    shop = make_shop(rsps, refunds_route=False)
    first, second = sample_refunded_order(), sample_partial_refund_order()
    second["date_modified"] = second["date_modified_gmt"] = "2026-10-01T00:00:05"
    shop.add(first, second)
    shop.add_refund(sample_refunded_detail(), 47)
    shop.add_refund(refund_detail(89, 26, "79.20", "2026-09-30T23:59:00"), 26)
    src = source()
    ctx = context()
    src.sync(ctx)
    assert shop.count("wc/v3/refunds") == 1  # probed once, answered rest_no_route
    assert shop.count(r"wc/v3/orders/\d+/refunds") == 2
    assert ctx.events["woocommerce:refund:47:85"].at == utc("2026-09-04T12:49:07")
    assert ctx.events["woocommerce:refund:26:89"].at == utc("2026-09-30T23:59:00")
    shop.modify(47, "2026-11-01T00:00:00")
    src.sync(context(cursors=ctx.cursors))
    assert shop.count("wc/v3/refunds") == 1 and shop.count(r"wc/v3/orders/\d+/refunds") == 3


def test_refunds_mode_orders_never_asks_the_bulk_route(rsps):
    shop = make_shop(rsps)
    shop.add(sample_refunded_order())
    shop.add_refund(sample_refunded_detail(), 47)
    source(refunds="orders").sync(context())
    assert shop.count("wc/v3/refunds") == 0 and shop.count(r"wc/v3/orders/47/refunds") == 1


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


def test_bad_orders_are_quarantined_and_the_rest_goes_on(rsps):
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
    shop.add(good, no_total, bad_total, bad_date, float_total, last)
    shop.orders[-1] = no_id
    ctx = context()
    report = source().sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:100", "woocommerce:sale:106"]
    where = {w: r for w, r, _ in ctx.quarantined}
    assert where == {"wc/v3/orders #101": "missing total",
                     "wc/v3/orders #102": "total is 'ten euros', not a number",
                     "wc/v3/orders #103": "date_paid_gmt is '13/09/2026', not a date",
                     "wc/v3/orders #105": "total is 10.0, not a decimal string",
                     "wc/v3/orders #?": "missing id"}
    assert report.quarantined == 5 and ctx.quarantined[0][2]["id"] == 101
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-01T00:00:07+00:00"


def test_order_seen_twice_records_nothing_new(rsps):
    shop = make_shop(rsps)
    shop.add(sample_partial_refund_order(), sample_refunded_order(), *sample_page_orders())
    shop.add_refund(sample_partial_refund_detail(), 26)
    shop.add_refund(sample_refunded_detail(), 47)
    ctx = context()
    src = source()
    first = src.sync(ctx)
    assert first.events == len(ctx.events) > 0
    second = src.sync(ctx)  # re-reads the overlap window
    assert second.events == 0 and second.records >= 1
    backfill = src.sync(ctx, since=utc("2026-08-01T00:00:00"))  # everything again
    assert backfill.events == 0 and backfill.records == 4
    # a spurious modification (HPOS bumps date_modified when an order is opened) adds nothing either
    shop.modify(60, "2026-11-01T09:00:00")
    assert src.sync(ctx).events == 0


def test_incremental_sync_starts_at_cursor_minus_overlap_and_skips_seen(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    ctx = context(cursors={"woocommerce": {"modified_gmt": "2026-09-04T01:18:02+00:00",
                                           "seen": [[60, "2026-09-04T01:18:02"]]}})
    report = source().sync(ctx)
    assert orders_params(shop)[0]["modified_after"] == "2026-09-04T01:13:02"
    assert report.records == 1 and report.events == 0 and ctx.events == {}


def test_cursor_is_capped_at_the_sync_start(rsps):
    shop = make_shop(rsps)
    shop.add(order(110, "completed", "10.00", paid="2026-11-22T23:00:00"),
             order(111, "completed", "20.00", paid="2026-11-23T04:59:59"),
             order(112, "completed", "30.00", paid="2026-11-23T05:00:07"))  # modified while we read
    ctx = context()
    source().sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:110", "woocommerce:sale:111", "woocommerce:sale:112"]
    assert walk_cursor(ctx) == {"modified_gmt": "2026-11-23T05:00:00+00:00", "seen": []}


def test_order_modified_during_the_sync_moves_to_the_end_and_nothing_is_skipped(rsps):
    shop = make_shop(rsps)
    for i in range(7):
        shop.add(order(200 + i, "processing", f"{10 + i}.00", paid=f"2026-09-0{i + 1}T10:00:00"))

    def refund_first_order_after_first_page(shop, n):
        if n == 2:  # between the first and the second request, order 200 is cancelled
            shop.modify(200, "2026-09-20T00:00:00", status="cancelled")

    shop.before_orders.append(refund_first_order_after_first_page)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{200 + i}" for i in range(7)]
    assert ctx.events["woocommerce:cancel:200"].share == -1
    afters = [p.get("modified_after") for p in orders_params(shop)]
    assert afters[0] is None and afters[1] == "2026-09-03T09:59:59"  # page 1 again, from the last item
    assert all(p["page"] == "1" for p in orders_params(shop))
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-20T00:00:00+00:00"


def test_plain_page_numbers_would_have_skipped(rsps):
    """The same change against naive `page=N` paging loses an order: what the cursor design prevents."""
    shop = make_shop(rsps)
    for i in range(7):
        shop.add(order(200 + i, "processing", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    src = source()
    first = src.http.page("wc/v3/orders", order_params(src.statuses.current, None), 1, 3)
    shop.modify(200, "2026-09-20T00:00:00", status="cancelled")
    rest = [o["id"] for n in (2, 3) for o in src.http.page("wc/v3/orders", order_params(src.statuses.current, None), n, 3).items]
    assert 203 not in [o["id"] for o in first.items] + rest


def bulk_edit(shop, count=8, at="2026-09-05T12:00:00"):
    """`count` orders modified in the same second (a bulk action), and two later orders."""
    for i in range(count):
        shop.add(order(300 + i, "completed", "10.00", paid="2026-09-01T10:00:00", modified=at))
    shop.add(order(320, "completed", "10.00", paid="2026-09-06T10:00:00"),
             order(321, "completed", "10.00", paid="2026-09-07T10:00:00"))


def test_a_page_within_one_second_reads_that_second_alone(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 10
    asked = [(p.get("modified_after"), p.get("modified_before"), p["orderby"], p["page"]) for p in orders_params(shop)]
    second = ("2026-09-05T11:59:59", "2026-09-05T12:00:01", "date")
    assert asked == [(None, None, "modified", "1"), ("2026-09-05T11:59:59", None, "modified", "1"),
                     (*second, "1"), (*second, "2"), (*second, "3"),
                     ("2026-09-05T12:00:00", None, "modified", "1")]
    assert walk_cursor(ctx) == {"modified_gmt": "2026-09-07T10:00:00+00:00",
                                          "seen": [[321, "2026-09-07T10:00:00"]]}


@pytest.mark.parametrize("read_ahead", [True, False])
def test_no_order_of_a_bulk_edit_is_lost_when_the_database_orders_ties_per_page(rsps, read_ahead):
    """WooCommerce sorts `orderby=modified` by the time alone; MySQL may put equal rows in another order
    for each LIMIT offset. Paging such a second by number repeats some orders and never shows others."""
    shop = make_shop(rsps, mixed_ties=True)
    bulk_edit(shop, count=12)
    src = source(per_page=3)
    by_number = {o["id"] for n in range(1, 5) for o in src.http.page(
        "wc/v3/orders", order_params(src.statuses.current, datetime(2026, 9, 5, 11, 59, 59, tzinfo=UTC)), n, 3).items}
    assert len(by_number - {320, 321}) < 12  # what paging on by number would have read
    ctx = context()
    WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 3}, sleep=lambda s: None,
                      read_ahead=read_ahead).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == sorted(f"woocommerce:sale:{i}" for i in [*range(300, 312), 320, 321])


def test_an_order_edited_out_of_the_second_being_read_starts_that_second_again(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop)
    ids = []

    def edit_during_the_second(shop, n):
        params = shop.requests[-1][2]
        ids.append((params["orderby"], params["page"]))
        if ids == [("modified", "1"), ("modified", "1"), ("date", "1"), ("date", "2")]:
            shop.modify(300, "2026-09-06T12:00:00", status="cancelled")  # leaves the second: offsets shift

    shop.before_orders.append(edit_during_the_second)
    ctx = context()
    source(per_page=3).sync(ctx)
    # Without starting over, order 306 (the first of page 3 before the shift) would never be read.
    assert len(ctx.keys("woocommerce:sale:")) == 10
    assert "woocommerce:cancel:300" in ctx.events
    assert ids[:6] == [("modified", "1"), ("modified", "1"), ("date", "1"), ("date", "2"), ("date", "1"),
                       ("date", "2")]


def one_leaves_on_each_window_page(shop, ids):
    """A hook: before each page of a window (`orderby=date`) the next of `ids` is cancelled out of it."""
    leaving = iter(ids)

    def hook(shop, n):
        oid = next(leaving, None) if shop.requests[-1][2]["orderby"] == "date" else None
        if oid is not None:
            shop.modify(oid, "2026-09-06T12:00:00", status="cancelled")

    shop.before_orders.append(hook)


def test_orders_leaving_the_second_on_every_page_step_the_walk_back_and_none_is_lost(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop, count=12)
    one_leaves_on_each_window_page(shop, range(300, 306))
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 14
    assert ctx.keys("woocommerce:cancel:") == [f"woocommerce:cancel:{i}" for i in range(300, 306)]


def test_a_second_whose_orders_keep_leaving_stops_the_sync_with_the_cursor_before_it(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop, count=80)
    one_leaves_on_each_window_page(shop, range(300, 380))
    ctx = context()
    with pytest.raises(SyncError, match=r"wc/v3/orders: the orders modified at 2026-09-05T12:00:00 kept changing"):
        source(per_page=3).sync(ctx)
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-05T12:00:00+00:00"


def test_a_second_read_without_counts_is_read_twice(rsps):
    """A proxy that drops X-WP-Total: a move cannot be seen from the counts, so the window is read again."""
    shop = make_shop(rsps)
    bulk_edit(shop)
    answer = shop._collection  # the shop's answers, without the count headers
    shop._collection = lambda items, params, path: _without_counts(answer(items, params, path))
    moved = []

    def edit_one_out(shop, n):
        params = shop.requests[-1][2]
        if params["orderby"] == "date" and params["page"] == "2" and not moved:
            moved.append(shop.modify(300, "2026-09-06T12:00:00", status="cancelled"))

    shop.before_orders.append(edit_one_out)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 10


def _without_counts(answer):
    status, headers, body = answer
    return status, {k: v for k, v in headers.items() if k not in ("X-WP-Total", "X-WP-TotalPages")}, body


def test_each_bulk_edited_second_has_its_own_tries(rsps):
    shop = make_shop(rsps)
    seconds = {"2026-09-05T11:59:59": list(range(300, 308)), "2026-09-06T11:59:59": list(range(400, 408))}
    for ids, at in zip(seconds.values(), ("2026-09-05T12:00:00", "2026-09-06T12:00:00")):
        for oid in ids:
            shop.add(order(oid, "completed", "10.00", paid="2026-09-01T10:00:00", modified=at))

    def edit_three_out_of_each_second(shop, n):
        params = shop.requests[-1][2]
        ids = seconds.get(params.get("modified_after"))
        if params["orderby"] == "date" and params["page"] == "2" and ids and len(ids) > 5:
            shop.modify(ids.pop(), "2026-09-08T12:00:00")  # leaves the second: it is read again from page 1

    shop.before_orders.append(edit_three_out_of_each_second)
    ctx = context()
    source(per_page=3).sync(ctx)  # 6 restarts in all, 3 per second: the limit is each second's
    assert len(ctx.keys("woocommerce:sale:")) == 16


@pytest.mark.parametrize("storage", ["posts", "hpos"])
def test_no_order_is_skipped_when_the_clocks_go_back(rsps, storage):
    """New York, 2026-11-01: 01:00-02:00 happens twice. Orders stored as posts are sorted by their local
    modification time, so GMT times go back and forth across pages; HPOS sorts by GMT."""
    new_york = ZoneInfo("America/New_York")
    shop = make_shop(rsps, local_tz=new_york if storage == "posts" else None)
    # local 01:05 EDT, 01:07 EST, 01:10 EDT, 01:15 EST, 01:20 EDT, then 03:00 EST
    times = ["2026-11-01T05:05:00", "2026-11-01T06:07:00", "2026-11-01T05:10:00", "2026-11-01T06:15:00",
             "2026-11-01T05:20:00", "2026-11-01T08:00:00"]
    for i, at in enumerate(times):
        shop.add(order(500 + i, "processing", "10.00", paid=at))
    ctx = context(now=datetime(2026, 11, 2, tzinfo=UTC))
    report = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                               site_tz=new_york).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{500 + i}" for i in range(6)]
    assert report.events == 6 and ctx.cursors["woocommerce"]["modified_gmt"] == "2026-11-01T08:00:00+00:00"


def test_an_order_edited_during_a_walk_through_the_repeated_hour_does_not_hide_another(rsps):
    """New York, 2026-11-01, a sync at 06:15Z from a cursor at 06:10Z (01:10 EST, the repeated hour).
    The bound before a page ending in that hour steps back to its first occurrence; paging on by
    number there lost the order that moved up when order 800, already read, was completed."""
    shop = make_shop(rsps)
    for i, at in enumerate(["06:06:00", "06:07:00", "06:08:00", "06:09:00", "06:11:00", "06:12:00"]):
        shop.add(order(800 + i, "processing", "10.00", paid=f"2026-11-01T{at}"))

    def complete_800_after_the_first_page(shop, n):
        if n == 2:
            shop.modify(800, "2026-11-01T06:15:01", status="completed")

    shop.before_orders.append(complete_800_after_the_first_page)
    ctx = context(now=utc("2026-11-01T06:15:00"),
                  cursors={"woocommerce": {"modified_gmt": "2026-11-01T06:10:00+00:00", "seen": []}})
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                            site_tz=ZoneInfo("America/New_York"), read_ahead=False)
    src.sync(ctx)
    shop.before_orders.clear()
    ctx.now = utc("2026-11-01T06:20:00")
    src.sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{i}" for i in range(800, 806)]


def test_a_sync_stopped_in_the_repeated_hour_leaves_its_cursor_before_what_it_has_not_read(rsps):
    """Orders stored as posts, New York, 2026-11-01: after a page ending at 01:07 EST (06:07Z) the next
    query starts at the first 01:07 (05:06:59Z). A page failing there must not leave the cursor at
    06:07Z, or the orders between would never be read."""
    new_york = ZoneInfo("America/New_York")
    shop = make_shop(rsps, local_tz=new_york)
    times = ["05:05:00", "06:07:00", "05:10:00", "06:15:00", "05:20:00", "05:40:00", "06:50:00"]
    for i, at in enumerate(times):
        shop.add(order(500 + i, "processing", "10.00", created=f"2026-10-31T10:0{i}:00", paid=f"2026-11-01T{at}"))

    def fail_the_second_page(shop, n):
        if n == 2:
            for _ in range(3):
                shop.fail("wc/v3/orders", 503, "<html><title>503</title></html>")

    shop.before_orders.append(fail_the_second_page)
    ctx = context(now=utc("2026-11-02T00:00:00"),
                  cursors={"woocommerce": {"modified_gmt": "2026-11-01T05:00:00+00:00", "seen": []}})
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                            retry=RetryPolicy(attempts=3, total=60), site_tz=new_york)
    with pytest.raises(SyncError):
        src.sync(ctx)
    assert walk_cursor(ctx)["modified_gmt"] <= "2026-11-01T05:07:00+00:00"
    shop.before_orders.clear()
    ctx.now = utc("2026-11-02T01:00:00")
    src.sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{500 + i}" for i in range(len(times))]


def test_truncated_page_raises_and_cursor_stays_at_last_committed_page(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(400 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    ctx = context()
    src = source(per_page=2)

    def truncate_second_page(shop, n):
        if n in (2, 3, 4):  # every attempt at the second page is cut short
            shop.fail("wc/v3/orders", 200, '[{"id": 402, "status": "compl')

    shop.before_orders.append(truncate_second_page)
    with pytest.raises(SyncError, match=r"wc/v3/orders: HTTP 200 sent .*gave up after 3 attempts"):
        src.sync(ctx)
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-02T10:00:00+00:00"
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:400", "woocommerce:sale:401"]
    shop.before_orders.clear()
    src.sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 5
    assert orders_params(shop)[-3]["modified_after"] == "2026-09-02T09:55:00"  # resumed at cursor - overlap


def test_interrupted_backfill_resumes_at_committed_cursor(rsps):
    shop = make_shop(rsps)
    for i in range(6):
        shop.add(order(500 + i, "completed", "10.00", paid=f"2026-10-0{i + 1}T10:00:00"))
    ctx = context(cursors={"woocommerce": {"modified_gmt": "2026-11-20T00:00:00+00:00", "seen": []}},
                  interrupt_after=1)
    src = source(per_page=2, read_ahead=False)  # strict sequencing: no page read ahead of the interruption
    with pytest.raises(Interrupted):
        src.sync(ctx, since=utc("2026-09-01T00:00:00"))
    assert orders_params(shop)[0]["modified_after"] == "2026-09-01T00:00:00"
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-10-02T10:00:00+00:00"
    ctx.interrupt_after = None
    src.sync(ctx)
    assert orders_params(shop)[2]["modified_after"] == "2026-10-02T09:55:00"
    assert len(ctx.keys("woocommerce:sale:")) == 6


def test_progress_is_reported_per_page(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(600 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    ctx = context()
    report = source(per_page=2).sync(ctx)
    # each page but the last ends with an order read again (page 1 again from the last item's second)
    assert [c[1] for c in ctx.progress_calls] == [1, 2, 3, 4]
    assert ctx.progress_calls[0] == ("woocommerce", 1, 3, 2) and ctx.progress_calls[-1] == ("woocommerce", 4, 4, 8)
    assert report.pages == 4 and len(ctx.keys("woocommerce:sale:")) == 5


def test_empty_shop_commits_nothing(rsps):
    make_shop(rsps)
    ctx = context()
    report = source().sync(ctx)
    assert ctx.commits == [] and report.records == 0 and report.pages == 1


@pytest.mark.parametrize("count,refunds", [(2000, 130), pytest.param(20000, 1300, marks=pytest.mark.bench)])
def test_backfill_request_budget(rsps, count, refunds):
    """A first backfill with refunds makes at most 1.25x the requests of reading the orders alone."""
    shop = make_shop(rsps, lean=True)
    orders, details = bulk_orders(count, refunds, start=utc("2025-01-01T00:00:00"))
    shop.add(*orders)
    for detail, oid in details:
        shop.add_refund(detail, oid)
    ctx = context(now=utc("2026-12-01T00:00:00"))
    src = source()
    report = src.sync(ctx)
    order_requests = shop.count("wc/v3/orders")
    assert len(ctx.keys("woocommerce:sale:")) == count and len(ctx.keys("woocommerce:refund:")) == refunds
    assert order_requests <= count / 99 + 2
    assert len(shop.requests) <= 1.25 * order_requests, (len(shop.requests), order_requests)
    assert report.detail["requests"] == len(shop.requests)
    crossing = [e for k, e in ctx.events.items() if k.startswith("woocommerce:refund:")]
    assert all(e.at != ctx.events[f"woocommerce:sale:{k.split(':')[2]}"].at for k, e in
               ((e.key, e) for e in crossing))


# -- check -------------------------------------------------------------------------------------------

def test_check_rows(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    rows = source().check()
    assert [(what, ok) for what, ok, _ in rows] == [("woocommerce reachable", True),
                                                    ("woocommerce authenticated", True),
                                                    ("woocommerce modified_after", True),
                                                    ("woocommerce statuses", True),
                                                    ("woocommerce refunds", True), ("woocommerce orders", True)]
    assert "WooCommerce 9.4.2" in rows[2][2] and rows[5][2].startswith("2 orders")
    assert "sync.woocommerce.extra_statuses" in rows[3][2]  # this shop does not list its statuses


SITE_STATUSES = ("any", "trash", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                 "checkout-draft", "shipped", "delivered")


def test_the_sync_reads_the_order_statuses_plugins_add(rsps):
    """A shipment plugin's `shipped`: an order moved there and then partly refunded still counts the
    refund. The statuses come from the orders listing's own description (OPTIONS)."""
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    shop.add(order(600, "processing", "40.00", paid="2026-09-02T10:00:00"))
    src = source()
    ctx = context()
    src.sync(ctx)
    shop.modify(600, "2026-09-03T10:00:00", status="shipped")
    shop.modify(600, "2026-09-04T10:00:00", refunds=[{"id": 601, "reason": "", "total": "-10.00"}])
    src.sync(ctx)
    assert ctx.keys("woocommerce:refund:600:") == ["woocommerce:refund:600:601"]
    statuses = orders_params(shop)[-1]["status"].split(",")
    assert "shipped" in statuses and "delivered" in statuses
    assert "any" not in statuses and "checkout-draft" not in statuses
    assert [m for m, path, _ in shop.requests if path == "wc/v3/orders"] == ["OPTIONS", "GET"] * 2  # each sync


def test_a_status_plugin_installed_later_has_its_earlier_orders_read_once(rsps):
    """The orders that moved into `shipped` before the sync knew the status are never modified again:
    the next sync reads every order in it once, then walks on from its cursor as before."""
    shop = make_shop(rsps, statuses=SITE_STATUSES[:10])  # no plugin yet
    shop.add(order(700, "processing", "30.00", paid="2026-09-02T10:00:00"))
    src, ctx = source(), context()
    src.sync(ctx)
    shop.statuses = SITE_STATUSES  # the shipment plugin is switched on; an order moves and is refunded
    orders_behind_the_cursor_in_shipped(shop, ctx)
    src.sync(ctx)
    assert ctx.keys("woocommerce:refund:700:") == ["woocommerce:refund:700:701"]
    assert "woocommerce:sale:710" in ctx.events
    assert ctx.cursors["woocommerce"]["statuses"] == [s for s in SITE_STATUSES if s not in ("any", "checkout-draft")]
    asked = len(orders_params(shop))
    src.sync(ctx)
    assert all("modified_after" in p for p in orders_params(shop)[asked:])  # read once, not at every sync


def test_a_sync_without_the_site_description_reads_the_statuses_its_cursor_read(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    shop.add(order(600, "processing", "40.00", paid="2026-09-02T10:00:00"))
    src, ctx = source(), context()
    src.sync(ctx)
    shop.options_refused = True  # once (a hiccup, or a WAF rule): one try, then the statuses known
    asked = len(shop.requests)
    source().sync(ctx)
    options = [m for m, path, _ in shop.requests[asked:] if m == "OPTIONS"]
    listings = [p for m, path, p in shop.requests[asked:] if m == "GET" and path == "wc/v3/orders"]
    assert len(options) == 1 and len(listings) == 1  # no second reading of every order in `shipped`
    assert "shipped" in listings[0]["status"].split(",") and "modified_after" in listings[0]


def orders_behind_the_cursor_in_shipped(shop, ctx):
    """Order 700 moved to `shipped` and refunded, 710 paid straight into it: both behind the cursor."""
    shop.modify(700, "2026-09-03T10:00:00", status="shipped", refunds=[{"id": 701, "reason": "", "total": "-5.00"}])
    shop.add(order(710, "shipped", "20.00", paid="2026-09-03T11:00:00", modified="2026-09-03T11:00:00"))
    ctx.cursors["woocommerce"]["modified_gmt"] = "2026-09-10T00:00:00+00:00"


def test_a_status_added_to_the_config_on_a_host_refusing_options_is_caught_up(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES, options_refused=True)
    shop.add(order(700, "processing", "30.00", paid="2026-09-02T10:00:00"))
    ctx = context()
    source().sync(ctx)
    orders_behind_the_cursor_in_shipped(shop, ctx)
    source(extra_statuses=["shipped"]).sync(ctx)  # what the README tells such a host to do
    assert ctx.keys("woocommerce:refund:700:") == ["woocommerce:refund:700:701"]
    assert "woocommerce:sale:710" in ctx.events


@pytest.mark.parametrize("since", [None, datetime(2026, 9, 5, tzinfo=UTC)])
def test_the_catch_up_steps_back_when_orders_leave_the_status_and_runs_before_a_backfill(rsps, since):
    shop = make_shop(rsps, statuses=SITE_STATUSES[:10])
    shop.add(order(700, "processing", "30.00", created="2026-09-02T09:00:00", paid="2026-09-02T10:00:00"))
    src, ctx = source(per_page=2), context()
    src.sync(ctx)
    shop.statuses = SITE_STATUSES
    orders_behind_the_cursor_in_shipped(shop, ctx)
    for i in range(720, 726):
        shop.add(order(i, "shipped", "20.00", created=f"2026-09-04T1{i - 720}:00:00",
                       paid=f"2026-09-04T1{i - 720}:00:00", modified="2026-09-04T20:00:00"))
    moved = []

    def complete_700_after_the_first_page(shop, n):
        params = shop.requests[-1][2]
        if "modified_after" not in params and params["page"] == "2" and not moved:
            moved.append(shop.modify(700, "2026-09-11T10:00:00", status="completed"))

    shop.before_orders.append(complete_700_after_the_first_page)
    src.sync(ctx, since=since)
    assert ctx.keys("woocommerce:refund:700:") == ["woocommerce:refund:700:701"]
    assert {f"woocommerce:sale:{i}" for i in (710, *range(720, 726))} <= set(ctx.events)


def test_a_status_switched_off_is_no_longer_asked_for(rsps):
    """WooCommerce refuses a listing that names a status it does not have (400): a plugin switched off
    while the worker runs must not stop every sync."""
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    shop.add(order(600, "processing", "40.00", paid="2026-09-02T10:00:00"))
    src, ctx = source(), context()
    src.sync(ctx)
    shop.statuses = SITE_STATUSES[:10]
    shop.add(order(601, "processing", "40.00", paid="2026-09-05T10:00:00"))
    src.sync(ctx)
    assert "woocommerce:sale:601" in ctx.events
    assert "shipped" not in orders_params(shop)[-1]["status"].split(",")


def test_an_order_read_in_the_second_it_is_still_changing_in_is_read_again(rsps):
    """Checkout creates the order unpaid and the gateway marks it paid within the same second: a sync
    reading it in between must not remember (id, that second) as seen, or the paid version, with the
    same date_modified_gmt, would be skipped by every later sync."""
    shop = make_shop(rsps)
    shop.add(order(900, "pending", "50.00", created="2026-11-23T10:00:00", paid=None, modified="2026-11-23T10:00:00"))
    src, ctx = source(), context(now=utc("2026-11-23T10:00:00"))
    src.sync(ctx)
    assert ctx.cursors["woocommerce"]["seen"] == []
    shop.orders[900].update(status="processing", date_paid="2026-11-23T10:00:00",
                            date_paid_gmt="2026-11-23T10:00:00")
    ctx.now = utc("2026-11-23T10:05:00")
    src.sync(ctx)
    assert "woocommerce:sale:900" in ctx.events


def test_a_site_that_does_not_describe_its_orders_keeps_the_configured_statuses(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES, options_refused=True)
    shop.add(order(600, "processing", "40.00", paid="2026-09-02T10:00:00"))
    ctx = context()
    source(extra_statuses=["shipped"]).sync(ctx)
    statuses = orders_params(shop)[-1]["status"].split(",")
    assert "shipped" in statuses and "delivered" not in statuses and ctx.keys("woocommerce:sale:")


def test_check_names_the_order_statuses_found_on_the_site_and_lists_the_orders_in_them(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    shop.add(order(600, "shipped", "40.00", paid="2026-09-02T10:00:00"))
    rows = {what: (ok, detail) for what, ok, detail in source(paid_statuses=["completed", "gone"]).check()}
    assert rows["woocommerce reachable"][0] and rows["woocommerce orders"][1].startswith("1 orders")
    assert rows["woocommerce statuses"] == (True, "every order status of the site is read (10), among them "
                                                  "shipped, delivered, found on the site")


def test_check_warns_that_woocommerce_before_7_6_may_not_mark_a_refunded_order_modified(rsps):
    make_shop(rsps, refunds_route=False, version="7.2.3")
    rows = {what: (ok, detail) for what, ok, detail in source().check()}
    ok, detail = rows["woocommerce modified_after"]
    assert ok and detail.endswith("before 7.6 a partial refund may leave its order unmodified, so the sync "
                                  "can miss it: update WooCommerce")


def test_check_old_woocommerce(rsps):
    shop = make_shop(rsps, refunds_route=False, version="8.2.2")
    rows = dict((what, (ok, detail)) for what, ok, detail in source().check())
    assert rows["woocommerce refunds"][0] is True and "WooCommerce < 9.0" in rows["woocommerce refunds"][1]
    assert rows["woocommerce modified_after"] == (True, "WooCommerce 8.2.2: orders accept modified_after and "
                                                        "dates_are_gmt")
    assert shop.count("wc/v3/refunds") == 1


def test_check_401_hint_without_secrets(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    FakeShop(HTTPS_URL, secret="cs_another_secret_entirely_000000000000000").install(rsps)
    rows = source().check()
    assert rows[0][:2] == ("woocommerce reachable", True)
    what, ok, detail = rows[1]
    assert (what, ok) == ("woocommerce authenticated", False)
    assert detail.startswith("wc/v3/orders: 401 woocommerce_rest_cannot_view: Sorry, you cannot list resources.")
    assert "consumer_key" in detail and "Authorization header" in detail
    assert KEY not in detail and SECRET not in detail and SECRET not in caplog.text and KEY not in caplog.text


def test_check_unreachable(rsps):
    rows = WooCommerceSource("https://elsewhere.example", KEY, SECRET, sleep=lambda s: None,
                             retry=RetryPolicy(attempts=2, total=10)).check()
    assert rows == [("woocommerce reachable", False, rows[0][2])] and rows[0][2].startswith("wc/v3/orders: ")


# -- secrets -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("url", [HTTP_URL, HTTPS_URL])
def test_secrets_never_logged_or_stored(rsps, caplog, url):
    caplog.set_level(logging.DEBUG)
    shop = make_shop(rsps, url)
    shop.add(sample_partial_refund_order(), sample_refunded_order(), *sample_page_orders())
    shop.add_refund(sample_refunded_detail(), 47)
    shop.fail("wc/v3/orders", 429, {"code": "too_many", "message": "slow down", "data": {"status": 429}},
              {"Retry-After": "1"})
    ctx = context()
    src = source(url)
    src.sync(ctx)
    shop.fail("wc/v3/orders", 401, {"code": "woocommerce_rest_authentication_error",
                                    "message": "Invalid signature - provided signature does not match.",
                                    "data": {"status": 401}})
    with pytest.raises(SyncError) as info:
        src.sync(ctx)
    stored = repr(ctx.commits) + repr(ctx.quarantined) + repr([e.to_record() for e in ctx.events.values()])
    for secret in (KEY, SECRET):
        assert secret not in caplog.text and secret not in str(info.value) and secret not in stored
    assert "oauth_signature" not in caplog.text


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


def test_large_sync_lists_refunds_in_bulk_small_sync_by_include(rsps):
    shop = make_shop(rsps, lean=True)
    orders, details = bulk_orders(500, 40, start=utc("2026-01-01T00:00:00"), step=timedelta(hours=3))
    shop.add(*orders)
    for detail, oid in details:
        shop.add_refund(detail, oid)
    ctx = context(now=utc("2026-12-01T00:00:00"))
    source().sync(ctx)
    bulk = [p for m, path, p in shop.requests if path == "wc/v3/refunds"]
    assert bulk and all("include" not in p for p in bulk) and len(bulk) == 1  # 40 refunds: one page
    assert len(ctx.keys("woocommerce:refund:")) == 40


def test_backfill_starting_after_the_cursor_leaves_it(rsps):
    shop = make_shop(rsps)
    for i in range(4):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-10-0{i + 1}T10:00:00"))
    cursor = {"modified_gmt": "2026-09-01T00:00:00+00:00", "seen": []}
    ctx = context(cursors={"woocommerce": dict(cursor)})
    source().sync(ctx, since=utc("2026-10-03T00:00:00"))
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:702", "woocommerce:sale:703"]
    assert walk_cursor(ctx) == cursor  # the next sync still reads October 1 and 2
    source().sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 4


# -- product categories for category filters -------------------------------------------------------

def test_category_filter_reads_product_categories_once(rsps):
    """Order lines have no categories in the REST API: they come from wc/v3/products, once each."""
    products = rsps.add(responses.GET, f"{HTTPS_URL}/wp-json/wc/v3/products",
                        json=[{"id": 11, "categories": [{"id": 16, "name": "Online Courses", "slug": "online-courses"}]}],
                        headers={"X-WP-Total": "1", "X-WP-TotalPages": "1"})
    shop = make_shop(rsps)
    shop.add(sample_partial_refund_order())
    src = source()
    src.needs_categories = True
    ctx = context()
    src.sync(ctx)
    src.sync(context())
    [sale] = [e for k, e in ctx.events.items() if k.startswith("woocommerce:sale:")]
    assert {line.product_id: line.categories for line in sale.order.lines} == {11: (16,), 13: (), 15: ()}
    assert products.call_count == 1


# -- read-ahead ----------------------------------------------------------------------------------------

def _scenario(rsps, read_ahead: bool, kind: str):
    shop = make_shop(rsps)
    if kind == "modified":
        for i in range(7):
            shop.add(order(200 + i, "processing", f"{10 + i}.00", paid=f"2026-09-0{i + 1}T10:00:00"))

        def cancel_after_first_page(shop, n):
            if n == 2:
                shop.modify(200, "2026-09-20T00:00:00", status="cancelled")

        shop.before_orders.append(cancel_after_first_page)
    elif kind == "same-second":
        for i in range(8):
            shop.add(order(300 + i, "completed", "10.00", paid="2026-09-01T10:00:00", modified="2026-09-05T12:00:00"))
        shop.add(order(320, "completed", "10.00", paid="2026-09-06T10:00:00"),
                 order(321, "completed", "10.00", paid="2026-09-07T10:00:00"))
    else:  # refunds crossing a period, read in bulk from a large sync
        orders, details = bulk_orders(40, 6, start=utc("2025-01-01T00:00:00"))
        shop.add(*orders)
        for detail, oid in details:
            shop.add_refund(detail, oid)
    ctx = context(now=utc("2026-12-01T00:00:00"))
    report = source(per_page=3, read_ahead=read_ahead).sync(ctx)
    asked = [(p.get("modified_after"), p["page"]) for p in orders_params(shop)]
    return ({k: e.to_record() for k, e in ctx.events.items()}, ctx.cursors, ctx.commits, asked,
            (report.records, report.events, report.pages, report.detail["requests"]))


@pytest.mark.parametrize("kind", ["modified", "same-second", "refunds"])
def test_read_ahead_changes_nothing_but_timing(kind):
    results = []
    for read_ahead in (False, True):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            results.append(_scenario(mock, read_ahead, kind))
    assert results[0] == results[1]


def test_next_page_is_read_while_the_current_one_is_committed(rsps):
    import threading

    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    second_asked = threading.Event()
    shop.before_orders.append(lambda shop, n: second_asked.set() if n == 2 else None)

    class WaitingContext(FakeContext):
        def commit(self, name, events, cursor):
            if not self.commits:  # the first commit waits for the second page's request (a thread)
                assert second_asked.wait(5), "the second page was not read ahead"
            return super().commit(name, events, cursor)

    ctx = WaitingContext(now=NOW, attribution=ATTRIBUTION)
    source(per_page=2).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 5


def test_read_ahead_can_be_switched_off(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    commits_when_asked = []
    ctx = context()
    shop.before_orders.append(lambda shop, n: commits_when_asked.append(len(ctx.commits)))
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, read_ahead=False,
                            sleep=lambda s: None)
    src.sync(ctx)
    assert commits_when_asked == [0, 1, 2, 3]  # each page asked only once the one before is committed


def test_failing_read_ahead_page_fails_after_the_current_page_is_committed(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(400 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    shop.before_orders.append(lambda shop, n: shop.fail("wc/v3/orders", 503, "<html><title>Busy</title></html>")
                              if n >= 2 else None)
    ctx = context()
    with pytest.raises(SyncError, match="gave up after 3 attempts"):
        source(per_page=2).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:400", "woocommerce:sale:401"]
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-02T10:00:00+00:00"
    assert shop.count("wc/v3/orders") == 4  # page 1, then 3 attempts at page 2: nothing after the failure


def test_parse_order_takes_the_parsed_modified_time_and_still_validates():
    raw = order(1, "completed", "10.00", paid="2026-09-01T10:00:00")
    when = utc(raw["date_modified_gmt"])
    assert parse_order(raw, ("completed",), when).modified is when
    assert parse_order(raw, ("completed",)).modified == when
    bad = dict(raw, date_paid_gmt="yesterday")
    with pytest.raises(Exception, match="date_paid_gmt is 'yesterday'"):
        parse_order(bad, ("completed",), when)
