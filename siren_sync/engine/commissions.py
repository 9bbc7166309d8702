"""Program rewards per sale (DESIGN section 8): who engaged an order, who wins, how much, and refunds.

A program rewards one conversion when it happens. An order engages a collaborator through a bound
coupon (at the order's creation), a `?ref=` visit by the same visitor within the program's
`window` before the order was created (half-open: a visit exactly `window` before does not count)
or a ref the order names itself (at its session's start, within the same window; at the order's
creation when that time is unknown), a manual sale (at its time), or a product of
theirs in it (royalties: each owner on their own lines, no structure among owners). Engagements of
one collaborator merge, their count is their score. The structure then decides among the engaged:
the oldest or newest engagement takes it all (ties: smaller id), or the reward is split equally, by
number of engagements, or all to the top score, with the largest-remainder rule of the pools
(`resolvers.split`). In a group, only the program whose winning engagement is the oldest (newest)
pays, ties to the program key sorting first.

The amount is the sale's counted value under the program's compilers and line filters (the pools'
own `counted_value`) times the percentage, rounded half-up to the unit, or the flat amount once. A
refund of counted value `r` on a sale of counted value `v` takes `reward x r / v` back, rounded
half-up; a full refund or a cancellation takes back exactly what is left. Pure: no I/O.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from functools import lru_cache
from types import MappingProxyType
from typing import NamedTuple

from siren_sync.engine.pools import counted_value, order_value, other_currency, scaled
from siren_sync.engine.resolvers import split
from siren_sync.model import REVISIT, Allocation, Collaborator, Event, Program, Standing
from siren_sync.values import WIDE, iso

ROYALTY = "collaboratorProductSold"
VISIT = "referredSiteVisit"


class Engagement(NamedTuple):
    type: str
    collaborator: str
    at: datetime


class Engaged(NamedTuple):
    """One collaborator's engagements with an order, merged: how many, the first and the last (a
    revisit's too), and the last one that scored (a topScoreWins tie goes to who reached it first)."""

    collaborator: str
    score: int  # how many engagements, revisits left out
    first: datetime
    last: datetime
    scored: datetime


class Sale(NamedTuple):
    """One conversion as programs see it: the sale event and what may have brought it.

    `visits` are the `?ref=` visits by the order's visitor (any time: each program keeps those in its
    window), as (time, tracking id owner), and `revisits` those the access log did not count (inside
    the visitor's window for that owner) but recorded: another owner's link came between, so they
    move the owner's last touch, not their score; `named` is the owner of the ref the order names itself,
    `named_at` when the visit naming it began (None: unknown, it engages at the order's creation);
    `owners` maps each collaborator owning products of the order to those products. A named tuple:
    one is made per sale (a backfill makes 10,000s), in a quarter of the time of a frozen dataclass.
    """

    id: str  # the order id, or an imported sale's key
    event: Event
    created_at: datetime
    coupons: tuple[str, ...] = ()
    visits: tuple[tuple[datetime, str], ...] = ()
    named: str | None = None
    owners: Mapping[str, frozenset[int]] = MappingProxyType({})
    manual: str | None = None  # an imported sale's collaborator
    renewal_of: str | None = None  # a renewal: its first order
    named_at: datetime | None = None
    revisits: tuple[tuple[datetime, str], ...] = ()

    @property
    def paid_at(self) -> datetime:
        return self.event.at


class Royalty(NamedTuple):
    """One admitted owner's reward on their own lines: what `award` makes their royalty of, and what
    a program of royalties alone writes as it is (`royalties_alone`)."""

    collaborator: str
    products: frozenset[int]  # what their lines sold (a variation's id for a variable product's line)
    value: Decimal  # their lines' counted value (a refund takes back the same share of it)
    amount: Decimal
    note: str  # "<collaborator>'s lines: <the arithmetic>"


class Award(NamedTuple):
    """What one program pays for one sale, and why (shown by `explain`)."""

    program: str
    allocations: tuple[Allocation, ...]  # collaborator, score (engagements), amount, note
    value: Decimal  # the sale's counted value for the program (0 when only royalties pay: each owner's is apart)
    engagements: tuple[Engagement, ...]
    won_at: datetime | None  # its winning engagement's time (a group compares these)
    why: str
    arithmetic: str
    # each owner's royalty among the allocations (the rest of an owner's allocation is their share)
    royalties: Mapping[str, Royalty] = MappingProxyType({})


Admits = Callable[[str], bool]


