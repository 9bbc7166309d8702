"""sandbox/payloads.py: orders and refunds given as their REST bodies are served as given, bad ones too."""
from __future__ import annotations

import pytest
import requests
import responses

from siren_sync.sandbox import payloads
from siren_sync.sandbox.site import Site
from tests.support.in_process import InProcessSite
from tests.support.payloads import HTTPS_URL, KEY, SECRET, order, refund_detail, refund_summary

AUTH = (KEY, SECRET)


@pytest.fixture
def shop():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        yield InProcessSite(HTTPS_URL).install(rsps)


def get(path: str, **params) -> requests.Response:
    return requests.get(f"{HTTPS_URL}/wp-json/{path}", params=params, auth=AUTH, timeout=5)


def test_an_order_is_served_as_given_and_listed_by_what_it_says(shop):
    odd = order(7, "completed", "10.00", modified="2026-09-02T00:00:00")
    odd["total"] = 10.0  # a float where WooCommerce sends a string: served as it is
    shop.add(order(8, "processing", modified="2026-09-01T00:00:00"), odd, order(9, "trash"))
    assert get("wc/v3/orders/7").json() == odd
    listed = get("wc/v3/orders", orderby="modified", order="asc", status="any", _fields="id,total").json()
    assert listed == [{"id": 8, "total": "383.12"}, {"id": 7, "total": 10.0}]  # no trash in `any`
    assert get("wc/v3/orders", status="trash").headers["X-WP-Total"] == "1"


def test_changing_an_order_moves_it_in_the_listing(shop):
    shop.add(order(1, modified="2026-09-01T00:00:00"), order(2, modified="2026-09-02T00:00:00"))
    shop.modify(1, "2026-09-03T00:00:00", status="cancelled")
    listed = get("wc/v3/orders", orderby="modified", order="asc", _fields="id,status,date_modified_gmt").json()
    assert listed[-1] == {"id": 1, "status": "cancelled", "date_modified_gmt": "2026-09-03T00:00:00"}
    shop.edit(2, status="processing")  # within the same second: its date stays
    assert get("wc/v3/orders/2").json()["date_modified_gmt"] == "2026-09-02T00:00:00"
    assert shop.site.status_counts == {"cancelled": 1, "completed": 0, "processing": 1}


def test_refunds_are_listed_under_their_order_and_in_bulk_with_their_parent(shop):
    shop.add(order(26, refunds=[refund_summary(89, "10.00")]))
    detail = refund_detail(89, 26, "10.00", "2026-09-16T10:41:33")
    shop.add_refund(detail, 26)
    assert get("wc/v3/orders/26/refunds").json() == [detail]
    assert get("wc/v3/refunds", include="89").json() == [{**detail, "parent_id": 26}]
    assert get("wc/v3/refunds", after="2026-09-16T10:41:33", dates_are_gmt="true").json() == []  # exclusive


def test_an_order_without_a_usable_id_gets_a_free_one_and_a_new_body_replaces_the_old():
    site = Site(timezone_name="UTC")
    no_id = order(5)
    del no_id["id"]
    payloads.add_order(site, order(5))
    assert payloads.add_order(site, no_id).id == 6 and site.orders[6].payload is no_id
    payloads.add_refund(site, refund_detail(50, 5, "1.00", "2026-09-14T00:00:00"), 5)
    again = payloads.add_order(site, order(5, "refunded"))
    assert [r.id for r in again.refunds] == [50] and site.status_counts == {"completed": 1, "refunded": 1}
    with pytest.raises(ValueError, match="was not given as a REST body"):
        site.orders[5].payload = None
        payloads.change_order(site, 5, {"status": "trash"})
