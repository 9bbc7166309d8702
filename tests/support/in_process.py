"""The sandbox site served in process: `Api.handle` answers `responses` callbacks, no socket opened.

The same site the demo and the end-to-end tests serve over loopback (`siren_sync.sandbox`), at any
URL (https: Basic auth with the consumer key; http: OAuth 1.0a, signatures checked), so unit tests
stay mocked with `responses` and fast. Orders and refunds come from test payloads (served as given,
bad ones included: `siren_sync.sandbox.payloads`) or are built in `site`; `faults` breaks things
(`fail` answers the next GET of a path once); `before_orders` hooks change the site just before an
orders listing is answered, to move orders between two pages; every request is kept in order
(`requests`, `urls`, `count`).

    shop = InProcessSite(HTTPS_URL).install(rsps)
    shop.add(order(26, ...)); shop.add_refund(refund_detail(89, 26, ...), 26)
    source.sync(ctx); assert shop.count("wc/v3/refunds") == 0
"""
from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

import responses

from siren_sync.sandbox import payloads
from siren_sync.sandbox.auth import Authenticator
from siren_sync.sandbox.faults import Faults
from siren_sync.sandbox.rest import Request, Stats
from siren_sync.sandbox.server import Api, answer
from siren_sync.sandbox.site import Order, Site
from tests.support.payloads import HTTPS_URL, KEY, SECRET

METHODS = (responses.GET, responses.POST, responses.PUT, responses.PATCH, responses.DELETE, responses.OPTIONS,
           responses.HEAD)
Hook = Callable[["InProcessSite", int], None]


class InProcessSite:
    """A sandbox site answering `url`'s REST API through `responses`.

    `statuses`: the order statuses the site has (its orders listing describes and checks them);
    None, a site that describes none and takes any. `version`: its WooCommerce version (`wc/v3/refunds`
    exists from 9.0). `storage="posts"`: orders sorted by their local modification time in `timezone`.
    """

    def __init__(self, url: str = HTTPS_URL, key: str = KEY, secret: str = SECRET, *, version: str = "9.4.2",
                 statuses: tuple[str, ...] | None = None, storage: str = "hpos", timezone: str = "UTC",
                 mixed_ties: bool = False, options_refused: bool = False):
        self.url = url.rstrip("/")
        self.site = Site(name="Test shop", timezone_name=timezone, now=datetime(2026, 11, 23, 12, tzinfo=UTC),
                         url=self.url, order_statuses=statuses, wc_version=version, order_storage=storage)
        self.faults = Faults()
        self.faults.update({"mixed_ties": mixed_ties, "refuse_options": options_refused})
        self.stats = Stats(keep=True)
        self.api = Api(self.site, Authenticator(consumer_key=key, consumer_secret=secret), self.faults, self.stats)
        self.before_orders: list[Hook] = []  # hook(site, GET orders requests so far, this one included)
        self.api.before_orders.append(self._before_orders)

    def install(self, rsps: responses.RequestsMock) -> InProcessSite:
        pattern = re.compile(re.escape(self.url) + r"(/.*)?$")
        for method in METHODS:
            rsps.add_callback(method, pattern, callback=self._answer)
        return self

    def _answer(self, request: Any) -> tuple[int, dict[str, str], bytes]:
        parts = urlsplit(request.url)
        body = request.body or b""
        req = Request(request.method, parts.path, parts.query, request.headers,
                      body.encode() if isinstance(body, str) else body)
        resp, _label = answer(self.api, req)
        return resp.status, {"Content-Type": resp.content_type, **resp.headers}, resp.body

    def _before_orders(self, req: Request) -> None:
        for hook in list(self.before_orders):
            hook(self, self.count("wc/v3/orders"))

    # -- building the site ------------------------------------------------------------------------

    def add(self, *orders: dict[str, Any]) -> None:
        """Orders as `GET wc/v3/orders/<id>` sends them (`tests.support.payloads.order`)."""
        for body in orders:
            payloads.add_order(self.site, body)

    def add_refund(self, detail: dict[str, Any], order_id: int) -> None:
        """A refund as `GET wc/v3/orders/<id>/refunds` sends it (`refund_detail`)."""
        payloads.add_refund(self.site, detail, order_id)

    def add_subscription(self, body: dict[str, Any]) -> None:
        """A subscription as `GET wc/v3/subscriptions/<id>` sends it (`tests.support.payloads.subscription`):
        the site has WooCommerce Subscriptions from then on."""
        payloads.add_subscription(self.site, body)

    def modify(self, order_id: int, when: str, **changes: Any) -> Order:
        """Change an order, modified at `when` (a `*_gmt` time)."""
        return payloads.change_order(self.site, order_id, changes, modified=when)

    def edit(self, order_id: int, **changes: Any) -> Order:
        """Change an order within the second of its last modification (`date_modified` as it was)."""
        return payloads.change_order(self.site, order_id, changes)

    def fail(self, path: str, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        """Answer the next GET of `path` (a regular expression, e.g. `wc/v3/orders`) so, once."""
        self.faults.fail_once(path, status, body, headers)

    # -- what was asked ---------------------------------------------------------------------------

    @property
    def requests(self) -> list[tuple[str, str, dict[str, Any]]]:
        """(method, path under the REST root, query arguments) of every request, in order."""
        return [(method, path, args) for method, path, args, _url in self.stats.calls]

    @property
    def urls(self) -> list[str]:
        return [url for _m, _p, _a, url in self.stats.calls]

    def count(self, path_regex: str = ".*") -> int:
        """GET requests to paths matching `path_regex` (the OPTIONS a sync starts with are apart)."""
        return sum(1 for method, path, _ in self.requests if method == "GET" and re.fullmatch(path_regex, path))