def engagements(sale: Sale, program: Program) -> list[Engagement]:
    """The engagements of `sale` of the types `program` lists, visits within its window (royalties
    apart)."""
    kinds = program.engagements
    # a loop, not a comprehension added to the list: most sales have one coupon or none
    found = []
    if sale.coupons and "boundCouponUsed" in kinds:
        for who in sale.coupons:
            found.append(Engagement("boundCouponUsed", who, sale.created_at))
    if (sale.visits or sale.revisits or sale.named is not None) and VISIT in kinds:
        found += referred(sale, program.window)
    if sale.manual is not None and "manual" in kinds:
        found.append(Engagement("manual", sale.manual, sale.paid_at))
    return found


def referred(sale: Sale, window: timedelta) -> list[Engagement]:
    """The `?ref=` visits of `sale` in `window` before its creation (`created - window < at <=
    created`), and the ref the order names: at its own time in the same window, or at the order's
    creation when its time is unknown; counted once with a visit of the same collaborator (the visit).
    The revisits in the window come as `REVISIT` engagements (see `revisited`)."""
    created = sale.created_at
    earliest = created - window
    # most referred sales name their ref, no visit of theirs remembered: nothing to look through
    found = [Engagement(VISIT, who, at) for at, who in sale.visits if earliest < at <= created] if sale.visits else []
    if sale.revisits:
        found += revisited(sale.revisits, found, earliest, created)
    named, at = sale.named, sale.named_at
    if named is not None and (not found or all(v.collaborator != named for v in found)):
        if at is None:
            found.append(Engagement(VISIT, named, created))
        elif earliest < at <= created:
            found.append(Engagement(VISIT, named, at))
    return found


def revisited(revisits: Iterable[tuple[datetime, str]], visits: list[Engagement], earliest: datetime,
              created: datetime) -> list[Engagement]:
    """The revisits in `(earliest, created]` as `REVISIT` engagements (a last touch, no score). A
    collaborator's revisit that comes before any visit of theirs in the window is a `VISIT` instead:
    its visitor window opened before the program's window, and still counts once in it."""
    first: dict[str, datetime] = {}
    for v in visits:
        first[v.collaborator] = min(first.get(v.collaborator, v.at), v.at)
    found = []
    for at, who in sorted(revisits):
        if earliest < at <= created:
            opening = who not in first or at < first[who]
            if opening:
                first[who] = at
            found.append(Engagement(VISIT if opening else REVISIT, who, at))
    return found


def merged(found: Sequence[Engagement], admits: Admits) -> list[Engaged]:
    """Each admitted collaborator's engagements merged (Siren: repeated engagements add; a revisit
    moves the first or last, it adds nothing), by id."""
    if len(found) == 1:  # most engaged sales: one coupon or one visit, nothing to merge or sort
        e = found[0]
        scores = 0 if e.type == REVISIT else 1
        return [Engaged(e.collaborator, scores, e.at, e.at, e.at)] if admits(e.collaborator) else []
    by_who: dict[str, Engaged] = {}
    for e in found:
        if not admits(e.collaborator):
            continue
        seen = by_who.get(e.collaborator)
        scores = e.type != REVISIT
        if seen is None:
            by_who[e.collaborator] = Engaged(e.collaborator, int(scores), e.at, e.at, e.at)
        else:
            by_who[e.collaborator] = Engaged(e.collaborator, seen.score + scores, min(seen.first, e.at),
                                             max(seen.last, e.at), max(seen.scored, e.at) if scores else seen.scored)
    return [by_who[who] for who in sorted(by_who)]


def reward_of(program: Program, value: Decimal) -> tuple[Decimal, str]:
    """(the reward for a sale of counted `value`, its arithmetic in words)."""
    if program.flat is not None:
        return program.flat, f"flat {program.flat} {program.units} per conversion"
    return _percent_of(value, _terms(program))


def _terms(program: Program) -> tuple[Decimal, Decimal, str, str]:
    """What every reward of a percentage program shares (`_percent`)."""
    assert program.percentage is not None
    return _percent(program.percentage, program.exponent, program.units)


def _percent_of(value: Decimal, terms: tuple[Decimal, Decimal, str, str]) -> tuple[Decimal, str]:
    """`reward_of` for a percentage, its `terms` made once for all a sale's owners."""
    rate, quantum, before, after = terms
    # exact: a bounded value times a bounded percentage (its exponent moved by two), then one rounding
    amount = WIDE.multiply(value, rate).quantize(quantum, ROUND_HALF_UP, WIDE)
    # `!s`: the same text as `format` (an empty spec), in half the instructions (no spec to parse)
    return amount, f"{before}{value!s} = {amount!s}{after}"


