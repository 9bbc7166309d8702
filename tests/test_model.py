"""The nouns at the store's edge (siren_sync/model.py): each `to_record` is plain JSON that
`from_record` turns back into the same value, defaults are left out of what is stored, and a
distribution's public record is the `--json` shape of DESIGN section 6."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from zoneinfo import ZoneInfo

import pytest

from siren_sync.model import (
    WHOLE,
    Distribution,
    Event,
    Line,
    Obligation,
    OrderValue,
    OutboxEntry,
    Standing,
    Touch,
)

NY = ZoneInfo("America/New_York")
AT = datetime(2026, 11, 10, 12, 30, tzinfo=UTC)
START, END = datetime(2026, 11, 1, tzinfo=NY), datetime(2026, 11, 8, tzinfo=NY)
LINE = Line(id="77", subtotal=Decimal("30.00"), quantity=3, product_id=93, sku="SS-1", categories=(12, 15))
ORDER = OrderValue(currency="USD", total=Decimal("45.50"), lines=(LINE, Line(id="78", subtotal=Decimal("20.00"))),
                   discount_total=Decimal("5.00"), fees=Decimal("1.50"), shipping=Decimal("4.00"),
                   taxes=Decimal("0.00"))


def round_trip(value, kind):
    """`value` through its stored JSON and back (the store keeps JSON text, not Python objects)."""
    return kind.from_record(json.loads(json.dumps(value.to_record())))


# -- events and what an order is worth --------------------------------------------------------

def test_a_line_round_trips_and_stores_only_what_differs_from_the_defaults():
    assert round_trip(LINE, Line) == LINE
    plain = Line(id="78", subtotal=Decimal("20.00"))
    assert plain.to_record() == {"id": "78", "subtotal": "20.00"}
    assert round_trip(plain, Line) == plain


def test_a_variation_line_round_trips_and_a_line_stored_before_variations_reads_as_none():
    """Lines stored before variation ids were kept (and every simple product's line) have no
    `variation_id`: they read back as they were, and a line without one stores nothing new."""
    shirt = Line(id="79", subtotal=Decimal("25.00"), product_id=30, variation_id=31)
    assert shirt.to_record() == {"id": "79", "subtotal": "25.00", "product_id": 30, "variation_id": 31}
    assert round_trip(shirt, Line) == shirt
    assert Line.from_record({"id": "77", "subtotal": "30.00", "product_id": 93}).variation_id is None
    assert "variation_id" not in LINE.to_record()


def test_an_order_value_round_trips_and_leaves_zero_parts_out():
    assert round_trip(ORDER, OrderValue) == ORDER
    record = ORDER.to_record()
    assert "taxes" not in record and record["fees"] == "1.50" and record["total"] == "45.50"
    assert OrderValue.from_record(record).taxes == 0


def test_an_engagement_event_round_trips():
    event = Event(key="wc:boundCouponUsed:1042:alice10", type="boundCouponUsed", at=AT, collaborator="alice",
                  quantity=-1, source="woocommerce")
    assert round_trip(event, Event) == event


def test_a_sale_event_round_trips_with_its_order_and_share():
    refund = Event(key="wc:sale:1042:refund:9", type="sale", at=AT, order=ORDER, share=Fraction(-10, 91),
                   source="woocommerce")
    back = round_trip(refund, Event)
    assert back == refund and back.share == Fraction(-10, 91)
    assert refund.to_record()["share"] == "-10/91"


def test_an_imported_sale_round_trips_with_its_signed_revenue():
    sale = Event(key="crm:sale:9", type="sale", at=AT, revenue=Decimal("-40.00"), source="import")
    assert round_trip(sale, Event) == sale and sale.to_record()["revenue"] == "-40.00"


def test_an_event_stores_only_what_differs_from_the_defaults():
    assert Event(key="k", type="manual", at=AT).to_record() == {
        "key": "k", "type": "manual", "at": "2026-11-10T12:30:00+00:00", "source": "manual"}
    whole = Event(key="k", type="sale", at=AT, order=ORDER, share=Fraction(1))  # equal to WHOLE, not the same object
    assert "share" not in whole.to_record() and round_trip(whole, Event).share is WHOLE


def test_an_event_is_stored_in_utc_and_reads_back_as_the_same_instant():
    paris = datetime(2026, 11, 10, 13, 30, tzinfo=ZoneInfo("Europe/Paris"))
    event = Event(key="k", type="manual", at=paris, collaborator="alice")
    assert event.to_record()["at"] == "2026-11-10T12:30:00+00:00"
    assert round_trip(event, Event).at == AT


def test_an_event_without_a_timezone_is_refused():
    with pytest.raises(ValueError, match="no timezone"):
        Event(key="k", type="manual", at=datetime(2026, 11, 10, 12))


def test_a_sale_keeps_its_order_id_and_touch_and_a_visit_its_visitor():
    created = datetime(2026, 11, 10, 7, 30, tzinfo=ZoneInfo("America/New_York"))
    sale = Event(key="woocommerce:sale:1042", type="sale", at=AT, order=ORDER, source="woocommerce",
                 order_id=1042, touch=Touch(visitor="9f" * 16, ref="alice", created_at=created, renewal_of=1001))
    record = sale.to_record()
    assert record["order_id"] == 1042
    assert record["touch"] == {"visitor": "9f" * 16, "ref": "alice", "created_at": "2026-11-10T12:30:00+00:00",
                               "renewal_of": 1001}
    assert round_trip(sale, Event) == sale
    visit = Event(key="access_log:referredSiteVisit:1-ab:0", type="referredSiteVisit", at=AT, collaborator="alice",
                  source="access_log", touch=Touch(visitor="0a" * 16))
    assert visit.to_record()["touch"] == {"visitor": "0a" * 16}
    assert round_trip(visit, Event) == visit


def test_a_touch_keeps_when_its_named_ref_s_session_began_and_an_older_record_reads_without_it():
    began = datetime(2026, 11, 10, 2, 30, tzinfo=ZoneInfo("America/New_York"))
    touch = Touch(ref="alice", created_at=AT, ref_at=began)
    assert touch.to_record() == {"ref": "alice", "created_at": "2026-11-10T12:30:00+00:00",
                                 "ref_at": "2026-11-10T07:30:00+00:00"}
    assert Touch.from_record(touch.to_record()) == touch
    stored_before = {"visitor": "9f" * 16, "ref": "alice", "created_at": "2026-11-10T12:30:00+00:00"}
    assert Touch.from_record(stored_before) == Touch(visitor="9f" * 16, ref="alice", created_at=AT)
    assert Touch.from_record(stored_before).ref_at is None
    with pytest.raises(ValueError, match="ref_at has no timezone"):
        Touch(ref="alice", ref_at=datetime(2026, 11, 10, 7, 30))


def test_an_event_without_order_id_or_touch_stores_neither():
    record = Event(key="k", type="sale", at=AT, order=ORDER, touch=None).to_record()
    assert "order_id" not in record and "touch" not in record
    assert Touch().to_record() == {}
    with pytest.raises(ValueError, match="no timezone"):
        Touch(created_at=datetime(2026, 11, 10, 12))


# -- obligations -----------------------------------------------------------------------------

def obligation(**changes) -> Obligation:
    fields = {"distribution": "pool-20261108t0500", "collaborator": "alice", "amount": Decimal("12.34"),
              "units": "USD", "score": Decimal("49"), "earned_at": END}
    return Obligation(**{**fields, **changes})


def read_back(o: Obligation) -> Obligation:
    """As history reads it: the record keyed by collaborator, the rest from the distribution's summary."""
    record = json.loads(json.dumps(o.to_record()))
    return Obligation.from_record(o.distribution, o.units, o.earned_at, o.collaborator, record)


def test_a_pending_obligation_stores_only_its_score_and_amount():
    o = obligation()
    assert o.to_record() == {"score": "49", "amount": "12.34"}
    assert read_back(o) == o and read_back(o).status == "pending" and read_back(o).note == ""


def test_a_paid_obligation_with_a_note_round_trips():
    o = obligation(note="+0.01 remainder", status="paid", paid_at="2026-12-01T09:00:00+00:00")
    assert o.to_record() == {"score": "49", "amount": "12.34", "note": "+0.01 remainder", "status": "paid",
                             "paid_at": "2026-12-01T09:00:00+00:00"}
    assert read_back(o) == o


def test_an_obligation_id_names_its_distribution_and_collaborator():
    assert obligation().id == "pool-20261108t0500:alice"
    assert obligation(collaborator="bruno").id != obligation().id


# -- distributions ---------------------------------------------------------------------------

def distribution(**changes) -> Distribution:
    payees = (obligation(), obligation(collaborator="bruno", amount=Decimal("7.66"), score=Decimal("31"),
                                       note="+0.01 remainder"))
    fields = dict(id="pool-20261108t0500", distributor="pool", name="Pool", resolver="performanceSharedPool",
                  period_start=START, period_end=END, units="USD", revenue=Decimal("200.00"), pool=Decimal("20.00"),
                  unspent=Decimal("0.00"), carried_in={"revenue": "0", "pool": "0.00"},
                  carry_out={"revenue": "0", "pool": "0.00"}, events=12, late_events=1, late_buckets=("2026-11",),
                  other_currency={"EUR": 2}, scores=(Standing("alice", Decimal("49")), Standing("bruno", Decimal("31")),
                                                     Standing("carol", Decimal("1"))),
                  obligations=payees, closed_at=datetime(2026, 11, 8, 5, 0, 7, tzinfo=UTC),
                  payable_at=END)  # no hold: payable at the period end, as a stored summary reads back
    return Distribution(**{**fields, **changes})


def test_a_distribution_round_trips_through_its_summary():
    d = distribution()
    summary = json.loads(json.dumps(d.summary_record()))
    assert Distribution.from_records(summary, d.scores, d.obligations) == d


def test_the_summary_leaves_the_per_collaborator_lists_to_their_own_tables():
    summary = distribution().summary_record()
    assert "scores" not in summary and "obligations" not in summary
    assert summary["obligation_count"] == 2
    assert (summary["period_start"], summary["period_end"]) == ("2026-11-01T00:00:00-04:00",
                                                                "2026-11-08T00:00:00-05:00")
    assert (summary["revenue"], summary["pool"], summary["late_buckets"]) == ("200.00", "20.00", ["2026-11"])


def test_a_summary_from_an_older_store_reads_with_zero_counters():
    summary = {k: v for k, v in distribution().summary_record().items()
               if k not in ("carried_in", "carry_out", "events", "late_events", "late_buckets", "other_currency")}
    d = Distribution.from_records(summary, (), ())
    assert (d.events, d.late_events, d.late_buckets, d.other_currency, d.carried_in) == (0, 0, (), {}, {})


def test_the_public_record_is_the_json_shape_of_design_section_6():
    assert distribution().public_record() == {
        "id": "pool-20261108t0500", "distributor": "pool", "period_start": "2026-11-01T00:00:00-04:00",
        "period_end": "2026-11-08T00:00:00-05:00", "units": "USD", "revenue": "200.00", "pool": "20.00",
        "obligations": [{"collaborator": "alice", "score": "49", "amount": "12.34"},
                        {"collaborator": "bruno", "score": "31", "amount": "7.66"}]}


def test_the_public_record_keeps_the_offset_it_was_read_with():
    read = Distribution.from_records(distribution().summary_record(), (), ())
    assert read.period_end.utcoffset() == timedelta(hours=-5)
    assert read.public_record()["period_end"] == "2026-11-08T00:00:00-05:00"
    assert read.period_end == datetime(2026, 11, 8, 5, tzinfo=UTC)


# -- the outbox ------------------------------------------------------------------------------

def test_a_queued_outbox_entry_round_trips_without_a_post():
    entry = OutboxEntry(distribution="pool-20261108t0500", slug="siren-sync-pool-20261108t0500")
    assert entry.to_record() == {"distribution": "pool-20261108t0500", "slug": "siren-sync-pool-20261108t0500",
                                 "status": "queued", "attempts": 0, "last_error": None}
    assert round_trip(entry, OutboxEntry) == entry


def test_a_posted_outbox_entry_round_trips_with_its_post():
    entry = OutboxEntry(distribution="d", slug="siren-sync-d", status="posted", attempts=2,
                        last_error="HTTP 503", post_id=2353, posted_at="2026-11-08T05:01:00+00:00")
    assert round_trip(entry, OutboxEntry) == entry


def test_an_outbox_record_with_only_its_names_reads_as_queued():
    assert OutboxEntry.from_record({"distribution": "d", "slug": "s"}) == OutboxEntry("d", "s")


def test_a_reversal_keeps_the_sale_it_reverses_and_an_event_stored_before_reads_without_one():
    from datetime import UTC, datetime
    from decimal import Decimal

    from siren_sync.model import Event, Reversed

    sale = Reversed("deal-42", datetime(2026, 11, 10, 12, tzinfo=UTC), Decimal("1000.00"))
    event = Event(key="deal-42:cancel", type="sale", at=datetime(2026, 11, 12, tzinfo=UTC),
                  revenue=Decimal("-1000.00"), source="import", reverses=sale)
    record = event.to_record()
    assert record["reverses"] == {"key": "deal-42", "at": "2026-11-10T12:00:00+00:00", "revenue": "1000.00"}
    assert Event.from_record(record) == event
    old = {"key": "deal-42:cancel", "type": "sale", "at": "2026-11-12T00:00:00+00:00", "revenue": "-1000.00",
           "source": "import"}
    assert Event.from_record(old).reverses is None and "reverses" not in Event.from_record(old).to_record()
