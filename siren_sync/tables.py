"""The names of the store's tables: one place that closing, history, the ledger, payouts and publishing read.

Root tables are small and rewritten at each commit; a name with a `/` is a partition with a file of
its own (see `store/`), used for what grows with the number of collaborators or periods.
"""
from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import UTC, datetime

from siren_sync.values import iso

DISTRIBUTIONS = "distributions"  # distribution id -> summary (Distribution.summary_record)
OUTBOX = "outbox"  # distribution id -> OutboxEntry
PERIODS = "periods"  # distributor key -> {first_start, open_start, carry}
CURSORS = "cursors"  # source name -> the source's own cursor
QUARANTINE = "quarantine"  # where -> {where, reason, payload, at}
META = "meta"  # "site" -> {timezone}; "secrets" -> {visitor_key} (hex, made once: `sync.visitor_key`)
SITE_COLLABORATORS = "site_collaborators"  # id -> collaborator read from the site
FULFILLMENTS = "fulfillments"  # fulfillment id -> Fulfillment.to_record (its payouts: payouts_table)
FULFILLMENT_SERIAL = "fulfillments"  # the META document counting changes to fulfillments
# Programs (DESIGN section 8): the `?ref=` visits by visitor digest that orders are matched to, and
# `CURSORS["programs"]`, the count of ledger events already rewarded per segment (`commissions.py`).
PROGRAM_VISITS = "programs/visits"
PROGRAMS_CURSOR = "programs"
PROGRAM_OBLIGATIONS = "programs/obligations/"  # the prefix of `program_obligations_table`
PROGRAM_ORDERS = "programs/orders/"  # the prefix of `program_orders_table`
ORDERS_PER_INDEX = 1000  # orders per `program_orders_table`


def obligations_table(distribution_id: str) -> str:
    """A distribution's obligations, keyed by collaborator (Obligation.to_record)."""
    return f"obligations/{distribution_id}"


def payouts_table(fulfillment_id: str) -> str:
    """A fulfillment's payouts, keyed by their number in it ("1", "2", ...; Payout.to_record).

    Written once when the fulfillment is made: completing or cancelling it changes only its
    summary, so neither rewrites the obligations it holds.
    """
    return f"payouts/{fulfillment_id}"


def scores_table(distribution_id: str) -> str:
    """Those who scored in a distribution without being paid, keyed by collaborator."""
    return f"scores/{distribution_id}"


def aggregate_table(distributor: str, start: datetime) -> str:
    """One period's running aggregate (its totals and each collaborator's counts)."""
    return f"aggregates/{distributor}/{iso(start.astimezone(UTC))}"


def program_obligations_table(earned_at: str, days: Collection[str] = ()) -> str:
    """The program rewards and clawbacks earned in one UTC month (`earned_at` as recorded, `iso` of
    a UTC time), by obligation id: a sync rewrites the months it rewards, not everything before. A
    month, not a day: a backfill of a year writes a dozen files, not 365, and each new file costs more
    than the documents of a day in it (benchmark 9). A store written before keeps its rewards in
    their day's table (`program_day_tables`, given as `days`): a reward never moves."""
    if days and (day := f"{PROGRAM_OBLIGATIONS}{earned_at[:10]}") in days:
        return day
    return f"{PROGRAM_OBLIGATIONS}{earned_at[:7]}"


def program_day_tables(names: Iterable[str]) -> frozenset[str]:
    """Of the program obligation tables `names`, those of one day (`YYYY-MM-DD`): written before
    rewards were kept by month, and still where their rewards are."""
    return frozenset(name for name in names if len(name) == _DAY_TABLE)


_DAY_TABLE = len(PROGRAM_OBLIGATIONS) + len("YYYY-MM-DD")


def program_orders_table(order: int) -> str:
    """The index of the program rewards of a thousand orders by number (`order // 1000`), keyed by
    order: `{"rewards": {obligation id: its UTC day}, "renewals": {program: [renewal orders]}}` (no
    `renewals` while none is rewarded; a store written before lean rewards has each one's earned_at
    for its day). A poll reads the entries of the orders its events touch, never the rewards of every
    order, and rewrites the few tables of those orders (new orders share the newest)."""
    return f"{PROGRAM_ORDERS}{order // ORDERS_PER_INDEX}"
