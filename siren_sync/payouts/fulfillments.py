"""Fulfillments: the payable obligations of the selected collaborators, gathered into one payout per
collaborator and unit, written to a payout file, then completed (paid) or cancelled.

Selected means selected: the obligations read are those of the collaborators (and the unit) asked
for, nobody else's, so a filtered run cannot touch another collaborator (AffiliateWP #1173). A
balance below the unit's minimum, zero or negative waits, untouched. The file is written whole
(temp file, fsync, rename) inside the store transaction and before its commit: if the file cannot
be written nothing is recorded, and a process killed at any point leaves either no fulfillment
(its obligations as they were) or the whole fulfillment and its file. Completing or cancelling
changes only the fulfillment's summary, once: doing it again changes nothing (AffiliateWP #2463),
and an open fulfillment can be cancelled, which is the undo of a payout file (AffiliateWP #2362).
"""
from __future__ import annotations

import dataclasses
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import Any

from siren_sync.closing import queue_revision
from siren_sync.engine.balances import Due, due
from siren_sync.engine.units import is_currency
from siren_sync.errors import UsageError
from siren_sync.model import Collaborator, Fulfillment, Payout
from siren_sync.output import write_files
from siren_sync.payouts import formats, records
from siren_sync.payouts.overview import settled
from siren_sync.store.protocol import Store
from siren_sync.tables import FULFILLMENTS, payouts_table


@dataclass(frozen=True)
class Selection:
    """What `fulfill` was asked for: obligations payable at `as_of`, of these collaborators (all when
    empty) and this unit (all when None), in this file format."""

    as_of: datetime
    format: str = "siren"
    collaborators: tuple[str, ...] = ()
    units: str | None = None


@dataclass(frozen=True)
class Plan:
    """A fulfillment ready to be written: its record, payouts and files, and who waits or was left out."""

    fulfillment: Fulfillment
    payouts: list[Payout]
    files: dict[str, bytes]
    waiting: list[Due]  # balances below the minimum, zero or negative
    left_out: list[Due]  # PayPal cannot pay them (no usable email address)
    serial: int  # the fulfillments' change count the plan was made on


def plan(store: Store, selection: Selection, out: str, collaborators: Mapping[str, Collaborator],
         minimum: Mapping[str, Decimal], note: str, now: datetime) -> Plan:
    """What `fulfill` would do; raises UsageError for what the format cannot take."""
    seen = records.serial(store)
    rows = settled(store, selection.as_of, set(selection.collaborators) or None)
    if selection.units is not None:
        rows = [o for o in rows if o.units == selection.units]
    paid, waiting = due(rows, minimum)
    left_out: list[Due] = []
    if selection.format == "paypal":
        custom = sorted({d.units for d in paid if not is_currency(d.units)})
        if custom:
            raise UsageError(f"{', '.join(custom)} is not a currency: PayPal pays currencies only (choose one "
                             f"with --units, or use --format siren)")
        left_out = [d for d in paid if formats.paypal_recipient(collaborators, d.collaborator) is None]
        paid = [d for d in paid if d not in left_out]
    ident = records.next_id(store, selection.as_of)
    payouts = [_payout(ident, d) for d in sorted(paid, key=lambda d: (d.units, d.collaborator))]
    files = render(selection.format, out, list(enumerate(payouts, 1)), collaborators, note) if payouts else {}
    record = Fulfillment(ident, now, selection.as_of, selection.format, tuple(files), _totals(payouts),
                         len(payouts), sum(len(p.obligations) for p in payouts), selection.collaborators,
                         selection.units)
    return Plan(record, payouts, files, waiting, left_out, seen)


def _payout(fulfillment: str, d: Due) -> Payout:
    """The payout of one balance: its obligations' ids, and the distributions whose records show it.
    (Fields, not properties: a fulfillment reads 100,000 obligations.)"""
    ids = tuple(o.key or f"{o.distribution}:{o.collaborator}" for o in d.obligations)
    origins = tuple(sorted({o.distribution for o in d.obligations if o.source == "distribution"}))
    return Payout(fulfillment, d.collaborator, d.units, d.amount, ids, origins)


def render(fmt: str, out: str, numbered: Sequence[tuple[int, Payout]], collaborators: Mapping[str, Collaborator],
           note: str) -> dict[str, bytes]:
    """The payout file(s) in `fmt`, path -> bytes, of payouts paired with their number in the fulfillment."""
    if fmt == "paypal":
        return formats.paypal_files(out, numbered, collaborators, note)
    return {out: formats.siren_file([p for _, p in numbered], collaborators)}


def _totals(payouts: Sequence[Payout]) -> dict[str, Decimal]:
    sums: dict[str, Decimal] = {}
    for p in payouts:
        sums[p.units] = sums.get(p.units, Decimal(0)) + p.amount
    return dict(sorted(sums.items()))


