"""sources/woocommerce/statuses.py: every order status the site has is read (plugins add some), a status
new to the walk is caught up once, one switched off is no longer asked for, a site refusing OPTIONS."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from siren_sync.sources.woocommerce.statuses import CORE_STATUSES, configured, order_args, readable, status_enum
from tests.support.payloads import (
    order,
)
from tests.support.shop import (
    SITE_STATUSES,
    WOO_STATUSES,
    context,
    make_shop,
    orders_params,
    source,
)


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
    shop = make_shop(rsps, statuses=WOO_STATUSES)  # no plugin yet
    shop.add(order(700, "processing", "30.00", paid="2026-09-02T10:00:00"))
    src, ctx = source(), context()
    src.sync(ctx)
    shop.site.order_statuses = SITE_STATUSES  # the shipment plugin is switched on; an order moves and is refunded
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
    shop.faults.update({"refuse_options": True})  # once (a hiccup, or a WAF rule): one try, then the statuses known
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
    shop = make_shop(rsps, statuses=WOO_STATUSES)
    shop.add(order(700, "processing", "30.00", created="2026-09-02T09:00:00", paid="2026-09-02T10:00:00"))
    src, ctx = source(per_page=2), context()
    src.sync(ctx)
    shop.site.order_statuses = SITE_STATUSES
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
    shop.site.order_statuses = WOO_STATUSES
    shop.add(order(601, "processing", "40.00", paid="2026-09-05T10:00:00"))
    src.sync(ctx)
    assert "woocommerce:sale:601" in ctx.events
    assert "shipped" not in orders_params(shop)[-1]["status"].split(",")


def test_a_site_that_does_not_describe_its_orders_keeps_the_configured_statuses(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES, options_refused=True)
    shop.add(order(600, "processing", "40.00", paid="2026-09-02T10:00:00"))
    ctx = context()
    source(extra_statuses=["shipped"]).sync(ctx)
    statuses = orders_params(shop)[-1]["status"].split(",")
    assert "shipped" in statuses and "delivered" not in statuses and ctx.keys("woocommerce:sale:")


def test_the_status_vocabulary():
    """What is read: never `any` (a filter word) nor checkout drafts; the listing's GET arguments only."""
    read = readable(["any", "trash", "pending", "checkout-draft", "shipped", "trash"])
    assert read == ("trash", "pending", "shipped")
    assert status_enum({"status": {"type": "array", "items": {"type": "string", "enum": ["any", "trash"]}}}) == \
        ["any", "trash"]
    assert status_enum({"status": {"type": "array", "items": {"type": "string"}}}) is None
    assert status_enum(None) is None
    assert configured(("completed", "shipped"), ["delivered", "trash"]) == (*CORE_STATUSES, "shipped", "delivered")
    assert "trash" in CORE_STATUSES and "any" not in CORE_STATUSES


def test_the_listing_is_described_by_its_get_endpoint_only(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    args = order_args(source().http)
    assert status_enum(args) == ["any", *SITE_STATUSES]  # not the POST endpoint's one status
    shop.faults.update({"refuse_options": True})
    assert order_args(source().http) is None
