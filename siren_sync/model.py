"""The nouns of siren-sync: events, collaborators, distributors, distributions, obligations, payouts,
fulfillments, the outbox.

Plain frozen dataclasses and named tuples, shared by every layer. Money is `Decimal`, times are
timezone-aware `datetime`s (events in UTC). Nothing here does I/O; `to_record`/`from_record` give
the JSON shape the store keeps, and are called at the store's edge only (closing writes, history
reads), so the store never needs to know a domain type and the rest of the code never sees a dict.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from functools import cached_property
from typing import Any, NamedTuple

from siren_sync.values import as_utc, iso, parse_time

# Siren's machine names for what a collaborator can be scored on (DESIGN section 3).
ENGAGEMENT_TYPES = (
    "referredSiteVisit",
    "boundPostUsed",
    "boundCouponUsed",
    "collaboratorProductSold",
    "courseCompleted",
    "lessonCompleted",
    "manual",
)
SALE = "sale"
EVENT_TYPES = ENGAGEMENT_TYPES + (SALE,)
LEAD = "lead"  # an imported lead (a program with `conversion: lead` pays a flat bounty for it)
# A `?ref=` visit the access log does not count (the visitor's window for that collaborator is open)
# but programs remember: the visitor came through another collaborator's link since (the last touch).
# Not an engagement type: no distributor can list it, so no pool ever scores it.
REVISIT = "referredSiteRevisit"
# The share of a paid order's value its sale moves. Events share this one object, so "is it all of
# it" is an identity check first: `Fraction.__eq__` is Python code, asked for every event recorded.
WHOLE = Fraction(1)

RESOLVERS = ("topScoreWins", "performanceSharedPool", "sharedEngagementPool")
RESOLVER_ALIASES = {"performanceWeightedPool": "performanceSharedPool"}
POOL_RESOLVERS = ("revenueSinceLastDistribution",)
COMPILERS = ("lineItems", "discounts", "fees", "shipping", "taxes")
DEFAULT_COMPILERS = ("lineItems", "discounts")
COLLABORATOR_STATUSES = ("active", "pending", "inactive")

Record = dict[str, Any]  # a JSON document as the store keeps it


@dataclass(frozen=True, slots=True)
class Line:
    """One order line item, as much of it as transaction compilers and line item filters need.

    A variable product's line names the parent in `product_id` and the variation bought in
    `variation_id` (None: a simple product, WooCommerce's 0, or a line stored before variations were
    kept). A collaborator owns the line when either id is in their `products` (`pools`'s
    `collaboratorOwned`; the source gives its points to the variation's owner first)."""

    id: str
    subtotal: Decimal  # before discounts, for the whole quantity
    quantity: int = 1
    product_id: int | None = None
    sku: str = ""
    categories: tuple[int, ...] = ()
    variation_id: int | None = None

    @property
    def sold_id(self) -> int | None:
        """The most specific id of what was sold: the variation, else the product. Product and
        variation ids are one WordPress post id space, so a set of them never mixes two things up."""
        return self.product_id if self.variation_id is None else self.variation_id

    def to_record(self) -> Record:
        """Fields at their default are left out (`from_record` restores them): every sale, refund and
        cancellation event of an order embeds its lines, and each byte is encoded at every sync."""
        record: dict[str, Any] = {"id": self.id, "subtotal": str(self.subtotal)}
        if self.quantity != 1:
            record["quantity"] = self.quantity
        if self.product_id is not None:
            record["product_id"] = self.product_id
        if self.sku:
            record["sku"] = self.sku
        if self.categories:
            record["categories"] = list(self.categories)
        if self.variation_id is not None:
            record["variation_id"] = self.variation_id
        return record

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Line:
        return cls(id=str(r["id"]), subtotal=Decimal(r["subtotal"]), quantity=int(r.get("quantity", 1)),
                   product_id=r.get("product_id"), sku=r.get("sku") or "",
                   categories=tuple(r.get("categories") or ()), variation_id=r.get("variation_id"))


@dataclass(frozen=True, slots=True)
class OrderValue:
    """What an order is worth, split the way Siren's transaction compilers see it."""

    currency: str
    total: Decimal
    lines: tuple[Line, ...] = ()
    discount_total: Decimal = Decimal(0)
    fees: Decimal = Decimal(0)
    shipping: Decimal = Decimal(0)
    taxes: Decimal = Decimal(0)

    def to_record(self) -> Record:
        """Zero parts are left out (`from_record` reads them as 0; every compiled value is rounded to
        the currency's minor unit, so `0.00` and `0` count the same)."""
        record: dict[str, Any] = {"currency": self.currency, "total": str(self.total),
                                  "lines": [line.to_record() for line in self.lines]}
        for name, amount in (("discount_total", self.discount_total), ("fees", self.fees),
                             ("shipping", self.shipping), ("taxes", self.taxes)):
            if amount:
                record[name] = str(amount)
        return record

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> OrderValue:
        return cls(currency=r["currency"], total=Decimal(r["total"]),
                   lines=tuple(Line.from_record(x) for x in r.get("lines", ())),
                   discount_total=Decimal(r.get("discount_total", "0")), fees=Decimal(r.get("fees", "0")),
                   shipping=Decimal(r.get("shipping", "0")), taxes=Decimal(r.get("taxes", "0")))


@dataclass(frozen=True, slots=True)
class Reversed:
    """The imported sale a reversal takes back from (its line says `"reverses": "<the sale's key>"`),
    as the import found it: its key, its time (the day its program rewards were earned) and its
    revenue (a reversal of revenue `r` is the share `r / revenue` of it)."""

    key: str
    at: datetime
    revenue: Decimal

    def to_record(self) -> Record:
        return {"key": self.key, "at": iso(as_utc(self.at)), "revenue": str(self.revenue)}

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Reversed:
        return cls(key=r["key"], at=parse_time(r["at"]), revenue=Decimal(r["revenue"]))


@dataclass(frozen=True, slots=True)
class Touch:
    """What an order or a visit says about who may have brought a sale (programs, DESIGN section 8).

    A visit and an order by the same visitor share its `visitor`: a keyed digest of the client address
    and user agent (`SyncContext.visitor`), never the raw values. Every field is optional: a sale
    names what its order showed, a visit only its visitor.
    """

    visitor: str | None = None  # keyed digest of client address + user agent: never the raw values
    ref: str | None = None  # a tracking id the order itself names (order attribution, ref_meta_key)
    created_at: datetime | None = None  # an order's creation time (visit windows count back from it)
    renewal_of: int | None = None  # a renewal order: the first order of its subscription (0: not known)
    ref_at: datetime | None = None  # when the visit naming `ref` began (order attribution), if known

    def __post_init__(self) -> None:
        if self.created_at is not None and self.created_at.tzinfo is None:
            raise ValueError("touch: created_at has no timezone")
        if self.ref_at is not None and self.ref_at.tzinfo is None:
            raise ValueError("touch: ref_at has no timezone")

    def to_record(self) -> Record:
        """Only the fields that are set (a visit's touch is its visitor alone)."""
        record: Record = {}
        if self.visitor is not None:
            record["visitor"] = self.visitor
        if self.ref is not None:
            record["ref"] = self.ref
        if self.created_at is not None:
            record["created_at"] = iso(as_utc(self.created_at))
        if self.renewal_of is not None:
            record["renewal_of"] = self.renewal_of
        if self.ref_at is not None:
            record["ref_at"] = iso(as_utc(self.ref_at))
        return record

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Touch:
        """A touch as stored; one stored before `ref_at` existed reads without it (its ref then
        engages at the order's creation, as it did)."""
        created, ref_at = r.get("created_at"), r.get("ref_at")
        return cls(visitor=r.get("visitor"), ref=r.get("ref"), created_at=parse_time(created) if created else None,
                   renewal_of=r.get("renewal_of"), ref_at=parse_time(ref_at) if ref_at else None)


@dataclass(frozen=True, slots=True)
class Event:
    """Something that happened on the site, normalized. Recording the same `key` twice changes nothing.

    Engagement events name a `collaborator` and a `quantity` (negative for a reversal, such as a
    fully refunded order's coupon use). `sale` events move revenue: either a plain signed `revenue`
    (imports), or an `order` plus the signed `share` of its counted value this event moves (`1` when
    paid, `-amount/total` for a refund, `-rest/total` for a cancellation), so every distributor can
    apply its own transaction compilers and filters to the same event.

    `order_id` names the order an event comes from (its sale, refunds, cancellation and engagement
    events); `touch` what an order's payment (`sale`) or a referred visit says about who brought the
    sale (programs); `reverses` the imported sale an imported reversal takes back from. They are left
    out of the record when unset, like every default (a store written before them reads as it is).
    """

    key: str
    type: str
    at: datetime
    collaborator: str | None = None
    quantity: int = 1
    revenue: Decimal | None = None
    order: OrderValue | None = None
    share: Fraction = WHOLE
    source: str = "manual"
    order_id: int | None = None
    touch: Touch | None = None
    reverses: Reversed | None = None  # an imported sale's reversal: the sale it takes back from

    def __post_init__(self) -> None:
        if self.at.tzinfo is None:
            raise ValueError(f"event {self.key}: time has no timezone")

    def to_record(self) -> Record:
        record: dict[str, Any] = {"key": self.key, "type": self.type,
                                  "at": iso(as_utc(self.at)), "source": self.source}
        if self.collaborator is not None:
            record["collaborator"] = self.collaborator
        if self.quantity != 1:
            record["quantity"] = self.quantity
        if self.revenue is not None:
            record["revenue"] = str(self.revenue)
        if self.order is not None:
            record["order"] = self.order.to_record()
        if self.share is not WHOLE and self.share != 1:
            record["share"] = str(self.share)
        if self.order_id is not None:
            record["order_id"] = self.order_id
        if self.touch is not None:
            record["touch"] = self.touch.to_record()
        if self.reverses is not None:
            record["reverses"] = self.reverses.to_record()
        return record

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Event:
        touch, reverses = r.get("touch"), r.get("reverses")
        return cls(key=r["key"], type=r["type"], at=parse_time(r["at"]), collaborator=r.get("collaborator"),
                   quantity=int(r.get("quantity", 1)),
                   revenue=Decimal(r["revenue"]) if r.get("revenue") is not None else None,
                   order=OrderValue.from_record(r["order"]) if r.get("order") else None,
                   share=Fraction(r["share"]) if "share" in r else WHOLE, source=r.get("source", "manual"),
                   order_id=r.get("order_id"), touch=Touch.from_record(touch) if touch is not None else None,
                   reverses=Reversed.from_record(reverses) if reverses is not None else None)


@dataclass(frozen=True, slots=True)
class Collaborator:
    """A person who can earn; only `active` ones score and qualify."""

    id: str
    name: str = ""
    email: str = ""
    status: str = "active"
    wp_user_id: int | None = None
    coupons: tuple[str, ...] = ()  # lower case, as WooCommerce returns them
    tracking_ids: tuple[str, ...] = ()
    products: tuple[int, ...] = ()
    posts: tuple[int, ...] = ()
    tags: tuple[str, ...] = ()  # what programs choose their members by (`members: {tag: ambassador}`)

    @property
    def active(self) -> bool:
        return self.status == "active"


@dataclass(frozen=True, slots=True)
class LineItemFilters:
    """Restrict which order lines count towards a pool (Siren's commission pool filters)."""

    with_skus: tuple[str, ...] = ()
    in_categories: tuple[int, ...] | None = None
    collaborator_owned: bool = False
    # fees, shipping and taxes follow the kept lines pro rata, as the discount does (a royalty: each
    # owner's lines carry their share of them, so two owners are not both paid on all the shipping)
    order_parts_pro_rata: bool = False
    # whether any filter is set: made once, not for each sale of each pool and program (`pools`)
    restricts: bool = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "restricts",
                           bool(self.with_skus) or self.in_categories is not None or self.collaborator_owned)


