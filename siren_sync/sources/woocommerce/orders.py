"""Where a WooCommerce order becomes events: parsing and the events an order implies (no I/O but one
log line: an order attribution session start time it cannot read).

`parse_order` validates one order as the REST API sends it (money as decimal strings, `*_gmt`
times without an offset, `refunds[]` without dates) into an `Order`, or raises `RecordError`
(where, reason) so the sync quarantines it and goes on. `order_events` turns an `Order` into the
events of DESIGN section 3, "The pool", keyed so that reading an order again records nothing new:

- `woocommerce:sale:<order>` at payment (`date_paid_gmt`, else `date_created_gmt` for an order in a
  paid status), carrying the order's value; never-paid orders give nothing, whatever their status;
- `woocommerce:refund:<order>:<refund>` with share `-amount/total` at the refund's creation time
  (the caller knows it, or places it at the order's `date_modified`);
- `woocommerce:cancel:<order>` with share `-(total - refunded)/total` at `date_modified_gmt` for a
  paid order now cancelled, failed, trashed, or `refunded` with less refunded than its total. Once
  it is recorded (an earlier read; the caller says so), it took all that was left: a refund made
  after it (WooCommerce refunds a cancelled order's payment) takes nothing more and gives no event;
- `woocommerce:boundCouponUsed:<order>:<code>` and `woocommerce:collaboratorProductSold:<order>:<line>`
  at payment, and the same keys with `:reversal` (negated quantity) when the order is fully refunded
  or cancelled. Partial refunds reverse no points.

Every event names its `order_id`. The sale also carries the order's `Touch` (programs): who may
have brought it. The parser reads what it needs without ever refusing an order for it (these
fields count no money): the creation time, the customer's address and user agent (turned into a
visitor digest by the source, never kept), the tracking id the order names (WooCommerce's order
attribution landing page, or a site plugin's meta key), when the session that landed there began (order
attribution's session start time, UTC) and the subscription a renewal order renews.

The address and agent are the customer's only when the customer's own browser created the order:
WooCommerce stores those of whatever request creates it (`wc_create_order`, `WC_Checkout::create_order`
and the Store API all call `WC_Geolocation::get_ip_address()` and `wc_get_user_agent()`). So the
parser keeps them (`Order.client`) only for an order `created_via` one of `Refs.visitor_channels`
(`checkout`: the classic checkout; `store-api`: the block checkout); an order made in wp-admin
(`admin`), over the REST API (`rest-api`), by WooCommerce Subscriptions (`subscription`), by a
plugin naming itself, or saying nothing (`""`: `wc_create_order` without `created_via`, or a field
missing) carries its creator's, or none: a shop manager who tried an affiliate's link and then
keyed in a phone order would hand that order to the affiliate. Such an order is still engaged by
its coupons, the ref it names and its products' owners.

The walk reads `version(raw)` of every order first (its dedupe key and parsed modification time),
so the parser takes that time instead of parsing it twice. This is the ingest's hot path.
"""
from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import urlsplit

from siren_sync.errors import RecordError
from siren_sync.model import SALE, Event, Line, OrderValue, Touch
from siren_sync.sources.php import query_vars
from siren_sync.values import as_utc, parse_decimal, parse_time

ORDERS = "wc/v3/orders"
SOURCE = "woocommerce"
CANCEL_STATUSES = frozenset({"cancelled", "failed", "trash"})
_ZERO = Decimal(0)
# WooCommerce 8.5+ order attribution: the session's landing page (`?ref=` and all), and the raw user
# agent it keeps beside it (left out of a quarantined order, like the customer's address and agent).
SESSION_ENTRY = "_wc_order_attribution_session_entry"
# When that session's traffic source was first seen: sourcebuster.js's `current_add.fd`, which
# WooCommerce initialises with `timezone_offset: '0'`, so a UTC "YYYY-MM-DD HH:MM:SS" (the visit's time).
SESSION_START = "_wc_order_attribution_session_start_time"
_SESSION_START_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}")
ATTRIBUTION_AGENT = "_wc_order_attribution_user_agent"
RENEWAL = "_subscription_renewal"  # WooCommerce Subscriptions: the subscription a renewal order renews
PRIVATE_FIELDS = ("customer_ip_address", "customer_user_agent")
MAX_REF = 200  # characters of a tracking id an order names; a longer value is not one


