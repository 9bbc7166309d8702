"""Splitting a pool: Siren's three distribution structures, ties, goals and exact cents."""

from datetime import UTC, datetime
from decimal import Decimal

import pytest

from siren_sync.engine.resolvers import split
from siren_sync.model import Standing
from siren_sync.values import iso

D = Decimal


def at(day: int, hour: int = 10) -> datetime:
    return datetime(2026, 11, day, hour, tzinfo=UTC)


def st(who: str, score, when: datetime | None = None) -> Standing:
    """A standing as scoring makes it: the last scoring time as the ledger's UTC text."""
    return Standing(who, D(score), iso(when) if when else None)


def amounts(allocations) -> dict:
    return {a.collaborator: a.amount for a in allocations}


def test_performance_shared_pool_matches_siren_example():
    result = split("performanceSharedPool", D("6000.00"), [st("a", 500), st("b", 300), st("c", 200)], 2)
    assert [(a.collaborator, a.amount) for a in result] == [
        ("a", D("3000.00")),
        ("b", D("1800.00")),
        ("c", D("1200.00")),
    ]
    assert all(a.note == "" for a in result)


def test_performance_weighted_alias_is_accepted():
    result = split("performanceWeightedPool", D("6000.00"), [st("a", 500), st("b", 300), st("c", 200)], 2)
    assert amounts(result)["a"] == D("3000.00")


def test_shared_engagement_pool_matches_siren_example():
    result = split("sharedEngagementPool", D("5000.00"), [st(f"c{i:02}", i + 1) for i in range(10)], 2)
    assert len(result) == 10
    assert {a.amount for a in result} == {D("500.00")}
    assert str(result[0].amount) == "500.00"


def test_shared_pool_remainder_cent_goes_to_higher_score():
    result = split("sharedEngagementPool", D("100.00"), [st("a", 1), st("b", 5), st("c", 1)], 2)
    assert [(a.collaborator, a.amount) for a in result] == [("b", D("33.34")), ("a", D("33.33")), ("c", D("33.33"))]
    assert result[0].note == "+0.01 remainder"
    assert result[1].note == ""


def test_shared_pool_remainder_cent_equal_scores_goes_to_smaller_id():
    result = split("sharedEngagementPool", D("100.00"), [st("carol", 2), st("alice", 2), st("bob", 2)], 2)
    assert [(a.collaborator, str(a.amount)) for a in result] == [
        ("alice", "33.34"),
        ("bob", "33.33"),
        ("carol", "33.33"),
    ]


def test_performance_largest_remainder_wins_the_cent():
    # exact shares: 1/6 -> 16.666.., 2/6 -> 33.333.., 3/6 -> 50.00; the cent left goes to a (.666 remainder)
    result = split("performanceSharedPool", D("100.00"), [st("a", 1), st("b", 2), st("c", 3)], 2)
    assert amounts(result) == {"c": D("50.00"), "b": D("33.33"), "a": D("16.67")}
    assert amounts(result)["a"] + amounts(result)["b"] + amounts(result)["c"] == D("100.00")


def test_zero_amounts_are_dropped_but_sum_holds():
    result = split("sharedEngagementPool", D("0.01"), [st("a", 1), st("b", 1), st("c", 1)], 2)
    assert [(a.collaborator, a.amount) for a in result] == [("a", D("0.01"))]


def test_top_score_wins_takes_the_whole_pool():
    result = split("topScoreWins", D("250.00"), [st("a", 150), st("b", 200)], 2)
    assert [(a.collaborator, a.amount, a.note) for a in result] == [("b", D("250.00"), "")]


def test_top_score_tie_goes_to_who_reached_it_first():
    standings = [st("alice", 40, at(5)), st("bob", 40, at(3)), st("carol", 10, at(1))]
    [winner] = split("topScoreWins", D("100.00"), standings, 2)
    assert winner.collaborator == "bob"
    assert winner.note == "tie at 40 with alice: reached it first (2026-11-03T10:00:00+00:00)"


def test_top_score_tie_unknown_time_sorts_last():
    [winner] = split("topScoreWins", D("100.00"), [st("alice", 40), st("bob", 40, at(9))], 2)
    assert winner.collaborator == "bob"
    assert "reached it first" in winner.note


def test_top_score_tie_same_time_goes_to_smaller_id():
    [winner] = split("topScoreWins", D("100.00"), [st("bob", 40, at(3)), st("alice", 40, at(3))], 2)
    assert winner.collaborator == "alice"
    assert winner.note == "tie at 40 with bob: reached it at the same time, smaller id"


def test_top_score_tie_without_times_goes_to_smaller_id():
    [winner] = split("topScoreWins", D("100.00"), [st("bob", D("2.50")), st("alice", D("2.5"))], 2)
    assert winner.collaborator == "alice"
    assert winner.note.startswith("tie at 2.5 with bob: smaller id")


def test_minimum_score_is_a_goal():
    standings = [st("a", 500), st("b", 300), st("c", 200)]
    result = split("performanceSharedPool", D("800.00"), standings, 2, minimum_score=D(300))
    assert amounts(result) == {"a": D("500.00"), "b": D("300.00")}


def test_zero_and_negative_scores_never_qualify():
    result = split("sharedEngagementPool", D("10.00"), [st("a", 0), st("b", -5), st("c", 1)], 2)
    assert amounts(result) == {"c": D("10.00")}


@pytest.mark.parametrize("resolver", ["topScoreWins", "performanceSharedPool", "sharedEngagementPool"])
def test_zero_pool_gives_nothing(resolver):
    assert split(resolver, D("0.00"), [st("a", 5)], 2) == []


@pytest.mark.parametrize("resolver", ["topScoreWins", "performanceSharedPool", "sharedEngagementPool"])
def test_nobody_qualifies_gives_nothing(resolver):
    assert split(resolver, D("10.00"), [st("a", 0)], 2) == []
    assert split(resolver, D("10.00"), [], 2) == []
    assert split(resolver, D("10.00"), [st("a", 5)], 2, minimum_score=D(6)) == []


def test_jpy_exponent_zero():
    result = split("sharedEngagementPool", D("1000"), [st("a", 1), st("b", 1), st("c", 1)], 0)
    assert [(a.collaborator, str(a.amount), a.note) for a in result] == [
        ("a", "334", "+1 remainder"),
        ("b", "333", ""),
        ("c", "333", ""),
    ]


def test_kwd_exponent_three():
    result = split("performanceSharedPool", D("10.000"), [st("a", 2), st("b", 1)], 3)
    assert [(a.collaborator, str(a.amount), a.note) for a in result] == [
        ("a", "6.667", "+0.001 remainder"),
        ("b", "3.333", ""),
    ]


def test_points_units_whole_numbers():
    result = split("performanceSharedPool", D("7"), [st("a", 1), st("b", 1)], 0)
    assert sorted(str(a.amount) for a in result) == ["3", "4"]


def test_results_sorted_by_amount_then_id():
    result = split("performanceSharedPool", D("30.00"), [st("z", 2), st("b", 1), st("a", 1)], 2)
    assert [a.collaborator for a in result] == ["z", "a", "b"]


def test_pool_finer_than_unit_is_refused():
    with pytest.raises(ValueError):
        split("topScoreWins", D("1.005"), [st("a", 1)], 2)


def test_unknown_resolver_is_refused():
    with pytest.raises(ValueError):
        split("winnerTakesAll", D("1.00"), [st("a", 1)], 2)
