"""Counted values and pools: transaction compilers, line item filters, refunds, currencies."""

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from siren_sync.engine.pools import compile_order, counted_value, pool_amount, round_half_up, scaled
from siren_sync.model import Distributor, Event, Line, LineItemFilters, OrderValue

D = Decimal
NOW = datetime(2026, 9, 13, 10, 51, 33, tzinfo=UTC)
ALL = ("lineItems", "discounts", "fees", "shipping", "taxes")

# Shaped like reference/samples/wc-v3-order-partial-refund.json (order 26, EUR, coupon david20, refund
# of 79.20), with categories added and, in FULL, a fee, shipping and taxes to exercise every compiler.
LINES = (
    Line("10", D("99.00"), 1, product_id=11, sku="PEER-101", categories=(3,)),
    Line("11", D("19.90"), 1, product_id=13, sku="PEER-103", categories=(4,)),
    Line("12", D("360.00"), 2, product_id=15, sku="PEER-105", categories=(3, 5)),
)
ORDER = OrderValue("EUR", D("383.12"), LINES, discount_total=D("95.78"))
FULL = OrderValue(
    "EUR", D("407.96"), LINES, discount_total=D("95.78"), fees=D("5.00"), shipping=D("7.50"), taxes=D("12.34")
)
NO_FILTER = LineItemFilters()


def distributor(**changes) -> Distributor:
    base = dict(
        key="bonus",
        name="Bonus",
        resolver="topScoreWins",
        units="EUR",
        exponent=2,
        schedule=("first day of next month",),
        points={"boundCouponUsed": D(5)},
        revenue_percentage=D(10),
    )
    return Distributor(**{**base, **changes})


def sale(order: OrderValue | None = ORDER, share=Fraction(1), revenue=None) -> Event:
    return Event(
        key="wc:order:26:paid", type="sale", at=NOW, order=order, share=share, revenue=revenue, source="woocommerce"
    )


# compile_order: one compiler at a time on the realistic order


def test_line_items_compiler_sums_subtotals_before_discount():
    assert compile_order(FULL, ("lineItems",), NO_FILTER, ()) == Fraction("478.90")


def test_discounts_compiler_subtracts_discount_total():
    assert compile_order(FULL, ("lineItems", "discounts"), NO_FILTER, ()) == Fraction("383.12")
    assert compile_order(FULL, ("discounts",), NO_FILTER, ()) == Fraction("-95.78")


@pytest.mark.parametrize("compiler,expected", [("fees", "5.00"), ("shipping", "7.50"), ("taxes", "12.34")])
def test_order_level_compilers_each(compiler, expected):
    assert compile_order(FULL, (compiler,), NO_FILTER, ()) == Fraction(expected)
    assert compile_order(FULL, ("lineItems", "discounts", compiler), NO_FILTER, ()) == Fraction("383.12") + Fraction(
        expected
    )


def test_all_compilers_give_the_order_total():
    assert compile_order(FULL, ALL, NO_FILTER, ()) == Fraction(FULL.total)


def test_no_compilers_count_nothing():
    assert compile_order(FULL, (), NO_FILTER, ()) == 0


# filters, with the discount following the kept lines pro rata


def test_with_skus_keeps_only_those_lines_and_their_discount_share():
    filters = LineItemFilters(with_skus=("PEER-101",))
    value = compile_order(ORDER, ("lineItems", "discounts"), filters, ())
    assert value == Fraction("99.00") - Fraction("95.78") * Fraction("99.00") / Fraction("478.90")
    assert round_half_up(value, 2) == D("79.20")  # what WooCommerce shows as the line total


def test_in_categories_keeps_lines_with_any_listed_category():
    filters = LineItemFilters(in_categories=(5, 4))
    value = compile_order(ORDER, ("lineItems", "discounts"), filters, ())
    assert round_half_up(value, 2) == D("303.92")  # 288.00 + 15.92


