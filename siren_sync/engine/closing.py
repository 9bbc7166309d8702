"""Closing one period of a distributor: revenue -> pool -> scores -> allocations -> carry.

Everything a closing needs is passed in (the period aggregate, what the previous period carried,
who is eligible), so closing the same period twice gives the same result: the worker can retry a
closing after a crash without paying anyone twice. Pure: `close` gives the outcome, `distribution`
turns it into the `Distribution` noun that `closing.py` stores and `history.py` shows as standings.

A distribution's id (and its record's slug) names the distributor and the period's end in UTC, to
the minute, with the seconds added when they are not zero: unique for every period whatever its
length (a `+20 sec` schedule included), and the same ids as before for whole-minute ends, so stores
and site records written by earlier versions stay valid.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from siren_sync.engine.balances import payable_at
from siren_sync.engine.pools import pool_amount
from siren_sync.engine.resolvers import split
from siren_sync.engine.scoring import standings as compute_standings
from siren_sync.engine.units import decimals_of
from siren_sync.model import POOL_RESOLVERS, Allocation, Distribution, Distributor, Obligation, Standing


@dataclass(frozen=True)
class Closing:
    """The outcome of one period: what it earned, what it paid, and what goes on to the next."""

    revenue: Decimal  # the period's net counted revenue, carried negative revenue included
    pool: Decimal  # pool_amount(revenue) + carried pool, on the distributor's unit
    standings: list[Standing]
    allocations: list[Allocation]
    next_carry: dict[str, str]  # {"revenue": str, "pool": str} for the next period
    unspent: Decimal  # pool not allocated (dropped, or carried with carryUnspentPool)


def close(distributor: Distributor, aggregate: Mapping[str, Any], carry: Mapping[str, Any],
          eligible: Callable[[str], bool]) -> Closing:
    """Close a period from its aggregate (docs/CONTRACTS.md) and the previous period's carry.

    A negative net revenue pays nothing and is carried into the next period's revenue (DESIGN). The
    pool left unallocated (nobody qualified, or a zero pool) is carried only when the distributor
    sets `carryUnspentPool`; otherwise it is dropped and the period resets.
    """
    if distributor.pool_resolver not in POOL_RESOLVERS:
        raise ValueError(f"{distributor.key}: unknown pool resolver {distributor.pool_resolver!r}")
    revenue = Decimal(aggregate.get("revenue") or 0) + Decimal(carry.get("revenue") or 0)
    exponent = distributor.exponent
    pool = pool_amount(revenue, distributor.revenue_percentage, exponent) + Decimal(carry.get("pool") or 0)
    pool = pool.quantize(Decimal(1).scaleb(-exponent), rounding=ROUND_HALF_UP)
    ranked = compute_standings(aggregate.get("counts") or {}, distributor.points, eligible)
    allocations = split(distributor.resolver, pool, ranked, exponent, distributor.minimum_score)
    unspent = pool - sum((a.amount for a in allocations), Decimal(0))
    return Closing(revenue, pool, ranked, allocations, _next_carry(distributor, revenue, unspent), unspent)


def _next_carry(distributor: Distributor, revenue: Decimal, unspent: Decimal) -> dict[str, str]:
    """What the next period starts with: negative revenue always, unspent pool only if configured."""
    zero_pool = Decimal(0).scaleb(-distributor.exponent)
    kept_pool = unspent if distributor.carry_unspent_pool and unspent > 0 else zero_pool
    return {"revenue": str(revenue if revenue < 0 else Decimal(0)), "pool": str(kept_pool)}


def distribution_id(key: str, end: datetime) -> str:
    """Deterministic, so a re-run or a crash can never make a second distribution of a period."""
    utc = end.astimezone(UTC)
    return f"{key}-{utc.strftime('%Y%m%dT%H%M%S' if utc.second else '%Y%m%dT%H%M')}".lower()


def slug_of(distribution: str) -> str:
    """The slug of the record posted to the site (DESIGN section 3)."""
    return f"siren-sync-{distribution}".lower()


def distribution(d: Distributor, outcome: Closing, period: tuple[datetime, datetime], carry: Mapping[str, str],
                 totals: Mapping[str, Any], closed_at: datetime) -> Distribution:
    """The `Distribution` of one closed (or projected) period; `totals` are the aggregate's counters."""
    start, end = period
    dist_id = distribution_id(d.key, end)
    due = payable_at(end, d.hold)
    return Distribution(
        id=dist_id, distributor=d.key, name=d.name, resolver=d.resolver, period_start=start, period_end=end,
        units=d.units, revenue=_padded(outcome.revenue, d), pool=outcome.pool, unspent=outcome.unspent,
        carried_in=dict(carry), carry_out=outcome.next_carry, events=totals.get("events", 0),
        late_events=totals.get("late", 0), late_buckets=tuple(totals.get("late_buckets", ())),
        other_currency=dict(totals.get("other_currency", {})),
        scores=tuple(outcome.standings),
        obligations=tuple([Obligation.closed(dist_id, who, amount, d.units, score, end, note, due)
                           for who, score, amount, note in outcome.allocations]),
        closed_at=closed_at, review="draft" if d.review else "approved", payable_at=due)


def _padded(value: Decimal, d: Distributor) -> Decimal:
    """`0` shown as `0.00` for a 2-decimal currency; never rounds (padding only)."""
    if d.is_currency and decimals_of(value) < d.exponent:
        return value.quantize(Decimal(1).scaleb(-d.exponent))
    return value