# `created_via` of the orders whose address and agent are their customer's: the classic checkout
# (`WC_Checkout::create_order`) and the block checkout (the Store API's `OrderController`).
CUSTOMER_CHANNELS = ("checkout", "store-api")
# `created_via` of orders made by someone else's request, as WooCommerce and WooCommerce Subscriptions
# name them: the admin's new-order screen (CPT and HPOS), the REST API, a renewal, the app's point of
# sale. Not matched by visitor, and nothing to say about it (any other value is said once a sync).
CREATOR_CHANNELS = frozenset({"admin", "rest-api", "subscription", "pos-rest-api"})


@dataclass(frozen=True)
class Refs:
    """What an order's touch is read with: where it names the tracking id of its referral (the landing
    page's `?<param>=`, order attribution; when configured, a meta key of the site's own plugin,
    which wins), and the `created_via` values of the orders whose address and agent are the customer's
    (`sync.woocommerce.visitor_created_via`)."""

    param: str = "ref"
    meta_key: str | None = None
    visitor_channels: frozenset[str] = frozenset(CUSTOMER_CHANNELS)

    @property
    def meta_keys(self) -> tuple[str, ...]:
        """The order meta keys an order's touch is read from (the listing asks for these alone)."""
        return (RENEWAL, SESSION_ENTRY, SESSION_START) + ((self.meta_key,) if self.meta_key else ())


@dataclass(frozen=True)
class Refund:
    id: int
    amount: Decimal  # positive


@dataclass(frozen=True)
class Order:
    """What the events of one order need, validated."""

    id: int
    status: str
    modified: datetime
    paid_at: datetime | None
    value: OrderValue
    coupons: tuple[str, ...]
    refunds: tuple[Refund, ...]
    created: datetime | None = None  # date_created_gmt (None when missing or unreadable)
    client: tuple[str, str] | None = None  # (customer_ip_address, customer_user_agent): both given, the customer's
    ref: str | None = None  # the tracking id the order names
    subscription: int | None = None  # the subscription a renewal order renews
    ref_at: datetime | None = None  # when the session naming `ref` began (order attribution), if known
    created_via: str | None = None  # who made it, as sent ("" when WooCommerce was not told; None: no text)

    @property
    def refunded(self) -> Decimal:
        return sum((r.amount for r in self.refunds), Decimal(0))


# -- values as WooCommerce sends them ------------------------------------------------------------

def gmt_time(value: Any) -> datetime:
    """A WooCommerce `*_gmt` time (no offset, UTC) as an aware UTC datetime; ValueError if it is not one."""
    return as_utc(parse_time(value, naive=UTC))


def wc_time(value: datetime) -> str:
    """The naive UTC form WooCommerce expects in date filters with `dates_are_gmt=true`."""
    return value.astimezone(UTC).replace(tzinfo=None, microsecond=0).isoformat()


def as_int(value: Any, what: str) -> int:
    """An id or a quantity: an integer, or a string of one (never a bool)."""
    if type(value) is int:
        return value
    if isinstance(value, bool):
        raise ValueError(f"{what} is {value!r}, not an integer")
    try:
        return int(str(value).strip())
    except (TypeError, ValueError):
        raise ValueError(f"{what} is {value!r}, not an integer") from None


def _date(raw: Mapping[str, Any], name: str) -> datetime:
    value = raw.get(name)
    try:
        return gmt_time(value)
    except ValueError:
        raise ValueError(f"{name} is {value!r}, not a date") from None


def _text(raw: Mapping[str, Any], name: str) -> str:
    value = raw.get(name)
    if not isinstance(value, str) or not value:
        raise ValueError(f"{name} is {value!r}")
    return value


def version(raw: Any) -> tuple[int, str, datetime] | None:
    """(id, date_modified_gmt, its parsed time) of an order as sent: the walk's dedupe key and
    position; None if the id or the date is unusable (the parser then says why)."""
    if type(raw) is not dict:
        if not isinstance(raw, dict):
            return None
    oid, modified = raw.get("id"), raw.get("date_modified_gmt")
    if type(oid) is not int or not isinstance(modified, str):  # bool is not an int here
        return None
    try:
        return oid, modified, gmt_time(modified)
    except ValueError:
        return None


# -- parsing -----------------------------------------------------------------------------------------

