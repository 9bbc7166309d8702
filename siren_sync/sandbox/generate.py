"""Seeded, deterministic generation of a realistic shop and its activity over time.

`populate(site, spec)` writes the fixed catalogue (users, blog posts, products, collaborator
coupons, LifterLMS courses with sections and lessons, Siren collaborators) and returns the
timeline of activity (`Activity` items) for the site to play as its clock moves:

* orders arrive at random times (`orders_per_day` on average), mostly in the site currency (USD),
  a few in EUR; some use a collaborator's coupon (lower-case code), many buy products that a
  collaborator owns (product meta `collaborator_user_id`), some add a shipped workbook;
* card orders are paid minutes after checkout, bank transfers sit `on-hold` for hours or days;
  most paid orders are completed later; some never get paid (abandoned `pending`, auto-`cancelled`
  after an hour, `failed`);
* some paid orders are partly refunded (one unit of one line) or fully refunded days later, a few
  are cancelled after payment, a few are trashed, a few get a harmless admin edit (only
  `date_modified` moves, like WooCommerce does on many admin actions);
* buying a course enrols a registered customer (a full refund cancels the enrolment); students then
  complete lessons over the following days, and some finish the course;
* referred visits arrive as Siren engagements, some `pending` first and `active` later.

Ids follow WordPress: users have their own sequence; posts, products, coupons, courses, lessons,
orders and refunds share one sequence and get their ids in order of creation time, so ids grow with
`date_created` like on a real site. The same `GenerationSpec` always gives the same site.

Exact-count mode (`orders=N`, for benchmarks): exactly N orders spread over the window, with exactly
`refunds` partial refunds and `full_refunds` full refunds, every follow-up kept inside the window.

What the programs need (visitors and their referral visits, the access log, subscriptions) is drawn
afterwards, from a generator of its own (`sandbox.programs`), only when the spec asks for it.
"""
from __future__ import annotations

import hashlib
import itertools
import random
import string
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from siren_sync.sandbox.programs import add_programs
from siren_sync.sandbox.site import (
    Activity,
    Coupon,
    CouponLine,
    Course,
    Engagement,
    Lesson,
    LineItem,
    Order,
    Post,
    Product,
    Refund,
    RefundLine,
    Section,
    ShippingLine,
    SirenCollaborator,
    Site,
    User,
)

DAY = 86_400
HOUR = 3_600
MINUTE = 60
EUR_RATE = 0.92  # shop prices converted for the few orders placed in EUR
KEY_ALPHABET = string.ascii_letters + string.digits
T = TypeVar("T")


@dataclass
class GenerationSpec:
    seed: int = 1
    start: int = 0  # epoch seconds: the simulated clock's first "now"
    days: int = 60  # activity after start, revealed as the clock moves
    history_days: int = 0  # activity before start, visible at once
    orders_per_day: float = 40.0
    eur_share: float = 0.05
    customers: int | None = None  # registered customers; default grows with the volume
    visits_per_order: float = 1.5  # Siren engagements per order on average
    orders: int | None = None  # exact-count mode
    refunds: int | None = None  # exact number of partial refunds (exact-count mode)
    full_refunds: int | None = None  # exact number of full refunds (exact-count mode)
    lms: bool = True
    visitors: bool = False  # orders carry their customer's address, user agent, order attribution
    subscriptions: bool = False  # WooCommerce Subscriptions: sign-ups, subscriptions, weekly renewals
    access_log: bool = False  # the web server's access log lines (visitors implied)


FIRST = ["Emma", "Liam", "Olivia", "Noah", "Ava", "Ethan", "Sophia", "Mason", "Mia", "Lucas", "Amelia",
         "Logan", "Harper", "Jules", "Nathan", "Chloe", "Tom", "Lea", "Hugo", "Ines", "Yuki", "Omar",
         "Priya", "Mateo", "Zoe", "Aarav", "Fatima", "Leo", "Nora", "Sven"]
