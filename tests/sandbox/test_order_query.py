"""sandbox/order_query.py: orders filtered and sorted like WooCommerce's listing."""
from __future__ import annotations

from datetime import timedelta

from siren_sync.sandbox import payloads, shapes
from siren_sync.sandbox.order_query import OrderQuery, query_orders
from siren_sync.sandbox.site import Site, to_ts
from tests.support.loopback import rest
from tests.support.payloads import order, utc


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


def _site(storage: str) -> Site:
    """New York, the night the clocks go back: local 01:05 EDT, 01:07 EST, 01:10 EDT, then 03:00 EST."""
    site = Site(timezone_name="America/New_York", order_storage=storage)
    for oid, at in ((1, "2026-11-01T05:05:00"), (2, "2026-11-01T06:07:00"), (3, "2026-11-01T05:10:00"),
                    (4, "2026-11-01T08:00:00")):
        payloads.add_order(site, order(oid, "completed", modified=at))
    return site


def test_orders_stored_as_posts_are_sorted_by_their_local_time():
    asc = OrderQuery(orderby="modified", desc=False, limit=10)
    assert [o.id for o in query_orders(_site("hpos"), asc)[1]] == [1, 3, 2, 4]
    assert [o.id for o in query_orders(_site("posts"), asc)[1]] == [1, 2, 3, 4]  # 01:05, 01:07, 01:10, 03:00
    after = OrderQuery(orderby="modified", desc=False, limit=10, modified_after=to_ts(utc("2026-11-01T05:10:00")))
    assert [o.id for o in query_orders(_site("posts"), after)[1]] == [2, 4]  # the filter is on GMT, exclusive


def test_mixed_ties_put_one_second_in_another_order_on_each_page():
    site = Site(timezone_name="UTC")
    for oid in range(1, 13):
        payloads.add_order(site, order(oid, "completed", modified="2026-09-05T12:00:00"))
    pages = [[o.id for o in query_orders(site, OrderQuery(orderby="modified", desc=False, offset=n * 3, limit=3,
                                                          mixed_ties=True))[1]] for n in range(4)]
    assert sorted(i for p in pages for i in p) != list(range(1, 13))  # some repeated, some never listed
    tied = [[o.id for o in query_orders(site, OrderQuery(orderby="modified", desc=False, offset=n * 3,
                                                         limit=3))[1]] for n in range(4)]
    assert tied == [[1, 2, 3], [4, 5, 6], [7, 8, 9], [10, 11, 12]]  # ties broken by id


def test_filters_beyond_the_sort_key():
    site = _site("hpos")
    q = OrderQuery(orderby="date", desc=False, include=[4, 2, 1], exclude=[1], customer=15, limit=10)
    assert [o.id for o in query_orders(site, q)[1]] == [2, 4]
    assert query_orders(site, OrderQuery(parent=[5]))[0] == 0 and query_orders(site, OrderQuery(parent=[0]))[0] == 4
    by_include = OrderQuery(orderby="include", include=[4, 2], desc=False)
    assert [o.id for o in query_orders(site, by_include)[1]] == [4, 2]
