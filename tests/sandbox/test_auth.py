"""sandbox/auth.py: OAuth 1.0a as WooCommerce checks it (signature, single-use nonce), consumer keys over
Basic on https only, application passwords."""
from __future__ import annotations

import requests

from tests.support.loopback import rest, wc_api
from tests.support.samples import sample


def test_oauth_with_the_woocommerce_package(sb):
    r = wc_api(sb).get("orders", params={"per_page": 5, "orderby": "modified", "order": "asc",
                                         "modified_after": "2026-10-01T00:00:00", "dates_are_gmt": "true"})
    assert r.status_code == 200, r.text
    assert len(r.json()) == 5 and "X-WP-TotalPages" in r.headers
    bad = wc_api(sb, secret="cs_wrong").get("orders")
    assert bad.status_code == 401
    assert bad.json()["code"] == "woocommerce_rest_authentication_error"
    basic = requests.get(rest(sb, "wc/v3/orders"), auth=(sb.credentials["wc_key"], sb.credentials["wc_secret"]))
    assert basic.status_code == 401
    assert set(basic.json()) == set(sample("wc-v3-unauthenticated-401.json")["body"])
    assert basic.json()["code"] == "woocommerce_rest_cannot_view"
    assert requests.get(rest(sb, "wc/v3/orders")).status_code == 401


def test_oauth_nonce_is_single_use(sb):
    from woocommerce.oauth import OAuth
    url = OAuth(url=rest(sb, "wc/v3/orders") + "?per_page=1", consumer_key=sb.credentials["wc_key"],
                consumer_secret=sb.credentials["wc_secret"], version="wc/v3", method="GET").get_oauth_url()
    assert requests.get(url).status_code == 200
    again = requests.get(url)
    assert again.status_code == 401
    assert again.json()["message"] == "Invalid nonce - nonce has already been used."


def test_application_password_on_wp_routes(sb, wp):
    me = wp.get(rest(sb, "wp/v2/users/me"), params={"context": "edit"})
    assert me.status_code == 200 and me.json()["username"] == "admin"
    assert requests.get(rest(sb, "wp/v2/users/me")).json()["code"] == "rest_not_logged_in"
    anon = requests.get(rest(sb, "wp/v2/users"), params={"context": "edit"})
    assert anon.status_code == 401 and anon.json()["code"] == "rest_forbidden_context"
    wrong = requests.get(rest(sb, "wp/v2/users/me"), auth=("admin", "xxxx xxxx xxxx xxxx xxxx xxxx"))
    assert wrong.status_code == 401 and wrong.json()["code"] == "incorrect_password"
    nospace = requests.get(rest(sb, "wp/v2/users/me"),
                           auth=("admin@example.test", sb.credentials["wp_app_password"].replace(" ", "")))
    assert nospace.status_code == 200
    roles = wp.get(rest(sb, "wp/v2/users"), params={"roles": "instructor", "context": "edit"}).json()
    assert {u["username"] for u in roles} == {"alice.martin", "bruno.costa", "chloe.dubois", "david.nguyen"}
