"""When each refund was made: known without a request where it can be, read in bulk or per order.

`refunds[]` inside an order has no dates. A refund is created after the payment and bumps the
order's `date_modified`, so it lies between the two: when both fall in the same period (of every
distributor), the order's `date_modified_gmt` places it in the right period and nothing is
fetched. Otherwise its creation time is read from `/wc/v3/refunds` (WooCommerce 9+): listed in bulk
once for a large sync (more than `PREFETCH_REFUNDS_ABOVE` order pages), by `include=` for a small
one; on older sites (`rest_no_route`, 404) from `/wc/v3/orders/<id>/refunds`, per order.
`sync.woocommerce.refunds` forces either way (`refunds`, `orders`) or lets the site decide (`auto`).
"""
from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from siren_sync.errors import ConfigError, SyncError
from siren_sync.sources.base import SyncContext
from siren_sync.sources.http import MAX_PER_PAGE, Upstream
from siren_sync.sources.woocommerce.orders import ORDERS, Order, as_int, gmt_time, wc_time

log = logging.getLogger("siren_sync.sources.woocommerce")

REFUNDS = "wc/v3/refunds"
REFUND_FIELDS = "id,parent_id,date_created_gmt,amount"
PREFETCH_REFUNDS_ABOVE = 2  # order pages in a sync above which refunds are listed in bulk
MODES = ("auto", "orders", "refunds")


@dataclass
class RefundRun:
    """What one sync learns of refund times along the way."""

    window_start: datetime | None  # where the sync's walk starts: the bulk listing starts there too
    refund_times: dict[int, datetime] = field(default_factory=dict)
    prefetch_wanted: bool = False  # a large sync: list the window's refunds once instead of by `include=`
    prefetched: bool = False


class RefundDates:
    """Reads refunds' creation times from the site, the bulk route while it exists."""

    def __init__(self, http: Upstream, mode: str):
        if mode not in MODES:
            raise ConfigError(f"sync.woocommerce.refunds: {mode!r} is not one of auto, orders, refunds")
        self.http = http
        self.mode = mode
        self.bulk: bool | None = None if mode == "auto" else mode == "refunds"  # None: not known yet

    def needed(self, ctx: SyncContext, run: RefundRun, orders: Iterable[Order]) -> dict[int, int]:
        """Refund id -> order id of the refunds whose period is not known and whose time is not read yet."""
        need: dict[int, int] = {}
        for order in orders:
            if order.paid_at is None or not order.refunds:
                continue
            if ctx.same_period(order.paid_at, order.modified):
                continue
            for refund in order.refunds:
                if refund.id not in run.refund_times:
                    need[refund.id] = order.id
        return need

    @staticmethod
    def times(ctx: SyncContext, run: RefundRun, order: Order) -> dict[int, datetime]:
        """The time of each of `order`'s refunds: read, or the order's `date_modified` (same period)."""
        times = {}
        # Only a refund's time needs the periods compared (a sale has no other time).
        same = order.paid_at is not None and ctx.same_period(order.paid_at, order.modified)
        for refund in order.refunds:
            when = run.refund_times.get(refund.id)
            if when is None:
                if not same and order.paid_at is not None:
                    log.warning("woocommerce: refund %d of order %d not found; placed at the order's "
                                "date_modified", refund.id, order.id)
                when = order.modified
            times[refund.id] = when
        return times

    def fetch(self, run: RefundRun, need: dict[int, int]) -> None:
        """Read the times of the refunds `need`s into `run`: from the bulk route unless the site has none."""
        if self.bulk is not False:
            try:
                self._fetch_bulk(run, need)
                self.bulk = True
                return
            except SyncError as exc:
                if exc.status != 404 or self.mode == "refunds":
                    raise
                log.info("woocommerce: %s is not available (WooCommerce < 9.0); reading refunds per order", REFUNDS)
                self.bulk = False
        for order_id in sorted({oid for rid, oid in need.items() if rid not in run.refund_times}):
            for page in self.http.pages(f"{ORDERS}/{order_id}/refunds", {"_fields": "id,date_created_gmt,amount"},
                                        MAX_PER_PAGE):
                _remember(run, page.items)

    def _fetch_bulk(self, run: RefundRun, need: dict[int, int]) -> None:
        if run.prefetch_wanted and not run.prefetched:
            run.prefetched = True
            params = {"orderby": "date", "order": "asc", "dates_are_gmt": "true", "_fields": REFUND_FIELDS}
            if run.window_start is not None:
                params["after"] = wc_time(run.window_start)
            for page in self.http.pages(REFUNDS, params, MAX_PER_PAGE):
                _remember(run, page.items)
        missing = sorted(rid for rid in need if rid not in run.refund_times)
        for i in range(0, len(missing), MAX_PER_PAGE):
            chunk = missing[i:i + MAX_PER_PAGE]
            page = self.http.page(REFUNDS, {"include": ",".join(map(str, chunk)), "_fields": REFUND_FIELDS},
                                  1, MAX_PER_PAGE)
            _remember(run, page.items)


def _remember(run: RefundRun, items: list[Any]) -> None:
    for item in items:
        try:
            run.refund_times[as_int(item.get("id"), "id")] = gmt_time(item.get("date_created_gmt"))
        except (ValueError, AttributeError):
            log.warning("woocommerce: a refund without a usable id or date_created_gmt was ignored")
