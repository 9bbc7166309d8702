"""Events from outside: JSON Lines imports and manual credits, validated at the edge.

An imported line is `{"key", "type", "collaborator", "at", "quantity"}`, or a `sale` with a signed
`"revenue"` (negative for a refund) and optionally `"currency"` and `"lines"` so line item filters
can apply, and `"collaborator"` for a sale closed by one (a `manual` engagement of programs), or a
`lead` (`{"type": "lead", "collaborator", "at", "key"}`, the conversion of `conversion: lead`
programs). A negative `quantity` is a correction and says so (`"correction": true`), as `credit
--correction` does. Amounts and counts are bounded (`values.parse_decimal`, `values.parse_count`).

Every line of the file is accounted for, once: new, already recorded (the same event is stored, or
is on an earlier line), conflicting (its key is stored, or on an earlier line, with other values:
nothing is overwritten) or bad (with the reason). A bad line, undecodable bytes included, never
stops the others. A file from a spreadsheet or a Windows tool (a byte-order mark, CRLF line ends)
imports as it is.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from siren_sync.ledger import Ledger, event_problem
from siren_sync.model import ENGAGEMENT_TYPES, EVENT_TYPES, LEAD, SALE, Collaborator, Event, Line, OrderValue, Record
from siren_sync.values import nfc, parse_count, parse_decimal, parse_time

KNOWN_FIELDS = {"key", "type", "collaborator", "at", "quantity", "correction", "revenue", "currency", "lines"}
_BOM = b"\xef\xbb\xbf"
# What two records of one key are compared on: what the event is, not who recorded it or when.
_COMPARED = ("type", "at", "collaborator", "quantity", "revenue", "order", "share")


class BadLine(ValueError):
    """One import line that cannot be recorded; the message says why."""


def decode(raw: bytes, first: bool) -> str:
    """One line's text: UTF-8, without its line end (LF or CRLF) or, on the first, a byte-order mark."""
    if first and raw.startswith(_BOM):
        raw = raw[len(_BOM):]
    try:
        return raw.decode("utf-8").rstrip("\r\n")
    except UnicodeDecodeError as exc:
        raise BadLine(f"not UTF-8 text (byte 0x{raw[exc.start]:02x} at column {exc.start + 1})") from None


def parse_line(text: str, collaborators: Mapping[str, Collaborator]) -> Event:
    """One JSON Lines record as an Event, or BadLine with the reason."""
    try:
        raw = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadLine(f"not JSON ({exc.msg})") from None
    except RecursionError:
        raise BadLine("not JSON (nested too deeply)") from None
    if not isinstance(raw, dict):
        raise BadLine("not a JSON object")
    unknown = sorted(set(raw) - KNOWN_FIELDS)
    if unknown:
        raise BadLine(f"unknown field {unknown[0]!r} (known: {', '.join(sorted(KNOWN_FIELDS))})")
    for name in ("key", "type", "at"):
        if not isinstance(raw.get(name), str) or not raw[name]:
            raise BadLine(f"missing {name!r}")
    if raw["type"] not in EVENT_TYPES and raw["type"] != LEAD:
        raise BadLine(f"unknown type {raw['type']!r} (valid: {', '.join((*EVENT_TYPES, LEAD))})")
    try:
        at = parse_time(raw["at"])
    except ValueError as exc:
        raise BadLine(f"bad 'at': {exc}") from None
    if raw["type"] == SALE:
        return _sale(raw, at, collaborators)
    return _engagement(raw, at, collaborators)


def _collaborator(raw: dict[str, Any], collaborators: Mapping[str, Collaborator]) -> str:
    who = raw.get("collaborator")
    who = nfc(who) if isinstance(who, str) else who
    if who not in collaborators:
        raise BadLine(f"unknown collaborator {who!r}")
    return str(who)


def _engagement(raw: dict[str, Any], at: datetime, collaborators: Mapping[str, Collaborator]) -> Event:
    who = _collaborator(raw, collaborators)
    correction = raw.get("correction", False)
    if not isinstance(correction, bool):
        raise BadLine("'correction' must be true or false")
    quantity = _whole(raw.get("quantity", 1), "'quantity'", negative=correction)
    if correction and quantity > 0:
        raise BadLine("a correction takes away: its 'quantity' is negative")
    return Event(key=raw["key"], type=raw["type"], at=at, collaborator=who, quantity=quantity, source="import")


def _whole(value: Any, what: str, negative: bool = False) -> int:
    try:
        return parse_count(value, what, negative=negative)
    except ValueError as exc:
        hint = " (a correction says so: \"correction\": true)" if isinstance(value, int) and value < 0 else ""
        raise BadLine(f"{exc}{hint}") from None


def _money(raw: Mapping[str, Any], name: str) -> Decimal:
    value = raw.get(name)
    if not isinstance(value, (str, int)) or isinstance(value, bool):
        raise BadLine(f"{name!r} must be a decimal string like \"120.00\"")
    try:
        return parse_decimal(value, repr(name))
    except ValueError as exc:
        raise BadLine(str(exc)) from None


