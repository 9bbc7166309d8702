"""Program rewards as obligations: the one place they are written (DESIGN sections 7 and 8).

`reward` runs after every sync (the worker's poll, `sync`, `distribute`'s sync, `import`). It takes
the ledger events recorded since it last ran (a count per ledger segment, kept in `cursors`; the
events themselves as the ledger kept them in memory, or read back from the store) and, in one
store transaction with that count:

- remembers the `?ref=` visits (and revisits) by visitor digest (`programs/visits`), so a later order by the same
  visitor is matched to them (only the keyed digest is ever stored, never an address or an agent),
  and once a day of orders forgets the visitors no order still to come can be matched to (`sweep`);
- for each new paid sale, asks `engine.commissions` what each program pays (engagements, structure,
  group) and writes each reward as an obligation `<program>:<order>:<collaborator>` earned at the
  payment time (in `programs/obligations/<the UTC month>`), `draft` when the program says `review:
  true`; a renewal pays the first order's collaborators while the program's `renewals` allows;
- pays each new lead the flat bounty of the `conversion: lead` programs;
- for each new refund or cancellation, adjusts the order's rewards (for an imported sale's reversal,
  that sale's rewards, found in the table of its month, which the reversal names): one in no fulfillment is
  reduced (`rejected` at zero); one processing or paid gets a clawback `<id>:refund:<refund id>`
  earned at the refund's time, or, when paid and its program says `clawback: false`, is left alone
  and the sum is noted (one processing is not paid yet: its fulfillment may still be cancelled).

Each reward and clawback is also in its order's entry of `programs/orders/<order // 1000>` (its id
and earned UTC day; for a first order, the renewals each program rewarded), written in the same commit:
a run reads the entries of the orders its events touch and those rewards, never every reward stored,
so a poll costs what its events touch, whatever the store's history (a lead's or a manual sale's
reward, with no order number, is looked up in its one event's month table).

An order's engagements are decided once, when its payment is first seen: visits recorded after
that do not change a reward already written. `begin`, before each sync and import, starts the
count of a store that never ran programs at the events it holds: programs reward what is recorded
from when they are configured, never a store's history. Writing is idempotent by obligation id
and by refund id, and the event count moves in the same commit, so a re-run never pays twice.
"""
from __future__ import annotations

import logging
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from fractions import Fraction
from operator import attrgetter, itemgetter
from typing import Any, NamedTuple

from siren_sync.engine import commissions as engine
from siren_sync.engine.balances import Claim, Settling, payable_at, status_of
from siren_sync.engine.pools import counted_value, other_currency
from siren_sync.engine.units import decimals_of
from siren_sync.gcpause import without_gc_pauses
from siren_sync.model import (
    LEAD,
    REVISIT,
    SALE,
    WHOLE,
    Allocation,
    Collaborator,
    Event,
    Line,
    Obligation,
    Program,
    Record,
    Reversed,
    Touch,
)
from siren_sync.payouts import records
from siren_sync.store.protocol import Store, Transaction
from siren_sync.tables import (
    CURSORS,
    PROGRAM_OBLIGATIONS,
    PROGRAM_VISITS,
    PROGRAMS_CURSOR,
    program_day_tables,
    program_obligations_table,
    program_orders_table,
)
from siren_sync.values import as_utc, iso, nfc, parse_time

log = logging.getLogger("siren_sync.commissions")

VISITS_KEPT = 50  # the newest `?ref=` visits remembered per visitor
# How long after the newest order seen a visit is still remembered, beyond the programs' longest
# window: an order paid weeks after it was created, or read late by a walk in modification order,
# is still matched to the visits that led to it.
VISITS_MARGIN = timedelta(days=90)
# A reward to write: (collaborator, amount, score, value, why, the products of a royalty alone or None,
# a share and a royalty merged: (the share's amount, the products of the royalty) or None)
Reward = tuple[str, Decimal, str, str, str, frozenset[int] | None, tuple[Decimal, frozenset[int]] | None]
Paid = tuple[str, "engine.Award | list[engine.Royalty]"]  # a program's key, what it pays for a sale
_NO_TOUCH = Touch()
Visits = tuple[tuple[datetime, str], ...]  # (time, tracking id owner), as `engine.Sale` takes them
_NO_VISITS: tuple[Visits, Visits] = ((), ())


@dataclass
class Rewarded:
    """What one `reward` run did."""

    rewards: int = 0  # obligations written for sales, renewals and leads
    adjusted: int = 0  # rewards reduced by a refund or cancellation
    clawbacks: int = 0
    left_alone: Decimal = Decimal(0)  # refunded after payment, not clawed back (`clawback: false`)


def begin(store: Store, programs: Mapping[str, Program]) -> None:
    """Before a sync or an import: a store that has never run programs starts them at the events it
    holds now, so programs added to a store with history reward the sales recorded from then on,
    never the past (a first sync, on an empty store, is rewarded whole). Writes once."""
    cursor = store.get(CURSORS, PROGRAMS_CURSOR)
    if not programs or (cursor is not None and "counts" in cursor):
        return
    with store.transaction() as tx:  # read again under the lock: keeps what `store adopt` wrote
        cursor = tx.get(CURSORS, PROGRAMS_CURSOR) or {}
        if "counts" not in cursor:
            tx.put(CURSORS, PROGRAMS_CURSOR, {**cursor, "counts": store.event_counts()})


def adopted(tx: Transaction, now: datetime) -> None:
    """`store adopt`: the lost store rewarded the sales paid before `now` (and may have paid them),
    so programs never reward those again (nor adjust rewards this store does not hold); sales paid
    from `now` on are rewarded as usual."""
    tx.put(CURSORS, PROGRAMS_CURSOR, {"adopted_until": iso(now)})


def _after_adoption(events: list[Event], cursor: Record) -> tuple[list[Event], list[Event]]:
    """(the events programs may reward, the orders' payments before an adoption). None of a sale
    paid, nor of a lead, before an adoption is rewarded (the lost store rewarded them: an import read
    again must not pay them twice); an order's payment before it is only remembered (`remember_adopted`):
    its renewals paid from the adoption on pay as the lost store's did. Take-backs are all kept,
    whatever their time: one finds only the rewards this store wrote (of sales paid from the
    adoption on), and one dated before it may be of an order refunded on hold and paid after it."""
    until = cursor.get("adopted_until")
    if until is None:
        return events, []
    horizon = parse_time(until)
    kept, before = [], []
    for e in events:
        if (e.type != SALE and e.type != LEAD) or e.at >= horizon or is_take_back(e):
            kept.append(e)
        elif e.order_id is not None and is_payment(e):
            before.append(e)
    return kept, before


def _recent(store: Store, done: Mapping[str, int], recent: list[tuple[str, Event, bool]],
            ) -> tuple[list[Event] | None, dict[str, int]]:
    """(the events of `recent` not ignored, the counts once they are rewarded) when `recent` is all
    the store recorded beyond the counts `done`; (None, {}) when it is not (a crash, a backfill, a
    writer that kept nothing)."""
    added = Counter(map(itemgetter(0), recent))  # counted in C: a backfill keeps 10,000s
    stored = store.event_counts()
    if any(done.get(b, 0) + added.get(b, 0) != stored.get(b, 0) for b in stored.keys() | added.keys()):
        return None, {}
    return [e for _, e, ignored in recent if not ignored], {**done, **{b: stored[b] for b in added}}


def new_events(store: Store, done: Mapping[str, int]) -> tuple[list[Record], dict[str, int]]:
    """The ledger records beyond the counts `done` (not yet seen by programs), and the counts once they are."""
    counts = dict(done)
    fresh: list[Record] = []
    for bucket, total in sorted(store.event_counts().items()):
        if total > counts.get(bucket, 0):
            fresh.extend(store.events(bucket, counts.get(bucket, 0)))
            counts[bucket] = total
    return fresh, counts


