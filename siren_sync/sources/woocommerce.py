"""WooCommerce orders -> sale, refund, cancellation and engagement events (DESIGN section 3, "The pool").

Orders are read incrementally by modification date, as apis.md section 1.11 recommends:
`modified_after=<cursor - overlap>&dates_are_gmt=true&orderby=modified&order=asc&per_page=100` with an
explicit status list that includes `trash`. After each page the page's events are committed with
the cursor set to the last order's `date_modified_gmt` (and the `(id, date_modified_gmt)` pairs seen
at that exact second), and page 1 is asked again from there, so an order modified during the sync
moves to the end and nothing is skipped; where that bound cannot move on (a page within one second,
a bulk edit; a repeated local hour) the orders up to it are read on their own, in a total order
(`_Walk`). The cursor never passes the sync's start (`ctx.now`).

Each order becomes events whose keys make re-reading harmless:
- `woocommerce:sale:<order>` at payment (`date_paid_gmt`, else `date_created_gmt` for an order in a
  paid status), carrying the order's value; never-paid orders give nothing, whatever their status;
- `woocommerce:refund:<order>:<refund>` with share `-amount/total` at the refund's creation time.
  A refund lies between the payment and the order's `date_modified`: when both fall in the same
  period the order's `date_modified_gmt` is used and nothing is fetched; otherwise the refund's date
  is read from `/wc/v3/refunds` (WooCommerce 9+; listed in bulk for a large sync, by `include=` for
  a small one) or, on older sites, from `/wc/v3/orders/<id>/refunds`;
- `woocommerce:cancel:<order>` with share `-(total - refunded)/total` at `date_modified_gmt` for a
  paid order now cancelled, failed, trashed, or `refunded` with less refunded than its total;
- `woocommerce:boundCouponUsed:<order>:<code>` and `woocommerce:collaboratorProductSold:<order>:<line>`
  at payment, and the same keys with `:reversal` (negated quantity) when the order is fully refunded
  or cancelled. Partial refunds reverse no points.

Order line items carry no product categories in the REST API: when a distributor filters on
categories (`lineItemFilters.inCategories`), the categories of the products sold are read from
`/wc/v3/products` (100 products a request, each product once per process) and set on the lines.

Authentication: Basic (consumer key and secret) over https; OAuth 1.0a over http, each request
signed by the `woocommerce` package's `OAuth` class and sent through our pooled session (the
package's own `API` has no session, a 5 s timeout and sends every parameter twice).
"""
from __future__ import annotations

import email.utils
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from woocommerce.oauth import OAuth

from siren_sync.errors import AuthError, ConfigError, RecordError, SyncError
from siren_sync.model import SALE, Event, Line, OrderValue
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sources.http import MAX_PER_PAGE, RetryPolicy, Upstream

log = logging.getLogger("siren_sync.sources.woocommerce")

ORDERS = "wc/v3/orders"
REFUNDS = "wc/v3/refunds"
# Core statuses every WooCommerce since 3.5 accepts; `any` would leave out `trash`.
CORE_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
CANCEL_STATUSES = frozenset({"cancelled", "failed", "trash"})
# Statuses no paid order is in: the filter word `any`, and block checkout's unsubmitted drafts.
UNREAD_STATUSES = frozenset({"any", "checkout-draft"})
ORDER_FIELDS = ("id", "status", "currency", "date_created_gmt", "date_modified_gmt", "date_paid_gmt", "total",
                "discount_total", "shipping_total", "total_tax", "line_items", "fee_lines", "coupon_lines",
                "refunds")
REFUND_FIELDS = "id,parent_id,date_created_gmt,amount"
PREFETCH_REFUNDS_ABOVE = 2  # order pages in a sync above which refunds are listed in bulk
MAX_WINDOW_STEPS = 50  # pages a window may step back, orders leaving it, before the sync stops
ONE_ATTEMPT = RetryPolicy(attempts=1)  # for a request the sync can do without
SECOND = timedelta(seconds=1)
_UTC = UTC
_ZERO = Decimal(0)


class WooCommerceOAuth1(AuthBase):
    """Signs each prepared request (one-legged OAuth 1.0a, HMAC-SHA256) with a fresh nonce.

    The query parameters are signed once and sent once; the secret never leaves this object (only
    the signature and the public consumer key travel in the URL).
    """

    def __init__(self, consumer_key: str, consumer_secret: str):
        self._key = consumer_key
        self._secret = consumer_secret

    def __call__(self, request: requests.PreparedRequest) -> requests.PreparedRequest:
        oauth = OAuth(url=request.url, consumer_key=self._key, consumer_secret=self._secret, version="v3",
                      method=request.method or "GET")
        request.url = oauth.get_oauth_url()
        return request

    def __repr__(self) -> str:
        return "WooCommerceOAuth1(<secret>)"


# -- parsing -------------------------------------------------------------------------------------

