"""`siren-sync payouts`: every obligation with its status at an as-of time, and per collaborator and
unit the totals by status, the balance and the next time something becomes payable (DESIGN section 7).

Statuses are derived (`engine.balances.settle`) from the obligations, their distributions' review
and hold, and the fulfillments holding them (`records.claims`), so what is already paid never
changes: a refund after a distribution closed lands in a later period, never in an amount shown
here. `--as-of` moves the clock of the hold (what is pending or payable then, and what was earned
by then); fulfillments are shown as they stand.
"""
from __future__ import annotations

import json
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass
from datetime import datetime, tzinfo
from decimal import Decimal
from typing import Any

from siren_sync import history
from siren_sync.engine.balances import Settling, Totals, exponents_of, totals
from siren_sync.engine.units import CURRENCY_EXPONENTS
from siren_sync.model import Distributor, Obligation
from siren_sync.payouts.records import claims
from siren_sync.store.protocol import Store
from siren_sync.values import iso, iso_in

_text = json.encoder.encode_basestring_ascii  # a JSON string, quoted and escaped as json.dumps writes it

COLUMNS = ("draft", "pending", "payable", "processing", "paid")  # the totals of DESIGN's JSON, in order


def owed(store: Store, collaborators: Collection[str] | None = None,
         settling: Settling | None = None) -> list[Obligation]:
    """Every obligation of every source, oldest first: the one place they are gathered."""
    return history.obligations(store, collaborators, settling)


def settled(store: Store, as_of: datetime, collaborators: Collection[str] | None = None) -> list[Obligation]:
    """The obligations earned by `as_of` (of `collaborators`, or everyone's), with their status then."""
    return owed(store, collaborators, Settling(claims(store), as_of))


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


def json_text(view: Overview) -> Iterator[str]:
    """DESIGN section 7's JSON, in pieces: `{"as_of", "collaborators": [...], "obligations": [...]}`,
    amounts as decimal strings, times ISO 8601 with offset, absent values null; two-space indent,
    one row a line.

    An obligation row is written from pieces its distribution's rows share (source, origin, units,
    times: encoded once per distribution) and its own encoded strings: `json.dumps` with an indent
    runs the pure-Python encoder, and even the C one, row by row, takes most of the time of
    `payouts --json` at 100,000 obligations. The rows are exactly what `json.dumps` writes.
    """
    encode = json.JSONEncoder().encode
    yield f'{{\n  "as_of": {encode(iso(view.as_of))},\n  "collaborators": ['
    yield ",".join("\n    " + encode(_totals_row(t)) for t in view.totals)
    yield ("\n  " if view.totals else "") + '],\n  "obligations": ['
    shared: dict[tuple[str, int, int, bool, str, str], tuple[str, str, str, str]] = {}
    separator = "\n    "
    for o in view.obligations:
        # a distribution's rows share their time objects: their identity is the cheap key
        key = (o.distribution, id(o.earned_at), id(o.payable_at), o.status == "rejected", o.source, o.units)
        pieces = shared.get(key)
        if pieces is None:
            pieces = shared[key] = _shared_pieces(o)
        who = _text(o.collaborator)
        ident = _text(o.key) if o.key else pieces[0] + who[1:]  # `<origin>:<collaborator>`, escaped alike
        fulfillment = "null" if o.fulfillment is None else _text(o.fulfillment)
        paid = "null" if o.paid_at is None else _text(o.paid_at)
        yield (f'{separator}{{"id": {ident}{pieces[1]}{who}, "amount": "{o.amount}"{pieces[2]}"status": '
               f'"{o.status}", {pieces[3]}, "fulfillment": {fulfillment}, "paid_at": {paid}}}')
        separator = ",\n    "
    yield ("\n  " if view.obligations else "") + "]\n}\n"


def _totals_row(t: Totals) -> dict[str, Any]:
    return {"collaborator": t.collaborator, "units": t.units, **{name: str(t.by_status[name]) for name in COLUMNS},
            "balance": str(t.balance), "next_payable_at": None if t.next_payable_at is None else iso(t.next_payable_at)}


def _shared_pieces(o: Obligation) -> tuple[str, str, str, str]:
    """The encoded parts an obligation's row shares with its distribution's rows: the start of its
    id, what goes between its id and collaborator, between its amount and status, and its times."""
    payable = "null" if o.status == "rejected" else _text(iso(o.payable_from))
    return (_text(o.origin)[:-1] + ":", f', "source": {_text(o.source)}, "origin": {_text(o.origin)}, "collaborator": ',
            f', "units": {_text(o.units)}, ', f'"earned_at": {_text(iso(o.earned_at))}, "payable_at": {payable}')


def text_lines(view: Overview, listing: bool, tz: tzinfo) -> list[str]:
    """The table per collaborator and unit; with `listing`, every obligation after it. Its times are
    in the site's timezone `tz` (a program reward's are stored in UTC, a distribution's in the site's
    offset): the JSON keeps each as stored."""
    lines = [f"payouts as of {iso(view.as_of)}"]
    if not view.totals:
        return lines + ["no obligations"]
    lines.append(f"{'collaborator':<20} {'units':<6}" + "".join(f"{name:>13}" for name in (*COLUMNS, "balance"))
                 + "  next payable")
    for t in view.totals:
        upcoming = iso(t.next_payable_at, tz) if t.next_payable_at else "-"
        lines.append(f"{t.collaborator:<20} {t.units:<6}" + "".join(f"{str(t.by_status[n]):>13}" for n in COLUMNS)
                     + f"{str(t.balance):>13}  {upcoming}{_waits(t, view.minimum)}")
    if listing:
        lines.extend(_obligation_line(o, tz) for o in view.obligations)
    return lines


def _waits(t: Totals, minimum: Mapping[str, Decimal]) -> str:
    floor = minimum.get(t.units, Decimal(0))
    if t.balance < 0:
        return "  (negative: netted against later obligations, never paid)"
    if 0 < t.balance < floor:
        return f"  (below the minimum {floor} {t.units}: waits, nothing is lost)"
    return ""


def _obligation_line(o: Obligation, tz: tzinfo) -> str:
    paid = iso_in(o.paid_at, tz) if o.paid_at else ""
    detail = {"pending": f" until {iso(o.payable_from, tz)}", "processing": f" in {o.fulfillment}",
              "paid": f" {paid}" + (f" ({o.fulfillment})" if o.fulfillment else "")}.get(o.status, "")
    return f"  {o.id:<44} {o.collaborator:<16} {str(o.amount):>12} {o.units:<6} {o.status}{detail}"

