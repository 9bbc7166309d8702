"""The `woocommerce` source: the orders walk, page by page, wired to the site and the ledger.

Each page of orders is parsed (`orders`), its refunds placed in time (`refunds`), and its events
committed together with the cursor the walk may move to (`walk`); the statuses asked for are the
site's own (`statuses`). A page is read ahead on a thread while the one before is counted and
committed (`read_ahead`, on by default): that changes nothing but timing.

Each paid order's sale carries its `Touch` (programs): its creation time, a digest of its customer's
address and user agent (`ctx.visitor`; only for an order the customer's browser created, see
`orders`: the other paid orders are counted by `created_via`, and a value no known creator sends is
said once a run, so a shop whose checkout names itself otherwise finds out), the tracking id it
names (`orders.Refs`: order attribution's landing page `?<sync.access_log.ref_param>=` with its
session's start time, or `sync.woocommerce.ref_meta_key`), and for a renewal order the first order
of its subscription (`subscriptions`, kept in the cursor).

Order line items carry no product categories in the REST API: when a distributor filters on
categories (`lineItemFilters.inCategories`), the categories of the products sold are read from
`/wc/v3/products` (100 products a request, each product once per process) and set on the lines.

Authentication: Basic (consumer key and secret) over https; OAuth 1.0a over http, each request
signed by the `woocommerce` package's `OAuth` class and sent through our pooled session (the
package's own `API` has no session, a 5 s timeout and sends every parameter twice).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any
from urllib.parse import urlsplit

import requests
from requests.auth import AuthBase
from woocommerce.oauth import OAuth

from siren_sync.errors import ConfigError, RecordError
from siren_sync.model import Event, Touch
from siren_sync.sources.base import SyncContext, SyncReport
from siren_sync.sources.http import MAX_PER_PAGE, Page, RetryPolicy, Upstream
from siren_sync.sources.woocommerce import statuses as site_statuses
from siren_sync.sources.woocommerce.check import Row, check_rows
from siren_sync.sources.woocommerce.orders import (
    CREATOR_CHANNELS,
    CUSTOMER_CHANNELS,
    ORDERS,
    Order,
    Refs,
    cancel_key,
    order_events,
    parse_order,
    version,
    without_private_fields,
)
from siren_sync.sources.woocommerce.refunds import PREFETCH_REFUNDS_ABOVE, RefundDates, RefundRun
from siren_sync.sources.woocommerce.subscriptions import Subscriptions
from siren_sync.sources.woocommerce.walk import (
    ORDER_FIELDS,
    CatchUp,
    Cursor,
    Fresh,
    Latest,
    Seen,
    Walk,
    next_after,
    server_time,
)

log = logging.getLogger("siren_sync.sources.woocommerce")

_NO_REFUNDS: Mapping[int, datetime] = {}  # the refund times of an order without refunds (never written)


def _cancelled(ctx: SyncContext, orders: list[Order]) -> set[int]:
    """The ids of those paid, refunded `orders` whose cancellation an earlier read recorded (one
    question to the ledger a page): it took all that was left, so their refunds take nothing more
    (`order_events`), and their times need not be read."""
    keys = {cancel_key(o.id): o.id for o in orders if o.refunds and o.paid_at is not None}
    return {keys[key] for key in ctx.known(keys)} if keys else set()


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


class _Pages:
    """Reads the walk's order pages; with read-ahead, the next one on a thread while the current one is
    counted and committed. Closing it stops a page read ahead for a sync that ends early."""

    def __init__(self, http: Upstream, per_page: int, read_ahead: bool):
        self.http, self.per_page, self.read_ahead = http, per_page, read_ahead
        self._ahead: Future[Page] | None = None
        self._pool: ThreadPoolExecutor | None = None
        self._abort = threading.Event()

    def get(self, params: dict[str, str], number: int) -> Page:
        if self._ahead is not None:
            page, self._ahead = self._ahead.result(), None
            return page
        return self.http.page(ORDERS, params, number, self.per_page)

    def ahead(self, params: dict[str, str], number: int) -> None:
        """Start reading the page after this one, if read-ahead is on."""
        if not self.read_ahead:
            return
        if self._pool is None:
            self._pool = ThreadPoolExecutor(1, thread_name_prefix="woocommerce-read-ahead")
        self._ahead = self._pool.submit(self.http.page, ORDERS, params, number, self.per_page, abort=self._abort)

    def close(self) -> None:
        if self._pool is not None:
            self._abort.set()  # a page read ahead for a sync that stops here: no more retries for it
            self._pool.shutdown(wait=True, cancel_futures=True)


@dataclass
class _Sync:
    """One sync's state as it walks: what it read, where its cursor is, what it reports."""

    ctx: SyncContext
    report: SyncReport
    run: RefundRun
    walk: Walk
    cursor: Cursor
    skip: Seen  # order versions the cursor already counted
    now: datetime  # the sync's start, whole seconds: no cursor passes it
    latest: Latest


