"""The value parsers: here, the time zones (tzinfo_of) and wall times made aware (localize)."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from siren_sync.values import localize, tzinfo_of


@pytest.mark.parametrize("name,offset", [("+02:00", timedelta(hours=2)), ("UTC-5", timedelta(hours=-5)),
                                         ("+0530", timedelta(hours=5, minutes=30)), ("-14:00", timedelta(hours=-14))])
def test_a_fixed_offset_is_a_zone(name, offset):
    assert tzinfo_of(name).utcoffset(None) == offset


def test_an_iana_name_is_a_zone():
    assert tzinfo_of("Europe/Paris") == ZoneInfo("Europe/Paris")


@pytest.mark.parametrize("name,why", [("+15:00", "out of range"), ("Mars/Olympus", "unknown timezone 'Mars/Olympus'"),
                                      ("", "unknown timezone")])
def test_anything_else_is_a_value_error(name, why):
    with pytest.raises(ValueError, match=why):
        tzinfo_of(name)


def test_a_wall_time_in_the_dst_gap_moves_forward_as_in_php():
    start = localize(datetime(2026, 3, 29, 2, 30), ZoneInfo("Europe/Paris"))
    assert (start.hour, start.minute, start.utcoffset()) == (3, 30, timedelta(hours=2))


def test_an_ordinary_wall_time_keeps_its_clock_reading():
    assert localize(datetime(2026, 7, 1, 8), ZoneInfo("Europe/Paris")) == datetime(2026, 7, 1, 8,
                                                                                   tzinfo=ZoneInfo("Europe/Paris"))
