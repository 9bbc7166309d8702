"""sources/woocommerce/refunds.py: refund times known without a request, read by `include=`, listed in bulk
for a large sync, or per order before WooCommerce 9; the requests a first backfill makes."""
from __future__ import annotations

from datetime import timedelta

import pytest

from siren_sync.errors import ConfigError, SyncError
from tests.support.payloads import (
    bulk_orders,
    refund_detail,
    sample_partial_refund_order,
    sample_refunded_detail,
    sample_refunded_order,
    utc,
)
from tests.support.shop import (
    context,
    make_shop,
    orders_params,
    source,
)


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
    shop = make_shop(rsps, version="8.2.2")  # no wc/v3/refunds before WooCommerce 9
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


@pytest.mark.parametrize("count,refunds", [(2000, 130), pytest.param(20000, 1300, marks=pytest.mark.bench)])
def test_backfill_request_budget(rsps, count, refunds):
    """A first backfill with refunds makes at most 1.25x the requests of reading the orders alone."""
    shop = make_shop(rsps)
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


def test_large_sync_lists_refunds_in_bulk_small_sync_by_include(rsps):
    shop = make_shop(rsps)
    orders, details = bulk_orders(500, 40, start=utc("2026-01-01T00:00:00"), step=timedelta(hours=3))
    shop.add(*orders)
    for detail, oid in details:
        shop.add_refund(detail, oid)
    ctx = context(now=utc("2026-12-01T00:00:00"))
    source().sync(ctx)
    bulk = [p for m, path, p in shop.requests if path == "wc/v3/refunds"]
    assert bulk and all("include" not in p for p in bulk) and len(bulk) == 1  # 40 refunds: one page
    assert len(ctx.keys("woocommerce:refund:")) == 40


def test_the_refunds_option_is_checked():
    with pytest.raises(ConfigError, match=r"sync.woocommerce.refunds: 'bulk' is not one of auto, orders, refunds"):
        source(refunds="bulk")
    assert source(refunds="refunds").refunds.bulk is True and source(refunds="orders").refunds.bulk is False
    assert source().refunds.bulk is None  # auto: the first refund read tells


def test_refunds_mode_refunds_fails_where_the_bulk_route_is_missing(rsps):
    shop = make_shop(rsps, version="8.2.2")
    raw = sample_partial_refund_order()
    raw["date_modified"] = raw["date_modified_gmt"] = "2026-10-09T08:00:00"  # its refund's period is not known
    shop.add(raw)
    with pytest.raises(SyncError, match="404 rest_no_route"):
        source(refunds="refunds").sync(context())
    assert shop.count("wc/v3/refunds") == 1 and shop.count(r"wc/v3/orders/\d+/refunds") == 0
