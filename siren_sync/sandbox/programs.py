"""What the programs need of the sandbox shop: visitors, their referral visits, subscriptions.

Switched on by `Sandbox(visitors=True, subscriptions=True, access_log=path)`; without them nothing
here runs and the shop is the one it always was. Everything is drawn from a random generator of its
own (seeded from the spec's seed), after the rest of the shop is generated, so switching these on
adds to the shop and changes nothing of what was there (but the ids of the orders created after a
subscription's, which take the same sequence).

* Visitors: each order's `customer_ip_address` and `customer_user_agent` are its customer's device
  (a registered customer keeps one; a guest has their own); a few orders record the address in its
  IPv4-mapped IPv6 form (`::ffff:203.0.113.7`), as some servers hand it to WooCommerce. About a third
  of the orders follow a `?ref=<tracking id>` visit by the same device within three days; a tenth
  follow one more than thirty days old; some carry WooCommerce's order attribution meta naming the
  ref in its landing page (`_wc_order_attribution_session_entry`, the session's start in UTC beside
  it: that visit's time, recent or more than thirty days old), some of them without a visit in the
  log, others name an organic or direct session; the rest have neither. Referral visits that lead
  to no order, by other devices, for known and unknown tracking ids, and bots' visits, come as well.
* Phone orders: one storefront order in forty (never a subscription's sign-up) is keyed in by the
  shop manager in wp-admin instead (`created_via: admin`) from the office computer, whose address
  and agent the order records (as an order made by `wc_create_order` in the admin's request does),
  without order attribution; the manager had tried a collaborator's `?ref=` link on that computer
  within the two days before. Only the order's creator, device and log lines change.
* The access log: an nginx combined log of those visits (the landing page, a stylesheet, a product
  page) and of each checkout, written as the clock reaches each line (`log-line` activities).
* Subscriptions: a weekly product (owned by a collaborator, like the others), a twentieth as many
  sign-ups as orders by registered customers, each making a subscription (its `parent_id` the
  sign-up order) and a renewal order each week (`created_via: subscription`, `_subscription_renewal`
  in its meta, paid at once, the subscription's address and agent); a fifth are cancelled after one
  to three renewals.
"""
from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

from siren_sync.sandbox.site import Activity, LineItem, Order, OrderAttribution, Product, Site, Subscription

T = TypeVar("T")
MINUTE, HOUR, DAY, WEEK = 60, 3_600, 86_400, 7 * 86_400

AGENTS = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Safari/605.1.15",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_6 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
    "Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (X11; Linux x86_64; rv:131.0) Gecko/20100101 Firefox/131.0",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/129.0.0.0 Mobile "
    "Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:131.0) Gecko/20100101 Firefox/131.0",
)
MOBILE = ("iPhone", "Android")
BOT_AGENT = "Mozilla/5.0 (compatible; Googlebot/2.1; +http://www.google.com/bot.html)"
IPV4_NETS = ("192.0.2", "198.51.100", "203.0.113")  # documentation ranges (RFC 5737); IPv6: 2001:db8::/32
TRACKING_IDS = ("alice", "bruno", "chloe", "david")  # the sandbox collaborators' (generate.COLLABORATORS)
UNKNOWN_TRACKING_IDS = ("partner7", "summer-promo")
# (id, name, slug, sku, price cents, owner user id, virtual, category): the subscription product
SUBSCRIPTION_PRODUCT = (25, "Weekly Coaching Club (subscription)", "weekly-coaching-club-subscription", "SS-109",
                        1900, 2, True, (18, "Services", "services"))
ADMIN_ADDRESS = "2001:db8:ffff::10"  # the shop manager's office computer (no customer device has this form)
PHONE_ORDERS_ONE_IN = 40  # storefront orders keyed in by the shop manager instead
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class Timeline(Protocol):
    """The generator's timeline (`generate._Timeline`), drawing from this module's own generator."""

    rng: random.Random
    window: Any

    def rand(self) -> float: ...

    def add(self, at: int, kind: str, ref: int = 0, data: Any = None, target: Any = None) -> Activity: ...

    def later(self, base: int, lo: int, hi: int) -> int: ...

    def pick(self, seq: Sequence[T]) -> T: ...

    def order_key(self) -> str: ...