def test_in_categories_empty_list_keeps_nothing():
    assert compile_order(ORDER, ("lineItems", "discounts"), LineItemFilters(in_categories=()), ()) == 0


def test_collaborator_owned_keeps_owned_products_with_pro_rata_discount():
    filters = LineItemFilters(collaborator_owned=True)
    value = compile_order(ORDER, ("lineItems", "discounts"), filters, {15})
    assert value == Fraction("360.00") * (1 - Fraction("95.78") / Fraction("478.90"))
    assert round_half_up(value, 2) == D("288.00")
    assert compile_order(ORDER, ("lineItems", "discounts"), filters, set()) == 0


# Two sizes of one T-shirt (parent product 30, variations 31 and 32) and a simple product.
SHIRTS = OrderValue("EUR", D("70.00"), (Line("20", D("20.00"), product_id=30, variation_id=31),
                                        Line("21", D("30.00"), product_id=30, variation_id=32),
                                        Line("22", D("30.00"), product_id=11)), discount_total=D("10.00"))


@pytest.mark.parametrize("owned, kept", [
    ({31}, D("20.00")),  # the variation alone: its lines, not the other size's
    ({30}, D("50.00")),  # the parent: every variation of it
    ({31, 11}, D("50.00")),  # a variation and a simple product
    ({32, 30}, D("50.00")),  # parent and variation listed: each line still counts once
    ({99}, D("0")),
])
def test_collaborator_owned_keeps_a_line_by_its_product_or_its_variation(owned, kept):
    filters = LineItemFilters(collaborator_owned=True)
    value = compile_order(SHIRTS, ("lineItems", "discounts"), filters, owned)
    assert value == Fraction(kept) * (1 - Fraction("10.00") / Fraction("80.00"))
    with_skus = LineItemFilters(collaborator_owned=True, with_skus=("",))  # the per-line path, every line passes
    assert compile_order(SHIRTS, ("lineItems", "discounts"), with_skus, owned) == value


def test_filters_combine_and_do_not_touch_order_level_compilers():
    filters = LineItemFilters(with_skus=("PEER-105", "PEER-101"), in_categories=(5,))
    value = compile_order(FULL, ALL, filters, ())
    expected = Fraction("360.00") * (1 - Fraction("95.78") / Fraction("478.90")) + Fraction("24.84")
    assert value == expected


def test_filters_on_an_order_without_lines_apply_no_discount():
    order = OrderValue("EUR", D("10.00"), (), discount_total=D("2.00"), shipping=D("12.00"))
    assert compile_order(order, ALL, LineItemFilters(with_skus=("X",)), ()) == Fraction(12)


# counted_value: one sale event for one distributor


def test_paid_order_counts_its_compiled_value():
    assert counted_value(sale(), distributor(), ()) == D("383.12")


def test_partial_refund_share_is_pro_rata():
    refund = sale(share=-Fraction("79.20") / Fraction("383.12"))
    assert counted_value(refund, distributor(), ()) == D("-79.20")
    filtered = distributor(filters=LineItemFilters(with_skus=("PEER-101",)))
    # the refund takes its share of the filtered value: 79.20 x 79.2.. / 383.12 = 16.37..
    assert counted_value(refund, filtered, ()) == D("-16.37")


def test_refund_share_minus_one_third_rounds_half_away_from_zero():
    order = OrderValue("USD", D("100.00"), (Line("1", D("100.00")),))
    refund = sale(order, share=Fraction(-1, 3))
    assert counted_value(refund, distributor(units="USD"), ()) == D("-33.33")
    paid = counted_value(
        sale(OrderValue("USD", D("0.03"), (Line("1", D("0.03")),)), share=Fraction(1, 2)), distributor(units="USD"), ()
    )
    assert paid == D("0.02")  # 0.015 -> 0.02
    refunded = counted_value(
        sale(OrderValue("USD", D("0.03"), (Line("1", D("0.03")),)), share=Fraction(-1, 2)), distributor(units="USD"), ()
    )
    assert refunded == D("-0.02")  # symmetric, so a refund mirrors its payment