@dataclass(frozen=True, slots=True)
class Distributor:
    """A scheduled reward pool: what scores, how the pool is made, how it is split, and when."""

    key: str
    name: str
    resolver: str  # one of RESOLVERS (aliases resolved)
    units: str
    exponent: int  # decimals of the unit: 2 for USD, 0 for JPY or points, 3 for KWD
    schedule: tuple[str, ...]
    points: Mapping[str, Decimal]  # engagement type -> points per event
    revenue_percentage: Decimal = Decimal(0)
    pool_resolver: str = "revenueSinceLastDistribution"
    status: str = "active"
    description: str = ""
    starts_at: datetime | None = None
    compilers: tuple[str, ...] = DEFAULT_COMPILERS
    filters: LineItemFilters = field(default_factory=LineItemFilters)
    minimum_score: Decimal | None = None
    carry_unspent_pool: bool = False
    is_currency: bool = True  # False for custom reward units such as points or credits
    review: bool = False  # a closed distribution waits for `siren-sync approve` (payouts.review)
    hold: timedelta = timedelta(0)  # obligations become payable this long after the period end

    @property
    def active(self) -> bool:
        return self.status == "active"


# Programs (DESIGN section 8): what engages a collaborator with an order, and how a reward is shared.
PROGRAM_ENGAGEMENTS = ("boundCouponUsed", "referredSiteVisit", "collaboratorProductSold", "manual")
STRUCTURES = ("oldestEngagementWins", "newestEngagementWins", "sharedEngagementPool", "performanceSharedPool",
              "topScoreWins")
