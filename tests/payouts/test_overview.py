"""`siren-sync payouts`: the overview of DESIGN section 7 (statuses, totals, balances, next payable)."""
from __future__ import annotations

import json

import pytest

from tests.payouts.helpers import CLOSE_FEBRUARY, FEBRUARY, JANUARY, LATER, close, credits, january, overview, shop


def test_payouts_json_is_exactly_the_designed_shape(site):
    january(site, payouts='  hold: 30 days\n  minimum: {USD: "15.00"}\n')
    credits(site, "2025-02", {"alice": 1}, revenue="4.00")
    close(site, CLOSE_FEBRUARY)
    site.run("fulfill", "--out", str(site.root / "p.csv"), "--as-of", "2025-03-10T00:00:00+00:00")
    data = overview(site, as_of="2025-03-10T00:00:00+00:00")
    assert data == {
        "as_of": "2025-03-10T00:00:00+00:00",
        "collaborators": [
            {"collaborator": "alice", "units": "USD", "draft": "0.00", "pending": "4.00", "payable": "0.00",
             "processing": "30.00", "paid": "0.00", "balance": "0.00", "next_payable_at": "2025-03-31T00:00:00+00:00"},
            {"collaborator": "bob", "units": "USD", "draft": "0.00", "pending": "0.00", "payable": "10.00",
             "processing": "0.00", "paid": "0.00", "balance": "10.00", "next_payable_at": None},
            {"collaborator": "carol", "units": "USD", "draft": "0.00", "pending": "0.00", "payable": "10.00",
             "processing": "0.00", "paid": "0.00", "balance": "10.00", "next_payable_at": None}],
        "obligations": [
            {"id": f"{JANUARY}:alice", "source": "distribution", "origin": JANUARY, "collaborator": "alice",
             "amount": "30.00", "units": "USD", "status": "processing", "earned_at": "2025-02-01T00:00:00+00:00",
             "payable_at": "2025-03-03T00:00:00+00:00", "fulfillment": "F20250310-1", "paid_at": None},
            {"id": f"{JANUARY}:bob", "source": "distribution", "origin": JANUARY, "collaborator": "bob",
             "amount": "10.00", "units": "USD", "status": "payable", "earned_at": "2025-02-01T00:00:00+00:00",
             "payable_at": "2025-03-03T00:00:00+00:00", "fulfillment": None, "paid_at": None},
            {"id": f"{JANUARY}:carol", "source": "distribution", "origin": JANUARY, "collaborator": "carol",
             "amount": "10.00", "units": "USD", "status": "payable", "earned_at": "2025-02-01T00:00:00+00:00",
             "payable_at": "2025-03-03T00:00:00+00:00", "fulfillment": None, "paid_at": None},
            {"id": f"{FEBRUARY}:alice", "source": "distribution", "origin": FEBRUARY, "collaborator": "alice",
             "amount": "4.00", "units": "USD", "status": "pending", "earned_at": "2025-03-01T00:00:00+00:00",
             "payable_at": "2025-03-31T00:00:00+00:00", "fulfillment": None, "paid_at": None}]}


def test_as_of_is_the_clock_of_the_hold(site):
    january(site, payouts="  hold: 2 weeks\n")
    assert overview(site, as_of="2025-01-31T00:00:00+00:00")["obligations"] == []  # not earned yet
    assert {o["status"] for o in overview(site, as_of="2025-02-14T23:00:00+00:00")["obligations"]} == {"pending"}
    assert {o["status"] for o in overview(site, as_of="2025-02-15T00:00:00+00:00")["obligations"]} == {"payable"}


def test_status_and_collaborator_filters(site):
    january(site)
    site.run("fulfill", "--out", str(site.root / "p.csv"), "--as-of", LATER, "--collaborator", "bob")
    data = overview(site, "--status", "payable")
    assert [o["collaborator"] for o in data["obligations"]] == ["alice", "carol"]
    assert [c["collaborator"] for c in data["collaborators"]] == ["alice", "carol"]
    data = overview(site, "--collaborator", "bob")
    assert [(o["collaborator"], o["status"]) for o in data["obligations"]] == [("bob", "processing")]
    assert [c["collaborator"] for c in data["collaborators"]] == ["bob"]
    code, _, err = site.run("payouts", "--collaborator", "mallory")
    assert code == 2 and "unknown collaborator 'mallory'" in err


