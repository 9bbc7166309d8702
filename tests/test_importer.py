"""Events from outside (siren_sync/importer.py): a JSON Lines import keeps its good lines and names
each bad one by its line number and why; sales carry a signed revenue, or an order (currency and
lines) that line item filters can read; each manual credit is an event of its own."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction

import pytest

from siren_sync.importer import BadLine, manual_credit, parse_line, parse_lines
from siren_sync.model import Line, OrderValue
from tests.support.ledgers import people

WHO = people("alice")
AT = "2026-11-05T10:00:00+00:00"
COUPON = {"key": "crm:deal:981", "type": "boundCouponUsed", "collaborator": "alice", "at": AT, "quantity": 2}


def line(**fields) -> str:
    return json.dumps(fields)


def reason(text: str) -> str:
    """Why `parse_line` refuses `text`."""
    with pytest.raises(BadLine) as info:
        parse_line(text, WHO)
    return str(info.value)


# -- good lines ------------------------------------------------------------------------------

def test_an_engagement_line_is_an_imported_event():
    event = parse_line(line(**COUPON), WHO)
    assert (event.key, event.type, event.collaborator, event.quantity, event.source) == (
        "crm:deal:981", "boundCouponUsed", "alice", 2, "import")
    assert event.at == datetime(2026, 11, 5, 10, tzinfo=UTC)


def test_the_quantity_is_one_unless_given_and_negative_only_as_a_correction():
    assert parse_line(line(key="k", type="manual", collaborator="alice", at=AT), WHO).quantity == 1
    with pytest.raises(BadLine, match=r"a correction says so: \"correction\": true"):
        parse_line(line(key="k", type="manual", collaborator="alice", at=AT, quantity=-3), WHO)
    fixed = line(key="k", type="manual", collaborator="alice", at=AT, quantity=-3, correction=True)
    assert parse_line(fixed, WHO).quantity == -3


def test_a_time_in_utc_with_z_or_a_space_is_read():
    event = parse_line(line(key="k", type="manual", collaborator="alice", at="2026-11-05 10:00:00Z"), WHO)
    assert event.at == datetime(2026, 11, 5, 10, tzinfo=UTC)


def test_a_sale_carries_its_signed_revenue():
    refund = parse_line(line(key="crm:refund:1", type="sale", at=AT, revenue="-40.00"), WHO)
    assert (refund.type, refund.revenue, refund.order, refund.collaborator) == ("sale", Decimal("-40.00"), None, None)
    assert parse_line(line(key="s", type="sale", at=AT, revenue=120), WHO).revenue == Decimal(120)


def test_a_sale_with_lines_is_an_order_in_its_currency_with_the_discount_that_makes_its_total():
    sale = parse_line(line(key="s", type="sale", at=AT, revenue="45.00", currency="eur",
                           lines=[{"id": 7, "subtotal": "30.00", "quantity": 2, "product_id": 93, "sku": "SS-1",
                                   "categories": [12]},
                                  {"subtotal": "20.00"}]), WHO)  # a line without an id is named by its place
    lines = (Line("7", Decimal("30.00"), 2, 93, "SS-1", (12,)), Line("1", Decimal("20.00")))
    assert sale.order == OrderValue(currency="EUR", total=Decimal("45.00"), discount_total=Decimal("5.00"), lines=lines)
    assert sale.share == 1 and sale.revenue is None


def test_a_refund_with_lines_moves_the_whole_order_back():
    refund = parse_line(line(key="r", type="sale", at=AT, revenue="-20.00", currency="USD",
                             lines=[{"id": 7, "subtotal": "20.00"}]), WHO)
    assert refund.order.total == Decimal("20.00") and refund.share == Fraction(-1)


def test_a_product_id_written_as_text_is_read_as_a_number_like_the_categories():
    sale = parse_line(line(key="s", type="sale", at=AT, revenue="30.00", currency="USD",
                           lines=[{"subtotal": "30.00", "product_id": "93", "categories": ["12"]}]), WHO)
    assert sale.order.lines[0].categories == (12,)
    assert sale.order.lines[0].product_id == 93


def test_a_line_names_its_variation_as_woocommerce_does_and_0_is_none():
    """An imported line of a variable product names the variation bought, so `collaboratorOwned`
    pools keep it for the variation's owner as they keep the same order read from WooCommerce."""
    sale = parse_line(line(key="s", type="sale", at=AT, revenue="50.00", currency="USD",
                           lines=[{"id": 1, "subtotal": "20.00", "product_id": 30, "variation_id": "31"},
                                  {"id": 2, "subtotal": "30.00", "product_id": 13, "variation_id": 0}]), WHO)
    assert [(x.product_id, x.variation_id) for x in sale.order.lines] == [(30, 31), (13, None)]
    bad = line(key="s", type="sale", at=AT, revenue="5", currency="USD", lines=[{"subtotal": "5", "variation_id": -1}])
    with pytest.raises(BadLine, match=r"lines\[0\]: 'variation_id' is -1, not an id"):
        parse_line(bad, WHO)