GROUP_STRUCTURES = ("oldestEngagementWins", "newestEngagementWins")
CONVERSIONS = ("sale", "lead")


@dataclass(frozen=True)
class Program:
    """A reward per conversion (a sale, or an imported lead), as DESIGN section 8 configures it.

    Exactly one of `percentage` (of the order's counted value) and `flat` (per conversion) is set.
    `members` is None for everyone, else the ids that may earn (a tag is resolved at load);
    `renewals` is None for every renewal, else how many renewals of a first order pay (0: none).
    `group_structure` is the group's rule when the program is in one (`group`).
    """

    key: str
    name: str
    units: str
    exponent: int
    engagements: tuple[str, ...]
    structure: str = "newestEngagementWins"
    percentage: Decimal | None = None
    flat: Decimal | None = None
    status: str = "active"
    is_currency: bool = True
    window: timedelta = timedelta(days=30)
    members: frozenset[str] | None = None
    group: str | None = None
    group_structure: str = "newestEngagementWins"
    renewals: int | None = 0
    clawback: bool = True
    compilers: tuple[str, ...] = DEFAULT_COMPILERS
    filters: LineItemFilters = field(default_factory=LineItemFilters)
    conversion: str = "sale"
    review: bool = False
    hold: timedelta = timedelta(0)

    @cached_property
    def active(self) -> bool:
        """Whether it rewards anything (asked for each sale: made once)."""
        return self.status == "active"

    @cached_property
    def owned_lines_only(self) -> Program:
        """This program counting only collaborator-owned lines (royalties: given one owner's
        products, their own lines, with their share of the order's fees, shipping and taxes). Made
        once per program: a sale asks for it per owner."""
        return replace(self, filters=replace(self.filters, collaborator_owned=True, order_parts_pro_rata=True))

    def admits(self, collaborator: Collaborator | None) -> bool:
        """Whether `collaborator` can earn in this program: known, active and a member."""
        return (collaborator is not None and collaborator.active
                and (self.members is None or collaborator.id in self.members))


