"""The orders walk: which query comes next, and how far the cursor may move (no I/O).

Orders are read incrementally by modification date, as apis.md section 1.11 recommends:
`modified_after=<cursor - overlap>&dates_are_gmt=true&orderby=modified&order=asc&per_page=100` with an
explicit status list that includes `trash`. After each page the page's events are committed with
the cursor set to the last order's `date_modified_gmt` (and the `(id, date_modified_gmt)` pairs seen
at that exact second), and page 1 is asked again from there, so an order modified during the sync
moves to the end and nothing is skipped; where that bound cannot move on (a page within one second,
a bulk edit; a repeated local hour) the orders up to it are read on their own, in a total order
(`Walk`). The cursor never passes the sync's start (`ctx.now`) nor, while pages remain, the next
query's start; and it does not remember the orders of a second the site's clock has not left yet.
"""
from __future__ import annotations

import email.utils
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, tzinfo
from typing import Any

from siren_sync.errors import SyncError
from siren_sync.sources.http import Page
from siren_sync.sources.woocommerce.orders import ORDERS, gmt_time, version, wc_time

ORDER_FIELDS = ("id", "status", "currency", "date_created_gmt", "date_modified_gmt", "date_paid_gmt", "total",
                "discount_total", "shipping_total", "total_tax", "line_items", "fee_lines", "coupon_lines",
                "refunds", "customer_ip_address", "customer_user_agent", "created_via", "meta_data")
MAX_WINDOW_STEPS = 50  # pages a window may step back, orders leaving it, before the sync stops
SECOND = timedelta(seconds=1)

Seen = set[tuple[int, str]]  # (id, date_modified_gmt as sent) of orders read
Fresh = list[tuple[Any, datetime | None]]  # orders as sent, with their date_modified_gmt parsed (or None)


def order_params(statuses: tuple[str, ...], after: datetime | None) -> dict[str, str]:
    """The orders listing by modification time, strictly after `after`."""
    params = {"orderby": "modified", "order": "asc", "dates_are_gmt": "true",
              "status": ",".join(statuses), "_fields": ",".join(ORDER_FIELDS)}
    if after is not None:
        params["modified_after"] = wc_time(after)
    return params


def pages_back(previous: int | None, page: Page) -> int:
    """How many pages to read again after `page` of a listing by creation date: as many as orders
    left the listing since the page before (its count dropped), each moving every later one up."""
    if previous is None or page.total is None or page.total >= previous:
        return 0
    return -(-(previous - page.total) // max(1, page.per_page))


@dataclass
class Walk:
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

    @property
    def start(self) -> datetime | None:
        """The current query's exclusive lower bound."""
        return self.window[0] if self.window is not None else self.after

    def params(self, statuses: tuple[str, ...]) -> dict[str, str]:
        """The query of where the walk is: after its bound by modification, or a window by creation."""
        if self.window is None:
            return order_params(statuses, self.after)
        start, last = self.window
        params = order_params(statuses, start)
        params.update(orderby="date", modified_before=wc_time(last + SECOND))
        return params

    def advance(self, page: Page, next_after: datetime | None, pos: datetime | None) -> bool:
        """Move past `page`; False when nothing is left to read.

        `next_after` is the bound the next query would start from (`next_after()`, None for a page
        without a usable modification time) and `pos` the latest modification read so far.
        """
        if self.window is not None:
            return self._advance_in_window(page, self.window)
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

    def _advance_in_window(self, page: Page, window: tuple[datetime, datetime]) -> bool:
        previous, self.total = self.total, page.total
        self.uncounted |= page.total is None
        back = pages_back(previous, page)
        if back:
            self.steps += back
            if self.steps > MAX_WINDOW_STEPS:
                raise SyncError(f"{ORDERS}: the orders modified {describe(window)} kept changing while they "
                                f"were read; the next sync reads them again")
            self.number = max(1, page.number - back)
            return True
        if not page.last:
            self.number += 1
        elif self.uncounted and self.passes == 0:
            self.number, self.passes = 1, 1  # without a count no move is seen: read the window again
        else:
            self.after, self.number, self.window = window[1], 1, None
        return True


def describe(window: tuple[datetime, datetime]) -> str:
    """A window in words: `at <second>`, or `from <first second> to <last second>`."""
    start, last = window
    if last - start == SECOND:
        return f"at {wc_time(last)}"
    return f"from {wc_time(start + SECOND)} to {wc_time(last)}"


@dataclass
class CatchUp:
    """The pages of a listing by creation date read once whole (every order in statuses the cursor's
    walk has not covered): it steps back as many pages as orders left it, like a window."""

    statuses: list[str]
    number: int = 1
    previous: int | None = None  # the listing's count at the page read last
    steps: int = 0

    def advance(self, page: Page) -> bool:
        """Move past `page`; False when nothing is left to read."""
        back = pages_back(self.previous, page)  # orders that left the statuses moved the later ones up
        self.previous, self.steps = page.total, self.steps + back
        if self.steps > MAX_WINDOW_STEPS:
            raise SyncError(f"{ORDERS}: the orders in {', '.join(self.statuses)} kept changing while they were "
                            f"read; the next sync reads them again")
        if back:
            self.number = max(1, self.number - back)
            return True
        if page.last:
            return False
        self.number += 1
        return True


@dataclass
class Latest:
    """The latest modification second this sync has read, and the order versions read in it."""

    at: datetime | None = None
    seen: Seen = field(default_factory=set)

    def scan(self, items: list[Any], skip: Seen) -> tuple[Fresh, datetime | None]:
        """The orders of a page not read before (`skip`, or in the latest second already), each with its
        parsed modification time; and the page's latest modification time. Moves to the page's latest."""
        fresh: Fresh = []
        last = None
        at_last: Seen = set()
        seen = self.seen
        for raw in items:
            found = version(raw)
            if found is None:
                fresh.append((raw, None))
                continue
            key, modified = (found[0], found[1]), found[2]
            if last is None or modified > last:
                last, at_last = modified, {key}
            elif modified == last:
                at_last.add(key)
            if key in skip or key in seen:
                continue
            fresh.append((raw, modified))
        if last is not None:
            if self.at is None or last > self.at:
                self.at, self.seen = last, at_last
            elif last == self.at:
                self.seen |= at_last
        return fresh, last


def next_after(items: list[Any], pos: datetime | None, query_after: datetime | None,
               site_tz: tzinfo) -> datetime | None:
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
    last = version(items[-1]) if items else None
    if last is not None and site_tz is not UTC:
        local = last[2].astimezone(site_tz).replace(tzinfo=None)
        bound = min(bound, local.replace(tzinfo=site_tz, fold=0).astimezone(UTC))
    return bound - SECOND


def server_time(response: Any) -> datetime | None:
    """The site's clock when it answered (the `Date` header, whole seconds), or None."""
    try:
        value = email.utils.parsedate_to_datetime(response.headers["Date"])
    except (AttributeError, KeyError, TypeError, ValueError, IndexError):
        return None
    return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)


