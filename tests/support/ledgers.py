"""A ledger on a real store without a config file: distributors and collaborators built in Python,
events made in one line, periods closed through `closing.close_due`. For the tests of the modules
that read what the ledger and closing wrote (ledger, history, explain, payouts)."""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, tzinfo
from decimal import Decimal
from typing import Any

from siren_sync import closing
from siren_sync.ledger import Ledger
from siren_sync.model import Collaborator, Distribution, Distributor, Event
from siren_sync.store import Store

NOW = datetime(2026, 11, 20, 12, tzinfo=UTC)
NOVEMBER = datetime(2026, 11, 1, tzinfo=UTC)
DECEMBER = datetime(2026, 12, 1, tzinfo=UTC)
AT = datetime(2026, 11, 10, 12, tzinfo=UTC)  # in the first period
MONTHLY = ("first day of next month", "midnight")


def distributor(key: str = "pool", points: Mapping[str, int] | None = None, percentage: str = "100",
                resolver: str = "performanceSharedPool", **changes: Any) -> Distributor:
    """A monthly USD distributor starting 2026-11-01 UTC that scores `manual` at 1 point unless told."""
    scored = {t: Decimal(p) for t, p in (points or {"manual": 1}).items()}
    fields: dict[str, Any] = dict(key=key, name=key.title(), resolver=resolver, units="USD", exponent=2,
                                  schedule=MONTHLY, points=scored, revenue_percentage=Decimal(percentage),
                                  starts_at=NOVEMBER)
    return Distributor(**{**fields, **changes})


def people(*ids: str, status: str = "active") -> dict[str, Collaborator]:
    return {c: Collaborator(id=c, name=c.title(), email=f"{c}@example.com", status=status) for c in ids}


def make_ledger(store: Store, distributors: Iterable[Distributor] = (),
                collaborators: Mapping[str, Collaborator] | None = None, now: datetime = NOW,
                tz: tzinfo = UTC) -> Ledger:
    """A ledger over `store` (default: one `distributor()`; alice and bruno, active)."""
    found = {d.key: d for d in distributors} or {"pool": distributor()}
    return Ledger(store, found, collaborators if collaborators is not None else people("alice", "bruno"), tz, now)


def credit(who: str, quantity: int = 1, at: datetime = AT, key: str | None = None, type_: str = "manual") -> Event:
    return Event(key=key or f"test:{type_}:{who}:{quantity}:{at.isoformat()}", type=type_, at=at, collaborator=who,
                 quantity=quantity, source="test")


def sale(key: str, revenue: str, at: datetime = AT) -> Event:
    return Event(key=key, type="sale", at=at, revenue=Decimal(revenue), source="test")


def close(ledger: Ledger, as_of: datetime = DECEMBER) -> list[Distribution]:
    """Close every period due at `as_of`, as `distribute` does."""
    ledger.now = as_of
    return closing.close_due(ledger, as_of)
