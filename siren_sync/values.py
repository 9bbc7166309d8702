"""Values as they cross an edge: the one parser of each kind (decimal amounts, times, time zones).

Every external input (the config, REST payloads, imported lines, command-line arguments, the
store) is read through these, so one rule decides what an amount or a time is, wherever it comes
from. They raise `ValueError` with a short reason; the caller knows where the value was (file and
key, endpoint and record id, line number) and turns it into its own error (`ConfigError`,
`RecordError`, a bad import line). Times are written back with `iso`, the one output format.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def parse_decimal(value: Any, what: str = "value", *, floats: bool = False) -> Decimal:
    """A finite `Decimal` from a decimal string or an integer (and a float when `floats`: YAML).

    Money travels as strings in every API siren-sync reads (WooCommerce's `"12.50"`), so a float or
    a bool is refused unless asked for: a float has already lost the cents it was meant to carry.
    """
    if isinstance(value, bool) or value is None or (isinstance(value, float) and not floats):
        raise ValueError(f"{what} is {value!r}, not a decimal string")
    if type(value) is not str and not isinstance(value, (int, float, Decimal, str)):
        raise ValueError(f"{what} is {value!r}, not a number")
    try:
        amount = Decimal(value.strip() if isinstance(value, str) else str(value))
    except InvalidOperation:
        raise ValueError(f"{what} is {value!r}, not a number") from None
    if not amount.is_finite():
        raise ValueError(f"{what} is {value!r}, not a number")
    return amount


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


def iso(value: datetime) -> str:
    """The one way times are written in records and output: ISO 8601 with offset, seconds precision."""
    return value.isoformat(timespec="seconds")