class Allocation(NamedTuple):
    """One collaborator's part of a split pool; `note` explains a tie or a remainder cent.

    A named tuple rather than a dataclass: a close makes one per collaborator (100,000s), and a
    tuple is built in a third of the time.
    """

    collaborator: str
    score: Decimal
    amount: Decimal
    note: str = ""


class Standing(NamedTuple):
    """A collaborator's score in a period and when their last scoring event happened (tie rule).

    `last_scored_at` is the UTC time as the ledger records it (`iso` of a UTC datetime, one fixed
    format), so text order is time order: a close compares 100,000s of them without parsing any.
    """

    collaborator: str
    score: Decimal
    last_scored_at: str | None = None


# Where an obligation is on its way to being paid (DESIGN section 7). `draft`: waits for
# `siren-sync approve`; `pending`: approved, inside its hold; `payable`: the hold is over and it is
# in no fulfillment; `processing`: in an open fulfillment; `paid`; `rejected`: never paid.
OBLIGATION_STATUSES = ("draft", "pending", "payable", "processing", "paid", "rejected")
REVIEW_STATES = ("draft", "approved", "rejected")  # a distribution's (or a program obligation's) decision


_new_tuple = tuple.__new__


class Obligation(NamedTuple):
    """What one distribution (or one program sale) owes one collaborator, and where that debt is.

    A named tuple: a close makes one per paid collaborator (100,000s). The stored document holds
    only what differs per collaborator (`to_record`); the distribution's id, units, period end,
    review and hold come back from its summary when it is read (`from_record`).

    `distribution` is the obligation's origin: the distribution id, or the program key for a
    program's commission (`source` "program", with its own id in `key`, such as
    `<program>:<order>:<collaborator>` or a clawback `<id>:refund:<refund id>`). `status` is
    as stored (`pending` for approved, `draft`, `rejected`, and a first-wave `paid` or `cancelled`)
    until `engine.balances.settle` derives the status of DESIGN section 7 at an as-of time, filling
    `fulfillment` and `paid_at` from the fulfillment that holds it.
    """

    distribution: str
    collaborator: str
    amount: Decimal
    units: str
    score: Decimal
    earned_at: datetime  # the distribution's period end; a program sale's payment time
    note: str = ""
    status: str = "pending"
    paid_at: str | None = None
    payable_at: datetime | None = None  # earned_at + hold (None: at once)
    fulfillment: str | None = None
    source: str = "distribution"
    key: str = ""  # the id when it is not `<distribution>:<collaborator>`

    @property
    def id(self) -> str:
        return self.key or f"{self.distribution}:{self.collaborator}"

    @property
    def origin(self) -> str:
        """The distribution id, or the program key (DESIGN section 7's `origin`)."""
        return self.distribution

    @property
    def payable_from(self) -> datetime:
        return self.payable_at or self.earned_at

    def to_record(self) -> Record:
        """A pending status and an empty note are left out (most of a 100,000-collaborator close).

        The lifecycle after closing is not written here: review and hold live in the distribution's
        summary, fulfillment membership and payment in the fulfillment's own records.
        """
        record: Record = {"score": str(self.score), "amount": str(self.amount)}
        if self.note:
            record["note"] = self.note
        if self.status != "pending":
            record["status"] = self.status
        if self.paid_at is not None:
            record["paid_at"] = self.paid_at
        return record

    @classmethod
    def closed(cls, distribution: str, collaborator: str, amount: Decimal, units: str, score: Decimal,
               earned_at: datetime, note: str, payable_at: datetime | None) -> Obligation:
        """A new obligation of a distribution that closes (`pending`): built straight as a tuple, as
        a close makes one per paid collaborator (100,000s)."""
        return _new_tuple(cls, (distribution, collaborator, amount, units, score, earned_at, note, "pending", None,
                                payable_at, None, "distribution", ""))

    @classmethod
    def from_record(cls, distribution: str, units: str, earned_at: datetime, collaborator: str,
                    r: Mapping[str, Any], payable_at: datetime | None = None, status: str | None = None,
                    fulfillment: str | None = None, paid_at: str | None = None) -> Obligation:
        """The stored document as an obligation; `status` (`fulfillment`, `paid_at`) when already
        derived. Built straight as a tuple: an overview reads 100,000s, and the named tuple's own
        `__new__` is a Python call more for each."""
        get = r.get
        return _new_tuple(cls, (distribution, collaborator, Decimal(r["amount"]), units, Decimal(r["score"]),
                                earned_at, get("note", ""), status or get("status", "pending"),
                                paid_at or get("paid_at"), payable_at, fulfillment, "distribution", ""))

    def settled(self, status: str, fulfillment: str | None = None, paid_at: str | None = None) -> Obligation:
        """This obligation with a derived status (and the fulfillment holding it, the time it was
        paid): one tuple built, where `_replace` costs four times as much."""
        return _new_tuple(Obligation, (*self[:7], status, self[8] if paid_at is None else paid_at, self[9],
                                       fulfillment, self[11], self[12]))