@dataclass
class Cursor:
    """What a sync commits with each page: the latest modification second it may pass on to the next
    sync (`pos`) and the order versions read in that second (`seen`, skipped next time)."""

    pos: datetime | None
    seen: Seen
    hold: bool = False  # a backfill that starts after the cursor: moving it would skip what lies between

    @classmethod
    def resume(cls, state: Mapping[str, Any], since: datetime | None,
               overlap: timedelta) -> tuple[Cursor, datetime | None, Seen]:
        """The cursor a sync starts with, the walk's first lower bound, and the versions to skip.

        A sync goes on from `overlap` before the committed cursor; a backfill (`since`) starts there
        and carries the cursor along, unless it starts after the cursor, which then stays as it is.
        """
        old_pos = gmt_time(state["modified_gmt"]) if state.get("modified_gmt") else None
        old_seen = {(int(i), str(m)) for i, m in state.get("seen") or ()}
        if since is None:
            return cls(old_pos, set(old_seen)), (old_pos - overlap if old_pos is not None else None), old_seen
        start = since.astimezone(UTC) if since.tzinfo else since.replace(tzinfo=UTC)
        if old_pos is not None and start > old_pos:
            return cls(old_pos, set(old_seen), hold=True), start, set()
        return cls(None, set()), start, set()  # the cursor follows the backfill, so it resumes there

    def move(self, latest: Latest, following: datetime | None, more: bool, now: datetime,
             server: datetime | None) -> bool:
        """Move to what a page has read (`latest`), as far as is safe; True if it moved.

        `following` is the next query's exclusive start: while pages remain (`more`) the cursor goes
        no further than it, since where that bound stepped back (a repeated local hour) orders before
        `latest.at` are unread. The orders seen in a second the site's clock (`server`) has not left
        yet may still change within it, keeping the same (id, date_modified): such a second is not
        remembered as seen, so it is read again.
        """
        pos = latest.at
        if pos is None or self.hold:
            return False
        reach = pos
        if more and following is not None and following + SECOND < pos:
            reach = following + SECOND
        capped = min(reach, now)
        past = reach == pos and pos < now and (server is None or pos < server)
        capped_seen = latest.seen if past else set()
        if self.pos is None or capped > self.pos:
            self.pos, self.seen = capped, set(capped_seen)
            return True
        if capped == self.pos and not capped_seen <= self.seen:
            self.seen = self.seen | capped_seen
            return True
        return False

    def state(self, statuses: tuple[str, ...]) -> dict[str, Any]:
        """The cursor as committed: JSON, with the statuses the walk read."""
        return {"modified_gmt": self.pos.isoformat() if self.pos else None,
                "seen": sorted([i, m] for i, m in self.seen), "statuses": list(statuses)}