def _sale(raw: dict[str, Any], at: datetime, collaborators: Mapping[str, Collaborator]) -> Event:
    if "correction" in raw or "quantity" in raw:
        field_name = next(f for f in ("quantity", "correction") if f in raw)
        raise BadLine(f"{field_name!r} is not a field of a sale (a refund is a negative 'revenue')")
    who = _collaborator(raw, collaborators) if "collaborator" in raw else None
    revenue = _money(raw, "revenue")
    if who is not None and revenue < 0:
        raise BadLine("a sale naming a collaborator is a conversion: its 'revenue' is not negative")
    if "lines" not in raw:
        return Event(key=raw["key"], type=SALE, at=at, revenue=revenue, source="import", collaborator=who)
    currency = raw.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise BadLine("'currency' is required with 'lines'")
    lines = _lines(raw["lines"])
    total = abs(revenue)
    discount = max(sum((line.subtotal for line in lines), Decimal(0)) - total, Decimal(0))
    order = OrderValue(currency=currency.strip().upper(), total=total, lines=lines, discount_total=discount)
    return Event(key=raw["key"], type=SALE, at=at, order=order, share=Fraction(-1 if revenue < 0 else 1),
                 source="import", collaborator=who)


def _lines(raw_lines: Any) -> tuple[Line, ...]:
    if not isinstance(raw_lines, list):
        raise BadLine("'lines' must be a list")
    lines = []
    for i, raw in enumerate(raw_lines):
        if not isinstance(raw, dict):
            raise BadLine(f"lines[{i}] must be an object")
        try:
            lines.append(_line(i, raw))
        except BadLine as exc:
            raise BadLine(f"lines[{i}]: {exc}") from None
    return tuple(lines)


def _line(i: int, raw: Mapping[str, Any]) -> Line:
    product, variation = raw.get("product_id"), raw.get("variation_id")
    categories = raw.get("categories") or []
    if not isinstance(categories, list):
        raise BadLine("'categories' must be a list of ids")
    variation_id = None if variation is None else _id(variation, "'variation_id'")
    return Line(id=str(raw.get("id", i)), subtotal=_money(raw, "subtotal"),
                quantity=_whole(raw.get("quantity", 1), "'quantity'"),
                product_id=None if product is None else _id(product, "'product_id'"),
                sku=str(raw.get("sku") or ""), categories=tuple(_id(c, "a category") for c in categories),
                variation_id=variation_id or None)  # 0 is WooCommerce's "no variation"


def _id(value: Any, what: str) -> int:
    """A WooCommerce id: a whole number from 0 (written as a number, or as digits in a string)."""
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise BadLine(f"{what} is {value!r}, not an id (a whole number)")
    return value


def manual_credit(collaborator: str, event_type: str, count: int, at: datetime, nonce: str) -> Event:
    """`siren-sync credit`: Siren's manual engagement; the key includes a nonce so credits add up."""
    if event_type not in ENGAGEMENT_TYPES:
        raise BadLine(f"unknown type {event_type!r} (valid: {', '.join(ENGAGEMENT_TYPES)})")
    return Event(key=f"manual:{event_type}:{collaborator}:{nonce}", type=event_type, at=at,
                 collaborator=collaborator, quantity=count, source="manual")


# -- a whole file -------------------------------------------------------------------------------


@dataclass
class ImportReport:
    """Where each line of a file went; `lines` = new + same + conflicting + bad + blank."""

    lines: int = 0
    new: int = 0
    same: int = 0  # the same event is stored already, or is on an earlier line
    late: int = 0  # of the new, those that count in the open period (their own was closed)
    blank: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def skipped(self) -> list[tuple[int, str]]:
        """Conflicting and bad lines, in file order: each is reported and nothing of it is recorded."""
        return sorted(self.conflicts + self.bad)


def parse_lines(raw_lines: Iterable[bytes],
                collaborators: Mapping[str, Collaborator]) -> tuple[ImportReport, list[tuple[int, Event]]]:
    """(the report so far: blank and bad lines, every line counted; the good lines' events)."""
    report, parsed = ImportReport(), []
    for number, raw in enumerate(raw_lines, start=1):
        report.lines += 1
        try:
            text = decode(raw, number == 1)
            if not text.strip():
                report.blank += 1
                continue
            parsed.append((number, parse_line(text, collaborators)))
        except BadLine as exc:
            report.bad.append((number, str(exc)))
    return report, parsed


def import_lines(ledger: Ledger, raw_lines: Iterable[bytes]) -> ImportReport:
    """Read, sort out and record the lines of one file; every line ends in exactly one count."""
    report, parsed = parse_lines(raw_lines, ledger.collaborators)
    stored = ledger.recorded(event for _, event in parsed)
    first: dict[str, tuple[int, Record]] = {}
    fresh: list[Event] = []
    for number, event in parsed:
        record = _compared(event.to_record())
        if event.key in stored:  # the stored event is the one to agree with
            found = stored[event.key]
            _sort_out(report, number, event.key, found and _compared(found), record, "is already recorded")
        elif event.key in first:
            earlier, seen = first[event.key]
            _sort_out(report, number, event.key, seen, record, f"is also on line {earlier}")
        elif (problem := event_problem(event)) is not None:  # the ledger's own bounds (a sum of lines)
            report.bad.append((number, problem))
        else:
            first[event.key] = (number, record)
            fresh.append(event)
    result = ledger.record(fresh)
    report.new, report.late = result.new, result.late
    report.same += result.duplicate  # recorded by another writer meanwhile (a shared store)
    return report


def _compared(record: Mapping[str, Any]) -> Record:
    return {name: record[name] for name in _COMPARED if name in record}


def _sort_out(report: ImportReport, number: int, key: str, seen: Record | None, record: Record,
              where: str) -> None:
    """A repeated key: the same event (counted as already recorded) or a conflict naming its line."""
    if seen == record:
        report.same += 1
        return
    if seen is None:  # stored under another UTC month, so at least its time differs
        report.conflicts.append((number, f"key {key!r} {where} with another time"))
        return
    differ = [name for name in _COMPARED if seen.get(name) != record.get(name)]
    report.conflicts.append((number, f"key {key!r} {where} with other values ({', '.join(differ)} differ)"))
