"""sandbox/routes/wc.py: WooCommerce's system status, the orders listing's description (OPTIONS), what
the site's version and statuses change; unknown routes."""
from __future__ import annotations

import pytest
import requests
import responses

from siren_sync.sandbox.site import ORDER_STATUSES
from tests.support.in_process import InProcessSite
from tests.support.loopback import rest
from tests.support.payloads import HTTPS_URL, KEY, SECRET, order, renewal, subscription


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


# -- WooCommerce Subscriptions, and order meta cut to `include_meta` ----------------------------------------

def test_subscriptions_exist_only_on_a_site_with_the_plugin(shop):
    url = f"{HTTPS_URL}/wp-json/wc/v3/subscriptions"
    gone = requests.get(url, auth=(KEY, SECRET), timeout=5)
    assert gone.status_code == 404 and gone.json()["code"] == "rest_no_route"
    assert "/wc/v3/subscriptions" not in requests.get(f"{HTTPS_URL}/wp-json/", timeout=5).json()["routes"]
    shop.add(order(1001), order(1003))
    shop.add_subscription(subscription(1002, 1001))
    shop.add_subscription(subscription(1004, 1003, "cancelled"))
    assert "/wc/v3/subscriptions" in requests.get(f"{HTTPS_URL}/wp-json/", timeout=5).json()["routes"]

    def ask(**params):
        return requests.get(url, params=params, auth=(KEY, SECRET), timeout=5).json()

    assert [s["id"] for s in ask()] == [1004, 1002]
    assert ask(include="1004,9999", _fields="id,parent_id") == [{"id": 1004, "parent_id": 1003}]
    assert [s["id"] for s in ask(parent="1001")] == [1002]
    assert [s["id"] for s in ask(status="active")] == [1002]
    one = requests.get(f"{url}/1002", params={"_fields": "id,parent_id"}, auth=(KEY, SECRET), timeout=5)
    assert one.json() == {"id": 1002, "parent_id": 1001}
    missing = requests.get(f"{url}/1500", auth=(KEY, SECRET), timeout=5)
    assert missing.status_code == 404 and missing.json()["code"] == "woocommerce_rest_shop_subscription_invalid_id"


def test_the_orders_listing_cuts_meta_to_include_meta(shop):
    shop.add(renewal(2000, 1002))
    shop.site.orders[2000].payload["meta_data"].append({"id": 7, "key": "_stripe_customer_id", "value": "cus_1"})
    listed = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/orders", auth=(KEY, SECRET), timeout=5,
                          params={"include_meta": "_subscription_renewal,_other", "_fields": "id,meta_data"}).json()
    assert listed == [{"id": 2000, "meta_data": [{"id": 20001, "key": "_subscription_renewal", "value": "1002"}]}]
    whole = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/orders", auth=(KEY, SECRET), timeout=5).json()
    assert len(whole[0]["meta_data"]) == 2