class WooCommerceSource:
    """The `woocommerce` source: orders and their refunds from `/wp-json/wc/v3`."""

    name = "woocommerce"

    def __init__(self, url: str, consumer_key: str | None, consumer_secret: str | None, verify: bool | str = True,
                 options: Mapping[str, Any] | None = None, overlap: float = 300.0,
                 timeout: float | tuple[float, float] = (10.0, 30.0), retry: RetryPolicy | None = None,
                 sleep: Callable[[float], None] = time.sleep, clock: Callable[[], float] = time.monotonic,
                 session: requests.Session | None = None, read_ahead: bool | None = None,
                 site_tz: tzinfo = UTC, ref_param: str = "ref"):
        if not consumer_key or not consumer_secret:
            raise ConfigError("site.woocommerce: consumer_key and consumer_secret are required")
        options = dict(options or {})
        self.url = url.rstrip("/")
        self.site_tz = site_tz  # the clock of `post_modified`, by which posts-stored orders are sorted
        self.paid_statuses = tuple(options.get("paid_statuses") or ("processing", "completed"))
        self.per_page = max(1, min(MAX_PER_PAGE, int(options.get("per_page") or MAX_PER_PAGE)))
        self.statuses = site_statuses.SiteStatuses(
            site_statuses.configured(self.paid_statuses, options.get("extra_statuses") or ()))
        self.overlap = timedelta(seconds=float(overlap))
        # Read the next orders page on a thread while the current one is counted and committed.
        self.read_ahead = bool(options.get("read_ahead", True) if read_ahead is None else read_ahead)
        # WooCommerce refuses Basic auth over plain http even on loopback (apis.md section 7): OAuth there.
        auth: Any = ((consumer_key, consumer_secret) if urlsplit(self.url).scheme == "https"
                     else WooCommerceOAuth1(consumer_key, consumer_secret))
        self.http = Upstream(self.name, f"{self.url}/wp-json", auth=auth, verify=verify, timeout=timeout,
                             retry=retry, secrets=(consumer_key, consumer_secret), sleep=sleep, clock=clock,
                             session=session)
        self.refunds = RefundDates(self.http, options.get("refunds") or "auto")
        channels = options.get("visitor_created_via")
        self.refs = Refs(param=ref_param, meta_key=options.get("ref_meta_key") or None,
                         visitor_channels=frozenset(CUSTOMER_CHANNELS if channels is None else channels))
        self._unmatched: Counter[str | None] = Counter()  # this sync's paid orders not matched by visitor
        self._said: set[str | None] = set()  # the `created_via` values said so (once a run: not every poll)
        self.subscriptions = Subscriptions(self.http)
        self.needs_categories = False
        self._categories: dict[int, tuple[int, ...]] = {}

    @classmethod
    def from_config(cls, config: Any, **kwargs: Any) -> WooCommerceSource:
        """The source of a loaded config (`kwargs`: `site_tz`, and what tests and benchmarks set).

        The referral parameter order attribution's landing pages are read with is the access log's
        (`sync.access_log.ref_param`): one site, one name for it.
        """
        site = config.site
        section = config.sync.sources.get("woocommerce") if config.sync.sources else None
        visits = config.sync.sources.get("access_log") if config.sync.sources else None
        if visits is not None:
            kwargs.setdefault("ref_param", visits.options.get("ref_param") or "ref")
        key = site.wc_key.value if site.wc_key is not None else None
        secret = site.wc_secret.value if site.wc_secret is not None else None
        source = cls(site.url, key, secret, verify=site.verify_tls,
                     options=dict(section.options) if section is not None else {}, overlap=config.sync.overlap,
                     **kwargs)
        source.needs_categories = any(d.filters.in_categories is not None for d in config.distributors.values())
        return source

    def close(self) -> None:
        self.http.close()

    def check(self) -> list[Row]:
        return check_rows(self.http, self.url, self.statuses, self.refunds)

    # -- sync -------------------------------------------------------------------------------

    def sync(self, ctx: SyncContext, since: datetime | None = None) -> SyncReport:
        """Walk the orders modified since the cursor (or since `since`, a backfill), committing each
        page's events with the cursor; see `walk` for why each query is what it is."""
        requests_before = self.http.requests
        state = ctx.cursor(self.name) or {}
        cursor, start, skip = Cursor.resume(state, since, self.overlap)
        s = _Sync(ctx, SyncReport(self.name), RefundRun(window_start=start), Walk(after=start), cursor, skip,
                  ctx.now.astimezone(UTC).replace(microsecond=0), Latest())
        self.subscriptions.load(state.get("subscriptions"))
        covered = tuple(state.get("statuses") or self.statuses.configured)  # the statuses the cursor's walk read
        # Without the site's answer: those, and any the configuration gained since (caught up below).
        self.statuses.refresh(self.http, tuple(dict.fromkeys(covered + self.statuses.configured)))
        if state.get("modified_gmt"):
            self._catch_up(s, covered, state)
        pages = _Pages(self.http, self.per_page, self.read_ahead)
        try:
            while self._step(s, pages, pages.get(self._query(s.walk), s.walk.number)):
                pass
        finally:
            pages.close()
            self._say_unmatched()
        report = s.report
        report.detail.update({"cursor": cursor.pos.isoformat() if cursor.pos else None,
                              "requests": self.http.requests - requests_before})
        log.info("woocommerce: %d orders read, %d new events, %d pages", report.records, report.events,
                 report.pages)
        return report

    def _query(self, walk: Walk) -> dict[str, str]:
        """The walk's next orders query, asking for the order meta the sales' touches read and no more
        (`include_meta`, since late 2022, woocommerce#34478; an older site ignores it and sends all of it)."""
        params = walk.params(self.statuses.current)
        params["include_meta"] = ",".join(self.refs.meta_keys)
        return params

    def _step(self, s: _Sync, pages: _Pages, page: Page) -> bool:
        """Count one page of the walk and commit its events with the cursor; False after the last page."""
        report = s.report
        report.pages += 1
        report.records += len(page.items)
        if report.pages == 1 and (page.total_pages or 0) > PREFETCH_REFUNDS_ABOVE:
            s.run.prefetch_wanted = True
        fresh, last = s.latest.scan(page.items, s.skip)
        bound = next_after(page.items, s.latest.at, s.walk.after, self.site_tz) if last else None
        more = s.walk.advance(page, bound, s.latest.at)
        if more:  # the next query is known now: read it while this page is counted and committed
            pages.ahead(self._query(s.walk), s.walk.number)
        events = self._events(s.ctx, s.run, fresh)
        moved = s.cursor.move(s.latest, s.walk.start, more, s.now, server_time(page.response))
        if events or moved:
            report.events += s.ctx.commit(self.name, events,
                                          self._with_subscriptions(s.cursor.state(self.statuses.current)))
        remaining = (page.total_pages - page.number) if page.total_pages else 0
        s.ctx.progress(self.name, report.pages, report.pages + max(0, remaining), report.records)
        return more

    def _catch_up(self, s: _Sync, covered: Iterable[str], cursor: Mapping[str, Any]) -> None:
        """Read, once, every order in the statuses the cursor's walk has not covered (a plugin's new
        status): an order that moved into one before would not be modified again, so the walk from
        the cursor would never meet it. Events are keyed, so what was counted before counts once."""
        covered = set(covered)
        new = [status for status in self.statuses.current if status not in covered]
        if not new:
            return
        log.info("woocommerce: reading every order in the statuses %s once", ", ".join(new))
        params = {"orderby": "date", "order": "asc", "status": ",".join(new), "_fields": ",".join(ORDER_FIELDS),
                  "include_meta": ",".join(self.refs.meta_keys)}
        paging = CatchUp(new)
        more = True
        while more:
            page = self.http.page(ORDERS, params, paging.number, self.per_page)
            s.report.records += len(page.items)
            raws = [(raw, found[2] if (found := version(raw)) else None) for raw in page.items]
            events = self._events(s.ctx, s.run, raws)
            s.report.events += s.ctx.commit(self.name, events, self._with_subscriptions(cursor))
            more = paging.advance(page)
        s.ctx.commit(self.name, [], self._with_subscriptions({**cursor, "statuses": list(self.statuses.current)}))

    def _with_subscriptions(self, state: Mapping[str, Any]) -> Mapping[str, Any]:
        """A cursor `state` with what is known of subscriptions (left out while nothing is)."""
        known = self.subscriptions.state()
        return {**state, "subscriptions": known} if known is not None else state

    def _events(self, ctx: SyncContext, run: RefundRun, raws: Fresh) -> list[Event]:
        """The events of `raws`: (order as sent, its date_modified_gmt parsed or None) pairs; a record
        that cannot be counted is quarantined."""
        orders: list[Order] = []
        paid_statuses, refs = self.paid_statuses, self.refs
        for raw, modified in raws:
            try:
                orders.append(parse_order(raw, paid_statuses, modified, refs))
            except RecordError as exc:
                ctx.quarantine(exc.where, exc.reason, without_private_fields(raw))
        if self.needs_categories:
            orders = self._with_categories(orders)
        cancelled = _cancelled(ctx, orders)
        need = self.refunds.needed(ctx, run, (o for o in orders if o.id not in cancelled))
        if need:
            self.refunds.fetch(run, need)
        renewed = [o.subscription for o in orders if o.subscription is not None and o.paid_at is not None]
        if renewed:
            self.subscriptions.resolve(renewed, ctx.now)
        events: list[Event] = []
        attribution = ctx.attribution
        for order in orders:
            if order.paid_at is None:
                continue  # never paid: no event, whatever its status
            settled = order.id in cancelled
            times = self.refunds.times(ctx, run, order) if order.refunds and not settled else _NO_REFUNDS
            events += order_events(order, times, attribution, self._touch(ctx, order), cancel_recorded=settled)
        return events

    def _say_unmatched(self) -> None:
        """Each `created_via` no known creator sends whose paid orders this sync did not match to referral
        visits by their visitor, with their number (the value, never an address or agent): once for the
        source's life (a worker's run; a staff tool's orders would say it every poll), then forget them."""
        fresh = [(via, n) for via, n in self._unmatched.items() if via not in self._said]
        self._unmatched.clear()
        for via, count in sorted(fresh, key=lambda item: (item[0] is None, item[0] or "")):
            self._said.add(via)
            log.warning("woocommerce: %d paid order(s) created via %s are not matched to referral visits by "
                        "their visitor (their address and agent may be whoever created them); if that is your "
                        "storefront's checkout, add it to sync.woocommerce.visitor_created_via", count,
                        repr(via) if via is not None else "(not sent)")

    def _touch(self, ctx: SyncContext, order: Order) -> Touch:
        """What a paid order says about who brought it: only the visitor's digest leaves this method.

        A renewal whose first order is not known (a subscription made in the admin, `parent_id: 0`;
        one deleted; the route unreadable) is still a renewal: `renewal_of` 0, WooCommerce's "no
        parent order", so no program pays it as a new conversion (its recurring coupon, the landing
        page copied from the first order)."""
        renewal_of = None
        if order.subscription is not None:
            renewal_of = self.subscriptions.first_order(order.subscription) or 0
        elif order.created_via not in self.refs.visitor_channels and order.created_via not in CREATOR_CHANNELS:
            self._unmatched[order.created_via] += 1
        return Touch(visitor=ctx.visitor(*order.client) if order.client is not None else None, ref=order.ref,
                     created_at=order.created, ref_at=order.ref_at, renewal_of=renewal_of)

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
            replace(line, categories=self._categories.get(line.product_id, ()) if line.product_id is not None else ())
            for line in o.value.lines)))
            for o in orders]
