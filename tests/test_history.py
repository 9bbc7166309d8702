"""Reading closed distributions back (siren_sync/history.py): a distribution is its summary, its
obligations and the scores of those not paid, put back together as closing made it; obligations in
a stable order; summaries without opening any per-distribution table; the open periods projected
without writing anything; and a store written before obligations carried their scores reads the same."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from siren_sync import history
from siren_sync.store import Store
from siren_sync.tables import DISTRIBUTIONS
from tests.support.ledgers import DECEMBER, close, credit, distributor, make_ledger, people, sale

DECEMBER_AT = datetime(2026, 12, 10, tzinfo=UTC)
JANUARY = datetime(2027, 1, 1, tzinfo=UTC)


@pytest.fixture
def ledger(store):
    """Two monthly pools; November and December closed. Carol scores in November without reaching `pool`'s
    minimum; bruno scores only in `bonus`."""
    pool = distributor(minimum_score=Decimal(2))
    bonus = distributor("bonus", points={"boundCouponUsed": 1}, percentage="10")
    made = make_ledger(store, [pool, bonus], people("alice", "bruno", "carol"))
    made.record([credit("alice", 3), credit("carol", 1), credit("bruno", 2, type_="boundCouponUsed"),
                 credit("alice", 2, at=DECEMBER_AT), sale("nov", "40.00"), sale("dec", "10.00", at=DECEMBER_AT)])
    close(made, JANUARY)
    return made


def test_a_loaded_distribution_is_the_one_closing_made(store: Store):
    ledger = make_ledger(store, [distributor(minimum_score=Decimal(2))], people("alice", "bruno", "carol"))
    ledger.record([credit("alice", 3), credit("bruno", 2), credit("carol", 1), sale("s", "50.00")])
    [made] = close(ledger)
    loaded = history.load(store, made.id)
    assert loaded.summary_record() == made.summary_record()
    assert loaded.obligations == made.obligations
    assert [(s.collaborator, s.score) for s in loaded.scores] == [("alice", 3), ("bruno", 2), ("carol", 1)]
    assert {o.collaborator: o.amount for o in loaded.obligations} == {"alice": Decimal("30.00"),
                                                                      "bruno": Decimal("20.00")}


def test_an_unknown_distribution_loads_as_none(store: Store):
    assert history.load(store, "pool-20991201t0000") is None


def test_history_is_every_closed_distribution_oldest_period_first(ledger):
    assert [(d.distributor, d.period_end) for d in history.history(ledger.store)] == [
        ("bonus", DECEMBER), ("pool", DECEMBER), ("bonus", JANUARY), ("pool", JANUARY)]
    assert [d.period_end for d in history.history(ledger.store, "pool")] == [DECEMBER, JANUARY]


def test_summaries_read_only_the_distributions_table(ledger, monkeypatch):
    read: list[str] = []
    table, get = ledger.store.table, ledger.store.get
    monkeypatch.setattr(ledger.store, "table", lambda name: read.append(name) or table(name))
    monkeypatch.setattr(ledger.store, "get", lambda name, key, default=None: read.append(name) or get(name, key))
    rows = history.summaries(ledger.store, "pool")
    assert read == [DISTRIBUTIONS]
    assert [r["id"] for r in rows] == ["pool-20261201t0000", "pool-20270101t0000"]


def test_a_distributions_obligations_are_largest_first_then_by_collaborator(store: Store):
    ledger = make_ledger(store, [distributor(resolver="sharedEngagementPool")], people("alice", "bruno", "carol"))
    ledger.record([credit("carol", 1), credit("bruno", 1), credit("alice", 1), sale("s", "100.00")])
    [made] = close(ledger)
    summary = store.get(DISTRIBUTIONS, made.id)
    assert [(o.collaborator, str(o.amount)) for o in history.obligations_of(store, summary)] == [
        ("alice", "33.34"), ("bruno", "33.33"), ("carol", "33.33")]


def test_all_obligations_are_oldest_period_first_and_filtered(ledger):
    rows = history.obligations(ledger.store)
    assert [o.id for o in rows] == ["bonus-20261201t0000:bruno", "pool-20261201t0000:alice",
                                    "pool-20270101t0000:alice"]
    assert [o.id for o in history.obligations(ledger.store, {"bruno"})] == ["bonus-20261201t0000:bruno"]
    assert {o.status for o in rows} == {"pending"}


def test_latest_with_is_the_newest_distribution_a_collaborator_was_paid_in(ledger):
    assert history.latest_with(ledger.store, "alice").id == "pool-20270101t0000"
    assert history.latest_with(ledger.store, "bruno").id == "bonus-20261201t0000"


def test_latest_with_counts_a_score_that_was_not_paid(ledger):
    assert history.latest_with(ledger.store, "carol").id == "pool-20261201t0000"


def test_latest_with_a_collaborator_who_never_scored_is_none(ledger):
    assert history.latest_with(ledger.store, "dora") is None


def test_standings_project_every_open_period_and_write_nothing(ledger):
    ledger.record([credit("bruno", 4, type_="boundCouponUsed", at=JANUARY), sale("jan", "30.00", at=JANUARY)])
    before = {name: ledger.store.table(name) for name in ledger.store.tables()}
    rows = history.standings(ledger)
    assert [(r.distributor, r.period_start) for r in rows] == [("pool", JANUARY), ("bonus", JANUARY)]
    bonus = rows[1]
    assert (bonus.revenue, bonus.pool, [(o.collaborator, o.amount) for o in bonus.obligations]) == (
        Decimal("30.00"), Decimal("3.00"), [("bruno", Decimal("3.00"))])
    assert {name: ledger.store.table(name) for name in ledger.store.tables()} == before
    assert history.load(ledger.store, bonus.id) is None


def test_standings_of_one_distributor(ledger):
    assert [r.distributor for r in history.standings(ledger, "bonus")] == ["bonus"]


def test_public_json_is_each_public_record(ledger):
    records = history.history(ledger.store)
    assert history.public_json(records) == [r.public_record() for r in records]