@lru_cache(maxsize=32)
def _percent(percentage: Decimal, exponent: int, units: str) -> tuple[Decimal, Decimal, str, str]:
    """What every reward of a percentage shares, made once: (the rate, the rounding quantum, the
    words before the value and after the amount)."""
    quantum = _quantum(exponent)
    return (percentage.scaleb(-2), quantum, f"{_plain(percentage)}% of ",
            f" {units} (rounded half-up to {quantum})")


def iso_of(value: datetime) -> str:
    """`iso(value)`, faster for a UTC time: a sale's rewards name its payment and creation times and
    its engagements', each a time of its own (a backfill formats 10,000s). Other zones go to `iso`."""
    if value.tzinfo is not UTC:
        return iso(value)
    # A UTC time: its day's text made once per day (`_utc_day`), the clock's from a table of two
    # digits. A third of the instructions of `isoformat` (which asks the zone its offset) or of a
    # `%`-format; no cache of whole times, whose hash (an aware time's asks its offset too) costs
    # half a format and which are nearly all distinct. Here, not in a function of its own: a call
    # for each of the 10,000s of times.
    return f"{_utc_day(value.toordinal())}{_TWO[value.hour]}:{_TWO[value.minute]}:{_TWO[value.second]}+00:00"


_TWO = tuple(f"{n:02d}" for n in range(60))  # 00 to 59: an hour, a minute, a second


@lru_cache(maxsize=1024)
def _utc_day(ordinal: int) -> str:
    """`YYYY-MM-DDT` of a proleptic Gregorian day (`date.toordinal`), as `isoformat` writes it."""
    day = date.fromordinal(ordinal)
    return "%04d-%02d-%02dT" % (day.year, day.month, day.day)  # noqa: UP031 (the year in four digits)


@lru_cache(maxsize=32)
def _quantum(exponent: int) -> Decimal:
    return Decimal(1).scaleb(-exponent)


@lru_cache(maxsize=256)
def _plain(number: Decimal) -> str:
    return format(number.normalize(), "f")


def reward_text(program: Program) -> str:
    """The reward in words (`check`): `25% of each sale`, `flat 50.00 USD`."""
    if program.percentage is not None:
        return f"{_plain(program.percentage)}% of each sale"
    return f"flat {program.flat} {program.units}"


def resolve(program: Program, engaged: list[Engaged], amount: Decimal) -> tuple[list[Allocation], str, datetime]:
    """(allocations, which won and why, the winning engagement's time) of `amount` among `engaged`."""
    structure = program.structure
    if structure in ("oldestEngagementWins", "newestEngagementWins"):
        oldest = structure == "oldestEngagementWins"
        winner = engaged[0] if len(engaged) == 1 else min(engaged, key=(  # most sales: one engaged
            (lambda e: (e.first, e.collaborator)) if oldest else (lambda e: (-e.last.timestamp(), e.collaborator))))
        at = winner.first if oldest else winner.last
        tied = [e.collaborator for e in engaged if e is not winner and (e.first if oldest else e.last) == at
                ] if len(engaged) > 1 else []
        why = (f"{structure}: {winner.collaborator}'s engagement at {iso_of(at)} is the "
               f"{'oldest' if oldest else 'newest'}")
        if tied:
            why += f" (tied with {', '.join(tied)}: the smaller id wins)"
        return [Allocation(winner.collaborator, Decimal(winner.score), amount, why)], why, at
    ranked = sorted(engaged, key=lambda e: (-e.score, e.collaborator))
    standings = [Standing(e.collaborator, Decimal(e.score), iso(e.scored)) for e in ranked]
    allocations = split(structure, amount, standings, program.exponent)
    counts = ", ".join(f"{e.collaborator} {e.score}" for e in ranked)
    why = {"sharedEngagementPool": f"sharedEngagementPool: equal shares among {len(ranked)} engaged",
           "performanceSharedPool": f"performanceSharedPool: shares by number of engagements ({counts})",
           "topScoreWins": f"topScoreWins: the most engagements ({counts})"}[structure]
    if program.group_structure == "oldestEngagementWins":
        at = min(e.first for e in engaged)
    else:
        at = max(e.last for e in engaged)
    return allocations, why, at


