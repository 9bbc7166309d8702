"""Scores from a period aggregate's counts: points x net quantity, listed types only."""
from datetime import UTC, datetime
from decimal import Decimal

from siren_sync.engine.scoring import event_points, standings
from siren_sync.model import Event, Standing

D = Decimal
POINTS = {"referredSiteVisit": D(1), "collaboratorProductSold": D(10), "manual": D("0.5")}


def everyone(_: str) -> bool:
    return True


def test_siren_example_twenty_sales_beat_150_visits():
    counts = {"alice": {"collaboratorProductSold": {"qty": 20, "last": "2026-11-20T09:00:00+00:00"}},
              "bob": {"referredSiteVisit": {"qty": 150, "last": "2026-11-21T09:00:00+00:00"}}}
    assert standings(counts, POINTS, everyone) == [
        Standing("alice", D(200), "2026-11-20T09:00:00+00:00"),
        Standing("bob", D(150), "2026-11-21T09:00:00+00:00")]


def test_score_sums_listed_types_and_ignores_unlisted():
    counts = {"alice": {"referredSiteVisit": {"qty": 3, "last": "2026-11-01T00:00:00Z"},
                        "manual": {"qty": 3, "last": "2026-11-02T00:00:00Z"},
                        "courseCompleted": {"qty": 99, "last": "2026-11-30T00:00:00Z"}}}
    [alice] = standings(counts, POINTS, everyone)
    assert alice.score == D("4.5")
    assert alice.last_scored_at == "2026-11-02T00:00:00Z"  # unlisted type's time ignored


def test_only_unlisted_types_gives_no_standing():
    counts = {"alice": {"courseCompleted": {"qty": 2, "last": "2026-11-01T00:00:00Z"}}}
    assert standings(counts, POINTS, everyone) == []


def test_reversals_net_out_and_negative_scores_are_kept_raw():
    counts = {"alice": {"collaboratorProductSold": {"qty": -1, "last": "2026-11-01T00:00:00Z"}},
              "bob": {"collaboratorProductSold": {"qty": 0, "last": "2026-11-01T00:00:00Z"}}}
    [alice] = standings(counts, POINTS, everyone)
    assert alice.score == D(-10)  # shown, but does not qualify in the split


def test_ineligible_collaborators_are_left_out():
    counts = {"alice": {"manual": {"qty": 2, "last": "2026-11-01T00:00:00Z"}},
              "zed": {"manual": {"qty": 8, "last": "2026-11-01T00:00:00Z"}}}
    assert [s.collaborator for s in standings(counts, POINTS, lambda c: c != "zed")] == ["alice"]


def test_last_scored_ignores_zero_point_types_and_missing_times():
    points = {"referredSiteVisit": D(1), "manual": D(0)}
    counts = {"alice": {"referredSiteVisit": {"qty": 1, "last": "2026-10-31T23:00:00+00:00"},
                        "manual": {"qty": 5, "last": "2026-11-30T00:00:00Z"}},
              "bob": {"referredSiteVisit": {"qty": 1}}}
    result = {s.collaborator: s for s in standings(counts, points, everyone)}
    assert result["alice"].last_scored_at == "2026-10-31T23:00:00+00:00"
    assert result["bob"].last_scored_at is None


def test_sorted_by_score_then_id():
    counts = {c: {"referredSiteVisit": {"qty": q, "last": "2026-11-01T00:00:00Z"}}
              for c, q in (("carol", 2), ("bob", 5), ("alice", 2))}
    assert [s.collaborator for s in standings(counts, POINTS, everyone)] == ["bob", "alice", "carol"]


def test_event_points_is_points_times_signed_quantity():
    at = datetime(2026, 11, 1, tzinfo=UTC)
    assert event_points(Event("k1", "collaboratorProductSold", at, "alice", quantity=2), POINTS) == D(20)
    assert event_points(Event("k2", "collaboratorProductSold", at, "alice", quantity=-2), POINTS) == D(-20)
    assert event_points(Event("k3", "courseCompleted", at, "alice"), POINTS) == 0
    assert event_points(Event("k4", "sale", at, revenue=D(5)), POINTS) == 0