class Payout(NamedTuple):
    """One collaborator's payment in one unit within a fulfillment: their payable and negative
    obligations netted. Its id is `<fulfillment>:<collaborator>` (DESIGN section 7); a collaborator
    paid in two units has two payouts under one id, told apart by their currency."""

    fulfillment: str
    collaborator: str
    units: str
    amount: Decimal
    obligations: tuple[str, ...]  # obligation ids
    distributions: tuple[str, ...] = ()  # the distributions they come from (their site records show payment)

    @property
    def id(self) -> str:
        return f"{self.fulfillment}:{self.collaborator}"

    def to_record(self) -> Record:
        return {"collaborator": self.collaborator, "units": self.units, "amount": str(self.amount),
                "obligations": list(self.obligations), "distributions": list(self.distributions)}

    @classmethod
    def from_record(cls, fulfillment: str, r: Mapping[str, Any]) -> Payout:
        return cls(fulfillment, r["collaborator"], r["units"], Decimal(r["amount"]), tuple(r["obligations"]),
                   tuple(r.get("distributions", ())))


FULFILLMENT_STATUSES = ("open", "complete", "cancelled")


@dataclass(frozen=True)
class Fulfillment:
    """A batch of payouts handed to whoever pays (a payout file): `open` until it is `complete`
    (paid, except the payouts named in `excepted`, which went back to payable) or `cancelled`.

    `as_of` is the time its selection was made (obligations payable then, and the date in its id);
    `paid_at` is when its payouts were paid, as the user says (`complete --paid-at`), and
    `completed_at` when that was recorded. `collaborators` and `units` record the selection
    (empty: everyone, every unit).
    """

    id: str
    created_at: datetime
    as_of: datetime
    format: str
    files: tuple[str, ...]
    totals: Mapping[str, Decimal]  # units -> total paid in them
    payouts: int
    obligations: int
    collaborators: tuple[str, ...] = ()
    units: str | None = None
    status: str = "open"
    paid_at: datetime | None = None
    completed_at: datetime | None = None
    cancelled_at: datetime | None = None
    excepted: tuple[str, ...] = ()

    def to_record(self) -> Record:
        return {"id": self.id, "created_at": iso(self.created_at), "as_of": iso(self.as_of), "format": self.format,
                "files": list(self.files), "totals": {u: str(a) for u, a in self.totals.items()},
                "payouts": self.payouts, "obligations": self.obligations,
                "collaborators": list(self.collaborators), "units": self.units, "status": self.status,
                "paid_at": _iso_or_none(self.paid_at), "completed_at": _iso_or_none(self.completed_at),
                "cancelled_at": _iso_or_none(self.cancelled_at), "excepted": list(self.excepted)}

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> Fulfillment:
        return cls(id=r["id"], created_at=parse_time(r["created_at"]), as_of=parse_time(r["as_of"]),
                   format=r["format"], files=tuple(r.get("files", ())),
                   totals={u: Decimal(a) for u, a in r.get("totals", {}).items()}, payouts=int(r["payouts"]),
                   obligations=int(r["obligations"]), collaborators=tuple(r.get("collaborators", ())),
                   units=r.get("units"), status=r["status"], paid_at=_time_or_none(r.get("paid_at")),
                   completed_at=_time_or_none(r.get("completed_at")),
                   cancelled_at=_time_or_none(r.get("cancelled_at")), excepted=tuple(r.get("excepted", ())))


