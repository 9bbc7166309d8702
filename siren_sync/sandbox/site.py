"""The sandbox site's in-memory data: users, posts, products, coupons, orders, LMS progress, Siren.

`Site` holds what a small WordPress + WooCommerce + LifterLMS + Siren shop would hold in its
database, and a simulated clock. Activity is not written directly: the generator
(`siren_sync.sandbox.generate`) produces a timeline of `Activity` items (an order is created, paid,
completed, refunded, a student completes a lesson, a visitor is referred...), and the site *plays*
that timeline up to its clock. Only what happened at or before `site.now` exists, so moving the clock
forward makes new orders appear and old ones change, each change stamped with its simulated time.

With the programs' options (`Sandbox(visitors=True, subscriptions=True, access_log=path)`) orders carry
their customer's address and user agent and sometimes WooCommerce's order attribution, the site has
WooCommerce Subscriptions (subscriptions and their renewal orders, `wc/v3/subscriptions`), and the
web server's access log is written as the clock moves (`log-line` activities, appended at each `play`).

Times are integers (UTC epoch seconds); money is integer minor units (cents). Everything is guarded
by one re-entrant lock (`site.lock`), which the HTTP server holds while it reads or writes.
Every write bumps `site.version`, which invalidates the sorted order indexes; an order's own cached
JSON (`Order.json`) is dropped whenever that order changes.
"""
from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

ORDER_STATUSES = ("pending", "processing", "on-hold", "completed", "cancelled", "refunded", "failed",
                  "checkout-draft", "trash")
ANY_ORDER_STATUSES = frozenset(s for s in ORDER_STATUSES if s != "trash")
PAID_STATUSES = ("processing", "completed")
WC_VERSION = "9.4.0"
ZERO = timedelta(0)
ORDER_STORAGES = ("hpos", "posts")  # WooCommerce's own order tables, or orders stored as posts


def to_ts(value: datetime) -> int:
    """An aware datetime (naive = UTC) as epoch seconds."""
    if value.tzinfo is None:
        value = value.replace(tzinfo=UTC)
    return int(value.timestamp())


def from_ts(ts: int) -> datetime:
    return datetime.fromtimestamp(ts, UTC)


# -- records ---------------------------------------------------------------------------------------

@dataclass(slots=True, eq=False)
class User:
    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    roles: list[str]
    registered: int
    app_password: str | None = None  # an application password (spaces removed), when it has one
    description: str = ""
    city: str = ""
    country: str = "US"
    address: str = ""
    postcode: str = ""

    @property
    def name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip() or self.username

    @property
    def slug(self) -> str:
        return self.username.replace(".", "-").replace("_", "-").lower()


@dataclass(slots=True, eq=False)
class Post:
    id: int
    author: int
    title: str
    content: str
    status: str
    slug: str
    date: int
    modified: int
    type: str = "post"
    excerpt: str = ""
    meta: dict[str, Any] = field(default_factory=dict)


@dataclass(slots=True, eq=False)
class Product:
    id: int
    name: str
    slug: str
    sku: str
    price: int  # cents, shop currency
    category: tuple[int, str, str]
    created: int
    owner: int | None = None  # WordPress user id of the collaborator who owns it (meta)
    virtual: bool = True
    course_id: int | None = None
    total_sales: int = 0


@dataclass(slots=True, eq=False)
class Coupon:
    id: int
    code: str  # lower case, as WooCommerce stores it
    discount_type: str  # percent | fixed_cart
    amount: int  # percent as whole number, or cents for fixed_cart
    description: str
    created: int
    owner: int | None = None
    owner_login: str | None = None
    modified: int = 0
    usage_count: int = 0
    used_by: list[str] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class LineItem:
    id: int
    product_id: int
    name: str
    sku: str
    quantity: int
    subtotal: int  # before discounts (cents)
    total: int  # after discounts (cents)


@dataclass(slots=True, eq=False)
class CouponLine:
    id: int
    code: str
    discount: int
    coupon_id: int
    discount_type: str
    nominal: int


@dataclass(slots=True, eq=False)
class ShippingLine:
    id: int
    title: str
    method_id: str
    total: int


@dataclass(slots=True, eq=False)
class RefundLine:
    id: int
    item_id: int  # the refunded order line item
    product_id: int
    name: str
    sku: str
    quantity: int  # positive here; rendered negative
    amount: int  # cents, positive here; rendered negative


