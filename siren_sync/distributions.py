"""Closing periods: from a period's aggregate to a distribution, its obligations and its outbox entry.

A due period is closed in one store transaction that writes the distribution, one obligation per
allocation, the record to publish, and moves the distributor's open period to the next one. That
move is what makes closing idempotent: run it twice and the second run finds nothing due. Periods
missed while the worker was down close one by one, in order, each with the carry of the one before.

In the store a distribution is a small summary (root table `distributions`) plus two tables of its
own, `obligations/<id>` and `scores/<id>`, keyed by collaborator: a period with 100,000
collaborators is written once, and later commits never rewrite it. `load` puts them back together.
"""
from __future__ import annotations

import gc
from collections.abc import Iterable, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal

from siren_sync.engine.closing import close
from siren_sync.ledger import TOTALS, Ledger, aggregate_table
from siren_sync.model import Distributor
from siren_sync.values import iso


def distribution_id(key: str, end: datetime) -> str:
    """Deterministic, so a re-run or a crash can never make a second distribution of a period."""
    return f"{key}-{end.astimezone(UTC).strftime('%Y%m%dT%H%M')}".lower()


def slug_of(distribution_id_: str) -> str:
    """The slug of the record posted to the site (DESIGN section 3)."""
    return f"siren-sync-{distribution_id_}".lower()


def due_periods(ledger: Ledger, as_of: datetime, only: str | None = None):
    """(key, start, end) of every closable period, per distributor in schedule order."""
    for key, d in ledger.distributors.items():
        if (only and key != only) or not d.active:
            continue
        start, end = ledger.open_period(key)
        while end <= as_of:
            yield key, start, end
            start, end = end, ledger.calendar(key).end_of(end)