def test_full_refund_cancels_the_payment():
    assert counted_value(sale(share=Fraction(-1)), distributor(), ()) + counted_value(sale(), distributor(), ()) == 0


def test_other_currency_counts_nothing():
    assert counted_value(sale(), distributor(units="USD"), ()) == 0


def test_custom_units_count_any_currency_one_unit_per_unit():
    points = distributor(units="points", exponent=0, is_currency=False)
    assert counted_value(sale(), points, ()) == D("383.12")


def test_jpy_order_rounds_to_whole_yen():
    order = OrderValue("JPY", D("1000"), (Line("1", D("1000")),))
    value = counted_value(sale(order, share=Fraction(-1, 3)), distributor(units="JPY", exponent=0), ())
    assert str(value) == "-333"


def test_kwd_order_rounds_to_three_decimals():
    order = OrderValue("KWD", D("10.000"), (Line("1", D("10.000")),))
    value = counted_value(sale(order, share=Fraction(2, 3)), distributor(units="KWD", exponent=3), ())
    assert str(value) == "6.667"


def test_imported_sale_counts_its_plain_revenue():
    assert counted_value(sale(None, revenue=D("-12.00")), distributor(), ()) == D("-12.00")


def test_non_sale_events_count_nothing():
    event = Event(key="k", type="boundCouponUsed", at=NOW, collaborator="david")
    assert counted_value(event, distributor(), ()) == 0


# pool_amount


def test_pool_is_a_percentage_rounded_half_up():
    assert pool_amount(D("383.12"), D(10), 2) == D("38.31")
    assert pool_amount(D("0.05"), D(10), 2) == D("0.01")  # 0.005 -> 0.01
    assert str(pool_amount(D("1000.00"), D(15), 2)) == "150.00"


def test_pool_of_negative_or_zero_net_is_zero():
    assert str(pool_amount(D("-12.00"), D(10), 2)) == "0.00"
    assert pool_amount(D("0"), D(10), 2) == 0


def test_pool_on_jpy_kwd_and_points():
    assert str(pool_amount(D("12345"), D(10), 0)) == "1235"  # 1234.5 -> 1235
    assert str(pool_amount(D("12.3455"), D(10), 3)) == "1.235"  # 1.23455 -> 1.235
    assert str(pool_amount(D("383.12"), D(25), 0)) == "96"  # 95.78 points -> 96


_cents = st.integers(min_value=0, max_value=10_000_000).map(lambda c: Decimal(c).scaleb(-2))


@given(
    subtotals=st.lists(_cents, min_size=1, max_size=6),
    discount=_cents,
    fees=_cents,
    shipping=_cents,
    taxes=_cents,
    compilers=st.sets(st.sampled_from(["lineItems", "discounts", "fees", "shipping", "taxes"])),
)
def test_plain_sale_fast_path_equals_the_exact_compiler(subtotals, discount, fees, shipping, taxes, compilers):
    """The Decimal fast path for a paid order without filters gives what the Fraction path gives."""
    order = OrderValue(
        currency="USD",
        total=sum(subtotals) + fees + shipping + taxes - discount,
        lines=tuple(Line(id=str(i), subtotal=s) for i, s in enumerate(subtotals)),
        discount_total=discount,
        fees=fees,
        shipping=shipping,
        taxes=taxes,
    )
    d = Distributor(
        key="d",
        name="d",
        resolver="topScoreWins",
        units="USD",
        exponent=2,
        schedule=("+1 week",),
        points={},
        compilers=tuple(sorted(compilers)),
    )
    event = Event(key="k", type="sale", at=datetime(2026, 11, 1, tzinfo=UTC), order=order)
    exact = round_half_up(compile_order(order, d.compilers, d.filters, ()), 2)
    assert counted_value(event, d, ()) == exact


