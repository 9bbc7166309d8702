"""Payout rules: when an obligation becomes payable, its status at a time, balances and the minimum.

An obligation is owed from the moment its distribution closes (or its program's sale is paid), but
it is paid only through the steps partner platforms use (DESIGN section 7): approved (`draft` until
then, with `review`), held for refunds (`pending` until `payable_at = earned_at + hold`), then
`payable`, `processing` in an open fulfillment, `paid` when that fulfillment completes. A status is
never stored: it is derived here from what was decided (the obligation's stored status, the
fulfillment holding it, as it stands) and the as-of time, which is the clock of the hold: the
same store answers "what is payable now?" and "what will be payable on the first?".

A collaborator's balance in a unit is their payable obligations plus their negative obligations not
yet settled (clawbacks): a fulfillment pays it whole when it reaches the unit's minimum, and never
pays a negative or zero balance, which waits to be netted against later obligations.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import NamedTuple

from siren_sync.engine.units import decimals_of
from siren_sync.model import OBLIGATION_STATUSES, Obligation
from siren_sync.values import iso


def payable_at(earned_at: datetime, hold: timedelta) -> datetime | None:
    """`earned_at + hold`, an exact duration (shown in `earned_at`'s zone); None without a hold."""
    if not hold:
        return None
    return (earned_at.astimezone(UTC) + hold).astimezone(earned_at.tzinfo)


class Claim(NamedTuple):
    """An obligation's place in one fulfillment: `processing` while it is open, `paid` once it
    completed with it (`paid_at`), `returned` when it went back to payable (the fulfillment was
    cancelled, or completed with this payout excepted)."""

    fulfillment: str
    state: str
    paid_at: datetime | None = None


class Settling(NamedTuple):
    """What deriving statuses needs: the fulfillments' claims (obligation id -> Claim) and the time."""

    claims: Mapping[str, Claim]
    as_of: datetime


def status_of(stored: str, claim: Claim | None, ready: bool) -> tuple[str, str | None, str | None]:
    """(status, fulfillment, paid time) of an obligation of DESIGN section 7, from its stored status,
    the fulfillment claim on it, and whether its hold is over at the as-of time (`ready`).

    A first-wave `paid` stays paid and its `cancelled` reads as `rejected`; `draft` and `rejected`
    are decisions. Otherwise the fulfillment holding it decides, as it stands (fulfillments are
    facts recorded when they happen, not moved by an as-of time); without one, the hold does.
    """
    if stored != "pending":
        return ("rejected" if stored == "cancelled" else stored), None, None
    if claim is None or claim.state == "returned":
        return ("payable" if ready else "pending"), None, None
    if claim.state == "paid":
        return "paid", claim.fulfillment, None if claim.paid_at is None else iso(claim.paid_at)
    return "processing", claim.fulfillment, None


def settle_all(obligations: Iterable[Obligation], settling: Settling) -> list[Obligation]:
    """The obligations with their status at `settling.as_of` (and their fulfillment, paid time)."""
    out = []
    for o in obligations:
        status, fulfillment, paid = status_of(o.status, settling.claims.get(o.id), o.payable_from <= settling.as_of)
        out.append(o if status == o.status and fulfillment is None and paid is None
                   else o.settled(status, fulfillment, paid))
    return out


def settle(o: Obligation, claim: Claim | None, as_of: datetime) -> Obligation:
    """One obligation with its status at `as_of`."""
    return settle_all([o], Settling({} if claim is None else {o.id: claim}, as_of))[0]


def in_balance(o: Obligation) -> bool:
    """Whether a settled obligation counts in its collaborator's balance (and so goes into a
    payout): payable ones, and negative ones from the moment they are approved (`totals` inlines it)."""
    return o.status == "payable" or (o.amount < 0 and o.status == "pending")


class Totals(NamedTuple):
    """One collaborator's obligations in one unit, summed by status, with their balance."""

    collaborator: str
    units: str
    by_status: Mapping[str, Decimal]
    balance: Decimal
    next_payable_at: datetime | None


def totals(settled: Iterable[Obligation], exponents: Mapping[str, int]) -> list[Totals]:
    """Per (collaborator, unit), sorted: the sums by status (zero written with the unit's decimals),
    the balance, and the earliest time a pending obligation becomes payable."""
    sums: dict[tuple[str, str], dict[str, Decimal]] = {}
    balance: dict[tuple[str, str], Decimal] = {}
    upcoming: dict[tuple[str, str], datetime] = {}
    for o in settled:
        pair = (o.collaborator, o.units)
        row = sums.get(pair)
        if row is None:
            zero = Decimal(0).scaleb(-exponents.get(o.units, 0))
            row = sums[pair] = dict.fromkeys(OBLIGATION_STATUSES, zero)
            balance[pair] = zero
        status, amount = o.status, o.amount
        row[status] += amount
        if status == "payable" or (amount < 0 and status == "pending"):
            balance[pair] += amount
        elif status == "pending" and (pair not in upcoming or o.payable_from < upcoming[pair]):
            upcoming[pair] = o.payable_from
    return [Totals(who, units, sums[(who, units)], balance[(who, units)], upcoming.get((who, units)))
            for who, units in sorted(sums)]


class Due(NamedTuple):
    """What a fulfillment would pay one collaborator in one unit (`amount`, netted), or why it waits."""

    collaborator: str
    units: str
    amount: Decimal
    obligations: tuple[Obligation, ...]


def due(settled: Iterable[Obligation], minimum: Mapping[str, Decimal]) -> tuple[list[Due], list[Due]]:
    """(paid now, waiting): each (collaborator, unit) balance, paid whole when it is positive and at
    least `minimum[unit]`; a smaller, zero or negative balance waits, its obligations untouched."""
    groups: dict[tuple[str, str], list[Obligation]] = {}
    for o in settled:
        if in_balance(o):
            groups.setdefault((o.collaborator, o.units), []).append(o)
    paid: list[Due] = []
    waiting: list[Due] = []
    for (who, units), members in sorted(groups.items()):
        amount = sum((o.amount for o in members), Decimal(0))
        one = Due(who, units, amount, tuple(members))
        (paid if amount > 0 and amount >= minimum.get(units, Decimal(0)) else waiting).append(one)
    return paid, waiting


def exponents_of(obligations: Iterable[Obligation], known: Mapping[str, int]) -> dict[str, int]:
    """The decimals of each unit: as configured, else as many as its amounts are written with."""
    found = dict(known)
    for o in obligations:
        if o.units not in known:
            found[o.units] = max(found.get(o.units, 0), decimals_of(o.amount))
    return found
