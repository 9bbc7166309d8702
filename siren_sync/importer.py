"""Events from outside: JSON Lines imports and manual credits, validated at the edge.

An imported line is `{"key", "type", "collaborator", "at", "quantity"}`, or a `sale` with a signed
`"revenue"` (negative for a refund) and optionally `"currency"` and `"lines"` so line item filters
can apply, and `"collaborator"` for a sale closed by one (a `manual` engagement of programs), or a
`lead` (`{"type": "lead", "collaborator", "at", "key"}`, the conversion of `conversion: lead`
programs: one conversion, its `quantity` 1 and no `correction`, which would be another lead). A
negative sale that takes back (part of) an imported sale names it, `"reverses": "<its key>"`: that
sale is recorded, or on an earlier line, dated before it and of at least as much revenue, and the
programs take its rewards back pro rata (`commissions`); without `reverses` a negative sale
is revenue alone, as before. A negative `quantity` is a correction and says so (`"correction": true`), as `credit
--correction` does. Amounts and counts are bounded (`values.parse_decimal`, `values.parse_count`).

Every line of the file is accounted for, once: new, already recorded (the same event is stored, or
is on an earlier line), conflicting (its key is stored, or on an earlier line, with other values:
nothing is overwritten) or bad (with the reason). A bad line, undecodable bytes included, never
stops the others, and no later reversal can name its sale. Of the new, those the ledger keeps but
counts nothing for (an inactive collaborator's, dated more than a year ahead) are named. A file
from a spreadsheet or a Windows tool (a byte-order mark, CRLF line ends) imports as it is.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any, NamedTuple

from siren_sync.ledger import Ledger, event_problem
from siren_sync.model import (
    ENGAGEMENT_TYPES,
    EVENT_TYPES,
    LEAD,
    SALE,
    Collaborator,
    Event,
    Line,
    OrderValue,
    Record,
    Reversed,
)
from siren_sync.values import iso, nfc, parse_count, parse_decimal, parse_time

KNOWN_FIELDS = {"key", "type", "collaborator", "at", "quantity", "correction", "revenue", "currency", "lines",
                "reverses"}
_BOM = b"\xef\xbb\xbf"
# What two records of one key are compared on: what the event is, not who recorded it or when.
_COMPARED = ("type", "at", "collaborator", "quantity", "revenue", "order", "share", "reverses")
SaleOf = Callable[[str], "Event | None"]  # a sale's key -> the sale, recorded or on an earlier line


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


def parse_line(text: str, collaborators: Mapping[str, Collaborator], sale_of: SaleOf | None = None) -> Event:
    """One JSON Lines record as an Event, or BadLine with the reason; `sale_of` finds the sale a
    reversal names (without it, no sale is found)."""
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
        return _sale(raw, at, collaborators, sale_of)
    return _engagement(raw, at, collaborators)


def _collaborator(raw: dict[str, Any], collaborators: Mapping[str, Collaborator]) -> str:
    who = raw.get("collaborator")
    who = nfc(who) if isinstance(who, str) else who
    if who not in collaborators:
        raise BadLine(f"unknown collaborator {who!r}")
    return str(who)


def _engagement(raw: dict[str, Any], at: datetime, collaborators: Mapping[str, Collaborator]) -> Event:
    if "reverses" in raw:
        raise BadLine(f"'reverses' is a field of a sale (a reversal), not of a {raw['type']}")
    who = _collaborator(raw, collaborators)
    correction = raw.get("correction", False)
    if not isinstance(correction, bool):
        raise BadLine("'correction' must be true or false")
    quantity = _whole(raw.get("quantity", 1), "'quantity'", negative=correction)
    if correction and quantity > 0:
        raise BadLine("a correction takes away: its 'quantity' is negative")
    if raw["type"] == LEAD and (quantity != 1 or correction):
        raise BadLine("a lead is one conversion: its 'quantity' is 1, and it is no 'correction' (one would be "
                      "another lead, paid again)")
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


def _sale(raw: dict[str, Any], at: datetime, collaborators: Mapping[str, Collaborator],
          sale_of: SaleOf | None) -> Event:
    if "correction" in raw or "quantity" in raw:
        field_name = next(f for f in ("quantity", "correction") if f in raw)
        raise BadLine(f"{field_name!r} is not a field of a sale (a refund is a negative 'revenue')")
    if "reverses" in raw and "collaborator" in raw:
        raise BadLine("a reversal names its sale ('reverses'), not a 'collaborator': the sale's is taken back")
    who = _collaborator(raw, collaborators) if "collaborator" in raw else None
    revenue = _money(raw, "revenue")
    if who is not None and revenue < 0:
        raise BadLine("a sale naming a collaborator is a conversion: its 'revenue' is not negative (to take "
                      "it back, import a negative sale that names it: \"reverses\": \"<its key>\")")
    link = _reversed(raw, at, revenue, sale_of) if "reverses" in raw else None
    reverses = link.reversed if link is not None else None
    if "lines" not in raw:
        return Event(key=raw["key"], type=SALE, at=at, revenue=revenue, source="import", collaborator=who,
                     reverses=reverses)
    currency = raw.get("currency")
    if not isinstance(currency, str) or not currency.strip():
        raise BadLine("'currency' is required with 'lines'")
    lines = _lines(raw["lines"])
    total = abs(revenue)
    discount = max(sum((line.subtotal for line in lines), Decimal(0)) - total, Decimal(0))
    order = OrderValue(currency=currency.strip().upper(), total=total, lines=lines, discount_total=discount)
    if link is not None and link.currency not in (None, order.currency):
        raise BadLine(f"'currency' is {order.currency}, not {link.currency} as the sale it reverses")
    return Event(key=raw["key"], type=SALE, at=at, order=order, share=Fraction(-1 if revenue < 0 else 1),
                 source="import", collaborator=who, reverses=reverses)


def _reversed(raw: Mapping[str, Any], at: datetime, revenue: Decimal, sale_of: SaleOf | None) -> _Link:
    """The imported sale a negative sale takes back from (`"reverses": "<its key>"`): dated before
    it, with at least as much revenue (its currency, when it had lines, to compare with the line's)."""
    key = raw["reverses"]
    if not isinstance(key, str) or not key:
        raise BadLine("'reverses' must be the key of the sale it takes back (a string)")
    sale = _reversible(key, sale_of)
    stake = sale.revenue if sale.revenue is not None else (sale.order.total if sale.order else Decimal(0))
    if revenue > 0 or (revenue == 0 and stake > 0):
        raise BadLine(f"'revenue' is {revenue}: a reversal takes back, its 'revenue' is negative")
    if -revenue > stake:
        raise BadLine(f"'revenue' is {revenue}: more than the {stake} of the sale {key!r} it reverses")
    if at <= sale.at:
        raise BadLine(f"'at' is {iso(at)}: a reversal comes after the sale {key!r} it reverses ({iso(sale.at)})")
    return _Link(Reversed(key, sale.at, stake), sale.order.currency if sale.order else None)


def _reversible(key: str, sale_of: SaleOf | None) -> Event:
    """The sale `key` names, when a reversal may name it: an imported sale, recorded or on an
    earlier line, that is no refund itself (an order's refunds come from WooCommerce)."""
    sale = sale_of(key) if sale_of is not None else None
    if sale is None:
        raise BadLine(f"'reverses': no sale {key!r} is recorded or on an earlier line")
    if sale.type != SALE or sale.source != "import" or sale.order_id is not None:
        raise BadLine(f"'reverses': {key!r} is not an imported sale")
    if sale.reverses is not None or sale.share < 0 or (sale.revenue is not None and sale.revenue < 0):
        raise BadLine(f"'reverses': {key!r} is itself a refund")
    return sale


class _Link(NamedTuple):
    """A reversal's sale as the event keeps it, and the sale's currency when it had lines."""

    reversed: Reversed
    currency: str | None


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
    # of the new, (line number, why) of those recorded but counting nothing (`Recorded.ignored`)
    ignored: list[tuple[int, str]] = field(default_factory=list)
    blank: int = 0
    conflicts: list[tuple[int, str]] = field(default_factory=list)  # (line number, reason)
    bad: list[tuple[int, str]] = field(default_factory=list)

    @property
    def skipped(self) -> list[tuple[int, str]]:
        """Conflicting and bad lines, in file order: each is reported and nothing of it is recorded."""
        return sorted(self.conflicts + self.bad)


class Sales:
    """The sales the reversals of one file name (`SaleOf`): a recorded one (the key index says
    whether the key is recorded; a key does not say its month, so the store's months are read newest
    first as far as needed, each once for the whole file, keeping their imported sales), else the
    first on an earlier line of the file."""

    def __init__(self, ledger: Ledger):
        self.store = ledger.store
        self.earlier: dict[str, Event] = {}
        self.skipped: dict[str, int] = {}  # key -> the first line that named it and was skipped
        self.recorded: dict[str, Event] = {}  # the imported sales of the months read so far
        self.months = iter(reversed(self.store.buckets()))

    def add(self, event: Event) -> None:
        self.earlier.setdefault(event.key, event)

    def skip(self, key: str, number: int) -> None:
        """A line of `key` that was skipped: a reversal naming it is refused, saying so."""
        self.skipped.setdefault(key, number)

    def __call__(self, key: str) -> Event | None:
        if key in self.recorded or not self.store.known([key]):
            found = self.recorded.get(key) or self.earlier.get(key)
            if found is None and key in self.skipped:
                raise BadLine(f"'reverses': the sale {key!r} is on line {self.skipped[key]}, which was skipped")
            return found
        for bucket in self.months:
            self.recorded.update((r["key"], Event.from_record(r)) for r in self.store.events(bucket)
                                 if r.get("type") == SALE and r.get("source") == "import")
            if key in self.recorded:
                return self.recorded[key]
        raise BadLine(f"'reverses': {key!r} is not an imported sale")  # recorded, but as something else


def parse_lines(raw_lines: Iterable[bytes], collaborators: Mapping[str, Collaborator],
                sales: Sales | None = None) -> tuple[ImportReport, list[tuple[int, Event]]]:
    """(the report so far: blank and bad lines, every line counted; the good lines' events); with
    `sales`, a reversal finds the sale it names there (each good line is added to it). A line the
    ledger's own bounds would refuse (`event_problem`: lines adding up past them) is bad here, before
    a later reversal could name its sale: a skipped sale is never taken back."""
    report, parsed = ImportReport(), []
    for number, raw in enumerate(raw_lines, start=1):
        report.lines += 1
        try:
            text = decode(raw, number == 1)
            if not text.strip():
                report.blank += 1
                continue
            event = parse_line(text, collaborators, sales)
            if (problem := event_problem(event)) is not None:
                if sales is not None:
                    sales.skip(event.key, number)
                raise BadLine(problem)
            parsed.append((number, event))
            if sales is not None:
                sales.add(event)
        except BadLine as exc:
            report.bad.append((number, str(exc)))
    return report, parsed


def import_lines(ledger: Ledger, raw_lines: Iterable[bytes]) -> ImportReport:
    """Read, sort out and record the lines of one file; every line ends in exactly one count."""
    report, parsed = parse_lines(raw_lines, ledger.collaborators, Sales(ledger))
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
        else:
            first[event.key] = (number, record)
            fresh.append(event)
    result = ledger.record(fresh)
    report.new, report.late = result.new, result.late
    report.ignored = sorted((first[key][0], why) for key, why in result.ignored)
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