@pytest.mark.parametrize("compiler", ALL)
def test_an_order_read_back_from_its_record_counts_the_same(compiler):
    """Event records leave out zero parts and default line fields; reading them back changes nothing."""
    plain = OrderValue("USD", D("114.00"), (Line("1", D("129.00")),), D("15.00"), D("0"), D("0.00"), D("0.00"))
    for order in (ORDER, FULL, plain):
        record = order.to_record()
        assert OrderValue.from_record(record) == order
        d = distributor(compilers=(compiler,), units=order.currency)
        for share in (Fraction(1), Fraction(-1, 3)):
            event = Event(key="k", type="sale", at=NOW, order=order, share=share)
            again = Event(key="k", type="sale", at=NOW, order=OrderValue.from_record(record), share=share)
            assert counted_value(again, d, set()) == counted_value(event, d, set())
    assert plain.to_record() == {
        "currency": "USD",
        "total": "114.00",
        "discount_total": "15.00",
        "lines": [{"id": "1", "subtotal": "129.00"}],
    }


def _oracle(order: OrderValue, compilers, owned, share: Fraction) -> Decimal:
    """The counted value from its definition, in Fractions: owned lines, their share of the discount."""
    kept = sum((Fraction(line.subtotal) for line in order.lines if line.product_id in owned), Fraction(0))
    everything = sum((Fraction(line.subtotal) for line in order.lines), Fraction(0))
    value = kept if "lineItems" in compilers else Fraction(0)
    if "discounts" in compilers and everything:
        value -= Fraction(order.discount_total) * kept / everything
    value += sum((Fraction(getattr(order, c)) for c in ("fees", "shipping", "taxes") if c in compilers), Fraction(0))
    value *= share
    units = int(abs(value) * 100 + Fraction(1, 2))
    return Decimal(-units if value < 0 else units).scaleb(-2)


@given(
    lines=st.lists(st.tuples(_cents, st.integers(1, 3)), min_size=1, max_size=6),
    discount=_cents,
    fees=_cents,
    compilers=st.sets(st.sampled_from(["lineItems", "discounts", "fees", "shipping", "taxes"])),
    owned=st.sets(st.integers(1, 3)),
    share=st.one_of(st.just(Fraction(1)), st.fractions(min_value=-1, max_value=0, max_denominator=10**9)),
)
def test_filtered_lines_share_of_the_discount_rounds_exactly(lines, discount, fees, compilers, owned, share):
    """Owned lines taking their share of a discount (a division), whole or refunded in part: the
    integer rounding gives exactly the definition's value, halves away from zero."""
    order = OrderValue(
        currency="USD",
        total=D(0),
        lines=tuple(Line(id=str(i), subtotal=s, product_id=p) for i, (s, p) in enumerate(lines)),
        discount_total=discount,
        fees=fees,
    )
    d = distributor(units="USD", compilers=tuple(sorted(compilers)), filters=LineItemFilters(collaborator_owned=True))
    event = Event(key="k", type="sale", at=NOW, order=order, share=share)
    got = counted_value(event, d, owned)
    assert got == _oracle(order, compilers, owned, share)
    assert str(got) == str(_oracle(order, compilers, owned, share))


_signed = st.integers(min_value=-10**9, max_value=10**9).map(lambda c: Decimal(c).scaleb(-2))


@given(amount=_signed, part=_signed, whole=_signed.filter(bool), exponent=st.integers(0, 3))
def test_scaled_is_the_fraction_rounded_half_up(amount, part, whole, exponent):
    """A refund's share of a reward in the exact Decimal context gives the Fractions' rounding, to
    the same digits, whatever the signs (halves away from zero)."""
    exact = round_half_up(Fraction(amount) * Fraction(part) / Fraction(whole), exponent)
    assert str(scaled(amount, part, whole, exponent)) == str(exact)