def parse_order(raw: Any, paid_statuses: Iterable[str], modified: datetime | None = None,
                refs: Refs | None = None) -> Order:
    """Validate one order; raises RecordError (where, reason) for anything that cannot be counted.

    `modified` is the order's `date_modified_gmt` already parsed (by `version`), if it was; `refs`
    where the order may name a tracking id (default: order attribution's `?ref=`).
    """
    oid = raw.get("id") if isinstance(raw, dict) else None
    try:
        return _order(raw, oid, paid_statuses, modified, refs or _DEFAULT_REFS)
    except (ValueError, TypeError, AttributeError) as exc:
        raise RecordError(f"{ORDERS} #{oid if oid is not None else '?'}", str(exc)) from None


def _order(raw: Any, oid: Any, paid_statuses: Iterable[str], modified: datetime | None, refs: Refs) -> Order:
    """The checks of `parse_order`, in the order their reasons are reported."""
    if not isinstance(raw, dict):
        raise ValueError("not a JSON object")
    if oid is None:
        raise ValueError("missing id")
    order_id = as_int(oid, "id")
    status, currency = _text(raw, "status"), _text(raw, "currency")
    if "total" not in raw:
        raise ValueError("missing total")
    total = parse_decimal(raw["total"], "total")
    if modified is None:
        modified = _date(raw, "date_modified_gmt")
    refunds = _refunds(raw)
    paid_at = _paid_at(raw, status, modified, bool(refunds), paid_statuses)
    lines, fees, coupons = _lines(raw), _fees(raw), _coupons(raw)
    value = OrderValue(currency=currency, total=total, lines=lines,
                       discount_total=parse_decimal(raw.get("discount_total", "0"), "discount_total"),
                       fees=fees, shipping=parse_decimal(raw.get("shipping_total", "0"), "shipping_total"),
                       taxes=parse_decimal(raw.get("total_tax", "0"), "total_tax"))
    return Order(order_id, status, modified, paid_at, value, coupons, refunds,
                 *_touch_parts(raw, refs, paid_at, order_id))


def _refunds(raw: Mapping[str, Any]) -> tuple[Refund, ...]:
    """`refunds[]` inside an order: id and amount (its `total` is negative), no date."""
    refunds = []
    for item in raw.get("refunds") or ():
        rid = as_int(item.get("id"), "refunds[].id")
        refunds.append(Refund(rid, abs(parse_decimal(item.get("total"), f"refund {rid} total"))))
    return tuple(refunds)


def _paid_at(raw: Mapping[str, Any], status: str, modified: datetime, refunded: bool,
             paid_statuses: Iterable[str]) -> datetime | None:
    """When the order was paid: `date_paid_gmt`; without it, an order evidently paid (a paid status,
    or refunded) counts at its creation; else it was never paid."""
    paid_raw = raw.get("date_paid_gmt")
    if paid_raw:
        # Often the very second of the last modification: no need to parse it again.
        return modified if paid_raw == raw.get("date_modified_gmt") else _date(raw, "date_paid_gmt")
    if status in paid_statuses or status == "refunded" or refunded:
        return _date(raw, "date_created_gmt")
    return None


def _lines(raw: Mapping[str, Any]) -> tuple[Line, ...]:
    lines = []
    for item in raw.get("line_items") or ():
        line_id = as_int(item.get("id"), "line_items[].id")
        product, variation = item.get("product_id"), item.get("variation_id")  # variation: 0 when none
        lines.append(Line(id=str(line_id), subtotal=parse_decimal(item.get("subtotal"), f"line {line_id} subtotal"),
                          quantity=as_int(item.get("quantity", 1), f"line {line_id} quantity"),
                          product_id=as_int(product, f"line {line_id} product_id") if product else None,
                          sku=str(item.get("sku") or ""),
                          variation_id=as_int(variation, f"line {line_id} variation_id") if variation else None))
    return tuple(lines)


def _fees(raw: Mapping[str, Any]) -> Decimal:
    fee_lines = raw.get("fee_lines")
    if not fee_lines:
        return _ZERO
    return sum((parse_decimal(f.get("total"), "fee_lines[].total") for f in fee_lines), _ZERO)


def _coupons(raw: Mapping[str, Any]) -> tuple[str, ...]:
    """The coupon codes used, lower case (WooCommerce stores them so), each once."""
    coupons = []
    for item in raw.get("coupon_lines") or ():
        code = item.get("code")
        if not isinstance(code, str) or not code:
            raise ValueError(f"coupon_lines[].code is {code!r}")
        coupons.append(code.lower())
    return tuple(dict.fromkeys(coupons)) if len(coupons) > 1 else tuple(coupons)