def parse_gmt(value: Any) -> datetime:
    """A WooCommerce `*_gmt` time (no offset, UTC) as an aware UTC datetime."""
    if not isinstance(value, str) or not value:
        raise ValueError(f"not a date: {value!r}")
    parsed = datetime.fromisoformat(value)  # Python 3.11+: also takes a trailing Z and offsets
    if parsed.tzinfo is None:
        return parsed.replace(tzinfo=_UTC)
    return parsed.astimezone(_UTC)


def wc_time(value: datetime) -> str:
    """The naive UTC form WooCommerce expects in date filters with `dates_are_gmt=true`."""
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def _date(raw: Mapping[str, Any], name: str) -> datetime:
    value = raw.get(name)
    try:
        return parse_gmt(value)
    except ValueError:
        raise ValueError(f"{name} is {value!r}, not a date") from None


def _money(value: Any, what: str) -> Decimal:
    if type(value) is str:  # the usual case: Decimal() itself ignores surrounding whitespace
        try:
            amount = Decimal(value)
        except InvalidOperation:
            raise ValueError(f"{what} is {value!r}, not a number") from None
    elif isinstance(value, (bool, float)) or value is None:
        raise ValueError(f"{what} is {value!r}, not a decimal string")
    else:
        try:
            amount = Decimal(str(value).strip())
        except InvalidOperation:
            raise ValueError(f"{what} is {value!r}, not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{what} is {value!r}, not a number")
    return amount


def _int(value: Any, what: str) -> int:
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not an integer")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what} is {value!r}, not an integer") from None


@dataclass(frozen=True)
class Refund:
    id: int
    amount: Decimal  # positive


@dataclass(frozen=True)
class Order:
    """What the events of one order need, validated."""

    id: int
    status: str
    modified: datetime
    paid_at: datetime | None
    value: OrderValue
    coupons: tuple[str, ...]
    refunds: tuple[Refund, ...]

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))


def order_version(raw: Any) -> tuple[int, str] | None:
    """(id, date_modified_gmt) of an order as sent, for dedupe; None if either is unusable."""
    version = _version(raw)
    return None if version is None else (version[0], version[1])


def _version(raw: Any) -> tuple[int, str, datetime] | None:
    """(id, date_modified_gmt, its parsed time), or None if the id or the date is unusable."""
    if type(raw) is not dict:
        if not isinstance(raw, dict):
            return None
    oid, modified = raw.get("id"), raw.get("date_modified_gmt")
    if type(oid) is not int or not isinstance(modified, str):  # bool is not an int here
        return None
    try:
        return oid, modified, parse_gmt(modified)
    except ValueError:
        return None


def parse_order(raw: Any, paid_statuses: Iterable[str], modified: datetime | None = None) -> Order:
    """Validate one order; raises RecordError (where, reason) for anything that cannot be counted.

    `modified` is the order's `date_modified_gmt` already parsed (by `_version`), if it was.
    """
    oid = raw.get("id") if isinstance(raw, dict) else None
    where = f"{ORDERS} #{oid if oid is not None else '?'}"
    try:
        if not isinstance(raw, dict):
            raise ValueError("not a JSON object")
        if oid is None:
            raise ValueError("missing id")
        oid = _int(oid, "id")
        status = raw.get("status")
        if not isinstance(status, str) or not status:
            raise ValueError(f"status is {status!r}")
        currency = raw.get("currency")
        if not isinstance(currency, str) or not currency:
            raise ValueError(f"currency is {currency!r}")
        if "total" not in raw:
            raise ValueError("missing total")
        total = _money(raw["total"], "total")
        if modified is None:
            modified = _date(raw, "date_modified_gmt")
        paid_raw = raw.get("date_paid_gmt")
        refunds = []
        for item in raw.get("refunds") or ():
            rid = _int(item.get("id"), "refunds[].id")
            refunds.append(Refund(rid, abs(_money(item.get("total"), f"refund {rid} total"))))
        if paid_raw:
            # Often the very second of the last modification: no need to parse it again.
            paid_at = modified if paid_raw == raw.get("date_modified_gmt") else _date(raw, "date_paid_gmt")
        elif status in paid_statuses or status == "refunded" or refunds:
            # No payment date but evidently paid (a paid status, or refunded): its creation time.
            paid_at = _date(raw, "date_created_gmt")
        else:
            paid_at = None
        lines = []
        for item in raw.get("line_items") or ():
            line_id = _int(item.get("id"), "line_items[].id")
            product = item.get("product_id")
            lines.append(Line(id=str(line_id), subtotal=_money(item.get("subtotal"), f"line {line_id} subtotal"),
                              quantity=_int(item.get("quantity", 1), f"line {line_id} quantity"),
                              product_id=_int(product, f"line {line_id} product_id") if product else None,
                              sku=str(item.get("sku") or "")))
        fee_lines = raw.get("fee_lines")
        fees = sum((_money(f.get("total"), "fee_lines[].total") for f in fee_lines), _ZERO) if fee_lines else _ZERO
        coupons = []
        for item in raw.get("coupon_lines") or ():
            code = item.get("code")
            if not isinstance(code, str) or not code:
                raise ValueError(f"coupon_lines[].code is {code!r}")
            coupons.append(code.lower())
        value = OrderValue(currency=currency, total=total, lines=tuple(lines),
                           discount_total=_money(raw.get("discount_total", "0"), "discount_total"),
                           fees=fees, shipping=_money(raw.get("shipping_total", "0"), "shipping_total"),
                           taxes=_money(raw.get("total_tax", "0"), "total_tax"))
    except (ValueError, TypeError, AttributeError) as exc:
        raise RecordError(where, str(exc)) from None
    return Order(id=oid, status=status, modified=modified, paid_at=paid_at, value=value,
                 coupons=tuple(dict.fromkeys(coupons)) if len(coupons) > 1 else tuple(coupons),
                 refunds=tuple(refunds))


