"""Which order statuses an orders walk asks for: the core ones, the configured ones, the site's own.

The orders listing must name its statuses: `any` leaves out `trash`, where a paid order may go.
Plugins add statuses (`shipped`), and an order moved into one must still be read, or a later refund
or cancellation of it would be missed; a status whose plugin was switched off must not be asked
for (WooCommerce refuses the whole listing with 400). So every sync reads the statuses the site has
from the listing's own description (one `OPTIONS` request, one try); without an answer (some hosts
refuse OPTIONS, or the site is down and the listing will say so) the statuses known from before
are read again. `check` reports the same vocabulary.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.sources.http import RetryPolicy, Upstream
from siren_sync.sources.woocommerce.orders import ORDERS

log = logging.getLogger("siren_sync.sources.woocommerce")

# Core statuses every WooCommerce since 3.5 accepts; `any` would leave out `trash`.
CORE_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed", "trash")
# Statuses no paid order is in: the filter word `any`, and block checkout's unsubmitted drafts.
UNREAD_STATUSES = frozenset({"any", "checkout-draft"})
ONE_ATTEMPT = RetryPolicy(attempts=1)  # for a request the sync can do without


def order_args(http: Upstream, retry: RetryPolicy | None = None) -> dict[str, Any] | None:
    """The orders listing's query arguments as the site describes them (OPTIONS), or None.

    Only the GET endpoint's: the POST one describes an order's fields, among them a `status`
    that is one string, not the listing's list of statuses.
    """
    try:
        data, _ = http.request("OPTIONS", ORDERS, retry=retry)
        args: dict[str, Any] = {}
        for endpoint in data.get("endpoints") or ():
            if "GET" in (endpoint.get("methods") or ()):
                args.update(endpoint.get("args") or {})
        return args
    except (SyncError, AttributeError):
        return None


def status_enum(args: dict[str, Any] | None) -> list[str] | None:
    """The statuses the orders listing accepts, from its description (OPTIONS), or None."""
    enum = (((args or {}).get("status") or {}).get("items") or {}).get("enum")
    return [str(v) for v in enum] if isinstance(enum, list) else None


def readable(statuses: Iterable[str]) -> tuple[str, ...]:
    """The site's statuses an orders walk reads: not `any` (a filter word) nor block checkout's drafts."""
    return tuple(status for status in dict.fromkeys(statuses) if status not in UNREAD_STATUSES)


def configured(paid_statuses: tuple[str, ...], extra: Iterable[str]) -> tuple[str, ...]:
    """What is read where the site does not describe its statuses: the core ones, the paid ones and
    `sync.woocommerce.extra_statuses` (for a host that always refuses OPTIONS)."""
    return tuple(dict.fromkeys(CORE_STATUSES + paid_statuses + tuple(extra)))


class SiteStatuses:
    """The statuses the next orders listing asks for: the configured ones until the site says its own."""

    def __init__(self, configured: tuple[str, ...]):
        self.configured = configured
        self.current = configured

    def refresh(self, http: Upstream, known: tuple[str, ...], args: dict[str, Any] | None = None) -> None:
        """Read every order status the site has (OPTIONS, one attempt, unless `args` already holds its
        answer); without an answer, the statuses `known` from before (those the cursor's walk last
        read, and the configured ones)."""
        enum = status_enum(args if args is not None else order_args(http, retry=ONE_ATTEMPT))
        statuses = readable(enum) if enum else known
        added = [s for s in statuses if s not in self.current]
        self.current = statuses
        if added and enum:
            log.info("woocommerce: also reading the orders in the site's statuses %s", ", ".join(added))
