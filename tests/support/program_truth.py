"""The end-to-end tests' oracle for programs: the rewards a sandbox shop should have earned, computed
from the sandbox's own ground truth, never from siren-sync's code.

`expected_rewards` regenerates the sandbox in this process (same seed and options: the same orders,
coupons, visitors, subscriptions and refunds, as `tests.support.e2e.true_revenue` does for the
distributors), reads the `?ref=` visits from the access log the sandbox process wrote, and applies
DESIGN section 8 as written, for sale programs paying a percentage with `boundCouponUsed`,
`referredSiteVisit` (oldest or newest engagement wins) and `collaboratorProductSold`:

- a paid USD order engages the owner of a collaborator coupon on it at its creation; a `?ref=` visit
  by the same visitor (the log line's address, an IPv4-mapped IPv6 address as its IPv4, and agent
  equal to the order's; only for an order the storefront's checkout created, `created_via:
  checkout`: a phone order records the shop manager's computer, not the customer's) within the
  window before its creation (half-open: `created - window < visit <= created`) at the visit's time;
  the ref its order attribution names, at its session's start (in the same window), unless a visit
  of the same collaborator already engages it; the access log's own rule applies first: one visit
  per visitor and collaborator in 30 minutes, bots never, but a repeat inside them after another
  collaborator's link is a time too (README "The last touch inside the access log's 30 minutes":
  only oldest and newest are computed here, no scores);
- newest (oldest) engagement wins, ties to the smaller id; the reward is the percentage of the counted
  value (line subtotals less discounts), rounded half-up to the cent; a product owner gets the
  percentage of their own lines (the discount pro rata, the value rounded to the cent first);
- a renewal order pays, in the programs the first order paid, the percentage of its own value to the
  first order's collaborators (in the proportion they were paid, largest remainder);
- a refund of `r` (its share of the counted value, rounded to the cent) takes `reward x r / v` back,
  rounded half-up, never more than is left; refunds reaching the total, or a cancellation, take it all;
  from a reward not yet paid it is taken, from a paid one it is a clawback (`obligations`).
"""
from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from fractions import Fraction
from pathlib import Path
from typing import NamedTuple
from urllib.parse import parse_qsl, urlsplit

from siren_sync.sandbox.generate import COLLABORATORS

COUPON, VISIT, ROYALTY = "boundCouponUsed", "referredSiteVisit", "collaboratorProductSold"
DAY = 86_400
VISITOR_WINDOW = 1_800  # the access log counts one visit per visitor and collaborator in 30 minutes
USERS = {user: ours for user, *_, ours in COLLABORATORS}  # WordPress user id -> collaborator id
TRACKING = {ours: ours for *_, ours in COLLABORATORS}  # the sandbox's tracking ids are the collaborators' ids
CANCELLED = ("cancelled", "failed", "trash")
LOG_LINE = re.compile(r'^(?P<ip>\S+) \S+ \S+ \[(?P<time>[^\]]+)\] "(?P<method>\S+) (?P<target>\S+) [^"]*" '
                      r'(?P<status>\d{3}) \S+ "[^"]*" "(?P<agent>[^"]*)"$')


@dataclass(frozen=True)
class Rule:
    """What the oracle knows of one program (all members, USD, `renewals: true`, `clawback: true`)."""

    key: str
    percentage: int
    engagements: frozenset[str]
    newest: bool = True  # newestEngagementWins; False: oldestEngagementWins
    window: int = 30 * DAY


class Change(NamedTuple):
    """What one refund or a cancellation takes from a reward (zero or negative), and when."""

    at: int  # epoch seconds
    refund: str  # the refund's id, or "cancel"
    amount: Decimal


@dataclass
class Reward:
    """One expected obligation: its reward when earned, and what refunds left of it."""

    id: str
    order: int
    collaborator: str
    reward: Decimal
    value: Decimal  # the counted value `v` its refunds are taken from
    lines: frozenset[int] | None = None  # a royalty: the owner's products (their lines' value is `v`)
    renewal_of: int | None = None
    amount: Decimal = field(default=Decimal(0))  # what is left of it
    changes: list[Change] = field(default_factory=list)


def obligations(rewards: Mapping[str, Reward], paid_at: int | None = None, paid: Iterable[str] = ()) -> dict[
        str, Decimal]:
    """Every obligation the rewards make, by id: with the rewards `paid` at `paid_at`, what a refund
    takes from one of them afterwards is a clawback `<id>:refund:<refund id>`, the reward staying as
    it was paid; the others are reduced."""
    paid = set(paid)
    found = {}
    for r in rewards.values():
        if r.id not in paid or paid_at is None:
            found[r.id] = r.amount
            continue
        found[r.id] = r.reward + sum(c.amount for c in r.changes if c.at <= paid_at)
        found.update({f"{r.id}:refund:{c.refund}": c.amount for c in r.changes if c.at > paid_at and c.amount})
    return found


