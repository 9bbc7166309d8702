"""`siren-sync payouts`: every obligation with its status at an as-of time, and per collaborator and
unit the totals by status, the balance and the next time something becomes payable (DESIGN section 7).

Statuses are derived (`engine.balances.settle`) from the obligations, their distributions' review
and hold, and the fulfillments holding them (`records.claims`), so what is already paid never
changes: a refund after a distribution closed lands in a later period, never in an amount shown
here. `--as-of` moves the clock of the hold (what is pending or payable then, and what was earned
by then); fulfillments are shown as they stand.
"""
from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from siren_sync import history
from siren_sync.engine.balances import Totals, exponents_of, settle, totals
from siren_sync.engine.units import CURRENCY_EXPONENTS
from siren_sync.model import Distributor, Obligation
from siren_sync.payouts.records import claims
from siren_sync.store import Store
from siren_sync.values import iso

COLUMNS = ("draft", "pending", "payable", "processing", "paid")  # the totals of DESIGN's JSON, in order


def owed(store: Store, collaborators: Collection[str] | None = None) -> list[Obligation]:
    """Every obligation of every source, oldest first: the one place they are gathered."""
    rows = history.obligations(store)
    return rows if collaborators is None else [o for o in rows if o.collaborator in collaborators]


def settled(store: Store, as_of: datetime, collaborators: Collection[str] | None = None) -> list[Obligation]:
    """The obligations earned by `as_of` (of `collaborators`, or everyone's), with their status then."""
    index = claims(store)
    return [settle(o, index.get(o.id), as_of) for o in owed(store, collaborators) if o.earned_at <= as_of]


def unit_exponents(distributors: Mapping[str, Distributor], obligations: list[Obligation]) -> dict[str, int]:
    """Each unit's decimals: ISO 4217's, a distributor's `unitDecimals`, else its amounts'."""
    known = {**CURRENCY_EXPONENTS, **{d.units: d.exponent for d in distributors.values()}}
    return exponents_of(obligations, known)


@dataclass(frozen=True)
class Overview:
    as_of: datetime
    totals: list[Totals]
    obligations: list[Obligation]
    minimum: Mapping[str, Decimal]


def overview(store: Store, distributors: Mapping[str, Distributor], minimum: Mapping[str, Decimal],
             as_of: datetime, collaborator: str | None = None, status: str | None = None) -> Overview:
    """The overview at `as_of`; `status` keeps the obligations in it and the rows that have some."""
    rows = settled(store, as_of, None if collaborator is None else {collaborator})
    sums = totals(rows, unit_exponents(distributors, rows))
    if status is not None:
        rows = [o for o in rows if o.status == status]
        having = {(o.collaborator, o.units) for o in rows}
        sums = [t for t in sums if (t.collaborator, t.units) in having]
    return Overview(as_of, sums, rows, minimum)


def to_json(view: Overview) -> dict[str, Any]:
    """DESIGN section 7's JSON: amounts as decimal strings, times ISO 8601 with offset, absent null."""
    when = _iso_cache()
    return {"as_of": iso(view.as_of),
            "collaborators": [{"collaborator": t.collaborator, "units": t.units,
                               **{name: str(t.by_status[name]) for name in COLUMNS}, "balance": str(t.balance),
                               "next_payable_at": when(t.next_payable_at)} for t in view.totals],
            "obligations": [{"id": o.id, "source": o.source, "origin": o.origin, "collaborator": o.collaborator,
                             "amount": str(o.amount), "units": o.units, "status": o.status,
                             "earned_at": when(o.earned_at),
                             "payable_at": None if o.status == "rejected" else when(o.payable_from),
                             "fulfillment": o.fulfillment, "paid_at": o.paid_at} for o in view.obligations]}


def _iso_cache() -> Callable[[datetime | None], str | None]:
    """`iso`, remembered: a distribution's 100,000 obligations share their two times."""
    seen: dict[int, tuple[datetime, str]] = {}

    def when(moment: datetime | None) -> str | None:
        if moment is None:
            return None
        hit = seen.get(id(moment))
        if hit is None or hit[0] is not moment:
            hit = seen[id(moment)] = (moment, iso(moment))
        return hit[1]
    return when


def text_lines(view: Overview, listing: bool) -> list[str]:
    """The table per collaborator and unit; with `listing`, every obligation after it."""
    lines = [f"payouts as of {iso(view.as_of)}"]
    if not view.totals:
        return lines + ["no obligations"]
    lines.append(f"{'collaborator':<20} {'units':<6}" + "".join(f"{name:>13}" for name in (*COLUMNS, "balance"))
                 + "  next payable")
    for t in view.totals:
        upcoming = iso(t.next_payable_at) if t.next_payable_at else "-"
        lines.append(f"{t.collaborator:<20} {t.units:<6}" + "".join(f"{str(t.by_status[n]):>13}" for n in COLUMNS)
                     + f"{str(t.balance):>13}  {upcoming}{_waits(t, view.minimum)}")
    if listing:
        lines.extend(_obligation_line(o) for o in view.obligations)
    return lines


def _waits(t: Totals, minimum: Mapping[str, Decimal]) -> str:
    floor = minimum.get(t.units, Decimal(0))
    if t.balance < 0:
        return "  (negative: netted against later obligations, never paid)"
    if 0 < t.balance < floor:
        return f"  (below the minimum {floor} {t.units}: waits, nothing is lost)"
    return ""


def _obligation_line(o: Obligation) -> str:
    detail = {"pending": f" until {iso(o.payable_from)}", "processing": f" in {o.fulfillment}",
              "paid": f" {o.paid_at or ''}" + (f" ({o.fulfillment})" if o.fulfillment else "")}.get(o.status, "")
    return f"  {o.id:<44} {o.collaborator:<16} {str(o.amount):>12} {o.units:<6} {o.status}{detail}"

