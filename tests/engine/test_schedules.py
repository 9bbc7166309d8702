"""siren_sync.engine.schedules against the real PHP interpreter (vectors recorded by
tools/php_schedule_vectors.py; CI has no PHP and only reads tests/fixtures/vectors/schedules.json)."""
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from siren_sync.engine.schedules import modify, next_triggers, validate
from siren_sync.errors import ConfigError, ScheduleError

VECTORS = json.loads((Path(__file__).parents[1] / "fixtures" / "vectors" / "schedules.json").read_text())
CASES = VECTORS["cases"]


def _id(case: dict) -> str:
    mods = " | ".join(case["modifiers"])
    return f"{case['id']}:{case['tz']}:{case['base']}:{case['grammar']}:{mods}"


def _base(case: dict) -> datetime:
    # PHP's own rendering of the base (with its offset) picks the same side of an ambiguous time
    return datetime.fromisoformat(case["base"]).astimezone(ZoneInfo(case["tz"]))


def test_vector_file_is_substantial():
    assert VECTORS["php_version"].startswith("8.")
    assert len(CASES) >= 400
    grammars = {c["grammar"] for c in CASES}
    assert grammars == {"supported", "invalid", "outside"}


@pytest.mark.parametrize("case", [c for c in CASES if c["php"] is not None
                                  and c["grammar"] == "supported"], ids=_id)
def test_modify_equals_php(case):
    for m in case["modifiers"]:
        validate(m)                      # validate() accepts what PHP accepts
    assert modify(_base(case), case["modifiers"]).isoformat() == case["php"]


@pytest.mark.parametrize("case", [c for c in CASES if c["php"] is None], ids=_id)
def test_php_errors_are_schedule_errors(case):
    with pytest.raises(ScheduleError, match="unparseable schedule"):
        modify(_base(case), case["modifiers"])
    # validate() alone spots the string PHP stops at (the others of the list are fine)
    failing = [m for m in case["modifiers"] if _raises(m)]
    assert failing, "validate() accepts every string of a list PHP rejects"


@pytest.mark.parametrize("case", [c for c in CASES if c["grammar"] == "outside"], ids=_id)
def test_outside_grammar_is_refused_not_guessed(case):
    """PHP accepts these (timezones, ISO dates, timestamps, sub-second units...); we refuse
    them rather than silently compute something else."""
    (m,) = case["modifiers"]
    with pytest.raises(ScheduleError, match="not supported"):
        validate(m)
    with pytest.raises(ScheduleError):
        modify(_base(case), [m])


def _raises(modifier: str) -> bool:
    try:
        validate(modifier)
    except ScheduleError:
        return True
    return False


# ------------------------------------------------------------------------ readable hand cases
UTC = UTC
NY = ZoneInfo("America/New_York")
BERLIN = ZoneInfo("Europe/Berlin")


def test_plus_one_month_overflows_from_january_31():
    assert modify(datetime(2023, 1, 31, 10, tzinfo=UTC), ["+1 month"]) == \
        datetime(2023, 3, 3, 10, tzinfo=UTC)
    assert modify(datetime(2024, 1, 31, 10, tzinfo=UTC), ["+1 month"]) == \
        datetime(2024, 3, 2, 10, tzinfo=UTC)                       # leap year


def test_first_and_last_day_of_keep_the_time_of_day():
    base = datetime(2024, 1, 31, 15, 45, 10, tzinfo=UTC)
    assert modify(base, ["first day of next month"]) == datetime(2024, 2, 1, 15, 45, 10, tzinfo=UTC)
    assert modify(base, ["last day of next month"]) == datetime(2024, 2, 29, 15, 45, 10, tzinfo=UTC)
    assert modify(base, ["last day of feb 2100"]) == datetime(2100, 2, 28, 15, 45, 10, tzinfo=UTC)
    assert modify(base, ["first day of next month midnight"]) == datetime(2024, 2, 1, tzinfo=UTC)


