"""Which order a renewal renews: a subscription's first order, read once from WooCommerce Subscriptions.

A renewal order names its subscription in `meta_data` (`_subscription_renewal`); the subscription's
`parent_id` is the order that started it (its first payment), whose collaborators a program pays
for renewals (DESIGN section 8). The subscriptions a page of orders renews and that are not known
yet are read together from `wc/v3/subscriptions?include=...` (100 a request), and any it did not
list from `wc/v3/subscriptions/<id>` (a deleted subscription: its first order stays unknown). What
was learned is kept in the source's cursor (`Subscriptions.state`), so each subscription is read
once, whatever the number of syncs and renewals.

Only a site with WooCommerce Subscriptions has the route. The first renewal met on a site without it
(`404 rest_no_route`: the plugin was switched off) or whose key may not read subscriptions
(401/403) is remembered, with the time, and the route is not asked again for `RECHECK`; meanwhile
renewal orders count as the orders they are (their sales still count in every pool), without a
first order (the source's `_touch`: no program pays them). Other failures stop the sync like any
failed read, and the next one tries again.
"""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from siren_sync.errors import AuthError, SyncError
from siren_sync.sources.http import MAX_PER_PAGE, Upstream
from siren_sync.sources.woocommerce.orders import as_int, gmt_time
from siren_sync.values import iso

log = logging.getLogger("siren_sync.sources.woocommerce")

SUBSCRIPTIONS = "wc/v3/subscriptions"
FIELDS = "id,parent_id"
RECHECK = timedelta(days=1)  # how long a site without the route is not asked again


class Subscriptions:
    """The first order of each subscription met (None: no parent order, or the subscription is gone)."""

    def __init__(self, http: Upstream):
        self.http = http
        self.parents: dict[int, int | None] = {}
        self.unavailable_at: datetime | None = None  # when the site last had no route for us

    def load(self, state: Mapping[str, Any] | None) -> None:
        """Take what a cursor kept (`state`), on top of what this process learned already."""
        if not state:
            return
        for sid, parent in (state.get("parents") or {}).items():
            self.parents.setdefault(int(sid), int(parent) if parent is not None else None)
        if state.get("unavailable_at") and self.unavailable_at is None:
            self.unavailable_at = gmt_time(state["unavailable_at"])

    def state(self) -> dict[str, Any] | None:
        """What to keep in the cursor (None while nothing was learned: the cursor stays as it was)."""
        if not self.parents and self.unavailable_at is None:
            return None
        state: dict[str, Any] = {"parents": {str(sid): self.parents[sid] for sid in sorted(self.parents)}}
        if self.unavailable_at is not None:
            state["unavailable_at"] = iso(self.unavailable_at)
        return state

    def first_order(self, subscription: int) -> int | None:
        """The order that started `subscription`, if known."""
        return self.parents.get(subscription)

    def resolve(self, subscriptions: Iterable[int], now: datetime) -> None:
        """Read the first orders of the `subscriptions` not known yet (unless the site has no route)."""
        wanted = sorted({sid for sid in subscriptions if sid not in self.parents})
        if not wanted or (self.unavailable_at is not None and now - self.unavailable_at < RECHECK):
            return
        try:
            for i in range(0, len(wanted), MAX_PER_PAGE):
                self._read(wanted[i:i + MAX_PER_PAGE])
        except SyncError as exc:
            if not (isinstance(exc, AuthError) or (exc.status == 404 and exc.code == "rest_no_route")):
                raise
            log.warning("woocommerce: %s; renewal orders count without their first order until it can be read "
                        "(asked again after %s)", exc, RECHECK)
            self.unavailable_at = now
            return
        self.unavailable_at = None

    def _read(self, chunk: list[int]) -> None:
        """One listing by `include=`; then, one by one, those it did not list."""
        page = self.http.page(SUBSCRIPTIONS, {"include": ",".join(map(str, chunk)), "_fields": FIELDS}, 1,
                              MAX_PER_PAGE)
        listed = {sid: parent for sid, parent in map(_parent_of, page.items) if sid in chunk}
        for sid in chunk:
            if sid not in listed:
                listed[sid] = self._one(sid)
        self.parents.update(listed)

    def _one(self, sid: int) -> int | None:
        try:
            found = self.http.get_json(f"{SUBSCRIPTIONS}/{sid}", {"_fields": FIELDS})
        except SyncError as exc:
            if exc.status == 404 and exc.code != "rest_no_route":
                log.info("woocommerce: subscription %d is gone; its renewals count without their first order", sid)
                return None
            raise
        return _parent_of(found)[1]


def _parent_of(item: Any) -> tuple[int | None, int | None]:
    """(id, parent order id or None) of a subscription as the REST API sends it; (None, None) if unusable."""
    if not isinstance(item, dict):
        return None, None
    try:
        sid = as_int(item.get("id"), "id")
        parent = as_int(item.get("parent_id") or 0, "parent_id")
    except ValueError:
        return None, None
    return sid, parent if parent > 0 else None
