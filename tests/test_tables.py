"""The store's table names (siren_sync/tables.py): what grows with collaborators or periods is a
partition (a name with '/', a file of its own); the small root tables are not; one period's
aggregate is named by its UTC start, whatever zone the start is written in."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from siren_sync import tables
from siren_sync.store import is_partition

ROOT_TABLES = [tables.DISTRIBUTIONS, tables.OUTBOX, tables.PERIODS, tables.CURSORS, tables.QUARANTINE, tables.META,
               tables.SITE_COLLABORATORS]


@pytest.mark.parametrize("name", ROOT_TABLES)
def test_root_tables_are_not_partitions(name):
    assert "/" not in name and not is_partition(name)


def test_root_table_names_are_all_different():
    assert len(set(ROOT_TABLES)) == len(ROOT_TABLES)


@pytest.mark.parametrize("name", [tables.obligations_table("pool-20261201t0000"),
                                  tables.scores_table("pool-20261201t0000"),
                                  tables.aggregate_table("pool", datetime(2026, 11, 1, tzinfo=UTC))])
def test_per_distribution_and_per_period_tables_are_partitions(name):
    assert "/" in name and is_partition(name)


def test_obligations_and_scores_of_one_distribution_are_two_tables():
    assert tables.obligations_table("d-1") == "obligations/d-1"
    assert tables.scores_table("d-1") == "scores/d-1"


def test_aggregate_table_uses_the_utc_start():
    new_york = datetime(2026, 11, 1, tzinfo=ZoneInfo("America/New_York"))
    assert tables.aggregate_table("pool", new_york) == "aggregates/pool/2026-11-01T04:00:00+00:00"


def test_one_instant_written_in_two_zones_is_one_aggregate():
    utc = datetime(2026, 11, 1, 4, tzinfo=UTC)
    tokyo = utc.astimezone(timezone(timedelta(hours=9)))
    assert tables.aggregate_table("pool", tokyo) == tables.aggregate_table("pool", utc)
    assert tables.aggregate_table("other", utc) != tables.aggregate_table("pool", utc)
