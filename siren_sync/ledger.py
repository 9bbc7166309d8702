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

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, localcontext
from typing import Any

from siren_sync.engine import closing, pools
from siren_sync.engine.periods import Calendar
from siren_sync.model import SALE, Collaborator, Distribution, Distributor, Event, Record
from siren_sync.store.protocol import Store, Transaction
from siren_sync.tables import CURSORS, PERIODS, QUARANTINE, aggregate_table
from siren_sync.values import MAX_COUNT, MAX_INTEGER_DIGITS, WIDE, as_utc, iso, parse_time

TOTALS = "*"  # the aggregate document holding a period's totals (collaborator ids never start with '*')
FUTURE_LIMIT = timedelta(days=366)  # an event dated further ahead than this is bad data, not a plan
# Events kept in memory between a sync and the programs' run (`keep_recent`): about 0.7 KB each (an
# order's sale and engagement events, 1.4 KB an order), so a backfill of some 25,000 orders, 35 MB.
# Past that the programs read them back from the store.
RECENT_LIMIT = 50_000


def bucket_of(at_text: str) -> str:
    """The ledger segment an event is appended to: the UTC month of its time ("YYYY-MM" of its `at`
    as recorded, which is `iso` of a UTC time)."""
    return at_text[:7]


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
    refused: int = 0  # new events out of bounds: quarantined instead of recorded
    # (key, why) of the new events kept but counting nothing (`_ignored`: dated more than a year
    # ahead, an inactive collaborator's), so a command can say so
    ignored: list[tuple[str, str]] = field(default_factory=list)


_LIMIT = Decimal(10) ** MAX_INTEGER_DIGITS


def event_problem(event: Event) -> str | None:
    """Why `event` must not be recorded (an amount or a count beyond the bounds of `values`), or None.

    Every edge validates its values; this is the ledger's own guard, so that no source, whatever it
    forgot, can put a value in the store that a close cannot compute.
    """
    if event.type != SALE:
        quantity = event.quantity
        if isinstance(quantity, bool) or not isinstance(quantity, int) or abs(quantity) > MAX_COUNT:
            return f"quantity {quantity!r} is beyond {MAX_COUNT:,}"
        return None
    order = event.order
    amounts = [("revenue", event.revenue)] if order is None else [
        ("total", order.total), ("discount_total", order.discount_total), ("fees", order.fees),
        ("shipping", order.shipping), ("taxes", order.taxes),
        *((f"line {line.id} subtotal", line.subtotal) for line in order.lines)]
    for what, amount in amounts:
        if amount is not None and not _within(amount):
            return f"{what} {amount} is beyond {MAX_INTEGER_DIGITS} digits before the decimal point"
    if order is not None and any(abs(line.quantity) > MAX_COUNT for line in order.lines):
        return f"a line quantity is beyond {MAX_COUNT:,}"
    return None


