"""Closing due periods: the one place a distribution, its obligations and its outbox entry are written.

A due period is closed in one store transaction that writes the distribution, one obligation per
allocation, the record to publish, and moves the distributor's open period to the next one. Records
of the period that cannot be computed (`Ledger.project`'s `set_aside`) are quarantined in the same
transaction: a close never fails on data already in the store, so the worker never retries forever.
Moving the open period is what makes closing idempotent: run it twice and the second run finds nothing due. Periods
missed while the worker was down close one by one, in order, each with the carry of the one before.

In the store a distribution is a small summary (table `distributions`) plus two tables of its own,
`obligations/<id>` and `scores/<id>`, keyed by collaborator: a period with 100,000 collaborators is
written once, and later commits never rewrite it. `history.py` reads them back.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any

from siren_sync.engine import closing as engine
from siren_sync.errors import SirenSyncError
from siren_sync.gcpause import without_gc_pauses
from siren_sync.ledger import Ledger
from siren_sync.model import Distribution, OutboxEntry, Record
from siren_sync.tables import DISTRIBUTIONS, OUTBOX, PERIODS, QUARANTINE, obligations_table, scores_table
from siren_sync.values import iso

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
        made: list[Distribution] = []
        carries: dict[str, Mapping[str, str]] = {}
        for key, start, end in list(due_periods(ledger, as_of, only)):
            carry = carries[key] if key in carries else ledger.period_state(key).get("carry", {})
            made_one = ledger.project(key, start, end, carry)
            carries[key] = made_one.carry_out
            if dry_run or _store(ledger, made_one):
                made.append(made_one)
        return made


def _store(ledger: Ledger, made: Distribution) -> bool:
    """Write one closed period atomically; False when that very period was closed already."""
    with ledger.store.transaction() as tx:
        state = ledger.period_state(made.distributor, tx)
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
    return existing is None


def _same_period(existing: Record, made: Distribution) -> bool:
    return (existing["distributor"] == made.distributor and existing["period_start"] == iso(made.period_start)
            and existing["period_end"] == iso(made.period_end))


def _write(tx: Any, made: Distribution) -> None:
    """The summary, one document per collaborator who scored, and the outbox entry (none for a draft).

    An obligation's document holds its collaborator's score, so `scores/<id>` keeps only those who
    scored without being paid. Building and encoding these is most of a 100,000-collaborator close.
    """
    tx.put(DISTRIBUTIONS, made.id, made.summary_record())
    paid = {o.collaborator: o.to_record() for o in made.obligations}
    tx.put_many(obligations_table(made.id), paid)
    tx.put_many(scores_table(made.id), {s.collaborator: {"score": str(s.score)}
                                        for s in made.scores if s.collaborator not in paid})
    if made.review != "draft":  # a draft is published once `siren-sync approve` decides it
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
        tx.put(OUTBOX, distribution_id, dataclasses.replace(entry, revision=entry.revision + 1).to_record())