def _unrewarded(store: Store, cursor: Record, recent: list[tuple[str, Event, bool]],
                ) -> tuple[list[Event], dict[str, int]]:
    """The events programs have not seen (from `recent` when it is all of them, else read back from
    the store) and the counts once they are."""
    done = cursor.get("counts", {})
    events, counts = _recent(store, done, recent)
    if events is None:
        fresh, counts = new_events(store, done)
        events = [Event.from_record(r) for r in fresh if not r.get("ignored")]  # the ledger's: dated far ahead...
    return events, counts


def reward(store: Store, programs: Mapping[str, Program], collaborators: Mapping[str, Collaborator],
           now: datetime, recent: list[tuple[str, Event, bool]] | None = None) -> Rewarded:
    """Reward what the ledger recorded since the last run (see the module docstring). `recent` is
    what the ledger kept in memory of it (`Ledger.take_recent`): used when it is exactly what the
    store holds beyond the count, else the events are read back from the store.

    The cursor and the counts are read again under the write lock, so what another process
    committed meanwhile (`store adopt`'s horizon, another run's counts) is never written over. A
    run that reduces an unpaid reward counts a change to what fulfillments pay: a `fulfill`
    planned before it plans again rather than paying the old amount."""
    if not programs:
        return Rewarded()
    stored = store.event_counts()
    if not recent and stored == (store.get(CURSORS, PROGRAMS_CURSOR) or {}).get("counts"):
        return Rewarded()  # nothing new: no write lock taken
    # objects per reward, none in a cycle; the commit too, and what the run leaves is set aside
    with without_gc_pauses(survivors_aside=True), store.transaction() as tx:
        cursor = tx.get(CURSORS, PROGRAMS_CURSOR) or {}
        events, counts = _unrewarded(store, cursor, recent or [])
        if not events and counts == cursor.get("counts"):
            return Rewarded()
        work = _Work(tx, store, programs, collaborators)
        work.run(*_after_adoption(events, cursor))
        if work.done.adjusted:
            records.bump_serial(tx, records.serial(tx))
        tx.put(CURSORS, PROGRAMS_CURSOR, {**cursor, "counts": counts, "at": iso(now), **work.sweep(cursor, now),
                                          **_counted(cursor, work.other_currency)})
    done = work.done
    if done.rewards or done.adjusted or done.clawbacks:
        log.info("programs: %d rewards, %d adjusted, %d clawbacks", done.rewards, done.adjusted, done.clawbacks,
                 extra={"fields": {"event": "programs", "rewards": done.rewards, "adjusted": done.adjusted,
                                   "clawbacks": done.clawbacks}})
    return done


def is_payment(event: Event) -> bool:
    """A paid sale a program can reward, exactly as the sources make one: the whole of a sale (its
    share is 1: a refund's or a cancellation's is negative, and no source moves a part of a sale
    forward) that is an order's payment (`woocommerce:sale:<order>`) or an imported sale naming a
    collaborator, its revenue not negative. Anything else pays nothing: a sale event moving 0 or
    half of an order is not its payment, whatever a future source means by it."""
    if event.type != SALE or (event.share is not WHOLE and event.share != 1):
        return False
    if event.order_id is not None:
        return True
    return event.collaborator is not None and (event.revenue is None or event.revenue >= 0)


def is_take_back(event: Event) -> bool:
    """An order's refund or cancellation, or an imported sale's reversal (a negative sale naming it)."""
    if event.type != SALE:
        return False
    return event.reverses is not None or (event.order_id is not None and _taken_back(event))


def _taken_back(event: Event) -> bool:
    """A negative share (a refund or cancellation); the whole share, most events, is not compared."""
    return event.share is not WHOLE and event.share < 0


def refund_id(event: Event) -> str:
    """The refund's own id (`woocommerce:refund:<order>:<refund>`), `cancel` for a cancellation, or
    an imported reversal's key."""
    if event.reverses is not None:
        return event.key
    parts = event.key.split(":")
    return parts[-1] if len(parts) > 3 and parts[1] == "refund" else parts[1] if len(parts) > 1 else event.key


