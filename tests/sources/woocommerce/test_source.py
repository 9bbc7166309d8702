"""sources/woocommerce/source.py: signing requests, the sync page by page (commits, progress, read-ahead),
categories for category filters, secrets kept out of logs and store; against the sandbox shop in process."""
from __future__ import annotations

import logging
import threading
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from types import SimpleNamespace
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from siren_sync.app import open_app
from siren_sync.config import load_config
from siren_sync.errors import ConfigError, SyncError
from siren_sync.model import Collaborator, Event, Touch
from siren_sync.sandbox.site import Product
from siren_sync.sources.woocommerce import WooCommerceOAuth1, WooCommerceSource
from siren_sync.sync import run_source
from tests.support.apps import NOW as NOW_APP
from tests.support.apps import write_config
from tests.support.beside import on_backend
from tests.support.payloads import (
    HTTP_URL,
    HTTPS_URL,
    KEY,
    SECRET,
    FakeContext,
    Interrupted,
    bulk_orders,
    order,
    refund_detail,
    refund_summary,
    sample_page_orders,
    sample_partial_refund_order,
    sample_refunded_detail,
    sample_refunded_order,
    utc,
)
from tests.support.shop import (
    ATTRIBUTION,
    NOW,
    context,
    make_shop,
    orders_params,
    source,
)


def test_oauth_over_http_signs_each_request(rsps):
    shop = make_shop(rsps, HTTP_URL)  # verifies the HMAC-SHA256 signature like WooCommerce does
    shop.add(sample_partial_refund_order(), *sample_page_orders())
    ctx = context()
    source(HTTP_URL, per_page=2).sync(ctx)
    assert shop.count("wc/v3/orders") == 2 and ctx.keys("woocommerce:sale:") != []
    nonces = set()
    assert len(shop.urls) == 3  # the listing described (OPTIONS), then two pages
    for url in shop.urls:
        assert url.count("oauth_signature=") == 1 and url.count("per_page=") <= 1
        names = [name for name, _ in parse_qsl(urlsplit(url).query)]
        assert len(names) == len(set(names)), f"duplicated query parameters: {names}"
        assert SECRET not in url and "consumer_secret" not in url
        nonces.add(url.split("oauth_nonce=")[1].split("&")[0])
    assert len(nonces) == len(shop.urls)


def test_oauth_retry_is_signed_again(rsps):
    shop = make_shop(rsps, HTTP_URL)
    shop.add(*sample_page_orders())
    shop.fail("wc/v3/orders", 503, "<html><title>Busy</title></html>")
    source(HTTP_URL).sync(context())
    pages = [url for method, url in zip((m for m, _, _ in shop.requests), shop.urls, strict=True) if method == "GET"]
    assert len(pages) == 2
    assert pages[0].split("oauth_nonce=")[1][:20] != pages[1].split("oauth_nonce=")[1][:20]


def test_basic_auth_over_https(rsps):
    shop = make_shop(rsps, HTTPS_URL)
    shop.add(*sample_page_orders())
    source(HTTPS_URL).sync(context())
    call = rsps.calls[0]
    assert call.request.headers["Authorization"].startswith("Basic ")
    assert "oauth_" not in call.request.url and KEY not in call.request.url


def test_plain_http_uses_oauth_even_on_loopback():
    # WooCommerce refuses Basic auth over plain http, loopback included (apis.md section 7).
    src = WooCommerceSource("http://127.0.0.1:8080", KEY, SECRET)
    assert isinstance(src.http.auth, WooCommerceOAuth1)
    assert SECRET not in repr(src.http.auth)


def test_missing_keys_is_a_config_error():
    with pytest.raises(ConfigError, match="consumer_key and consumer_secret"):
        WooCommerceSource(HTTPS_URL, "", SECRET)