LAST = ["Bernard", "Smith", "Johnson", "Garcia", "Lefebvre", "Simon", "Brown", "Davis", "Miller",
        "Wilson", "Moore", "Taylor", "Anderson", "Thomas", "Martin", "Lee", "Walker", "Young", "King",
        "Lopez", "Hill", "Scott", "Green", "Adams", "Baker", "Nelson", "Carter", "Mitchell", "Perez",
        "Roberts"]
CITIES_US = [("Boston", "MA", "02108"), ("Austin", "TX", "73301"), ("Denver", "CO", "80202"),
             ("Seattle", "WA", "98101"), ("Chicago", "IL", "60601"), ("Portland", "OR", "97201"),
             ("Atlanta", "GA", "30301"), ("Brooklyn", "NY", "11201")]
CITIES_EU = [("Lyon", "", "69001", "FR"), ("Berlin", "", "10115", "DE"), ("Madrid", "", "28001", "ES"),
             ("Milan", "", "20121", "IT"), ("Ghent", "", "9000", "BE")]

# (wp user id, login, first, last, siren collaborator id, tracking id)
COLLABORATORS = [(2, "alice.martin", "Alice", "Martin", 1, "alice"),
                 (3, "bruno.costa", "Bruno", "Costa", 2, "bruno"),
                 (4, "chloe.dubois", "Chloe", "Dubois", 3, "chloe"),
                 (5, "david.nguyen", "David", "Nguyen", 4, "david")]

# (id, name, sku, price cents, owner user id, virtual, category, course title)
CAT_COURSES = (16, "Online Courses", "online-courses")
CAT_BOOKS = (17, "Ebooks", "ebooks")
CAT_SERVICES = (18, "Services", "services")
CAT_PRINT = (19, "Print", "print")
PRODUCTS = [
    (10, "Python for Data Analysis (course)", "SS-100", 12900, 2, True, CAT_COURSES,
     "Python for Data Analysis"),
    (11, "Advanced SQL (course)", "SS-101", 9900, 3, True, CAT_COURSES, "Advanced SQL"),
    (12, "Web Design Fundamentals (course)", "SS-102", 8900, 4, True, CAT_COURSES,
     "Web Design Fundamentals"),
    (13, "Productivity Ebook", "SS-103", 1990, None, True, CAT_BOOKS, None),
    (14, "Marketing Ebook", "SS-104", 2400, 5, True, CAT_BOOKS, None),
    (15, "Weekend Pottery Workshop", "SS-105", 18000, None, True, CAT_SERVICES, None),
    (16, "One-hour Career Coaching", "SS-106", 6000, 5, True, CAT_SERVICES, None),
    (17, "Machine Learning Bootcamp (course)", "SS-107", 24900, 5, True, CAT_COURSES,
     "Machine Learning Bootcamp"),
    (18, "Printed Workbook", "SS-108", 3500, 2, False, CAT_PRINT, None),
]
PRODUCT_WEIGHTS = [14, 10, 9, 16, 12, 4, 6, 5, 6]

# (id, code, type, amount, owner user id)
COUPONS = [(20, "alice10", "percent", 10, 2), (21, "david20", "percent", 20, 5),
           (22, "welcome5", "percent", 5, None), (23, "bruno15", "fixed_cart", 1500, 3),
           (24, "chloe10", "percent", 10, 4)]

BLOG = [("How I learned Python in 30 days", 2), ("SQL window functions explained", 3),
        ("Five web design mistakes", 4), ("Marketing on a shoestring", 5),
        ("Pandas tips for analysts", 2), ("Indexes that matter", 3), ("Colour theory for the web", 4),
        ("Career coaching: what to expect", 5), ("From notebook to production", 2),
        ("Why we teach with real data", 5)]

PAYMENT = [("stripe", "Credit Card (Stripe)", 75), ("bacs", "Direct bank transfer", 20),
           ("ppcp-gateway", "PayPal", 5)]