@dataclass(slots=True, eq=False)
class Refund:
    id: int
    order_id: int
    created: int
    amount: int
    reason: str
    lines: list[RefundLine] = field(default_factory=list)
    refunded_by: int = 1
    json: bytes | None = None
    payload: dict[str, Any] | None = None  # given as its REST body (tests): served as it is


@dataclass(slots=True, eq=False)
class OrderAttribution:
    """What WooCommerce 8.5+ order attribution keeps of the session that led to an order (its meta)."""

    source_type: str  # referral | organic | typein | utm
    referrer: str  # the referring page ("" for typein)
    utm_source: str
    entry: str  # the landing page's path and query (`/?ref=alice`): the site's URL is put in front
    session_start: int  # shown in UTC, as sourcebuster.js writes it for WooCommerce (`timezone_offset: '0'`)
    pages: int
    count: int = 1


@dataclass(slots=True, eq=False)
class Order:
    id: int
    status: str
    currency: str
    created: int
    modified: int
    customer_id: int
    billing: dict[str, str]
    payment_method: str
    payment_method_title: str
    order_key: str
    line_items: list[LineItem]
    coupon_lines: list[CouponLine] = field(default_factory=list)
    shipping_lines: list[ShippingLine] = field(default_factory=list)
    paid: int | None = None
    completed: int | None = None
    transaction_id: str = ""
    customer_note: str = ""
    meta_data: list[dict[str, Any]] = field(default_factory=list)
    refunds: list[Refund] = field(default_factory=list)
    json: bytes | None = None  # the cached REST representation; None when stale
    payload: dict[str, Any] | None = None  # given as its REST body (tests): served as it is
    customer_ip: str = "127.0.0.1"  # what WooCommerce recorded at checkout (the defaults: a site without visitors)
    customer_agent: str = ""
    created_via: str = "checkout"
    attribution: OrderAttribution | None = None
    renews: Subscription | None = None  # a renewal order: the subscription it renews

    @property
    def discount_total(self) -> int:
        return sum(c.discount for c in self.coupon_lines)

    @property
    def shipping_total(self) -> int:
        return sum(s.total for s in self.shipping_lines)

    @property
    def total(self) -> int:
        return sum(li.total for li in self.line_items) + self.shipping_total

    @property
    def refunded(self) -> int:
        return sum(r.amount for r in self.refunds)


@dataclass(slots=True, eq=False)
class Subscription:
    """A WooCommerce Subscriptions subscription: an order-shaped `record` (its id, status, customer,
    lines), the `parent` order that started it, and the renewal orders it made (one per period)."""

    record: Order
    parent: Order
    period: str = "week"
    interval: int = 1
    start: int = 0  # the parent's payment
    cancelled: int | None = None  # when the customer cancelled it (no renewal after)
    renewals: list[Order] = field(default_factory=list)

    @property
    def id(self) -> int:
        return self.record.id


@dataclass(slots=True, eq=False)
class Lesson:
    id: int
    title: str
    slug: str
    course_id: int
    section_id: int
    order: int
    created: int


@dataclass(slots=True, eq=False)
class Section:
    id: int
    title: str
    course_id: int
    order: int
    lessons: list[int] = field(default_factory=list)


@dataclass(slots=True, eq=False)
class Course:
    id: int
    title: str
    slug: str
    author: int
    created: int
    product_id: int | None = None
    sections: list[int] = field(default_factory=list)
    lessons: list[int] = field(default_factory=list)  # in syllabus order


@dataclass(slots=True, eq=False)
class Enrollment:
    student: int
    course: int
    created: int
    updated: int
    status: str = "enrolled"  # enrolled | expired | cancelled
    trigger: str = "admin_1"


@dataclass(slots=True, eq=False)
class SirenCollaborator:
    id: int
    user_id: int
    tracking_id: str
    status: str = "active"


@dataclass(slots=True, eq=False)
class Engagement:
    id: int
    opportunity_id: int
    program_id: int
    collaborator_id: int
    score: int
    status: str
    created: int
    modified: int


# -- the timeline ----------------------------------------------------------------------------------