class _Work:
    """One run's transaction, the index entries of the orders it touches, and what it did."""

    def __init__(self, tx: Transaction, store: Store, programs: Mapping[str, Program],
                 collaborators: Mapping[str, Collaborator]):
        self.tx, self.store, self.programs, self.collaborators = tx, store, programs, collaborators
        self.owned = frozenset(p for c in collaborators.values() for p in c.products)
        self.by_ref = {t: c.id for c in collaborators.values() for t in c.tracking_ids}
        self.admits = {key: engine.admitted(p, collaborators) for key, p in programs.items()}
        # (key, program, admits, whether it pays royalties alone) of each program, in config order
        self.selling = [(key, p, self.admits[key], engine.royalties_alone(p)) for key, p in programs.items()]
        # each active sale program in a currency: an order in another one counts nothing (`other_currency`)
        self.currencies = [(key, p) for key, p in programs.items()
                           if p.active and p.conversion == "sale" and p.is_currency]
        self.other_currency: dict[str, Counter[str]] = {}  # program -> currency -> sales it could not count
        # the one unit they all pay in (most sites), as orders spell it: an order in it is not asked about
        self.units = next(iter(units)) if len(units := {p.units for _, p in self.currencies}) == 1 else None
        self.done = Rewarded()
        self.entries: dict[str, Record] = {}  # order -> its index entry, as this run leaves it
        self.indexes: dict[str, Mapping[str, Record]] = {}  # index table -> its entries as stored
        self.changed: set[str] = set()  # the orders whose entries this run changed
        self.read: dict[str, Record] = {}  # obligation id -> the stored reward, read once a run
        self.written: dict[str, Record] = {}  # this run's documents, put in the store once at its end
        # imported sales' rewards (an imported reversal takes them back): month table -> sale -> rewards,
        # as stored (each table indexed once a run), and this run's (`index_put`)
        self.manual_sales: dict[str, dict[str, dict[str, str]]] = {}
        self.manual_written: dict[str, dict[str, str]] = {}
        self.visits: dict[str, Record] = {}  # visitor -> the visits remembered, as this run leaves them
        self._visits: dict[str, tuple[Visits, Visits]] = {}  # the same, as `engine.Sale` takes them
        self.remembers = True  # whether any visit is remembered, stored or this run's (`run` says)
        self._claims: dict[str, Claim] | None = None
        self.days = program_day_tables(store.tables(PROGRAM_OBLIGATIONS))  # a store's from before months
        self.newest: datetime | None = None  # the newest creation of an order this run rewarded

    # -- the index of what is already written ----------------------------------------------------

    def entry(self, order: str) -> Record:
        """The order's index entry as this run leaves it (read from its `program_orders_table` the
        first time): its rewards and clawbacks (obligation id -> the UTC day they were earned, which
        names their table; their earned_at in a store written before lean rewards) and, for a first
        order, its renewals that a program rewarded (program -> orders)."""
        found = self.entries.get(order)
        if found is None:
            table = _index_table(order)
            stored = self.index(table).get(order) if table is not None else None
            found = self.entries[order] = _copied(stored) if stored else {"rewards": {}, "renewals": {}}
        return found

    def index(self, table: str) -> Mapping[str, Record]:
        """An index table as stored (do not change it), read whole the first time a run needs it:
        the store reads a table whole anyway, and a backfill's new orders then cost no read each."""
        found = self.indexes.get(table)
        if found is None:
            found = self.indexes[table] = self.store.table(table)
        return found

    def claims(self) -> dict[str, Claim]:
        if self._claims is None:
            self._claims = records.claims(self.store)
        return self._claims

    def put(self, ident: str, doc: Record) -> None:
        """Write a reward again (a refund changed it) or a clawback, `doc` in its full form (`full`):
        stored lean (`_lean`), as `write_rewards` writes it."""
        order = doc["order"]
        self.index_put(ident, _lean(ident, doc), self.entry(order)["rewards"], order, doc["program"])

    def index_put(self, ident: str, doc: Record, rewards: dict[str, str], order: str, program: str,
                  indexed: bool = True) -> None:
        """`put` of `doc` as stored, given the rewards of its order's entry (a sale's rewards find it
        once, not each) and its order and program (a lean document does not name them); not
        `indexed`: a sale of no order, whose key may read like an order number (`known`)."""
        if ident not in rewards:
            rewards[ident] = doc["earned_at"][:10]  # its day names its table: the time is in the document
            if indexed:
                self.changed.add(order)
            elif _of_manual_sale(doc):
                self.manual_written.setdefault(order, {})[ident] = doc["earned_at"]
        if (first := doc.get("renewal_of")) is not None:
            self.count_renewal(first, program, order)
        self.written[ident] = doc

    def count_renewal(self, first: str, program: str, order: str) -> None:
        """Note in the first order's entry that `program` rewarded its renewal `order` (once)."""
        renewals = self.entry(first)["renewals"].setdefault(program, [])
        if order not in renewals:
            renewals.append(order)
            self.changed.add(first)

    def doc(self, ident: str, earned: str) -> Record | None:
        """A reward as this run leaves it, in its full form (`full`; the stored one is read from its
        month's table once a run)."""
        found = self.written.get(ident) or self.read.get(ident)
        if found is None:
            found = self.tx.get(program_obligations_table(earned, self.days), ident)
            if found is None:
                return None
            self.read[ident] = found
        return full(ident, found)

    def known(self, sale: engine.Sale, earned: str) -> tuple[dict[str, str], str | None]:
        """(the rewards of the sale's order's entry, which name those written, this run's too (`put`);
        for a sale of no order (a lead's, a manual sale's), earned at its one event's time, none and
        the month's table, which names those of earlier runs). A lead imported with the key `7` is not
        order 7: in its entry, a refund of order 7 would take the lead's bounty back."""
        if sale.event.order_id is not None:
            return self.entry(sale.id)["rewards"], None
        return {}, program_obligations_table(earned, self.days)

    def save(self) -> None:
        """Put this run's documents and the index entries it changed, each table's at once."""
        tables: dict[str, dict[str, Record]] = {}
        by_day: dict[str, dict[str, Record]] = {}  # a UTC day -> its table's documents: found once a day
        for ident, doc in self.written.items():
            earned = doc["earned_at"]
            docs = by_day.get(day := earned[:10])
            if docs is None:
                docs = by_day[day] = tables.setdefault(program_obligations_table(earned, self.days), {})
            docs[ident] = doc
        for order in self.changed:
            if (table := _index_table(order)) is not None:
                tables.setdefault(table, {})[order] = _stored_entry(self.entries[order])
        for table, docs in tables.items():
            self.tx.put_many(table, docs)
        self.tx.put_many(PROGRAM_VISITS, self.visits)

    def sweep(self, cursor: Record, now: datetime) -> Record:
        """Forget the visitors no order still to come can be matched to: those whose newest visit is
        older than the newest order seen (by its creation), less the programs' longest window and
        `VISITS_MARGIN`. The visits would otherwise pile up for ever, and the table is read whole.
        Data time, not the clock: a backfill of old orders keeps the visits of their days; but
        never past `now`, so an order dated ahead by mistake forgets nobody. At most once a day of
        orders; returns the cursor's new fields (the newest order, the last sweep)."""
        newest = max(filter(None, (self.newest, _time(cursor.get("newest_order")))), default=None)
        if newest is None:
            return {}
        newest = min(newest, now)
        fields = {"newest_order": iso(newest)}
        swept = _time(cursor.get("visits_swept"))
        if swept is not None and newest - swept < timedelta(days=1):
            return fields
        window = max((p.window for p in self.programs.values()), default=timedelta(0))
        horizon = int((newest - window - VISITS_MARGIN).timestamp())
        visitors = {**self.store.table(PROGRAM_VISITS), **self.visits}
        gone = [who for who, doc in visitors.items()
                if max((visit[0] for visit in doc.get("visits", ())), default=0) < horizon]
        for who in gone:
            self.tx.delete(PROGRAM_VISITS, who)
        if gone:
            log.info("programs: forgot the visits of %d visitors, none after %s", len(gone),
                     iso(datetime.fromtimestamp(horizon, UTC)))
        return {**fields, "visits_swept": iso(newest)}

    # -- events ----------------------------------------------------------------------------------

    def remember_visits(self, events: Iterable[Event]) -> None:
        """Each visitor's `?ref=` visits and revisits among `events` (`run` picks them) as [Unix seconds
        (log times are whole seconds), tracking id owner], a revisit with a third item, 0: the newest
        `VISITS_KEPT` of both together."""
        found: dict[str, list[list[Any]]] = {}
        for e in events:
            if e.touch is not None and e.touch.visitor and e.collaborator:
                visit = [int(e.at.timestamp()), e.collaborator]
                found.setdefault(e.touch.visitor, []).append(visit if e.type != REVISIT else [*visit, 0])
        for visitor, visits in found.items():
            kept = (self.tx.get(PROGRAM_VISITS, visitor) or {}).get("visits", [])
            merged = sorted({tuple(v) for v in kept + visits})[-VISITS_KEPT:]
            self.visits[visitor] = {"visits": [list(v) for v in merged]}

    def run(self, events: list[Event], adopted: Iterable[Event] = ()) -> None:
        """Remember the visits, then what the `adopted` payments (before `store adopt`) paid, take
        the sales, refunds and leads oldest first (each sale with its order's coupon and product
        events, recorded with it), and save. Only sales and leads are sorted: half the events are an
        order's engagements, which the sale reads."""
        engaging: dict[int, list[Event]] = {}  # order -> its coupon and product events
        taken: list[Event] = []
        visits: list[Event] = []  # those `remember_visits` reads, found in the same pass
        for e in events:
            kind = e.type
            if kind == SALE or kind == LEAD:
                taken.append(e)
                continue
            if kind == engine.VISIT or kind == REVISIT:
                visits.append(e)
            if e.order_id is not None and e.quantity > 0:
                engaging.setdefault(e.order_id, []).append(e)
        self.remember_visits(visits)
        self.remembers = bool(self.visits) or bool(self.store.tables(PROGRAM_VISITS))
        for event in sorted(adopted, key=attrgetter("at", "key")):  # orders' payments: each names its order
            self.remember_adopted(self.sale_of(event, engaging.get(event.order_id or 0, [])))
        _in_turn(taken)
        for event in taken:
            self.take(event, engaging.get(event.order_id, []) if event.order_id is not None else [])
        self.save()

    def take(self, event: Event, engaging: list[Event]) -> None:
        if is_payment(event):
            self.sale(self.sale_of(event, engaging))
        elif is_take_back(event):
            self.take_back(event)
        elif event.type == LEAD and event.collaborator:
            self.lead(event)

    def sale_of(self, event: Event, mine: list[Event]) -> engine.Sale:
        """What programs see of a paid sale: its order's coupon owners and product owners (`mine`,
        recorded with it), the visits of its visitor, the ref it names."""
        touch = event.touch or _NO_TOUCH
        coupons, owners = self._engaged_by(event, mine) if mine else ((), {})
        created = touch.created_at or event.at
        if self.newest is None or created > self.newest:
            self.newest = created
        visits, revisits = self.visits_of(touch.visitor) if touch.visitor else _NO_VISITS
        return engine.Sale(
            str(event.order_id) if event.order_id is not None else _unordered_id(event.key), event, created,
            coupons, visits, self.by_ref.get(touch.ref) if touch.ref else None, owners,
            event.collaborator if event.order_id is None else None,
            None if touch.renewal_of is None else str(touch.renewal_of), touch.ref_at, revisits)

    def visits_of(self, visitor: str) -> tuple[Visits, Visits]:
        """A visitor's remembered visits and revisits as (time, tracking id owner), read and converted
        once a run. None looked up when no visit is remembered (`remembers`: a site whose access log
        is not read, or whose customers never came by a ref link); the stored ones are read as the
        store keeps them (this run changes that table only as it saves: its own are in `visits`)."""
        if not self.remembers:
            return _NO_VISITS
        found = self._visits.get(visitor)
        if found is None:
            stored = (self.visits.get(visitor) or self.store.get(PROGRAM_VISITS, visitor) or {}).get("visits")
            found = self._visits[visitor] = _NO_VISITS if not stored else (
                tuple((datetime.fromtimestamp(v[0], UTC), v[1]) for v in stored if len(v) == 2),
                tuple((datetime.fromtimestamp(v[0], UTC), v[1]) for v in stored if len(v) > 2))
        return found

    @staticmethod
    def _engaged_by(sale: Event, mine: list[Event]) -> tuple[tuple[str, ...], dict[str, frozenset[int]]]:
        """(the owners of the order's bound coupons, sorted; each owner of a product line of the
        order -> what their lines sold: the product, or the variation bought), from the order's
        engagement events, in one pass. A product event's line is looked for among the order's few
        lines (ids unique in an order), not through a table of them made for each order."""
        coupons: set[str] = set()
        owners: dict[str, frozenset[int]] = {}  # made as they are handed over: most owners sold one thing
        lines = sale.order.lines if sale.order else ()
        for e in mine:
            who = e.collaborator
            if not who:
                continue
            if e.type == engine.ROYALTY:  # most of them: an order's lines outnumber its coupons
                if (product := _sold_on(lines, e.key)) is not None:
                    held = owners.get(who)
                    owners[who] = frozenset((product,)) if held is None else held | {product}
            elif e.type == "boundCouponUsed":
                coupons.add(who)
        return tuple(sorted(coupons)) if coupons else (), owners

    def sale(self, sale: engine.Sale) -> None:
        paid: list[Paid]
        foreign = self.foreign(sale)
        if foreign:
            self.count_other_currency(sale.event)
        if sale.renewal_of is not None:
            paid = [renewed for p in self.programs.values() for renewed in self.renewal(p, sale)]
        else:
            paid = self.first_sale(sale, foreign)
        if not paid:
            return
        earned = engine.iso_of(as_utc(sale.event.at))  # in UTC: `iso_of` formats it faster
        for key, what in paid:
            if isinstance(what, engine.Award):
                self.write_award(self.programs[key], sale, what, earned)
            else:
                self.write_royalties(self.programs[key], sale, what, earned)

    def foreign(self, sale: engine.Sale) -> bool:
        """Whether the sale is not in the one unit every currency program pays in (most sites, most
        orders: it is)."""
        order = sale.event.order
        return order is not None and bool(self.currencies) and order.currency != self.units

    def remember_adopted(self, sale: engine.Sale) -> None:
        """An order's payment from before `store adopt`: the lost store rewarded it, so nothing is
        written for it again, but its order's index entry remembers what it paid, as its rewards
        would tell: a first order, each program's collaborators and their parts (`adopted`); a
        renewal, one more renewal of its first order. Its renewals paid from the adoption on then
        pay the lost store's collaborators, while `renewals` allows."""
        if sale.renewal_of is not None:
            for program in self.programs.values():
                if self.renewal(program, sale):
                    self.count_renewal(sale.renewal_of, program.key, sale.id)
            return
        paid: dict[str, dict[str, Record]] = {}
        for key, what in self.first_sale(sale, self.foreign(sale)):
            if isinstance(what, engine.Award):
                rewards = [_reward(x, what.royalties.get(x.collaborator), str(what.value), what.why)
                           for x in what.allocations]
                paid[key] = {r[0]: {"reward": str(r[1]), **_parts(r[5], r[6])} for r in rewards}
            else:
                paid[key] = {r.collaborator: _parts(r.products, None) for r in what if r.amount > 0}
        if paid:
            self.entry(sale.id)["adopted"] = paid
            self.changed.add(sale.id)

    def count_other_currency(self, event: Event) -> None:
        """Count a paid order for each currency program whose units it is not in (`check` says how
        many each could not count, as it does for distributors)."""
        for key, program in self.currencies:
            if (currency := other_currency(event, program)) is not None:
                self.other_currency.setdefault(key, Counter())[currency] += 1

    def first_sale(self, sale: engine.Sale, foreign: bool) -> list[Paid]:
        """What each program pays for a first sale, in the order its rewards are written (several: by
        program key): its award (one per group), or for a program of royalties alone its owners'
        royalties, which make the same rewards without building the award. Not `foreign` (the order
        is in the unit of every currency program), no program need compare currencies."""
        awards: list[engine.Award] = []
        alone: list[Paid] = []
        for key, program, admits, royalties_alone in self.selling:
            if not royalties_alone:
                if (a := engine.award(program, sale, self.owned, admits, foreign=foreign)) is not None:
                    awards.append(a)
            elif sale.owners and not (foreign and other_currency(sale.event, program)):
                alone.append((key, engine.royalties(program, sale, admits)))
        if not awards:
            return alone if len(alone) < 2 else sorted(alone, key=itemgetter(0))
        paid: list[Paid] = [(a.program, a) for a in engine.in_groups(awards, self.programs)]
        if alone:
            paid = sorted(paid + alone, key=itemgetter(0))  # as `in_groups` orders two awards or more
        return paid

    def renewal(self, program: Program, sale: engine.Sale) -> list[Paid]:
        """What the program pays for a renewal, while its `renewals` allows (None: every renewal
        pays): to the first order's collaborators who may still earn in it (active members), and only
        for rewards not taken back whole (rejected, or fully refunded after they were paid). A
        royalty is paid again as a royalty, on the owner's own lines (`engine.renewal_royalties`);
        the others share the program's reward in the proportions the first order paid them. A
        reward that merged a share and a royalty is renewed as both (`engine.renewed`): its share
        part weighs in the proportions, its royalty is paid on the renewal's lines of its products;
        one written before its parts were kept apart (no `share`) is renewed as a share of its whole.
        A first order the lost store paid (before `store adopt`) is renewed from what its entry
        remembers (`remember_adopted`), unless it was taken back whole."""
        first: dict[str, Decimal] = {}
        owned: dict[str, frozenset[int]] = {}  # owner -> the products their first royalty was on
        entry = self.entry(sale.renewal_of or "")
        admits = self.admits[program.key]
        docs = [doc for ident, earned in entry["rewards"].items() if (doc := self.doc(ident, earned))
                and doc["program"] == program.key and "of" not in doc and doc.get("status") != "rejected"
                and _refunded_share(doc) < 1]
        if _refunded_share(entry, "adopted_refunded") < 1:  # what the lost store paid (`remember_adopted`)
            lost = entry.get("adopted", {}).get(program.key, {})
            docs += [{"collaborator": who, **part} for who, part in lost.items()]
        for doc in docs:
            if admits(doc["collaborator"]):
                if doc.get("products") is not None:
                    owned[doc["collaborator"]] = frozenset(doc["products"])
                    continue
                first[doc["collaborator"]] = Decimal(doc["share"] if "share" in doc else reward_of(doc))
                if "royalty_on" in doc:
                    owned[doc["collaborator"]] = frozenset(doc["royalty_on"])
        paid = set(entry["renewals"].get(program.key, ())) - {sale.id}
        if program.renewals is not None and len(paid) >= program.renewals:
            return []
        award, royalties = engine.renewed(engine.renewal_award(program, sale, first, self.owned) if first else None,
                                          engine.renewal_royalties(program, sale, owned) if owned else [])
        found: list[Paid] = [(program.key, award)] if award is not None else []
        return found + [(program.key, royalties)] if royalties else found

    def write_award(self, program: Program, sale: engine.Sale, a: engine.Award, earned: str) -> None:
        """Write each reward of an award (once: never a second time) earned at `earned` (`iso` of the
        sale's payment time, in UTC)."""
        value, why, parts = str(a.value), a.why, a.royalties
        engaged: list[list[str]] = []
        for e in a.engagements:  # loops, not comprehensions: most awards have one of each, each a frame
            engaged.append([e.type, e.collaborator, engine.iso_of(e.at)])
        paying: list[Reward] = []
        for x in a.allocations:
            paying.append(_reward(x, parts.get(x.collaborator), value, why) if parts else
                          (x.collaborator, x.amount, str(x.score), value, x.note or why, None, None))
        self.write_rewards(program, sale, earned, a.arithmetic, engaged, paying)

    def write_royalties(self, program: Program, sale: engine.Sale, royalties: list[engine.Royalty],
                        earned: str) -> None:
        """Write the rewards of a program of royalties alone (`engine.royalties_alone`): those its
        award would have, each owner's royalty above zero, engaged by each owner at the creation."""
        at = engine.iso_of(sale.created_at)
        engaged: list[list[str]] = []
        paying: list[Reward] = []
        for r in royalties:  # a loop, not two comprehensions: most sales have one owner, each a frame
            who, amount = r.collaborator, r.amount
            engaged.append([engine.ROYALTY, who, at])
            if amount > 0:
                paying.append((who, amount, str(len(r.products)), str(r.value), r.note, r.products, None))
        self.write_rewards(program, sale, earned, royalties[0].note if len(royalties) == 1 else "; ".join(
            r.note for r in royalties), engaged, paying)

    def write_rewards(self, program: Program, sale: engine.Sale, earned: str, arithmetic: str,
                      engagements: list[list[str]], rewards: Iterable[Reward]) -> None:
        """Write each of a sale's rewards in `program` not already written (never a second time).
        `rewards` are (collaborator, amount, score, value, why, the products of a royalty alone, the
        parts of a share and a royalty merged); they share the arithmetic and the engagements, as
        written. A merged reward alone records its parts apart, in `share` (the share's amount) and
        `royalty_on` (the products of the royalty): what its renewals pay again.

        Each is written lean (`full` reads it whole): no `reward` (its `amount` until a refund changes
        it), no `why` when it says what `arithmetic` says, and no `program`, `order` and
        `collaborator`, which its id names (a program key holds no ':'; an order whose key holds one,
        a lead's or a manual sale's, keeps them)."""
        shared = self._shared(program, sale) if program.hold or program.review or sale.renewal_of is not None else None
        known: tuple[dict[str, str], str | None] | None = None  # asked at the first reward: a sale may have none
        fresh = True  # the first reward written takes `engagements`, the others a copy
        key, order, units = program.key, sale.id, program.units
        named = not _named_by_id(order)
        for who, amount, score, value, why, products, parts in rewards:
            ident = f"{key}:{order}:{who}"
            written, day = known = known or self.known(sale, earned)
            if ident in written or (day is not None and self.tx.get(day, ident) is not None):
                continue  # written by an earlier run: never twice
            doc: Record = {
                "amount": str(amount), "units": units, "score": score, "earned_at": earned, "value": value,
                "arithmetic": arithmetic, "engagements": engagements if fresh else [list(e) for e in engagements]}
            fresh = False
            if why != arithmetic:
                doc["why"] = why
            if named:
                doc.update(program=key, order=order, collaborator=who)
            if program.flat is not None:
                doc["flat"] = True  # a refund after the program is gone still knows it (`_flat`)
            if shared:
                doc.update(shared)
            if products is not None or parts is not None:
                doc.update(_parts(products, parts))
            self.index_put(ident, doc, written, order, key, day is None)
            self.done.rewards += 1

    @staticmethod
    def _shared(program: Program, sale: engine.Sale) -> Record | None:
        """The fields a sale's rewards in `program` share after their engagements, in the order they
        are written: a hold's end, a review's draft, a renewal's first order (most sales: none)."""
        shared: Record = {}
        held = payable_at(as_utc(sale.paid_at), program.hold)
        if held is not None:
            shared["payable_at"] = iso(held)
        if program.review:
            shared["status"] = "draft"
        if sale.renewal_of is not None:
            shared["renewal_of"] = sale.renewal_of
        return shared or None

    def lead(self, event: Event) -> None:
        """A lead pays the flat bounty of every `conversion: lead` program that admits its collaborator,
        but one per group: a lead is one conversion, engaged once, so the group's tie rule decides (the
        program key that sorts first)."""
        groups: set[str] = set()
        for key, program in sorted(self.programs.items()):
            if program.conversion != LEAD or not program.active or not self.admits[key](event.collaborator or ""):
                continue
            if program.group is not None:
                if program.group in groups:
                    continue
                groups.add(program.group)
            assert program.flat is not None and event.collaborator is not None
            allocation = Allocation(event.collaborator, Decimal(1), program.flat, "a lead")
            a = engine.Award(key, (allocation,), Decimal(0), (engine.Engagement(LEAD, event.collaborator, event.at),),
                             event.at, "conversion: lead", f"flat {program.flat} {program.units} per lead")
            sale = engine.Sale(id=event.key, event=event, created_at=event.at)
            self.write_award(program, sale, a, iso(as_utc(event.at)))

    # -- refunds and cancellations ---------------------------------------------------------------

    def take_back(self, event: Event) -> None:
        reversal = event.reverses is not None
        rid = refund_id(event)  # once, not for each of the order's rewards
        if event.reverses is not None:
            rewards = self.of_sale(event.reverses)
        else:
            order = str(event.order_id)
            entry = self.entry(order)
            if "adopted" in entry:
                # an order the lost store paid: its renewals stop once it is taken back whole
                entry["adopted_refunded"] = str(_refunded_share(entry, "adopted_refunded") - _share_moved(event))
                self.changed.add(order)
            rewards = entry["rewards"]
        for ident, earned in list(rewards.items()):
            doc = self.doc(ident, earned)
            if (doc is not None and "of" not in doc and doc.get("status") != "rejected"
                    and rid not in doc.get("refunds", {}) and (reversal or not _of_no_order(doc))):
                self.adjust(ident, doc, event, rid)  # a rejected reward pays nothing: nothing to take back

    def of_sale(self, sale: Reversed) -> dict[str, str]:
        """The rewards of an imported sale (obligation id -> earned_at): those of its month's table
        (earned at its time, with no order index) whose sale it is (a lead keyed `manual:7` is not
        the sale `7`), this run's too. The month's table is indexed by sale once a run: a file of
        reversals reads it once, not once for each."""
        table, order = program_obligations_table(iso(as_utc(sale.at)), self.days), _unordered_id(sale.key)
        stored = self.manual_sales.get(table)
        if stored is None:
            stored = self.manual_sales[table] = {}
            for ident, doc in self.store.table(table).items():
                if _of_manual_sale(doc):  # its order: its key, in its id when lean (`full`)
                    stored.setdefault(full(ident, doc)["order"], {})[ident] = doc["earned_at"]
        return {**stored.get(order, {}), **self.manual_written.get(order, {})}

    def adjust(self, ident: str, doc: Record, event: Event, rid: str) -> None:
        """Take the refund `rid`'s share back from one reward (see the module docstring)."""
        program = self.programs.get(doc["program"])
        moved = _share_moved(event)
        before = _refunded_share(doc)
        share = -moved if before is _NONE_REFUNDED else before - moved  # most: none before, no Fraction's sum
        refunds = dict(doc.get("refunds", {}))
        left = Decimal(doc["amount"]) - Decimal(doc.get("taken", "0"))
        made = reward_of(doc)
        exponent = program.exponent if program is not None else decimals_of(Decimal(made))
        refunded = self.refunded(program, doc, event, moved)
        flat = _flat(doc)  # the reward's own kind, whatever its program pays new sales now
        whole = share >= 1  # a Fraction's comparison: asked once
        change = engine.adjustment(Decimal(made), left, refunded, Decimal(doc["value"]), exponent,
                                   full=whole, flat=flat)
        refunds[rid] = str(change)
        how = (f"the {left} left (full refund or cancellation)" if whole else
               "nothing (a flat reward goes back only with a full refund)" if flat else
               f"{made} x {-refunded} / {doc['value']}, rounded half-up")
        at = engine.iso_of(event.at)  # `iso`'s text, in a third of the instructions
        notes = [*doc.get("notes", []), f"{'cancellation' if rid == 'cancel' else 'refund ' + rid} at {at}: "
                                        f"{change} = {how}"]
        doc = dict(doc, refunded_share=str(share), refunds=refunds, notes=notes)
        if change:
            doc = self.apply(ident, doc, change, event, program)
        self.put(ident, doc)

    def refunded(self, program: Program | None, doc: Record, event: Event, moved: Fraction) -> Decimal:
        """The refund's counted value for this reward: the program's, on the owner's lines for a
        royalty; the share `moved` of the stored value for a program no longer configured, and for an
        imported reversal (its revenue's share of its sale's, as a refund's of its order's total)."""
        if program is None or event.reverses is not None:
            return Decimal(doc["value"]) * Decimal(moved.numerator) / Decimal(moved.denominator)
        products = doc.get("products")
        if products is None:
            return counted_value(event, program, self.owned)
        return counted_value(event, engine.royalty_scope(program), frozenset(products))

    def apply(self, ident: str, doc: Record, change: Decimal, event: Event, program: Program | None) -> Record:
        """A reward in no fulfillment is reduced; a processing or paid one is clawed back, or, when
        paid and its program says `clawback: false`, left alone."""
        claim = self.claims().get(ident)
        if claim is None or claim.state == "returned":
            amount = Decimal(doc["amount"]) + change
            self.done.adjusted += 1
            doc = _noted(doc, "the reward is reduced" + (", to zero: rejected" if amount == 0 else ""),
                         amount=str(amount))
            return dict(doc, status="rejected") if amount == 0 else doc
        taken = str(Decimal(doc.get("taken", "0")) - change)
        where = "paid" if claim.state == "paid" else f"in fulfillment {claim.fulfillment}"
        if program is not None and not program.clawback and claim.state == "paid":  # only paid ones: DESIGN 8
            self.done.left_alone -= change
            return _noted(doc, f"the reward was {where}; clawback: false leaves it", taken=taken,
                          left_alone=str(Decimal(doc.get("left_alone", "0")) - change))
        claw = f"{ident}:refund:{refund_id(event)}"
        self.put(claw, {
            "program": doc["program"], "order": doc["order"], "collaborator": doc["collaborator"],
            "amount": str(change), "units": doc["units"], "score": "0", "earned_at": iso(as_utc(event.at)), "of": ident,
            "why": f"clawback of {ident}: refund {refund_id(event)} of order {doc['order']} after the reward was "
                   f"{where}"})
        self.done.clawbacks += 1
        return _noted(doc, f"the reward was {where}: clawback {claw}", taken=taken)


