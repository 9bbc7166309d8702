"""sandbox/order_query.py: orders filtered and sorted like WooCommerce's listing."""
from __future__ import annotations

from datetime import timedelta

from siren_sync.sandbox import shapes
from tests.support.loopback import rest


def test_modified_after_gmt_ordering(sb, wp):
    cutoff = (sb.now - timedelta(days=10)).strftime("%Y-%m-%dT%H:%M:%S")
    seen, page = [], 1
    while True:
        r = wp.get(rest(sb, "wc/v3/orders"), params={
            "modified_after": cutoff, "dates_are_gmt": "true", "orderby": "modified", "order": "asc",
            "per_page": 50, "page": page, "_fields": "id,date_modified_gmt,status",
            "status": "pending,processing,on-hold,completed,cancelled,refunded,failed,trash"})
        batch = r.json()
        if not batch:
            break
        assert set(batch[0]) == {"id", "date_modified_gmt", "status"}
        seen.extend(batch)
        page += 1
    assert seen and int(r.headers["X-WP-Total"]) == len(seen)
    keys = [(o["date_modified_gmt"], o["id"]) for o in seen]
    assert keys == sorted(keys)
    assert all(o["date_modified_gmt"] > cutoff for o in seen)
    with sb.site.lock:
        expected = sum(1 for o in sb.site.orders.values()
                       if shapes.gmt(o.modified) > cutoff)
    assert len(seen) == expected
    # `any` short-circuits the status list and never includes trash, like WooCommerce
    with sb.site.lock:
        trashed = sum(1 for o in sb.site.orders.values() if o.status == "trash" and shapes.gmt(o.modified) > cutoff)
    anyt = wp.get(rest(sb, "wc/v3/orders"), params={"modified_after": cutoff, "dates_are_gmt": 1,
                                                    "status": "any,trash", "per_page": 1})
    assert int(anyt.headers["X-WP-Total"]) == len(seen) - trashed
    # without dates_are_gmt the cutoff is site-local (4 or 5 hours later in UTC)
    local = wp.get(rest(sb, "wc/v3/orders"), params={"modified_after": cutoff, "per_page": 1})
    assert int(local.headers["X-WP-Total"]) <= len(seen)
    # status lists: comma or status[]
    a = wp.get(rest(sb, "wc/v3/orders"), params={"status": "processing,completed", "per_page": 1})
    b = wp.get(rest(sb, "wc/v3/orders"), params=[("status[]", "processing"), ("status[]", "completed"),
                                                 ("per_page", 1)])
    assert a.headers["X-WP-Total"] == b.headers["X-WP-Total"]
    assert wp.get(rest(sb, "wc/v3/orders"), params={"status": "bogus"}).status_code == 400
