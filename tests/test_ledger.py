"""The ledger's own guard: no source, whatever it forgot to check, records a value a close cannot compute."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

from siren_sync.ledger import event_problem
from siren_sync.model import Event, Line, OrderValue
from tests.support.apps import open_test_app

AT = datetime(2026, 11, 10, 12, tzinfo=UTC)


def test_amounts_and_counts_out_of_bounds_are_named():
    assert event_problem(Event("a", "manual", AT, collaborator="x", quantity=5)) is None
    assert event_problem(Event("a", "manual", AT, collaborator="x", quantity=-1_000_000)) is None
    assert event_problem(Event("a", "manual", AT, collaborator="x", quantity=10 ** 7)) == \
        "quantity 10000000 is beyond 1,000,000"
    assert event_problem(Event("s", "sale", AT, revenue=Decimal("-999999999999999.99"))) is None
    assert event_problem(Event("s", "sale", AT, revenue=Decimal("1E+15"))) == \
        "revenue 1E+15 is beyond 15 digits before the decimal point"
    order = OrderValue("USD", Decimal("10"), (Line("7", Decimal("1e20")),))
    assert event_problem(Event("s", "sale", AT, order=order)) == \
        "line 7 subtotal 1E+20 is beyond 15 digits before the decimal point"
    assert event_problem(Event("s", "sale", AT, revenue=Decimal("NaN"))) is not None


def test_a_source_event_out_of_bounds_is_quarantined_not_recorded(tmp_path):
    from siren_sync.model import Collaborator
    app = open_test_app(tmp_path, [Collaborator("alice")])
    try:
        result = app.ledger.record([Event("woo:1", "collaboratorProductSold", AT, collaborator="alice",
                                          quantity=10 ** 9), Event("woo:2", "manual", AT, collaborator="alice")])
        assert (result.new, result.refused) == (1, 1)
        assert app.store.known(["woo:1", "woo:2"]) == {"woo:2"}
        assert app.store.get("quarantine", "event woo:1")["reason"] == \
            "quantity 1000000000 is beyond 1,000,000: not recorded"
    finally:
        app.close()
