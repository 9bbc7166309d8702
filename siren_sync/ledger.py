"""The ledger: where an event becomes points and revenue in a distributor's period.

Recording is idempotent by event key. Each new event is placed, for every distributor, in the
period that contains its occurrence time; if that period is already closed the event counts in the
period open now and is marked late (the past is never edited). An event of a period that `store
adopt` took from the site's records counts nothing for that distributor: the lost store that
closed the period counted it already, and it would be paid twice. The running aggregates of each
period (net quantities per collaborator and type, counted revenue) are updated in the same store
transaction that appends the events and saves the source's cursor, so closing a period reads one
small aggregate instead of re-reading its events, and a crash never leaves half a batch.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from decimal import Decimal
from typing import Any

from siren_sync.engine import closing, pools
from siren_sync.engine.periods import Calendar
from siren_sync.model import SALE, Collaborator, Distribution, Distributor, Event, Record
from siren_sync.store.protocol import Store, Transaction
from siren_sync.tables import CURSORS, PERIODS, QUARANTINE, aggregate_table
from siren_sync.values import iso, parse_time

TOTALS = "*"  # the aggregate document holding a period's totals (collaborator ids never start with '*')
FUTURE_LIMIT = timedelta(days=366)  # an event dated further ahead than this is bad data, not a plan


def midnight(moment: datetime, tz: tzinfo) -> datetime:
    """Midnight of `moment`'s day in the site timezone (a distributor's default first start)."""
    local = moment.astimezone(tz)
    return datetime(local.year, local.month, local.day, tzinfo=tz)


@dataclass
class Recorded:
    """What one `record` call did."""

    new: int = 0
    duplicate: int = 0
    late: int = 0


class Ledger:
    """Records events into the store and keeps every distributor's period aggregates."""

    def __init__(self, store: Store, distributors: Mapping[str, Distributor],
                 collaborators: Mapping[str, Collaborator], tz: tzinfo, now: datetime):
        self.store = store
        self.distributors = distributors
        self.tz = tz
        self.now = now
        self.set_collaborators(collaborators)
        self._calendars: dict[str, Calendar] = {}

    def set_collaborators(self, collaborators: Mapping[str, Collaborator]) -> None:
        """Who can score, and which products count as collaborator-owned for line item filters."""
        self.collaborators = dict(collaborators)
        self.owned_products = frozenset(p for c in collaborators.values() for p in c.products)

    # -- periods -------------------------------------------------------------------------------

    def period_state(self, key: str, tx: Transaction | None = None) -> Record:
        """The distributor's persisted period state; a new distributor starts now (or startsAt)."""
        state = (tx or self.store).get(PERIODS, key)
        if state is None:
            d = self.distributors[key]
            first = d.starts_at or midnight(self.now, self.tz)
            state = {"first_start": iso(first), "open_start": iso(first), "carry": {}}
        return state

    def adopted_until(self, key: str, tx: Transaction | None = None) -> datetime | None:
        """The end of the last period `store adopt` took from the site's records, if any."""
        until = self.period_state(key, tx).get("adopted_until")
        return parse_time(until) if until else None

    def forget_periods(self) -> None:
        """Read each distributor's first period from the store again (`store adopt` set them)."""
        self._calendars.clear()

    def calendar(self, key: str) -> Calendar:
        if key not in self._calendars:
            first = parse_time(self.period_state(key)["first_start"])
            self._calendars[key] = Calendar(first, self.distributors[key].schedule, self.tz)
        return self._calendars[key]

    def open_period(self, key: str, tx: Transaction | None = None) -> tuple[datetime, datetime]:
        """The period of `key` that is open now: the earliest one not yet closed."""
        start = parse_time(self.period_state(key, tx)["open_start"]).astimezone(self.tz)
        return start, self.calendar(key).end_of(start)

    def period_aggregate(self, key: str, start: datetime, end: datetime) -> tuple[Record, Record]:
        """(the aggregate the engine closes, its totals) of one period of distributor `key`."""
        rows = self.store.table(aggregate_table(key, start)) or {}
        totals = rows.get(TOTALS, {"revenue": "0", "events": 0, "late": 0})
        counts = dict(rows)  # a copy without the totals document (a C-level copy, 100,000s of rows)
        counts.pop(TOTALS, None)
        return {"distributor": key, "start": iso(start), "end": iso(end), **totals, "counts": counts}, totals

    def project(self, key: str, start: datetime, end: datetime, carry: Mapping[str, str]) -> Distribution:
        """The distribution one period of `key` would make if it closed now (nothing is written)."""
        d = self.distributors[key]
        aggregate, totals = self.period_aggregate(key, start, end)
        outcome = closing.close(d, aggregate, carry, self.eligible())
        return closing.distribution(d, outcome, (start, end), carry, totals, self.now)

    def eligible(self) -> Callable[[str], bool]:
        """Only collaborators active at closing time qualify (one set lookup per collaborator)."""
        return frozenset(c.id for c in self.collaborators.values() if c.active).__contains__

    # -- recording -----------------------------------------------------------------------------

    def record(self, events: Iterable[Event], cursors: Mapping[str, Mapping[str, Any]] | None = None,
               quarantine: Iterable[Mapping[str, Any]] = ()) -> Recorded:
        """Record new events (and source cursors, and quarantined records) in one transaction."""
        batch = unique_by_key(events)
        recorded_at = iso(self.now)
        self._future = self.now + FUTURE_LIMIT  # events dated after this are ignored (`now` moves)
        with self.store.transaction() as tx:  # "already recorded?" is asked under the write lock
            known = tx.known(batch)
            fresh = [e for e in batch.values() if e.key not in known]
            result = Recorded(new=len(fresh), duplicate=len(batch) - len(fresh))
            placing = _Placing(tx, {key: self.open_period(key, tx)[0] for key in self.distributors},
                               {key: self.adopted_until(key, tx) for key in self.distributors})
            buckets: dict[str, list[dict]] = {}
            for event in fresh:
                record = event.to_record()
                record["recorded_at"] = recorded_at
                bucket = record["at"][:7]  # one segment per UTC month of occurrence: "YYYY-MM" of its UTC time
                self._place(event, record, placing, bucket)
                result.late += bool(record.get("late"))
                buckets.setdefault(bucket, []).append(record)
            for bucket, records in buckets.items():
                tx.append_events(bucket, records)
            placing.save()
            self._save_new_period_states(tx)
            for name, cursor in (cursors or {}).items():
                tx.put(CURSORS, name, dict(cursor))
            for item in quarantine:
                tx.put(QUARANTINE, f"{item['where']}", dict(item, at=recorded_at))
        return result

    def _save_new_period_states(self, tx: Transaction) -> None:
        """A distributor seen for the first time keeps the first start it was given."""
        for key in self._calendars:
            if tx.get(PERIODS, key) is None:
                tx.put(PERIODS, key, self.period_state(key))

    def _place(self, event: Event, record: dict, placing: _Placing, bucket: str) -> None:
        """Add `event` to each distributor's period it counts in; note where in the record."""
        ignored = self._ignored(event)
        if ignored:
            record["ignored"] = ignored
            return
        for key, d in self.distributors.items():
            amount = self._contribution(event, d)
            if amount is None:
                continue
            period = self.calendar(key).period_containing(event.at)
            if period is None:
                continue  # occurred before this distributor's first period
            horizon = placing.horizons[key]
            if horizon is not None and period[0] < horizon:
                record.setdefault("adopted", []).append(key)  # the lost store counted it already
                continue
            start, late = period[0], period[0] < placing.open_starts[key]
            if late:
                start = placing.open_starts[key]
                record.setdefault("late", []).append(key)
            table, start_text = placing.table(key, start)
            record.setdefault("periods", {})[key] = start_text
            placing.add(table, event, record["at"], amount, late, bucket, pools.other_currency(event, d))

    def _ignored(self, event: Event) -> str | None:
        """Why an event counts nothing at all: dated far ahead, or an unknown or inactive collaborator."""
        if event.at > self._future:
            return f"occurs at {iso(event.at)}, more than a year after now"
        if event.type == SALE:
            return None
        collaborator = self.collaborators.get(event.collaborator or "")
        if collaborator is None:
            return f"unknown collaborator {event.collaborator!r}"
        if not collaborator.active:
            return f"collaborator {collaborator.id} is {collaborator.status}"
        return None

    def _contribution(self, event: Event, d: Distributor) -> Decimal | int | None:
        """Revenue for a sale, quantity for a scored type, None when `d` does not track it."""
        if event.type == SALE:
            return pools.counted_value(event, d, self.owned_products)
        if event.type in d.points:
            return event.quantity
        return None