def cents(value: Fraction) -> Decimal:
    """Dollars (exact) to cents, halves away from zero."""
    scaled = (Decimal(abs(value.numerator)) * 100 / Decimal(value.denominator)).quantize(Decimal(1), ROUND_HALF_UP)
    return (scaled if value >= 0 else -scaled).scaleb(-2)


def device(address: str, agent: str) -> tuple[str, str]:
    """A visitor: the client address (an IPv4-mapped IPv6 address as its IPv4) and the user agent."""
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return str(ip), agent


def log_visits(text: str) -> dict[tuple[str, str], list[tuple[int, str]]]:
    """Each visitor's counted `?ref=` visits and revisits (epoch seconds, collaborator) in an access
    log's text."""
    counted: dict[tuple[str, str], list[tuple[int, str]]] = {}
    opened: dict[tuple[tuple[str, str], str], int] = {}
    last: dict[tuple[str, str], str] = {}  # visitor -> whose link their newest visit kept was
    for line in text.splitlines():
        m = LOG_LINE.match(line)
        if m is None or m["method"] != "GET" or not m["status"].startswith("2") or "bot" in m["agent"].lower():
            continue
        who = TRACKING.get(dict(parse_qsl(urlsplit(m["target"]).query)).get("ref", ""))
        if who is None:
            continue
        at = int(datetime.strptime(m["time"], "%d/%b/%Y:%H:%M:%S %z").timestamp())
        visitor = device(m["ip"], m["agent"])
        if at - opened.get((visitor, who), at - VISITOR_WINDOW) >= VISITOR_WINDOW:
            opened[(visitor, who)] = at
        elif last.get(visitor) == who:
            continue  # a repeat inside the visitor's window, with no other link since
        last[visitor] = who
        counted.setdefault(visitor, []).append((at, who))
    return counted


def dollars(cents_: int) -> Fraction:
    return Fraction(cents_, 100)


def _compiled(order, products: frozenset[int] | None = None) -> Fraction:
    """Line subtotals less discounts; of `products`' lines only (their share of the discount)."""
    everything = sum(dollars(li.subtotal) for li in order.line_items)
    if products is None:
        return everything - dollars(order.discount_total)
    kept = sum(dollars(li.subtotal) for li in order.line_items if li.product_id in products)
    return kept - (dollars(order.discount_total) * kept / everything if everything else 0)


def _percent(value: Decimal, rule: Rule) -> Decimal:
    return cents(Fraction(value) * rule.percentage / 100)


