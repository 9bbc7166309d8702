"""Realistic WooCommerce payloads, an in-memory sync context and WordPress REST helpers (no network).

The builders copy the exact shape of the real responses in `tests/fixtures/samples/` (WordPress 6.4,
WooCommerce 8.2, orders stored as posts): every key the site sends, money as strings, `*_gmt` times
without an offset, lower-case coupon codes, `refunds[]` inside an order without dates. The sandbox
site serves them as given (`tests.support.in_process.InProcessSite`). `FakeContext` is an in-memory
`SyncContext` that records commits; every source test uses it (`FakeContext.of(collaborators)`
builds its attribution). `wp_collection` and `site_upstream` are the WordPress-REST paging answer and
upstream the other fake sites share.
"""
from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import responses

from siren_sync.model import Collaborator, Event
from siren_sync.sources.base import Attribution, visitor_digest
from siren_sync.sources.http import RetryPolicy, Upstream

KEY = "ck_0123456789abcdef0123456789abcdef01234567"
SECRET = "cs_fedcba9876543210fedcba9876543210fedcba98"
HTTPS_URL = "https://shop.example"
HTTP_URL = "http://shop.example"
UTC = UTC


def utc(text: str) -> datetime:
    """'2026-09-13T10:51:33' (a WooCommerce *_gmt value) as an aware UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def gmt(value: datetime) -> str:
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


# -- payload builders (shapes copied from the samples) ----------------------------------------------

def coupon_data(code: str, coupon_id: int = 21, usage_count: int = 1) -> dict:
    stamp = {"date": "2026-11-23 04:00:34.000000", "timezone_type": 3, "timezone": "UTC"}
    return {"id": coupon_id, "code": code, "amount": "20", "status": "publish", "date_created": dict(stamp),
            "date_modified": dict(stamp), "date_expires": None, "discount_type": "percent",
            "description": f"Collaborator coupon for {code}", "usage_count": usage_count,
            "individual_use": False, "product_ids": [], "excluded_product_ids": [], "usage_limit": 0,
            "usage_limit_per_user": 0, "limit_usage_to_x_items": None, "free_shipping": False,
            "product_categories": [], "excluded_product_categories": [], "exclude_sale_items": False,
            "minimum_amount": "", "maximum_amount": "", "email_restrictions": [], "virtual": False,
            "meta_data": [{"id": 203, "key": "collaborator_user_id", "value": "5"},
                          {"id": 204, "key": "collaborator_login", "value": "david.nguyen"}]}


def line_item(line_id: int, product_id: int, subtotal: str, total: str | None = None, quantity: int = 1,
              sku: str = "PEER-101", name: str = "Advanced SQL (course)", variation_id: int = 0) -> dict:
    """A line item; `variation_id` names the variation bought (0: none), `product_id` stays its parent."""
    total = subtotal if total is None else total
    body = {"id": line_id, "name": name, "product_id": product_id, "variation_id": variation_id, "quantity": quantity,
            "tax_class": "", "subtotal": subtotal, "subtotal_tax": "0.00", "total": total, "total_tax": "0.00",
            "taxes": [], "meta_data": [], "sku": sku, "price": float(total) / quantity if quantity else 0,
            "image": {"id": "", "src": ""}, "parent_name": None}
    if variation_id:  # "T-shirt - L": the parent's name apart, the attribute chosen in the item's meta
        parent, _, size = name.partition(" - ")
        body.update(parent_name=parent, meta_data=[{"id": line_id * 3, "key": "pa_size", "value": size.lower(),
                                                    "display_key": "Size", "display_value": size}])
    return body


def coupon_line(line_id: int, code: str, discount: str, meta: bool = True) -> dict:
    data = coupon_data(code)
    meta_data = [{"id": line_id * 7, "key": "coupon_data", "value": data, "display_key": "coupon_data",
                  "display_value": copy.deepcopy(data)}] if meta else []
    return {"id": line_id, "code": code, "discount": discount, "discount_tax": "0", "meta_data": meta_data}


def fee_line(line_id: int, total: str, name: str = "Handling fee") -> dict:
    return {"id": line_id, "name": name, "tax_class": "", "tax_status": "taxable", "amount": total,
            "total": total, "total_tax": "0.00", "taxes": [], "meta_data": []}


def refund_summary(refund_id: int, amount: str, reason: str = "Partial refund (one unit)") -> dict:
    """An entry of `refunds[]` inside an order: no date, `total` negative."""
    return {"id": refund_id, "reason": reason, "total": f"-{amount}"}


def order(order_id: int, status: str = "completed", total: str = "383.12", *,
          created: str = "2026-09-13T10:41:33", paid: str | None = "2026-09-13T10:51:33",
          modified: str | None = None, discount_total: str = "0.00", shipping_total: str = "0.00",
          total_tax: str = "0.00", currency: str = "EUR", line_items: list | None = None,
          coupon_lines: list | None = None, fee_lines: list | None = None, refunds: list | None = None,
          completed: str | None = None, customer_id: int = 15, url: str = "https://shop.example") -> dict:
    """An order exactly as GET /wc/v3/orders/<id> sends it (site timezone UTC, like the samples)."""
    modified = modified or paid or created
    if line_items is None:
        line_items = [line_item(order_id * 10, 11, total)]
    body = {
        "id": order_id, "parent_id": 0, "status": status, "currency": currency, "version": "8.2.2",
        "prices_include_tax": False, "date_created": created, "date_modified": modified,
        "discount_total": discount_total, "discount_tax": "0.00", "shipping_total": shipping_total,
        "shipping_tax": "0.00", "cart_tax": "0.00", "total": total, "total_tax": total_tax,
        "customer_id": customer_id, "order_key": f"wc_order_{order_id:013d}",
        "billing": {"first_name": "Nathan", "last_name": "Lefebvre", "company": "", "address_1": "19 rue de la Paix",
                    "address_2": "", "city": "Lyon", "state": "", "postcode": "69009", "country": "FR",
                    "email": "nathan.lefebvre@example.test", "phone": ""},
        "shipping": {"first_name": "", "last_name": "", "company": "", "address_1": "", "address_2": "", "city": "",
                     "state": "", "postcode": "", "country": "", "phone": ""},
        "payment_method": "bacs", "payment_method_title": "Direct bank transfer",
        "transaction_id": f"TX{100000 + order_id}" if paid else "", "customer_ip_address": "127.0.0.1",
        "customer_user_agent": "", "created_via": "peer-seed", "customer_note": "",
        "date_completed": completed, "date_paid": paid, "cart_hash": "", "number": str(order_id), "meta_data": [],
        "line_items": line_items, "tax_lines": [], "shipping_lines": [], "fee_lines": fee_lines or [],
        "coupon_lines": coupon_lines or [], "refunds": refunds or [],
        "payment_url": f"{url}/checkout/order-pay/{order_id}/?pay_for_order=true&key=wc_order_{order_id:013d}",
        "is_editable": status in ("pending", "on-hold", "auto-draft"), "needs_payment": paid is None,
        "needs_processing": True, "date_created_gmt": created, "date_modified_gmt": modified,
        "date_completed_gmt": completed, "date_paid_gmt": paid, "currency_symbol": "\u20ac",
        "_links": {"self": [{"href": f"{url}/wp-json/wc/v3/orders/{order_id}"}],
                   "collection": [{"href": f"{url}/wp-json/wc/v3/orders"}],
                   "customer": [{"href": f"{url}/wp-json/wc/v3/customers/{customer_id}"}]},
    }
    return body


def subscription(sub_id: int, parent_id: int, status: str = "active", *, start: str = "2026-09-13T10:51:33",
                 total: str = "19.00", url: str = "https://shop.example") -> dict:
    """A subscription as GET /wc/v3/subscriptions/<id> sends it (WooCommerce Subscriptions 3.1+: an
    order's shape without refunds, transaction id and cart hash, with its parent order and schedule)."""
    body = order(sub_id, "completed", total, created=start, paid=start, url=url)
    for gone in ("refunds", "transaction_id", "cart_hash", "payment_url", "is_editable", "needs_payment",
                 "needs_processing"):
        body.pop(gone)
    body.update({"parent_id": parent_id, "status": status, "billing_period": "month", "billing_interval": 1,
                 "start_date_gmt": start, "trial_end_date_gmt": "", "next_payment_date_gmt": "2026-10-13T10:51:33",
                 "last_order_date_created_gmt": start, "cancelled_date_gmt": "", "end_date_gmt": "",
                 "resubscribed_from": "", "resubscribed_subscription": "", "removed_line_items": [],
                 "_links": {"self": [{"href": f"{url}/wp-json/wc/v3/subscriptions/{sub_id}"}],
                            "collection": [{"href": f"{url}/wp-json/wc/v3/subscriptions"}],
                            "up": [{"href": f"{url}/wp-json/wc/v3/orders/{parent_id}"}]}})
    return body


def renewal(order_id: int, sub_id: int, **kw) -> dict:
    """A renewal order (WooCommerce Subscriptions): `created_via: subscription`, its subscription named in
    `meta_data` `_subscription_renewal` (a string, as post meta comes back)."""
    body = order(order_id, **kw)
    body["created_via"] = "subscription"
    body["meta_data"] = [{"id": order_id * 10 + 1, "key": "_subscription_renewal", "value": str(sub_id)}]
    return body


def refund_detail(refund_id: int, order_id: int, amount: str, created: str, reason: str = "Partial refund",
                  url: str = "https://shop.example") -> dict:
    """A refund as GET /wc/v3/orders/<id>/refunds sends it (`amount` positive, with its date)."""
    return {"id": refund_id, "date_created": created, "date_created_gmt": created, "amount": amount,
            "reason": reason, "refunded_by": 1, "refunded_payment": False, "meta_data": [], "line_items": [],
            "shipping_lines": [], "tax_lines": [], "fee_lines": [],
            "_links": {"self": [{"href": f"{url}/wp-json/wc/v3/orders/{order_id}/refunds/{refund_id}"}],
                       "collection": [{"href": f"{url}/wp-json/wc/v3/orders/{order_id}/refunds"}],
                       "up": [{"href": f"{url}/wp-json/wc/v3/orders/{order_id}"}]}}


def wp_error(code: str, message: str, status: int) -> dict:
    return {"code": code, "message": message, "data": {"status": status}}


UNAUTHENTICATED_401 = wp_error("woocommerce_rest_cannot_view", "Sorry, you cannot list resources.", 401)

CLOUDFLARE_502 = ("<!DOCTYPE html>\n<html><head><title>shop.example | 502: Bad gateway</title></head>"
                  "<body><h1>Bad gateway</h1><p>Cloudflare Ray ID: 8c1f2a3b4d5e6f70</p></body></html>")


# The real orders of the samples, rebuilt with the builders.
def sample_partial_refund_order() -> dict:
    """wc-v3-order-partial-refund.json: order 26, 383.12 EUR, david20, refund 89 of 79.20."""
    return order(26, "completed", "383.12", created="2026-09-13T10:41:33", paid="2026-09-13T10:51:33",
                 modified="2026-09-16T10:41:33", completed="2026-11-23T04:00:35", discount_total="95.78",
                 line_items=[line_item(10, 11, "99.00", "79.20", 1, "PEER-101", "Advanced SQL (course)"),
                             line_item(11, 13, "19.90", "15.92", 1, "PEER-103", "Productivity Ebook"),
                             line_item(12, 15, "360.00", "288.00", 2, "PEER-105", "Weekend Pottery Workshop")],
                 coupon_lines=[coupon_line(13, "david20", "95.78")],
                 refunds=[refund_summary(89, "79.20", "Partial refund (one unit)")])


def sample_partial_refund_detail() -> dict:
    return refund_detail(89, 26, "79.20", "2026-09-16T10:41:33", "Partial refund (one unit)")


def sample_refunded_order() -> dict:
    """wc-v3-order-refunded.json: order 47, 15.92 EUR, fully refunded by refund 85."""
    return order(47, "refunded", "15.92", created="2026-08-30T12:49:07", paid="2026-08-30T12:59:07",
                 modified="2026-09-04T12:49:07", completed="2026-11-23T04:00:38", discount_total="3.98",
                 customer_id=17,
                 line_items=[line_item(64, 13, "19.90", "15.92", 1, "PEER-103", "Productivity Ebook")],
                 coupon_lines=[coupon_line(65, "david20", "3.98")],
                 refunds=[refund_summary(85, "15.92", "Customer requested full refund")])


def sample_refunded_detail() -> dict:
    return refund_detail(85, 47, "15.92", "2026-09-04T12:49:07", "Customer requested full refund")


def sample_page_orders() -> list[dict]:
    """wc-v3-orders-page.json: order 82 (on-hold, never paid) and order 60 (processing, david20)."""
    return [
        order(82, "on-hold", "108.00", created="2026-09-01T02:42:04", paid=None, modified="2026-09-02T12:42:04",
              customer_id=17,
              line_items=[line_item(142, 14, "48.00", "48.00", 2, "PEER-104", "Marketing Ebook"),
                          line_item(143, 16, "60.00", "60.00", 1, "PEER-106", "One-hour Career Coaching")]),
        order(60, "processing", "423.04", created="2026-09-02T16:18:02", paid="2026-09-02T16:28:02",
              modified="2026-09-04T01:18:02", discount_total="105.76", customer_id=13,
              line_items=[line_item(89, 10, "129.00", "103.20", 1, "PEER-100", "Python for Data Analysis (course)"),
                          line_item(90, 13, "39.80", "31.84", 2, "PEER-103", "Productivity Ebook"),
                          line_item(91, 15, "360.00", "288.00", 2, "PEER-105", "Weekend Pottery Workshop")],
              coupon_lines=[coupon_line(92, "david20", "105.76")]),
    ]


# -- a fake SyncContext ------------------------------------------------------------------------------

class Interrupted(Exception):
    """Raised by FakeContext.commit to simulate a crash after N commits."""


def same_month(a: datetime, b: datetime) -> bool:
    a, b = a.astimezone(UTC), b.astimezone(UTC)
    return (a.year, a.month) == (b.year, b.month)


NOW = datetime(2026, 11, 23, 12, tzinfo=UTC)  # FakeContext's default sync start
TEST_VISITOR_KEY = b"siren-sync-test-visitor-key-0001"  # FakeContext's key for visitor digests


@dataclass
class FakeContext:
    """An in-memory SyncContext: monthly periods by default, commits recorded, cursors JSON-checked,
    visitor digests with a fixed test key (`visitor_key`)."""

    now: datetime = NOW
    attribution: Attribution = field(default_factory=Attribution)
    periods: Callable[[datetime, datetime], bool] = same_month
    cursors: dict = field(default_factory=dict)
    events: dict = field(default_factory=dict)  # key -> Event (first recorded wins, like the ledger)
    commits: list = field(default_factory=list)  # (name, [keys], cursor)
    quarantined: list = field(default_factory=list)  # (where, reason, payload)
    progress_calls: list = field(default_factory=list)
    same_period_calls: int = 0
    interrupt_after: int | None = None
    visitor_key: bytes = TEST_VISITOR_KEY

    @classmethod
    def of(cls, collaborators: Iterable[Collaborator], **kw) -> FakeContext:
        """A context whose attribution indexes `collaborators` (the other fields as given in `kw`)."""
        return cls(attribution=Attribution.of(collaborators), **kw)

    def cursor(self, name: str):
        value = self.cursors.get(name)
        return copy.deepcopy(value) if value is not None else None

    def commit(self, name: str, events: list[Event], cursor) -> int:
        if self.interrupt_after is not None and len(self.commits) >= self.interrupt_after:
            raise Interrupted(f"interrupted after {len(self.commits)} commits")
        cursor = json.loads(json.dumps(cursor))  # the store keeps JSON
        new = 0
        for event in events:
            assert isinstance(event, Event)
            event.to_record()  # serialisable
            if event.key not in self.events:
                self.events[event.key] = event
                new += 1
        self.cursors[name] = cursor
        self.commits.append((name, [e.key for e in events], cursor))
        return new

    def known(self, keys: Iterable[str]) -> set[str]:
        return {key for key in keys if key in self.events}

    def same_period(self, a: datetime, b: datetime) -> bool:
        self.same_period_calls += 1
        return self.periods(a, b)

    def quarantine(self, where: str, reason: str, payload: Any = None) -> None:
        self.quarantined.append((where, reason, payload))

    def progress(self, source: str, page: int, total_pages: int | None, records: int) -> None:
        self.progress_calls.append((source, page, total_pages, records))

    def visitor(self, address: str, agent: str) -> str:
        return visitor_digest(self.visitor_key, address, agent)

    def keys(self, prefix: str = "") -> list[str]:
        return sorted(k for k in self.events if k.startswith(prefix))


# -- WordPress REST helpers shared by the fake sites ---------------------------------------------------

SITE_ROOT = "https://shop.example/wp-json"


def site_upstream(root: str = SITE_ROOT) -> Upstream:
    """The site's upstream as the source tests use it: application password, one attempt, no sleeping."""
    return Upstream("site", root, auth=("admin", "abcd efgh ijkl"), retry=RetryPolicy(attempts=1),
                    sleep=lambda s: None)


def wp_collection(items: list, request, content_type: str = "application/json") -> tuple:
    """One page of `items` as a WordPress REST collection answers it (`per_page`/`page`, X-WP-Total and
    X-WP-TotalPages, at least one page), as a `responses` callback result."""
    q = parse_qs(urlsplit(request.url).query)
    per_page, page = int(q.get("per_page", ["10"])[0]), int(q.get("page", ["1"])[0])
    pages = max(1, -(-len(items) // per_page))
    return 200, {"X-WP-Total": str(len(items)), "X-WP-TotalPages": str(pages),
                 "Content-Type": content_type}, json.dumps(items[(page - 1) * per_page: page * per_page])


@contextmanager
def serving(fake: Callable, pattern: str = r"https://shop\.example/wp-json/.*"):
    """Answer every GET matching `pattern` with `fake` (a `responses` callback) inside the block; yields `fake`."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.add_callback(responses.GET, re.compile(pattern), callback=fake)
        yield fake


# -- many orders -------------------------------------------------------------------------------------

def bulk_orders(count: int, refunds: int, start: datetime, step: timedelta = timedelta(minutes=7),
                refund_delay: timedelta = timedelta(days=20)) -> tuple[list[dict], list[tuple[dict, int]]]:
    """`count` paid orders one `step` apart and `refunds` partial refunds spread among them.

    A refunded order is modified when its refund is created (`refund_delay` after payment), as
    WooCommerce does; lean payloads (no coupon meta) keep a large backfill quick.
    """
    orders, details = [], []
    every = max(1, count // max(1, refunds)) if refunds else 0
    made = 0
    for i in range(count):
        oid = 1000 + i
        paid_at = start + step * i
        paid = gmt(paid_at)
        o = order(oid, "completed", "50.00", created=gmt(paid_at - timedelta(minutes=10)), paid=paid, modified=paid,
                  line_items=[line_item(oid * 10, 11 + i % 7, "50.00")])
        if refunds and made < refunds and i % every == 0:
            rid = 500000 + made
            when = gmt(paid_at + refund_delay)
            o["refunds"] = [refund_summary(rid, "10.00")]
            o["date_modified"] = o["date_modified_gmt"] = when
            details.append((refund_detail(rid, oid, "10.00", when), oid))
            made += 1
        orders.append(o)
    return orders, details