class _Placing:
    """The aggregates one batch touches, copied on first touch and written back once.

    Revenue is summed as a Decimal and table names are built once per period, so the per-event work
    is dictionary updates (this is the hot path of every sync).
    """

    def __init__(self, tx: Transaction, open_starts: Mapping[str, datetime],
                 horizons: Mapping[str, datetime | None]):
        self._tx = tx
        self.open_starts = open_starts
        self.horizons = horizons
        self._docs: dict[tuple[str, str], dict] = {}
        self._tables: dict[tuple[str, datetime], tuple[str, str]] = {}
        self._revenue: dict[str, Decimal] = {}

    def table(self, distributor: str, start: datetime) -> tuple[str, str]:
        """(aggregate table, period start as written in records) for one period."""
        slot = (distributor, start)
        if slot not in self._tables:
            self._tables[slot] = (aggregate_table(distributor, start), iso(start))
        return self._tables[slot]

    def _doc(self, table: str, key: str, new: Callable[[], dict] = dict) -> dict:
        """The batch's copy of one aggregate document; `new()` makes it when the store has none."""
        slot = (table, key)
        doc = self._docs.get(slot)
        if doc is None:
            doc = self._docs[slot] = self._tx.get(table, key) or new()  # get() gives a copy already
        return doc

    def add(self, table: str, event: Event, at_text: str, amount: Any, late: bool, bucket: str,
            other_currency: str | None) -> None:
        """Count one event in one period; `at_text` is its UTC time as recorded (sorts as text)."""
        totals = self._doc(table, TOTALS, _new_totals)
        totals["events"] += 1
        if other_currency:  # counted nothing; `check` and the distribution record say how many
            skipped = totals.setdefault("other_currency", {})
            skipped[other_currency] = skipped.get(other_currency, 0) + 1
        if late:
            totals["late"] += 1
            if bucket not in totals["late_buckets"]:
                totals["late_buckets"].append(bucket)
        if event.type == SALE:
            self._revenue[table] = self._revenue.get(table, Decimal(totals["revenue"])) + amount
            return
        doc = self._doc(table, event.collaborator or "")
        slot = doc.get(event.type)
        if slot is None:
            slot = doc[event.type] = {"qty": 0, "last": None}
        slot["qty"] += amount
        if amount > 0 and (slot["last"] is None or slot["last"] < at_text):
            slot["last"] = at_text

    def save(self) -> None:
        for table, revenue in self._revenue.items():
            self._docs[(table, TOTALS)]["revenue"] = str(revenue)
        for (table, key), doc in self._docs.items():
            self._tx.put(table, key, doc)


def _new_totals() -> dict:
    return {"revenue": "0", "events": 0, "late": 0, "late_buckets": []}


def unique_by_key(events: Iterable[Event]) -> dict[str, Event]:
    """The batch by key; the first of two events with one key wins, as recording would do."""
    batch: dict[str, Event] = {}
    for event in events:
        batch.setdefault(event.key, event)
    return batch