def _reward(x: Allocation, royalty: engine.Royalty | None, value: str, why: str) -> Reward:
    """An award's allocation `x` as a reward to write: a share of the order (its counted `value`);
    the owner's `royalty` alone (its lines' value and products: a refund takes back the same share
    of those lines); or both merged, which keeps the order's value (a refund takes its share of the
    whole, as it always did) and records the two parts apart (a renewal pays both again)."""
    if royalty is None:
        return x.collaborator, x.amount, str(x.score), value, x.note or why, None, None
    if royalty.amount == x.amount:  # no share beside it: engaged, yet another won, or a share of zero
        return x.collaborator, x.amount, str(x.score), str(royalty.value), x.note or why, royalty.products, None
    return (x.collaborator, x.amount, str(x.score), value, x.note or why, None,
            (x.amount - royalty.amount, royalty.products))


def _sold_on(lines: Sequence[Line], key: str) -> int | None:
    """What the order's line named by a product event's `key` (`...:<order>:<line id>`) sold: the
    variation's id, not the parent's (the owner of the T-shirt, paid on size XL while another owns
    size L, must not count the L's line as theirs too); None for no such line. The last line of that
    id, as a table of them would keep (ids are unique in an order)."""
    line_id = key[key.rfind(":") + 1:]
    for line in reversed(lines):
        if line.id == line_id:
            return line.sold_id
    return None


