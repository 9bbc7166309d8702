"""sources/woocommerce/subscriptions.py: a renewal order's sale names its subscription's first order, read
once from wc/v3/subscriptions and kept in the cursor; a site without the route is not asked again."""
from __future__ import annotations

from datetime import timedelta

import pytest

from siren_sync.errors import SyncError
from tests.support.payloads import order, renewal, subscription, utc
from tests.support.shop import context, make_shop, source

FIRST = order(1001, "completed", "19.00", created="2026-09-13T10:41:33", paid="2026-09-13T10:51:33")


def renewals_of(shop, sub_id: int, first: int, count: int, start_day: int = 1):
    shop.add(*[renewal(first + n, sub_id, status="processing", total="19.00",
                       created=f"2026-10-{start_day + n:02d}T09:00:00", paid=f"2026-10-{start_day + n:02d}T09:00:30")
               for n in range(count)])


def sales(ctx) -> dict[int, int | None]:
    return {e.order_id: e.touch.renewal_of for k, e in ctx.events.items() if k.startswith("woocommerce:sale:")}


def test_renewals_name_the_first_order_and_each_subscription_is_read_once(rsps):
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    shop.add_subscription(subscription(1010, 0))  # made by hand in the admin: no first order
    renewals_of(shop, 1002, 2000, 3)
    renewals_of(shop, 1010, 2100, 1, start_day=5)
    ctx = context()
    src = source()
    src.sync(ctx)
    assert sales(ctx) == {1001: None, 2000: 1001, 2001: 1001, 2002: 1001, 2100: 0}  # a renewal, no first order
    assert shop.count(r"wc/v3/subscriptions") == 1 and shop.count(r"wc/v3/subscriptions/\d+") == 0
    assert ctx.cursors["woocommerce"]["subscriptions"] == {"parents": {"1002": 1001, "1010": None}}
    renewals_of(shop, 1002, 2003, 1, start_day=20)  # a renewal a week later, read by a new process
    shop.modify(2003, "2026-11-22T09:00:00")
    source().sync(ctx)
    assert sales(ctx)[2003] == 1001 and shop.count(r"wc/v3/subscriptions.*") == 1


def test_a_subscription_the_listing_leaves_out_is_asked_for_alone_and_a_gone_one_once(rsps):
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    renewals_of(shop, 1002, 2000, 1)
    renewals_of(shop, 1500, 2100, 1, start_day=3)  # its subscription was deleted
    shop.fail("wc/v3/subscriptions", 200, [])  # a site whose listing ignores `include`
    ctx = context()
    src = source()
    src.sync(ctx)
    assert sales(ctx) == {1001: None, 2000: 1001, 2100: 0}
    assert [path for method, path, _ in shop.requests if "subscriptions" in path] == [
        "wc/v3/subscriptions", "wc/v3/subscriptions/1002", "wc/v3/subscriptions/1500"]
    assert ctx.cursors["woocommerce"]["subscriptions"]["parents"] == {"1002": 1001, "1500": None}


def test_a_site_without_the_route_is_asked_once_a_day_and_renewals_still_count(rsps, caplog):
    shop = make_shop(rsps)  # no WooCommerce Subscriptions: 404 rest_no_route
    renewals_of(shop, 1002, 2000, 2)
    ctx = context()
    src = source()
    src.sync(ctx)
    assert sales(ctx) == {2000: 0, 2001: 0}  # renewals, first order unknown
    assert sum(e.order.total for e in ctx.events.values()) == 38  # their sales count in every pool
    assert ctx.cursors["woocommerce"]["subscriptions"] == {"parents": {}, "unavailable_at": "2026-11-23T05:00:00+00:00"}
    assert "rest_no_route" in caplog.text
    renewals_of(shop, 1002, 2002, 1, start_day=20)
    shop.modify(2002, "2026-11-22T09:00:00")
    source().sync(context(cursors=ctx.cursors, now=ctx.now + timedelta(hours=6)))  # a new process, same day
    assert shop.count(r"wc/v3/subscriptions.*") == 1
    later = context(cursors=ctx.cursors, now=ctx.now + timedelta(days=1, minutes=1))
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))  # the plugin is back
    shop.modify(2002, "2026-11-23T09:00:00")
    source().sync(later)
    assert sales(later)[2002] == 1001 and shop.count(r"wc/v3/subscriptions.*") == 2
    assert "unavailable_at" not in later.cursors["woocommerce"]["subscriptions"]


def test_a_key_that_may_not_read_subscriptions_does_not_stop_the_orders(rsps):
    shop = make_shop(rsps)
    shop.add_subscription(subscription(1002, 1001))
    renewals_of(shop, 1002, 2000, 1)
    shop.fail("wc/v3/subscriptions", 403, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot "
                                           "list resources.", "data": {"status": 403}})
    ctx = context()
    source().sync(ctx)
    assert sales(ctx) == {2000: 0}


def test_other_failures_stop_the_sync_and_the_next_one_reads_again(rsps):
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    renewals_of(shop, 1002, 2000, 1)
    shop.fail("wc/v3/subscriptions", 400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): include",
                                           "data": {"status": 400}})
    ctx = context()
    with pytest.raises(SyncError, match="wc/v3/subscriptions: 400 rest_invalid_param"):
        source().sync(ctx)
    source().sync(ctx)
    assert sales(ctx)[2000] == 1001


def test_the_sale_of_a_renewal_keeps_its_own_creation_time(rsps):
    shop = make_shop(rsps)
    shop.add(FIRST)
    shop.add_subscription(subscription(1002, 1001))
    renewals_of(shop, 1002, 2000, 1)
    ctx = context()
    source().sync(ctx)
    sale = ctx.events["woocommerce:sale:2000"]
    assert sale.touch.created_at == utc("2026-10-01T09:00:00") and sale.at == utc("2026-10-01T09:00:30")