# -- who may have brought it (never a reason to refuse an order) -----------------------------------

_DEFAULT_REFS = Refs()
_NO_TOUCH: tuple[None, None, None, None, None, None] = (None, None, None, None, None, None)
TouchParts = tuple[datetime | None, tuple[str, str] | None, str | None, int | None, datetime | None, str | None]
log = logging.getLogger("siren_sync.sources.woocommerce")


def _touch_parts(raw: Mapping[str, Any], refs: Refs, paid_at: datetime | None, order_id: int) -> TouchParts:
    """(creation time, the customer's (address, agent), tracking id, subscription renewed, when the
    tracking id's session began, `created_via`) of an order as sent. A value that is not usable is
    left out, and so is all of it for a shape no site sends: these count no money, so they are never
    a reason to refuse an order. The address and agent are kept for a customer's order only."""
    try:
        created_raw = raw.get("date_created_gmt")
        created = None
        if isinstance(created_raw, str) and created_raw:
            created = paid_at if created_raw == raw.get("date_paid_gmt") else _time_or_none(created_raw)
        via = raw.get("created_via")
        client = None
        if not isinstance(via, str):
            via = None
        elif via in refs.visitor_channels:  # the customer's order: both given, or none (no browser, no agent)
            address, agent = raw.get("customer_ip_address"), raw.get("customer_user_agent")
            if isinstance(address, str) and isinstance(agent, str) and address.strip() and agent.strip():
                client = (address, agent)
        ref, subscription, ref_at = _meta_touch(raw.get("meta_data"), refs, order_id)
    except (ValueError, TypeError, AttributeError):
        return _NO_TOUCH
    return created, client, ref, subscription, ref_at, via


def _time_or_none(value: str) -> datetime | None:
    try:
        return gmt_time(value)
    except ValueError:
        return None


def _meta_touch(meta: Any, refs: Refs, order_id: int) -> tuple[str | None, int | None, datetime | None]:
    """(the tracking id named, the subscription renewed, when the landing page's session began) from
    an order's `meta_data`; the configured meta key wins over order attribution's landing page (and
    has no time), the first renewal entry over later ones."""
    if not meta or not isinstance(meta, list):
        return None, None, None
    named = landing = None
    subscription: int | None = None
    started: Any = None
    for entry in meta:
        key = entry.get("key") if isinstance(entry, dict) else None
        if key == RENEWAL and subscription is None:
            subscription = _positive_id(entry.get("value"))
        elif key == SESSION_ENTRY and landing is None:
            landing = _landing_ref(entry.get("value"), refs.param)
        elif key == SESSION_START and started is None:
            started = entry.get("value")
        elif key is not None and key == refs.meta_key and named is None:
            named = _ref_text(entry.get("value"))
    if named or not landing:
        return named, subscription, None
    return landing, subscription, _session_start(started, order_id) if started not in (None, "") else None


def _session_start(value: Any, order_id: int) -> datetime | None:
    """Order attribution's session start time, strictly a UTC "YYYY-MM-DD HH:MM:SS"; None (the ref
    then engages at the order's creation) for anything else, said once without the value (the
    customer's browser wrote it)."""
    if isinstance(value, str) and _SESSION_START_FORM.fullmatch(value):
        try:
            return gmt_time(value)
        except ValueError:
            pass  # a date that does not exist (2026-02-30)
    log.warning("woocommerce: order #%d: its order attribution session start time is not a UTC "
                "'YYYY-MM-DD HH:MM:SS'; its ref engages at the order's creation", order_id)
    return None


def _landing_ref(url: Any, param: str) -> str | None:
    """The `?<param>=` value of a landing page URL, if it has one: what the site's PHP saw there
    (`$_GET`, `php.query_vars`: of `?ref=a&ref=b`, `b`), as the access log reads the same visit."""
    if not isinstance(url, str) or f"{param}=" not in url:
        return None
    try:
        query = urlsplit(url).query
    except ValueError:  # not a URL (an unclosed IPv6 host): no tracking id, the order still counts
        return None
    return _ref_text(query_vars(query).get(param))


