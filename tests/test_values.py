"""The value parsers: time zones (tzinfo_of), wall times made aware (localize), amounts and counts
(plain and bounded), identifiers (NFC)."""
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from siren_sync.values import MAX_COUNT, coupon_code, localize, nfc, parse_count, parse_decimal, tzinfo_of


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


# -- amounts and counts: plain, bounded (issue 15) ------------------------------------------------

@pytest.mark.parametrize("text,expected", [("12.50", "12.50"), (" -5.00 ", "-5.00"), ("0", "0"), (".5", "0.5"),
                                           ("999999999999999.99999999", "999999999999999.99999999"),
                                           ("0.10000000000", "0.10000000000"), ("+3", "3")])
def test_a_plain_decimal_within_bounds_is_taken_as_written(text, expected):
    assert str(parse_decimal(text)) == expected


@pytest.mark.parametrize("value,why", [
    ("1e3", "'1e3', not a number (write it plainly, without an exponent)"),
    ("1E+30", "without an exponent"), ("NaN", "not a number"), ("Infinity", "not a number"),
    ("1_000", "'1_000', not a number"), ("", "not a number"), ("12,50", "not a number"),
    ("1" + "0" * 15, "more than 15 digits before the decimal point"),
    (10 ** 15, "more than 15 digits before the decimal point"),
    ("0.123456789", "more than 8 decimals"), (12.5, "not a decimal string"), (True, "not a decimal string"),
    (Decimal("1e20"), "more than 15 digits")])
def test_anything_else_is_refused_with_the_reason(value, why):
    with pytest.raises(ValueError, match=why.replace("(", r"\(").replace(")", r"\)").replace("+", r"\+")):
        parse_decimal(value, "total")


def test_the_unit_decimals_can_be_tighter_and_yaml_floats_are_read_through_their_repr():
    with pytest.raises(ValueError, match="more than 2 decimals"):
        parse_decimal("1.005", decimals=2)
    assert parse_decimal(12.5, floats=True) == Decimal("12.5")
    with pytest.raises(ValueError, match="more than 15 digits"):
        parse_decimal(1e20, floats=True)


@pytest.mark.parametrize("value,negative,expected", [(3, False, 3), ("7", False, 7), (" 12 ", False, 12),
                                                     (-3, True, -3), ("-3", True, -3), (MAX_COUNT, False, MAX_COUNT)])
def test_a_count_is_a_whole_number_within_bounds(value, negative, expected):
    assert parse_count(value, negative=negative) == expected


@pytest.mark.parametrize("value,negative,why", [(0, True, "is 0"), (-3, False, "from 1 to 1,000,000"),
                                                (MAX_COUNT + 1, False, "from 1 to 1,000,000"),
                                                (10 ** 32, True, "from -1,000,000 to 1,000,000 other than 0"),
                                                (2.0, False, "not a whole number"), ("1e3", False, "whole number"),
                                                (True, False, "not a whole number"), ("1_000", False, "whole")])
def test_any_other_count_is_refused(value, negative, why):
    with pytest.raises(ValueError, match=why):
        parse_count(value, negative=negative)


def test_identifiers_compare_in_nfc_and_coupon_codes_without_case():
    assert nfc("jose\u0301") == "jos\u00e9" == nfc("jos\u00e9")
    assert coupon_code("CAFE\u0301") == "caf\u00e9" == coupon_code("Caf\u00e9")
