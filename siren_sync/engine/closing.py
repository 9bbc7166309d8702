"""Closing one period of a distributor: revenue -> pool -> scores -> allocations -> carry.

Everything a closing needs is passed in (the period aggregate, what the previous period carried,
who is eligible), so closing the same period twice gives the same result: the worker can retry a
closing after a crash without paying anyone twice. Pure; the lead turns `Closing` into records.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from siren_sync.engine.pools import pool_amount
from siren_sync.engine.resolvers import split
from siren_sync.engine.scoring import standings as compute_standings
from siren_sync.model import POOL_RESOLVERS, Allocation, Distributor, Standing


@dataclass(frozen=True)
class Closing:
    """The outcome of one period: what it earned, what it paid, and what goes on to the next."""

    revenue: Decimal  # the period's net counted revenue, carried negative revenue included
    pool: Decimal  # pool_amount(revenue) + carried pool, on the distributor's unit
    standings: list[Standing]
    allocations: list[Allocation]
    next_carry: dict  # {"revenue": str, "pool": str} for the next period
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


def _next_carry(distributor: Distributor, revenue: Decimal, unspent: Decimal) -> dict:
    """What the next period starts with: negative revenue always, unspent pool only if configured."""
    zero_pool = Decimal(0).scaleb(-distributor.exponent)
    kept_pool = unspent if distributor.carry_unspent_pool and unspent > 0 else zero_pool
    return {"revenue": str(revenue if revenue < 0 else Decimal(0)), "pool": str(kept_pool)}
