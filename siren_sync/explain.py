"""`siren-sync explain`: the events and points behind one collaborator's score and amount.

Reads the ledger segments of the months the period covers (plus those holding its late events) and
keeps the events placed in that period for that collaborator, so an admin can answer "why did I get
this much?" with the same numbers the distribution used.
"""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from siren_sync.distributions import build_distribution, load, obligations_table, scores_table, summaries
from siren_sync.errors import UsageError
from siren_sync.values import parse_time


def months_between(start: datetime, end: datetime) -> list[str]:
    """UTC month buckets that `[start, end)` touches."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    year, month, out = start.year, start.month, []
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def period_events(store, distributor: str, record: dict, collaborator: str):
    """The ledger records of `collaborator` that counted in the period of `record`."""
    start = record["period_start"]
    buckets = set(months_between(parse_time(start), parse_time(record["period_end"])))
    buckets |= set(record.get("late_buckets", ()))
    known = set(store.buckets())
    for bucket in sorted(buckets & known):
        for event in store.events(bucket):
            if event.get("collaborator") == collaborator and event.get("periods", {}).get(distributor) == start:
                yield event


def _records_for(app, collaborator: str, distribution_id: str | None) -> list[dict]:
    if distribution_id:
        record = load(app.store, distribution_id)
        if record is None:
            raise UsageError(f"unknown distribution {distribution_id!r} (see `siren-sync history`)")
        return [record]
    for summary in reversed(summaries(app.store)):
        if any(app.store.get(table(summary["id"]), collaborator) is not None
               for table in (obligations_table, scores_table)):
            return [load(app.store, summary["id"])]
    return [build_distribution(app.ledger, d, *app.ledger.open_period(k), app.ledger.period_state(k).get("carry", {}))[0]
            for k, d in app.ledger.distributors.items()]


def render(app, collaborator: str, distribution_id: str | None) -> str:
    """Text explanation for one collaborator in one distribution (default: their latest)."""
    lines = []
    for record in _records_for(app, collaborator, distribution_id):
        d = app.ledger.distributors.get(record["distributor"])
        points = d.points if d else {}
        state = "closed" if app.store.get("distributions", record["id"]) else "open (projected)"
        lines.append(f"{record['id']} [{state}] {record['name']}: {record['period_start']} to {record['period_end']}")
        lines.append(f"  pool {record['pool']} {record['units']} from revenue {record['revenue']} "
                     f"({record['resolver']})")
        total = Decimal(0)
        for event in period_events(app.store, record["distributor"], record, collaborator):
            qty = int(event.get("quantity", 1))
            value = Decimal(points.get(event["type"], 0)) * qty
            total += value
            late = " late" if record["distributor"] in event.get("late", ()) else ""
            lines.append(f"  {event['at']}  {event['type']:<24} x{qty:<4} {value:>8} pts  {event['key']}{late}")
        score = next((s["score"] for s in record["scores"] if s["collaborator"] == collaborator), "0")
        amount = next((o["amount"] for o in record["obligations"] if o["collaborator"] == collaborator), "0")
        note = next((o["note"] for o in record["obligations"] if o["collaborator"] == collaborator and o["note"]), "")
        lines.append(f"  score {score} (events above add up to {total}); amount {amount} {record['units']}"
                     + (f" - {note}" if note else ""))
    return "\n".join(lines)
