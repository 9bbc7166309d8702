"""Orders filtered, sorted and sliced like WooCommerce's orders listing.

Orders are kept in sorted indexes of ints `(time << 32) | id` (per sort key and status set, valid
until the site's next write), so a listing by modification or creation time narrows its range by
bisection and slices its page without looking at the other orders. Date bounds are exclusive, like
WordPress's `date_query`. Sorting breaks ties by id, as WooCommerce does since late 2025
(woocommerce#61410) and as MySQL may do by chance before; the `mixed_ties` fault puts equal times
in another order on each page instead. Orders stored as posts (`site.order_storage == "posts"`)
are sorted by `post_modified`, the site's local time, while the filters compare GMT times: when the
clocks go back, GMT times go back and forth across pages of an `orderby=modified` listing.
"""
from __future__ import annotations

import bisect
import operator
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace

from siren_sync.sandbox.site import Order, Site

_ID_BITS = 32
_ID_MASK = (1 << _ID_BITS) - 1


@dataclass(frozen=True)
class OrderQuery:
    """One orders listing: times in epoch seconds (bounds exclusive), `offset` and `limit` the page."""

    statuses: frozenset[str] | None = None  # None: every status
    orderby: str = "date"
    desc: bool = True
    created_after: int | None = None
    created_before: int | None = None
    modified_after: int | None = None
    modified_before: int | None = None
    include: list[int] | None = None
    exclude: Iterable[int] = ()
    customer: int | None = None
    product: int | None = None
    parent: list[int] | None = None
    offset: int = 0
    limit: int = 10
    mixed_ties: bool = False  # equal modification times come in another order for each page

    def tests(self) -> list[Callable[[Order], bool]]:
        """What an order must pass, beyond the range of the index (empty: every order in it)."""
        tests = [_bound(attr, compare, bound) for bound, attr, compare in (
            (self.created_after, "created", operator.gt), (self.created_before, "created", operator.lt),
            (self.modified_after, "modified", operator.gt), (self.modified_before, "modified", operator.lt))
            if bound is not None]
        excluded, include = set(self.exclude), set(self.include or ())
        if excluded or include:
            tests.append(lambda o: o.id not in excluded and (not include or o.id in include))
        if self.customer is not None:
            tests.append(lambda o: o.customer_id == self.customer)
        if self.parent is not None:
            tests.append(lambda o: 0 in (self.parent or ()))  # orders here have no parent
        if self.product is not None:
            tests.append(lambda o: any(li.product_id == self.product for li in o.line_items))
        return tests


def _bound(attr: str, compare: Callable[[int, int], bool], bound: int) -> Callable[[Order], bool]:
    """A test of an order's time (`created` or `modified`) against an exclusive bound."""
    return lambda o: compare(getattr(o, attr), bound)


def query_orders(site: Site, query: OrderQuery) -> tuple[int, list[Order]]:
    """Filter, sort and slice orders like WooCommerce; returns (total matches, the page)."""
    with site.lock:
        statuses = query.statuses
        present = {s for s, n in site.status_counts.items() if n > 0}
        if statuses is not None and present <= statuses:
            statuses = None  # every order qualifies: use the unfiltered index
        key = {"modified": "local" if site.order_storage == "posts" else "modified", "id": "id",
               "include": "id"}.get(query.orderby, "date")
        keys = _index(site, key, statuses)
        lo, hi, rest = _narrow(keys, key, query)
        mixed = rest.mixed_ties and key in ("modified", "local")
        tests = rest.tests()
        if not tests and not mixed:
            return hi - lo, [site.orders[k & _ID_MASK] for k in _slice(keys, lo, hi, query)]
        chosen = [k for k in keys[lo:hi] if all(test(site.orders[k & _ID_MASK]) for test in tests)]
        if query.orderby == "include" and query.include:
            position = {v: n for n, v in enumerate(query.include)}
            chosen.sort(key=lambda k: position[k & _ID_MASK])
        if mixed:
            page_number = query.offset // max(1, query.limit)
            chosen.sort(key=lambda k: (k >> _ID_BITS, hash((k & _ID_MASK, page_number))))
        if query.desc:
            chosen.reverse()
        page = chosen[query.offset:query.offset + query.limit]
        return len(chosen), [site.orders[k & _ID_MASK] for k in page]


def _slice(keys: list[int], lo: int, hi: int, query: OrderQuery) -> list[int]:
    """The page of `keys[lo:hi]`, in the order asked for."""
    if query.desc:
        start, stop = max(lo, hi - query.offset - query.limit), hi - query.offset
        return list(reversed(keys[start:max(start, stop)]))
    start = lo + query.offset
    return keys[start:min(hi, start + query.limit)]


def _narrow(keys: list[int], key: str, query: OrderQuery) -> tuple[int, int, OrderQuery]:
    """The range of `keys` within the query's bounds on the sort key (bisection), and the query left
    to check order by order."""
    if key == "modified":
        after, before = query.modified_after, query.modified_before
        query = replace(query, modified_after=None, modified_before=None)
    elif key == "date":
        after, before = query.created_after, query.created_before
        query = replace(query, created_after=None, created_before=None)
    else:
        return 0, len(keys), query
    lo = bisect.bisect_right(keys, (after << _ID_BITS) | _ID_MASK) if after is not None else 0
    hi = bisect.bisect_left(keys, before << _ID_BITS) if before is not None else len(keys)
    return lo, max(lo, hi), query


def _index(site: Site, key: str, statuses: frozenset[str] | None) -> list[int]:
    """Orders sorted by `key` ('id', 'date', 'modified', 'local' modified) then id, as ints
    `(time << 32) | id` (plain ids for 'id'). With `statuses`, only the orders in those statuses.
    Cached until the next write."""
    cache_key = (key, statuses)
    hit = site.indexes.get(cache_key)
    if hit is not None and hit[0] == site.version:
        return hit[1]
    orders: Iterable[Order] = site.orders.values()
    if statuses is not None:
        orders = (o for o in orders if o.status in statuses)
    if key == "id":
        keys = sorted(o.id for o in orders)
    elif key == "date":
        keys = sorted((o.created << _ID_BITS) | o.id for o in orders)
    elif key == "local":
        keys = sorted(((o.modified + site.utc_offset(o.modified)) << _ID_BITS) | o.id for o in orders)
    else:
        keys = sorted((o.modified << _ID_BITS) | o.id for o in orders)
    if len(site.indexes) > 32:
        site.indexes = {k: v for k, v in site.indexes.items() if v[0] == site.version}
    site.indexes[cache_key] = (site.version, keys)
    return keys