@dataclass(slots=True)
class Activity:
    """One thing that happens at simulated time `at` (`seq` keeps the generator's order on ties)."""

    at: int
    seq: int
    kind: str
    ref: int = 0  # the order, student... it is about
    data: Any = None
    target: Any = None  # generator only: the object `ref` will point to once ids are assigned

    def sort_key(self) -> tuple[int, int]:
        return self.at, self.seq


class Site:
    """The shop's database plus a simulated clock. See the module docstring."""

    def __init__(self, *, name: str = "Siren Sandbox Shop", timezone_name: str = "America/New_York",
                 currency: str = "USD", now: datetime | int = 0, url: str = "http://127.0.0.1",
                 order_statuses: tuple[str, ...] | None = ORDER_STATUSES, wc_version: str = WC_VERSION,
                 order_storage: str = "hpos"):
        if order_storage not in ORDER_STORAGES:
            raise ValueError(f"order_storage {order_storage!r} is not one of {', '.join(ORDER_STORAGES)}")
        self.lock = threading.RLock()
        self.name = name
        self.timezone_name = timezone_name
        self.tz = ZoneInfo(timezone_name)
        self.currency = currency
        # The statuses orders may be in, as the orders listing describes and checks them (plugins add
        # some); None: a site whose description names none and whose listing takes any status.
        self.order_statuses = order_statuses
        self.wc_version = wc_version  # `wc/v3/refunds` exists from 9.0
        self.order_storage = order_storage  # posts: `orderby=modified` sorts by the site's local time
        self.now = now if isinstance(now, int) else to_ts(now)
        self._url = url
        self.version = 0
        self.users: dict[int, User] = {}
        self.posts: dict[int, Post] = {}
        self.products: dict[int, Product] = {}
        self.coupons: dict[int, Coupon] = {}
        self.orders: dict[int, Order] = {}
        self.refunds: dict[int, Refund] = {}
        self.courses: dict[int, Course] = {}
        self.sections: dict[int, Section] = {}
        self.lessons: dict[int, Lesson] = {}
        self.enrollments: dict[tuple[int, int], Enrollment] = {}
        self.lesson_done: dict[tuple[int, int], int] = {}  # (student, lesson) -> completed at
        self.course_done: dict[tuple[int, int], int] = {}  # (student, course) -> completed at
        self.siren_collaborators: dict[int, SirenCollaborator] = {}
        self.engagements: dict[int, Engagement] = {}
        self.has_subscriptions = False  # WooCommerce Subscriptions is active: `wc/v3/subscriptions` exists
        self.subscriptions: dict[int, Subscription] = {}
        self.access_log: str | None = None  # where the web server's log is written (None: no log)
        self._log_lines: list[str] = []  # played, not yet appended to the file
        self.registered_meta = {"siren_sync"}  # post meta keys registered with show_in_rest
        self.next_post_id = 1
        self.status_counts: dict[str, int] = {}
        self.timeline: list[Activity] = []
        self.played = 0  # how many timeline items have been applied
        self.indexes: dict[Any, tuple[int, list[int]]] = {}  # sorted order keys, valid for one `version`
        self._offsets: dict[int, int] = {}
        self._appliers = {name[len("_apply_"):].replace("_", "-"): getattr(self, name)
                          for name in dir(self) if name.startswith("_apply_")}

    # -- the url (cached JSON embeds it) --------------------------------------------------------

    @property
    def url(self) -> str:
        return self._url

    @url.setter
    def url(self, value: str) -> None:
        with self.lock:
            self._url = value.rstrip("/")
            for o in self.orders.values():
                o.json = None
            for r in self.refunds.values():
                r.json = None

    # -- what WooCommerce this is ---------------------------------------------------------------

    @property
    def has_bulk_refunds(self) -> bool:
        """Whether `wc/v3/refunds` exists (WooCommerce 9.0 and later)."""
        major = self.wc_version.split(".")[0]
        return major.isdigit() and int(major) >= 9

    def any_order_statuses(self) -> frozenset[str]:
        """What `status=any` lists: every status but `trash`."""
        statuses = self.order_statuses if self.order_statuses is not None else tuple(self.status_counts)
        return frozenset(s for s in statuses if s != "trash")

    # -- time -----------------------------------------------------------------------------------

    def local(self, ts: int) -> datetime:
        """Site-local wall time of `ts` (naive)."""
        return datetime.fromtimestamp(ts, self.tz).replace(tzinfo=None)

    def utc_offset(self, ts: int) -> int:
        """The site's UTC offset in seconds at `ts` (cached per hour: zones change on the hour)."""
        bucket = ts // 3600
        off = self._offsets.get(bucket)
        if off is None:
            off = int((datetime.fromtimestamp(bucket * 3600, self.tz).utcoffset() or ZERO).total_seconds())
            if len(self._offsets) > 200_000:
                self._offsets.clear()
            self._offsets[bucket] = off
        return off

    def gmt_offset(self) -> float | int:
        off = (datetime.fromtimestamp(self.now, self.tz).utcoffset() or ZERO).total_seconds() / 3600
        return int(off) if off == int(off) else off

    def load_timeline(self, items: Iterable[Activity]) -> None:
        with self.lock:
            self.timeline = sorted(items, key=Activity.sort_key)
            self.played = 0
            self.play(self.now)

    def advance(self, seconds: int) -> int:
        return self.set_now(self.now + int(seconds))

    def set_now(self, ts: int | datetime) -> int:
        """Move the clock (never backwards) and apply all activity up to the new time."""
        ts = ts if isinstance(ts, int) else to_ts(ts)
        with self.lock:
            if ts < self.now:
                raise ValueError("the simulated clock cannot go backwards")
            self.now = ts
            self.play(ts)
            return self.now

    def play(self, until: int) -> int:
        """Apply the timeline items due at or before `until`; returns how many were applied."""
        n = 0
        with self.lock:
            tl, appliers = self.timeline, self._appliers
            i, end = self.played, len(tl)
            while i < end and tl[i].at <= until:
                item = tl[i]
                i += 1
                appliers[item.kind](item)
            n = i - self.played
            self.played = i
            if n:
                self.version += 1
            if self._log_lines:
                self._write_log()
        return n

    def _write_log(self) -> None:
        """Append the log lines played so far to the access log (as the web server would have)."""
        lines, self._log_lines = self._log_lines, []
        if self.access_log is not None:
            with open(self.access_log, "a", encoding="utf-8") as fh:
                fh.writelines(lines)

    # -- applying activity ----------------------------------------------------------------------

    def apply(self, a: Activity) -> None:
        self._appliers[a.kind](a)

    def _count(self, status: str, delta: int) -> None:
        self.status_counts[status] = self.status_counts.get(status, 0) + delta

    def _set_status(self, o: Order, status: str) -> None:
        if o.status != status:
            self._count(o.status, -1)
            self._count(status, +1)
            o.status = status

    def _changed(self, o: Order, at: int) -> None:
        o.modified = max(o.modified, at)
        o.json = None

    def _apply_order_create(self, a: Activity) -> None:
        o: Order = a.data
        self.orders[o.id] = o
        self._count(o.status, +1)
        o.json = None

    def _apply_order_pay(self, a: Activity) -> None:
        o = self.orders[a.ref]
        o.paid = a.at
        o.transaction_id = a.data or o.transaction_id
        self._set_status(o, "processing")
        for cl in o.coupon_lines:
            c = self.coupons.get(cl.coupon_id)
            if c is not None:
                c.usage_count += 1
                c.used_by.append(str(o.customer_id) if o.customer_id else o.billing["email"])
        for li in o.line_items:
            p = self.products.get(li.product_id)
            if p is not None:
                p.total_sales += li.quantity
        self._changed(o, a.at)

    def _apply_order_complete(self, a: Activity) -> None:
        o = self.orders[a.ref]
        if o.status in ("processing", "on-hold"):
            o.completed = a.at
            self._set_status(o, "completed")
            self._changed(o, a.at)

    def _apply_order_status(self, a: Activity) -> None:
        o = self.orders[a.ref]
        if o.status == "trash" or (o.status == "refunded" and a.data != "trash"):
            return
        self._set_status(o, a.data)
        self._changed(o, a.at)

    def _apply_order_touch(self, a: Activity) -> None:
        o = self.orders[a.ref]
        if a.data:
            o.meta_data.append(a.data)
        self._changed(o, a.at)

    def _apply_refund(self, a: Activity) -> None:
        r: Refund = a.data
        o = self.orders[r.order_id]
        if o.paid is None or o.status in ("refunded", "trash", "cancelled", "failed"):
            return
        left = o.total - o.refunded
        if left <= 0:
            return
        r.amount = min(r.amount, left)
        r.created = a.at
        o.refunds.append(r)
        self.refunds[r.id] = r
        if o.refunded >= o.total:
            self._set_status(o, "refunded")
        self._changed(o, a.at)

    def _apply_enroll(self, a: Activity) -> None:
        student, course = a.ref, a.data[0]
        e = self.enrollments.get((student, course))
        if e is None:
            self.enrollments[(student, course)] = Enrollment(student, course, a.at, a.at, "enrolled",
                                                             a.data[1])
        else:
            e.status, e.updated, e.trigger = "enrolled", a.at, a.data[1]

    def _apply_unenroll(self, a: Activity) -> None:
        e = self.enrollments.get((a.ref, a.data))
        if e is not None and e.status == "enrolled":
            e.status, e.updated = "cancelled", a.at

    def _apply_lesson_done(self, a: Activity) -> None:
        student, lesson_id = a.ref, a.data
        lesson = self.lessons[lesson_id]
        e = self.enrollments.get((student, lesson.course_id))
        if e is None or e.status != "enrolled" or (student, lesson_id) in self.lesson_done:
            return
        self.lesson_done[(student, lesson_id)] = a.at
        course = self.courses[lesson.course_id]
        if all((student, lid) in self.lesson_done for lid in course.lessons):
            self.course_done.setdefault((student, course.id), a.at)

    def _apply_subscription_create(self, a: Activity) -> None:
        sub: Subscription = a.data
        self.subscriptions[sub.id] = sub

    def _apply_subscription_renew(self, a: Activity) -> None:
        """A renewal order made by its subscription (the order itself is created by `order-create`)."""
        o = self.orders[a.ref]
        if o.renews is not None:
            o.renews.renewals.append(o)

    def _apply_log_line(self, a: Activity) -> None:
        self._log_lines.append(a.data)

    def _apply_engagement(self, a: Activity) -> None:
        e: Engagement = a.data
        self.engagements[e.id] = e

    def _apply_engagement_status(self, a: Activity) -> None:
        e = self.engagements.get(a.ref)
        if e is not None:
            e.status, e.modified = a.data, a.at

    # -- direct changes (control routes, faults, tests) -------------------------------------------

    def new_post_id(self) -> int:
        with self.lock:
            pid = self.next_post_id
            self.next_post_id += 1
            return pid

    def touch_order(self, order_id: int, *, at: int | None = None, note: str | None = None) -> Order:
        """Modify an order now (a meta entry, like an admin note): its `date_modified` moves to `at`."""
        with self.lock:
            o = self.orders[order_id]
            at = self.now if at is None else at
            entry = {"id": self.new_post_id(), "key": "sandbox_touched",
                     "value": note or f"touched at {from_ts(at).isoformat()}"}
            self.apply(Activity(at, 0, "order-touch", order_id, entry))
            self.version += 1
            return o

    def set_order_status(self, order_id: int, status: str) -> Order:
        if status not in ORDER_STATUSES:
            raise ValueError(f"unknown order status {status!r}")
        with self.lock:
            o = self.orders[order_id]
            if status in PAID_STATUSES and o.paid is None:
                self.apply(Activity(self.now, 0, "order-pay", order_id, f"TX{order_id}"))
            if status == "completed":
                self.apply(Activity(self.now, 0, "order-complete", order_id))
            elif status != "processing":
                self._set_status(o, status)
                self._changed(o, self.now)
            self.version += 1
            return o

    def refund_order(self, order_id: int, amount: int | None = None, reason: str = "") -> Refund:
        """Refund `amount` cents (default: what is left) of an order now."""
        with self.lock:
            o = self.orders[order_id]
            left = o.total - o.refunded
            r = Refund(self.new_post_id(), order_id, self.now, left if amount is None else amount, reason)
            before = len(o.refunds)
            self.apply(Activity(self.now, 0, "refund", 0, r))
            if len(o.refunds) == before:
                raise ValueError(f"order {order_id} cannot be refunded (status {o.status}, left {left})")
            self.version += 1
            return r

    def add_post(self, post: Post) -> Post:
        with self.lock:
            self.posts[post.id] = post
            self.version += 1
            return post
