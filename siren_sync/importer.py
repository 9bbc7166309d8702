"""Events from outside: JSON Lines imports and manual credits, validated at the edge.

An imported line is `{"key", "type", "collaborator", "at", "quantity"}`, or a `sale` with a signed
`"revenue"` (negative for a refund) and optionally `"currency"` and `"lines"` so line item filters
can apply. A bad line is reported with its line number and skipped; the good ones are kept.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from datetime import datetime
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Any

from siren_sync.model import ENGAGEMENT_TYPES, EVENT_TYPES, SALE, Collaborator, Event, Line, OrderValue
from siren_sync.values import parse_time

KNOWN_FIELDS = {"key", "type", "collaborator", "at", "quantity", "revenue", "currency", "lines"}


class BadLine(ValueError):
    """One import line that cannot be recorded; the message says why."""


def parse_line(text: str, collaborators: Mapping[str, Collaborator]) -> Event:
    """One JSON Lines record as an Event, or BadLine with the reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg})") from None
    if not isinstance(raw, dict):
        raise BadLine("not a JSON object")
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        raise BadLine(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(KNOWN_FIELDS))})")
    for name in ("key", "type", "at"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise BadLine(f"missing {name!r}")
    if raw["type"] not in EVENT_TYPES:
        raise BadLine(f"unknown type {raw['type']!r} (valid: {', '.join(EVENT_TYPES)})")
    try:
        at = parse_time(raw["at"])
    except ValueError as exc:
        raise BadLine(f"bad 'at': {exc}") from None
    if raw["type"] == SALE:
        return _sale(raw, at)
    return _engagement(raw, at, collaborators)


def _engagement(raw: dict[str, Any], at: datetime, collaborators: Mapping[str, Collaborator]) -> Event:
    who = raw.get("collaborator")
    if who not in collaborators:
        raise BadLine(f"unknown collaborator {who!r}")
    quantity = raw.get("quantity", 1)
    if not isinstance(quantity, int) or isinstance(quantity, bool):
        raise BadLine("'quantity' must be a whole number")
    return Event(key=raw["key"], type=raw["type"], at=at, collaborator=who, quantity=quantity, source="import")


def _money(raw: dict[str, Any], name: str) -> Decimal:
    value = raw.get(name)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise BadLine(f"{name!r} must be a decimal string like \"120.00\"")
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        raise BadLine(f"{name!r} is not a number: {value!r}") from None
    if not amount.is_finite():
        raise BadLine(f"{name!r} is not a number: {value!r}")
    return amount


def _sale(raw: dict[str, Any], at: datetime) -> Event:
    revenue = _money(raw, "revenue")
    if "lines" not in raw:
        return Event(key=raw["key"], type=SALE, at=at, revenue=revenue, source="import")
    currency = raw.get("currency")
    if not isinstance(currency, str) or not currency:
        raise BadLine("'currency' is required with 'lines'")
    lines = _lines(raw["lines"])
    total = abs(revenue)
    discount = max(sum((line.subtotal for line in lines), Decimal(0)) - total, Decimal(0))
    order = OrderValue(currency=currency.upper(), total=total, lines=lines, discount_total=discount)
    return Event(key=raw["key"], type=SALE, at=at, order=order, share=Fraction(-1 if revenue < 0 else 1),
                 source="import")


def _lines(raw_lines: Any) -> tuple[Line, ...]:
    if not isinstance(raw_lines, list):
        raise BadLine("'lines' must be a list")
    lines = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise BadLine(f"lines[{i}] must be an object")
        try:
            lines.append(Line(id=str(raw.get("id", i)), subtotal=_money(raw, "subtotal"),
                              quantity=int(raw.get("quantity", 1)),
                              product_id=None if raw.get("product_id") is None else int(raw["product_id"]),
                              sku=str(raw.get("sku") or ""),
                              categories=tuple(int(c) for c in raw.get("categories") or ())))
        except (TypeError, ValueError) as exc:
            raise BadLine(f"lines[{i}]: {exc}") from None
    return tuple(lines)


def read_lines(lines: Iterable[str],
               collaborators: Mapping[str, Collaborator]) -> tuple[list[Event], list[tuple[int, str]]]:
    """Good events and (line number, reason) for the bad ones; blank lines are skipped."""
    events, errors = [], []
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            events.append(parse_line(text, collaborators))
        except BadLine as exc:
            errors.append((number, str(exc)))
    return events, errors


def manual_credit(collaborator: str, event_type: str, count: int, at: datetime, nonce: str) -> Event:
    """`siren-sync credit`: Siren's manual engagement; the key includes a nonce so credits add up."""
    if event_type not in ENGAGEMENT_TYPES:
        raise BadLine(f"unknown type {event_type!r} (valid: {', '.join(ENGAGEMENT_TYPES)})")
    return Event(key=f"manual:{event_type}:{collaborator}:{nonce}", type=event_type, at=at,
                 collaborator=collaborator, quantity=count, source="manual")
