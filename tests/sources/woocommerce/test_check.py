"""sources/woocommerce/check.py: the rows `siren-sync check` shows for the shop."""
from __future__ import annotations

import logging

from siren_sync.sources.http import RetryPolicy
from siren_sync.sources.woocommerce import WooCommerceSource
from siren_sync.sources.woocommerce.check import version_tuple
from tests.support.payloads import (
    KEY,
    SECRET,
    order,
    sample_page_orders,
)
from tests.support.shop import (
    SITE_STATUSES,
    make_shop,
    source,
)


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


def test_check_names_the_order_statuses_found_on_the_site_and_lists_the_orders_in_them(rsps):
    shop = make_shop(rsps, statuses=SITE_STATUSES)
    shop.add(order(600, "shipped", "40.00", paid="2026-09-02T10:00:00"))
    rows = {what: (ok, detail) for what, ok, detail in source(paid_statuses=["completed", "gone"]).check()}
    assert rows["woocommerce reachable"][0] and rows["woocommerce orders"][1].startswith("1 orders")
    assert rows["woocommerce statuses"] == (True, "every order status of the site is read (10), among them "
                                                  "shipped, delivered, found on the site")


def test_check_warns_that_woocommerce_before_7_6_may_not_mark_a_refunded_order_modified(rsps):
    make_shop(rsps, version="7.2.3")
    rows = {what: (ok, detail) for what, ok, detail in source().check()}
    ok, detail = rows["woocommerce modified_after"]
    assert ok and detail.endswith("before 7.6 a partial refund may leave its order unmodified, so the sync "
                                  "can miss it: update WooCommerce")


def test_check_old_woocommerce(rsps):
    shop = make_shop(rsps, version="8.2.2")
    rows = dict((what, (ok, detail)) for what, ok, detail in source().check())
    assert rows["woocommerce refunds"][0] is True and "WooCommerce < 9.0" in rows["woocommerce refunds"][1]
    assert rows["woocommerce modified_after"] == (True, "WooCommerce 8.2.2: orders accept modified_after and "
                                                        "dates_are_gmt")
    assert shop.count("wc/v3/refunds") == 1


def test_check_401_hint_without_secrets(rsps, caplog):
    caplog.set_level(logging.DEBUG)
    make_shop(rsps, key="ck_another_key_entirely_00000000000000000000")  # the source's key is not the site's
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


def test_woocommerce_versions_compare_as_numbers():
    assert version_tuple("9.4.2") == (9, 4, 2) and version_tuple("10.0") == (10, 0)
    assert version_tuple("8.0.0-beta.1") == (8, 0, 0) < (8, 0, 1) and version_tuple("7.6") >= (7, 6)
    assert version_tuple("10.0") > version_tuple("9.9.9")
