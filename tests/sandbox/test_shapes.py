"""sandbox/shapes.py: the REST shapes, key for key like the real site's responses (tests/fixtures/samples)."""
from __future__ import annotations

from tests.support.loopback import rest
from tests.support.samples import GMT_RE, MONEY_RE, sample


def test_order_shapes_match_the_samples(sb, wp):
    ref = sample("wc-v3-order-partial-refund.json")["body"]
    r = wp.get(rest(sb, "wc/v3/orders"), params={"per_page": 100, "status": "any"})
    assert r.status_code == 200
    orders = r.json()
    assert orders
    for o in orders:
        assert set(o) == set(ref)
        for li in o["line_items"]:
            assert set(li) == set(ref["line_items"][0])
            assert MONEY_RE.match(li["subtotal"]) and MONEY_RE.match(li["total"])
        for cl in o["coupon_lines"]:
            assert set(cl) == set(ref["coupon_lines"][0])
            assert cl["code"] == cl["code"].lower()
            assert set(cl["meta_data"][0]) == set(ref["coupon_lines"][0]["meta_data"][0])
        for key in ("total", "discount_total", "shipping_total", "total_tax"):
            assert MONEY_RE.match(o[key])
        for key in ("date_created_gmt", "date_modified_gmt", "date_created", "date_modified"):
            assert GMT_RE.match(o[key]), (key, o[key])
        assert o["date_paid_gmt"] is None or GMT_RE.match(o["date_paid_gmt"])
        assert o["currency"] in ("USD", "EUR")
    assert any(o["coupon_lines"] for o in orders)
    assert {o["currency"] for o in orders} >= {"USD"}


def test_refund_shapes_match_the_samples(sb, wp):
    ref_order = sample("wc-v3-order-partial-refund.json")["body"]
    ref_refund = sample("wc-v3-order-partial-refund-refunds.json")["body"][0]
    with sb.site.lock:
        order_id = next(o.id for o in sb.site.orders.values() if o.refunds and o.status != "refunded")
    o = wp.get(rest(sb, f"wc/v3/orders/{order_id}")).json()
    assert set(o["refunds"][0]) == set(ref_order["refunds"][0])
    assert o["refunds"][0]["total"].startswith("-")
    r = wp.get(rest(sb, f"wc/v3/orders/{order_id}/refunds"))
    assert r.status_code == 200 and r.headers["X-WP-Total"] == str(len(o["refunds"]))
    refund = r.json()[0]
    assert set(refund) == set(ref_refund)
    assert set(refund["line_items"][0]) == set(ref_refund["line_items"][0])
    assert refund["line_items"][0]["quantity"] < 0 and not refund["amount"].startswith("-")
    assert GMT_RE.match(refund["date_created_gmt"])
    all_refunds = wp.get(rest(sb, "wc/v3/refunds"), params={"per_page": 100}).json()
    assert all_refunds and set(all_refunds[0]) == set(ref_refund) | {"parent_id"}
    mine = wp.get(rest(sb, "wc/v3/refunds"), params={"parent": order_id}).json()
    assert {x["parent_id"] for x in mine} == {order_id}


def test_coupon_product_and_user_shapes(sb, wp):
    coupons = wp.get(rest(sb, "wc/v3/coupons"), params={"per_page": 100}).json()
    assert set(coupons[0]) == set(sample("wc-v3-coupons.json")["body"][0])
    assert all(c["code"] == c["code"].lower() for c in coupons)
    one = wp.get(rest(sb, "wc/v3/coupons"), params={"code": "ALICE10"}).json()
    assert [c["code"] for c in one] == ["alice10"]
    assert {"key": "collaborator_user_id", "value": "2"}.items() <= one[0]["meta_data"][0].items()
    products = wp.get(rest(sb, "wc/v3/products"), params={"per_page": 100}).json()
    assert set(products[0]) == set(sample("wc-v3-products.json")["body"][0])
    assert all(MONEY_RE.match(p["price"]) for p in products)
    users = wp.get(rest(sb, "wp/v2/users"), params={"context": "edit", "per_page": 100}).json()
    assert set(users[0]) == set(sample("wp-v2-users.json")["body"][0])