def _named_by_id(order: str) -> bool:
    """Whether a reward's id `<program>:<order>:<collaborator>` names its program, order and
    collaborator without doubt, so its lean document leaves them out (`write_rewards`, `_lean`) and
    `full` reads them back: a program key never holds a ':' (config refuses one), an order key may
    (a lead's or a manual sale's)."""
    return ":" not in order


def reward_of(doc: Record) -> str:
    """What a program reward paid when it was made, before any refund: its `amount` until a refund
    changes it (then its `reward`, written at that change; a document written before lean documents
    has it always)."""
    return doc["reward"] if "reward" in doc else doc["amount"]


def full(ident: str, doc: Record) -> Record:
    """A stored program reward (or clawback) `ident` in its full form, as every reader takes it:
    with what `write_rewards` leaves out of a lean document (its `program`, `order` and
    `collaborator`, which its id `<program>:<order>:<collaborator>` names when neither the program
    nor the order holds a ':'; `why`, the same as its `arithmetic`; `reward`, the same as its
    `amount`). A clawback, and a document written whole (all of them before lean documents), is
    returned as it is; a lean one as a new document."""
    if "of" in doc or ("why" in doc and "reward" in doc and "program" in doc):
        return doc
    whole = {"why": doc["arithmetic"], "reward": doc["amount"], **doc}
    if "program" not in doc:
        whole["program"], whole["order"], whole["collaborator"] = ident.split(":", 2)
    return whole


