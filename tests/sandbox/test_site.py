"""sandbox/site.py: what WooCommerce the site is (version, statuses, order storage) and its clock."""
from __future__ import annotations

import pytest

from siren_sync.sandbox.site import ANY_ORDER_STATUSES, ORDER_STATUSES, Site


def test_the_bulk_refunds_route_comes_with_woocommerce_9():
    assert Site().has_bulk_refunds and Site(wc_version="10.1.0").has_bulk_refunds
    assert not Site(wc_version="8.9.3").has_bulk_refunds and not Site(wc_version="nightly").has_bulk_refunds


def test_any_is_every_status_but_trash():
    assert Site().any_order_statuses() == ANY_ORDER_STATUSES and "trash" in ORDER_STATUSES
    site = Site(order_statuses=None)  # a site that names no status: `any` is what its orders are in
    site.status_counts = {"completed": 2, "trash": 1, "shipped": 1}
    assert site.any_order_statuses() == {"completed", "shipped"}


def test_order_storage_is_hpos_or_posts_and_the_clock_never_goes_back():
    with pytest.raises(ValueError, match="order_storage 'tables' is not one of hpos, posts"):
        Site(order_storage="tables")
    site = Site(now=1000)
    assert site.advance(10) == 1010
    with pytest.raises(ValueError, match="cannot go backwards"):
        site.set_now(1000)
