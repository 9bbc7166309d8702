"""sources/woocommerce/walk.py: the orders walk loses nothing: orders modified while it reads, a second
modified in bulk read as a window, ties the database mixes per page, the hour repeated when the clocks go
back, the cursor capped and resumed."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from siren_sync.errors import SyncError
from siren_sync.sources.http import Page, RetryPolicy
from siren_sync.sources.woocommerce import WooCommerceSource
from siren_sync.sources.woocommerce.walk import (
    MAX_WINDOW_STEPS,
    CatchUp,
    Cursor,
    Latest,
    Walk,
    describe,
    next_after,
    order_params,
)
from tests.support.payloads import (
    HTTPS_URL,
    KEY,
    SECRET,
    order,
    sample_page_orders,
    sample_partial_refund_detail,
    sample_partial_refund_order,
    sample_refunded_detail,
    sample_refunded_order,
    utc,
)
from tests.support.shop import (
    NOW,
    context,
    make_shop,
    orders_params,
    source,
    walk_cursor,
)


def test_request_parameters(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    source(paid_statuses=["processing", "completed", "shipped"]).sync(context())
    params = orders_params(shop)[0]
    assert params["orderby"] == "modified" and params["order"] == "asc" and params["dates_are_gmt"] == "true"
    assert params["per_page"] == "100" and params["page"] == "1" and "modified_after" not in params
    statuses = params["status"].split(",")
    assert "trash" in statuses and "any" not in statuses and "shipped" in statuses and "cancelled" in statuses
    assert set(params["_fields"].split(",")) >= {"id", "total", "date_paid_gmt", "date_modified_gmt", "refunds",
                                                 "line_items", "coupon_lines", "fee_lines"}


def test_order_seen_twice_records_nothing_new(rsps):
    shop = make_shop(rsps)
    shop.add(sample_partial_refund_order(), sample_refunded_order(), *sample_page_orders())
    shop.add_refund(sample_partial_refund_detail(), 26)
    shop.add_refund(sample_refunded_detail(), 47)
    ctx = context()
    src = source()
    first = src.sync(ctx)
    assert first.events == len(ctx.events) > 0
    second = src.sync(ctx)  # re-reads the overlap window
    assert second.events == 0 and second.records >= 1
    backfill = src.sync(ctx, since=utc("2026-08-01T00:00:00"))  # everything again
    assert backfill.events == 0 and backfill.records == 4
    # a spurious modification (HPOS bumps date_modified when an order is opened) adds nothing either
    shop.modify(60, "2026-11-01T09:00:00")
    assert src.sync(ctx).events == 0


def test_incremental_sync_starts_at_cursor_minus_overlap_and_skips_seen(rsps):
    shop = make_shop(rsps)
    shop.add(*sample_page_orders())
    ctx = context(cursors={"woocommerce": {"modified_gmt": "2026-09-04T01:18:02+00:00",
                                           "seen": [[60, "2026-09-04T01:18:02"]]}})
    report = source().sync(ctx)
    assert orders_params(shop)[0]["modified_after"] == "2026-09-04T01:13:02"
    assert orders_params(shop)[0]["dates_are_gmt"] == "true"  # the bound is UTC, not the site's time
    assert report.records == 1 and report.events == 0 and ctx.events == {}


def test_cursor_is_capped_at_the_sync_start(rsps):
    shop = make_shop(rsps)
    shop.add(order(110, "completed", "10.00", paid="2026-11-22T23:00:00"),
             order(111, "completed", "20.00", paid="2026-11-23T04:59:59"),
             order(112, "completed", "30.00", paid="2026-11-23T05:00:07"))  # modified while we read
    ctx = context()
    source().sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:110", "woocommerce:sale:111", "woocommerce:sale:112"]
    assert walk_cursor(ctx) == {"modified_gmt": "2026-11-23T05:00:00+00:00", "seen": []}


def test_order_modified_during_the_sync_moves_to_the_end_and_nothing_is_skipped(rsps):
    shop = make_shop(rsps)
    for i in range(7):
        shop.add(order(200 + i, "processing", f"{10 + i}.00", paid=f"2026-09-0{i + 1}T10:00:00"))

    def refund_first_order_after_first_page(shop, n):
        if n == 2:  # between the first and the second request, order 200 is cancelled
            shop.modify(200, "2026-09-20T00:00:00", status="cancelled")

    shop.before_orders.append(refund_first_order_after_first_page)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{200 + i}" for i in range(7)]
    assert ctx.events["woocommerce:cancel:200"].share == -1
    afters = [p.get("modified_after") for p in orders_params(shop)]
    assert afters[0] is None and afters[1] == "2026-09-03T09:59:59"  # page 1 again, from the last item
    assert all(p["page"] == "1" for p in orders_params(shop))
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-20T00:00:00+00:00"


def test_plain_page_numbers_would_have_skipped(rsps):
    """The same change against naive `page=N` paging loses an order: what the cursor design prevents."""
    shop = make_shop(rsps)
    for i in range(7):
        shop.add(order(200 + i, "processing", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    src = source()
    params = order_params(src.statuses.current, None)
    first = src.http.page("wc/v3/orders", params, 1, 3)
    shop.modify(200, "2026-09-20T00:00:00", status="cancelled")
    rest = [o["id"] for n in (2, 3) for o in src.http.page("wc/v3/orders", params, n, 3).items]
    assert 203 not in [o["id"] for o in first.items] + rest


def bulk_edit(shop, count=8, at="2026-09-05T12:00:00"):
    """`count` orders modified in the same second (a bulk action), and two later orders."""
    for i in range(count):
        shop.add(order(300 + i, "completed", "10.00", paid="2026-09-01T10:00:00", modified=at))
    shop.add(order(320, "completed", "10.00", paid="2026-09-06T10:00:00"),
             order(321, "completed", "10.00", paid="2026-09-07T10:00:00"))


def test_a_page_within_one_second_reads_that_second_alone(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 10
    asked = [(p.get("modified_after"), p.get("modified_before"), p["orderby"], p["page"]) for p in orders_params(shop)]
    second = ("2026-09-05T11:59:59", "2026-09-05T12:00:01", "date")
    assert asked == [(None, None, "modified", "1"), ("2026-09-05T11:59:59", None, "modified", "1"),
                     (*second, "1"), (*second, "2"), (*second, "3"),
                     ("2026-09-05T12:00:00", None, "modified", "1")]
    assert all(p["dates_are_gmt"] == "true" for p in orders_params(shop))
    assert walk_cursor(ctx) == {"modified_gmt": "2026-09-07T10:00:00+00:00",
                                          "seen": [[321, "2026-09-07T10:00:00"]]}


@pytest.mark.parametrize("read_ahead", [True, False])
def test_no_order_of_a_bulk_edit_is_lost_when_the_database_orders_ties_per_page(rsps, read_ahead):
    """WooCommerce sorts `orderby=modified` by the time alone; MySQL may put equal rows in another order
    for each LIMIT offset. Paging such a second by number repeats some orders and never shows others."""
    shop = make_shop(rsps, mixed_ties=True)
    bulk_edit(shop, count=12)
    src = source(per_page=3)
    by_number = {o["id"] for n in range(1, 5) for o in src.http.page(
        "wc/v3/orders", order_params(src.statuses.current, datetime(2026, 9, 5, 11, 59, 59, tzinfo=UTC)), n, 3).items}
    assert len(by_number - {320, 321}) < 12  # what paging on by number would have read
    ctx = context()
    WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 3}, sleep=lambda s: None,
                      read_ahead=read_ahead).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == sorted(f"woocommerce:sale:{i}" for i in [*range(300, 312), 320, 321])


def test_an_order_edited_out_of_the_second_being_read_starts_that_second_again(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop)
    ids = []

    def edit_during_the_second(shop, n):
        params = shop.requests[-1][2]
        ids.append((params["orderby"], params["page"]))
        if ids == [("modified", "1"), ("modified", "1"), ("date", "1"), ("date", "2")]:
            shop.modify(300, "2026-09-06T12:00:00", status="cancelled")  # leaves the second: offsets shift

    shop.before_orders.append(edit_during_the_second)
    ctx = context()
    source(per_page=3).sync(ctx)
    # Without starting over, order 306 (the first of page 3 before the shift) would never be read.
    assert len(ctx.keys("woocommerce:sale:")) == 10
    assert "woocommerce:cancel:300" in ctx.events
    assert ids[:6] == [("modified", "1"), ("modified", "1"), ("date", "1"), ("date", "2"), ("date", "1"),
                       ("date", "2")]


def one_leaves_on_each_window_page(shop, ids):
    """A hook: before each page of a window (`orderby=date`) the next of `ids` is cancelled out of it."""
    leaving = iter(ids)

    def hook(shop, n):
        oid = next(leaving, None) if shop.requests[-1][2]["orderby"] == "date" else None
        if oid is not None:
            shop.modify(oid, "2026-09-06T12:00:00", status="cancelled")

    shop.before_orders.append(hook)


def test_orders_leaving_the_second_on_every_page_step_the_walk_back_and_none_is_lost(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop, count=12)
    one_leaves_on_each_window_page(shop, range(300, 306))
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 14
    assert ctx.keys("woocommerce:cancel:") == [f"woocommerce:cancel:{i}" for i in range(300, 306)]


def test_a_second_whose_orders_keep_leaving_stops_the_sync_with_the_cursor_before_it(rsps):
    shop = make_shop(rsps)
    bulk_edit(shop, count=80)
    one_leaves_on_each_window_page(shop, range(300, 380))
    ctx = context()
    with pytest.raises(SyncError, match=r"wc/v3/orders: the orders modified at 2026-09-05T12:00:00 kept changing"):
        source(per_page=3).sync(ctx)
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-05T12:00:00+00:00"


def test_a_second_read_without_counts_is_read_twice(rsps):
    """A proxy that drops X-WP-Total: a move cannot be seen from the counts, so the window is read again."""
    shop = make_shop(rsps)
    bulk_edit(shop)
    shop.faults.update({"drop_counts": True})  # the shop's answers, without the count headers
    moved = []

    def edit_one_out(shop, n):
        params = shop.requests[-1][2]
        if params["orderby"] == "date" and params["page"] == "2" and not moved:
            moved.append(shop.modify(300, "2026-09-06T12:00:00", status="cancelled"))

    shop.before_orders.append(edit_one_out)
    ctx = context()
    source(per_page=3).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 10


def test_each_bulk_edited_second_has_its_own_tries(rsps):
    shop = make_shop(rsps)
    seconds = {"2026-09-05T11:59:59": list(range(300, 308)), "2026-09-06T11:59:59": list(range(400, 408))}
    for ids, at in zip(seconds.values(), ("2026-09-05T12:00:00", "2026-09-06T12:00:00"), strict=True):
        for oid in ids:
            shop.add(order(oid, "completed", "10.00", paid="2026-09-01T10:00:00", modified=at))

    def edit_three_out_of_each_second(shop, n):
        params = shop.requests[-1][2]
        ids = seconds.get(params.get("modified_after"))
        if params["orderby"] == "date" and params["page"] == "2" and ids and len(ids) > 5:
            shop.modify(ids.pop(), "2026-09-08T12:00:00")  # leaves the second: it is read again from page 1

    shop.before_orders.append(edit_three_out_of_each_second)
    ctx = context()
    source(per_page=3).sync(ctx)  # 6 restarts in all, 3 per second: the limit is each second's
    assert len(ctx.keys("woocommerce:sale:")) == 16


@pytest.mark.parametrize("storage", ["posts", "hpos"])
def test_no_order_is_skipped_when_the_clocks_go_back(rsps, storage):
    """New York, 2026-11-01: 01:00-02:00 happens twice. Orders stored as posts are sorted by their local
    modification time, so GMT times go back and forth across pages; HPOS sorts by GMT."""
    new_york = ZoneInfo("America/New_York")
    shop = make_shop(rsps, storage=storage, timezone="America/New_York")
    # local 01:05 EDT, 01:07 EST, 01:10 EDT, 01:15 EST, 01:20 EDT, then 03:00 EST
    times = ["2026-11-01T05:05:00", "2026-11-01T06:07:00", "2026-11-01T05:10:00", "2026-11-01T06:15:00",
             "2026-11-01T05:20:00", "2026-11-01T08:00:00"]
    for i, at in enumerate(times):
        shop.add(order(500 + i, "processing", "10.00", paid=at))
    ctx = context(now=datetime(2026, 11, 2, tzinfo=UTC))
    report = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                               site_tz=new_york).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{500 + i}" for i in range(6)]
    assert report.events == 6 and ctx.cursors["woocommerce"]["modified_gmt"] == "2026-11-01T08:00:00+00:00"


def test_an_order_edited_during_a_walk_through_the_repeated_hour_does_not_hide_another(rsps):
    """New York, 2026-11-01, a sync at 06:15Z from a cursor at 06:10Z (01:10 EST, the repeated hour).
    The bound before a page ending in that hour steps back to its first occurrence; paging on by
    number there lost the order that moved up when order 800, already read, was completed."""
    shop = make_shop(rsps)
    for i, at in enumerate(["06:06:00", "06:07:00", "06:08:00", "06:09:00", "06:11:00", "06:12:00"]):
        shop.add(order(800 + i, "processing", "10.00", paid=f"2026-11-01T{at}"))

    def complete_800_after_the_first_page(shop, n):
        if n == 2:
            shop.modify(800, "2026-11-01T06:15:01", status="completed")

    shop.before_orders.append(complete_800_after_the_first_page)
    ctx = context(now=utc("2026-11-01T06:15:00"),
                  cursors={"woocommerce": {"modified_gmt": "2026-11-01T06:10:00+00:00", "seen": []}})
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                            site_tz=ZoneInfo("America/New_York"), read_ahead=False)
    src.sync(ctx)
    shop.before_orders.clear()
    ctx.now = utc("2026-11-01T06:20:00")
    src.sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{i}" for i in range(800, 806)]


def test_a_sync_stopped_in_the_repeated_hour_leaves_its_cursor_before_what_it_has_not_read(rsps):
    """Orders stored as posts, New York, 2026-11-01: after a page ending at 01:07 EST (06:07Z) the next
    query starts at the first 01:07 (05:06:59Z). A page failing there must not leave the cursor at
    06:07Z, or the orders between would never be read."""
    new_york = ZoneInfo("America/New_York")
    shop = make_shop(rsps, storage="posts", timezone="America/New_York")
    times = ["05:05:00", "06:07:00", "05:10:00", "06:15:00", "05:20:00", "05:40:00", "06:50:00"]
    for i, at in enumerate(times):
        shop.add(order(500 + i, "processing", "10.00", created=f"2026-10-31T10:0{i}:00", paid=f"2026-11-01T{at}"))

    def fail_the_second_page(shop, n):
        if n == 2:
            for _ in range(3):
                shop.fail("wc/v3/orders", 503, "<html><title>503</title></html>")

    shop.before_orders.append(fail_the_second_page)
    ctx = context(now=utc("2026-11-02T00:00:00"),
                  cursors={"woocommerce": {"modified_gmt": "2026-11-01T05:00:00+00:00", "seen": []}})
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, sleep=lambda s: None,
                            retry=RetryPolicy(attempts=3, total=60), site_tz=new_york)
    with pytest.raises(SyncError):
        src.sync(ctx)
    assert walk_cursor(ctx)["modified_gmt"] <= "2026-11-01T05:07:00+00:00"
    shop.before_orders.clear()
    ctx.now = utc("2026-11-02T01:00:00")
    src.sync(ctx)
    assert ctx.keys("woocommerce:sale:") == [f"woocommerce:sale:{500 + i}" for i in range(len(times))]


def test_an_order_read_in_the_second_it_is_still_changing_in_is_read_again(rsps):
    """Checkout creates the order unpaid and the gateway marks it paid within the same second: a sync
    reading it in between must not remember (id, that second) as seen, or the paid version, with the
    same date_modified_gmt, would be skipped by every later sync."""
    shop = make_shop(rsps)
    shop.add(order(900, "pending", "50.00", created="2026-11-23T10:00:00", paid=None, modified="2026-11-23T10:00:00"))
    src, ctx = source(), context(now=utc("2026-11-23T10:00:00"))
    src.sync(ctx)
    assert ctx.cursors["woocommerce"]["seen"] == []
    shop.edit(900, status="processing", date_paid="2026-11-23T10:00:00", date_paid_gmt="2026-11-23T10:00:00")
    ctx.now = utc("2026-11-23T10:05:00")
    src.sync(ctx)
    assert "woocommerce:sale:900" in ctx.events


def test_backfill_starting_after_the_cursor_leaves_it(rsps):
    shop = make_shop(rsps)
    for i in range(4):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-10-0{i + 1}T10:00:00"))
    cursor = {"modified_gmt": "2026-09-01T00:00:00+00:00", "seen": []}
    ctx = context(cursors={"woocommerce": dict(cursor)})
    source().sync(ctx, since=utc("2026-10-03T00:00:00"))
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:702", "woocommerce:sale:703"]
    assert walk_cursor(ctx) == cursor  # the next sync still reads October 1 and 2
    source().sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 4


# -- the walk's decisions alone --------------------------------------------------------------------

def page(number, total, per_page=3, items=3, total_pages=None):
    """A page as `Upstream.page` returns it (`total` None: no X-WP-Total)."""
    pages = total_pages if total_pages is not None else (None if total is None else -(-total // per_page))
    return Page(items=[{}] * items, number=number, per_page=per_page, total=total, total_pages=pages, response=None)


T0, T1 = utc("2026-09-05T11:59:59"), utc("2026-09-05T12:00:00")


def test_a_bound_that_does_not_move_opens_a_window_read_by_creation_then_the_walk_goes_on_after_it():
    walk = Walk(after=T0)
    assert walk.advance(page(1, 9), next_after=T0, pos=T1) and walk.window == (T0, T1)
    assert walk.params(("completed",))["orderby"] == "date"
    assert walk.params(("completed",))["modified_before"] == "2026-09-05T12:00:01"
    assert walk.advance(page(1, 9), None, T1) and walk.number == 2
    assert walk.advance(page(2, 9), None, T1) and walk.number == 3
    assert walk.advance(page(3, 9), None, T1) and (walk.window, walk.after, walk.number) == (None, T1, 1)
    assert walk.params(("completed",))["orderby"] == "modified" and walk.start == T1


def test_a_window_steps_back_as_many_pages_as_orders_left_it_and_stops_after_fifty():
    walk = Walk(after=T0, window=(T0, T1), number=3, total=9)
    assert walk.advance(page(3, 5), None, T1) and walk.number == 1  # 4 left: two pages of 3 back
    walk = Walk(after=T0, window=(T0, T1), number=2, total=200, steps=MAX_WINDOW_STEPS)
    with pytest.raises(SyncError, match="the orders modified at 2026-09-05T12:00:00 kept changing"):
        walk.advance(page(2, 199), None, T1)
    assert describe((T0 - timedelta(hours=1), T1)) == "from 2026-09-05T11:00:00 to 2026-09-05T12:00:00"


def test_a_window_without_counts_is_read_twice():
    walk = Walk(after=T0, window=(T0, T1))
    assert walk.advance(page(1, None, items=2), None, T1) and (walk.number, walk.passes) == (1, 1)
    assert walk.advance(page(1, None, items=2), None, T1) and walk.window is None


def test_a_catch_up_steps_back_when_orders_leave_its_statuses():
    paging = CatchUp(["shipped"])
    assert paging.advance(page(1, 9)) and paging.number == 2
    assert paging.advance(page(2, 8)) and paging.number == 1
    assert paging.advance(page(1, 8)) and paging.advance(page(2, 8)) and not paging.advance(page(3, 8))
    paging = CatchUp(["shipped"], previous=500, steps=MAX_WINDOW_STEPS)
    with pytest.raises(SyncError, match="the orders in shipped kept changing"):
        paging.advance(page(1, 497))


def test_the_next_bound_is_the_first_occurrence_of_a_repeated_local_time():
    new_york = ZoneInfo("America/New_York")
    last = order(1, modified="2026-11-01T06:07:00")  # 01:07 EST, the second 01:07 that night
    assert next_after([last], utc("2026-11-01T06:07:00"), None, new_york) == utc("2026-11-01T05:06:59")
    assert next_after([last], utc("2026-11-01T06:07:00"), None, UTC) == utc("2026-11-01T06:06:59")
    assert next_after([], None, T0, new_york) == T0  # nothing dated read: the query's own bound


def test_a_cursor_resumes_before_itself_and_moves_only_as_far_as_is_safe():
    state = {"modified_gmt": "2026-09-05T12:00:00+00:00", "seen": [[7, "2026-09-05T12:00:00"]]}
    cursor, start, skip = Cursor.resume(state, None, timedelta(minutes=5))
    assert (cursor.pos, start, skip) == (T1, utc("2026-09-05T11:55:00"), {(7, "2026-09-05T12:00:00")})
    held, start, skip = Cursor.resume(state, utc("2026-10-01T00:00:00"), timedelta(minutes=5))
    assert held.hold and held.pos == T1 and skip == set()
    assert not held.move(Latest(utc("2026-10-02T00:00:00"), {(9, "x")}), None, False, NOW, None)
    backfill, start, _ = Cursor.resume(state, utc("2026-08-01T00:00:00"), timedelta(minutes=5))
    assert backfill.pos is None and start == utc("2026-08-01T00:00:00")
    latest = Latest(utc("2026-09-06T00:00:00"), {(8, "2026-09-06T00:00:00")})
    assert cursor.move(latest, None, False, utc("2026-09-06T00:00:00"), None)  # the sync's start: not passed
    assert (cursor.pos, cursor.seen) == (utc("2026-09-06T00:00:00"), set())  # that second is read again
    cursor = Cursor(T1, set())
    assert cursor.move(latest, T0, True, NOW, None) is False  # the next query starts before: stay
    assert cursor.move(latest, None, False, NOW, utc("2026-09-06T00:00:00")) is True
    assert cursor.seen == set()  # the site's clock had not left that second
    assert cursor.move(latest, None, False, NOW, None) and cursor.seen == {(8, "2026-09-06T00:00:00")}
    assert cursor.state(("completed",)) == {"modified_gmt": "2026-09-06T00:00:00+00:00",
                                            "seen": [[8, "2026-09-06T00:00:00"]], "statuses": ["completed"]}


def test_a_page_scan_skips_what_was_read_and_keeps_the_latest_second():
    latest = Latest()
    items = [order(1, modified="2026-09-05T11:00:00"), order(2, modified="2026-09-05T12:00:00"),
             order(3, modified="2026-09-05T12:00:00"), {"id": "x"}]
    fresh, last = latest.scan(items, skip={(1, "2026-09-05T11:00:00")})
    assert [raw["id"] for raw, _ in fresh] == [2, 3, "x"] and fresh[2][1] is None and last == T1
    assert (latest.at, latest.seen) == (T1, {(2, "2026-09-05T12:00:00"), (3, "2026-09-05T12:00:00")})
    fresh, _ = latest.scan(items[1:3], skip=set())
    assert fresh == []  # read already in this second
