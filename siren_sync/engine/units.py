"""Reward units: ISO 4217 currencies with their minor units, or custom units such as points.

Money is exact to a unit's minor unit (2 decimals for USD, 0 for JPY, 3 for KWD), so every rounding
and every split needs the right exponent. Custom reward units (`points`, `credits`) are whole numbers
unless the distributor's `unitDecimals` says otherwise. Currency codes are upper case, as ISO 4217
and WooCommerce write them; `points` or `Points` are custom units, never currencies.
"""
from __future__ import annotations

from decimal import Decimal

# Active ISO 4217 codes (list one, 2025) and their minor units. Codes whose minor unit is "N.A."
# (precious metals XAU/XAG/XPT/XPD, XDR, XSU, XUA, XBA-XBD, XTS, XXX) are not money a shop takes,
# so they are left out and count as custom units. A few recently withdrawn codes are kept (marked)
# because old orders and old Siren records still carry them.
_ZERO = "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF"
_THREE = "BHD IQD JOD KWD LYD OMR TND"
_FOUR = "CLF UYW"
_TWO = (
    "AED AFN ALL AMD AOA ARS AUD AWG AZN BAM BBD BDT BGN BMD BND BOB BOV BRL BSD BTN BWP BYN BZD "
    "CAD CDF CHE CHF CHW CNY COP COU CRC CUP CVE CZK DKK DOP DZD EGP ERN ETB EUR FJD FKP GBP GEL "
    "GHS GIP GMD GTQ GYD HKD HNL HTG HUF IDR ILS INR IRR JMD KES KGS KHR KPW KYD KZT LAK LBP LKR "
    "LRD LSL MAD MDL MGA MKD MMK MNT MOP MRU MUR MVR MWK MXN MXV MYR MZN NAD NGN NIO NOK NPR NZD "
    "PAB PEN PGK PHP PKR PLN QAR RON RSD RUB SAR SBD SCR SDG SEK SGD SHP SLE SOS SRD SSP STN SVC "
    "SYP SZL THB TJS TMT TOP TRY TTD TWD TZS UAH USD USN UYU UZS VED VES WST XCD XCG YER ZAR ZMW "
    "ZWG"
)
_WITHDRAWN = "ANG CUC HRK SLL ZWL"  # all 2 decimals; replaced by XCG, -, EUR, SLE, ZWG

CURRENCY_EXPONENTS: dict[str, int] = {
    **{code: 2 for code in (_TWO + " " + _WITHDRAWN).split()},
    **{code: 0 for code in _ZERO.split()},
    **{code: 3 for code in _THREE.split()},
    **{code: 4 for code in _FOUR.split()},
}

MAX_UNIT_DECIMALS = 8


def is_currency(units: str) -> bool:
    """True for an ISO 4217 code written as ISO writes it (upper case)."""
    return units in CURRENCY_EXPONENTS


def minor_unit(units: str, unit_decimals: int | None) -> tuple[int, bool]:
    """(exponent, is_currency) of `units`: how many decimals an amount in it has.

    A currency's exponent is fixed by ISO 4217, so `unit_decimals` may only repeat it; a custom unit
    has `unit_decimals` decimals, or none. Raises ValueError on a contradiction or a bad count.
    """
    if unit_decimals is not None and (isinstance(unit_decimals, bool) or not isinstance(unit_decimals, int)
                                      or not 0 <= unit_decimals <= MAX_UNIT_DECIMALS):
        raise ValueError(f"unitDecimals must be a whole number from 0 to {MAX_UNIT_DECIMALS}, "
                         f"got {unit_decimals!r}")
    if units in CURRENCY_EXPONENTS:
        exponent = CURRENCY_EXPONENTS[units]
        if unit_decimals is not None and unit_decimals != exponent:
            raise ValueError(f"{units} has {exponent} decimals (ISO 4217); unitDecimals {unit_decimals} "
                             f"contradicts it (drop unitDecimals)")
        return exponent, True
    return (unit_decimals or 0), False


def near_currency(units: str) -> str | None:
    """The ISO code `units` is one typo away from (`EURO`, `EUR0`, `ERU`, `US` -> a code), else None.

    One typo is one letter added, dropped, changed, or two neighbours swapped, whatever the case; a
    custom unit that close to a currency is far more often a misspelt currency than a reward unit.
    When several codes are that close, the first in alphabetical order is named.
    """
    upper = units.upper()
    if upper in CURRENCY_EXPONENTS:
        return upper if upper != units else None
    return next((code for code in sorted(CURRENCY_EXPONENTS) if _one_typo(upper, code)), None)


def _one_typo(a: str, b: str) -> bool:
    """True when `a` and `b` differ by one insertion, deletion, substitution or adjacent swap."""
    if abs(len(a) - len(b)) > 1:
        return False
    if len(a) == len(b):
        diff = [i for i in range(len(a)) if a[i] != b[i]]
        return len(diff) == 1 or (len(diff) == 2 and diff[1] == diff[0] + 1 and a[diff[0]] == b[diff[1]]
                                  and a[diff[1]] == b[diff[0]])
    short, long = (a, b) if len(a) < len(b) else (b, a)
    return any(long[:i] + long[i + 1:] == short for i in range(len(long)))


def decimals_of(value: Decimal) -> int:
    """How many decimals a finite Decimal is written with (`1.50` -> 2, `20` -> 0, `1E+2` -> 0)."""
    exponent = value.as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0
