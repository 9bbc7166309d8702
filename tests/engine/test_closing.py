"""Closing a period: revenue + carry -> pool -> standings -> allocations -> next carry."""
from decimal import Decimal

import pytest

from siren_sync.engine.closing import Closing, close
from siren_sync.model import Distributor

D = Decimal
T = "2026-11-03T10:00:00+00:00"


def distributor(**changes) -> Distributor:
    base = dict(key="bonus", name="Bonus", resolver="performanceSharedPool", units="USD", exponent=2,
                schedule=("first day of next month",), points={"boundCouponUsed": D(5), "referredSiteVisit": D(1)},
                revenue_percentage=D(10))
    return Distributor(**{**base, **changes})


def aggregate(revenue="1000.00", counts=None) -> dict:
    return {"distributor": "bonus", "start": "2026-11-01T00:00:00+00:00", "end": "2026-12-01T00:00:00+00:00",
            "revenue": revenue, "events": 3, "late": 0,
            "counts": counts if counts is not None else {
                "alice": {"boundCouponUsed": {"qty": 6, "last": T}},
                "bob": {"referredSiteVisit": {"qty": 20, "last": T}}}}


def everyone(_: str) -> bool:
    return True


def test_a_period_splits_its_pool():
    result = close(distributor(), aggregate(), {}, everyone)
    assert result.revenue == D("1000.00")
    assert result.pool == D("100.00")
    assert [(s.collaborator, s.score) for s in result.standings] == [("alice", D(30)), ("bob", D(20))]
    assert [(a.collaborator, a.amount) for a in result.allocations] == [("alice", D("60.00")), ("bob", D("40.00"))]
    assert result.unspent == 0
    assert result.next_carry == {"revenue": "0", "pool": "0.00"}


def test_carried_revenue_and_pool_add_in():
    result = close(distributor(), aggregate("1000.00"), {"revenue": "-200.00", "pool": "5.00"}, everyone)
    assert result.revenue == D("800.00")
    assert result.pool == D("85.00")
    assert sum(a.amount for a in result.allocations) == D("85.00")


def test_negative_net_is_carried_and_pays_no_new_pool():
    result = close(distributor(), aggregate("-12.00"), {}, everyone)
    assert result.revenue == D("-12.00")
    assert result.pool == 0
    assert result.allocations == []
    assert result.next_carry == {"revenue": "-12.00", "pool": "0.00"}


def test_negative_carry_is_paid_back_before_a_pool_forms():
    result = close(distributor(), aggregate("10.00"), {"revenue": "-12.00"}, everyone)
    assert result.next_carry["revenue"] == "-2.00"
    assert result.pool == 0


def test_nobody_qualifies_drops_the_pool_by_default():
    result = close(distributor(), aggregate(counts={}), {}, everyone)
    assert result.allocations == []
    assert result.unspent == D("100.00")
    assert result.next_carry == {"revenue": "0", "pool": "0.00"}


def test_nobody_qualifies_carries_the_pool_when_configured():
    result = close(distributor(carry_unspent_pool=True), aggregate(counts={}), {"pool": "7.00"}, everyone)
    assert result.unspent == D("107.00")
    assert result.next_carry == {"revenue": "0", "pool": "107.00"}


def test_carried_pool_is_spent_once_someone_qualifies():
    result = close(distributor(carry_unspent_pool=True), aggregate(), {"pool": "7.00"}, everyone)
    assert sum(a.amount for a in result.allocations) == D("107.00")
    assert result.next_carry["pool"] == "0.00"


def test_ineligible_collaborators_neither_score_nor_earn():
    result = close(distributor(resolver="topScoreWins"), aggregate(), {}, lambda c: c != "alice")
    assert [a.collaborator for a in result.allocations] == ["bob"]
    assert [s.collaborator for s in result.standings] == ["bob"]


def test_minimum_score_from_the_distributor():
    result = close(distributor(minimum_score=D(25)), aggregate(), {}, everyone)
    assert [(a.collaborator, a.amount) for a in result.allocations] == [("alice", D("100.00"))]


def test_jpy_distributor():
    result = close(distributor(units="JPY", exponent=0, resolver="sharedEngagementPool"),
                   aggregate("10005", counts={c: {"referredSiteVisit": {"qty": 1, "last": T}} for c in "abc"}),
                   {}, everyone)
    assert str(result.pool) == "1001"  # 1000.5 -> 1001
    assert [str(a.amount) for a in result.allocations] == ["334", "334", "333"]


def test_kwd_distributor():
    result = close(distributor(units="KWD", exponent=3), aggregate("12.345"), {}, everyone)
    assert str(result.pool) == "1.235"  # 1.2345 -> 1.235 (half-up)
    assert sum(a.amount for a in result.allocations) == D("1.235")


def test_points_distributor_pays_whole_points():
    points = distributor(units="points", exponent=0, is_currency=False, revenue_percentage=D(100))
    result = close(points, aggregate("99.50"), {}, everyone)
    assert str(result.pool) == "100"
    assert [(a.collaborator, str(a.amount)) for a in result.allocations] == [("alice", "60"), ("bob", "40")]
    assert result.next_carry == {"revenue": "0", "pool": "0"}


def test_missing_revenue_and_counts_are_zero():
    result = close(distributor(), {"distributor": "bonus"}, {}, everyone)
    assert (result.revenue, result.pool, result.allocations, result.standings) == (0, 0, [], [])


def test_unknown_pool_resolver_is_refused():
    with pytest.raises(ValueError):
        close(distributor(pool_resolver="fixedAmount"), aggregate(), {}, everyone)


def test_closing_is_frozen_and_repeatable():
    first = close(distributor(), aggregate(), {"revenue": "-1.00"}, everyone)
    assert isinstance(first, Closing)
    assert first == close(distributor(), aggregate(), {"revenue": "-1.00"}, everyone)
    with pytest.raises(AttributeError):
        first.pool = D(1)  # type: ignore[misc]