def _lean(ident: str, doc: Record) -> Record:
    """A reward in its full form as stored (`write_rewards`): without what `full` gives back."""
    if "of" in doc:
        return doc
    left = {"reward"} if doc["reward"] == doc["amount"] else set()
    if doc["why"] == doc["arithmetic"]:
        left.add("why")
    order = doc["order"]
    if _named_by_id(order) and ident == f"{doc['program']}:{order}:{doc['collaborator']}":
        left.update(("program", "order", "collaborator"))
    return {field: value for field, value in doc.items() if field not in left}


def _parts(products: frozenset[int] | None, parts: tuple[Decimal, frozenset[int]] | None) -> Record:
    """The fields of a reward (`_reward`'s last two) that its renewals read beside its `reward`: a
    royalty alone's `products`, a merged reward's `share` and `royalty_on`; none for a share. Written
    in the reward's document, and in a first order's index entry when the lost store paid it
    (`Work.remember_adopted`), so `Work.renewal` reads both alike."""
    if products is not None:
        return {"products": sorted(products)}
    if parts is not None:
        return {"share": str(parts[0]), "royalty_on": sorted(parts[1])}
    return {}


def _counted(cursor: Record, found: Mapping[str, Counter[str]]) -> Record:
    """The cursor's `other_currency` (program -> currency -> paid orders it could not count) with
    this run's added (no field while there is none)."""
    if not found:
        return {}
    counts = {key: dict(by) for key, by in cursor.get("other_currency", {}).items()}
    for key, by in found.items():
        mine = counts.setdefault(key, {})
        for currency, n in by.items():
            mine[currency] = mine.get(currency, 0) + n
    return {"other_currency": counts}


