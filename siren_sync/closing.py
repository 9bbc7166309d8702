"""Closing due periods: the one place a distribution, its obligations and its outbox entry are written.

A due period is closed in one store transaction that reads the period's state and aggregate, then
writes the distribution, one obligation per allocation, the record to publish, and moves the
distributor's open period to the next one. The reading is done under the transaction's write lock,
so an event a command (`credit`, `import`) committed a moment before counts in the period, and one
committed after waits its turn and counts in the next. The move is what makes closing idempotent:
run it twice, in one process or two, and the second run finds nothing due. Periods missed while the
worker was down close one by one, in order, each with the carry of the one before. Records of the
period that cannot be computed (`Ledger.project`'s `set_aside`) are quarantined in the same
transaction: a close never fails on data already in the store, so the worker never retries forever.

`store adopt` writes here too (`adopt`): distributions read back from the site's records after the
store was lost, already posted, their obligations paid.

In the store a distribution is a small summary (table `distributions`) plus two tables of its own,
`obligations/<id>` and `scores/<id>`, keyed by collaborator: a period with 100,000 collaborators is
written once, and later commits never rewrite it. `history.py` reads them back.
"""
from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any

from siren_sync.engine import closing as engine
from siren_sync.errors import SirenSyncError
from siren_sync.gcpause import without_gc_pauses
from siren_sync.ledger import Ledger
from siren_sync.model import Distribution, OutboxEntry, Record
from siren_sync.store.protocol import Store
from siren_sync.tables import (
    DISTRIBUTIONS,
    OUTBOX,
    PERIODS,
    PROGRAM_OBLIGATIONS,
    QUARANTINE,
    obligations_table,
    scores_table,
)
from siren_sync.values import iso, parse_time

Period = tuple[str, datetime, datetime]  # (distributor key, start, end)


class ClosingError(SirenSyncError):
    """Closing a period would overwrite another period's distribution: nothing was written."""


def due_periods(ledger: Ledger, as_of: datetime, only: str | None = None) -> Iterator[Period]:
    """(key, start, end) of every closable period, per distributor in schedule order."""
    for key, d in ledger.distributors.items():
        if (only and key != only) or not d.active:
            continue
        start, end = ledger.open_period(key)
        while end <= as_of:
            yield key, start, end
            start, end = end, ledger.calendar(key).end_of(end)


def close_due(ledger: Ledger, as_of: datetime, only: str | None = None,
              dry_run: bool = False) -> list[Distribution]:
    """Close every period whose trigger time is <= `as_of`; returns the distributions made."""
    with without_gc_pauses():
        if dry_run:
            return _project_due(ledger, as_of, only)
        made = [_close(ledger, key, start, end) for key, start, end in list(due_periods(ledger, as_of, only))]
        return [record for record in made if record is not None]


def _project_due(ledger: Ledger, as_of: datetime, only: str | None) -> list[Distribution]:
    """What closing would make, each period with the carry of the one before; nothing is written."""
    made: list[Distribution] = []
    carries: dict[str, Mapping[str, str]] = {}
    for key, start, end in list(due_periods(ledger, as_of, only)):
        carry = carries[key] if key in carries else ledger.period_state(key).get("carry", {})
        made.append(ledger.project(key, start, end, carry))
        carries[key] = made[-1].carry_out
    return made


def _close(ledger: Ledger, key: str, start: datetime, end: datetime) -> Distribution | None:
    """Close one period atomically; None when another process moved the distributor past it, or
    that very period was closed already (then only its open period is moved on)."""
    with ledger.store.transaction() as tx:
        state = ledger.period_state(key, tx)
        if parse_time(state["open_start"]) != start:
            return None  # closed meanwhile, by another process
        made = ledger.project(key, start, end, state.get("carry", {}))  # read under the write lock
        existing = tx.get(DISTRIBUTIONS, made.id)
        if existing is not None and not _same_period(existing, made):
            raise ClosingError(f"distribution id {made.id} already names the period {existing['period_start']} to "
                               f"{existing['period_end']}; closing {iso(made.period_start)} to "
                               f"{iso(made.period_end)} would overwrite it (nothing was written)")
        if existing is None:
            _write(tx, made)
            for item in made.set_aside:  # what could not be computed: kept aside, shown by `check`
                tx.put(QUARANTINE, item["where"], dict(item, at=iso(made.closed_at)))
        tx.put(PERIODS, made.distributor, dict(state, open_start=iso(made.period_end), carry=made.carry_out))
    return made if existing is None else None


def _same_period(existing: Record, made: Distribution) -> bool:
    return (existing["distributor"] == made.distributor and existing["period_start"] == iso(made.period_start)
            and existing["period_end"] == iso(made.period_end))


