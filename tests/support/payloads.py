"""Realistic WooCommerce payloads and a fake shop for source tests (no network).

The builders copy the exact shape of the real responses in `reference/samples/` (WordPress 6.4,
WooCommerce 8.2, orders stored as posts): every key the site sends, money as strings, `*_gmt` times
without an offset, lower-case coupon codes, `refunds[]` inside an order without dates. `FakeShop`
answers `/wp-json/wc/v3/...` the way WooCommerce does (modified_after is exclusive at one-second
granularity, `orderby=modified` ties broken by id, or with `mixed_ties` in another order for each
page as MySQL may, `modified_before` exclusive too, X-WP-Total / X-WP-TotalPages, 401 bodies,
`rest_no_route` before WooCommerce 9) through `responses` callbacks, checks Basic and OAuth 1.0a
credentials, and counts requests. `FakeContext` is an in-memory `SyncContext` that records commits;
every source test uses it (`FakeContext.of(collaborators)` builds its attribution). `wp_collection` and
`site_upstream` are the WordPress-REST paging answer and upstream the other fake sites share.
"""
from __future__ import annotations

import base64
import bisect
import copy
import json
import math
import re
from collections import OrderedDict
from collections.abc import Callable, Iterable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import parse_qs, parse_qsl, urlsplit

import responses
from woocommerce.oauth import OAuth

from siren_sync.model import Collaborator, Event
from siren_sync.sources.base import Attribution
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


# -- payload builders (shapes copied from reference/samples) ---------------------------------------

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
              sku: str = "PEER-101", name: str = "Advanced SQL (course)") -> dict:
    total = subtotal if total is None else total
    return {"id": line_id, "name": name, "product_id": product_id, "variation_id": 0, "quantity": quantity,
            "tax_class": "", "subtotal": subtotal, "subtotal_tax": "0.00", "total": total, "total_tax": "0.00",
            "taxes": [], "meta_data": [], "sku": sku, "price": float(total) / quantity if quantity else 0,
            "image": {"id": "", "src": ""}, "parent_name": None}


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


@dataclass
class FakeContext:
    """An in-memory SyncContext: monthly periods by default, commits recorded, cursors JSON-checked."""

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

    def same_period(self, a: datetime, b: datetime) -> bool:
        self.same_period_calls += 1
        return self.periods(a, b)

    def quarantine(self, where: str, reason: str, payload: Any = None) -> None:
        self.quarantined.append((where, reason, payload))

    def progress(self, source: str, page: int, total_pages: int | None, records: int) -> None:
        self.progress_calls.append((source, page, total_pages, records))

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


# -- a fake WooCommerce site ---------------------------------------------------------------------------

def _json(status: int, body: Any, headers: dict | None = None) -> tuple:
    base = {"Content-Type": "application/json; charset=UTF-8"}
    base.update(headers or {})
    return status, base, json.dumps(body)