def test_payouts_text(site):
    january(site, payouts='  minimum: {USD: "15.00"}\n')
    code, out, _ = site.run("payouts", "--as-of", LATER)
    assert code == 0
    assert out.splitlines() == [
        "payouts as of 2025-06-01T00:00:00+00:00",
        "collaborator         units         draft      pending      payable   processing         paid      balance"
        "  next payable",
        "alice                USD            0.00         0.00        30.00         0.00         0.00        30.00  -",
        "bob                  USD            0.00         0.00        10.00         0.00         0.00        10.00  -"
        "  (below the minimum 15.00 USD: waits, nothing is lost)",
        "carol                USD            0.00         0.00        10.00         0.00         0.00        10.00  -"
        "  (below the minimum 15.00 USD: waits, nothing is lost)"]
    code, out, _ = site.run("payouts", "--as-of", LATER, "--collaborator", "alice")
    assert out.splitlines()[-1] == f"  {JANUARY + ':alice':<44} {'alice':<16} {'30.00':>12} USD    payable"


def test_no_obligations(site):
    shop(site)
    code, out, _ = site.run("payouts", "--as-of", LATER)
    assert code == 0 and out.splitlines() == ["payouts as of 2025-06-01T00:00:00+00:00", "no obligations"]
    assert overview(site) == {"as_of": LATER, "collaborators": [], "obligations": []}


def test_a_refund_after_the_close_never_changes_what_is_paid(site):
    """A refund lands in the period open when it arrives (as today); paid amounts stay as they were."""
    january(site)
    site.run("payouts", "--csv", str(site.root / "paid.csv"), "--mark-paid", "--as-of", LATER)
    before = overview(site)
    refund = {"key": "t:refund", "type": "sale", "at": "2025-01-20T00:00:00+00:00", "revenue": "-50.00"}
    assert site.run("import", str(site.events([refund])))[0] == 0
    assert overview(site) == before
    [february] = close(site, CLOSE_FEBRUARY)
    assert february["revenue"] == "-50.00" and february["obligations"] == []  # carried, not taken back
    assert overview(site) == before


def test_draft_and_rejected_show_in_their_own_columns(site):
    january(site, payouts="  review: true\n")
    row = overview(site)["collaborators"][0]
    assert (row["draft"], row["payable"], row["balance"]) == ("30.00", "0.00", "0.00")
    assert site.run("approve", JANUARY, "--reject", "--reason", "fraud")[0] == 0
    data = overview(site)
    assert {o["status"] for o in data["obligations"]} == {"rejected"}
    assert {o["payable_at"] for o in data["obligations"]} == {None}


@pytest.mark.parametrize("status", ["draft", "pending", "payable", "processing", "paid", "rejected"])
def test_every_status_can_be_asked_for(site, status):
    january(site)
    code, out, _ = site.run("payouts", "--json", "--status", status, "--as-of", LATER)
    assert code == 0 and isinstance(json.loads(out)["obligations"], list)


def test_each_json_row_is_what_json_dumps_writes_whatever_the_names_hold():
    from datetime import UTC, datetime, timedelta
    from decimal import Decimal

    from siren_sync.engine.balances import totals
    from siren_sync.model import Obligation
    from siren_sync.payouts.overview import Overview, json_text

    earned = datetime(2026, 1, 1, tzinfo=UTC)
    rows = [Obligation('d"1', 'al"i\\ce\u00e9\u2028', Decimal("-1.50"), "USD", Decimal(1), earned, status="payable"),
            Obligation("d-1", "b", Decimal("2.00"), "pts", Decimal(1), earned, status="rejected",
                       payable_at=earned + timedelta(days=1)),
            Obligation("affiliates", "c", Decimal("3"), "USD", Decimal(1), earned, status="paid", fulfillment="F1",
                       paid_at="2026-01-02T00:00:00+00:00", source="program", key="affiliates:1042:c")]
    text = "".join(json_text(Overview(earned, totals(rows, {"USD": 2, "pts": 0}), rows, {})))
    expected = [{"id": o.id, "source": o.source, "origin": o.origin, "collaborator": o.collaborator,
                 "amount": str(o.amount), "units": o.units, "status": o.status, "earned_at": o.earned_at.isoformat(),
                 "payable_at": None if o.status == "rejected" else o.payable_from.isoformat(),
                 "fulfillment": o.fulfillment, "paid_at": o.paid_at} for o in rows]
    lines = text.splitlines()
    start = lines.index('  "obligations": [') + 1
    assert [line.strip().rstrip(",") for line in lines[start:start + 3]] == [json.dumps(row) for row in expected]
    assert json.loads(text)["obligations"] == expected
