"""The WooCommerce source under test: a shop served in process, a source and a context to sync with.

`make_shop(rsps, url, **site)` installs an `InProcessSite` (the sandbox, mocked with `responses`);
`source(url, **options)` is a `WooCommerceSource` that retries without sleeping; `context()` a
`FakeContext` at `NOW` where `david20` is David's coupon and products 13 and 15 are Erin's and
Frank's. `SITE_STATUSES` are a shop's order statuses with a shipment plugin's two.
"""
from __future__ import annotations

from typing import Any

import responses

from siren_sync.sources.base import Attribution
from siren_sync.sources.http import RetryPolicy
from siren_sync.sources.woocommerce import WooCommerceSource
from tests.support.in_process import InProcessSite
from tests.support.payloads import HTTPS_URL, KEY, SECRET, FakeContext, utc

NOW = utc("2026-11-23T05:00:00")
ATTRIBUTION = Attribution(by_coupon={"david20": "david"}, by_product={13: "erin", 15: "frank"})
# WooCommerce's order statuses as its orders listing describes them, then a shipment plugin's.
WOO_STATUSES = ("trash", "pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                "checkout-draft")
SITE_STATUSES = (*WOO_STATUSES, "shipped", "delivered")


def make_shop(rsps: responses.RequestsMock, url: str = HTTPS_URL, **site: Any) -> InProcessSite:
    return InProcessSite(url, **site).install(rsps)


def source(url: str = HTTPS_URL, **options: Any) -> WooCommerceSource:
    return WooCommerceSource(url, KEY, SECRET, options=options, overlap=300, sleep=lambda s: None,
                             retry=RetryPolicy(attempts=3, total=60))


def context(**kw: Any) -> FakeContext:
    kw.setdefault("now", NOW)
    kw.setdefault("attribution", ATTRIBUTION)
    return FakeContext(**kw)


def walk_cursor(ctx: FakeContext) -> dict[str, Any]:
    """The source's cursor without the statuses it covered (those have tests of their own)."""
    return {k: v for k, v in ctx.cursors["woocommerce"].items() if k != "statuses"}


def orders_params(shop: InProcessSite) -> list[dict[str, Any]]:
    """The query arguments of every orders listing asked, in order."""
    return [params for method, path, params in shop.requests if method == "GET" and path == "wc/v3/orders"]