def award(program: Program, sale: Sale, owned: Collection[int], admits: Admits, foreign: bool = True) -> Award | None:
    """What `program` pays for `sale` (a first sale, not a renewal), or None when it pays nothing. Not
    `foreign` (the caller knows the order is in the unit of every currency program: most orders),
    its currency is not compared again."""
    if not program.active or program.conversion != "sale":
        return None
    found = engagements(sale, program)
    engaged = merged(found, admits) if found else []
    owners = bool(sale.owners) and ROYALTY in program.engagements and any(map(admits, sale.owners))
    if (not engaged and not owners) or (foreign and other_currency(sale.event, program)):
        return None  # most orders: nobody engaged, nothing to count
    value = _value(sale.event, program, owned) if engaged else Decimal(0)  # royalties alone: their own
    allocations: list[Allocation] = []
    why: list[str] = []
    arithmetic: list[str] = []
    won_at = None
    if engaged:
        amount, words = reward_of(program, value)
        allocations, reason, won_at = resolve(program, engaged, amount)
        why.append(reason)
        arithmetic.append(words)
    royalties = _royalties(program, sale, admits) if owners else {}
    if royalties:
        found += [Engagement(ROYALTY, who, sale.created_at) for who in royalties]
        allocations += [Allocation(r.collaborator, Decimal(len(r.products)), r.amount, r.note)
                        for r in royalties.values()]
        won_at = sale.created_at if won_at is None else min(won_at, sale.created_at)
        why.append("royalties: each owner on their own lines")
        arithmetic += [r.note for r in royalties.values()]
    if len(allocations) == 1:  # most sales: one engaged, no royalty
        kept = tuple(allocations) if allocations[0].amount > 0 else ()
    else:
        kept = tuple(a for a in _merged_allocations(allocations) if a.amount > 0)
    if not kept:
        return None
    return Award(program.key, kept, value, tuple(found), won_at, "; ".join(why), "; ".join(arithmetic), royalties)


def _merged_allocations(allocations: list[Allocation]) -> list[Allocation]:
    """One allocation per collaborator: one engaged with the order who also owns a product of it
    gets both rewards as one (a reward's id names the program, the order and the collaborator);
    the award's `royalties` keep the royalty part apart (a renewal pays both parts again)."""
    by_who: dict[str, Allocation] = {}
    for a in allocations:
        seen = by_who.get(a.collaborator)
        by_who[a.collaborator] = a if seen is None else Allocation(
            a.collaborator, seen.score + a.score, seen.amount + a.amount, f"{seen.note}; {a.note}".strip("; "))
    return list(by_who.values())


def royalty_scope(program: Program) -> Program:
    """`program` counting only collaborator-owned lines: given one owner's products, their own lines."""
    return program.owned_lines_only


def royalties(program: Program, sale: Sale, admits: Admits) -> list[Royalty]:
    """Each admitted owner's reward on their own lines (`collaboratorOwned` with their products), by
    id, whatever its amount (`award` keeps those above zero). The caller has checked the order's
    currency (`other_currency`): an order in another currency pays no royalty."""
    own = royalty_scope(program)
    terms = _terms(program) if program.flat is None else None  # once per sale, not per owner
    found = []
    event = sale.event
    for who, products in sorted(sale.owners.items()):  # by id (ids are unique: never compares products)
        if admits(who):
            value = _value(event, own, products)
            amount, words = reward_of(program, value) if terms is None else _percent_of(value, terms)
            found.append(Royalty(who, products, value, amount, f"{who}'s lines: {words}"))
    return found


def royalties_alone(program: Program) -> bool:
    """Whether `program`'s award for a first sale is its owners' `royalties` and nothing else: an
    active sale program engaged by royalties only (nobody else to merge, no structure) in no group
    (no choice among programs). Most sales of such a program need no `Award`: see `award`."""
    return (program.active and program.conversion == "sale" and program.group is None
            and set(program.engagements) == {ROYALTY})


def _royalties(program: Program, sale: Sale, admits: Admits) -> dict[str, Royalty]:
    """`royalties` by owner, in the same order."""
    return {r.collaborator: r for r in royalties(program, sale, admits)}


def _value(event: Event, program: Program, owned: Collection[int]) -> Decimal:
    """The sale's counted value for `program`, whose currency `award` has checked once for all."""
    return order_value(event, event.order, program, owned) if event.order is not None else counted_value(
        event, program, owned)


