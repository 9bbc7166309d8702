"""Minor units: every rounding and split depends on them, so the table and the rules are pinned here."""
import re

import pytest

from siren_sync.engine.units import CURRENCY_EXPONENTS, is_currency, minor_unit, near_currency


@pytest.mark.parametrize("code,exponent", [
    ("USD", 2), ("EUR", 2), ("GBP", 2), ("HUF", 2), ("IDR", 2), ("XCG", 2), ("ZWG", 2),
    ("JPY", 0), ("KRW", 0), ("CLP", 0), ("ISK", 0), ("VND", 0), ("XAF", 0), ("XOF", 0), ("UGX", 0),
    ("PYG", 0), ("XPF", 0), ("BIF", 0), ("VUV", 0),
    ("KWD", 3), ("BHD", 3), ("JOD", 3), ("OMR", 3), ("TND", 3), ("LYD", 3), ("IQD", 3),
    ("CLF", 4), ("UYW", 4),
])
def test_currencies_have_their_iso_minor_unit(code, exponent):
    assert minor_unit(code, None) == (exponent, True)


def test_table_holds_only_upper_case_three_letter_codes():
    assert len(CURRENCY_EXPONENTS) > 150
    assert all(re.fullmatch(r"[A-Z]{3}", code) for code in CURRENCY_EXPONENTS)
    assert set(CURRENCY_EXPONENTS.values()) == {0, 2, 3, 4}


def test_non_money_iso_codes_are_custom_units():
    """Gold or SDRs have no minor unit in ISO 4217; no shop takes them."""
    assert minor_unit("XAU", None) == (0, False)


@pytest.mark.parametrize("units,decimals,expected", [
    ("points", None, (0, False)), ("credits", 2, (2, False)), ("Points", 0, (0, False)),
])
def test_custom_units_use_unit_decimals_or_zero(units, decimals, expected):
    assert minor_unit(units, decimals) == expected


def test_unit_decimals_may_repeat_a_currency_exponent():
    assert minor_unit("JPY", 0) == (0, True)


def test_unit_decimals_contradicting_a_currency_is_an_error():
    with pytest.raises(ValueError, match="USD has 2 decimals"):
        minor_unit("USD", 0)


@pytest.mark.parametrize("bad", [-1, 9, True, 1.5])
def test_unit_decimals_must_be_a_small_whole_number(bad):
    with pytest.raises(ValueError, match="unitDecimals"):
        minor_unit("points", bad)


def test_codes_are_upper_case():
    assert not is_currency("usd")
    assert minor_unit("usd", None) == (0, False)
    assert near_currency("usd") == "USD"
    assert near_currency("points") is None
    assert near_currency("USD") is None


@pytest.mark.parametrize("units,meant", [("EURO", "EUR"), ("Euro", "EUR"), ("EUR0", "EUR"), ("GPB", "GBP"),
                                         ("US", "USD"), ("USDD", "USD"), ("credits", None), ("Points", None),
                                         ("kudos", None)])
def test_a_unit_one_typo_from_a_currency_names_it(units, meant):
    assert near_currency(units) == meant