# -- bad lines -------------------------------------------------------------------------------

BAD = {
    "not JSON": ("{not json", "not JSON (Expecting property name enclosed in double quotes)"),
    "not an object": ("[1, 2]", "not a JSON object"),
    "unknown field": (line(**COUPON, points=3), "unknown field 'points' (known: at, collaborator, correction, "
                                                "currency, key, lines, quantity, revenue, reverses, type)"),
    "missing key": (line(type="manual", collaborator="alice", at=AT), "missing 'key'"),
    "empty type": (line(key="k", type="", collaborator="alice", at=AT), "missing 'type'"),
    "at not a string": (line(key="k", type="manual", collaborator="alice", at=20261105), "missing 'at'"),
    "unknown type": (line(key="k", type="likedAPost", collaborator="alice", at=AT), "unknown type 'likedAPost' "
                     "(valid: referredSiteVisit, boundPostUsed, boundCouponUsed, collaboratorProductSold, "
                     "courseCompleted, lessonCompleted, manual, sale, lead)"),
    "time without offset": (line(key="k", type="manual", collaborator="alice", at="2026-11-05T10:00:00"),
                            "bad 'at': "),
    "unknown collaborator": (line(key="k", type="manual", collaborator="nobody", at=AT),
                             "unknown collaborator 'nobody'"),
    "no collaborator": (line(key="k", type="manual", at=AT), "unknown collaborator None"),
    "fractional quantity": (line(key="k", type="manual", collaborator="alice", at=AT, quantity=1.5),
                            "'quantity' is 1.5, not a whole number"),
    "boolean quantity": (line(key="k", type="manual", collaborator="alice", at=AT, quantity=True),
                         "'quantity' is True, not a whole number"),
    "revenue as a float": (line(key="s", type="sale", at=AT, revenue=12.5),
                           "'revenue' must be a decimal string like \"120.00\""),
    "revenue missing": (line(key="s", type="sale", at=AT), "'revenue' must be a decimal string"),
    "revenue not a number": (line(key="s", type="sale", at=AT, revenue="abc"), "'revenue' is 'abc', not a number"),
    "revenue infinite": (line(key="s", type="sale", at=AT, revenue="Infinity"),
                         "'revenue' is 'Infinity', not a number"),
    "lines without currency": (line(key="s", type="sale", at=AT, revenue="5.00", lines=[]),
                               "'currency' is required with 'lines'"),
    "lines not a list": (line(key="s", type="sale", at=AT, revenue="5", currency="USD", lines={"id": 1}),
                         "'lines' must be a list"),
    "line not an object": (line(key="s", type="sale", at=AT, revenue="5", currency="USD", lines=["a"]),
                           "lines[0] must be an object"),
    "line without subtotal": (line(key="s", type="sale", at=AT, revenue="5", currency="USD",
                                   lines=[{"subtotal": "5"}, {"id": 2}]),
                              "lines[1]: 'subtotal' must be a decimal string"),
    "line quantity not a number": (line(key="s", type="sale", at=AT, revenue="5", currency="USD",
                                        lines=[{"subtotal": "5", "quantity": "two"}]), "lines[0]: "),
}


@pytest.mark.parametrize("text, why", BAD.values(), ids=BAD.keys())
def test_a_bad_line_says_why(text, why):
    assert reason(text).startswith(why)