def _within(amount: Decimal) -> bool:
    try:
        return -_LIMIT < amount < _LIMIT
    except ArithmeticError:  # NaN
        return False


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
        self.recent: list[tuple[str, Event, bool]] | None = None  # see `keep_recent`
        self._recent_full = False  # more than RECENT_LIMIT since the last take: none kept until the next

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
            self._calendars[key] = Calendar(first, self.distributors[key].schedule, self.tz,
                                            label=f"distributors.{key}.schedule")
        return self._calendars[key]

    def open_period(self, key: str, tx: Transaction | None = None) -> tuple[datetime, datetime]:
        """The period of `key` that is open now: the earliest one not yet closed."""
        start = parse_time(self.period_state(key, tx)["open_start"]).astimezone(self.tz)
        return start, self.calendar(key).end_of(start)

    def period_aggregate(self, key: str, start: datetime, end: datetime,
                         rows: Mapping[str, Record] | None = None) -> tuple[Record, Record]:
        """(the aggregate the engine closes, its totals) of one period of distributor `key` (from
        `rows`, an aggregate table's documents, when given)."""
        rows = self.store.table(aggregate_table(key, start)) if rows is None else rows
        totals = rows.get(TOTALS, {"revenue": "0", "events": 0, "late": 0})
        counts = dict(rows)  # a copy without the totals document (a C-level copy, 100,000s of rows)
        counts.pop(TOTALS, None)
        return {"distributor": key, "start": iso(start), "end": iso(end), **totals, "counts": counts}, totals

    def project(self, key: str, start: datetime, end: datetime, carry: Mapping[str, str]) -> Distribution:
        """The distribution one period of `key` would make if it closed now (nothing is written).

        It never raises on data already in the store: when the period's aggregate holds a value out
        of bounds (recorded before edges bounded them) or cannot be computed, the period's events are
        read again and those that cannot be computed are left out, each with its reason, in the
        result's `set_aside`; closing quarantines them and the period still closes.
        """
        aggregate, totals = self.period_aggregate(key, start, end)
        if aggregate_problem(aggregate) is None:
            try:
                return self._projected(key, (start, end), carry, aggregate, totals)
            except (ArithmeticError, ValueError, TypeError, KeyError):
                pass  # computed again below, event by event
        return self._recomputed(key, (start, end), carry, totals.get("late_buckets") or ())

    def _projected(self, key: str, period: tuple[datetime, datetime], carry: Mapping[str, str], aggregate: Record,
                   totals: Record, set_aside: list[Record] | None = None) -> Distribution:
        d = self.distributors[key]
        with localcontext(WIDE):
            outcome = closing.close(d, aggregate, carry, self.eligible())
            made = closing.distribution(d, outcome, period, carry, totals, self.now)
        return replace(made, set_aside=tuple(set_aside)) if set_aside else made

    def _recomputed(self, key: str, period: tuple[datetime, datetime], carry: Mapping[str, str],
                    late_buckets: Iterable[str]) -> Distribution:
        """The period from its events, leaving out those that cannot be computed (each one bounded, what
        is left always computes). Should the carry from the period before be what fails, it is set
        aside too; anything else failing then is a bug, not data, and is raised, never hidden by
        closing the period with less."""
        rows, set_aside = self._rebuilt(key, period, late_buckets)
        aggregate, totals = self.period_aggregate(key, *period, rows=rows)
        try:
            return self._projected(key, period, carry, aggregate, totals, set_aside)
        except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
            if not carry:
                raise
            set_aside.append({"where": f"carry into period {iso(period[0])} of distributor {key}",
                              "reason": f"cannot be computed ({exc.__class__.__name__}: {exc}); the period "
                                        "closes without it", "payload": {"carry": dict(carry)}})
        return self._projected(key, period, {}, aggregate, totals, set_aside)

    def _rebuilt(self, key: str, period: tuple[datetime, datetime],
                 late_buckets: Iterable[str]) -> tuple[dict[str, Record], list[Record]]:
        """The aggregate documents of one period made again from its events, and the events left out."""
        d, start_text = self.distributors[key], iso(period[0])
        scratch = _Scratch()
        placing = _Placing(scratch, {key: period[0]}, {key: self.adopted_until(key)})
        table = placing.table(key, period[0])[0]
        set_aside: list[Record] = []
        for bucket, record in period_records(self.store, key, period, late_buckets):
            try:
                event = Event.from_record(record)
                problem = event_problem(event)
                with localcontext(WIDE):
                    amount = None if problem else self._contribution(event, d)
            except (ArithmeticError, ValueError, TypeError, KeyError) as exc:
                problem = f"cannot be read ({exc.__class__.__name__}: {exc})"
            if problem:
                set_aside.append({"where": f"event {record.get('key')}", "payload": record,
                                  "reason": f"{problem}: left out of the period {start_text} of distributor {key}"})
            elif amount is not None:
                placing.add(table, event, record["at"], amount, key in record.get("late", ()), bucket,
                            pools.other_currency(event, d))
        placing.save()
        return scratch.docs.get(table, {}), set_aside

    def eligible(self) -> Callable[[str], bool]:
        """Only collaborators active at closing time qualify (one set lookup per collaborator)."""
        return frozenset(c.id for c in self.collaborators.values() if c.active).__contains__

    # -- recording -----------------------------------------------------------------------------

    def record(self, events: Iterable[Event], cursors: Mapping[str, Mapping[str, Any]] | None = None,
               quarantine: Iterable[Mapping[str, Any]] = ()) -> Recorded:
        """Record new events (and source cursors, and quarantined records) in one transaction.

        Every event given is new, a duplicate (already stored, or a key earlier in the batch: the
        first one wins) or refused (out of bounds, quarantined)."""
        events = list(events)
        batch = unique_by_key(events)
        recorded_at = iso(self.now)
        self._future = self.now + FUTURE_LIMIT  # events dated after this are ignored (`now` moves)
        kept: list[tuple[str, Event, bool]] = []
        with self.store.transaction() as tx:  # "already recorded?" is asked under the write lock
            known = tx.known(batch)
            fresh, refused = _within_bounds(e for e in batch.values() if e.key not in known)
            if refused:
                quarantine = [*quarantine, *({"where": f"event {e.key}", "reason": f"{problem}: not recorded",
                                              "payload": e.to_record()} for e, problem in refused)]
            result = Recorded(new=len(fresh), duplicate=len(events) - len(fresh) - len(refused),
                              refused=len(refused))
            placing = _Placing(tx, {key: self.open_period(key, tx)[0] for key in self.distributors},
                               {key: self.adopted_until(key, tx) for key in self.distributors})
            buckets: dict[str, list[dict]] = {}
            for event in fresh:
                record = event.to_record()
                record["recorded_at"] = recorded_at
                bucket = bucket_of(record["at"])
                self._place(event, record, placing, bucket)
                result.late += bool(record.get("late"))
                if "ignored" in record:
                    result.ignored.append((event.key, record["ignored"]))
                buckets.setdefault(bucket, []).append(record)
                if self.recent is not None and not self._recent_full:
                    kept.append((bucket, event, "ignored" in record))
            for bucket, records in buckets.items():
                tx.append_events(bucket, records)
            placing.save()
            self._save_new_period_states(tx)
            for name, cursor in (cursors or {}).items():
                tx.put(CURSORS, name, dict(cursor))
            for item in quarantine:
                tx.put(QUARANTINE, f"{item['where']}", dict(item, at=recorded_at))
        if kept and self.recent is not None:
            if len(self.recent) + len(kept) <= RECENT_LIMIT:
                self.recent.extend(kept)  # committed: programs may take them from here (`commissions.reward`)
            else:  # too many to hold: programs read them back from the store
                self.recent, self._recent_full = [], True
        return result

    def keep_recent(self) -> None:
        """Keep the events recorded from now on in memory for programs (up to `RECENT_LIMIT`)."""
        if self.recent is None:
            self.recent = []

    def take_recent(self) -> list[tuple[str, Event, bool]]:
        """(segment, event, ignored) of what was recorded since the last take, in order; empty once
        more than `RECENT_LIMIT` piled up (then only the store has them)."""
        taken, self.recent = self.recent or [], [] if self.recent is not None else None
        self._recent_full = False
        return taken

    def recorded(self, events: Iterable[Event]) -> dict[str, Record | None]:
        """The stored records of those `events` whose keys are already recorded, by key.

        The store knows a key only by its digest; the record itself is in the segment of its UTC
        month. Only the months of known keys are read, each once: a key whose record is not in its
        event's month maps to None (it was recorded with another time).
        """
        by_key = unique_by_key(events)
        known = self.store.known(by_key)
        wanted: dict[str, set[str]] = {}
        for key in known:
            wanted.setdefault(bucket_of(iso(as_utc(by_key[key].at))), set()).add(key)
        found: dict[str, Record | None] = dict.fromkeys(known)
        for bucket, keys in wanted.items():
            for record in self.store.events(bucket):
                if record.get("key") in keys:
                    found[record["key"]] = record
        return found

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


