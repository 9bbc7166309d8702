"""Orders and refunds given as their REST bodies: the site serves them as they are, bad ones included.

The generator builds orders from the catalogue; tests also need the exact bodies of real responses
(`tests/fixtures/samples/`) and records a real site may send (a total that is not a number, a date in
another format, an order without an id) to see what the source makes of them. Such an order is
served as given, the same JSON (`shapes.order`), and listed, filtered and sorted by what its body
says: `id`, `status`, `date_created_gmt`, `date_modified_gmt`, `customer_id` (a field that cannot be
read counts as 0, the epoch for a time). It has no line items of its own for the `product` filter,
and only these functions change it (never the simulated activity). A refund given as its body
(`GET orders/<id>/refunds` shape) is listed under its order and in `wc/v3/refunds`, with
`parent_id` there, as WooCommerce does; the order's own `refunds[]` is whatever its body says. A
subscription given as its body is served as it is by `wc/v3/subscriptions` (which a site has from
then on), listed by its `id` and the `parent_id` its body names.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from siren_sync.sandbox.site import Order, Refund, Site, Subscription, to_ts


def add_order(site: Site, payload: dict[str, Any]) -> Order:
    """Add an order given as its REST body (it replaces the order with its `id`, refunds kept); one
    without a usable `id` gets a free one on the site."""
    with site.lock:
        oid = payload.get("id")
        if type(oid) is not int or not 0 < oid < 1 << 32:
            oid = max(site.orders, default=0) + 1
        o = Order(oid, "", "", 0, 0, 0, {}, "", "", "", [], payload=payload)
        _read(o)
        replaced = site.orders.get(oid)
        if replaced is not None:
            site.status_counts[replaced.status] -= 1
            o.refunds = replaced.refunds
        site.orders[oid] = o
        site.status_counts[o.status] = site.status_counts.get(o.status, 0) + 1
        site.version += 1
        return o


def change_order(site: Site, order_id: int, changes: Mapping[str, Any], modified: str | None = None) -> Order:
    """Change fields of an order given as its REST body; with `modified` (a `*_gmt` time), it was
    modified then (`date_modified` and `date_modified_gmt`)."""
    with site.lock:
        o = site.orders[order_id]
        if o.payload is None:
            raise ValueError(f"order {order_id} was not given as a REST body")
        o.payload.update(changes)
        if modified is not None:
            o.payload["date_modified"] = o.payload["date_modified_gmt"] = modified
        site.status_counts[o.status] -= 1
        _read(o)
        site.status_counts[o.status] = site.status_counts.get(o.status, 0) + 1
        o.json = None
        site.version += 1
        return o


def add_refund(site: Site, detail: dict[str, Any], order_id: int) -> Refund:
    """Add a refund given as its REST body (with `id`, `date_created_gmt`) to order `order_id`."""
    with site.lock:
        r = Refund(int(detail["id"]), order_id, _time(detail.get("date_created_gmt")), 0, str(detail.get("reason", "")),
                   payload=detail)
        site.orders[order_id].refunds.append(r)
        site.refunds[r.id] = r
        site.version += 1
        return r


def add_subscription(site: Site, payload: dict[str, Any]) -> Subscription:
    """Add a subscription given as its REST body (with `id` and `parent_id`); the site has WooCommerce
    Subscriptions from now on."""
    with site.lock:
        record = Order(int(payload["id"]), "", "", 0, 0, 0, {}, "", "", "", [], payload=payload)
        _read(record)
        parent_id = payload.get("parent_id")
        parent = site.orders.get(parent_id) if type(parent_id) is int else None
        sub = Subscription(record, parent or Order(parent_id if type(parent_id) is int else 0, "", "", 0, 0, 0, {},
                                                   "", "", "", []))
        site.subscriptions[sub.id] = sub
        site.has_subscriptions = True
        site.version += 1
        return sub


def _read(o: Order) -> None:
    """Set the fields the listing filters and sorts on from the order's body."""
    body = o.payload or {}
    status = body.get("status")
    o.status = status if isinstance(status, str) else ""
    o.currency = str(body.get("currency") or "")
    o.created = _time(body.get("date_created_gmt"))
    o.modified = _time(body.get("date_modified_gmt"))
    customer = body.get("customer_id")
    o.customer_id = customer if type(customer) is int else 0


def _time(value: Any) -> int:
    """A `*_gmt` time as epoch seconds; 0 for one that cannot be read."""
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        return 0
    return to_ts(parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC))