def order_events(order: Order, refund_times: Mapping[int, datetime], attribution: Any) -> list[Event]:
    """Every event one order implies as it stands (DESIGN section 3, "The pool").

    `refund_times` gives the time of each of the order's refunds (their creation time, or the
    order's `date_modified` when that falls in the same period); a refund missing there is placed
    at the order's `date_modified`.
    """
    if order.paid_at is None:
        return []
    oid, total, src = order.id, order.value.total, "woocommerce"
    events = [Event(key=f"woocommerce:sale:{oid}", type=SALE, at=order.paid_at, order=order.value, source=src)]
    engagements = []
    for code in order.coupons:
        owner = attribution.by_coupon.get(code)
        if owner:
            engagements.append(Event(key=f"woocommerce:boundCouponUsed:{oid}:{code}", type="boundCouponUsed",
                                     at=order.paid_at, collaborator=owner, quantity=1, source=src))
    for line in order.value.lines:
        owner = attribution.by_product.get(line.product_id) if line.product_id is not None else None
        if owner and line.quantity:
            engagements.append(Event(key=f"woocommerce:collaboratorProductSold:{oid}:{line.id}",
                                     type="collaboratorProductSold", at=order.paid_at, collaborator=owner,
                                     quantity=line.quantity, source=src))
    events += engagements

    refund_at = {r.id: refund_times.get(r.id, order.modified) for r in order.refunds}
    if total > 0:
        for refund in order.refunds:
            events.append(Event(key=f"woocommerce:refund:{oid}:{refund.id}", type=SALE, at=refund_at[refund.id],
                                order=order.value, share=-Fraction(refund.amount) / Fraction(total), source=src))
    refunded = order.refunded
    cancelled = order.status in CANCEL_STATUSES or (order.status == "refunded" and refunded < total)
    reversal_at = None
    if order.refunds and refunded >= total:
        reversal_at = max(refund_at.values())  # fully refunded: points go when the last refund was made
    elif cancelled:
        reversal_at = order.modified
        if total > 0:
            events.append(Event(key=f"woocommerce:cancel:{oid}", type=SALE, at=order.modified, order=order.value,
                                share=-Fraction(total - refunded) / Fraction(total), source=src))
    if reversal_at is not None:
        events += [Event(key=f"{e.key}:reversal", type=e.type, at=reversal_at, collaborator=e.collaborator,
                         quantity=-e.quantity, source=src) for e in engagements]
    return events


# -- the source ------------------------------------------------------------------------------------

@dataclass
class _Walk:
    """Which orders query comes next: a lower bound and a page number, or a window read on its own.

    Pages go by modification time, and each page's successor starts a second before the latest
    modification read so far. When that bound does not move past the current query's (a whole page
    modified in one second, a bulk action; or a repeated local hour, where orders stored as posts
    come in local-time order and the bound steps back), paging on by number with
    `orderby=modified` is not safe: WooCommerce sorted by the modification time alone until late
    2025 (woocommerce#61410 added the id), MySQL may order equal rows differently for each LIMIT
    offset, and an order edited meanwhile moves to the end and shifts every later page, so orders
    would be repeated and others left out for good. The orders modified from the query's bound up to
    the latest second read are read on their own instead, as a window: `modified_after` and
    `modified_before` around it, page by page by creation date (`orderby=date`, broken by id since
    WooCommerce 3.2, woocommerce#16918). When the window's count (`X-WP-Total`) drops between two
    pages, orders left it and every later one moved up as many places: the walk steps back as many
    pages. A site that sends no count gets the window read twice. Then the walk goes on strictly
    after the window.
    """

    after: datetime | None
    number: int = 1
    window: tuple[datetime, datetime] | None = None  # (exclusive start, last second), read on its own
    total: int | None = None  # the window's count at the page read last
    uncounted: bool = False  # a page of the window came without X-WP-Total
    passes: int = 0  # times the window was read from its first page again
    steps: int = 0  # pages stepped back in the window

    def advance(self, page: Any, next_after: datetime | None, pos: datetime | None) -> bool:
        """Move past `page`; False when nothing is left to read.

        `next_after` is the bound the next query would start from (`_next_after`, None for a page
        without a usable modification time) and `pos` the latest modification read so far.
        """
        if self.window is not None:
            return self._advance_in_window(page)
        if page.last:
            return False
        if next_after is None:
            self.number += 1  # nothing dated on this page: page on
        elif self.after is not None and next_after <= self.after and pos is not None:
            self.window, self.number, self.total = (self.after, pos), 1, None
            self.uncounted, self.passes, self.steps = False, 0, 0
        else:
            self.after, self.number = next_after, 1
        return True

    def _advance_in_window(self, page: Any) -> bool:
        previous, self.total = self.total, page.total
        self.uncounted |= page.total is None
        back = _pages_back(previous, page)
        if back:
            self.steps += back
            if self.steps > MAX_WINDOW_STEPS:
                raise SyncError(f"{ORDERS}: the orders modified {self.describe()} kept changing while they "
                                f"were read; the next sync reads them again")
            self.number = max(1, page.number - back)
            return True
        if not page.last:
            self.number += 1
        elif self.uncounted and self.passes == 0:
            self.number, self.passes = 1, 1  # without a count no move is seen: read the window again
        else:
            self.after, self.number, self.window = self.window[1], 1, None
        return True

    def describe(self) -> str:
        start, last = self.window
        if last - start == SECOND:
            return f"at {wc_time(last)}"
        return f"from {wc_time(start + SECOND)} to {wc_time(last)}"


