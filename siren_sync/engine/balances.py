"""Payout rules: when an obligation becomes payable, its status at a time, balances and the minimum.

An obligation is owed from the moment its distribution closes (or its program's sale is paid), but
it is paid only through the steps partner platforms use (DESIGN section 7): approved (`draft` until
then, with `review`), held for refunds (`pending` until `payable_at = earned_at + hold`), then
`payable`, `processing` in an open fulfillment, `paid` when that fulfillment completes. A status is
never stored: it is derived here from what was decided (the obligation's stored status, its
fulfillments' claims) and the as-of time, so the same store answers "what was payable on the
first?" and "what is payable now?" alike.

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
from siren_sync.model import Obligation
from siren_sync.values import iso

# What makes a balance: payable obligations, and negative ones from the moment they are approved.
_IN_BALANCE = frozenset(("payable",))
_NEGATIVE_IN_BALANCE = frozenset(("pending", "payable"))


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


def settle(o: Obligation, claim: Claim | None, as_of: datetime) -> Obligation:
    """`o` with the status of DESIGN section 7 at `as_of` (and its fulfillment and paid time).

    A first-wave `paid` stays paid and its `cancelled` reads as `rejected`; `draft` and `rejected`
    are decisions. Otherwise the fulfillment holding it decides, as it stands (fulfillments are
    facts recorded when they happen, not moved by `as_of`); without one, the hold does: `as_of`
    is the clock of the hold.
    """
    if o.status != "pending":
        return o._replace(status="rejected") if o.status == "cancelled" else o
    if claim is not None and claim.state == "paid":
        return o._replace(status="paid", fulfillment=claim.fulfillment,
                          paid_at=None if claim.paid_at is None else iso(claim.paid_at))
    if claim is not None and claim.state == "processing":
        return o._replace(status="processing", fulfillment=claim.fulfillment)
    return o._replace(status="payable" if o.payable_from <= as_of else "pending")


def in_balance(o: Obligation) -> bool:
    """Whether a settled obligation counts in its collaborator's balance (and so goes into a payout)."""
    return o.status in _IN_BALANCE or (o.amount < 0 and o.status in _NEGATIVE_IN_BALANCE)


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
        if pair not in sums:
            zero = Decimal(0).scaleb(-exponents.get(o.units, 0))
            sums[pair] = dict.fromkeys(("draft", "pending", "payable", "processing", "paid", "rejected"), zero)
            balance[pair] = zero
        sums[pair][o.status] += o.amount
        if in_balance(o):
            balance[pair] += o.amount
        if o.status == "pending" and o.amount > 0 and (pair not in upcoming or o.payable_from < upcoming[pair]):
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