def _iso_or_none(value: datetime | None) -> str | None:
    return None if value is None else iso(value)


def _time_or_none(value: str | None) -> datetime | None:
    return None if value is None else parse_time(value)


@dataclass(frozen=True)
class Distribution:
    """One closed period of a distributor: what it earned, the pool, the scores and the obligations.

    `carried_in` and `carry_out` are the `{"revenue", "pool"}` decimal strings moved between
    periods; `scores` lists everyone who scored, highest first (a closed one's read back without
    their last scoring time, which only broke a tie and is not stored); `obligations` the payees,
    in the resolver's order.
    """

    id: str
    distributor: str
    name: str
    resolver: str
    period_start: datetime
    period_end: datetime
    units: str
    revenue: Decimal
    pool: Decimal
    unspent: Decimal
    carried_in: Mapping[str, str]
    carry_out: Mapping[str, str]
    events: int
    late_events: int
    late_buckets: tuple[str, ...]
    other_currency: Mapping[str, int]
    scores: tuple[Standing, ...]
    obligations: tuple[Obligation, ...]
    closed_at: datetime
    review: str = "approved"  # REVIEW_STATES: `draft` waits for `siren-sync approve`
    payable_at: datetime | None = None  # period end + the distributor's hold (None: at the period end)
    reviewed_at: datetime | None = None
    reason: str = ""  # why it was rejected
    # Records of the period that could not be computed, left out with their reason (`{"where",
    # "reason", "payload"}`): closing quarantines them, `check` shows them.
    set_aside: tuple[Record, ...] = ()

    def summary_record(self) -> Record:
        """The stored summary: everything but the per-collaborator lists (those have tables of their own).

        The review and the hold are written only when they differ from a first-wave distribution's
        (approved at once, payable at the period end), so those stores and these read alike.
        """
        record: Record = {
            "id": self.id, "distributor": self.distributor, "name": self.name, "resolver": self.resolver,
            "period_start": iso(self.period_start), "period_end": iso(self.period_end), "units": self.units,
            "revenue": str(self.revenue), "pool": str(self.pool), "carried_in": dict(self.carried_in),
            "carry_out": dict(self.carry_out), "unspent": str(self.unspent), "events": self.events,
            "late_events": self.late_events, "late_buckets": list(self.late_buckets),
            "other_currency": dict(self.other_currency), "closed_at": iso(self.closed_at),
            "obligation_count": len(self.obligations)}
        if self.review != "approved":
            record["review"] = self.review
        if self.payable_at is not None and self.payable_at != self.period_end:
            record["payable_at"] = iso(self.payable_at)
        if self.reviewed_at is not None:
            record["reviewed_at"] = iso(self.reviewed_at)
        if self.reason:
            record["reason"] = self.reason
        if self.set_aside:
            record["set_aside"] = len(self.set_aside)
        return record

    @classmethod
    def from_records(cls, summary: Mapping[str, Any], shares: tuple[Standing, ...],
                     obligations: tuple[Obligation, ...]) -> Distribution:
        return cls(id=summary["id"], distributor=summary["distributor"], name=summary["name"],
                   resolver=summary["resolver"], period_start=parse_time(summary["period_start"]),
                   period_end=parse_time(summary["period_end"]), units=summary["units"],
                   revenue=Decimal(summary["revenue"]), pool=Decimal(summary["pool"]),
                   unspent=Decimal(summary["unspent"]), carried_in=dict(summary.get("carried_in", {})),
                   carry_out=dict(summary.get("carry_out", {})), events=summary.get("events", 0),
                   late_events=summary.get("late_events", 0),
                   late_buckets=tuple(summary.get("late_buckets", ())),
                   other_currency=dict(summary.get("other_currency", {})), scores=shares,
                   obligations=obligations, closed_at=parse_time(summary["closed_at"]),
                   review=summary.get("review", "approved"), payable_at=payable_at_of(summary),
                   reviewed_at=_time_or_none(summary.get("reviewed_at")), reason=summary.get("reason", ""))

    def public_record(self) -> Record:
        """The `--json` shape of DESIGN section 6 (also the record's `meta.siren_sync`)."""
        return {"id": self.id, "distributor": self.distributor, "period_start": iso(self.period_start),
                "period_end": iso(self.period_end), "units": self.units, "revenue": str(self.revenue),
                "pool": str(self.pool),
                "obligations": [{"collaborator": o.collaborator, "score": str(o.score), "amount": str(o.amount)}
                                for o in self.obligations]}