@dataclass
class _Run:
    """What one sync learns along the way."""

    window_start: datetime | None
    refund_times: dict[int, datetime] = field(default_factory=dict)
    prefetch_wanted: bool = False  # a large sync: list the window's refunds once instead of by `include=`
    prefetched: bool = False


class WooCommerceSource:
    """The `woocommerce` source: orders and their refunds from `/wp-json/wc/v3`."""

    name = "woocommerce"

    def __init__(self, url: str, consumer_key: str, consumer_secret: str, verify: bool | str = True,
                 options: Mapping[str, Any] | None = None, overlap: float = 300.0,
                 timeout: float | tuple[float, float] = (10.0, 30.0), retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 session: requests.Session | None = None, read_ahead: bool | None = None,
                 site_tz: tzinfo = UTC):
        if not consumer_key or not consumer_secret:
            raise ConfigError("site.woocommerce: consumer_key and consumer_secret are required")
        options = dict(options or {})
        self.url = url.rstrip("/")
        self.site_tz = site_tz  # the clock of `post_modified`, by which posts-stored orders are sorted
        self.paid_statuses = tuple(options.get("paid_statuses") or ("processing", "completed"))
        self.per_page = max(1, min(MAX_PER_PAGE, int(options.get("per_page") or MAX_PER_PAGE)))
        self.refunds_mode = options.get("refunds") or "auto"
        if self.refunds_mode not in ("auto", "orders", "refunds"):
            raise ConfigError(f"sync.woocommerce.refunds: {self.refunds_mode!r} is not one of auto, orders, refunds")
        # What is read where the site does not describe its statuses; else the site's own (`sync`).
        self.configured = tuple(dict.fromkeys(CORE_STATUSES + self.paid_statuses
                                              + tuple(options.get("extra_statuses") or ())))
        self.statuses = self.configured
        self.overlap = timedelta(seconds=float(overlap))
        # Read the next orders page on a thread while the current one is counted and committed.
        self.read_ahead = bool(options.get("read_ahead", True) if read_ahead is None else read_ahead)
        scheme = urlsplit(self.url).scheme
        # WooCommerce refuses Basic auth over plain http even on loopback (apis.md section 7): OAuth there.
        auth: Any = (consumer_key, consumer_secret) if scheme == "https" else WooCommerceOAuth1(consumer_key,
                                                                                                 consumer_secret)
        self.http = Upstream(self.name, f"{self.url}/wp-json", auth=auth, verify=verify, timeout=timeout,
                             retry=retry, secrets=(consumer_key, consumer_secret), sleep=sleep, clock=clock,
                             session=session)
        self._bulk_refunds: bool | None = None if self.refunds_mode == "auto" else self.refunds_mode == "refunds"
        self.needs_categories = False
        self._categories: dict[int, tuple[int, ...]] = {}

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> WooCommerceSource:
        site = config.site
        section = config.sync.sources.get("woocommerce") if config.sync.sources else None
        key = site.wc_key.value if site.wc_key is not None else None
        secret = site.wc_secret.value if site.wc_secret is not None else None
        source = cls(site.url, key, secret, verify=site.verify_tls,
                     options=dict(section.options) if section is not None else {}, overlap=config.sync.overlap,
                     **kwargs)
        source.needs_categories = any(d.filters.in_categories is not None for d in config.distributors.values())
        return source

    def close(self) -> None:
        self.http.close()

    # -- sync -------------------------------------------------------------------------------

    def _order_params(self, after: datetime | None) -> dict[str, str]:
        params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true",
                  "status": ",".join(self.statuses), "_fields": ",".join(ORDER_FIELDS)}
        if after is not None:
            params["modified_after"] = wc_time(after)
        return params

    def _walk_params(self, walk: _Walk) -> dict[str, str]:
        """The query of where `walk` is: after its bound by modification, or a window by creation."""
        if walk.window is None:
            return self._order_params(walk.after)
        start, last = walk.window
        params = self._order_params(start)
        params.update(orderby="date", modified_before=wc_time(last + SECOND))
        return params

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        report = SyncReport(self.name)
        requests_before = self.http.requests
        now = ctx.now.astimezone(UTC).replace(microsecond=0)
        state = ctx.cursor(self.name) or {}
        old_pos = parse_gmt(state["modified_gmt"]) if state.get("modified_gmt") else None
        old_seen = {(int(i), str(m)) for i, m in state.get("seen") or ()}
        hold = False  # True: this run must not move the cursor
        if since is not None:
            start = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
            skip: set = set()
            if old_pos is not None and start > old_pos:
                # Starting after the cursor: moving it would skip what lies between, so leave it.
                cur_pos, cur_seen, hold = old_pos, set(old_seen), True
            else:
                cur_pos, cur_seen = None, set()  # the cursor follows the backfill, so it resumes there
        else:
            start = old_pos - self.overlap if old_pos is not None else None
            skip = old_seen
            cur_pos, cur_seen = old_pos, set(old_seen)
        run = _Run(window_start=start)
        covered = tuple(state.get("statuses") or self.configured)  # the statuses the cursor's walk read
        # Without the site's answer: those, and any the configuration gained since (caught up below).
        self._read_site_statuses(tuple(dict.fromkeys(covered + self.configured)))
        if old_pos is not None:
            self._catch_up(ctx, run, report, covered, state)
        walk = _Walk(after=start)
        pos: datetime | None = None
        pos_seen: set = set()
        pages = 0
        ahead: Future | None = None  # the next page, being read on the read-ahead thread
        pool: ThreadPoolExecutor | None = None
        abort = threading.Event()
        try:
            while True:
                if ahead is not None:
                    page, ahead = ahead.result(), None
                else:
                    page = self.http.page(ORDERS, self._walk_params(walk), walk.number, self.per_page)
                pages += 1
                report.records += len(page.items)
                if pages == 1 and (page.total_pages or 0) > PREFETCH_REFUNDS_ABOVE:
                    run.prefetch_wanted = True
                fresh = []
                last = None
                at_last: set = set()
                for raw in page.items:
                    version = _version(raw)
                    if version is None:
                        fresh.append((raw, None))
                        continue
                    key, modified = (version[0], version[1]), version[2]
                    if last is None or modified > last:
                        last, at_last = modified, {key}
                    elif modified == last:
                        at_last.add(key)
                    if key in skip or key in pos_seen:
                        continue
                    fresh.append((raw, modified))
                if last is not None:
                    if pos is None or last > pos:
                        pos, pos_seen = last, at_last
                    elif last == pos:
                        pos_seen |= at_last
                # The next query is known now: read it while this page is counted and committed.
                more = walk.advance(page, self._next_after(page.items, pos, walk.after) if last else None, pos)
                if more and self.read_ahead:
                    if pool is None:
                        pool = ThreadPoolExecutor(1, thread_name_prefix="woocommerce-read-ahead")
                    ahead = pool.submit(self.http.page, ORDERS, self._walk_params(walk), walk.number,
                                        self.per_page, abort=abort)
                events = self._events(ctx, run, fresh, report)
                moved = False
                if pos is not None and not hold:
                    # While pages remain the cursor goes no further than the next query's start: where
                    # that bound stepped back (a repeated local hour), orders before `pos` are unread.
                    reach = pos
                    following = walk.window[0] if walk.window is not None else walk.after
                    if more and following is not None and following + SECOND < pos:
                        reach = following + SECOND
                    capped = min(reach, now)
                    # The orders seen in a second the site's clock has not left yet may still change
                    # within it, keeping the same (id, date_modified): such a second is read again.
                    server = _server_time(page.response)
                    past = reach == pos and pos < now and (server is None or pos < server)
                    capped_seen = pos_seen if past else set()
                    if cur_pos is None or capped > cur_pos:
                        cur_pos, cur_seen, moved = capped, set(capped_seen), True
                    elif capped == cur_pos and not capped_seen <= cur_seen:
                        cur_seen, moved = cur_seen | capped_seen, True
                if events or moved:
                    cursor = {"modified_gmt": cur_pos.isoformat() if cur_pos else None,
                              "seen": sorted([i, m] for i, m in cur_seen)}
                    cursor["statuses"] = list(self.statuses)
                    report.events += ctx.commit(self.name, events, cursor)
                report.pages = pages
                remaining = (page.total_pages - page.number) if page.total_pages else 0
                ctx.progress(self.name, pages, pages + max(0, remaining), report.records)
                if not more:
                    break
        finally:
            if pool is not None:
                abort.set()  # a page read ahead for a sync that stops here: no more retries for it
                pool.shutdown(wait=True, cancel_futures=True)
        report.detail.update({"cursor": cur_pos.isoformat() if cur_pos else None,
                              "requests": self.http.requests - requests_before})
        log.info("woocommerce: %d orders read, %d new events, %d quarantined, %d pages", report.records,
                 report.events, report.quarantined, pages)
        return report

    def _read_site_statuses(self, known: tuple[str, ...], args: dict | None = None) -> None:
        """Read every order status the site has, as its orders listing describes them (OPTIONS),
        at each sync: plugins add some (`shipped`), and an order moved into one must still be read,
        or a later refund or cancellation of it would be missed; and a status whose plugin was
        switched off must not be asked for (WooCommerce refuses the whole listing with 400).

        One attempt: without an answer (some hosts refuse OPTIONS, or the site is down and the
        listing will say so) the statuses `known` from before are read (those the cursor's walk
        last read, and the configured ones)."""
        enum = _status_enum(args if args is not None else self._order_args(retry=ONE_ATTEMPT))
        statuses = _readable(enum) if enum else known
        added = [s for s in statuses if s not in self.statuses]
        self.statuses = statuses
        if added and enum:
            log.info("woocommerce: also reading the orders in the site's statuses %s", ", ".join(added))

    def _catch_up(self, ctx: SyncContext, run: _Run, report: SyncReport, covered: Iterable[str],
                  cursor: Mapping[str, Any]) -> None:
        """Read, once, every order in the statuses the cursor's walk has not covered (a plugin's new
        status): an order that moved into one before would not be modified again, so the walk from
        the cursor would never meet it. Events are keyed, so what was counted before counts once."""
        covered = set(covered)
        new = [status for status in self.statuses if status not in covered]
        if not new:
            return
        log.info("woocommerce: reading every order in the statuses %s once", ", ".join(new))
        params = {"orderby": "date", "order": "asc", "status": ",".join(new), "_fields": ",".join(ORDER_FIELDS)}
        number, previous, steps = 1, None, 0
        while True:
            page = self.http.page(ORDERS, params, number, self.per_page)
            report.records += len(page.items)
            raws = [(raw, version[2] if (version := _version(raw)) else None) for raw in page.items]
            report.events += ctx.commit(self.name, self._events(ctx, run, raws, report), cursor)
            back = _pages_back(previous, page)  # orders that left the statuses moved the later ones up
            previous, steps = page.total, steps + back
            if steps > MAX_WINDOW_STEPS:
                raise SyncError(f"{ORDERS}: the orders in {', '.join(new)} kept changing while they were "
                                f"read; the next sync reads them again")
            if back:
                number = max(1, number - back)
            elif page.last:
                break
            else:
                number += 1
        ctx.commit(self.name, [], {**cursor, "statuses": list(self.statuses)})

    def _next_after(self, items: list, pos: datetime | None, query_after: datetime | None) -> datetime | None:
        """The exclusive lower bound of the next orders query: a second before the latest
        modification read so far, or earlier where the site's local clock repeated an hour.

        Orders stored as posts are sorted by `post_modified`, the site's local time, while
        `modified_after` filters on GMT. When the clocks go back, a later page can hold an order
        whose GMT time is an hour before the last one read, which a bound at the latest time would
        skip for good. The orders after the page's last one have a local time no earlier than its
        own, so the bound is the earliest GMT time that local time can mean (its first occurrence).
        Everywhere else that is the last order's own time, and nothing changes.
        """
        if pos is None:
            return query_after
        bound = pos
        last = _version(items[-1]) if items else None
        if last is not None and self.site_tz is not _UTC:
            local = last[2].astimezone(self.site_tz).replace(tzinfo=None)
            bound = min(bound, local.replace(tzinfo=self.site_tz, fold=0).astimezone(_UTC))
        return bound - SECOND

    def _with_categories(self, orders: list[Order]) -> list[Order]:
        """The orders with their lines' product categories filled in (for category filters)."""
        missing = sorted({line.product_id for o in orders for line in o.value.lines
                          if line.product_id is not None and line.product_id not in self._categories})
        for i in range(0, len(missing), MAX_PER_PAGE):
            chunk = missing[i:i + MAX_PER_PAGE]
            page = self.http.page("wc/v3/products", {"include": ",".join(map(str, chunk)), "_fields": "id,categories"},
                                  per_page=MAX_PER_PAGE)
            for product in page.items:
                self._categories[int(product["id"])] = tuple(int(c["id"]) for c in product.get("categories") or ())
            self._categories.update({pid: () for pid in chunk if pid not in self._categories})  # deleted products
        return [replace(o, value=replace(o.value, lines=tuple(
            replace(line, categories=self._categories.get(line.product_id, ())) for line in o.value.lines)))
            for o in orders]

    def _events(self, ctx: SyncContext, run: _Run, raws: list, report: SyncReport) -> list[Event]:
        """The events of `raws`: (order as sent, its date_modified_gmt parsed or None) pairs."""
        orders = []
        paid_statuses = self.paid_statuses
        for raw, modified in raws:
            try:
                orders.append(parse_order(raw, paid_statuses, modified))
            except RecordError as exc:
                ctx.quarantine(exc.where, exc.reason, raw)
                report.quarantined += 1
        if self.needs_categories:
            orders = self._with_categories(orders)
        need: dict[int, int] = {}  # refund id -> order id, for refunds whose period is not known
        for order in orders:
            if order.paid_at is None or not order.refunds:
                continue
            if ctx.same_period(order.paid_at, order.modified):
                continue
            for refund in order.refunds:
                if refund.id not in run.refund_times:
                    need[refund.id] = order.id
        if need:
            self._fetch_refund_times(run, need)
        events: list[Event] = []
        for order in orders:
            times = {}
            # Only a refund's time needs the periods compared (a sale has no other time).
            same = bool(order.refunds) and order.paid_at is not None and ctx.same_period(order.paid_at,
                                                                                         order.modified)
            for refund in order.refunds:
                when = run.refund_times.get(refund.id)
                if when is None:
                    if not same and order.paid_at is not None:
                        log.warning("woocommerce: refund %d of order %d not found; placed at the order's "
                                    "date_modified", refund.id, order.id)
                    when = order.modified
                times[refund.id] = when
            events += order_events(order, times, ctx.attribution)
        return events

    def _fetch_refund_times(self, run: _Run, need: dict[int, int]) -> None:
        if self._bulk_refunds is not False:
            try:
                if run.prefetch_wanted and not run.prefetched:
                    run.prefetched = True
                    params = {"orderby": "date", "order": "asc", "dates_are_gmt": "true", "_fields": REFUND_FIELDS}
                    if run.window_start is not None:
                        params["after"] = wc_time(run.window_start)
                    for page in self.http.pages(REFUNDS, params, MAX_PER_PAGE):
                        self._remember_refunds(run, page.items)
                missing = sorted(rid for rid in need if rid not in run.refund_times)
                for i in range(0, len(missing), MAX_PER_PAGE):
                    chunk = missing[i:i + MAX_PER_PAGE]
                    page = self.http.page(REFUNDS, {"include": ",".join(map(str, chunk)), "_fields": REFUND_FIELDS},
                                          1, MAX_PER_PAGE)
                    self._remember_refunds(run, page.items)
                self._bulk_refunds = True
                return
            except SyncError as exc:
                if exc.status != 404 or self.refunds_mode == "refunds":
                    raise
                log.info("woocommerce: %s is not available (WooCommerce < 9.0); reading refunds per order", REFUNDS)
                self._bulk_refunds = False
        for order_id in sorted({oid for rid, oid in need.items() if rid not in run.refund_times}):
            for page in self.http.pages(f"{ORDERS}/{order_id}/refunds", {"_fields": "id,date_created_gmt,amount"},
                                        MAX_PER_PAGE):
                self._remember_refunds(run, page.items)

    @staticmethod
    def _remember_refunds(run: _Run, items: list) -> None:
        for item in items:
            try:
                run.refund_times[_int(item.get("id"), "id")] = parse_gmt(item.get("date_created_gmt"))
            except (ValueError, AttributeError):
                log.warning("woocommerce: a refund without a usable id or date_created_gmt was ignored")

    # -- check ------------------------------------------------------------------------------

    def check(self) -> list[tuple[str, bool, str]]:
        rows: list[tuple[str, bool, str]] = []
        args = self._order_args()
        self._read_site_statuses(self.configured, args)  # what a sync reads
        try:
            page = self.http.page(ORDERS, {"status": ",".join(self.statuses), "_fields": "id"}, 1, 1)
        except AuthError as exc:
            rows.append(("woocommerce reachable", True, f"{self.url}/wp-json/{ORDERS}"))
            hint = ("check sync keys: site.woocommerce consumer_key/consumer_secret (WooCommerce > Settings > "
                    "Advanced > REST API, Read access)")
            if exc.status == 401 and urlsplit(self.url).scheme == "https":
                hint += "; if they are right, the server may drop the Authorization header (CGI/FastCGI)"
            elif exc.status == 401:
                hint += "; over http the OAuth signature needs the exact site URL and a correct clock"
            rows.append(("woocommerce authenticated", False, f"{exc}; {hint}"))
            return rows
        except SyncError as exc:
            rows.append(("woocommerce reachable", False, str(exc)))
            return rows
        rows.append(("woocommerce reachable", True, f"{self.url}/wp-json/{ORDERS}"))
        rows.append(("woocommerce authenticated", True, "orders can be listed with the consumer key"))
        rows.append(self._check_modified_after(args))
        rows.append(self._check_statuses(args))
        rows.append(self._check_refunds())
        total = page.total if page.total is not None else len(page.items)
        rows.append(("woocommerce orders", True, f"{total} orders (statuses {', '.join(self.statuses)})"))
        return rows

    def _order_args(self, retry: RetryPolicy | None = None) -> dict | None:
        """The orders listing's query arguments as the site describes them (OPTIONS), or None.

        Only the GET endpoint's: the POST one describes an order's fields, among them a `status`
        that is one string, not the listing's list of statuses.
        """
        try:
            data, _ = self.http.request("OPTIONS", ORDERS, retry=retry)
            args: dict = {}
            for endpoint in data.get("endpoints") or ():
                if "GET" in (endpoint.get("methods") or ()):
                    args.update(endpoint.get("args") or {})
            return args
        except (SyncError, AttributeError):
            return None

    def _check_modified_after(self, args: dict | None) -> tuple[str, bool, str]:
        what = "woocommerce modified_after"
        version = None
        try:
            data = self.http.get_json("wc/v3/system_status", {"_fields": "environment"})
            version = str((data.get("environment") or {}).get("version") or "") or None
        except SyncError:
            pass
        if args is not None:
            label = f"WooCommerce {version}" if version else "WooCommerce"
            if "modified_after" in args and "dates_are_gmt" in args:
                return what, True, f"{label}: orders accept modified_after and dates_are_gmt" + _refund_note(version)
            return what, False, (f"{label}: orders do not accept modified_after/dates_are_gmt "
                                 "(WooCommerce 5.8 or newer is needed for incremental sync)")
        if version:
            ok = _version_tuple(version) >= (5, 8)
            return what, ok, f"WooCommerce {version}" + (_refund_note(version) if ok else ": 5.8 or newer is needed")
        return what, False, "could not tell the WooCommerce version (system_status and OPTIONS refused)"

    def _check_statuses(self, args: dict | None) -> tuple[str, bool, str]:
        """The order statuses a sync reads: the site's own, from the same description of the orders
        listing, among them those beyond the configured ones (plugins add some)."""
        enum = _status_enum(args)
        if enum is None:
            return "woocommerce statuses", True, (
                "the site does not list its order statuses (OPTIONS refused or without them), so plugin "
                "statuses cannot be found: name them in sync.woocommerce.extra_statuses")
        read = _readable(enum)
        found = [status for status in read if status not in self.configured]
        detail = f"every order status of the site is read ({len(read)})"
        if found:
            detail += f", among them {', '.join(found)}, found on the site"
        return "woocommerce statuses", True, detail

    def _check_refunds(self) -> tuple[str, bool, str]:
        what = "woocommerce refunds"
        if self.refunds_mode == "orders":
            return what, True, f"read per order ({ORDERS}/<id>/refunds), as configured"
        try:
            page = self.http.page(REFUNDS, {"_fields": "id"}, 1, 1)
        except SyncError as exc:
            if exc.status == 404:
                return what, self.refunds_mode == "auto", (
                    f"{REFUNDS} not available (WooCommerce < 9.0): refund dates read per order")
            return what, False, str(exc)
        self._bulk_refunds = True
        return what, True, f"{REFUNDS} available ({page.total if page.total is not None else '?'} refunds)"


