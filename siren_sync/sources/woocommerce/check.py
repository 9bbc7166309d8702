"""What `siren-sync check` says of the WooCommerce source: one row per question a user asks.

Reachable? Authenticated (and if not, the likely reason, without a secret)? Can orders be read
incrementally (`modified_after` and `dates_are_gmt`, WooCommerce 5.8+), and may this version miss a
partial refund? Which order statuses are read? Where do refund dates come from? How many orders?
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from siren_sync.errors import AuthError, SyncError
from siren_sync.sources.http import Upstream
from siren_sync.sources.woocommerce.orders import ORDERS
from siren_sync.sources.woocommerce.refunds import REFUNDS, RefundDates
from siren_sync.sources.woocommerce.statuses import SiteStatuses, order_args, readable, status_enum

Row = tuple[str, bool, str]


def check_rows(http: Upstream, url: str, statuses: SiteStatuses, refunds: RefundDates) -> list[Row]:
    """The rows of `check`; reading the site's statuses as a sync would (`statuses` learns them)."""
    args = order_args(http)
    statuses.refresh(http, statuses.configured, args)  # what a sync reads
    try:
        page = http.page(ORDERS, {"status": ",".join(statuses.current), "_fields": "id"}, 1, 1)
    except AuthError as exc:
        return [("woocommerce reachable", True, f"{url}/wp-json/{ORDERS}"),
                ("woocommerce authenticated", False, f"{exc}; {_auth_hint(url, exc)}")]
    except SyncError as exc:
        return [("woocommerce reachable", False, str(exc))]
    total = page.total if page.total is not None else len(page.items)
    return [("woocommerce reachable", True, f"{url}/wp-json/{ORDERS}"),
            ("woocommerce authenticated", True, "orders can be listed with the consumer key"),
            _modified_after(http, args), _statuses(statuses, args), _refunds(refunds),
            ("woocommerce orders", True, f"{total} orders (statuses {', '.join(statuses.current)})")]


def _auth_hint(url: str, exc: AuthError) -> str:
    hint = ("check sync keys: site.woocommerce consumer_key/consumer_secret (WooCommerce > Settings > "
            "Advanced > REST API, Read access)")
    if exc.status == 401 and urlsplit(url).scheme == "https":
        hint += "; if they are right, the server may drop the Authorization header (CGI/FastCGI)"
    elif exc.status == 401:
        hint += "; over http the OAuth signature needs the exact site URL and a correct clock"
    return hint


def _modified_after(http: Upstream, args: dict[str, Any] | None) -> Row:
    what = "woocommerce modified_after"
    version = None
    try:
        data = http.get_json("wc/v3/system_status", {"_fields": "environment"})
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
        ok = version_tuple(version) >= (5, 8)
        return what, ok, f"WooCommerce {version}" + (_refund_note(version) if ok else ": 5.8 or newer is needed")
    return what, False, "could not tell the WooCommerce version (system_status and OPTIONS refused)"


def _statuses(statuses: SiteStatuses, args: dict[str, Any] | None) -> Row:
    """The order statuses a sync reads: the site's own, from the same description of the orders
    listing, among them those beyond the configured ones (plugins add some)."""
    enum = status_enum(args)
    if enum is None:
        return "woocommerce statuses", True, (
            "the site does not list its order statuses (OPTIONS refused or without them), so plugin "
            "statuses cannot be found: name them in sync.woocommerce.extra_statuses")
    read = readable(enum)
    found = [status for status in read if status not in statuses.configured]
    detail = f"every order status of the site is read ({len(read)})"
    if found:
        detail += f", among them {', '.join(found)}, found on the site"
    return "woocommerce statuses", True, detail


def _refunds(refunds: RefundDates) -> Row:
    what = "woocommerce refunds"
    if refunds.mode == "orders":
        return what, True, f"read per order ({ORDERS}/<id>/refunds), as configured"
    try:
        page = refunds.http.page(REFUNDS, {"_fields": "id"}, 1, 1)
    except SyncError as exc:
        if exc.status == 404:
            return what, refunds.mode == "auto", (
                f"{REFUNDS} not available (WooCommerce < 9.0): refund dates read per order")
        return what, False, str(exc)
    refunds.bulk = True
    return what, True, f"{REFUNDS} available ({page.total if page.total is not None else '?'} refunds)"


def _refund_note(version: str | None) -> str:
    """Before WooCommerce 7.6 (woocommerce#37047) a partial refund could leave its order's
    date_modified as it was (woocommerce#28969), and the orders walk reads changed orders only."""
    if version and version_tuple(version) < (7, 6):
        return ("; before 7.6 a partial refund may leave its order unmodified, so the sync can miss it: "
                "update WooCommerce")
    return ""


def version_tuple(text: str) -> tuple[int, ...]:
    """A WooCommerce version (`9.4.2`, `8.0.0-beta.1`) as numbers to compare, three at most."""
    parts = []
    for piece in text.split(".")[:3]:
        digits = "".join(ch for ch in piece if ch.isdigit())
        parts.append(int(digits or 0))
    return tuple(parts)