def payable_at_of(summary: Mapping[str, Any]) -> datetime:
    """When a stored distribution's obligations become payable: its period end unless a hold moved it."""
    return parse_time(summary.get("payable_at") or summary["period_end"])


OUTBOX_STATUSES = ("queued", "posting", "posted")


@dataclass(frozen=True)
class OutboxEntry:
    """A distribution's record on its way to the site: `queued` -> `posting` (a POST may have been
    sent; `attempted_at`, real time, is the last moment it was known in flight: when it was sent, or
    when it got no answer; look before posting again) -> `posted` (`post_id`).

    Once posted, the record is brought up to date when the distribution's obligations are paid:
    each change asks for a new `revision`, and `revised` counts the revisions the site has. A
    revision rewrites the whole record, so sending it twice leaves the site as sending it once.
    """

    distribution: str
    slug: str
    status: str = "queued"
    attempts: int = 0
    last_error: str | None = None
    post_id: int | None = None
    posted_at: str | None = None
    revision: int = 0
    revised: int = 0
    attempted_at: str | None = None

    @property
    def waiting(self) -> bool:
        """Whether the site lacks the record or its latest revision."""
        return self.status != "posted" or self.revised < self.revision

    def to_record(self) -> Record:
        record: Record = {"distribution": self.distribution, "slug": self.slug, "status": self.status,
                          "attempts": self.attempts, "last_error": self.last_error}
        if self.post_id is not None:
            record["post_id"] = self.post_id
        if self.posted_at is not None:
            record["posted_at"] = self.posted_at
        if self.attempted_at is not None:
            record["attempted_at"] = self.attempted_at
        if self.revision:
            record["revision"] = self.revision
            record["revised"] = self.revised
        return record

    @classmethod
    def from_record(cls, r: Mapping[str, Any]) -> OutboxEntry:
        return cls(distribution=r["distribution"], slug=r["slug"], status=r.get("status", "queued"),
                   attempts=int(r.get("attempts", 0)), last_error=r.get("last_error"), post_id=r.get("post_id"),
                   posted_at=r.get("posted_at"), revision=int(r.get("revision", 0)),
                   revised=int(r.get("revised", 0)), attempted_at=r.get("attempted_at"))
