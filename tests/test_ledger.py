"""The ledger (siren_sync/ledger.py): an event recorded once by key, counted in the period of its
occurrence (or, when that one is closed, in the open one and marked late), the period aggregates
closing reads, and the events that count nothing (dated far ahead, unknown or inactive people)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from siren_sync.ledger import FUTURE_LIMIT, TOTALS, event_problem, midnight, months_between, unique_by_key
from siren_sync.model import Collaborator, Event, Line, OrderValue
from siren_sync.store import BufferedTransaction as Transaction
from siren_sync.tables import CURSORS, PERIODS, QUARANTINE, aggregate_table
from tests.support.apps import open_test_app
from tests.support.ledgers import AT, DECEMBER, NOVEMBER, NOW, close, credit, distributor, make_ledger, people, sale

NOVEMBER_POOL = aggregate_table("pool", NOVEMBER)
DECEMBER_POOL = aggregate_table("pool", DECEMBER)


def stored(store) -> list[dict]:
    return [e for bucket in store.buckets() for e in store.events(bucket)]


# -- idempotent by key -----------------------------------------------------------------------

def test_recording_the_same_events_twice_counts_them_once(store):
    ledger = make_ledger(store)
    events = [credit("alice", 3), sale("s1", "40.00")]
    first = ledger.record(events)
    aggregate = store.table(NOVEMBER_POOL)
    second = ledger.record(events)
    assert (first.new, first.duplicate) == (2, 0) and (second.new, second.duplicate) == (0, 2)
    assert store.table(NOVEMBER_POOL) == aggregate and len(stored(store)) == 2


def test_two_events_with_one_key_in_a_batch_count_the_first(store):
    ledger = make_ledger(store)
    assert ledger.record([credit("alice", 3, key="k"), credit("alice", 5, key="k")]).new == 1
    assert store.get(NOVEMBER_POOL, "alice")["manual"]["qty"] == 3 and len(stored(store)) == 1


def test_every_event_of_a_batch_is_new_or_a_duplicate(store):
    ledger = make_ledger(store)
    result = ledger.record([credit("alice", 3, key="k"), credit("alice", 5, key="k")])
    assert (result.new, result.duplicate) == (1, 1)


def test_unique_by_key_keeps_the_first_of_each_key_in_order():
    a, b, a_again = credit("alice", 1, key="a"), credit("bruno", 1, key="b"), credit("bruno", 9, key="a")
    assert list(unique_by_key([a, b, a_again]).values()) == [a, b]


# -- aggregates ------------------------------------------------------------------------------

def test_the_aggregate_holds_net_quantities_the_last_scoring_time_and_the_totals(store):
    ledger = make_ledger(store, [distributor(points={"manual": 1, "boundCouponUsed": 5})])
    later = AT + timedelta(days=2)
    ledger.record([credit("alice", 3), credit("alice", 2, at=later), credit("alice", 1, type_="boundCouponUsed"),
                   credit("bruno", 1), sale("s1", "40.00"), sale("r1", "-15.50", at=later)])
    assert store.get(NOVEMBER_POOL, "alice") == {"manual": {"qty": 5, "last": "2026-11-12T12:00:00+00:00"},
                                                 "boundCouponUsed": {"qty": 1, "last": "2026-11-10T12:00:00+00:00"}}
    totals = store.get(NOVEMBER_POOL, TOTALS)
    assert (totals["revenue"], totals["events"], totals["late"]) == ("24.50", 6, 0)


def test_a_reversal_lowers_the_quantity_but_not_the_last_scoring_time(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 2)])
    ledger.record([credit("alice", -1, at=AT + timedelta(days=3))])
    assert store.get(NOVEMBER_POOL, "alice")["manual"] == {"qty": 1, "last": "2026-11-10T12:00:00+00:00"}


def test_each_distributor_counts_only_the_types_it_scores(store):
    coupons = distributor("coupons", points={"boundCouponUsed": 5})
    ledger = make_ledger(store, [distributor(), coupons])
    ledger.record([credit("alice", 1, type_="boundCouponUsed"), credit("bruno", 1)])
    assert set(store.table(aggregate_table("coupons", NOVEMBER))) == {TOTALS, "alice"}
    assert set(store.table(NOVEMBER_POOL)) == {TOTALS, "bruno"}


def test_an_event_before_a_distributors_first_start_counts_nothing_for_it(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 1, at=NOVEMBER - timedelta(seconds=1)), credit("bruno", 1, at=NOVEMBER)])
    assert set(store.table(NOVEMBER_POOL)) == {TOTALS, "bruno"}
    early = next(e for e in stored(store) if e["collaborator"] == "alice")
    assert "periods" not in early


def test_each_recorded_event_says_which_period_it_counted_in(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 1, at=DECEMBER - timedelta(seconds=1)), credit("bruno", 1, at=DECEMBER)])
    assert {e["collaborator"]: e["periods"] for e in stored(store)} == {
        "alice": {"pool": "2026-11-01T00:00:00+00:00"}, "bruno": {"pool": "2026-12-01T00:00:00+00:00"}}
    assert {e["recorded_at"] for e in stored(store)} == {"2026-11-20T12:00:00+00:00"}


# -- late events -----------------------------------------------------------------------------

def test_an_event_of_a_closed_period_counts_late_in_the_open_one(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 1), sale("s1", "10.00")])
    [closed] = close(ledger)
    result = ledger.record([credit("bruno", 4, at=AT), sale("late", "20.00", at=AT)])
    assert result.late == 2
    assert store.table(NOVEMBER_POOL)[TOTALS]["revenue"] == "10.00"  # the past is never edited
    december = store.table(DECEMBER_POOL)
    assert december["bruno"]["manual"]["qty"] == 4
    assert (december[TOTALS]["revenue"], december[TOTALS]["late"], december[TOTALS]["late_buckets"]) == (
        "20.00", 2, ["2026-11"])
    late = [e for e in stored(store) if e.get("late")]
    assert {e["key"] for e in late} == {"late", credit("bruno", 4, at=AT).key}
    assert all(e["late"] == ["pool"] and e["periods"] == {"pool": "2026-12-01T00:00:00+00:00"} for e in late)
    assert closed.period_end == DECEMBER


# -- what counts nothing ---------------------------------------------------------------------

def test_an_event_dated_more_than_a_year_ahead_is_kept_but_counts_nothing(store):
    ledger = make_ledger(store)
    typo = sale("typo", "999.00", at=NOW + FUTURE_LIMIT + timedelta(seconds=1))
    planned = sale("planned", "5.00", at=NOW + FUTURE_LIMIT - timedelta(days=1))
    ledger.record([typo, planned])
    by_key = {e["key"]: e for e in stored(store)}
    assert "more than a year after now" in by_key["typo"]["ignored"] and "periods" not in by_key["typo"]
    assert "ignored" not in by_key["planned"] and "pool" in by_key["planned"]["periods"]
    assert ledger.record([typo]).duplicate == 1  # kept: reading it again records nothing new


@pytest.mark.parametrize("who, reason", [("nobody", "unknown collaborator 'nobody'"),
                                         ("ivan", "collaborator ivan is inactive"),
                                         ("paula", "collaborator paula is pending")])
def test_events_of_unknown_or_inactive_collaborators_count_nothing(store, who, reason):
    everyone = {**people("alice"), **people("ivan", status="inactive"), **people("paula", status="pending")}
    ledger = make_ledger(store, collaborators=everyone)
    ledger.record([credit(who, 5), credit("alice", 1)])
    assert set(store.table(NOVEMBER_POOL)) == {TOTALS, "alice"}
    assert store.get(NOVEMBER_POOL, TOTALS)["events"] == 1
    [ignored] = [e for e in stored(store) if e["collaborator"] == who]
    assert ignored["ignored"] == reason


def test_a_sale_counts_whoever_it_names(store):
    ledger = make_ledger(store, collaborators={})
    ledger.record([sale("s1", "12.00")])
    assert store.get(NOVEMBER_POOL, TOTALS)["revenue"] == "12.00"


# -- one transaction, and the periods' state ---------------------------------------------------

def test_cursors_and_quarantined_records_are_saved_with_the_events(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 1)], cursors={"woocommerce": {"modified_after": "2026-11-20T11:55:00+00:00"}},
                  quarantine=[{"where": "wc/v3/orders#7", "reason": "total is not a number"}])
    assert store.get(CURSORS, "woocommerce") == {"modified_after": "2026-11-20T11:55:00+00:00"}
    assert store.get(QUARANTINE, "wc/v3/orders#7") == {"where": "wc/v3/orders#7", "reason": "total is not a number",
                                                      "at": "2026-11-20T12:00:00+00:00"}


def test_a_batch_that_fails_half_way_records_nothing(store, monkeypatch):
    """The cursor is saved last: a failure there leaves no event, aggregate or cursor behind."""
    ledger = make_ledger(store)
    put = Transaction.put

    def failing_put(tx, table, key, doc):
        if table == CURSORS:
            raise RuntimeError("disk gone")
        put(tx, table, key, doc)
    monkeypatch.setattr(Transaction, "put", failing_put)
    event = credit("alice", 1)
    with pytest.raises(RuntimeError, match="disk gone"):
        ledger.record([event], cursors={"woocommerce": {"page": 2}})
    monkeypatch.undo()
    assert store.buckets() == [] and store.table(NOVEMBER_POOL) == {} and store.known([event.key]) == set()
    assert ledger.record([event]).new == 1  # recorded when the source reads it again


def test_a_new_distributor_starts_at_midnight_of_the_first_day_it_is_seen(store):
    new_york = ZoneInfo("America/New_York")
    ledger = make_ledger(store, [distributor(starts_at=None)], tz=new_york, now=NOW)
    assert ledger.open_period("pool")[0] == datetime(2026, 11, 20, tzinfo=new_york) == midnight(NOW, new_york)
    assert store.get(PERIODS, "pool") is None  # nothing written by a read
    ledger.record([credit("alice", 1)])
    assert store.get(PERIODS, "pool")["first_start"] == "2026-11-20T00:00:00-05:00"


def test_the_open_period_moves_when_a_period_closes(store):
    ledger = make_ledger(store)
    assert ledger.open_period("pool") == (NOVEMBER, DECEMBER)
    close(ledger)
    assert ledger.open_period("pool") == (DECEMBER, datetime(2027, 1, 1, tzinfo=UTC))


def test_projecting_a_period_writes_nothing(store):
    ledger = make_ledger(store)
    ledger.record([credit("alice", 3), credit("bruno", 1), sale("s1", "40.00")])
    before = {name: store.table(name) for name in store.tables()}
    projected = ledger.project("pool", NOVEMBER, DECEMBER, {})
    assert {o.collaborator: o.amount for o in projected.obligations} == {"alice": Decimal("30.00"),
                                                                        "bruno": Decimal("10.00")}
    assert {name: store.table(name) for name in store.tables()} == before


# -- the ledger's own guard (issue 15): no source records a value a close cannot compute --------

AT_UTC = datetime(2026, 11, 10, 12, tzinfo=UTC)


def test_amounts_and_counts_out_of_bounds_are_named():
    assert event_problem(Event("a", "manual", AT_UTC, collaborator="x", quantity=5)) is None
    assert event_problem(Event("a", "manual", AT_UTC, collaborator="x", quantity=-1_000_000)) is None
    assert event_problem(Event("a", "manual", AT_UTC, collaborator="x", quantity=10 ** 7)) == \
        "quantity 10000000 is beyond 1,000,000"
    assert event_problem(Event("s", "sale", AT_UTC, revenue=Decimal("-999999999999999.99"))) is None
    assert event_problem(Event("s", "sale", AT_UTC, revenue=Decimal("1E+15"))) == \
        "revenue 1E+15 is beyond 15 digits before the decimal point"
    order = OrderValue("USD", Decimal("10"), (Line("7", Decimal("1e20")),))
    assert event_problem(Event("s", "sale", AT_UTC, order=order)) == \
        "line 7 subtotal 1E+20 is beyond 15 digits before the decimal point"
    assert event_problem(Event("s", "sale", AT_UTC, revenue=Decimal("NaN"))) is not None


def test_a_source_event_out_of_bounds_is_quarantined_not_recorded(tmp_path):
    app = open_test_app(tmp_path, [Collaborator("alice")])
    try:
        result = app.ledger.record([Event("woo:1", "collaboratorProductSold", AT_UTC, collaborator="alice",
                                          quantity=10 ** 9), Event("woo:2", "manual", AT_UTC, collaborator="alice")])
        assert (result.new, result.refused) == (1, 1)
        assert app.store.known(["woo:1", "woo:2"]) == {"woo:2"}
        assert app.store.get("quarantine", "event woo:1")["reason"] == \
            "quantity 1000000000 is beyond 1,000,000: not recorded"
    finally:
        app.close()


@pytest.mark.parametrize("start, end, months", [
    ("2026-11-01T00:00:00+00:00", "2026-12-01T00:00:00+00:00", ["2026-11", "2026-12"]),
    ("2026-11-30T23:00:00-05:00", "2026-12-01T00:00:00-05:00", ["2026-12"]),  # in UTC: all December
    ("2026-12-20T00:00:00+00:00", "2027-02-01T00:00:00+00:00", ["2026-12", "2027-01", "2027-02"]),
])
def test_months_between_are_the_utc_months_a_period_touches(start, end, months):
    assert months_between(datetime.fromisoformat(start), datetime.fromisoformat(end)) == months