def _ref_text(value: Any) -> str | None:
    """A tracking id as an order may name it: non-empty text (or a number) of at most `MAX_REF`
    characters, in Unicode's composed form (NFC: `é` typed or pasted is one id)."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = str(value)
    if not isinstance(value, str):
        return None
    value = unicodedata.normalize("NFC", value.strip())
    return value if 0 < len(value) <= MAX_REF else None


def _positive_id(value: Any) -> int | None:
    try:
        number = as_int(value, "id")
    except ValueError:
        return None
    return number if number > 0 else None


def without_private_fields(raw: Any) -> Any:
    """An order as it may be kept in quarantine: without the customer's address and user agent (nor
    the agent order attribution keeps in its meta); anything that is not an order as it is."""
    if not isinstance(raw, dict):
        return raw
    kept = {k: v for k, v in raw.items() if k not in PRIVATE_FIELDS}
    meta = raw.get("meta_data")
    if isinstance(meta, list):
        kept["meta_data"] = [m for m in meta if not (isinstance(m, dict) and m.get("key") == ATTRIBUTION_AGENT)]
    return kept


# -- events ------------------------------------------------------------------------------------------

def cancel_key(order_id: int) -> str:
    """The key of an order's cancellation event (the caller asks the ledger whether it is recorded)."""
    return f"{SOURCE}:cancel:{order_id}"


def order_events(order: Order, refund_times: Mapping[int, datetime], attribution: Any,
                 touch: Touch | None = None, cancel_recorded: bool = False) -> list[Event]:
    """Every event one order implies as it stands (DESIGN section 3, "The pool"), each naming the order.

    `refund_times` gives the time of each of the order's refunds (their creation time, or the
    order's `date_modified` when that falls in the same period); a refund missing there is placed
    at the order's `date_modified`. `touch` goes on the sale (the payment). `cancel_recorded`: the
    order's cancellation (`cancel_key`) was recorded by an earlier read, so it took what was left
    then and the order's refunds take nothing more (and are not given).
    """
    if order.paid_at is None:
        return []
    engagements = _engagements(order, order.paid_at, attribution)
    events = [Event(key=f"woocommerce:sale:{order.id}", type=SALE, at=order.paid_at, order=order.value,
                    source=SOURCE, order_id=order.id, touch=touch), *engagements]
    refund_at = {r.id: refund_times.get(r.id, order.modified) for r in order.refunds}
    reversal_at = order.modified if cancel_recorded else _take_backs(order, refund_at, events)
    if reversal_at is not None:
        events += [Event(key=f"{e.key}:reversal", type=e.type, at=reversal_at, collaborator=e.collaborator,
                         quantity=-e.quantity, source=SOURCE, order_id=order.id) for e in engagements]
    return events


def _engagements(order: Order, paid_at: datetime, attribution: Any) -> list[Event]:
    """The coupon and product owners' points, at payment."""
    oid, engagements = order.id, []
    for code in order.coupons:
        owner = attribution.by_coupon.get(code)
        if owner:
            engagements.append(Event(key=f"woocommerce:boundCouponUsed:{oid}:{code}", type="boundCouponUsed",
                                     at=paid_at, collaborator=owner, quantity=1, source=SOURCE, order_id=oid))
    for line in order.value.lines:
        owner = attribution.owner_of(line)
        if owner and line.quantity:
            engagements.append(Event(key=f"woocommerce:collaboratorProductSold:{oid}:{line.id}",
                                     type="collaboratorProductSold", at=paid_at, collaborator=owner,
                                     quantity=line.quantity, source=SOURCE, order_id=oid))
    return engagements


def _take_backs(order: Order, refund_at: Mapping[int, datetime], events: list[Event]) -> datetime | None:
    """Append the refund and cancellation events to `events`; returns when the order's points are
    reversed (fully refunded: at the last refund; cancelled: at its modification), or None."""
    oid, total = order.id, order.value.total
    if total > 0:
        for refund in order.refunds:
            events.append(Event(key=f"woocommerce:refund:{oid}:{refund.id}", type=SALE, at=refund_at[refund.id],
                                order=order.value, share=-Fraction(refund.amount) / Fraction(total), source=SOURCE,
                                order_id=oid))
    refunded = order.refunded
    if order.refunds and refunded >= total:
        return max(refund_at.values())  # fully refunded: points go when the last refund was made
    if order.status in CANCEL_STATUSES or (order.status == "refunded" and refunded < total):
        # a free order's cancellation counts no money, but still takes back a program's flat reward
        share = -Fraction(total - refunded) / Fraction(total) if total > 0 else Fraction(-1)
        events.append(Event(key=cancel_key(oid), type=SALE, at=order.modified, order=order.value,
                            share=share, source=SOURCE, order_id=oid))
        return order.modified
    return None