@contextmanager
def _without_gc_pauses():
    """Closing builds a few objects per collaborator (100,000s of them, none in a reference cycle);
    the cyclic collector would scan them over and over as they are made, a third of the close."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def close_due(ledger: Ledger, as_of: datetime, only: str | None = None, dry_run: bool = False) -> list[dict]:
    """Close every period whose trigger time is <= `as_of`; returns the distributions made."""
    with _without_gc_pauses():
        return _close_due(ledger, as_of, only, dry_run)


def _close_due(ledger: Ledger, as_of: datetime, only: str | None, dry_run: bool) -> list[dict]:
    made, carries = [], {}
    for key, start, end in list(due_periods(ledger, as_of, only)):
        d = ledger.distributors[key]
        state = ledger.period_state(key)
        carry = carries.get(key, state.get("carry", {}))
        record, next_carry, (obligation_docs, score_docs) = _build(ledger, d, start, end, carry)
        carries[key] = next_carry
        made.append(record)
        if dry_run:
            continue
        with ledger.store.transaction() as tx:
            if tx.get("distributions", record["id"]) is not None:
                continue  # closed by an earlier run; never twice
            tx.put("distributions", record["id"], _summary(record))
            tx.put_many(obligations_table(record["id"]), obligation_docs)
            tx.put_many(scores_table(record["id"]), score_docs)
            tx.put("outbox", record["id"], {"distribution": record["id"], "slug": slug_of(record["id"]),
                                            "status": "queued", "attempts": 0, "last_error": None})
            tx.put("periods", key, dict(state, open_start=iso(end), carry=next_carry))
    return made


def build_distribution(ledger: Ledger, d: Distributor, start: datetime, end: datetime,
                       carry: Mapping) -> tuple[dict, dict]:
    """The distribution record of one period and the carry into the next (nothing is written)."""
    record, next_carry, _ = _build(ledger, d, start, end, carry)
    return record, next_carry


def _build(ledger: Ledger, d: Distributor, start: datetime, end: datetime,
           carry: Mapping) -> tuple[dict, dict, tuple[dict, dict]]:
    """`build_distribution`, plus the documents a close stores (see `_lists`)."""
    table = aggregate_table(d.key, start)
    rows = ledger.store.table(table) or {}
    totals = rows.get(TOTALS, {"revenue": "0", "events": 0, "late": 0})
    counts = dict(rows)  # a copy without the totals document (a C-level copy, 100,000s of rows)
    counts.pop(TOTALS, None)
    aggregate = {"distributor": d.key, "start": iso(start), "end": iso(end), **totals, "counts": counts}
    eligible = _eligible(ledger)
    closing = close(d, aggregate, carry, eligible)
    dist_id = distribution_id(d.key, end)
    scores, obligations, documents = _lists(dist_id, closing)
    record = {
        "id": dist_id, "distributor": d.key, "name": d.name, "resolver": d.resolver,
        "period_start": iso(start), "period_end": iso(end), "units": d.units,
        "revenue": str(_padded(closing.revenue, d)), "pool": str(closing.pool),
        "carried_in": dict(carry), "carry_out": closing.next_carry, "unspent": str(closing.unspent),
        "events": totals.get("events", 0), "late_events": totals.get("late", 0),
        "late_buckets": totals.get("late_buckets", []),
        "other_currency": totals.get("other_currency", {}),
        "scores": scores, "obligations": obligations, "closed_at": iso(ledger.now),
    }
    return record, closing.next_carry, documents


def _padded(value: Decimal, d: Distributor) -> Decimal:
    """`0` shown as `0.00` for a 2-decimal currency; never rounds (padding only)."""
    if d.is_currency and value.as_tuple().exponent > -d.exponent:
        return value.quantize(Decimal(1).scaleb(-d.exponent))
    return value


def _eligible(ledger: Ledger):
    """Only collaborators active at closing time qualify (one set lookup per collaborator)."""
    return frozenset(c.id for c in ledger.collaborators.values() if c.active).__contains__


def standings(ledger: Ledger, only: str | None = None) -> list[dict]:
    """The open period of every distributor, as if it closed now (nothing is written)."""
    rows = []
    for key, d in ledger.distributors.items():
        if only and key != only:
            continue
        start, end = ledger.open_period(key)
        record, _ = build_distribution(ledger, d, start, end, ledger.period_state(key).get("carry", {}))
        rows.append(record)
    return rows


def obligations_table(dist_id: str) -> str:
    return f"obligations/{dist_id}"


def scores_table(dist_id: str) -> str:
    return f"scores/{dist_id}"


def _lists(dist_id: str, closing) -> tuple[list, list, tuple[dict, dict]]:
    """The record's scores and obligations, and the documents a close stores, made in one pass.

    Stored is one document per collaborator, holding only what is not implied: an obligation holds
    its collaborator's score too, so `scores/<id>` keeps only those who scored without being paid;
    a pending status and an empty note are left out. Building and encoding these is most of a
    100,000-collaborator close. (A score's last scoring time only breaks a topScoreWins tie, and
    the winner's note says how it did.) Stores written before this layout (a score and its time for
    everyone, explicit status) read the same, see `load`.
    """
    paid = {a.collaborator: a for a in closing.allocations}
    scores, obligation_docs, score_docs = [], {}, {}
    for who, score, _ in closing.standings:
        text = str(score)
        scores.append({"collaborator": who, "score": text})
        doc = {"score": text}
        allocation = paid.get(who)
        if allocation is None:
            score_docs[who] = doc
            continue
        doc["amount"] = str(allocation.amount)
        if allocation.note:
            doc["note"] = allocation.note
        obligation_docs[who] = doc
    obligations = [{"id": f"{dist_id}:{a.collaborator}", "collaborator": a.collaborator,
                    "score": obligation_docs[a.collaborator]["score"],
                    "amount": obligation_docs[a.collaborator]["amount"], "note": a.note}
                   for a in closing.allocations]
    return scores, obligations, (obligation_docs, score_docs)


def _summary(record: dict) -> dict:
    """The distribution without its per-collaborator lists (those get tables of their own)."""
    summary = {k: v for k, v in record.items() if k not in ("scores", "obligations")}
    summary["obligation_count"] = len(record["obligations"])
    return summary


def obligations_of(store, summary: Mapping) -> list[dict]:
    """A distribution's obligations as payouts see them: `{id, distribution, collaborator, amount,
    units, status, ...}`, largest first. The stored documents hold only what differs per collaborator."""
    rows = store.table(obligations_table(summary["id"]))
    result = [{"id": f"{summary['id']}:{who}", "distribution": summary["id"], "distributor": summary["distributor"],
               "collaborator": who, "score": o["score"], "amount": o["amount"], "note": o.get("note", ""),
               "units": summary["units"], "status": o.get("status", "pending"), "paid_at": o.get("paid_at"),
               "created": summary["closed_at"], "period_end": summary["period_end"]}
              for who, o in rows.items()]
    return sorted(result, key=lambda o: (-Decimal(o["amount"]), o["collaborator"]))


def load(store, dist_id: str) -> dict | None:
    """A closed distribution with its scores and obligations, as `close_due` returned it."""
    summary = store.get("distributions", dist_id)
    if summary is None:
        return None
    # Payees' scores are kept with their obligations; an older store also has them in `scores/<id>`.
    scored = {**store.table(obligations_table(dist_id)), **store.table(scores_table(dist_id))}
    ranked = sorted(scored.items(), key=lambda kv: (-Decimal(kv[1]["score"]), kv[0]))
    record = {k: v for k, v in summary.items() if k != "obligation_count"}
    record["scores"] = [{"collaborator": who, "score": s["score"]} for who, s in ranked]
    record["obligations"] = [{"id": o["id"], "collaborator": o["collaborator"], "score": o["score"],
                              "amount": o["amount"], "note": o["note"]} for o in obligations_of(store, summary)]
    return record


def summaries(store, only: str | None = None) -> list[dict]:
    """Closed distributions without their lists, oldest period first (cheap at any size)."""
    records = [r for r in store.table("distributions").values() if not only or r["distributor"] == only]
    return sorted(records, key=lambda r: (r["period_end"], r["distributor"]))


def history(store, only: str | None = None) -> list[dict]:
    """Closed distributions with their scores and obligations, oldest period first."""
    return [load(store, r["id"]) for r in summaries(store, only)]


def public_json(records: Iterable[dict]) -> list[dict]:
    """The `--json` shape of DESIGN section 6."""
    return [{"id": r["id"], "distributor": r["distributor"], "period_start": r["period_start"],
             "period_end": r["period_end"], "units": r["units"], "revenue": r["revenue"], "pool": r["pool"],
             "obligations": [{"collaborator": o["collaborator"], "score": o["score"], "amount": o["amount"]}
                             for o in r["obligations"]]}
            for r in records]
