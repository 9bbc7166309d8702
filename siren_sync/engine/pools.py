"""What a sale is worth to a distributor, and how big a period's pool is (DESIGN "The pool").

Siren's transaction compilers decide which parts of an order count (`lineItems`, `discounts`, `fees`,
`shipping`, `taxes`); line item filters restrict the line items, and the discount then follows the
kept lines pro rata. Values stay exact (Decimal sums, or a numerator and denominator in an exact
context; `Fraction` for `compile_order`) until the one rounding to a minor unit. Pure.
"""
from __future__ import annotations

from collections.abc import Collection, Sequence
from decimal import ROUND_HALF_UP, Context, Decimal, DivisionByZero, Inexact, InvalidOperation, Overflow
from fractions import Fraction
from functools import lru_cache
from math import floor
from operator import attrgetter
from typing import Protocol

from siren_sync.engine.units import minor_unit
from siren_sync.model import SALE, WHOLE, Event, Line, LineItemFilters, OrderValue


class Counting(Protocol):
    """What decides a sale's counted value: a distributor's or a program's unit, compilers and filters."""

    @property
    def units(self) -> str: ...

    @property
    def is_currency(self) -> bool: ...

    @property
    def compilers(self) -> tuple[str, ...]: ...

    @property
    def filters(self) -> LineItemFilters: ...


def compile_order(order: OrderValue, compilers: tuple[str, ...], filters: LineItemFilters,
                  owned_products: Collection[int]) -> Fraction:
    """The counted value of a whole order, exact, under `compilers` and line item `filters`.

    Filters restrict only line items, and through them the discount (discount x kept subtotals / all
    subtotals); fees, shipping and taxes belong to the order, not to a line, so they count in full
    when their compiler is listed, unless `order_parts_pro_rata` (a royalty's owner) makes them
    follow the kept lines as the discount does. `discounts` subtracts even without `lineItems`
    (Siren's compilers are independent switches).
    """
    numerator, denominator = _compiled(order, compilers, filters, owned_products)
    return Fraction(numerator) / Fraction(denominator)


def _compiled(order: OrderValue, compilers: tuple[str, ...], filters: LineItemFilters,
              owned_products: Collection[int]) -> tuple[Decimal, Decimal]:
    """`compile_order` as (numerator, denominator > 0), both exact Decimals: the denominator is 1
    but when filtered lines take their share of a discount, or of the order's parts (the one division,
    kept for the rounding)."""
    restricts = filters.restricts
    lines = order.lines if not restricts else _kept_lines(order.lines, filters, owned_products)
    kept = sum(map(_SUBTOTAL, lines), _ZERO)
    items, fees, shipping, taxes, discounts = _parts(compilers)
    value = kept if items else _ZERO
    lines_value = value  # before the order's fees, shipping and taxes
    if fees:
        value += order.fees
    if shipping:
        value += order.shipping
    if taxes:
        value += order.taxes
    # what follows the kept lines pro rata: the discount, and with `order_parts_pro_rata` the parts
    follows = -order.discount_total if discounts else _ZERO
    every_line = len(lines) == len(order.lines)  # the filter kept them all
    if filters.order_parts_pro_rata and not every_line and value != lines_value:
        value, follows = lines_value, follows + value - lines_value
    if not follows:
        return value, _ONE
    if not restricts:
        return value + follows, _ONE
    everything = kept if every_line else sum(map(_SUBTOTAL, order.lines), _ZERO)
    if not everything:
        return value, _ONE
    if every_line:
        # every line kept (a royalty's owner of all the order's lines, most often its one line):
        # the discount's share is the whole discount, no division to round
        return value + follows, _ONE
    # value + follows x kept / everything, over `everything`: the exact context's own operations
    # (a `localcontext` costs more than the arithmetic, once per owner of a royalty)
    numerator = _EXACT.add(_EXACT.multiply(value, everything), _EXACT.multiply(follows, kept))
    return (numerator, everything) if everything > 0 else (_EXACT.minus(numerator), _EXACT.minus(everything))


@lru_cache(maxsize=64)
def _parts(compilers: tuple[str, ...]) -> tuple[bool, bool, bool, bool, bool]:
    """Which parts of an order `compilers` count (line items, fees, shipping, taxes, discounts),
    looked up once per list: every sale of every pool and program asks."""
    return ("lineItems" in compilers, "fees" in compilers, "shipping" in compilers, "taxes" in compilers,
            "discounts" in compilers)


def _kept_lines(lines: Sequence[Line], filters: LineItemFilters, owned_products: Collection[int]) -> Sequence[Line]:
    """The lines that pass every filter that is set (filters narrow, they never widen); a royalty's
    filter (the owner's products alone) without a call per line. A line is owned when its product
    or its variation is in `owned_products`: the parent's id owns every variation of it, a
    variation's id that variation's lines alone."""
    if filters.with_skus or filters.in_categories is not None:
        lines = [line for line in lines if _keeps(line, filters)]
    if filters.collaborator_owned:
        lines = [line for line in lines if line.product_id in owned_products or line.variation_id in owned_products]
    return lines