def _write(tx: Any, made: Distribution, posted: tuple[int, str] | None = None) -> None:
    """The summary, one document per collaborator who scored, and the outbox entry (queued, or, for
    a distribution adopted from the site, `posted` as that (post id, time)).

    An obligation's document holds its collaborator's score, so `scores/<id>` keeps only those who
    scored without being paid. Building and encoding these is most of a 100,000-collaborator close.
    """
    summary = made.summary_record()
    if posted is not None:
        summary["adopted"] = {"post": posted[0], "at": posted[1]}
    tx.put(DISTRIBUTIONS, made.id, summary)
    paid = {o.collaborator: o.to_record() for o in made.obligations}
    tx.put_many(obligations_table(made.id), paid)
    tx.put_many(scores_table(made.id), {s.collaborator: {"score": str(s.score)}
                                        for s in made.scores if s.collaborator not in paid})
    entry = OutboxEntry(made.id, engine.slug_of(made.id))
    if posted is not None:
        tx.put(OUTBOX, made.id, replace(entry, status="posted", post_id=posted[0], posted_at=posted[1]).to_record())
    elif made.review != "draft":  # a draft is published once `siren-sync approve` decides it
        queue_record(tx, made.id)


def queue_record(tx: Any, distribution_id: str) -> None:
    """Queue a distribution's record for the site (publish.py posts it exactly once)."""
    tx.put(OUTBOX, distribution_id, OutboxEntry(distribution_id, engine.slug_of(distribution_id)).to_record())


def queue_revision(tx: Any, distribution_id: str) -> None:
    """Ask for the distribution's record to be brought up to date on the site (its obligations were
    paid); a record not posted yet will be posted as it stands then, which already says so."""
    stored = tx.get(OUTBOX, distribution_id)
    if stored is not None:
        entry = OutboxEntry.from_record(stored)
        tx.put(OUTBOX, distribution_id, replace(entry, revision=entry.revision + 1).to_record())


class AdoptRefused(SirenSyncError):
    """`store adopt` into a store that is not a lost one (it closed something, or placed events in
    other periods): nothing was written."""


def adopt(ledger: Ledger, adopted: list[tuple[Distribution, int]], paid: bool, now: datetime) -> None:
    """Write distributions read back from the site's records (with their post ids) as closed, in
    one transaction: obligations as each record shows them (paid, rejected; the rest `paid`, or
    `pending` when not `paid`), each record already posted,
    and every distributor's open period moved to the end of its last one, where the ledger's
    horizon (`adopted_until`) makes older events count nothing; programs never reward again a sale
    paid before `now` (the lost store rewarded it).

    Refused (AdoptRefused) when the store holds distributions, or holds events placed in periods
    that the adopted first period would move.
    """
    ends: dict[str, list[Distribution]] = {}
    for closed, _ in adopted:
        ends.setdefault(closed.distributor, []).append(closed)
    with ledger.store.transaction() as tx:
        if ledger.store.table(DISTRIBUTIONS):
            raise AdoptRefused(f"store {ledger.store.location} already holds distributions: adopt only "
                               "takes the site's records into the store that lost them (an empty one)")
        _refuse_program_rewards(ledger.store)
        for key, periods in ends.items():
            tx.put(PERIODS, key, _adopted_state(ledger, tx, key, periods))
        for made, post in adopted:
            _write(tx, _unpaid_as_paid(made) if paid else made, posted=(post, iso(now)))
        from siren_sync import commissions  # (it reads payouts, which write through this module)
        commissions.adopted(tx, now)


def adopt_programs(store: Store, now: datetime) -> None:
    """`store adopt` when the site holds no record to adopt (programs without distributors, or none
    closed yet): programs never reward again a sale paid before `now`, which the lost store
    rewarded and may have paid. Refused (AdoptRefused) when the store holds program rewards already:
    it rewarded what it read, so only an empty store can take over from the lost one."""
    from siren_sync import commissions  # (it reads payouts, which write through this module)
    with store.transaction() as tx:
        _refuse_program_rewards(store)
        commissions.adopted(tx, now)


def _refuse_program_rewards(store: Store) -> None:
    """Either adoption sets the programs' horizon; rewards already written (an `import`, a sync
    before it) would stay to be paid again: AdoptRefused."""
    if store.tables(PROGRAM_OBLIGATIONS):
        raise AdoptRefused(f"store {store.location} already holds program rewards: adopt only takes over in "
                           "the store that lost them (an empty one), before its first sync")


def _adopted_state(ledger: Ledger, tx: Any, key: str, made: list[Distribution]) -> dict[str, Any]:
    first = min(d.period_start for d in made)
    until = iso(max(d.period_end for d in made))
    state = tx.get(PERIODS, key)
    if state is not None and parse_time(state["first_start"]) != first and ledger.store.event_count():
        raise AdoptRefused(f"the store already placed events of {key} in periods from {state['first_start']}, "
                           f"not from {iso(first)} as the site's records do: adopt into an empty store")
    return {"first_start": iso(first), "open_start": until, "carry": {}, "adopted_until": until}


def _unpaid_as_paid(made: Distribution) -> Distribution:
    """An adopted record's obligations not shown paid or rejected, taken as paid: the lost store may
    have paid them after the record was last updated (an export, a payout file), and paying twice is
    the error a payout system must never make. `--unpaid` keeps them to pay."""
    obligations = tuple(o if o.status in ("paid", "rejected") else o._replace(status="paid")
                        for o in made.obligations)
    return replace(made, obligations=obligations)