PARTIAL_REASONS = ["Partial refund (one unit)", "Customer returned one item", "Goodwill gesture"]
FULL_REASONS = ["Customer requested full refund", "Duplicate order", "Course not suitable"]


def _slug(text: str) -> str:
    out = []
    for ch in text.lower():
        out.append(ch if ch.isalnum() else "-")
    return "-".join(p for p in "".join(out).split("-") if p)


def credentials(seed: int) -> dict[str, str]:
    """Deterministic keys for a seed: WooCommerce key/secret and the admin's application password."""
    h = hashlib.sha256(f"siren-sync-sandbox:{seed}".encode()).hexdigest()
    h2 = hashlib.sha256(f"siren-sync-sandbox:{seed}:2".encode()).hexdigest()
    rng = random.Random(h)
    alphabet = string.ascii_letters + string.digits
    app = "".join(rng.choice(alphabet) for _ in range(24))
    return {"wc_key": "ck_" + h[:40], "wc_secret": "cs_" + h2[:40], "wp_user": "admin",
            "wp_app_password": " ".join(app[i:i + 4] for i in range(0, 24, 4))}


class _Ids:
    def __init__(self, first: int):
        self.next = first

    def take(self) -> int:
        n = self.next
        self.next += 1
        return n


@dataclass(frozen=True)
class _Window:
    """The spec's span in epoch seconds: activity from `begin` to `end`, the catalogue at `setup`."""

    begin: int
    end: int
    setup: int  # the catalogue exists well before any activity
    exact: bool  # exact-count mode: every follow-up stays inside the window

    @classmethod
    def of(cls, spec: GenerationSpec) -> _Window:
        begin = spec.start - spec.history_days * DAY
        return cls(begin, spec.start + spec.days * DAY, begin - 30 * DAY, spec.orders is not None)

    @property
    def last(self) -> int:
        return max(self.begin, self.end - 1)


class _Timeline:
    """The activity being generated, and the random draws that place it in time."""

    def __init__(self, rng: random.Random, window: _Window):
        self.rng, self.window = rng, window
        self.rand = rng.random
        self.items: list[Activity] = []
        self.seq = 0

    def fork(self, rng: random.Random) -> _Timeline:
        """A timeline adding to this one's activity (which is then done) with its own random draws."""
        other = _Timeline(rng, self.window)
        other.items, other.seq = self.items, self.seq
        return other

    def add(self, at: int, kind: str, ref: int = 0, data: Any = None, target: Any = None) -> Activity:
        self.seq += 1
        a = Activity(at, self.seq, kind, ref, data, target)
        self.items.append(a)
        return a

    def later(self, base: int, lo: int, hi: int) -> int:
        """A time `lo` to `hi` seconds after `base` (kept inside the window in exact-count mode)."""
        t = base + lo + int(self.rand() * (hi - lo + 1))
        last = self.window.last
        if self.window.exact and t > last:
            t = base + int(self.rand() * (max(base, last) - base + 1))
        return t

    def pick(self, seq: Sequence[T]) -> T:
        return seq[int(self.rand() * len(seq))]

    def order_key(self) -> str:
        n = self.rng.getrandbits(78)
        out = []
        for _ in range(13):
            n, r = divmod(n, 62)
            out.append(KEY_ALPHABET[r])
        return "wc_order_" + "".join(out)


@dataclass
class _Plan:
    """A generated order and what its follow-ups need: its creation activity, its payment time."""

    order: Order
    create: Activity
    paid_at: int | None