def _keeps(line: Line, filters: LineItemFilters) -> bool:
    """Whether a line passes the SKU and category filters that are set."""
    if filters.with_skus and line.sku not in filters.with_skus:
        return False
    if filters.in_categories is not None and not set(line.categories) & set(filters.in_categories):
        return False
    return True


def _rounded(numerator: Decimal, denominator: Decimal, exponent: int) -> Decimal:
    """`numerator / denominator` (> 0) rounded to 10**-exponent, halves away from zero: what
    `round_half_up` gives for the same Fraction, in integer arithmetic on the Decimals."""
    units, rest = _EXACT.divmod(_EXACT.scaleb(numerator, exponent), denominator)
    whole = int(units)
    if _EXACT.multiply(rest.copy_abs(), 2) >= denominator:
        whole += 1 if numerator > 0 else -1
    return Decimal(whole).scaleb(-exponent)


def scaled(amount: Decimal, part: Decimal, whole: Decimal, exponent: int) -> Decimal:
    """`amount x part / whole` (`whole` not zero) rounded to 10**-exponent, halves away from zero:
    `round_half_up` of the same Fractions, in the exact context (a refund's share of a reward, made
    without four Fractions)."""
    numerator = _EXACT.multiply(amount, part)
    if whole < 0:
        numerator, whole = _EXACT.minus(numerator), _EXACT.minus(whole)
    return _rounded(numerator, whole, exponent)


@lru_cache(maxsize=64)
def _exponent_of(currency: str) -> int:
    """The minor unit of an order's currency as the order spells it, looked up once per code."""
    return minor_unit(currency.upper(), None)[0]


_ONE = Decimal(1)
_ZERO = Decimal(0)
_SUBTOTAL = attrgetter("subtotal")
# Products and integer quotients of bounded values (values.py: at most 23 digits each): exact, and
# a result that could not be would raise rather than round.
_EXACT = Context(prec=1000, traps=[Inexact, InvalidOperation, DivisionByZero, Overflow])
_QUANTA = tuple(Decimal(1).scaleb(-e) for e in range(5))  # 1, 0.1, ... 0.0001: every ISO 4217 minor unit


def other_currency(event: Event, distributor: Counting) -> str | None:
    """The order's currency when it cannot count for `distributor` (a multi-currency shop)."""
    order = event.order
    if event.type != SALE or order is None or not distributor.is_currency:
        return None
    return order.currency.upper() if order.currency.upper() != distributor.units.upper() else None


def counted_value(event: Event, distributor: Counting, owned_products: Collection[int]) -> Decimal:
    """The signed revenue a `sale` event adds to `distributor`'s period (0 for anything else).

    Imported sales carry a plain `revenue` (no order, so no compilers or filters). Order sales count
    the compiled order value times the event's `share` (1 paid, negative for refunds), rounded half
    away from zero to the order currency's minor unit, so a full refund cancels its payment exactly.
    An order in another currency than a currency distributor's units counts nothing.
    """
    if event.type != SALE:
        return Decimal(0)
    if event.order is None:
        return event.revenue if event.revenue is not None else Decimal(0)
    if other_currency(event, distributor):
        return Decimal(0)
    return order_value(event, event.order, distributor, owned_products)


def order_value(event: Event, order: OrderValue, distributor: Counting, owned_products: Collection[int]) -> Decimal:
    """`counted_value` of a sale of `order` (`event.order`) that counts for `distributor`, which
    the caller has checked (programs check the currency once for a sale's owners and engaged)."""
    exponent = _exponent_of(order.currency)
    numerator, denominator = _compiled(order, distributor.compilers, distributor.filters, owned_products)
    if event.share is WHOLE or event.share == 1:
        if denominator is _ONE:
            # The common case, a paid order whose counted value needs no division: a Decimal sum,
            # already exact.
            quantum = _QUANTA[exponent] if exponent < len(_QUANTA) else Decimal(1).scaleb(-exponent)
            return numerator.quantize(quantum, ROUND_HALF_UP)
    else:  # the exact context's own operations: a `localcontext` costs more than the arithmetic
        share = event.share
        numerator, denominator = _EXACT.multiply(numerator, share.numerator), _EXACT.multiply(denominator,
                                                                                               share.denominator)
    return _rounded(numerator, denominator, exponent)


def pool_amount(net_revenue: Decimal, percentage: Decimal, exponent: int) -> Decimal:
    """`percentage`% of the period's net revenue, rounded half-up to the unit; a net <= 0 pays nothing.

    For custom units (points) one unit is worth one unit of shop currency, so the same formula holds
    and `exponent` (0 for whole points) does the rounding.
    """
    if net_revenue <= 0:
        return round_half_up(Fraction(0), exponent)
    return round_half_up(Fraction(net_revenue) * Fraction(percentage) / 100, exponent)


def round_half_up(value: Fraction, exponent: int) -> Decimal:
    """`value` rounded to 10**-exponent, halves away from zero (symmetric for refunds), as a Decimal."""
    scaled = abs(value) * 10 ** exponent
    units = floor(scaled + Fraction(1, 2))
    return Decimal(-units if value < 0 else units).scaleb(-exponent)
