"""`siren-sync explain`: the events and points behind one collaborator's score and amount.

Reads the ledger segments of the months the period covers (plus those holding its late events) and
keeps the events placed in that period for that collaborator, so an admin can answer "why did I get
this much?" with the same numbers the distribution used.
"""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal

from siren_sync import history
from siren_sync.app import App
from siren_sync.errors import UsageError
from siren_sync.ledger import period_records
from siren_sync.model import Distribution, Record
from siren_sync.store.protocol import Store
from siren_sync.tables import DISTRIBUTIONS
from siren_sync.values import iso


def period_events(store: Store, record: Distribution, collaborator: str) -> Iterator[Record]:
    """The ledger records of `collaborator` that counted in the period of `record`."""
    period = (record.period_start, record.period_end)
    for _, event in period_records(store, record.distributor, period, record.late_buckets):
        if event.get("collaborator") == collaborator:
            yield event


def _records_for(app: App, collaborator: str, distribution_id: str | None) -> list[Distribution]:
    if distribution_id:
        record = history.load(app.store, distribution_id)
        if record is None:
            raise UsageError(f"unknown distribution {distribution_id!r} (see `siren-sync history`)")
        return [record]
    latest = history.latest_with(app.store, collaborator)
    return [latest] if latest is not None else history.standings(app.ledger)


def render(app: App, collaborator: str, distribution_id: str | None) -> str:
    """Text explanation for one collaborator in one distribution (default: their latest)."""
    lines: list[str] = []
    for record in _records_for(app, collaborator, distribution_id):
        lines.extend(_explained(app, record, collaborator))
    return "\n".join(lines)


def _explained(app: App, record: Distribution, collaborator: str) -> list[str]:
    d = app.ledger.distributors.get(record.distributor)
    points = d.points if d else {}
    state = "closed" if app.store.get(DISTRIBUTIONS, record.id) else "open (projected)"
    lines = [f"{record.id} [{state}] {record.name}: {iso(record.period_start)} to {iso(record.period_end)}",
             f"  pool {record.pool} {record.units} from revenue {record.revenue} ({record.resolver})"]
    total = Decimal(0)
    for event in period_events(app.store, record, collaborator):
        qty = int(event.get("quantity", 1))
        value = Decimal(points.get(event["type"], 0)) * qty
        total += value
        late = " late" if record.distributor in event.get("late", ()) else ""
        lines.append(f"  {event['at']}  {event['type']:<24} x{qty:<4} {value:>8} pts  {event['key']}{late}")
    score = next((str(s.score) for s in record.scores if s.collaborator == collaborator), "0")
    mine = next((o for o in record.obligations if o.collaborator == collaborator), None)
    amount = str(mine.amount) if mine else "0"
    note = f" - {mine.note}" if mine and mine.note else ""
    lines.append(f"  score {score} (events above add up to {total}); amount {amount} {record.units}{note}")
    return lines