def populate(site: Site, spec: GenerationSpec) -> list[Activity]:
    """Write the catalogue into `site` and return its activity timeline (not yet played)."""
    rng = random.Random(spec.seed)
    window = _Window.of(spec)
    customers = _users(site, spec, rng, window)
    _catalogue(site, window.setup)
    timeline = _Timeline(rng, window)
    arrivals = _arrivals(spec, rng, window)
    shop = _Shop.of(site, customers, spec.eur_share)
    plans = [_order(site, timeline, shop, created) for created in arrivals]
    refund_acts = _follow_ups(timeline, spec, plans)
    if spec.lms:
        _learning(site, timeline, plans, refund_acts)
    _visits(site, timeline, spec, len(arrivals))
    if spec.visitors or spec.subscriptions or spec.access_log:
        add_programs(site, timeline.fork(random.Random(f"{spec.seed}:programs")), [p.order for p in plans],
                     visitors=spec.visitors, subscriptions=spec.subscriptions, log=spec.access_log)
    return _with_ids(site, timeline.items)


# -- the catalogue --------------------------------------------------------------------------------------

def _users(site: Site, spec: GenerationSpec, rng: random.Random, window: _Window) -> list[User]:
    """The admin (with the application password), the collaborators, and the registered customers."""
    setup = window.setup
    site.users[1] = User(1, "admin", "", "", "admin@example.test", ["administrator"], setup,
                         app_password=credentials(spec.seed)["wp_app_password"].replace(" ", ""))
    for uid, login, first, last, _sid, _tr in COLLABORATORS:
        site.users[uid] = User(uid, login, first, last, f"{login}@example.test", ["author", "instructor"],
                               setup + uid * 60, description=f"Collaborator {first} {last}")
    n_customers = spec.customers
    if n_customers is None:
        volume = spec.orders if spec.orders is not None else spec.orders_per_day * (spec.days + spec.history_days)
        n_customers = max(24, min(5000, int(volume // 15)))
    customers: list[User] = []
    for n in range(n_customers):
        uid = 6 + n
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = f"{first}.{last}{uid}".lower()
        if rng.random() < 0.15:
            city, _state, postcode, country = rng.choice(CITIES_EU)
        else:
            (city, _state, postcode), country = rng.choice(CITIES_US), "US"
        u = User(uid, login, first, last, f"{login}@example.test", ["customer", "student"],
                 setup + 3600 + n * 37, city=city, country=country, postcode=postcode,
                 address=f"{rng.randint(1, 250)} {rng.choice(['Main St', 'Oak Ave', 'rue de la Paix', 'Park Rd'])}")
        customers.append(u)
        site.users[uid] = u
    return customers


def _catalogue(site: Site, setup: int) -> None:
    """Products, coupons, blog posts, courses with sections and lessons, Siren collaborators."""
    for (pid, name, sku, price, owner, virtual, cat, _title) in PRODUCTS:
        site.products[pid] = Product(pid, name, _slug(name), sku, price, cat, setup + pid, owner, virtual)
    for (cid, code, kind, amount, owner) in COUPONS:
        login = site.users[owner].username if owner else None
        desc = f"Collaborator coupon for {login}" if owner else "Generic coupon (no collaborator)"
        site.coupons[cid] = Coupon(cid, code, kind, amount, desc, setup + cid, owner, login, setup + cid)
    for n, (title, author) in enumerate(BLOG):
        pid = 30 + n
        at = setup + DAY + n * 2 * DAY
        site.posts[pid] = Post(pid, author, title, f"<p>{title}. A post by a collaborator.</p>", "publish",
                               _slug(title), at, at, excerpt=f"<p>{title}</p>")
    ids = _Ids(100)
    for (pid, _name, _sku, _price, owner, _v, _cat, course_title) in PRODUCTS:
        if course_title:
            _add_course(site, ids, pid, owner, course_title, setup)
    for uid, _login, _f, _l, sid, tracking in COLLABORATORS:
        site.siren_collaborators[sid] = SirenCollaborator(sid, uid, tracking)


def _add_course(site: Site, ids: _Ids, product_id: int, owner: int | None, title: str, setup: int) -> None:
    """A course sold as `product_id`: three sections of three lessons."""
    cid = ids.take()
    at = setup + 2 * DAY + cid
    course = Course(cid, title, _slug(title), owner or 1, at, product_id=product_id)
    site.courses[cid] = course
    site.products[product_id].course_id = cid
    for s in range(1, 4):
        sid = ids.take()
        section = Section(sid, f"Section {s}", cid, s)
        site.sections[sid] = section
        course.sections.append(sid)
        for k in range(1, 4):
            lid = ids.take()
            site.lessons[lid] = Lesson(lid, f"{title} \u2014 lesson {s}.{k}", _slug(f"{title} lesson {s} {k}"), cid,
                                       sid, k, at)
            section.lessons.append(lid)
            course.lessons.append(lid)


# -- orders ---------------------------------------------------------------------------------------------

def _arrivals(spec: GenerationSpec, rng: random.Random, window: _Window) -> list[int]:
    """When orders are placed: exactly `orders` of them spread over the window, or a Poisson stream."""
    begin, end = window.begin, window.end
    if spec.orders is not None:
        return sorted(rng.randrange(begin, max(begin + 1, end)) for _ in range(int(spec.orders)))
    arrivals = []
    rate = spec.orders_per_day / DAY
    t = float(begin)
    while rate > 0:
        t += rng.expovariate(rate)
        if t >= end:
            break
        arrivals.append(int(t))
    return arrivals


@dataclass
class _Shop:
    """What an order is made from: the customers, the catalogue, the weights of each choice."""

    currency: str
    eur_share: float
    customers: list[User]
    products: list[Product]
    virtual: dict[int, bool]
    collab_coupons: list[Coupon]
    generic: list[Coupon]
    pay_cum: list[int]
    product_cum: list[int]

    @classmethod
    def of(cls, site: Site, customers: list[User], eur_share: float) -> _Shop:
        coupons = [site.coupons[c[0]] for c in COUPONS]
        return cls(site.currency, eur_share, customers, list(site.products.values()),
                   {p.id: p.virtual for p in site.products.values()}, [c for c in coupons if c.owner],
                   [c for c in coupons if not c.owner], list(itertools.accumulate(p[2] for p in PAYMENT)),
                   list(itertools.accumulate(PRODUCT_WEIGHTS)))


def _order(site: Site, tl: _Timeline, shop: _Shop, created: int) -> _Plan:
    """One order placed at `created`, and what happens to its payment."""
    rand, rng = tl.rand, tl.rng
    currency = "EUR" if rand() < shop.eur_share else shop.currency
    cust = tl.pick(shop.customers) if rand() < 0.8 else None
    billing = _guest_billing(tl, currency) if cust is None else _billing(
        cust.first_name, cust.last_name, cust.address, cust.city, "", cust.postcode, cust.country, cust.email)
    lines = _lines(tl, shop, currency)
    coupon_lines = _coupon_lines(tl, shop, lines)
    shipping: list[ShippingLine] = []
    if any(not shop.virtual[li.product_id] for li in lines):
        shipping.append(ShippingLine(0, "Flat rate", "flat_rate", 500 if currency == shop.currency else 460))
    method, title, _w = rng.choices(PAYMENT, cum_weights=shop.pay_cum)[0]
    status = "on-hold" if method == "bacs" else "pending"
    order = Order(0, status, currency, created, created, cust.id if cust else 0, billing, method, title,
                  tl.order_key(), lines, coupon_lines, shipping)
    create = tl.add(created, "order-create", 0, order, order)
    paid_at = _payment(tl, order, method, created)
    if paid_at is not None:
        tl.add(paid_at, "order-pay", 0, None, order)
        if rand() < 0.7:
            tl.add(tl.later(paid_at, HOUR, 2 * DAY), "order-complete", 0, None, order)
    return _Plan(order, create, paid_at)


def _guest_billing(tl: _Timeline, currency: str) -> dict[str, str]:
    """The billing address of a customer without an account."""
    rng = tl.rng
    first, last_name = tl.pick(FIRST), tl.pick(LAST)
    if currency == "EUR" or tl.rand() < 0.1:
        city, state, postcode, country = rng.choice(CITIES_EU)
    else:
        (city, state, postcode), country = rng.choice(CITIES_US), "US"
    email = f"{first}.{last_name}{rng.randint(1, 999)}@example.test".lower()
    return _billing(first, last_name, f"{rng.randint(1, 99)} High St", city, state, postcode, country, email)


def _lines(tl: _Timeline, shop: _Shop, currency: str) -> list[LineItem]:
    """One to three products (the cheaper ones sometimes twice), priced in the order's currency."""
    rand = tl.rand
    k = 1 if rand() < 0.7 else (2 if rand() < 0.75 else 3)
    chosen: list[Product] = []
    while len(chosen) < k:
        p = tl.rng.choices(shop.products, cum_weights=shop.product_cum)[0]
        if p not in chosen:
            chosen.append(p)
    lines = []
    for p in chosen:
        qty = 2 if (p.id in (13, 14, 18) and rand() < 0.2) else 1
        unit = p.price if currency == shop.currency else int(round(p.price * EUR_RATE / 10.0)) * 10
        lines.append(LineItem(0, p.id, p.name, p.sku, qty, unit * qty, unit * qty))
    return lines


def _coupon_lines(tl: _Timeline, shop: _Shop, lines: list[LineItem]) -> list[CouponLine]:
    """A collaborator's coupon on about a quarter of the orders, a generic one on a few."""
    coupon = None
    r = tl.rand()
    if r < 0.28:
        coupon = tl.pick(shop.collab_coupons)
    elif r < 0.33:
        coupon = tl.pick(shop.generic)
    if coupon is None:
        return []
    discount = _apply_coupon(coupon, lines)
    if discount <= 0:
        return []
    return [CouponLine(0, coupon.code, discount, coupon.id, coupon.discount_type, coupon.amount)]


def _payment(tl: _Timeline, order: Order, method: str, created: int) -> int | None:
    """When the order is paid (None: never): cards within minutes, bank transfers within days;
    some are cancelled or fail instead, and some are abandoned."""
    fate, later = tl.rand(), tl.later
    if method == "bacs":
        if fate < 0.88:
            return later(created, 2 * HOUR, 3 * DAY)
        tl.add(later(created, 3 * DAY, 4 * DAY), "order-status", 0, "cancelled", order)
        return None
    if fate < 0.90:
        return later(created, 20, 15 * MINUTE)
    if fate < 0.95:
        tl.add(later(created, 60 * MINUTE, 61 * MINUTE), "order-status", 0, "cancelled", order)
    elif fate < 0.97:
        tl.add(later(created, 30, 5 * MINUTE), "order-status", 0, "failed", order)
    return None  # else: abandoned, pending forever


# -- follow-ups -----------------------------------------------------------------------------------------

def _refund_choices(tl: _Timeline, spec: GenerationSpec, paid: list[_Plan]) -> tuple[list[bool], list[bool]]:
    """Which paid orders are partly refunded (one unit of an order of several) and which fully."""
    multi = [sum(li.quantity for li in p.order.line_items) > 1 for p in paid]
    if not tl.window.exact:
        partial_of = [multi[i] and tl.rand() < 0.06 for i in range(len(paid))]
        return partial_of, [(not partial_of[i]) and tl.rand() < 0.025 for i in range(len(paid))]
    n_part = spec.refunds if spec.refunds is not None else int(len(paid) * 0.03)
    n_full = spec.full_refunds if spec.full_refunds is not None else int(len(paid) * 0.025)
    can_part = [i for i, m in enumerate(multi) if m]
    if n_part > len(can_part) or n_part + n_full > len(paid):
        raise ValueError(f"{n_part} partial and {n_full} full refunds asked for {len(paid)} paid "
                         f"orders ({len(can_part)} with more than one unit)")
    partial_set = set(tl.rng.sample(can_part, n_part))
    rest = [i for i in range(len(paid)) if i not in partial_set]
    full_set = set(tl.rng.sample(rest, n_full))
    return [i in partial_set for i in range(len(paid))], [i in full_set for i in range(len(paid))]


def _follow_ups(tl: _Timeline, spec: GenerationSpec, plans: list[_Plan]) -> list[tuple[Activity, Order]]:
    """Refunds and cancellations of paid orders; trash and admin edits on any. Returns the refunds."""
    rng, exact = tl.rng, tl.window.exact
    paid = [p for p in plans if p.paid_at is not None]
    partial_of, full_of = _refund_choices(tl, spec, paid)
    refund_acts: list[tuple[Activity, Order]] = []
    for i, plan in enumerate(paid):
        order, paid_at = plan.order, plan.paid_at or 0
        if partial_of[i]:
            li = rng.choice(order.line_items)
            unit = li.total // li.quantity
            r = Refund(0, 0, 0, unit, rng.choice(PARTIAL_REASONS),
                       [RefundLine(0, 0, li.product_id, li.name, li.sku, 1, unit)])
            refund_acts.append((tl.add(tl.later(paid_at, DAY, 14 * DAY), "refund", 0, r, (order, li)), order))
        elif full_of[i]:
            r = Refund(0, 0, 0, order.total, rng.choice(FULL_REASONS))
            refund_acts.append((tl.add(tl.later(paid_at, DAY, 20 * DAY), "refund", 0, r, (order, None)), order))
        elif not exact and tl.rand() < 0.007:
            tl.add(tl.later(paid_at, DAY, 5 * DAY), "order-status", 0, "cancelled", order)
    for plan in plans:
        if not exact and tl.rand() < 0.003:
            tl.add(tl.later(plan.create.at, 5 * DAY, 30 * DAY), "order-status", 0, "trash", plan.order)
        if tl.rand() < 0.03:
            tl.add(tl.later(plan.create.at, HOUR, 10 * DAY), "order-touch", 0, None, plan.order)
    return refund_acts


def _learning(site: Site, tl: _Timeline, plans: list[_Plan], refund_acts: list[tuple[Activity, Order]]) -> None:
    """Buying a course enrols a registered customer (a full refund cancels it); students then
    complete lessons over the following days, and some finish the course."""
    course_by_product = {p.id: p.course_id for p in site.products.values() if p.course_id}
    full_refund_at = {id(o): a.at for a, o in refund_acts if not a.data.lines}
    budget = 30_000 if tl.window.exact else None  # lesson completions kept in exact-count mode (benchmarks)
    for plan in reversed([p for p in plans if p.paid_at is not None]):
        order = plan.order
        if not order.customer_id:
            continue
        for li in order.line_items:
            cid = course_by_product.get(li.product_id)
            if cid is not None:
                budget = _enrol(site, tl, order, cid, (plan.paid_at or 0) + 1, full_refund_at.get(id(order)), budget)


def _enrol(site: Site, tl: _Timeline, order: Order, cid: int, enrol_at: int, stop: int | None,
           budget: int | None) -> int | None:
    """The customer's enrolment in course `cid` and the lessons they complete; returns the budget left."""
    tl.add(enrol_at, "enroll", order.customer_id, cid, order)
    if stop is not None:
        tl.add(stop + 1, "unenroll", order.customer_id, cid)
    lessons = site.courses[cid].lessons
    done = len(lessons) if tl.rand() < 0.35 else int(tl.rand() * len(lessons))
    if budget is not None:
        done = min(done, budget)
        budget -= done
    t = enrol_at
    for lid in lessons[:done]:
        t = tl.later(t, 20 * MINUTE, 3 * DAY)
        if (stop is not None and t >= stop) or (not tl.window.exact and t >= tl.window.end):
            break
        tl.add(t, "lesson-done", order.customer_id, lid)
    return budget


def _visits(site: Site, tl: _Timeline, spec: GenerationSpec, orders: int) -> None:
    """Referred visits, as Siren engagements: some `pending` first and `active` later."""
    n_visits = int(orders * spec.visits_per_order)
    if tl.window.exact:
        n_visits = min(n_visits, 20_000)
    begin, end = tl.window.begin, tl.window.end
    visit_times = sorted(tl.rng.randrange(begin, max(begin + 1, end)) for _ in range(n_visits))
    sids = list(site.siren_collaborators)
    for n, at in enumerate(visit_times, 1):
        pending = tl.rand() < 0.2
        e = Engagement(n, 1000 + n, 1, tl.pick(sids), 1, "pending" if pending else "active", at, at)
        tl.add(at, "engagement", n, e)
        if pending and tl.rand() < 0.8:
            tl.add(tl.later(at, 10 * MINUTE, DAY), "engagement-status", n, "active")


# -- ids ------------------------------------------------------------------------------------------------

def _with_ids(site: Site, timeline: list[Activity]) -> list[Activity]:
    """The timeline in time order, with WordPress's ids: orders and refunds take the shared post
    sequence in order of creation, their lines the item sequence; follow-ups then point at them."""
    timeline.sort(key=Activity.sort_key)
    post_ids, item_ids = _Ids(1000), _Ids(1)
    for a in timeline:
        if a.kind == "order-create":
            o: Order = a.data
            _number(post_ids, item_ids, o, o.line_items, o.coupon_lines, o.shipping_lines)
        elif a.kind == "refund":
            r: Refund = a.data
            _number(post_ids, item_ids, r, r.lines)
        elif a.kind == "subscription-create":
            record = a.data.record
            _number(post_ids, item_ids, record, record.line_items)
    site.next_post_id = post_ids.next + 1000  # room between generated ids and posts made over REST
    for a in timeline:
        if a.target is not None:
            _point(a)
    return timeline


def _number(post_ids: _Ids, item_ids: _Ids, record: Any, *items: list[Any]) -> None:
    """`record` takes the next post id, its items (lines, in the order given) the next item ids."""
    record.id = post_ids.take()
    for group in items:
        for item in group:
            item.id = item_ids.take()


def _point(a: Activity) -> None:
    """Point a follow-up at the ids now known."""
    t, a.target = a.target, None
    if a.kind == "enroll":
        a.data = (a.data, f"wc_order_{t.id}")
    elif a.kind == "refund":
        order, li = t
        a.data.order_id = order.id
        if li is not None:
            a.data.lines[0].item_id = li.id
    else:
        a.ref = t.id
    if a.kind == "order-pay":
        a.data = f"TX{100000 + a.ref}"


def _billing(first: str, last: str, address: str, city: str, state: str, postcode: str, country: str,
             email: str) -> dict[str, str]:
    return {"first_name": first, "last_name": last, "company": "", "address_1": address, "address_2": "",
            "city": city, "state": state, "postcode": postcode, "country": country, "email": email,
            "phone": ""}


def _apply_coupon(coupon: Coupon, lines: list[LineItem]) -> int:
    """Discount the lines' totals like WooCommerce (per line, rounded to the cent); returns the total."""
    subtotal = sum(li.subtotal for li in lines)
    if subtotal <= 0:
        return 0
    if coupon.discount_type == "percent":
        for li in lines:
            li.total = li.subtotal - (li.subtotal * coupon.amount + 50) // 100
    else:  # fixed_cart: spread pro rata, the remainder on the last line
        amount = min(coupon.amount, subtotal)
        left = amount
        for n, li in enumerate(lines):
            share = left if n == len(lines) - 1 else (amount * li.subtotal) // subtotal
            li.total = li.subtotal - share
            left -= share
    return sum(li.subtotal - li.total for li in lines)