class FakeShop:
    """WooCommerce's REST v3 behaviour over `responses`, enough for the order source.

    `orders` and `refunds` hold full payloads; `before_orders` hooks run before each orders listing
    (GET) is answered (to change the site between two pages); `faults` is a list of
    (path_regex, status, body, headers) answered once, in order, to GETs instead of the real thing.
    """

    def __init__(self, url: str = HTTPS_URL, key: str = KEY, secret: str = SECRET, refunds_route: bool = True,
                 version: str = "9.4.2", lean: bool = False, statuses: tuple[str, ...] = (),
                 local_tz: tzinfo | None = None, mixed_ties: bool = False, options_refused: bool = False):
        self.url = url.rstrip("/")
        self.key, self.secret = key, secret
        self.refunds_route = refunds_route
        self.version = version
        self.statuses = statuses  # order statuses OPTIONS lists (none: the status argument has no enum)
        # orders stored as posts: `orderby=modified` sorts by post_modified, the site's local time
        self.local_tz = local_tz
        # MySQL without a tie-break: equal modification times come in another order for each page
        self.mixed_ties = mixed_ties
        self.options_refused = options_refused  # a host or WAF answering OPTIONS with 403
        self.lean = lean  # skip the JSON round trip of large payloads (benchmarks)
        self.orders: dict[int, dict] = {}
        self.refunds: dict[int, dict] = {}  # refund id -> detail with "parent_id"
        self.requests: list[tuple[str, str, dict]] = []  # (method, path, params)
        self.urls: list[str] = []
        self.before_orders: list[Callable[[FakeShop, int], None]] = []
        self.faults: list[tuple[str, int, Any, dict]] = []
        self._changes = 0

    # building the site
    def add(self, *orders: dict) -> None:
        for o in orders:
            self.orders[o["id"]] = o
        self._changes += 1

    def add_refund(self, detail: dict, order_id: int) -> None:
        self.refunds[detail["id"]] = dict(detail, parent_id=order_id)

    def modify(self, order_id: int, when: str, **changes: Any) -> None:
        o = self.orders[order_id]
        o.update(changes)
        o["date_modified"] = o["date_modified_gmt"] = when
        self._changes += 1

    def fail(self, path_regex: str, status: int, body: Any, headers: dict | None = None) -> None:
        self.faults.append((path_regex, status, body, headers or {}))

    def count(self, path_regex: str = ".*") -> int:
        """GET requests to paths matching `path_regex` (the OPTIONS a sync starts with are apart)."""
        return sum(1 for method, path, _ in self.requests if method == "GET" and re.fullmatch(path_regex, path))

    def install(self, rsps: responses.RequestsMock) -> FakeShop:
        pattern = re.compile(re.escape(self.url) + r"/wp-json/.*")
        for method in (responses.GET, responses.OPTIONS):
            rsps.add_callback(method, pattern, callback=self._handle)
        return self

    # answering
    def _handle(self, request) -> tuple:
        parts = urlsplit(request.url)
        path = parts.path[len("/wp-json/"):].rstrip("/")
        pairs = parse_qsl(parts.query, keep_blank_values=True)
        params = dict(pairs)
        self.urls.append(request.url)
        self.requests.append((request.method, path, params))
        if path == "wc/v3/orders" and request.method == "GET":
            for hook in list(self.before_orders):
                hook(self, self.count("wc/v3/orders"))
        for i, (regex, status, body, headers) in enumerate(self.faults):
            if request.method == "GET" and re.fullmatch(regex, path):
                del self.faults[i]
                if isinstance(body, (dict, list)):
                    return _json(status, body, headers)
                return status, dict({"Content-Type": "application/json; charset=UTF-8" if body[:1] in "[{"
                                     else "text/html; charset=UTF-8"}, **headers), body
        denied = self._authenticate(request, parts, pairs)
        if denied:
            return denied
        if request.method == "OPTIONS" and self.options_refused:
            return _json(403, wp_error("rest_forbidden", "Sorry, you are not allowed to do that.", 403))
        if request.method == "OPTIONS" and path == "wc/v3/orders":
            args = {name: {} for name in ("context", "page", "per_page", "search", "after", "before",
                                          "modified_after", "modified_before", "dates_are_gmt", "exclude",
                                          "include", "offset", "order", "orderby", "parent", "status")}
            if self.statuses:  # as WooCommerce describes it: any, trash and the registered statuses
                args["status"] = {"type": "array", "items": {"type": "string", "enum": list(self.statuses)}}
            # the POST endpoint describes an order's fields: its `status` is one string
            create = {"status": {"type": "string", "enum": list(self.statuses) or ["pending"]},
                      "currency": {"type": "string"}}
            return _json(200, {"namespace": "wc/v3", "methods": ["GET", "POST"],
                               "endpoints": [{"methods": ["GET"], "args": args},
                                             {"methods": ["POST"], "args": create}]})
        if path == "wc/v3/system_status":
            return _json(200, {"environment": {"home_url": self.url, "site_url": self.url, "version": self.version}})
        if path == "wc/v3/orders":
            return self._orders(params)
        match = re.fullmatch(r"wc/v3/orders/(\d+)/refunds", path)
        if match:
            items = [self._detail(r) for r in self.refunds.values() if r["parent_id"] == int(match.group(1))]
            items.sort(key=lambda r: (r["date_created_gmt"], r["id"]), reverse=True)
            return self._collection(items, params, path)
        if path == "wc/v3/refunds":
            if not self.refunds_route:
                return _json(404, wp_error("rest_no_route", "No route was found matching the URL and request method.",
                                           404))
            items = list(self.refunds.values())
            if "after" in params:
                assert params.get("dates_are_gmt") == "true"
                items = [r for r in items if utc(r["date_created_gmt"]) > utc(params["after"])]
            if "include" in params:
                wanted = {int(x) for x in params["include"].split(",")}
                items = [r for r in items if r["id"] in wanted]
            items.sort(key=lambda r: (r["date_created_gmt"], r["id"]), reverse=params.get("order") != "asc")
            return self._collection(items, params, path)
        return _json(404, wp_error("rest_no_route", "No route was found matching the URL and request method.", 404))

    @staticmethod
    def _detail(refund: dict) -> dict:
        return {k: v for k, v in refund.items() if k != "parent_id"}

    def _authenticate(self, request, parts, pairs) -> tuple | None:
        if parts.scheme == "https":
            header = request.headers.get("Authorization", "")
            expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
            return None if header == expected else _json(401, UNAUTHENTICATED_401)
        names = [k for k, _ in pairs]
        if "oauth_signature" not in names:
            return _json(401, UNAUTHENTICATED_401)
        assert len(names) == len(set(names)), f"duplicated query parameters: {names}"
        sent = dict(pairs)
        base = f"{parts.scheme}://{parts.netloc}{parts.path}"
        signer = OAuth(base, self.key, self.secret, version="v3", method=request.method)
        unsigned = OrderedDict((k, v) for k, v in pairs if k != "oauth_signature")
        if sent.get("oauth_consumer_key") != self.key or \
                signer.generate_oauth_signature(unsigned, base) != sent["oauth_signature"]:
            return _json(401, wp_error("woocommerce_rest_authentication_error",
                                       "Invalid signature - provided signature does not match.", 401))
        return None

    def _orders(self, params: dict) -> tuple:
        if self.lean and params.get("orderby") == "modified" and params.get("order") == "asc":
            return self._orders_fast(params)
        items = list(self.orders.values())
        statuses = [s for s in params.get("status", "any").split(",") if s]
        unknown = [s for s in statuses if self.statuses and s not in self.statuses]
        if unknown:  # WooCommerce checks the list against the registered statuses
            return _json(400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): status",
                               "data": {"status": 400, "params": {"status": f"status[0] is not one of "
                                                                         f"{', '.join(self.statuses)}."}}})
        if "any" in statuses:
            items = [o for o in items if o["status"] != "trash"]
        else:
            items = [o for o in items if o["status"] in statuses]
        if "modified_after" in params:
            assert params.get("dates_are_gmt") == "true", "modified_after without dates_are_gmt"
            bound = utc(params["modified_after"])
            items = [o for o in items if utc(o["date_modified_gmt"]) > bound]
        if "modified_before" in params:
            bound = utc(params["modified_before"])
            items = [o for o in items if utc(o["date_modified_gmt"]) < bound]
        if params.get("orderby") == "modified" and self.mixed_ties:
            page = int(params.get("page", 1))
            items.sort(key=lambda o: (o["date_modified_gmt"], hash((o.get("id", 0), page))),
                       reverse=params.get("order") != "asc")
        elif params.get("orderby") == "modified" and self.local_tz is not None:
            items.sort(key=lambda o: (utc(o["date_modified_gmt"]).astimezone(self.local_tz).replace(tzinfo=None),
                                      o.get("id", 0)), reverse=params.get("order") != "asc")
        elif params.get("orderby") == "modified":
            items.sort(key=lambda o: (o["date_modified_gmt"], o.get("id", 0)), reverse=params.get("order") != "asc")
        else:
            items.sort(key=lambda o: (o["date_created_gmt"], o.get("id", 0)), reverse=params.get("order") != "asc")
        return self._collection(items, params, "wc/v3/orders")

    def _orders_fast(self, params: dict) -> tuple:
        """The same answer, quicker, for large `lean` shops (change their orders through add/modify only)."""
        stamp = (self._changes, len(self.orders))
        if getattr(self, "_sorted_stamp", None) != stamp:
            self._sorted = sorted(self.orders.values(), key=lambda o: (o["date_modified_gmt"], o.get("id", 0)))
            self._sorted_keys = [o["date_modified_gmt"] for o in self._sorted]
            self._sorted_stamp = stamp
        statuses = set(params.get("status", "any").split(","))
        start = 0
        if "modified_after" in params:
            start = bisect.bisect_right(self._sorted_keys, gmt(utc(params["modified_after"])))
        items = [o for o in self._sorted[start:] if o["status"] in statuses or
                 ("any" in statuses and o["status"] != "trash")]
        return self._collection(items, params, "wc/v3/orders")

    def _collection(self, items: list, params: dict, path: str) -> tuple:
        per_page = int(params.get("per_page", 10))
        if not 1 <= per_page <= 100:
            return _json(400, {"code": "rest_invalid_param", "message": "Invalid parameter(s): per_page",
                               "data": {"status": 400, "params": {"per_page": "per_page must be between 1 (inclusive)"
                                                                              " and 100 (inclusive)"}}})
        page = int(params.get("page", 1))
        total = len(items)
        pages = math.ceil(total / per_page) if total else 0
        chunk = items[(page - 1) * per_page: page * per_page]
        fields = [f for f in params.get("_fields", "").split(",") if f]
        if fields:
            chunk = [{k: o[k] for k in fields if k in o} for o in chunk]
        elif not self.lean:
            chunk = copy.deepcopy(chunk)
        headers = {"X-WP-Total": str(total), "X-WP-TotalPages": str(pages)}
        if page < pages:  # like a site behind a TLS proxy: the Link header says http://
            headers["Link"] = f'<http://{urlsplit(self.url).netloc}/wp-json/{path}?page={page + 1}>; rel="next"'
        return _json(200, chunk, headers)


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
