"""What a new site is told in its first hour: the surprises that otherwise look like a bug.

Two are common enough to be said by `check` and after each `sync`, per distributor:
- its pool is in a currency the shop does not sell in (the example config says USD, the shop sells
  in EUR): no sale will ever count for it;
- recorded events occurred before its first period (a backfill of the last months, while the first
  period starts today, DESIGN section 3): they count for nothing, and `standings` shows no score.
  The line names the `startsAt` that would have counted them.

Read from the store: the event counts the ledger's manifest keeps per UTC month, and only the
segments that a count cannot answer (the month of the first start, the earliest month, a sample of
the newest month's sales) are read, each once.
"""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, tzinfo
from itertools import islice

from siren_sync.ledger import Ledger, bucket_of
from siren_sync.model import SALE, Distributor, Record
from siren_sync.values import as_utc, iso, parse_time

SAMPLE = 1000  # sales of the newest month read to tell the shop's currency


class FirstHour:
    """The surprises of one ledger's distributors, each segment read at most once."""

    def __init__(self, ledger: Ledger):
        self.ledger = ledger
        self.store = ledger.store
        self._times: dict[str, list[str]] = {}

    def lines(self, key: str) -> list[str]:
        """What to tell about distributor `key` (nothing when there is no surprise)."""
        d = self.ledger.distributors[key]
        found = [self._currency(d), self._before_first(key), self._moved_start(key, d)]
        return [line for line in found if line]

    def shop_currencies(self) -> Counter[str]:
        """The currencies of a sample of the newest recorded sales (orders, and imports naming one)."""
        for bucket in reversed(self.store.buckets()):
            found = Counter(r["order"]["currency"] for r in islice(self._sales(bucket), SAMPLE))
            if found:
                return found
        return Counter()

    def _sales(self, bucket: str) -> Iterator[Record]:
        return (r for r in self.store.events(bucket) if r.get("type") == SALE and r.get("order"))

    def _currency(self, d: Distributor) -> str | None:
        currencies = self.shop_currencies()
        if not d.is_currency or not currencies or d.units in currencies:
            return None
        sold = ", ".join(f"{code} ({n} sales)" for code, n in currencies.most_common())
        return (f"pays in {d.units}, but the shop's newest recorded sales are in {sold}: sales in another "
                f"currency count nothing for it (set units: {currencies.most_common(1)[0][0]}, or a custom unit "
                f"such as points)")

    def _before_first(self, key: str) -> str | None:
        first = self.ledger.calendar(key).first_start
        count, earliest = self.before(first)
        if not count or earliest is None:
            return None
        tz = self.ledger.tz
        return (f"{count} recorded events occurred before its first period (from {iso(first)}) and count for "
                f"nothing: startsAt: {_day(earliest, tz)} would count them, given before the store first sees "
                f"the distributor (see Troubleshooting)")

    def before(self, first: datetime) -> tuple[int, datetime | None]:
        """(how many recorded events occurred before `first`, the earliest of them)."""
        boundary = bucket_of(iso(as_utc(first)))
        earlier = [b for b in self.store.buckets() if b <= boundary]
        if not earlier:
            return 0, None
        count = sum(self.store.event_count(b) for b in earlier if b < boundary)
        limit = iso(as_utc(first))
        count += sum(1 for at in self._at(boundary) if at < limit) if boundary in earlier else 0
        times = self._at(earlier[0])
        return count, parse_time(times[0]) if count and times else None

    def _at(self, bucket: str) -> list[str]:
        """The sorted UTC times (as recorded: text order is time order) of a segment's events."""
        if bucket not in self._times:
            self._times[bucket] = sorted(r["at"] for r in self.store.events(bucket))
        return self._times[bucket]

    def _moved_start(self, key: str, d: Distributor) -> str | None:
        """A `startsAt` changed after the store gave the distributor its first start: the store's holds."""
        first = self.ledger.calendar(key).first_start
        if d.starts_at is None or d.starts_at == first:
            return None
        return (f"startsAt {iso(d.starts_at)} is not the first start the store keeps ({iso(first)}): a "
                f"distributor's first start is fixed once it is seen (see Troubleshooting)")


def _day(moment: datetime, tz: tzinfo) -> str:
    return moment.astimezone(tz).date().isoformat()
