"""Values as they cross an edge: the one parser of each kind (decimal amounts, times, time zones).

Every external input (the config, REST payloads, imported lines, command-line arguments, the
store) is read through these, so one rule decides what an amount or a time is, wherever it comes
from. They raise `ValueError` with a short reason; the caller knows where the value was (file and
key, endpoint and record id, line number) and turns it into its own error (`ConfigError`,
`RecordError`, a bad import line). Times are written back with `iso`, the one output format.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Context, Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# Bounds of every amount and count that enters (DESIGN: money is exact; issue 15). An amount has
# at most 15 digits before the decimal point (a quadrillion: beyond any order, pool or points value
# a site has, and still an exact double for tools that read JSON numbers as floats) and at most 8
# after it (the most a reward unit has: `unitDecimals` <= 8; ISO 4217 currencies have 4 at most).
# Such values and their sums stay exact in `WIDE` below. A count (a quantity of one event, a
# `credit --count`) is a whole number of at most a million: one event is one engagement or one
# order line, and a million of anything in one line is a typo.
MAX_INTEGER_DIGITS = 15
MAX_DECIMALS = 8
MAX_COUNT = 1_000_000
# Decimal arithmetic on bounded values (closing a period): wide enough that a billion of them, or
# their products by points, are exact; the default context rounds past 28 digits without a word.
WIDE = Context(prec=60)

_PLAIN = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)")
# A plain decimal within MAX_INTEGER_DIGITS, its significant decimals (trailing zeros aside) captured.
_BOUNDED = re.compile(r"\s*[+-]?0*\d{0,15}(?:\.(\d*?)0*)?\s*")
_WHOLE = re.compile(r"[+-]?\d+")


class OutOfBounds(ValueError):
    """A number, but beyond what siren-sync takes (see MAX_INTEGER_DIGITS, MAX_DECIMALS, MAX_COUNT)."""


def parse_decimal(value: Any, what: str = "value", *, floats: bool = False,
                  decimals: int = MAX_DECIMALS) -> Decimal:
    """A bounded `Decimal` from a plain decimal string or an integer (and a float when `floats`: YAML).

    Money travels as strings in every API siren-sync reads (WooCommerce's `"12.50"`), so a float or
    a bool is refused unless asked for: a float has already lost the cents it was meant to carry.
    Text is a plain decimal (`-12.50`, `1000`): `"1e3"`, `"NaN"` or `"1_000"` are refused, since no
    money field writes them and `Decimal` would take each for something else. See `bounded`.
    """
    if isinstance(value, bool) or value is None or (isinstance(value, float) and not floats):
        raise ValueError(f"{what} is {value!r}, not a decimal string")
    if isinstance(value, str):
        fast = _BOUNDED.fullmatch(value)  # the usual case, "12.50": one match decides it all
        if fast is not None and len(fast.group(1) or "") <= decimals:
            try:
                return Decimal(value)
            except InvalidOperation:
                pass  # "" or ".": said below
        return _refused(value, what, decimals)
    if not isinstance(value, (int, float, Decimal)):
        raise ValueError(f"{what} is {value!r}, not a number")
    try:
        amount = Decimal(value if isinstance(value, (int, Decimal)) else repr(value))
    except InvalidOperation:
        raise ValueError(f"{what} is {value!r}, not a number") from None
    return bounded(amount, what, decimals, value)


def _refused(value: str, what: str, decimals: int) -> Decimal:
    """Why the text `value` is not a bounded plain decimal (the slow path: it raises)."""
    text = value.strip()
    if not _PLAIN.fullmatch(text):
        hint = " (write it plainly, without an exponent)" if _looks_scientific(text) else ""
        raise ValueError(f"{what} is {value!r}, not a number{hint}")
    return bounded(Decimal(text), what, decimals, value)


def _looks_scientific(text: str) -> bool:
    try:
        return "e" in text.lower() and Decimal(text).is_finite()
    except InvalidOperation:
        return False


def bounded(amount: Decimal, what: str = "value", decimals: int = MAX_DECIMALS, shown: Any = None) -> Decimal:
    """`amount` when it is within the bounds (`MAX_INTEGER_DIGITS`, `decimals`), else ValueError."""
    shown = amount if shown is None else shown
    if not amount.is_finite():
        raise ValueError(f"{what} is {shown!r}, not a number")
    if amount and amount.adjusted() >= MAX_INTEGER_DIGITS:
        raise OutOfBounds(f"{what} is {shown!r}: more than {MAX_INTEGER_DIGITS} digits before the decimal point")
    exponent = amount.normalize().as_tuple().exponent
    if isinstance(exponent, int) and -exponent > decimals:
        raise OutOfBounds(f"{what} is {shown!r}: more than {decimals} decimals")
    return amount


def parse_count(value: Any, what: str = "count", *, negative: bool = False) -> int:
    """A count: a whole number from 1 to `MAX_COUNT` (from -MAX_COUNT with `negative`, never 0).

    Taken from an int or from plain digits (a command-line argument); `5.0`, `"1e3"`, `true` are
    refused, so a count is never a float that lost its last digits.
    """
    if isinstance(value, str) and _WHOLE.fullmatch(value.strip()):
        value = int(value.strip())
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f"{what} is {value!r}, not a whole number")
    if value == 0 or abs(value) > MAX_COUNT or (value < 0 and not negative):
        low = -MAX_COUNT if negative else 1
        raise ValueError(f"{what} is {value}: expected a whole number from {low:,} to {MAX_COUNT:,}"
                         + (" other than 0" if negative else ""))
    return value


def nfc(text: str) -> str:
    """`text` in Unicode NFC: an id or a code typed with a combining accent (`e` + U+0301) is the
    same as the one typed precomposed (`é`); every identifier is compared in this form."""
    if text.isascii() or unicodedata.is_normalized("NFC", text):
        return text
    return unicodedata.normalize("NFC", text)


def coupon_code(code: str) -> str:
    """A coupon code as it is compared: Unicode NFC, lower case (WooCommerce lowercases codes)."""
    return nfc(code).lower()


def parse_time(value: Any, *, naive: tzinfo | None = None) -> datetime:
    """An ISO 8601 time (`Z`, an offset, a `T` or a space between date and time) as an aware datetime.

    A time without an offset is refused unless `naive` says which zone it is in: WooCommerce's
    `*_gmt` fields are UTC, WordPress's other dates are site-local time.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValueError(f"{value!r} is not a time")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an ISO 8601 time") from None
    if parsed.tzinfo is not None:
        return parsed
    if naive is None:
        raise ValueError(f"time {value!r} has no UTC offset")
    return parsed.replace(tzinfo=naive)


def tzinfo_of(name: str) -> tzinfo:
    """An IANA zone or a fixed `+HH:MM` offset; ValueError for anything else.

    WordPress sites set to "UTC+2" have no IANA name, only an offset, so both spellings are zones.
    """
    match = re.fullmatch(r"(?:UTC)?([+-])(\d{1,2})(?::?(\d{2}))?", name.strip())
    if match:
        sign, hours, minutes = match.groups()
        offset = timedelta(hours=int(hours), minutes=int(minutes or 0))
        if offset > timedelta(hours=14):
            raise ValueError(f"offset {name!r} is out of range")
        return timezone(-offset if sign == "-" else offset)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ValueError(f"unknown timezone {name!r} (an IANA name such as 'Europe/Paris', or +HH:MM)") from None


def localize(wall: datetime, tz: tzinfo) -> datetime:
    """A naive wall time in `tz`, aware; a time skipped by DST moves forward by the gap, as in PHP.

    PHP's DateTime does this for a wall time that does not exist, and schedules follow PHP, so a
    `startsAt` in a spring-forward gap starts where PHP would start it.
    """
    return wall.replace(tzinfo=tz).astimezone(UTC).astimezone(tz)


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; events mostly are already, and then no conversion is made (a hot path)."""
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def iso(value: datetime, tz: tzinfo | None = None) -> str:
    """The one way times are written in records and output: ISO 8601 with offset, seconds precision.

    With `tz` (the site's timezone), the time is written there: what a user reads. The store keeps
    program rewards' times in UTC and distributions' in the site's offset, so text output converts
    each with the site's `tz` and every time a command prints reads alike.
    """
    return (value if tz is None else value.astimezone(tz)).isoformat(timespec="seconds")


def iso_in(text: str, tz: tzinfo) -> str:
    """A stored time's text (ISO 8601) written in `tz` for a user to read (`iso` with the site's
    timezone). One that does not read as a time (a store edited by hand) is shown as it is stored:
    showing a record never fails on it."""
    try:
        return iso(parse_time(text), tz)
    except ValueError:
        return text