def aggregate_problem(aggregate: Mapping[str, Any]) -> str | None:
    """What in a period's aggregate is beyond the bounds a close computes (a revenue or a count of
    more than `MAX_INTEGER_DIGITS` digits, or not a number), or None. Asked at every close: one
    look per collaborator and type, in plain integers."""
    if not _within(_decimal(aggregate.get("revenue", "0"))):
        return f"revenue {aggregate.get('revenue')!r} is out of bounds"
    limit = 10 ** MAX_INTEGER_DIGITS
    for collaborator, by_type in (aggregate.get("counts") or {}).items():
        for kind, slot in by_type.items():
            qty = slot.get("qty") if type(slot) is dict else None
            if type(qty) is not int or not -limit < qty < limit:
                return f"{collaborator}'s {kind} count {qty!r} is out of bounds"
    return None


def _decimal(value: Any) -> Decimal:
    try:
        return Decimal(value)
    except (ArithmeticError, ValueError, TypeError):
        return Decimal("NaN")


def months_between(start: datetime, end: datetime) -> list[str]:
    """The ledger segments (UTC months) that `[start, end)` touches."""
    start, end = start.astimezone(UTC), end.astimezone(UTC)
    year, month, out = start.year, start.month, []
    while (year, month) <= (end.year, end.month):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return out


def period_records(store: Store, key: str, period: tuple[datetime, datetime],
                   late_buckets: Iterable[str]) -> Iterator[tuple[str, Record]]:
    """(segment, record) of every event counted in one period of distributor `key`: those of the
    months it covers and of the segments holding its late events, marked with its start."""
    start = iso(period[0])
    buckets = set(months_between(*period)) | set(late_buckets)
    for bucket in sorted(buckets & set(store.buckets())):
        for record in store.events(bucket):
            if (record.get("periods") or {}).get(key) == start:
                yield bucket, record


def _within_bounds(events: Iterable[Event]) -> tuple[list[Event], list[tuple[Event, str]]]:
    """(the events within the ledger's bounds, the others with their problem), each checked once."""
    kept: list[Event] = []
    refused: list[tuple[Event, str]] = []
    for e in events:
        problem = event_problem(e)
        if problem:
            refused.append((e, problem))
        else:
            kept.append(e)
    return kept, refused


class _Scratch:
    """Where `_Placing` writes when an aggregate is made again in memory (a close's recomputation)."""

    def __init__(self) -> None:
        self.docs: dict[str, dict[str, Record]] = {}

    def get(self, table: str, key: str) -> Record | None:
        return None

    def put(self, table: str, key: str, doc: Record) -> None:
        self.docs.setdefault(table, {})[key] = doc


class _Placing:
    """The aggregates one batch touches, copied on first touch and written back once.

    Revenue is summed as a Decimal and table names are built once per period, so the per-event work
    is dictionary updates (this is the hot path of every sync).
    """

    def __init__(self, tx: Transaction | _Scratch, open_starts: Mapping[str, datetime],
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