def test_from_config():
    secret = lambda v: SimpleNamespace(value=v)  # noqa: E731 - config.Secret's shape
    config = SimpleNamespace(
        site=SimpleNamespace(url=HTTPS_URL, verify_tls="/etc/ssl/ca.pem", wc_key=secret(KEY), wc_secret=secret(SECRET)),
        sync=SimpleNamespace(overlap=120.0, sources={"woocommerce": SimpleNamespace(
            enabled=True, every=None, options={"paid_statuses": ["completed"], "per_page": 50, "refunds": "orders"})}),
        distributors={"d": SimpleNamespace(filters=SimpleNamespace(in_categories=(16,)))})
    src = WooCommerceSource.from_config(config)
    assert src.paid_statuses == ("completed",) and src.per_page == 50 and src.refunds.mode == "orders"
    assert src.needs_categories
    assert src.overlap == timedelta(seconds=120) and src.http.verify == "/etc/ssl/ca.pem"
    assert src.http.timeout == (10.0, 30.0)


def test_truncated_page_raises_and_cursor_stays_at_last_committed_page(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(400 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    ctx = context()
    src = source(per_page=2)

    def truncate_second_page(shop, n):
        if n in (2, 3, 4):  # every attempt at the second page is cut short
            shop.fail("wc/v3/orders", 200, '[{"id": 402, "status": "compl')

    shop.before_orders.append(truncate_second_page)
    with pytest.raises(SyncError, match=r"wc/v3/orders: HTTP 200 sent .*gave up after 3 attempts"):
        src.sync(ctx)
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-02T10:00:00+00:00"
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:400", "woocommerce:sale:401"]
    shop.before_orders.clear()
    src.sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 5
    assert orders_params(shop)[-3]["modified_after"] == "2026-09-02T09:55:00"  # resumed at cursor - overlap


def test_interrupted_backfill_resumes_at_committed_cursor(rsps):
    shop = make_shop(rsps)
    for i in range(6):
        shop.add(order(500 + i, "completed", "10.00", paid=f"2026-10-0{i + 1}T10:00:00"))
    ctx = context(cursors={"woocommerce": {"modified_gmt": "2026-11-20T00:00:00+00:00", "seen": []}},
                  interrupt_after=1)
    src = source(per_page=2, read_ahead=False)  # strict sequencing: no page read ahead of the interruption
    with pytest.raises(Interrupted):
        src.sync(ctx, since=utc("2026-09-01T00:00:00"))
    assert orders_params(shop)[0]["modified_after"] == "2026-09-01T00:00:00"
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-10-02T10:00:00+00:00"
    ctx.interrupt_after = None
    src.sync(ctx)
    assert orders_params(shop)[2]["modified_after"] == "2026-10-02T09:55:00"
    assert len(ctx.keys("woocommerce:sale:")) == 6


def test_progress_is_reported_per_page(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(600 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    ctx = context()
    report = source(per_page=2).sync(ctx)
    # each page but the last ends with an order read again (page 1 again from the last item's second)
    assert [c[1] for c in ctx.progress_calls] == [1, 2, 3, 4]
    assert ctx.progress_calls[0] == ("woocommerce", 1, 3, 2) and ctx.progress_calls[-1] == ("woocommerce", 4, 4, 8)
    assert report.pages == 4 and len(ctx.keys("woocommerce:sale:")) == 5


def test_empty_shop_commits_nothing(rsps):
    make_shop(rsps)
    ctx = context()
    report = source().sync(ctx)
    assert ctx.commits == [] and report.records == 0 and report.pages == 1


@pytest.mark.parametrize("url", [HTTP_URL, HTTPS_URL])
def test_secrets_never_logged_or_stored(rsps, caplog, url):
    caplog.set_level(logging.DEBUG)
    shop = make_shop(rsps, url)
    shop.add(sample_partial_refund_order(), sample_refunded_order(), *sample_page_orders())
    shop.add_refund(sample_refunded_detail(), 47)
    shop.fail("wc/v3/orders", 429, {"code": "too_many", "message": "slow down", "data": {"status": 429}},
              {"Retry-After": "1"})
    ctx = context()
    src = source(url)
    src.sync(ctx)
    shop.fail("wc/v3/orders", 401, {"code": "woocommerce_rest_authentication_error",
                                    "message": "Invalid signature - provided signature does not match.",
                                    "data": {"status": 401}})
    with pytest.raises(SyncError) as info:
        src.sync(ctx)
    stored = repr(ctx.commits) + repr(ctx.quarantined) + repr([e.to_record() for e in ctx.events.values()])
    for secret in (KEY, SECRET):
        assert secret not in caplog.text and secret not in str(info.value) and secret not in stored
    assert "oauth_signature" not in caplog.text


def test_category_filter_reads_product_categories_once(rsps):
    """Order lines have no categories in the REST API: they come from wc/v3/products, once each."""
    shop = make_shop(rsps)
    shop.site.products[11] = Product(11, "Advanced SQL (course)", "advanced-sql-course", "PEER-101", 9900,
                                     (16, "Online Courses", "online-courses"), 0)
    shop.add(sample_partial_refund_order())
    src = source()
    src.needs_categories = True
    ctx = context()
    src.sync(ctx)
    src.sync(context())
    [sale] = [e for k, e in ctx.events.items() if k.startswith("woocommerce:sale:")]
    assert {line.product_id: line.categories for line in sale.order.lines} == {11: (16,), 13: (), 15: ()}
    assert shop.count("wc/v3/products") == 1


def _scenario(rsps, read_ahead: bool, kind: str):
    shop = make_shop(rsps)
    if kind == "modified":
        for i in range(7):
            shop.add(order(200 + i, "processing", f"{10 + i}.00", paid=f"2026-09-0{i + 1}T10:00:00"))

        def cancel_after_first_page(shop, n):
            if n == 2:
                shop.modify(200, "2026-09-20T00:00:00", status="cancelled")

        shop.before_orders.append(cancel_after_first_page)
    elif kind == "same-second":
        for i in range(8):
            shop.add(order(300 + i, "completed", "10.00", paid="2026-09-01T10:00:00", modified="2026-09-05T12:00:00"))
        shop.add(order(320, "completed", "10.00", paid="2026-09-06T10:00:00"),
                 order(321, "completed", "10.00", paid="2026-09-07T10:00:00"))
    else:  # refunds crossing a period, read in bulk from a large sync
        orders, details = bulk_orders(40, 6, start=utc("2025-01-01T00:00:00"))
        shop.add(*orders)
        for detail, oid in details:
            shop.add_refund(detail, oid)
    ctx = context(now=utc("2026-12-01T00:00:00"))
    report = source(per_page=3, read_ahead=read_ahead).sync(ctx)
    asked = [(p.get("modified_after"), p["page"]) for p in orders_params(shop)]
    return ({k: e.to_record() for k, e in ctx.events.items()}, ctx.cursors, ctx.commits, asked,
            (report.records, report.events, report.pages, report.detail["requests"]))


@pytest.mark.parametrize("kind", ["modified", "same-second", "refunds"])
def test_read_ahead_changes_nothing_but_timing(kind):
    results = []
    for read_ahead in (False, True):
        with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
            results.append(_scenario(mock, read_ahead, kind))
    assert results[0] == results[1]


def test_next_page_is_read_while_the_current_one_is_committed(rsps):

    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    second_asked = threading.Event()
    shop.before_orders.append(lambda shop, n: second_asked.set() if n == 2 else None)

    class WaitingContext(FakeContext):
        def commit(self, name, events, cursor):
            if not self.commits:  # the first commit waits for the second page's request (a thread)
                assert second_asked.wait(5), "the second page was not read ahead"
            return super().commit(name, events, cursor)

    ctx = WaitingContext(now=NOW, attribution=ATTRIBUTION)
    source(per_page=2).sync(ctx)
    assert len(ctx.keys("woocommerce:sale:")) == 5


def test_read_ahead_can_be_switched_off(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(700 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    commits_when_asked = []
    ctx = context()
    shop.before_orders.append(lambda shop, n: commits_when_asked.append(len(ctx.commits)))
    src = WooCommerceSource(HTTPS_URL, KEY, SECRET, options={"per_page": 2}, read_ahead=False,
                            sleep=lambda s: None)
    src.sync(ctx)
    assert commits_when_asked == [0, 1, 2, 3]  # each page asked only once the one before is committed


def test_failing_read_ahead_page_fails_after_the_current_page_is_committed(rsps):
    shop = make_shop(rsps)
    for i in range(5):
        shop.add(order(400 + i, "completed", "10.00", paid=f"2026-09-0{i + 1}T10:00:00"))
    shop.before_orders.append(lambda shop, n: shop.fail("wc/v3/orders", 503, "<html><title>Busy</title></html>")
                              if n >= 2 else None)
    ctx = context()
    with pytest.raises(SyncError, match="gave up after 3 attempts"):
        source(per_page=2).sync(ctx)
    assert ctx.keys("woocommerce:sale:") == ["woocommerce:sale:400", "woocommerce:sale:401"]
    assert ctx.cursors["woocommerce"]["modified_gmt"] == "2026-09-02T10:00:00+00:00"
    assert shop.count("wc/v3/orders") == 4  # page 1, then 3 attempts at page 2: nothing after the failure


# -- who may have brought a sale (programs) ---------------------------------------------------------------

AGENT = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 Version/17.6 Safari/605.1.15"


def test_a_sale_carries_its_touch_and_only_the_visitors_digest_leaves_the_source(rsps):
    shop = make_shop(rsps)
    raw = order(61, "processing", "50.00", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02")
    raw.update(customer_ip_address="::ffff:203.0.113.40", customer_user_agent=AGENT, created_via="checkout",
               meta_data=[{"id": 1, "key": "_wc_order_attribution_session_entry",
                           "value": "https://shop.example/product/x/?ref=chloe"},
                          {"id": 2, "key": "_wc_order_attribution_user_agent", "value": AGENT},
                          {"id": 3, "key": "_affiliate", "value": "bruno"}])
    shop.add(raw, sample_refunded_order())
    ctx = context()
    source(ref_meta_key="_affiliate").sync(ctx)
    sale = ctx.events["woocommerce:sale:61"]
    assert sale.touch == Touch(visitor=ctx.visitor("203.0.113.40", AGENT), ref="bruno",
                               created_at=utc("2026-09-02T16:18:02"))
    assert ctx.events["woocommerce:sale:47"].touch == Touch(created_at=utc("2026-08-30T12:49:07"))
    stored = repr(ctx.commits) + repr([e.to_record() for e in ctx.events.values()])
    assert "203.0.113.40" not in stored and AGENT not in stored
    asked = orders_params(shop)[0]
    assert asked["include_meta"] == ("_subscription_renewal,_wc_order_attribution_session_entry,"
                                     "_wc_order_attribution_session_start_time,_affiliate")
    assert {"customer_ip_address", "customer_user_agent", "meta_data"} <= set(asked["_fields"].split(","))


CREATED_VIA = [  # (created_via as the order says it, or None: not sent; matched by visitor; said in the log)
    ("checkout", True, False), ("store-api", True, False),
    ("admin", False, False), ("rest-api", False, False), ("subscription", False, False), ("pos-rest-api", False, False),
    ("", False, True), ("kandi-storefront", False, True), (None, False, True),
]


@pytest.mark.parametrize("via, matched, said", CREATED_VIA)
def test_only_a_checkout_s_sale_carries_its_visitor_and_an_unknown_creator_is_said_once(rsps, caplog, via, matched,
                                                                                        said):
    """The listing asks for `created_via` (once); a sale created by the customer's browser carries the
    visitor's digest, any other none (its coupons and the ref it names still engage it); a value no
    known creator sends is said with its count, never with an address or agent."""
    shop = make_shop(rsps)
    for oid in (71, 72):
        raw = order(oid, "processing", "50.00", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02",
                    coupon_lines=[{"id": oid, "code": "DAVID20", "discount": "5.00", "discount_tax": "0.00"}])
        raw.update(customer_ip_address="203.0.113.40", customer_user_agent=AGENT, created_via=via,
                   meta_data=[{"id": 1, "key": "_wc_order_attribution_session_entry",
                               "value": "https://shop.example/?ref=chloe"}])
        if via is None:
            del raw["created_via"]
        shop.add(raw)
    ctx = context()
    with caplog.at_level(logging.INFO, logger="siren_sync.sources.woocommerce"):
        source().sync(ctx)
    sale = ctx.events["woocommerce:sale:71"]
    assert sale.touch == Touch(visitor=ctx.visitor("203.0.113.40", AGENT) if matched else None, ref="chloe",
                               created_at=utc("2026-09-02T16:18:02"))
    assert ctx.events["woocommerce:boundCouponUsed:71:david20"].collaborator == "david"
    assert orders_params(shop)[0]["_fields"].split(",").count("created_via") == 1
    warned = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    shown = repr(via) if via is not None else "(not sent)"
    assert warned == ([f"woocommerce: 2 paid order(s) created via {shown} are not matched to referral visits by "
                       "their visitor (their address and agent may be whoever created them); if that is your "
                       "storefront's checkout, add it to sync.woocommerce.visitor_created_via"] if said else [])
    assert "203.0.113.40" not in caplog.text and AGENT not in caplog.text


def test_each_unknown_creator_is_said_once_a_run_whatever_they_are(rsps, caplog):
    """Each value once, with its count, by the first sync that meets it: a worker polling a shop whose
    staff's tool names its orders is told once a run, not every five minutes."""
    shop, woo = make_shop(rsps), source()
    ctx = context()

    def sync(*orders: tuple[int, str | None]) -> list[str]:
        for oid, via in orders:
            raw = order(oid, "processing", "50.00", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02")
            raw.update(customer_ip_address="203.0.113.40", customer_user_agent=AGENT, created_via=via,
                       date_modified_gmt=f"2026-09-03T10:00:{oid - 70:02d}")
            shop.add(raw)
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="siren_sync.sources.woocommerce"):
            woo.sync(ctx)
        return [r.getMessage().split(" are ")[0] for r in caplog.records]

    assert sync((74, "kandi-storefront"), (75, None), (76, ""), (77, "kandi-storefront"), (78, "admin")) == [
        "woocommerce: 1 paid order(s) created via ''", "woocommerce: 2 paid order(s) created via 'kandi-storefront'",
        "woocommerce: 1 paid order(s) created via (not sent)"]  # null is not a name: as good as not sent
    assert sync((79, "kandi-storefront"), (80, "bookings"), (81, "")) == [
        "woocommerce: 1 paid order(s) created via 'bookings'"]
    assert "woocommerce:sale:80" in ctx.events


def test_a_shop_s_own_checkout_listed_in_visitor_created_via_is_matched_by_visitor_and_not_said(rsps, caplog):
    shop = make_shop(rsps)
    raw = order(73, "processing", "50.00", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02")
    raw.update(customer_ip_address="203.0.113.40", customer_user_agent=AGENT, created_via="kandi-storefront")
    shop.add(raw)
    ctx = context()
    with caplog.at_level(logging.WARNING, logger="siren_sync.sources.woocommerce"):
        source(visitor_created_via=("checkout", "kandi-storefront")).sync(ctx)
    assert ctx.events["woocommerce:sale:73"].touch.visitor == ctx.visitor("203.0.113.40", AGENT)
    assert caplog.records == []


def test_a_sale_carries_when_the_landing_page_naming_its_ref_was_visited(rsps):
    shop = make_shop(rsps)
    raw = order(62, "processing", "50.00", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02")
    raw["meta_data"] = [
        {"id": 1, "key": "_wc_order_attribution_session_entry", "value": "https://shop.example/?ref=chloe"},
        {"id": 2, "key": "_wc_order_attribution_session_start_time", "value": "2026-09-01 22:10:00"}]
    shop.add(raw)
    ctx = context()
    source().sync(ctx)
    assert ctx.events["woocommerce:sale:62"].touch == Touch(ref="chloe", created_at=utc("2026-09-02T16:18:02"),
                                                            ref_at=utc("2026-09-01T22:10:00"))


def test_the_ref_parameter_is_the_access_logs(tmp_path):
    config = SimpleNamespace(
        site=SimpleNamespace(url=HTTPS_URL, wc_key=SimpleNamespace(value=KEY), wc_secret=SimpleNamespace(value=SECRET),
                             verify_tls=True),
        sync=SimpleNamespace(overlap=300, sources={
            "woocommerce": SimpleNamespace(options={"ref_meta_key": "_aff"}),
            "access_log": SimpleNamespace(options={"ref_param": "partner"})}),
        distributors={})
    src = WooCommerceSource.from_config(config)
    assert (src.refs.param, src.refs.meta_key) == ("partner", "_aff")


def test_a_quarantined_order_is_kept_without_its_customers_address_and_agent(rsps):
    shop = make_shop(rsps)
    bad = order(62, "processing", "10.00")
    bad.update(total="abc", customer_ip_address="203.0.113.41", customer_user_agent=AGENT)
    shop.add(bad)
    ctx = context()
    source().sync(ctx)
    [(where, reason, payload)] = ctx.quarantined
    assert where == "wc/v3/orders #62" and payload["total"] == "abc"
    assert "203.0.113.41" not in repr(payload) and AGENT not in repr(payload)


# -- a refund after a recorded cancellation (the distributors' pools) ------------------------------------------

PEOPLE = [Collaborator(id="alice", tracking_ids=("alice",)), Collaborator(id="bruno", tracking_ids=("bruno",))]
PAID_ORDER = order(8, "completed", "250.00", currency="USD", created="2026-11-03T09:00:00",
                   paid="2026-11-03T09:05:00")  # the period's other sale: 250.00, a pool of 25.00


def _order_7(status: str, modified: str, refunds: tuple[tuple[int, str], ...] = ()) -> dict:
    """Order 7 (100.00 USD, paid 5 November) as `status` at `modified`, with these (id, amount) refunds."""
    return order(7, status, "100.00", currency="USD", created="2026-11-05T10:00:00", paid="2026-11-05T10:05:00",
                 modified=modified, refunds=[refund_summary(rid, amount) for rid, amount in refunds])


# Each case: the reads of order 7 (status, date_modified, refunds so far), a sync after each.
TAKE_BACKS = {
    "cancelled, then fully refunded (still cancelled)": [
        ("cancelled", "2026-11-06T08:00:00", ()), ("cancelled", "2026-11-10T08:00:00", ((55, "100.00"),))],
    "cancelled, then fully refunded (now refunded)": [
        ("cancelled", "2026-11-06T08:00:00", ()), ("refunded", "2026-11-10T08:00:00", ((55, "100.00"),))],
    "cancelled, then partly refunded": [
        ("cancelled", "2026-11-06T08:00:00", ()), ("cancelled", "2026-11-10T08:00:00", ((55, "30.00"),))],
    "refunded with less refunded, then refunded again": [
        ("refunded", "2026-11-06T08:00:00", ((54, "30.00"),)),
        ("refunded", "2026-11-10T08:00:00", ((54, "30.00"), (55, "70.00")))],
    "refunded in part, then cancelled": [
        ("completed", "2026-11-06T08:00:00", ((54, "40.00"),)),
        ("cancelled", "2026-11-10T08:00:00", ((54, "40.00"),))],
    "refunded in part and cancelled, read once": [("cancelled", "2026-11-10T08:00:00", ((54, "40.00"),))],
}


@pytest.fixture(params=["tinydb", "postgres"])
def pool_app(request, tmp_path):
    """A real app (distributor `visits`: 10% of November's revenue, split by referred visits: alice 3,
    bruno 1) on each store backend."""
    write_config(tmp_path, PEOPLE)
    on_backend(SimpleNamespace(root=tmp_path), request.param)
    with open_app(load_config(tmp_path / "siren.yaml"), now=NOW_APP) as app:
        app.ledger.record([Event(key=f"test:referredSiteVisit:{n}", type="referredSiteVisit", source="test",
                                 at=utc("2026-11-02T12:00:00"), collaborator=who)
                           for n, who in enumerate(["alice", "alice", "alice", "bruno"])])
        yield app


@pytest.mark.parametrize("case", TAKE_BACKS)
def test_a_paid_order_taken_back_whole_leaves_the_pool_as_without_it(rsps, pool_app, case):
    """However its refunds and cancellation are read, order 7 nets to 0.00: a refund after the recorded
    cancellation takes nothing more (the cancellation took what was left)."""
    shop = make_shop(rsps)
    shop.add(PAID_ORDER)
    wc = source()
    for status, modified, refunds in TAKE_BACKS[case]:
        shop.add(_order_7(status, modified, refunds))
        for rid, amount in refunds:
            if rid not in {r.id for r in shop.site.orders[7].refunds}:
                shop.add_refund(refund_detail(rid, 7, amount, modified), 7)
        assert run_source(pool_app, wc, NOW_APP).quarantined == 0
    again = run_source(pool_app, wc, NOW_APP)  # reading it again records nothing
    assert (again.events, again.quarantined) == (0, 0) and pool_app.store.table("quarantine") == {}
    made = pool_app.ledger.project("visits", *pool_app.ledger.open_period("visits"), {})
    assert (made.revenue, made.pool) == (Decimal("250.00"), Decimal("25.00"))
    assert [(o.collaborator, o.amount) for o in made.obligations] == [("alice", Decimal("18.75")),
                                                                       ("bruno", Decimal("6.25"))]


def test_a_refund_after_the_recorded_cancellation_is_not_recorded_nor_its_date_read(rsps):
    shop = make_shop(rsps)
    raw = sample_partial_refund_order()
    raw.update(status="cancelled", refunds=[], date_modified="2026-09-20T08:00:00",
               date_modified_gmt="2026-09-20T08:00:00")
    shop.add(raw)
    ctx = context()
    wc = source()
    wc.sync(ctx)
    assert ctx.events["woocommerce:cancel:26"].share == -1
    assert ctx.keys("woocommerce:boundCouponUsed:26:david20:reversal")
    # A month later the payment is refunded whole: the refund lies in another period than the payment.
    shop.modify(26, "2026-10-20T08:00:00", status="refunded", refunds=[refund_summary(89, "383.12")])
    shop.add_refund(refund_detail(89, 26, "383.12", "2026-10-20T08:00:00"), 26)
    keys = sorted(ctx.events)
    report = wc.sync(ctx)
    assert report.records == 1 and report.events == 0 and sorted(ctx.events) == keys
    assert not ctx.keys("woocommerce:refund:") and not ctx.quarantined  # the points went once, with the cancel
    assert shop.count("wc/v3/refunds|wc/v3/orders/26/refunds") == 0  # its date counts for nothing


def test_refunds_read_with_the_cancellation_still_count(rsps):
    """The cancellation's share already leaves out the refunds read with it (one read), and a refund
    recorded before the cancellation stays as it was."""
    shop = make_shop(rsps)
    shop.add(_order_7("completed", "2026-11-06T08:00:00", ((54, "40.00"),)))
    ctx = context()
    wc = source()
    wc.sync(ctx)
    shop.modify(7, "2026-11-10T08:00:00", status="cancelled",
                refunds=[refund_summary(54, "40.00"), refund_summary(56, "10.00")])
    wc.sync(ctx)
    shares = {key: e.share for key, e in ctx.events.items() if e.share != 1}
    assert shares == {"woocommerce:refund:7:54": Fraction(-2, 5), "woocommerce:refund:7:56": Fraction(-1, 10),
                      "woocommerce:cancel:7": Fraction(-1, 2)}


def test_a_refund_read_later_in_the_same_sync_as_the_cancellation_takes_nothing_more(rsps, pool_app):
    """The cancellation read on the sync's first page is not stored yet when the order, refunded meanwhile,
    comes again at the end of the walk: what the sync committed counts as recorded too."""
    shop = make_shop(rsps)
    shop.add(_order_7("cancelled", "2026-11-06T08:00:00"), dict(PAID_ORDER, date_modified_gmt="2026-11-08T09:00:00"))

    def refund_it(site, listings: int) -> None:
        if listings == 2:
            site.modify(7, "2026-11-10T08:00:00", refunds=[refund_summary(55, "100.00")])
            site.add_refund(refund_detail(55, 7, "100.00", "2026-11-10T08:00:00"), 7)

    shop.before_orders.append(refund_it)
    report = run_source(pool_app, source(per_page=1), NOW_APP)
    assert report.detail["cursor"] == "2026-11-10T08:00:00+00:00" and report.quarantined == 0  # read refunded
    assert pool_app.store.known(["woocommerce:cancel:7", "woocommerce:refund:7:55"]) == {"woocommerce:cancel:7"}
    made = pool_app.ledger.project("visits", *pool_app.ledger.open_period("visits"), {})
    assert (made.revenue, made.pool) == (Decimal("250.00"), Decimal("25.00"))
