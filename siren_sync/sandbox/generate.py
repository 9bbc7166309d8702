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
"""
from __future__ import annotations

import hashlib
import itertools
import random
import string
from dataclasses import dataclass

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


def populate(site: Site, spec: GenerationSpec) -> list[Activity]:
    """Write the catalogue into `site` and return its activity timeline (not yet played)."""
    rng = random.Random(spec.seed)
    creds = credentials(spec.seed)
    exact = spec.orders is not None
    begin = spec.start - spec.history_days * DAY
    end = spec.start + spec.days * DAY
    setup = begin - 30 * DAY  # the catalogue exists well before any activity

    # -- users ---------------------------------------------------------------------------------
    site.users[1] = User(1, "admin", "", "", "admin@example.test", ["administrator"], setup,
                         app_password=creds["wp_app_password"].replace(" ", ""))
    for uid, login, first, last, _sid, _tr in COLLABORATORS:
        site.users[uid] = User(uid, login, first, last, f"{login}@example.test", ["author", "instructor"],
                               setup + uid * 60, description=f"Collaborator {first} {last}")
    n_customers = spec.customers
    if n_customers is None:
        volume = spec.orders if exact else spec.orders_per_day * (spec.days + spec.history_days)
        n_customers = max(24, min(5000, int(volume // 15)))
    customers: list[User] = []
    for n in range(n_customers):
        uid = 6 + n
        first, last = rng.choice(FIRST), rng.choice(LAST)
        login = f"{first}.{last}{uid}".lower()
        eu = rng.random() < 0.15
        if eu:
            city, state, postcode, country = rng.choice(CITIES_EU)
        else:
            (city, state, postcode), country = rng.choice(CITIES_US), "US"
        u = User(uid, login, first, last, f"{login}@example.test", ["customer", "student"],
                 setup + 3600 + n * 37, city=city, country=country, postcode=postcode,
                 address=f"{rng.randint(1, 250)} {rng.choice(['Main St', 'Oak Ave', 'rue de la Paix', 'Park Rd'])}")
        customers.append(u)
        site.users[uid] = u

    # -- catalogue (shared post id space) ---------------------------------------------------------
    for (pid, name, sku, price, owner, virtual, cat, _course) in PRODUCTS:
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
        if not course_title:
            continue
        cid = ids.take()
        at = setup + 2 * DAY + cid
        course = Course(cid, course_title, _slug(course_title), owner or 1, at, product_id=pid)
        site.courses[cid] = course
        site.products[pid].course_id = cid
        for s in range(1, 4):
            sid = ids.take()
            section = Section(sid, f"Section {s}", cid, s)
            site.sections[sid] = section
            course.sections.append(sid)
            for k in range(1, 4):
                lid = ids.take()
                title = f"{course_title} \u2014 lesson {s}.{k}"
                site.lessons[lid] = Lesson(lid, title, _slug(f"{course_title} lesson {s} {k}"), cid, sid, k, at)
                section.lessons.append(lid)
                course.lessons.append(lid)
    for uid, login, _f, _l, sid, tracking in COLLABORATORS:
        site.siren_collaborators[sid] = SirenCollaborator(sid, uid, tracking)

    # -- orders -------------------------------------------------------------------------------------
    timeline: list[Activity] = []
    seq = 0

    def add(at: int, kind: str, ref: int = 0, data=None, target=None) -> Activity:
        nonlocal seq
        seq += 1
        a = Activity(at, seq, kind, ref, data, target)
        timeline.append(a)
        return a

    if exact:
        n_orders = int(spec.orders)
        arrivals = sorted(rng.randrange(begin, max(begin + 1, end)) for _ in range(n_orders))
    else:
        arrivals = []
        rate = spec.orders_per_day / DAY
        t = float(begin)
        while rate > 0:
            t += rng.expovariate(rate)
            if t >= end:
                break
            arrivals.append(int(t))
    last = max(begin, end - 1)
    rand = rng.random

    def later(base: int, lo: int, hi: int) -> int:
        t = base + lo + int(rand() * (hi - lo + 1))
        if exact and t > last:
            t = base + int(rand() * (max(base, last) - base + 1))
        return t

    def pick(seq):
        return seq[int(rand() * len(seq))]

    key_alphabet = string.ascii_letters + string.digits

    def order_key() -> str:
        n = rng.getrandbits(78)
        out = []
        for _ in range(13):
            n, r = divmod(n, 62)
            out.append(key_alphabet[r])
        return "wc_order_" + "".join(out)

    products = list(site.products.values())
    coupon_list = [site.coupons[c[0]] for c in COUPONS]
    collab_coupons = [c for c in coupon_list if c.owner]
    generic = [c for c in coupon_list if not c.owner]
    pay_cum = list(itertools.accumulate(p[2] for p in PAYMENT))
    product_cum = list(itertools.accumulate(PRODUCT_WEIGHTS))
    plans = []  # (order, creation activity, paid at or None)
    item_ids = _Ids(1)

    for created in arrivals:
        currency = "EUR" if rand() < spec.eur_share else site.currency
        registered = rand() < 0.8
        cust = pick(customers) if registered else None
        if cust is None:
            first, last_name = pick(FIRST), pick(LAST)
            eu = currency == "EUR" or rand() < 0.1
            if eu:
                city, state, postcode, country = rng.choice(CITIES_EU)
            else:
                (city, state, postcode), country = rng.choice(CITIES_US), "US"
            email = f"{first}.{last_name}{rng.randint(1, 999)}@example.test".lower()
            billing = _billing(first, last_name, f"{rng.randint(1, 99)} High St", city, state, postcode,
                               country, email)
        else:
            billing = _billing(cust.first_name, cust.last_name, cust.address, cust.city, "", cust.postcode,
                               cust.country, cust.email)
        k = 1 if rand() < 0.7 else (2 if rand() < 0.75 else 3)
        chosen: list[Product] = []
        while len(chosen) < k:
            p = rng.choices(products, cum_weights=product_cum)[0]
            if p not in chosen:
                chosen.append(p)
        lines = []
        for p in chosen:
            qty = 2 if (p.id in (13, 14, 18) and rand() < 0.2) else 1
            unit = p.price if currency == site.currency else int(round(p.price * EUR_RATE / 10.0)) * 10
            lines.append(LineItem(0, p.id, p.name, p.sku, qty, unit * qty, unit * qty))
        coupon = None
        r = rand()
        if r < 0.28:
            coupon = pick(collab_coupons)
        elif r < 0.33:
            coupon = pick(generic)
        coupon_lines: list[CouponLine] = []
        if coupon is not None:
            discount = _apply_coupon(coupon, lines)
            if discount > 0:
                coupon_lines.append(CouponLine(0, coupon.code, discount, coupon.id, coupon.discount_type,
                                               coupon.amount))
        shipping: list[ShippingLine] = []
        if any(not site.products[li.product_id].virtual for li in lines):
            shipping.append(ShippingLine(0, "Flat rate", "flat_rate", 500 if currency == site.currency else 460))
        method, title, _w = rng.choices(PAYMENT, cum_weights=pay_cum)[0]
        status = "on-hold" if method == "bacs" else "pending"
        order = Order(0, status, currency, created, created, cust.id if cust else 0, billing, method, title,
                      order_key(),
                      lines, coupon_lines, shipping)
        create = add(created, "order-create", 0, order, order)
        # payment
        fate = rand()
        paid_at = None
        if method == "bacs":
            if fate < 0.88:
                paid_at = later(created, 2 * HOUR, 3 * DAY)
            else:
                add(later(created, 3 * DAY, 4 * DAY), "order-status", 0, "cancelled", order)
        else:
            if fate < 0.90:
                paid_at = later(created, 20, 15 * MINUTE)
            elif fate < 0.95:
                add(later(created, 60 * MINUTE, 61 * MINUTE), "order-status", 0, "cancelled", order)
            elif fate < 0.97:
                add(later(created, 30, 5 * MINUTE), "order-status", 0, "failed", order)
            # else: abandoned, pending forever
        if paid_at is not None:
            add(paid_at, "order-pay", 0, None, order)
            if rand() < 0.7:
                add(later(paid_at, HOUR, 2 * DAY), "order-complete", 0, None, order)
        plans.append((order, create, paid_at))

    # follow-ups on paid orders: refunds, cancellations; trash and admin edits on any
    paid_plans = [p for p in plans if p[2] is not None]
    multi = [sum(li.quantity for li in p[0].line_items) > 1 for p in paid_plans]
    if exact:
        n_part = spec.refunds if spec.refunds is not None else int(len(paid_plans) * 0.03)
        n_full = spec.full_refunds if spec.full_refunds is not None else int(len(paid_plans) * 0.025)
        can_part = [i for i, m in enumerate(multi) if m]
        if n_part > len(can_part) or n_part + n_full > len(paid_plans):
            raise ValueError(f"{n_part} partial and {n_full} full refunds asked for {len(paid_plans)} paid "
                             f"orders ({len(can_part)} with more than one unit)")
        partial_set = set(rng.sample(can_part, n_part))
        rest = [i for i in range(len(paid_plans)) if i not in partial_set]
        full_set = set(rng.sample(rest, n_full))
        partial_of = [i in partial_set for i in range(len(paid_plans))]
        full_of = [i in full_set for i in range(len(paid_plans))]
    else:
        partial_of = [multi[i] and rand() < 0.06 for i in range(len(paid_plans))]
        full_of = [(not partial_of[i]) and rand() < 0.025 for i in range(len(paid_plans))]
    refund_acts: list[tuple[Activity, Order]] = []
    for i, (order, create, paid_at) in enumerate(paid_plans):
        if partial_of[i]:
            li = rng.choice(order.line_items)
            unit = li.total // li.quantity
            r = Refund(0, 0, 0, unit, rng.choice(PARTIAL_REASONS),
                       [RefundLine(0, 0, li.product_id, li.name, li.sku, 1, unit)])
            refund_acts.append((add(later(paid_at, DAY, 14 * DAY), "refund", 0, r, (order, li)), order))
        elif full_of[i]:
            r = Refund(0, 0, 0, order.total, rng.choice(FULL_REASONS))
            refund_acts.append((add(later(paid_at, DAY, 20 * DAY), "refund", 0, r, (order, None)), order))
        elif not exact and rand() < 0.007:
            add(later(paid_at, DAY, 5 * DAY), "order-status", 0, "cancelled", order)
    for order, create, paid_at in plans:
        if not exact and rand() < 0.003:
            add(later(create.at, 5 * DAY, 30 * DAY), "order-status", 0, "trash", order)
        if rand() < 0.03:
            add(later(create.at, HOUR, 10 * DAY), "order-touch", 0, None, order)

    # -- LMS: enrolments and completions ----------------------------------------------------------
    if spec.lms:
        course_by_product = {p.id: p.course_id for p in products if p.course_id}
        full_refund_at = {id(o): a.at for a, o in refund_acts if not a.data.lines}
        budget = 30_000 if exact else None  # lesson completions kept in exact-count mode (benchmarks)
        for order, create, paid_at in reversed(paid_plans):
            if not order.customer_id:
                continue
            for li in order.line_items:
                cid = course_by_product.get(li.product_id)
                if cid is None:
                    continue
                enrol_at = paid_at + 1
                add(enrol_at, "enroll", order.customer_id, cid, order)
                stop = full_refund_at.get(id(order))
                if stop is not None:
                    add(stop + 1, "unenroll", order.customer_id, cid)
                course = site.courses[cid]
                done = len(course.lessons) if rand() < 0.35 else int(rand() * len(course.lessons))
                if budget is not None:
                    done = min(done, budget)
                    budget -= done
                t = enrol_at
                for lid in course.lessons[:done]:
                    t = later(t, 20 * MINUTE, 3 * DAY)
                    if stop is not None and t >= stop:
                        break
                    if not exact and t >= end:
                        break
                    add(t, "lesson-done", order.customer_id, lid)

    # -- Siren engagements (referred visits) -------------------------------------------------------
    n_visits = int(len(arrivals) * spec.visits_per_order)
    if exact:
        n_visits = min(n_visits, 20_000)
    visit_times = sorted(rng.randrange(begin, max(begin + 1, end)) for _ in range(n_visits))
    sids = list(site.siren_collaborators)
    for n, at in enumerate(visit_times, 1):
        pending = rand() < 0.2
        e = Engagement(n, 1000 + n, 1, pick(sids), 1, "pending" if pending else "active", at, at)
        add(at, "engagement", n, e)
        if pending and rand() < 0.8:
            add(later(at, 10 * MINUTE, DAY), "engagement-status", n, "active")

    # -- ids in order of creation (WordPress's shared post sequence) -------------------------------
    timeline.sort(key=Activity.sort_key)
    post_ids = _Ids(1000)
    for a in timeline:
        if a.kind == "order-create":
            o: Order = a.data
            o.id = post_ids.take()
            for li in o.line_items:
                li.id = item_ids.take()
            for cl in o.coupon_lines:
                cl.id = item_ids.take()
            for sl in o.shipping_lines:
                sl.id = item_ids.take()
        elif a.kind == "refund":
            r: Refund = a.data
            r.id = post_ids.take()
            for rl in r.lines:
                rl.id = item_ids.take()
    site.next_post_id = post_ids.next + 1000  # room between generated ids and posts made over REST
    for a in timeline:  # point follow-ups at the ids now known
        t = a.target
        if t is None:
            continue
        a.target = None
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
    return timeline


def _billing(first, last, address, city, state, postcode, country, email) -> dict[str, str]:
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
