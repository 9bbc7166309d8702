"""Reading closed distributions back (history, payouts, explain) and projecting the open periods.

The store keeps a distribution as a summary plus a table of obligations and a table of unpaid
scores (see `closing.py`); `load` puts them back together as a `Distribution`. Stores written
before obligations carried their scores (a score and its time for everyone in `scores/<id>`, an
explicit `pending` status) read the same. Standings run the engine on the open periods and write
nothing.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from decimal import Decimal

from siren_sync import commissions
from siren_sync.engine.balances import Settling, status_of
from siren_sync.ledger import Ledger
from siren_sync.model import Distribution, Obligation, Record, Standing, payable_at_of
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS, obligations_table, scores_table
from siren_sync.values import parse_time


def summaries(store: Store, only: str | None = None) -> list[Record]:
    """Closed distributions' summaries, oldest period first (cheap at any size)."""
    records = [r for r in store.table(DISTRIBUTIONS).values() if not only or r["distributor"] == only]
    return sorted(records, key=lambda r: (r["period_end"], r["distributor"]))


def _read(store: Store, summary: Record, only: Collection[str] | None = None,
          settling: Settling | None = None) -> list[Obligation]:
    """A distribution's obligations (of the collaborators `only` names, or all), by collaborator,
    with its review decision and hold: a draft or rejected distribution's read as `draft` or
    `rejected`, an approved one's keep their stored status (`pending`, or a first-wave `paid`).

    With `settling`, each is read with its derived status (`engine.balances.status_of`) in one
    step: an overview reads 100,000s, and building each twice would double its cost.
    """
    earned = parse_time(summary["period_end"])
    held = payable_at_of(summary)
    due = None if held == earned else held
    review = summary.get("review", "approved")
    rows = store.table(obligations_table(summary["id"]))
    chosen = sorted(rows) if only is None else sorted(who for who in only if who in rows)
    make, ident, units = Obligation.from_record, summary["id"], summary["units"]
    ready = settling is not None and held <= settling.as_of
    claims = settling.claims if settling is not None else {}
    found = []
    for who in chosen:
        doc = rows[who]
        stored = doc.get("status", "pending")
        if stored == "pending" and review != "approved":
            stored = review
        if settling is None:
            found.append(make(ident, units, earned, who, doc, due, stored))
        else:
            status, fulfillment, paid = status_of(stored, claims.get(f"{ident}:{who}"), ready)
            found.append(make(ident, units, earned, who, doc, due, status, fulfillment, paid))
    return found


def obligations_of(store: Store, summary: Record) -> list[Obligation]:
    """A distribution's obligations, largest first (see `_read`)."""
    return sorted(_read(store, summary), key=lambda o: (-o.amount, o.collaborator))


def load(store: Store, dist_id: str) -> Distribution | None:
    """A closed distribution with its scores and obligations, as `close_due` made it."""
    summary = store.get(DISTRIBUTIONS, dist_id)
    if summary is None:
        return None
    # Payees' scores are kept with their obligations; an older store also has them in `scores/<id>`.
    scored = {**store.table(obligations_table(dist_id)), **store.table(scores_table(dist_id))}
    shares = tuple(Standing(who, score) for score, who in
                   sorted(((Decimal(doc["score"]), who) for who, doc in scored.items()), key=lambda p: (-p[0], p[1])))
    return Distribution.from_records(summary, shares, tuple(obligations_of(store, summary)))


def history(store: Store, only: str | None = None) -> list[Distribution]:
    """Closed distributions with their scores and obligations, oldest period first."""
    return [d for r in summaries(store, only) if (d := load(store, r["id"])) is not None]


def obligations(store: Store, collaborators: Collection[str] | None = None,
                settling: Settling | None = None) -> list[Obligation]:
    """Every distribution's obligations (of `collaborators`, or everyone's), oldest period first,
    then by collaborator, then the programs' rewards and clawbacks (`commissions.obligations`), with
    their status at `settling.as_of` when given; only the selected collaborators' documents are
    read into obligations, and (with `settling`) only those earned by then."""
    return [o for summary in summaries(store)
            if settling is None or parse_time(summary["period_end"]) <= settling.as_of
            for o in _read(store, summary, collaborators, settling)] + commissions.obligations(
        store, collaborators, settling)


def latest_with(store: Store, collaborator: str) -> Distribution | None:
    """The newest closed distribution in which `collaborator` scored or was paid."""
    for summary in reversed(summaries(store)):
        if any(store.get(table(summary["id"]), collaborator) is not None
               for table in (obligations_table, scores_table)):
            return load(store, summary["id"])
    return None


def standings(ledger: Ledger, only: str | None = None) -> list[Distribution]:
    """The open period of every distributor, as if it closed now (nothing is written)."""
    rows = []
    for key in ledger.distributors:
        if only and key != only:
            continue
        start, end = ledger.open_period(key)
        rows.append(ledger.project(key, start, end, ledger.period_state(key).get("carry", {})))
    return rows


def public_json(records: Iterable[Distribution]) -> list[Record]:
    """The `--json` shape of DESIGN section 6."""
    return [r.public_record() for r in records]

