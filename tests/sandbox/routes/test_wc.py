"""sandbox/routes/wc.py: WooCommerce's system status, the orders listing's description (OPTIONS), what
the site's version and statuses change; unknown routes."""
from __future__ import annotations

import pytest
import requests
import responses

from siren_sync.sandbox.site import ORDER_STATUSES
from tests.support.in_process import InProcessSite
from tests.support.loopback import rest
from tests.support.payloads import HTTPS_URL, KEY, SECRET


def test_system_status_options_and_unknown_route(sb, wp):
    assert wp.get(rest(sb, "wc/v3/system_status")).json()["environment"]["version"] == "9.4.0"
    opts = wp.options(rest(sb, "wc/v3/orders")).json()
    args = opts["endpoints"][0]["args"]
    assert {"modified_after", "dates_are_gmt", "orderby", "status"} <= set(args)
    assert "modified" in args["orderby"]["enum"]
    r = requests.get(rest(sb, "wc/v3/nope"))
    assert r.status_code == 404 and r.json()["code"] == "rest_no_route"
    assert r.json()["data"] == {"status": 404}


@pytest.fixture
def shop():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield InProcessSite(HTTPS_URL, statuses=(*ORDER_STATUSES, "shipped")).install(rsps)


def test_the_orders_listing_describes_and_checks_the_sites_statuses(shop):
    described = requests.options(f"{HTTPS_URL}/wp-json/wc/v3/orders", timeout=5).json()
    get_args, post_args = (e["args"] for e in described["endpoints"])
    assert get_args["status"]["items"]["enum"] == ["any", *ORDER_STATUSES, "shipped"]
    assert post_args["status"]["type"] == "string"  # an order's one status, not the listing's list
    refused = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/orders", params={"status": "processing,gone"},
                           auth=(KEY, SECRET), timeout=5)
    assert refused.status_code == 400 and refused.json()["data"]["params"]["status"].startswith("status[1] is not")
    shop.site.order_statuses = None  # a site whose description names none, and takes any
    described = requests.options(f"{HTTPS_URL}/wp-json/wc/v3/orders", timeout=5).json()
    assert "enum" not in described["endpoints"][0]["args"]["status"]["items"]
    assert requests.get(f"{HTTPS_URL}/wp-json/wc/v3/orders", params={"status": "gone"}, auth=(KEY, SECRET),
                        timeout=5).json() == []


def test_the_bulk_refunds_route_exists_from_woocommerce_9(shop):
    refunds = f"{HTTPS_URL}/wp-json/wc/v3/refunds"
    assert requests.get(refunds, auth=(KEY, SECRET), timeout=5).status_code == 200
    shop.site.wc_version = "8.2.2"
    missing = requests.get(refunds, auth=(KEY, SECRET), timeout=5)
    assert (missing.status_code, missing.json()["code"]) == (404, "rest_no_route")
    assert "/wc/v3/refunds" not in requests.get(f"{HTTPS_URL}/wp-json/", timeout=5).json()["routes"]
    assert "/wc/v3/refunds" not in requests.get(f"{HTTPS_URL}/wp-json/wc/v3", timeout=5).json()["routes"]
    status = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/system_status", auth=(KEY, SECRET), timeout=5).json()
    assert status["environment"]["version"] == "8.2.2"