def test_bad_lines_are_reported_by_number_and_the_good_ones_kept():
    lines = [line(**COUPON) + "\n", "\n", "{not json\n", "   \n", line(key="s", type="sale", at=AT, revenue="1") + "\n",
             line(key="k", type="manual", collaborator="nobody", at=AT) + "\n"]
    report, parsed = parse_lines([text.encode() for text in lines], WHO)
    assert [(n, e.key) for n, e in parsed] == [(1, "crm:deal:981"), (5, "s")]
    assert [(n, why.split(" (")[0]) for n, why in report.bad] == [(3, "not JSON"), (6, "unknown collaborator 'nobody'")]
    assert (report.lines, report.blank) == (6, 2)


def test_an_empty_file_imports_nothing():
    report, parsed = parse_lines([], WHO)
    assert parsed == [] and (report.lines, report.bad) == (0, [])


# -- manual credits --------------------------------------------------------------------------

def test_a_manual_credit_is_an_event_of_the_collaborator():
    at = datetime(2026, 11, 5, 10, tzinfo=UTC)
    event = manual_credit("alice", "manual", 3, at, "a1b2c3")
    assert (event.key, event.type, event.collaborator, event.quantity, event.at, event.source) == (
        "manual:manual:alice:a1b2c3", "manual", "alice", 3, at, "manual")


def test_two_manual_credits_have_two_keys_so_both_count():
    at = datetime(2026, 11, 5, 10, tzinfo=UTC)
    assert manual_credit("alice", "manual", 1, at, "n1").key != manual_credit("alice", "manual", 1, at, "n2").key


@pytest.mark.parametrize("kind", ["sale", "likedAPost"])
def test_a_manual_credit_is_an_engagement_type(kind):
    with pytest.raises(BadLine, match=f"unknown type '{kind}'"):
        manual_credit("alice", kind, 1, datetime(2026, 11, 5, tzinfo=UTC), "n")


def test_a_lead_and_a_sale_naming_a_collaborator_are_read_for_programs():
    lead = parse_line(line(key="crm:lead:1", type="lead", collaborator="alice", at=AT), WHO)
    assert (lead.type, lead.collaborator, lead.quantity) == ("lead", "alice", 1)
    deal = parse_line(line(key="crm:deal:9", type="sale", collaborator="alice", at=AT, revenue="900.00"), WHO)
    assert (deal.type, deal.collaborator, deal.revenue) == ("sale", "alice", Decimal("900.00"))
    with pytest.raises(BadLine, match="unknown collaborator 'nobody'"):
        parse_line(line(key="k", type="sale", collaborator="nobody", at=AT, revenue="1.00"), WHO)
    with pytest.raises(BadLine, match="its 'revenue' is not negative"):
        parse_line(line(key="k", type="sale", collaborator="alice", at=AT, revenue="-1.00"), WHO)


def test_reversals_of_recorded_sales_read_each_month_once_and_say_what_they_cannot_reverse(store, monkeypatch):
    """A reversal names its sale by key alone, which does not say its month: the months are read
    newest first as far as needed, each once for the whole file (before: every month again for
    each reversal). A recorded key that is no imported sale is refused as such."""
    from siren_sync.importer import import_lines
    from tests.support.ledgers import make_ledger

    ledger = make_ledger(store, collaborators=people("alice"))
    sales = [line(key=f"deal-{m}", type="sale", collaborator="alice", revenue="100.00",
                  at=f"2026-{m:02d}-10T10:00:00+00:00") for m in (8, 9, 10, 11)]
    other = line(key="crm:visit:1", type="boundCouponUsed", collaborator="alice", at="2026-10-01T10:00:00+00:00")
    assert import_lines(ledger, [s.encode() for s in [*sales, other]]).new == 5
    read: list[str] = []
    real = store.events
    monkeypatch.setattr(store, "events", lambda bucket, *a: read.append(bucket) or real(bucket, *a))
    reversals = [line(key=f"deal-{m}:cancel", type="sale", reverses=f"deal-{m}", revenue="-100.00",
                      at="2026-11-20T10:00:00+00:00") for m in (9, 8, 10)]
    wrong = line(key="bad:1", type="sale", reverses="crm:visit:1", revenue="-1.00", at="2026-11-20T10:00:00+00:00")
    report = import_lines(ledger, [r.encode() for r in [*reversals, wrong]])
    assert report.new == 3 and report.bad == [(4, "'reverses': 'crm:visit:1' is not an imported sale")]
    months = [b for b in read if b.startswith("2026")]
    assert len(months) == len(set(months)) == 4  # November back to August, once each
