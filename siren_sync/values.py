"""Values as they cross an edge: the one parser of each kind (decimal amounts, times).

Every external input (the config, REST payloads, imported lines, command-line arguments, the
store) is read through these, so one rule decides what an amount or a time is, wherever it comes
from. They raise `ValueError` with a short reason; the caller knows where the value was (file and
key, endpoint and record id, line number) and turns it into its own error (`ConfigError`,
`RecordError`, a bad import line). Times are written back with `iso`, the one output format.
"""
from __future__ import annotations

from datetime import UTC, datetime, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any


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


def as_utc(value: datetime) -> datetime:
    """`value` in UTC; events mostly are already, and then no conversion is made (a hot path)."""
    return value if value.tzinfo is UTC else value.astimezone(UTC)


def iso(value: datetime) -> str:
    """The one way times are written in records and output: ISO 8601 with offset, seconds precision."""
    return value.isoformat(timespec="seconds")
