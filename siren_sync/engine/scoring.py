"""Scores: points per engagement type times net quantity (DESIGN "Event types", Siren's metrics).

A distributor's `engagementTypes` gives the points of each type; types it does not list score
nothing. Scores come from a period aggregate's `counts` (docs/CONTRACTS.md), never from raw events,
so closing a period costs the same however many events it had. Pure.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from operator import itemgetter
from typing import Any

from siren_sync.model import Event, Standing

_ZERO = Decimal(0)


def standings(counts: Mapping[str, Mapping[str, Mapping[str, Any]]], points: Mapping[str, Decimal],
              eligible: Callable[[str], bool]) -> list[Standing]:
    """Each eligible collaborator's score for the period, by score desc then id.

    A collaborator appears when they have a non-zero net quantity of a type the distributor lists;
    the score is kept raw (a net negative or zero just does not qualify in the split, but the record
    still shows it). `last_scored_at` is the latest `last` among types that earn points (points > 0,
    qty != 0): it breaks topScoreWins ties.
    """
    worth = {t: Decimal(v) for t, v in points.items()}
    earning = {t for t, v in worth.items() if v > 0}
    result = []
    for collaborator, by_type in counts.items():
        if not eligible(collaborator):
            continue
        score, latest = None, None
        for t, c in by_type.items():
            qty = c.get("qty", 0)
            if not qty or t not in worth:
                continue
            score = (_ZERO if score is None else score) + worth[t] * qty
            # The ledger writes `last` in UTC with a fixed format: the latest is the greatest string.
            if t in earning and (last := c.get("last")) and (latest is None or last > latest):
                latest = last
        if score is not None:
            result.append(Standing(collaborator, score, latest))
    # Two stable sorts on plain keys (ids, then scores descending) order like (-score, id), faster.
    result.sort(key=itemgetter(0))
    result.sort(key=itemgetter(1), reverse=True)
    return result


def event_points(event: Event, points: Mapping[str, Decimal]) -> Decimal:
    """What one event adds to its collaborator's score (points x signed quantity); for `explain`."""
    if event.type not in points:
        return Decimal(0)
    return Decimal(points[event.type]) * event.quantity
