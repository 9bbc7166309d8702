"""Fulfillments as the store keeps them, read back; and the claims they make on obligations.

Where an obligation is in its lifecycle after approval is not written into the obligation: a
distribution's `obligations/<id>` partition holds 100,000 documents, and rewriting it to mark some
of them would cost the whole partition each time (and a filtered payout would rewrite everyone's).
A fulfillment instead keeps its own records: a summary in the root table `fulfillments` (status,
as-of and paid times, the payouts excepted at completion) and its payouts, with the ids of the
obligations each one holds, in a partition `payouts/<id>` written once. The claims below, read
from those, are the per-obligation index: obligation id -> the fulfillment holding it. A
first-wave store's `status: paid` in an obligation document still reads as paid.

`serial` counts changes to fulfillments (in the `meta` table): a change prepared on one view of
the store is committed only if no other change came in between, so an obligation can never be
put into two fulfillments, whatever the store backend does about concurrent writers.
"""
from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from siren_sync.engine.balances import Claim
from siren_sync.errors import SirenSyncError
from siren_sync.model import Fulfillment, Payout
from siren_sync.store.protocol import Store
from siren_sync.tables import FULFILLMENT_SERIAL, FULFILLMENTS, META, payouts_table


class FulfillmentsChanged(SirenSyncError):
    """Another command changed fulfillments meanwhile; this one wrote nothing (exit 1, run again)."""


def fulfillment(store: Store, fulfillment_id: str) -> Fulfillment | None:
    record = store.get(FULFILLMENTS, fulfillment_id)
    return None if record is None else Fulfillment.from_record(record)


def fulfillments(store: Store) -> list[Fulfillment]:
    """Every fulfillment, oldest first."""
    found = [Fulfillment.from_record(r) for r in store.table(FULFILLMENTS).values()]
    return sorted(found, key=lambda f: (f.created_at, f.id))


def payouts_of(store: Store, fulfillment_id: str) -> list[Payout]:
    """A fulfillment's payouts, in their order (their number in it)."""
    rows = store.table(payouts_table(fulfillment_id))
    return [Payout.from_record(fulfillment_id, rows[n]) for n in sorted(rows, key=int)]


def next_id(store: Store, as_of: datetime) -> str:
    """`F<YYYYMMDD>-<n>`: the as-of date in UTC, n counting from 1 that day (cancelled ones too)."""
    prefix = f"F{as_of.astimezone(UTC).strftime('%Y%m%d')}-"
    numbers = [int(i[len(prefix):]) for i in store.table(FULFILLMENTS)
               if i.startswith(prefix) and i[len(prefix):].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1}"


def claim_of(f: Fulfillment, payout: Payout) -> Claim:
    """The claim one payout of `f` makes on each of its obligations."""
    if f.status == "cancelled" or (f.status == "complete" and payout.collaborator in f.excepted):
        return Claim(f.id, "returned")
    if f.status == "complete":
        return Claim(f.id, "paid", f.paid_at)
    return Claim(f.id, "processing")


def holders(store: Store, obligation_id: str) -> list[tuple[Fulfillment, Claim]]:
    """Every fulfillment that ever held the obligation (cancelled ones too), oldest first: its history."""
    return [(f, claim_of(f, payout)) for f in fulfillments(store) for payout in payouts_of(store, f.id)
            if obligation_id in payout.obligations]


def claims(store: Store) -> dict[str, Claim]:
    """Obligation id -> the open or complete fulfillment holding it (one at most: `fulfill` takes
    only obligations no fulfillment holds). Cancelled fulfillments hold nothing and are not read."""
    index: dict[str, Claim] = {}
    for f in fulfillments(store):
        if f.status == "cancelled":
            continue
        for payout in payouts_of(store, f.id):
            claim = claim_of(f, payout)
            if claim.state != "returned":
                index.update(dict.fromkeys(payout.obligations, claim))
    return index


def serial(reader: Any) -> int:
    """How many changes fulfillments have had (`reader`: the store, or a transaction)."""
    doc = reader.get(META, FULFILLMENT_SERIAL)
    return int(doc["serial"]) if doc else 0


def bump_serial(tx: Any, seen: int) -> None:
    """Count one more change, unless another came in since `seen` (then nothing is written)."""
    if serial(tx) != seen:
        raise FulfillmentsChanged("fulfillments changed while this change was being prepared (another "
                                  "siren-sync command?): nothing was written; run it again")
    tx.put(META, FULFILLMENT_SERIAL, {"serial": seen + 1})