def _pages_back(previous: int | None, page: Any) -> int:
    """How many pages to read again after `page` of a listing by creation date: as many as orders
    left the listing since the page before (its count dropped), each moving every later one up."""
    if previous is None or page.total is None or page.total >= previous:
        return 0
    return -(-(previous - page.total) // max(1, page.per_page))


def _server_time(response: Any) -> datetime | None:
    """The site's clock when it answered (the `Date` header, whole seconds), or None."""
    try:
        value = email.utils.parsedate_to_datetime(response.headers["Date"])
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    return value.astimezone(_UTC) if value.tzinfo else value.replace(tzinfo=_UTC)


def _readable(statuses: Iterable[str]) -> tuple[str, ...]:
    """The site's statuses an orders walk reads: not `any` (a filter word) nor block checkout's drafts."""
    return tuple(status for status in dict.fromkeys(statuses) if status not in UNREAD_STATUSES)


def _status_enum(args: dict | None) -> list[str] | None:
    """The statuses the orders listing accepts, from its description (OPTIONS), or None."""
    enum = (((args or {}).get("status") or {}).get("items") or {}).get("enum")
    return [str(v) for v in enum] if isinstance(enum, list) else None


def _refund_note(version: str | None) -> str:
    """Before WooCommerce 7.6 (woocommerce#37047) a partial refund could leave its order's
    date_modified as it was (woocommerce#28969), and the orders walk reads changed orders only."""
    if version and _version_tuple(version) < (7, 6):
        return ("; before 7.6 a partial refund may leave its order unmodified, so the sync can miss it: "
                "update WooCommerce")
    return ""


def _version_tuple(text: str) -> tuple[int, ...]:
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
