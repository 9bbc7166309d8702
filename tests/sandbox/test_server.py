"""sandbox/server.py: the one dispatcher, served in process here (the loopback server is the other
tests' transport): routes found or `rest_no_route`, WooCommerce's keys over https, faults applied before
authentication, hooks before an orders listing, every request counted."""
from __future__ import annotations

import pytest
import requests
import responses

from siren_sync.sandbox import routes
from siren_sync.sandbox.rest import Response, Route
from tests.support.in_process import InProcessSite
from tests.support.payloads import HTTPS_URL, KEY, SECRET, order

ORDERS = f"{HTTPS_URL}/wp-json/wc/v3/orders"


@pytest.fixture
def shop():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield InProcessSite(HTTPS_URL).install(rsps)


def test_unknown_paths_and_routes(shop):
    page = requests.get(f"{HTTPS_URL}/somewhere", timeout=5)
    assert page.status_code == 404 and page.headers["Content-Type"] == "text/html"
    route = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/nothing", timeout=5)
    assert route.status_code == 404 and route.json()["code"] == "rest_no_route"
    wrong_method = requests.delete(ORDERS, auth=(KEY, SECRET), timeout=5)
    assert wrong_method.json()["code"] == "rest_no_route"
    assert shop.stats.as_dict()["requests"] == {"html": 1, "unknown": 2}


def test_consumer_keys_over_https_basic_auth(shop):
    assert requests.get(ORDERS, auth=(KEY, SECRET), timeout=5).status_code == 200
    wrong = requests.get(ORDERS, auth=(KEY, "cs_wrong"), timeout=5)
    assert (wrong.status_code, wrong.json()["code"], wrong.json()["message"]) == (
        401, "woocommerce_rest_authentication_error", "Consumer secret is invalid.")
    unknown = requests.get(ORDERS, auth=("ck_unknown", SECRET), timeout=5)  # anonymous: the route refuses
    assert (unknown.status_code, unknown.json()["code"]) == (401, "woocommerce_rest_cannot_view")
    assert shop.stats.as_dict()["requests"] == {"GET /wc/v3/orders": 2, "auth": 1}


def test_hooks_run_before_the_listing_and_one_off_answers_before_authentication(shop):
    shop.add(order(1, modified="2026-09-01T00:00:00"))
    seen = []
    shop.before_orders.append(lambda site, n: seen.append((n, site.requests[-1][2].get("page"))))
    shop.before_orders.append(lambda site, n: site.add(order(2, modified="2026-09-02T00:00:00")) if n == 1 else None)
    shop.fail("wc/v3/orders", 503, "<html><title>Busy</title></html>", {"Retry-After": "7"})
    busy = requests.get(ORDERS, params={"page": 1}, timeout=5)  # no credentials: the fault comes first
    assert (busy.status_code, busy.headers["Retry-After"]) == (503, "7") and "<title>Busy" in busy.text
    listed = requests.get(ORDERS, params={"page": 2, "per_page": 1}, auth=(KEY, SECRET), timeout=5)
    assert listed.headers["X-WP-Total"] == "2" and seen == [(1, "1"), (2, "2")]


def test_refused_options_and_dropped_counts(shop):
    assert requests.options(ORDERS, timeout=5).status_code == 200  # the description needs no credentials
    shop.faults.update({"refuse_options": True, "drop_counts": True})
    assert requests.options(ORDERS, timeout=5).status_code == 403
    listed = requests.get(ORDERS, auth=(KEY, SECRET), timeout=5)
    assert listed.status_code == 200 and "X-WP-Total" not in listed.headers and "X-WP-TotalPages" not in listed.headers


def test_a_sandbox_bug_still_answers(shop, monkeypatch):
    def broken(env, req, m):
        raise KeyError("oops")

    table = tuple(Route(r.method, r.pattern, broken, r.label) if r.label == "/wc/v3/system_status" else r
                  for r in routes.ROUTES)
    monkeypatch.setattr("siren_sync.sandbox.server.ROUTES", table)
    answer = requests.get(f"{HTTPS_URL}/wp-json/wc/v3/system_status", auth=(KEY, SECRET), timeout=5)
    assert answer.status_code == 500 and "sandbox error: KeyError('oops')" in answer.json()["message"]
    assert shop.stats.as_dict()["statuses"] == {"500": 1}
    assert isinstance(Response(200, "text").body, bytes)