def create(store: Store, made: Plan, paid_at: datetime | None = None) -> Fulfillment:
    """Write the plan's files whole, then record the fulfillment in the same commit (completed at
    once, `paid_at`, for `payouts --mark-paid`). Nothing is recorded if a file cannot be written."""
    record = made.fulfillment
    if paid_at is not None:
        record = dataclasses.replace(record, status="complete", paid_at=paid_at, completed_at=record.created_at)
    with store.transaction() as tx:
        records.bump_serial(tx, made.serial)
        write_files(made.files)
        tx.put(FULFILLMENTS, record.id, record.to_record())
        tx.put_many(payouts_table(record.id), {str(n): p.to_record() for n, p in enumerate(made.payouts, 1)})
        if paid_at is not None:
            _revise_records(tx, made.payouts, ())
    return record


ATTEMPTS = 5  # plans made again when another command changed the fulfillments meanwhile


def fulfill(store: Store, selection: Selection, out: str, collaborators: Mapping[str, Collaborator],
            minimum: Mapping[str, Decimal], note: str, now: datetime, dry_run: bool = False,
            paid_at: datetime | None = None) -> Plan:
    """Plan and (unless `dry_run`) create a fulfillment (completed at once with `paid_at`).

    Commands write beside each other (writers take turns), so another `fulfill` may commit between
    this plan and its commit: the commit then refuses (nothing written) and the plan is made again
    from what is payable now, so two runs at once make one fulfillment and the second finds nothing
    left, rather than failing."""
    refused = 0
    while True:
        made = plan(store, selection, out, collaborators, minimum, note, now)
        if dry_run or not made.payouts:
            return made
        try:
            create(store, made, paid_at)
            return made
        except records.FulfillmentsChanged:
            refused += 1
            if refused == ATTEMPTS:
                raise
            store.refresh()


def _revise_records(tx: Any, payouts: Sequence[Payout], excepted: Collection[str]) -> None:
    """Queue an update of each paid distribution's record on the site (through the outbox)."""
    for distribution in sorted({d for p in payouts if p.collaborator not in excepted for d in p.distributions}):
        queue_revision(tx, distribution)


def get(store: Store, fulfillment_id: str) -> Fulfillment:
    """The fulfillment `fulfillment_id`, or a usage error (exit 2) naming where to look."""
    found = records.fulfillment(store, fulfillment_id)
    if found is None:
        raise UsageError(f"unknown fulfillment {fulfillment_id!r} (see `siren-sync fulfillments`)")
    return found


def complete(store: Store, fulfillment_id: str, paid_at: datetime, excepted: Collection[str],
             now: datetime) -> tuple[Fulfillment, bool]:
    """Mark an open fulfillment paid, except the payouts of `excepted` (back to payable); returns it
    and whether anything changed (a second `complete` changes nothing)."""
    f = get(store, fulfillment_id)
    if f.status == "complete":
        return f, False
    if f.status == "cancelled":
        raise UsageError(f"fulfillment {f.id} was cancelled: its obligations are payable again (fulfil them anew)")
    payouts = records.payouts_of(store, f.id)
    strangers = sorted(set(excepted) - {p.collaborator for p in payouts})
    if strangers:
        raise UsageError(f"--except {', '.join(strangers)}: not paid by fulfillment {f.id}")
    done = dataclasses.replace(f, status="complete", paid_at=paid_at, completed_at=now,
                               excepted=tuple(sorted(excepted)))
    _change(store, done, lambda tx: _revise_records(tx, payouts, done.excepted))
    return done, True


def cancel(store: Store, fulfillment_id: str, now: datetime) -> tuple[Fulfillment, bool]:
    """Every payout of an open fulfillment back to payable; a second `cancel` changes nothing."""
    f = get(store, fulfillment_id)
    if f.status == "cancelled":
        return f, False
    if f.status == "complete":
        raise UsageError(f"fulfillment {f.id} is complete: what it paid stays paid (a transfer that failed is "
                         f"named with `fulfillment complete --except` before completing)")
    done = dataclasses.replace(f, status="cancelled", cancelled_at=now)
    _change(store, done, lambda tx: None)
    return done, True


def _change(store: Store, record: Fulfillment, more: Any) -> None:
    seen = records.serial(store)
    with store.transaction() as tx:
        records.bump_serial(tx, seen)
        tx.put(FULFILLMENTS, record.id, record.to_record())
        more(tx)


def export(store: Store, fulfillment_id: str, fmt: str, out: str,
           collaborators: Mapping[str, Collaborator], note: str) -> tuple[Fulfillment, dict[str, bytes]]:
    """The same payouts again (those it paid, once complete), written as `fmt` to `out`."""
    f = get(store, fulfillment_id)
    if f.status == "cancelled":
        raise UsageError(f"fulfillment {f.id} was cancelled: it pays nothing, so there is nothing to export")
    numbered = [(n, p) for n, p in enumerate(records.payouts_of(store, f.id), 1) if p.collaborator not in f.excepted]
    files = render(fmt, out, numbered, collaborators, note)
    write_files(files)
    return f, files