def test_weekday_names_reset_the_time_to_midnight():
    wed = datetime(2024, 6, 5, 10, 15, tzinfo=UTC)
    assert modify(wed, ["next monday"]) == datetime(2024, 6, 10, tzinfo=UTC)
    assert modify(wed, ["first monday of next month"]) == datetime(2024, 7, 1, tzinfo=UTC)
    assert modify(wed, ["monday 09:00"]) == datetime(2024, 6, 10, 9, tzinfo=UTC)
    assert modify(wed, ["09:00 monday"]) == datetime(2024, 6, 10, tzinfo=UTC)   # PHP, really
    assert modify(wed, ["+2 weekdays"]) == datetime(2024, 6, 7, 10, 15, tzinfo=UTC)
    assert modify(wed, ["+3 weekdays"]) == datetime(2024, 6, 10, 10, 15, tzinfo=UTC)


def test_dst_spring_forward_moves_nonexistent_times_forward():
    base = datetime(2024, 3, 10, 0, 0, tzinfo=NY)
    assert modify(base, ["02:30"]).isoformat() == "2024-03-10T03:30:00-04:00"
    day_before = datetime(2024, 3, 9, 10, 0, tzinfo=NY)
    assert modify(day_before, ["+1 day"]).isoformat() == "2024-03-10T10:00:00-04:00"
    # modify()'s hours are wall-clock hours in PHP 8.2, so "+24 hours" equals "+1 day"
    assert modify(day_before, ["+24 hours"]).isoformat() == "2024-03-10T10:00:00-04:00"
    assert modify(datetime(2024, 3, 31, 1, 30, tzinfo=BERLIN), ["+1 hour"]).isoformat() == \
        "2024-03-31T03:30:00+02:00"


def test_dst_fall_back_keeps_the_current_offset_for_ambiguous_times():
    edt = datetime(2024, 11, 3, 0, 30, tzinfo=NY)
    assert modify(edt, ["01:30"]).isoformat() == "2024-11-03T01:30:00-04:00"
    est = datetime(2024, 11, 3, 12, 0, tzinfo=NY)
    assert modify(est, ["01:30"]).isoformat() == "2024-11-03T01:30:00-05:00"


def test_list_applies_in_order():
    base = datetime(2024, 1, 31, 10, tzinfo=UTC)
    assert modify(base, ["first day of next month", "+14 days"]) == \
        datetime(2024, 2, 15, 10, tzinfo=UTC)
    assert modify(base, ["+1 month", "first day of next month"]) == \
        datetime(2024, 4, 1, 10, tzinfo=UTC)


def test_validate_messages():
    for bad in ("every month", "first day of nextmonth", "", "noon 10:00"):
        with pytest.raises(ScheduleError, match=r"unparseable schedule") as err:
            validate(bad)
        assert repr(bad) in str(err.value)
        assert isinstance(err.value, ConfigError)
    with pytest.raises(ScheduleError, match="not supported"):
        validate("first day of next month UTC")
    validate("Last Day Of Next Month")


def test_next_triggers_monthly():
    start = datetime(2024, 1, 31, 0, 0, tzinfo=BERLIN)
    got = next_triggers(start, ["first day of next month", "midnight"], 3)
    assert [g.isoformat() for g in got] == ["2024-02-01T00:00:00+01:00",
                                           "2024-03-01T00:00:00+01:00",
                                           "2024-04-01T00:00:00+02:00"]


def test_next_triggers_weekly_across_dst():
    got = next_triggers(datetime(2024, 3, 6, 9, 0, tzinfo=NY), ["next monday", "09:00"], 2)
    assert [g.isoformat() for g in got] == ["2024-03-11T09:00:00-04:00",
                                           "2024-03-18T09:00:00-04:00"]


@pytest.mark.parametrize("schedule", [["today"], ["midnight"], ["now"], ["first day of this month"],
                                      ["-1 day"]])
def test_next_triggers_refuses_a_schedule_that_does_not_advance(schedule):
    with pytest.raises(ScheduleError, match="does not advance"):
        next_triggers(datetime(2024, 6, 1, tzinfo=UTC), schedule, 3)


def test_modify_needs_an_aware_datetime():
    with pytest.raises(ValueError):
        modify(datetime(2024, 1, 1), ["+1 day"])
