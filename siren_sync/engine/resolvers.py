"""Splitting a period's pool among collaborators (Siren's `distributionResolver`, DESIGN section 3).

Every split works in whole minor units (cents, yen, fils, points) so that the allocations add up to
the pool exactly: exact shares are `Fraction`s, each is floored, and the minor units left over are
handed out one by one by largest remainder (ties: higher score, then smaller id). Pure functions.
"""
from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction
from itertools import groupby
from operator import itemgetter

from siren_sync.engine.units import decimals_of
from siren_sync.model import RESOLVER_ALIASES, RESOLVERS, Allocation, Standing


def split(resolver: str, pool: Decimal, standings: Sequence[Standing], exponent: int,
          minimum_score: Decimal | None = None) -> list[Allocation]:
    """Allocations of `pool` among the qualifying `standings`, by amount desc then collaborator id.

    Qualifying means a score above zero and, when `minimum_score` is set, at least that score; the
    caller has already left out collaborators who are not active. A pool of zero (or less), or no one
    qualifying, gives `[]` (the distribution is still recorded, empty). Allocations whose amount
    rounds to zero (0.01 split among three) are dropped: only amounts above zero become obligations,
    and the units they would have had went to others by the remainder rule, so the sum still holds.
    """
    resolver = RESOLVER_ALIASES.get(resolver, resolver)
    if resolver not in RESOLVERS:
        raise ValueError(f"unknown distribution resolver {resolver!r}")
    total_units = _to_minor(pool, exponent)
    qualified = _qualifying(standings, minimum_score)
    if total_units <= 0 or not qualified:
        return []
    if resolver == "topScoreWins":
        allocations = [_top_score(qualified, total_units, exponent)]
    else:
        weights = _integer_weights(qualified) if resolver == "performanceSharedPool" else [1] * len(qualified)
        allocations = _largest_remainder(qualified, weights, total_units, exponent)
    return _by_amount_then_id([a for a in allocations if a.amount > 0])


def _by_amount_then_id(allocations: list[Allocation]) -> list[Allocation]:
    """Allocations by amount desc, then collaborator id, from allocations in standings order.

    Standings come by score desc, then id, and a higher score never gets less (a larger floor, or
    the same floor with a larger remainder, which the remainder rule serves first); so amounts
    already descend, and only each run of equal amounts is put in id order. Should they ever not
    descend, a full sort does it.
    """
    ordered, previous = [], None
    for amount, run in groupby(allocations, key=itemgetter(2)):
        if previous is not None and amount > previous:
            ordered = sorted(allocations, key=itemgetter(0))
            ordered.sort(key=itemgetter(2), reverse=True)  # stable: amount desc, then id
            return ordered
        previous = amount
        ordered.extend(sorted(run, key=itemgetter(0)))
    return ordered


def _qualifying(standings: Sequence[Standing], minimum_score: Decimal | None) -> list[Standing]:
    """Siren pays only scores above zero; a `minimumScore` goal raises the bar further."""
    bar = minimum_score if minimum_score is not None and minimum_score > 0 else None
    if bar is None:
        return [s for s in standings if s.score > 0]
    return [s for s in standings if s.score >= bar]


def _to_minor(pool: Decimal, exponent: int) -> int:
    """The pool as a whole number of minor units; a pool finer than the unit is a caller bug."""
    units = Fraction(pool) * 10 ** exponent
    if units.denominator != 1:
        raise ValueError(f"pool {pool} is not a whole number of 10**-{exponent} units")
    return int(units)


def _from_minor(units: int, exponent: int) -> Decimal:
    """Minor units back to a Decimal carrying exactly `exponent` decimals (Decimal('33.34'))."""
    return Decimal(units).scaleb(-exponent)


def _fmt_score(score: Decimal) -> str:
    """A score for people: no trailing zeros, no exponent notation (40, 1.5)."""
    return format(score.normalize(), "f")


def _tie_key(standing: Standing) -> tuple[bool, str, str]:
    """Who reached a tying score first: earliest last scoring event (unknown last), then smaller id."""
    at = standing.last_scored_at  # UTC text in one format: text order is time order
    return (at is None, at or "", standing.collaborator)


def _top_score(qualified: Sequence[Standing], total_units: int, exponent: int) -> Allocation:
    """Siren's topScoreWins: one obligation for the whole pool; a tie is broken and explained."""
    best = max(s.score for s in qualified)
    tied = sorted((s for s in qualified if s.score == best), key=_tie_key)
    winner, others = tied[0], tied[1:]
    note = ""
    if others:
        names = ", ".join(s.collaborator for s in others)
        note = f"tie at {_fmt_score(best)} with {names}: {_tie_reason(winner, others[0])}"
    return Allocation(winner.collaborator, winner.score, _from_minor(total_units, exponent), note)


def _tie_reason(winner: Standing, runner_up: Standing) -> str:
    """Why the winner beat the next tied collaborator, in the record's words."""
    if winner.last_scored_at is None:
        return "smaller id (no scoring times)"
    if winner.last_scored_at == runner_up.last_scored_at:
        return "reached it at the same time, smaller id"
    return f"reached it first ({winner.last_scored_at})"


def _integer_weights(qualified: Sequence[Standing]) -> list[int]:
    """Scores scaled to whole numbers (1.5 and 2 -> 15 and 20): the same proportions, integer maths.

    A Decimal sum keeps the finest exponent of its terms, so one look at the total tells the scale.
    """
    total = sum((s.score for s in qualified), Decimal(0))
    scale = 10 ** decimals_of(total)
    if scale == 1:  # whole scores, the usual case: no Decimal product per collaborator
        return [int(s.score) for s in qualified]
    return [int(s.score * scale) for s in qualified]


def _largest(qualified: Sequence[Standing], remainders: list[int], count: int) -> set[int]:
    """Indexes of the `count` largest remainders; ties at the cut go by higher score, then smaller id.

    One sort on plain integers; the tie rule is applied only to those tied at the cut-off remainder.
    """
    if count <= 0:
        return set()
    order = sorted(range(len(remainders)), key=remainders.__getitem__, reverse=True)
    cutoff = remainders[order[count - 1]]
    above = {i for i in order[:count] if remainders[i] > cutoff}
    tied = sorted((i for i, r in enumerate(remainders) if r == cutoff), key=lambda i: qualified[i].collaborator)
    tied.sort(key=lambda i: qualified[i].score, reverse=True)
    return above | set(tied[:count - len(above)])


def _largest_remainder(qualified: Sequence[Standing], weights: Sequence[int], total_units: int,
                       exponent: int) -> list[Allocation]:
    """Floor each exact share, then give the left minor units by largest remainder (then score, id).

    Every exact share is `total_units * weight / total_weight`: one common denominator, so `divmod`
    gives each floor and remainder exactly, in integers, with no Fraction per collaborator.
    """
    total_weight = sum(weights)
    parts = [divmod(total_units * w, total_weight) for w in weights]
    left = total_units - sum(q for q, _ in parts)
    extra = _largest(qualified, [r for _, r in parts], left)
    unit_text = f"+{_from_minor(1, exponent)} remainder"
    money: dict[int, Decimal] = {}  # many shares are the same amount: one Decimal each
    allocations = []
    for i, (collaborator, score, _) in enumerate(qualified):
        units, note = (parts[i][0] + 1, unit_text) if i in extra else (parts[i][0], "")
        amount = money.get(units)
        if amount is None:
            amount = money[units] = _from_minor(units, exponent)
        allocations.append(Allocation(collaborator, score, amount, note))
    return allocations