def add_programs(site: Site, tl: Timeline, orders: list[Order], *, visitors: bool, subscriptions: bool,
                 log: bool) -> None:
    """Add what the switched-on options ask for to the generated `orders` (in creation order)."""
    made: list[tuple[Order, Order]] = []  # (a subscription's record or renewal order, its sign-up order)
    if subscriptions:
        signups, made = _subscriptions(site, tl, orders)
        orders = sorted(orders + signups, key=lambda o: o.created)
    if visitors or log:
        _Visitors(site, tl, log).add(orders, made)


# -- subscriptions ------------------------------------------------------------------------------------

def _subscriptions(site: Site, tl: Timeline, orders: list[Order]) -> tuple[list[Order], list[tuple[Order, Order]]]:
    """The subscription product, the sign-up orders and their subscriptions; returns the sign-up
    orders, and each subscription's record and renewal orders with their sign-up order."""
    pid, name, slug, sku, price, owner, virtual, category = SUBSCRIPTION_PRODUCT
    product = Product(pid, name, slug, sku, price, category, tl.window.setup + pid, owner, virtual)
    site.products[pid] = product
    returning = [o for o in orders if o.customer_id]
    window = tl.window
    signups, made = [], []
    for _ in range(max(2, len(orders) // 20) if returning else 0):
        created = tl.rng.randrange(window.begin, max(window.begin + 1, window.end - WEEK))
        sub = _signup(tl, product, tl.pick(returning), created, site.currency)
        signups.append(sub.parent)
        made += [(order, sub.parent) for order in (sub.record, *_renewals(tl, sub))]
    return signups, made


def _order_of(tl: Timeline, like: Order, created: int, lines: list[LineItem], currency: str,
              via: str = "checkout") -> Order:
    """A new order by `like`'s customer (billing), paid by card, with these lines."""
    return Order(0, "pending", currency, created, created, like.customer_id, dict(like.billing), "stripe",
                 "Credit Card (Stripe)", tl.order_key(), lines, created_via=via)


def _line(product: Product) -> LineItem:
    return LineItem(0, product.id, product.name, product.sku, 1, product.price, product.price)


def _signup(tl: Timeline, product: Product, customer_order: Order, created: int, currency: str) -> Subscription:
    """A returning customer subscribes: the sign-up order, paid by card, and its subscription."""
    order = _order_of(tl, customer_order, created, [_line(product)], currency)
    tl.add(created, "order-create", 0, order, order)
    paid = tl.later(created, 20, 10 * MINUTE)
    tl.add(paid, "order-pay", 0, None, order)
    tl.add(tl.later(paid, HOUR, DAY), "order-complete", 0, None, order)
    record = _order_of(tl, order, created + 1, [_line(product)], currency)
    record.status, record.paid = "active", paid
    sub = Subscription(record, order, start=paid)
    tl.add(created + 1, "subscription-create", 0, sub)  # right after its sign-up order: the next id
    return sub


def _renewals(tl: Timeline, sub: Subscription) -> list[Order]:
    """One renewal order a week while the window lasts, unless the customer cancels first."""
    stop_after = None if tl.rand() < 0.8 else 1 + int(tl.rand() * 3)
    renewals = []
    k = 1
    while sub.start + k * WEEK < tl.window.end:
        at = sub.start + k * WEEK
        if stop_after is not None and k > stop_after:
            sub.cancelled = at - DAY
            break
        parent = sub.parent
        order = _order_of(tl, parent, at, [_line_like(li) for li in parent.line_items], parent.currency, "subscription")
        order.renews = sub
        tl.add(at, "order-create", 0, order, order)
        tl.add(at, "subscription-renew", 0, None, order)
        paid = tl.later(at, 5, 2 * MINUTE)
        tl.add(paid, "order-pay", 0, None, order)
        if tl.rand() < 0.7:
            tl.add(tl.later(paid, HOUR, DAY), "order-complete", 0, None, order)
        renewals.append(order)
        k += 1
    return renewals


def _line_like(li: LineItem) -> LineItem:
    return LineItem(0, li.product_id, li.name, li.sku, li.quantity, li.subtotal, li.total)


# -- visitors and the access log ----------------------------------------------------------------------

@dataclass(frozen=True)
class _Device:
    address: str
    agent: str


class _Visitors:
    """Devices for orders, their referral visits, and the access log lines (when `log`)."""

    def __init__(self, site: Site, tl: Timeline, log: bool):
        self.site, self.tl, self.log = site, tl, log
        self.devices: dict[int, _Device] = {}  # registered customer -> their device
        self.checkouts: dict[int, list[Activity]] = {}  # id(order) -> its checkout's log lines

    def add(self, orders: list[Order], made: list[tuple[Order, Order]]) -> None:
        """Devices and visits for the customers' `orders`; what subscriptions `made` (their records and
        renewal orders) carry the address and agent of their sign-up, as WooCommerce Subscriptions copies them."""
        for order in orders:
            self._order(order)
        for order, signup in made:
            order.customer_ip, order.customer_agent = signup.customer_ip, signup.customer_agent
        self._noise(len(orders))
        signups = {id(signup) for _, signup in made}
        self._phone_orders([o for o in orders if id(o) not in signups])

    def _device(self) -> _Device:
        tl = self.tl
        if tl.rand() < 0.5:
            address = f"{tl.pick(IPV4_NETS)}.{1 + int(tl.rand() * 254)}"
        else:
            address = "2001:db8:" + ":".join(f"{int(tl.rand() * 65536):x}" for _ in range(3)) + "::" + \
                      f"{1 + int(tl.rand() * 65535):x}"
        return _Device(address, tl.pick(AGENTS))

    def _order(self, order: Order) -> None:
        """The order's device, what led it there, and its checkout in the log."""
        tl = self.tl
        device = self.devices.setdefault(order.customer_id, self._device()) if order.customer_id else self._device()
        mapped = "." in device.address and tl.rand() < 0.08
        order.customer_ip = f"::ffff:{device.address}" if mapped else device.address
        order.customer_agent = device.agent
        fate, tracking = tl.rand(), tl.pick(TRACKING_IDS)
        if fate < 0.35:  # a referral visit shortly before: sometimes order attribution names it too
            visit = tl.later(order.created - 3 * DAY, 0, 3 * DAY - 5 * MINUTE)
            self._visit(device, visit, tracking)
            if tl.rand() < 0.5:
                order.attribution = self._attribution(visit, f"/?ref={tracking}")
        elif fate < 0.45:  # a referral visit more than thirty days before: order attribution may name it
            visit = tl.later(order.created - 60 * DAY, 0, 29 * DAY)
            self._visit(device, visit, tracking)
            if tl.rand() < 0.5:
                order.attribution = self._attribution(visit, f"/?ref={tracking}")
        elif fate < 0.53:  # order attribution names the ref; the visit is not in this log
            order.attribution = self._attribution(order.created - HOUR, f"/?ref={tracking}")
        elif fate < 0.68:  # an organic or direct session
            order.attribution = self._attribution(order.created - 20 * MINUTE, "/")
        lines = (self._line(order.created - 40, device, "GET /checkout/ HTTP/2.0", 200, "https://shop.example/cart/"),
                 self._line(order.created, device, "POST /?wc-ajax=checkout HTTP/2.0", 200,
                            "https://shop.example/checkout/"))
        self.checkouts[id(order)] = [line for line in lines if line is not None]

    def _phone_orders(self, orders: list[Order]) -> None:
        """Every `PHONE_ORDERS_ONE_IN`th of the storefront `orders` becomes one the shop manager keyed in
        (`created_via: admin`, the office computer's address and agent), after trying a collaborator's
        link there; the customer's checkout lines become the manager's wp-admin ones."""
        tl = self.tl
        office = _Device(ADMIN_ADDRESS, AGENTS[0])
        for order in orders[PHONE_ORDERS_ONE_IN - 1::PHONE_ORDERS_ONE_IN]:
            self._visit(office, tl.later(order.created - 2 * DAY, 0, 2 * DAY - 10 * MINUTE), tl.pick(TRACKING_IDS))
            order.created_via, order.attribution = "admin", None
            order.customer_ip, order.customer_agent = office.address, office.agent
            requests = (("GET /wp-admin/post-new.php?post_type=shop_order HTTP/2.0", "https://shop.example/wp-admin/"),
                        ("POST /wp-admin/post.php HTTP/2.0",
                         "https://shop.example/wp-admin/post-new.php?post_type=shop_order"))
            for line, (request, referer) in zip(self.checkouts.get(id(order), ()), requests, strict=False):
                line.data = self._text(line.at, office, request, 302 if request.startswith("POST") else 200, referer)

    def _attribution(self, start: int, entry: str) -> OrderAttribution:
        """What order attribution keeps: a referral from the collaborator's page, or organic, or direct
        (the user agent it keeps too is the order's, put in at rendering)."""
        tl = self.tl
        if entry != "/":
            referrer = f"https://{entry.rsplit('=', 1)[1]}.blog.example/"
            kind, source = "referral", referrer[8:-1]
        elif tl.rand() < 0.6:
            kind, referrer, source = "organic", "https://www.google.com/", "google"
        else:
            kind, referrer, source = "typein", "", "(direct)"
        return OrderAttribution(kind, referrer, source, entry, start, 2 + int(tl.rand() * 6))

    def _visit(self, device: _Device, at: int, tracking: str, referer: str | None = None) -> None:
        """A landing on `/?ref=<tracking>` and what the browser asks for next."""
        self._line(at, device, f"GET /?ref={tracking} HTTP/2.0", 200, referer or f"https://{tracking}.blog.example/")
        self._line(at + 1, device, "GET /wp-content/themes/storefront/style.css HTTP/2.0", 200,
                   "https://shop.example/")
        product = self.tl.pick(sorted(self.site.products))
        self._line(at + 30 + int(self.tl.rand() * 300), device, f"GET /product/{self.site.products[product].slug}/ "
                   "HTTP/2.0", 200, "https://shop.example/")

    def _noise(self, orders: int) -> None:
        """Referral visits that lead to no order (known and unknown tracking ids), and bots."""
        tl, window = self.tl, self.tl.window
        for _ in range(orders):
            at = tl.rng.randrange(window.begin, max(window.begin + 1, window.end))
            if tl.rand() < 0.15:
                self._line(at, _Device(self._device().address, BOT_AGENT), f"GET /?ref={tl.pick(TRACKING_IDS)} "
                           "HTTP/1.1", 200, "-")
                continue
            unknown = tl.rand() < 0.1
            self._visit(self._device(), at, tl.pick(UNKNOWN_TRACKING_IDS if unknown else TRACKING_IDS))

    def _line(self, at: int, device: _Device, request: str, status: int, referer: str) -> Activity | None:
        """One combined-format line at `at` (the activity writing it; None when there is no log)."""
        if not self.log:
            self.tl.rand()  # the line's size: the draws are those of a shop with a log
            return None
        return self.tl.add(at, "log-line", 0, self._text(at, device, request, status, referer))

    def _text(self, at: int, device: _Device, request: str, status: int, referer: str) -> str:
        """A combined-format line, in the site's local time, as nginx writes it."""
        size = 300 + int(self.tl.rand() * 30_000)
        local = datetime.fromtimestamp(at, self.site.tz)
        stamp = f"{local.day:02d}/{MONTHS[local.month - 1]}/{local.year}:{local:%H:%M:%S} {local:%z}"
        return f'{device.address} - - [{stamp}] "{request}" {status} {size} "{referer}" "{device.agent}"\n'


def device_type(agent: str) -> str:
    """Order attribution's device type of a user agent (as WooCommerce's MobileDetect sees these)."""
    return "Mobile" if any(word in agent for word in MOBILE) else "Desktop"