class Oracle:
    """The rewards of `rules` on a regenerated sandbox (`box`, its clock at the end) and its access log."""

    def __init__(self, box, log_text: str, rules: Iterable[Rule]):
        self.site = box.site
        self.visits = log_visits(log_text)
        self.rules = list(rules)
        self.owner = {pid: USERS[p.owner] for pid, p in self.site.products.items() if p.owner in USERS}
        self.coupon_owner = {c.code.lower(): USERS[c.owner] for c in self.site.coupons.values() if c.owner in USERS}
        self.rewards: dict[str, Reward] = {}

    def run(self) -> dict[str, Reward]:
        paid = [o for o in self.site.orders.values() if self._paid(o) and o.currency == "USD"]
        for o in sorted(paid, key=lambda o: (o.renews is not None, o.id)):  # first orders before renewals
            for rule in self.rules:
                allocations = self._renewal(o, rule) if o.renews is not None else self._award(o, rule)
                for reward in allocations:
                    if reward.reward > 0:
                        self.rewards[reward.id] = reward
        for reward in self.rewards.values():
            reward.changes = self._changes(reward)
            reward.amount = reward.reward + sum(c.amount for c in reward.changes)
        return self.rewards

    @staticmethod
    def _paid(o) -> bool:
        from siren_sync.sandbox.site import PAID_STATUSES
        return o.paid is not None or o.status in PAID_STATUSES

    def _award(self, o, rule: Rule) -> list[Reward]:
        out = []
        winner = self._winner(o, rule)
        if winner is not None:
            value = cents(_compiled(o))
            out.append(Reward(f"{rule.key}:{o.id}:{winner}", o.id, winner, _percent(value, rule), value))
        if ROYALTY in rule.engagements:
            mine: dict[str, set[int]] = {}
            for li in o.line_items:
                if li.product_id in self.owner and li.quantity:
                    mine.setdefault(self.owner[li.product_id], set()).add(li.product_id)
            for who, products in sorted(mine.items()):
                value = cents(_compiled(o, frozenset(products)))
                out.append(Reward(f"{rule.key}:{o.id}:{who}", o.id, who, _percent(value, rule), value,
                                  frozenset(products)))
        return out

    def _engagements(self, o, rule: Rule) -> list[tuple[str, int]]:
        """(collaborator, time) of each engagement of the order in `rule`."""
        found = []
        if COUPON in rule.engagements:
            found += [(self.coupon_owner[c.code.lower()], o.created) for c in o.coupon_lines
                      if c.code.lower() in self.coupon_owner]
        if VISIT in rule.engagements:
            seen = self.visits.get(device(o.customer_ip, o.customer_agent), []) if o.created_via == "checkout" else []
            visits = [(who, at) for at, who in seen if o.created - rule.window < at <= o.created]
            found += visits
            named = self._named(o)
            if named is not None and named not in {who for who, _ in visits} and \
                    o.created - rule.window < o.attribution.session_start <= o.created:
                found.append((named, o.attribution.session_start))
        return found

    @staticmethod
    def _named(o) -> str | None:
        """The collaborator whose ref the order's attribution landing page names."""
        if o.attribution is None:
            return None
        return TRACKING.get(dict(parse_qsl(urlsplit(o.attribution.entry).query)).get("ref", ""))

    def _winner(self, o, rule: Rule) -> str | None:
        found = self._engagements(o, rule)
        if not found:
            return None
        times: dict[str, list[int]] = {}
        for who, at in found:
            times.setdefault(who, []).append(at)
        if rule.newest:
            return min(times, key=lambda who: (-max(times[who]), who))
        return min(times, key=lambda who: (min(times[who]), who))

    def _renewal(self, o, rule: Rule) -> list[Reward]:
        first = o.renews.parent.id
        paid = {r.collaborator: r.reward for r in self.rewards.values()
                if r.order == first and r.id.startswith(f"{rule.key}:")}
        if not paid:
            return []
        value = cents(_compiled(o))
        amounts = split(_percent(value, rule), paid)
        return [Reward(f"{rule.key}:{o.id}:{who}", o.id, who, amount, value, renewal_of=first)
                for who, amount in amounts.items()]

    def _changes(self, r: Reward) -> list[Change]:
        """What each refund, then a cancellation, of the reward's order takes back, in time order:
        `reward x r / v` rounded half-up and never more than is left; all that is left once the
        refunds reach the order's total, or at a cancellation."""
        o = self.site.orders[r.order]
        total, changes, left, share = o.total, [], r.reward, Fraction(0)
        if total <= 0:
            return []
        for x in sorted(o.refunds, key=lambda x: (x.created, str(x.id))):
            share += Fraction(x.amount, total)
            back = cents(_compiled(o, r.lines) * Fraction(x.amount, total))
            taken = cents(Fraction(r.reward) * Fraction(back) / Fraction(r.value)) if r.value else Decimal("0.00")
            changes.append(Change(x.created, str(x.id), -(left if share >= 1 else min(taken, left))))
            left += changes[-1].amount
        if o.status in CANCELLED or (o.status == "refunded" and sum(x.amount for x in o.refunds) < total):
            changes.append(Change(o.modified, "cancel", -left))
        return changes


def split(amount: Decimal, weights: Mapping[str, Decimal]) -> dict[str, Decimal]:
    """`amount` split in proportion to `weights`, to the cent, by largest remainder (ties: the higher
    weight, then the smaller id)."""
    total = sum(weights.values())
    exact = {who: Fraction(amount) * Fraction(w) / Fraction(total) * 100 for who, w in weights.items()}
    floor = {who: int(x) for who, x in exact.items()}
    spare = int(amount * 100) - sum(floor.values())
    for who in sorted(exact, key=lambda w: (-(exact[w] - floor[w]), -weights[w], w))[:spare]:
        floor[who] += 1
    return {who: Decimal(c).scaleb(-2) for who, c in floor.items()}


def expected_rewards(seed: int, days: int, orders_per_day: float, now: datetime, access_log: Path,
                     rules: Iterable[Rule]) -> dict[str, Reward]:
    """The rewards (by obligation id) a worker should hold at `now` for a sandbox started with
    `--seed seed --days days --orders-per-day orders_per_day --visitors --subscriptions`."""
    from siren_sync.sandbox import Sandbox

    box = Sandbox(seed=seed, days=days, orders_per_day=orders_per_day, visitors=True, subscriptions=True)
    box.set_now(now)  # never started: no server
    with box.site.lock:
        return Oracle(box, access_log.read_text(), rules).run()
