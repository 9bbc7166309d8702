"""Scores: points per engagement type times net quantity (DESIGN "Event types", Siren's metrics).

A distributor's `engagementTypes` gives the points of each type; types it does not list score
nothing. Scores come from a period aggregate's `counts` (docs/CONTRACTS.md), never from raw events,
so closing a period costs the same however many events it had. Pure.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any, Callable, Mapping

from siren_sync.model import Event, Standing, parse_time


def standings(counts: Mapping[str, Mapping[str, Mapping[str, Any]]], points: Mapping[str, Decimal],
              eligible: Callable[[str], bool]) -> list[Standing]:
    """Each eligible collaborator's score for the period, by score desc then id.

    A collaborator appears when they have a non-zero net quantity of a type the distributor lists;
    the score is kept raw (a net negative or zero just does not qualify in the split, but the record
    still shows it). `last_scored_at` is the latest `last` among types that earn points (points > 0,
    qty != 0): it breaks topScoreWins ties.
    """
    result = []
    for collaborator, by_type in counts.items():
        if not eligible(collaborator):
            continue
        listed = {t: c for t, c in by_type.items() if t in points and int(c.get("qty", 0)) != 0}
        if not listed:
            continue
        score = sum((Decimal(points[t]) * int(c["qty"]) for t, c in listed.items()), Decimal(0))
        result.append(Standing(collaborator, score, _last_scored(listed, points)))
    return sorted(result, key=lambda s: (-s.score, s.collaborator))


def _last_scored(listed: Mapping[str, Mapping[str, Any]], points: Mapping[str, Decimal]) -> datetime | None:
    """When the collaborator last moved their score up: the latest `last` of a type worth points."""
    # The ledger writes `last` in UTC with a fixed format, so the latest is also the greatest string.
    times = [c["last"] for t, c in listed.items() if Decimal(points[t]) > 0 and c.get("last")]
    return parse_time(max(times)) if times else None


def event_points(event: Event, points: Mapping[str, Decimal]) -> Decimal:
    """What one event adds to its collaborator's score (points x signed quantity); for `explain`."""
    if event.type not in points:
        return Decimal(0)
    return Decimal(points[event.type]) * event.quantity
