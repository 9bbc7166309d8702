"""The documented entry point `siren_sync.schedules.modify(base, modifiers)` (DESIGN section 3): it
imports as DESIGN says and gives PHP's `DateTime::modify()` answers, surprises included, as an
aware datetime in the base's timezone. The rule itself is tested in tests/engine/test_schedules.py."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

import siren_sync.schedules
from siren_sync.errors import ConfigError
from siren_sync.schedules import modify

BERLIN = ZoneInfo("Europe/Berlin")


def test_modify_is_the_modules_one_public_name():
    assert siren_sync.schedules.__all__ == ["modify"] and callable(modify)


def test_plus_one_month_from_january_31_overflows_into_march():
    assert modify(datetime(2026, 1, 31, 9, 30, tzinfo=BERLIN), ["+1 month"]) == datetime(2026, 3, 3, 9, 30,
                                                                                          tzinfo=BERLIN)


def test_last_day_of_keeps_the_time_and_a_weekday_name_resets_it():
    base = datetime(2026, 11, 18, 15, 45, tzinfo=UTC)  # a Wednesday
    assert modify(base, ["last day of this month"]) == datetime(2026, 11, 30, 15, 45, tzinfo=UTC)
    assert modify(base, ["next monday"]) == datetime(2026, 11, 23, tzinfo=UTC)


def test_modifiers_apply_in_order_and_the_answer_stays_in_the_bases_zone():
    got = modify(datetime(2026, 3, 15, 12, tzinfo=BERLIN), ["first day of next month", "midnight"])
    assert got.isoformat() == "2026-04-01T00:00:00+02:00"  # summer time by then
    assert got.tzinfo is BERLIN


def test_a_string_php_would_refuse_is_a_config_error():
    with pytest.raises(ConfigError, match="every month"):
        modify(datetime(2026, 1, 1, tzinfo=UTC), ["every month"])