def renewal_award(program: Program, sale: Sale, first: Mapping[str, Decimal], owned: Collection[int]) -> Award | None:
    """A renewal pays the collaborators the first order paid in `program` (`first`: id -> amount
    then), its reward split in the same proportions (largest remainder)."""
    if not program.active or not first or other_currency(sale.event, program):
        return None
    value = counted_value(sale.event, program, owned)
    amount, words = reward_of(program, value)
    ranked = sorted(first.items(), key=lambda p: (-p[1], p[0]))
    allocations = split("performanceSharedPool", amount, [Standing(who, paid) for who, paid in ranked],
                        program.exponent)
    why = f"renewal of order {sale.renewal_of}: paid as the first order was ({', '.join(first)})"
    kept = tuple(Allocation(a.collaborator, a.score, a.amount, why) for a in allocations)
    return Award(program.key, kept, value, (), sale.created_at, why, words) if kept else None


def renewal_royalties(program: Program, sale: Sale, products: Mapping[str, frozenset[int]]) -> list[Royalty]:
    """A renewal pays each owner whose first-order reward was a royalty (`products`: owner -> what
    their royalty was on) a royalty again, on the renewal's lines of those products only: each
    owner is rewarded on their own lines (DESIGN 8), never on the whole renewal. An owner with no
    such line in the renewal earns nothing from it."""
    if not program.active or other_currency(sale.event, program):
        return []
    sold = {line.sold_id for line in sale.event.order.lines} if sale.event.order is not None else set()
    mine = {who: bought for who, bought in products.items() if bought & sold}
    return [r for r in royalties(program, sale._replace(owners=mine), mine.__contains__) if r.amount > 0]


def renewed(award: Award | None, royalties: list[Royalty]) -> tuple[Award | None, list[Royalty]]:
    """A renewal's `renewal_award` and `renewal_royalties`, each collaborator paid once: one in both
    (their first reward was a share and a royalty merged) gets the two as one allocation of the
    award, their royalty kept apart in its `royalties` as a first sale's award keeps it, and its
    arithmetic beside the share's; a share of zero leaves the royalty alone. Those in one only are
    as they were (most renewals: nobody is in both)."""
    if award is None or not royalties:
        return award, royalties
    mine = {r.collaborator: r for r in royalties}
    if not any(x.collaborator in mine for x in award.allocations):
        return award, royalties
    allocations, parts = [], {}
    for x in award.allocations:
        r = mine.get(x.collaborator)
        if r is None:
            allocations.append(x)
        elif x.amount > 0:
            allocations.append(Allocation(x.collaborator, x.score, x.amount + r.amount, f"{x.note}; {r.note}"))
            parts[r.collaborator] = r
    arithmetic = "; ".join([award.arithmetic, *(r.note for r in parts.values())])
    return (award._replace(allocations=tuple(allocations), arithmetic=arithmetic, royalties=parts) if allocations
            else None), [r for r in royalties if r.collaborator not in parts]


def in_groups(awards: Iterable[Award], programs: Mapping[str, Program]) -> list[Award]:
    """One award per group: the one whose winning engagement is the oldest (or newest, the group's
    rule), ties to the program key sorting first; ungrouped programs all pay."""
    awards = list(awards)
    if len(awards) < 2:
        return awards  # most sales: nothing to choose between
    chosen: dict[str, Award] = {}
    out = []
    for a in sorted(awards, key=lambda a: a.program):
        p = programs[a.program]
        if p.group is None:
            out.append(a)
            continue
        held = chosen.get(p.group)
        if held is None or _earlier(a, held, p.group_structure == "oldestEngagementWins"):
            chosen[p.group] = a
    return sorted(out + list(chosen.values()), key=lambda a: a.program)


def _earlier(a: Award, held: Award, oldest: bool) -> bool:
    """Whether `a` beats `held` (a sorts after held by key, so a tie keeps held)."""
    if a.won_at is None or held.won_at is None:
        return held.won_at is None and a.won_at is not None
    return a.won_at < held.won_at if oldest else a.won_at > held.won_at


def adjustment(reward: Decimal, left: Decimal, refunded: Decimal, value: Decimal, exponent: int, full: bool,
               flat: bool) -> Decimal:
    """What a refund takes back from a reward (zero or negative): `-reward x r / v` rounded half-up
    (`refunded` is the refund's counted value `r`, negative), never more than is `left`; a full
    refund or cancellation takes exactly what is left; a flat reward goes back only then."""
    if full:
        return -left
    if flat or not value:
        return Decimal(0).scaleb(-exponent)
    taken = scaled(reward, refunded, value, exponent)
    return max(taken, -left)


def admitted(program: Program, collaborators: Mapping[str, Collaborator]) -> Admits:
    """Who can earn in `program`: known, active members."""
    return frozenset(who for who, c in collaborators.items() if program.admits(c)).__contains__