def other_currency_counts(store: Store) -> dict[str, dict[str, int]]:
    """Per program, the paid orders in another currency than its units it counted nothing for (`check`)."""
    counts: dict[str, dict[str, int]] = (store.get(CURSORS, PROGRAMS_CURSOR) or {}).get("other_currency", {})
    return counts


_NONE_REFUNDED = Fraction(0)


def _refunded_share(doc: Record, field: str = "refunded_share") -> Fraction:
    """The share of a reward's sale refunded so far (`refunded_share`, a fraction's text; of a first
    order the lost store paid, its entry's `adopted_refunded`); 0 for one never refunded, most of
    them, without parsing a text (a `Fraction` parses one with a regex)."""
    text = doc.get(field)
    return Fraction(text) if text is not None else _NONE_REFUNDED


def _share_moved(event: Event) -> Fraction:
    """The signed share of its sale a take-back moves: an order's refund or cancellation carries it;
    an imported reversal is its revenue's share of its sale's (the whole of a sale of nothing)."""
    sale = event.reverses
    if sale is None:
        return event.share
    if not sale.revenue:
        return Fraction(-1)
    taken = event.revenue if event.revenue is not None else -(event.order.total if event.order else Decimal(0))
    return Fraction(taken) / Fraction(sale.revenue)


def _of_manual_sale(doc: Record) -> bool:
    """Whether a stored document is a reward (no clawback) of an imported sale: engaged only as a
    `manual` sale."""
    return "of" not in doc and {kind for kind, _, _ in doc.get("engagements", ())} == {"manual"}


def _of_no_order(doc: Record) -> bool:
    """Whether a reward is a lead's or a manual sale's (engaged only so): a store written before
    they left the order index filed one keyed `7` under order 7, whose refunds must not touch it."""
    kinds = {kind for kind, _, _ in doc.get("engagements", ())}
    return bool(kinds) and kinds <= {LEAD, "manual"}


def _unordered_id(key: str) -> str:
    """What a manual sale (an imported sale of no order) is named in its rewards' ids: its key, but
    `manual:<key>` for a key that reads like an order number, so the deal `7` of a CRM and
    WooCommerce order 7 never make the same obligation id (one of them would be lost)."""
    return f"manual:{key}" if _numbered(key) else key


def _in_turn(taken: list[Event]) -> None:
    """Sort a run's sales, take-backs and leads oldest first (then by key, as the events sorted
    whole would be), each take-back after its order's payment when this run holds both: a refund
    made the second the order was paid (its key sorts before the sale's), or dated before the
    payment (an order refunded while on hold, paid at its completion), would otherwise find no
    reward to take from, and the sale would then pay in full. Those take-backs are the few sorted
    by a key of their own and put in place; the others are sorted by their time and key, in C."""
    backs = [e for e in taken if e.share is not WHOLE and e.order_id is not None and is_take_back(e)]
    orders = {e.order_id for e in backs}
    paid = {e.order_id: e.at for e in taken if e.order_id in orders and is_payment(e)} if backs else {}
    if not paid:
        taken.sort(key=attrgetter("at", "key"))  # most runs: no take-back of a sale paid in this run
        return
    moved = sorted(((max(e.at, paid[e.order_id]), e.key, e) for e in backs if e.order_id in paid),
                   key=itemgetter(0, 1))  # each after its payment, after what else is at that time
    out = {id(e) for _, _, e in moved}
    rest = sorted((e for e in taken if id(e) not in out), key=attrgetter("at", "key"))
    times = list(map(attrgetter("at"), rest))
    taken.clear()
    start = 0
    for at, _, e in moved:
        end = bisect_right(times, at, start)
        taken.extend(rest[start:end])
        taken.append(e)
        start = end
    taken.extend(rest[start:])


def _flat(doc: Record) -> bool:
    """Whether a stored reward was a flat one (only a full refund takes it back), whatever its
    program pays now (it may have switched, or be gone): its `flat` mark, or for one written before
    the mark, its arithmetic, which for a flat program names only flat amounts (`flat 50.00 USD per
    conversion`) and never a percentage."""
    if "flat" in doc:
        return bool(doc["flat"])
    arithmetic = doc.get("arithmetic", "")
    return "flat " in arithmetic and "% of " not in arithmetic


def _time(text: str | None) -> datetime | None:
    return parse_time(text) if text else None


def _index_table(order: str) -> str | None:
    """The index table of an order's rewards; None for a sale with no order number (a lead, a
    manual sale: never renewed, and a reversal names its sale's time, so it needs no index)."""
    return program_orders_table(int(order)) if _numbered(order) else None


def _numbered(order: str) -> bool:
    """Whether `order` is an order number (not a lead's or a manual sale's key)."""
    return order.isascii() and order.isdigit()


def _copied(entry: Record) -> Record:
    """A stored index entry, as a copy this run may change (its rewards and renewals)."""
    return {**entry, "rewards": dict(entry.get("rewards", {})),
            "renewals": {program: list(orders) for program, orders in entry.get("renewals", {}).items()}}


def _stored_entry(entry: Record) -> Record:
    """An order's index entry as stored: without its `renewals` while it has none (most orders;
    `_copied` reads it back)."""
    if entry["renewals"]:
        return entry
    if len(entry) == 2:  # its rewards alone: no adopted payment
        return {"rewards": entry["rewards"]}
    return {field: value for field, value in entry.items() if field != "renewals"}


def _noted(doc: Record, outcome: str, **changes: str) -> Record:
    """`doc` with `changes`, its last note ending with what became of the adjustment."""
    notes = list(doc.get("notes", []))
    if notes:
        notes[-1] = f"{notes[-1]}; {outcome}"
    return dict(doc, notes=notes, **changes)


# -- reading them back --------------------------------------------------------------------------------


def obligation_of(ident: str, doc: Record, settling: Settling | None = None) -> Obligation:
    """A stored reward or clawback as an obligation (its status at `settling.as_of` when given)."""
    doc = full(ident, doc)
    earned = parse_time(doc["earned_at"])
    due = parse_time(doc["payable_at"]) if doc.get("payable_at") else None
    stored, fulfillment, paid = doc.get("status", "pending"), None, None
    if settling is not None:
        stored, fulfillment, paid = status_of(stored, settling.claims.get(ident), (due or earned) <= settling.as_of)
    return Obligation(doc["program"], doc["collaborator"], Decimal(doc["amount"]), doc["units"],
                      Decimal(doc.get("score", "0")), earned, doc.get("why", ""), stored, paid, due, fulfillment,
                      "program", ident)


