"""A distributor's periods (siren_sync/engine/periods.py): half-open `[start, end)` intervals chained
by the schedule in the site timezone, an event placed by its instant whatever zone it is written in,
DST handled like PHP, and the trigger preview `check` prints."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from siren_sync.engine import periods
from siren_sync.engine.periods import Calendar
from siren_sync.errors import ScheduleError

NY = ZoneInfo("America/New_York")
TOKYO = ZoneInfo("Asia/Tokyo")
MONTHLY = ["first day of next month", "midnight"]
NOV, DEC, JAN = (datetime(2026, 11, 1, tzinfo=NY), datetime(2026, 12, 1, tzinfo=NY), datetime(2027, 1, 1, tzinfo=NY))
TICK = timedelta(microseconds=1)


@pytest.fixture
def monthly() -> Calendar:
    return Calendar(NOV, MONTHLY, NY)


def test_a_period_holds_its_start(monthly):
    assert monthly.period_containing(NOV) == (NOV, DEC)


def test_a_period_does_not_hold_its_end_the_next_one_does(monthly):
    assert monthly.period_containing(DEC - TICK) == (NOV, DEC)
    assert monthly.period_containing(DEC) == (DEC, JAN)


def test_before_the_first_start_there_is_no_period(monthly):
    assert monthly.period_containing(NOV - TICK) is None


def test_an_instant_written_in_another_zone_is_placed_by_the_instant(monthly):
    last_new_york_evening = datetime(2026, 12, 1, 13, 30, tzinfo=TOKYO)  # 2026-11-30 23:30 in New York
    assert monthly.period_containing(last_new_york_evening) == (NOV, DEC)
    assert monthly.period_containing(datetime(2026, 12, 1, 5, tzinfo=UTC)) == (DEC, JAN)  # midnight, New York


def test_periods_are_in_the_site_timezone_whatever_the_first_start_was_written_in():
    calendar = Calendar(NOV.astimezone(UTC), MONTHLY, NY)
    assert calendar.first_start == NOV and calendar.first_start.tzinfo is NY
    start, end = calendar.period_containing(datetime(2026, 11, 20, tzinfo=UTC))
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01T00:00:00-04:00", "2026-12-01T00:00:00-05:00")


def test_a_period_far_ahead_is_reached_by_chaining_every_period_before_it(monthly):
    start, end = monthly.period_containing(datetime(2031, 6, 15, tzinfo=NY))
    assert (start, end) == (datetime(2031, 6, 1, tzinfo=NY), datetime(2031, 7, 1, tzinfo=NY))


def test_asking_again_after_another_period_gives_the_right_one(monthly):
    """The last period found is remembered; it must never answer for a moment outside it."""
    middle = datetime(2026, 11, 15, tzinfo=NY)
    assert monthly.period_containing(middle) == (NOV, DEC)
    assert monthly.period_containing(DEC) == (DEC, JAN)
    assert monthly.period_containing(NOV - TICK) is None
    assert monthly.period_containing(middle) == (NOV, DEC)


def test_the_period_ending_at_the_fall_back_is_an_hour_longer():
    """2026-11-01: New York leaves DST; the week's midnight-to-midnight period lasts 7 days and 1 hour."""
    weekly = Calendar(datetime(2026, 10, 25, tzinfo=NY), ["+1 week"], NY)
    start, end = weekly.period_containing(datetime(2026, 11, 8, 4, 30, tzinfo=UTC))  # Nov 7, 23:30 EST
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01T00:00:00-04:00", "2026-11-08T00:00:00-05:00")
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(days=7, hours=1)


def test_a_trigger_in_the_spring_forward_gap_moves_forward_like_php():
    daily = Calendar(datetime(2027, 3, 13, 2, 30, tzinfo=NY), ["+1 day"], NY)
    assert daily.end_of(daily.first_start).isoformat() == "2027-03-14T03:30:00-04:00"  # 02:30 does not exist
    start, end = daily.period_containing(datetime(2027, 3, 14, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert (start.isoformat(), end.isoformat()) == ("2027-03-13T02:30:00-05:00", "2027-03-14T03:30:00-04:00")


def test_the_schedule_applies_its_modifiers_in_order():
    """The 15th of each month at noon: the trigger is both modifiers, applied to the start in turn."""
    calendar = Calendar(datetime(2026, 11, 15, 12, tzinfo=NY), ["first day of next month", "+14 days"], NY)
    assert calendar.end_of(calendar.first_start) == datetime(2026, 12, 15, 12, tzinfo=NY)


def test_next_triggers_are_the_ends_strictly_after(monthly):
    assert monthly.next_triggers(datetime(2026, 11, 20, tzinfo=NY), 3) == [
        DEC, JAN, datetime(2027, 2, 1, tzinfo=NY)]


def test_next_triggers_at_a_trigger_start_with_the_one_after_it(monthly):
    assert monthly.next_triggers(DEC, 2) == [JAN, datetime(2027, 2, 1, tzinfo=NY)]


def test_next_triggers_before_the_first_start_begin_with_the_first_period(monthly):
    assert monthly.next_triggers(datetime(2026, 6, 1, tzinfo=UTC), 2) == [DEC, JAN]


def test_next_triggers_across_dst_keep_the_wall_time():
    weekly = Calendar(datetime(2026, 10, 25, 9, tzinfo=NY), ["+1 week"], NY)
    triggers = weekly.next_triggers(datetime(2026, 10, 26, tzinfo=UTC), 3)
    assert [t.isoformat() for t in triggers] == ["2026-11-01T09:00:00-05:00", "2026-11-08T09:00:00-05:00",
                                                 "2026-11-15T09:00:00-05:00"]


def test_a_schedule_that_does_not_advance_is_a_schedule_error():
    stuck = Calendar(NOV, ["midnight"], NY)
    with pytest.raises(ScheduleError, match="does not advance"):
        stuck.period_containing(DEC)


def test_too_many_periods_before_a_moment_is_a_schedule_error(monkeypatch):
    monkeypatch.setattr(periods, "MAX_PERIODS", 10)
    hourly = Calendar(NOV, ["+1 hour"], NY)
    assert hourly.period_containing(NOV + timedelta(hours=5))[0] == NOV + timedelta(hours=5)
    with pytest.raises(ScheduleError, match="more than 10 periods"):
        hourly.period_containing(NOV + timedelta(days=1))


def test_a_first_start_without_a_timezone_is_refused():
    with pytest.raises(ValueError, match="timezone-aware"):
        Calendar(datetime(2026, 11, 1), MONTHLY, NY)