def documents(store: Store, days: tuple[str, str] | None = None) -> dict[str, Record]:
    """Every stored program reward and clawback, by obligation id, in its full form (`full`; the
    store's own documents: read only); with `days` (first, last: UTC dates as `YYYY-MM-DD`), those
    earned in those days only, read from the tables of their months (or days, `program_day_tables`)
    alone."""
    found: dict[str, Record] = {}
    for table in store.tables(PROGRAM_OBLIGATIONS):
        if days is None:
            found.update((ident, full(ident, doc)) for ident, doc in store.table(table).items())
            continue
        span = table[len(PROGRAM_OBLIGATIONS):]  # YYYY-MM, or YYYY-MM-DD
        if days[0][:len(span)] <= span <= days[1][:len(span)]:
            found.update((ident, full(ident, doc)) for ident, doc in store.table(table).items()
                         if days[0] <= doc["earned_at"][:10] <= days[1])
    return found


class Found(NamedTuple):
    """A stored program reward or clawback (`find`): its table, its document (in its full form,
    `full`), its id as stored."""

    table: str
    doc: Record
    ident: str

    @classmethod
    def of(cls, table: str, doc: Record, ident: str) -> Found:
        return cls(table, full(ident, doc), ident)


def find(store: Store, ident: str) -> Found | None:
    """One program reward or clawback, or None. A reward of an order (`<program>:<order>:<collaborator>`,
    a clawback `<that>:refund:<refund id>`) is found through its order's index entry, which names its
    month: one index table and one month's table are read, not every month's. One with no order number
    (a lead's, a manual sale's) is looked for in each.

    Ids are compared in Unicode NFC, as collaborator ids are: `ident` typed with a combining accent
    finds the reward whose collaborator is configured precomposed, and an id stored in another form
    (an imported key written with a combining accent) is found too, by its normalised form.
    """
    wanted = nfc(ident)
    days = program_day_tables(store.tables(PROGRAM_OBLIGATIONS))
    for order in {part for part in wanted.split(":") if _numbered(part)}:  # the order is one of them
        indexed = _indexed(store, order)
        stored = wanted if wanted in indexed else next((i for i in indexed if nfc(i) == wanted), None)
        if stored is not None and (doc := store.get(table := program_obligations_table(indexed[stored], days),
                                                    stored)):
            return Found.of(table, doc, stored)
    for table in store.tables(PROGRAM_OBLIGATIONS):
        doc = store.get(table, wanted)
        if doc is not None:
            return Found.of(table, doc, wanted)
    return None if wanted.isascii() else _found_unnormalised(store, wanted)


def _found_unnormalised(store: Store, wanted: str) -> Found | None:
    """The reward or clawback whose stored id is `wanted` once normalised (NFC), looked for in every
    table: only for an id that is not plain ASCII and was not found as it is."""
    for table in store.tables(PROGRAM_OBLIGATIONS):
        for stored, doc in store.table(table).items():
            if nfc(stored) == wanted:
                return Found.of(table, doc, stored)
    return None


def clawbacks_of(store: Store, ident: str, doc: Record) -> dict[str, Record]:
    """The clawbacks of the reward `ident` (its document `doc`), by id: those its order's index entry
    names; for a reward of an imported sale (no order index), those of the reversals it names, looked
    for in the tables from its own month on (a clawback is earned at its reversal's time, after the sale)."""
    if _index_table(doc["order"]) is None:
        return _reversals_clawbacks(store, ident, doc)
    found = {}
    days = program_day_tables(store.tables(PROGRAM_OBLIGATIONS))
    for claw, earned in _indexed(store, doc["order"]).items():
        if claw.startswith(f"{ident}:refund:"):
            claimed = store.get(program_obligations_table(earned, days), claw)
            if claimed is not None and claimed.get("of") == ident:
                found[claw] = claimed
    return found


def _reversals_clawbacks(store: Store, ident: str, doc: Record) -> dict[str, Record]:
    wanted = {f"{ident}:refund:{rid}" for rid in doc.get("refunds", {})}
    first, found = program_obligations_table(doc["earned_at"]), {}
    for table in store.tables(PROGRAM_OBLIGATIONS) if wanted else ():
        if table >= first:
            found.update({claw: claimed for claw in wanted if (claimed := store.get(table, claw)) is not None
                          and claimed.get("of") == ident})
    return found


def _indexed(store: Store, order: str) -> Mapping[str, str]:
    """The rewards and clawbacks of `order` as its index entry names them (obligation id -> the UTC
    day it was earned, which names its table: its earned_at in a store written before lean
    documents); none for a sale with no order number."""
    table = _index_table(order)
    entry = store.get(table, order) if table is not None else None
    return (entry or {}).get("rewards", {})


def obligations(store: Store, collaborators: Iterable[str] | None = None,
                settling: Settling | None = None, days: tuple[str, str] | None = None) -> list[Obligation]:
    """Every program obligation (of `collaborators`, or everyone's), oldest first; with `settling`,
    those earned by then, with their status then; with `days` (first, last: UTC dates as
    `YYYY-MM-DD`), only those earned from the first to the last (`documents`)."""
    wanted = None if collaborators is None else set(collaborators)
    found = []
    for ident, doc in documents(store, days).items():
        if wanted is not None and doc["collaborator"] not in wanted:
            continue
        if settling is not None and parse_time(doc["earned_at"]) > settling.as_of:
            continue
        found.append(obligation_of(ident, doc, settling))
    return sorted(found, key=lambda o: (o.earned_at, o.id))


def left_alone(docs: Mapping[str, Record]) -> dict[str, Decimal]:
    """Per unit, what refunds after payment left with collaborators (`clawback: false`) among the
    stored rewards `docs` (`documents`): `check` says it."""
    sums: dict[str, Decimal] = {}
    for doc in docs.values():
        if doc.get("left_alone"):
            sums[doc["units"]] = sums.get(doc["units"], Decimal(0)) + Decimal(doc["left_alone"])
    return sums


class MonthEarnings(NamedTuple):
    """What one program's rewards (less clawbacks) earned in a month, per collaborator."""

    program: str
    units: str
    start: datetime
    end: datetime
    earned: Mapping[str, Decimal]  # collaborator -> amount, largest first
    rewards: int
    zero: Decimal = Decimal(0)  # zero in the unit's decimals (`0.00 USD`): the total of a month of nothing

    @property
    def total(self) -> Decimal:
        return sum(self.earned.values(), self.zero)


def month_earnings(store: Store, programs: Mapping[str, Program], tz: tzinfo, now: datetime) -> list[MonthEarnings]:
    """Each program's earnings in the month of `now` (the site's calendar month): `standings`. Only
    the tables of the UTC days the month spans are read, not the whole history."""
    local = now.astimezone(tz)
    start = datetime(local.year, local.month, 1, tzinfo=tz)
    end = datetime(local.year + local.month // 12, local.month % 12 + 1, 1, tzinfo=tz)
    sums: dict[str, dict[str, Decimal]] = {key: {} for key in programs}
    counts = dict.fromkeys(programs, 0)
    days = (iso(start.astimezone(UTC))[:10], iso(end.astimezone(UTC))[:10])  # the UTC days the month spans
    for o in obligations(store, days=days):
        if o.origin in sums and start <= o.earned_at < end and o.status != "rejected":
            row = sums[o.origin]
            row[o.collaborator] = row.get(o.collaborator, Decimal(0)) + o.amount
            counts[o.origin] += o.amount > 0
    return [MonthEarnings(key, p.units, start, end, dict(sorted(sums[key].items(), key=lambda i: (-i[1], i[0]))),
                          counts[key], Decimal(0).scaleb(-p.exponent)) for key, p in programs.items()]
